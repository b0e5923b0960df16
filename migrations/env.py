"""Alembic environment for Flask-Migrate: the app supplies the engine and the models' metadata.

The comparison settings here (types compared, apscheduler_jobs ignored) are repeated in
tests/test_migrations.py, which checks that the migrations build exactly the schema the models describe.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config

# The command line gets Alembic's log format; under pytest, replacing the root handlers would swallow
# pytest's log capture, so tests keep theirs.
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

# Tables created at run time by other software are never compared or dropped (see app/db.py).
from app.db import include_in_migrations as include_object  # noqa: E402


def render_item(type_, object_, autogen_context):
    """Write our TypeDecorators (e.g. app.db.UTCDateTime) as their plain SQLAlchemy type.

    The decorator only converts values in Python; the column in the database is the impl type. Rendering
    the impl keeps revisions free of imports from the application, which may change after the revision.
    """
    if type_ == "type" and isinstance(object_, TypeDecorator):
        impl = object_.impl_instance
        if type(impl).__module__.startswith("sqlalchemy."):
            return f"sa.{impl!r}"
    return False


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url() -> str:
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db


def get_metadata():
    # db.metadata is app.db.Base's metadata, which carries the constraint naming convention.
    return target_db.metadata


def configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args["render_as_batch"] = True  # SQLite can only ALTER a table by copying it
    args["compare_type"] = True
    args["include_object"] = include_object
    args["render_item"] = render_item
    return args


def run_migrations_offline():
    """Write the SQL to stdout instead of running it (`flask db upgrade --sql`)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
        **configure_args(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # `flask db migrate` with nothing to change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    args = configure_args()
    if args.get("process_revision_directives") is None:
        args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
