"""Test fixtures: one schema per run, each test in a transaction that is rolled back.

Set TEST_DATABASE_URL to run on PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
the default is a SQLite file in a temporary directory.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import MetaData, select

from app import create_app
from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery staple"


def _drop_everything(engine) -> None:
    metadata = MetaData()
    metadata.reflect(bind=engine)
    metadata.drop_all(bind=engine)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    url = TEST_DATABASE_URL or f"sqlite:///{instance / 'test.db'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_FAST": True,
            "MAIL_SERVER": "",
            # Tests read the English source strings; tests/test_translations.py checks the Swedish default.
            "BABEL_DEFAULT_LOCALE": "en",
            "UPLOAD_FOLDER": str(instance / "uploads"),
        }
    )
    with app.app_context():
        _drop_everything(db.engine)
        build_schema(app)
        from app.catalog.services import load_catalog
        from app.organisations.services import load_reference_data

        db.session.info["actor"] = "test-setup"
        load_reference_data(db.session)
        load_catalog(db.session)
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def build_schema(app) -> None:
    """Schema from the Alembic migrations, exactly as production builds it."""
    from flask_migrate import upgrade

    upgrade()


@pytest.fixture(autouse=True)
def _transaction(app):
    """Every test runs inside one outer transaction that is rolled back; commits become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield connection
        finally:
            db.session.remove()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            if outer.is_active:
                outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    """Give every test request an empty ``g``, as a real request's own app context has.

    The ``_transaction`` fixture keeps an app context pushed for the whole test and Flask reuses it for the
    test client's requests, so ``g`` (Flask-Login's current user, Flask-Babel's locale) would otherwise carry
    over from one request, or one client, to the next.
    """
    from flask import g, request_started

    def forget(sender, **extra):
        vars(g._get_current_object()).clear()

    request_started.connect(forget, app)
    yield
    request_started.disconnect(forget, app)


@pytest.fixture
def session(app, _transaction):
    """The test's session: the one the per-test transaction bound, shared with the app's requests.

    No app context of its own: a second context would get a second session on the same connection, and
    objects made in one would break the other's savepoints.
    """
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def organisation(code: str):
    """An organisation by code (SOS, RK-S, LST-01, REG-01) or kommunkod (0180)."""
    from app.organisations.models import Organisation

    return db.session.scalar(
        select(Organisation).where((Organisation.code == code) | (Organisation.municipality_code == code))
    )


@dataclass
class UserFactory:
    """Creates users with roles at an organisation; ``make("reporter", "0180")``."""

    counter: int = 0

    def make(self, roles, organisation_code: str = "SOS", *, email: str | None = None, name: str | None = None):
        from app.auth.services import create_user

        if isinstance(roles, str):
            roles = [roles]
        self.counter += 1
        safe = re.sub(r"[^a-z0-9]", "", organisation_code.lower())
        user = create_user(
            db.session,
            email=email or f"{'-'.join(roles).replace('_', '')}{self.counter}@{safe}.test",
            name=name or f"Test {' '.join(roles)} {self.counter}",
            password=PASSWORD,
            organisation=organisation(organisation_code),
            roles=roles,
        )
        db.session.commit()
        return user


@pytest.fixture
def users(app):
    return UserFactory()


class AuthActions:
    """Log a test client in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        response = self._client.post("/auth/login", data={"email": email, "password": password})
        return response

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
