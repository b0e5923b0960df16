"""Fixtures for the notification tests: pages in English, and a fake SMTP server."""
from __future__ import annotations

import smtplib
from typing import ClassVar

import pytest


@pytest.fixture(autouse=True)
def english(app, monkeypatch):
    # The locale selector falls back to this setting; a Swedish catalogue must not change what tests read.
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")


class FakeSMTP:
    """Stands in for smtplib.SMTP: records the connection, TLS, login and every message handed to it."""

    connections: ClassVar[list[FakeSMTP]] = []
    refuse: ClassVar[set[str]] = set()  # addresses answered with 550
    fail_connect: Exception | None = None
    disconnect_after: int | None = None  # drop the connection after this many messages

    def __init__(self, host, port=0, timeout=None):
        if FakeSMTP.fail_connect is not None:
            raise FakeSMTP.fail_connect
        self.host, self.port, self.timeout = host, port, timeout
        self.tls = False
        self.credentials = None
        self.sent = []
        self.closed = False
        FakeSMTP.connections.append(self)

    def starttls(self, context=None):
        self.tls = True

    def login(self, user, password):
        self.credentials = (user, password)

    def send_message(self, message):
        if FakeSMTP.disconnect_after is not None and len(self.sent) >= FakeSMTP.disconnect_after:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if message["To"] in FakeSMTP.refuse:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"5.1.1 No such user")})
        self.sent.append(message)
        return {}

    def quit(self):
        self.closed = True

    def close(self):
        self.closed = True


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.connections = []
    FakeSMTP.refuse = set()
    FakeSMTP.fail_connect = None
    FakeSMTP.disconnect_after = None
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


@pytest.fixture
def mail_config():
    return {
        "MAIL_SERVER": "smtp.example.se",
        "MAIL_PORT": 587,
        "MAIL_USE_TLS": True,
        "MAIL_USERNAME": "samordna",
        "MAIL_PASSWORD": "hemligt",
        "MAIL_SENDER": "Samordna <noreply@samordna.example.se>",
    }
