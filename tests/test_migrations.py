"""The Alembic migrations build exactly the schema the models describe, and can be undone.

Runs on a fresh, empty database of the same kind as the test database: a new SQLite file, or on PostgreSQL a
separate database ``<test database>_drift`` that is dropped afterwards.
"""
from __future__ import annotations

from pprint import pformat

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import create_app
from app.db import include_in_migrations as include_object  # the same comparison as migrations/env.py
from app.extensions import db
from tests.support import (
    own_database,
    without_shared_transaction,  # noqa: F401  (the fixture)
)


@pytest.fixture
def empty_database_url(tmp_path):
    with own_database(tmp_path, "drift") as url:
        yield url


@pytest.fixture
def drift_app(empty_database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
        }
    )
    with app.app_context():
        yield app
        db.engine.dispose()


def schema_differences() -> list:
    """What `flask db migrate` would write now: the differences between the models and the database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def assert_models_match_migrations() -> None:
    differences = schema_differences()
    assert not differences, (
        "The models and the migrations differ; generate a revision with "
        "`flask db migrate -m '...'` and review it:\n" + pformat(differences)
    )


def test_upgrading_an_empty_database_to_head_gives_exactly_the_schema_the_models_describe(drift_app):
    flask_migrate.upgrade(revision="head")

    assert_models_match_migrations()
    assert {table.name for table in db.metadata.sorted_tables} <= table_names()


def test_the_migrations_downgrade_to_an_empty_database_and_upgrade_again(drift_app):
    flask_migrate.upgrade(revision="head")

    flask_migrate.downgrade(revision="base")
    assert table_names() <= {"alembic_version"}

    flask_migrate.upgrade(revision="head")
    assert_models_match_migrations()


def test_the_table_apscheduler_creates_at_run_time_is_not_reported_as_a_difference(drift_app):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    flask_migrate.upgrade(revision="head")
    store = SQLAlchemyJobStore(engine=db.engine)
    store.jobs_t.create(db.engine)

    assert "apscheduler_jobs" in table_names()
    assert_models_match_migrations()
