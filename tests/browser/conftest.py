"""Browser tests: a real server in a thread, on its own database, driven by Debian's Chromium.

The server cannot share the rolled-back per-test transaction of tests/conftest.py (it answers from another
thread, and what the test sets up must be committed to be seen), so it gets a database of its own: a new
SQLite file, or on PostgreSQL the database ``<test database>_browser``, dropped afterwards.

Without Chromium the tests skip locally and fail when CI is set: CI must never pass by skipping them.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.support import (
    own_database,
    without_shared_transaction,  # noqa: F401  (the live server's database is its own)
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@dataclass
class LiveServer:
    app: Flask
    url: str
    password: str = PASSWORD  # every user made by user() has it

    def user(self, roles: list[str], organisation_code: str, *, email: str, name: str):
        """Create and commit a user at an organisation (code such as "SOS" or kommunkod such as "0180")."""
        from app.auth.services import create_user

        with self.app.app_context():
            db.session.info["actor"] = "test-setup"
            user = create_user(
                db.session,
                email=email,
                name=name,
                password=PASSWORD,
                organisation=self.organisation(organisation_code),
                roles=roles,
            )
            db.session.commit()
            return user.id

    def organisation(self, code: str):
        from sqlalchemy import select

        from app.organisations.models import Organisation

        return db.session.scalar(
            select(Organisation).where((Organisation.code == code) | (Organisation.municipality_code == code))
        )

    def organisation_id(self, code: str) -> int:
        with self.app.app_context():
            return self.organisation(code).id


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("browser-instance")
    with own_database(instance, "browser") as url:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(instance),
                "SECRET_KEY": "browser-test-secret",
                "SQLALCHEMY_DATABASE_URI": url,
                "PASSWORD_HASH_FAST": True,
                "MAIL_SERVER": "",
                "UPLOAD_FOLDER": str(instance / "uploads"),
                # The tests read the English source texts; a Swedish catalog must not change what they find.
                "BABEL_DEFAULT_LOCALE": "en",
            }
        )
        with app.app_context():
            from app.catalog.services import load_catalog
            from app.organisations.services import load_reference_data

            # tests/test_migrations.py proves the migrations build exactly this schema.
            db.create_all()
            db.session.info["actor"] = "test-setup"
            load_reference_data(db.session)
            load_catalog(db.session)
            db.session.commit()
            db.session.remove()

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if running_in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test, with the live server as base URL."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
