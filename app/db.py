"""Declarative base, constraint naming and the time types every model shares."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic autogenerate quiet and migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. Use as a callable default, never evaluated at import."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An aware UTC timestamp on every database.

    PostgreSQL keeps the zone; SQLite drops it, so values are normalised to UTC on the way in and marked UTC
    on the way out. Naive datetimes are refused: they are always a bug here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    # datetime columns are aware UTC everywhere; the map lives on the registry so Flask-SQLAlchemy's
    # subclass of this base inherits it.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION), type_annotation_map={datetime: UTCDateTime()}
    )


def install_sqlite_pragmas() -> None:
    """Foreign keys on, and real transactions (with SAVEPOINT) on SQLite.

    pysqlite begins transactions lazily and commits around DDL on its own, which breaks savepoints; handing
    BEGIN to SQLAlchemy is the documented fix. Applied once for every SQLite engine.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(install_sqlite_pragmas, "installed", False):
        return

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            # WAL lets the scheduler worker commit while web requests hold read transactions.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(connection):
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")

    install_sqlite_pragmas.installed = True


# Tables created at run time by other software (APScheduler's job store), not by our models: Alembic never
# compares or drops them. Used by migrations/env.py and the drift test alike.
MIGRATION_IGNORED_TABLES = frozenset({"apscheduler_jobs"})


def include_in_migrations(object_, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name in MIGRATION_IGNORED_TABLES:
        return False
    table = getattr(object_, "table", None)
    return not (table is not None and table.name in MIGRATION_IGNORED_TABLES)
