"""Helpers shared by tests that need a database of their own, outside the per-test transaction, and by the
PostgreSQL race tests that run threads against one."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import db


@contextmanager
def own_database(tmp_path: Path, suffix: str) -> Iterator[str]:
    """The URL of a new, empty database of the same kind as the test database; removed afterwards."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url or not test_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / f'{suffix}.db'}"
        return
    url = make_url(test_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            # A run that was killed may have left it behind.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- PostgreSQL race tests: threads with connections of their own on a database of their own ------------------

# pytestmark of a module whose tests need PostgreSQL's row locks; they skip on SQLite.
POSTGRES_ONLY = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="row locks are PostgreSQL's; set TEST_DATABASE_URL to a PostgreSQL database to run these",
    ),
]


@pytest.fixture(name="_transaction", autouse=True)
def without_shared_transaction():
    """Overrides tests/conftest.py's rolled-back per-test transaction in a module that imports it: the module
    works on a database of its own (where that transaction would put every thread on one connection and
    hide the races), or on none at all."""
    yield


@contextmanager
def race_application(tmp_path_factory, name: str, *, threads: int) -> Iterator[Flask]:
    """An application on a database of its own (``<test database>_<name>``), built by the migrations, with
    Sweden's organisations, the catalogue and the national warehouses loaded and a connection for each of
    ``threads`` threads; the database is dropped afterwards."""
    tmp_path = tmp_path_factory.mktemp(name)
    with own_database(tmp_path, name) as url:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "SECRET_KEY": name,
                "SQLALCHEMY_DATABASE_URI": url,
                "BABEL_DEFAULT_LOCALE": "en",
                "PASSWORD_HASH_FAST": True,
                "MAIL_SERVER": "",
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": threads + 2},
            }
        )
        with app.app_context():
            from app.catalog.services import load_catalog
            from app.organisations.services import load_reference_data
            from app.stock import ledger

            flask_migrate.upgrade()
            db.session.info["actor"] = "test-setup"
            load_reference_data(db.session)
            load_catalog(db.session)
            ledger.ensure_warehouses(db.session)
            db.session.commit()
            db.session.remove()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def race_app_fixture(name: str, *, threads: int, prepare: Callable[[Session], object] | None = None):
    """A module-scoped fixture giving :func:`race_application`'s app, after ``prepare(session)`` (committed)
    has added what the module's tests share. Assign it in the module: ``race_app = race_app_fixture(...)``."""

    @pytest.fixture(scope="module")
    def race_app(tmp_path_factory):
        with race_application(tmp_path_factory, name, threads=threads) as app:
            if prepare is not None:
                with app.app_context():
                    db.session.info["actor"] = "test-setup"
                    prepare(db.session)
                    db.session.commit()
                    db.session.remove()
            yield app

    return race_app


def in_threads(app: Flask, work: Callable[[int], object], count: int) -> list:
    """Run ``work(thread number)`` in ``count`` threads started together, each in an app context (and so a
    session and connection) of its own; returns what each returned, and re-raises the first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            with app.app_context():
                db.session.info["actor"] = f"thread {number}"
                barrier.wait(timeout=30)
                try:
                    results[number] = work(number)
                finally:
                    db.session.remove()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results
