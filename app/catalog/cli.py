"""`flask catalog load`: the starter product catalogue, loaded idempotently."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.catalog.services import DATA_FILE, load_catalog
from app.extensions import db


@click.group("catalog")
def catalog_cli():
    """The product catalogue."""


@catalog_cli.command("load")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DATA_FILE,
    show_default=True,
    help="The catalogue file (JSON).",
)
@with_appcontext
def load(path: Path):
    """Create or update the categories and products listed in the file (by code and SKU).

    The file wins for the products it lists; products added in the UI are left alone.
    """
    db.session.info["actor"] = "cli"
    try:
        result = load_catalog(db.session, path)
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Categories: {result.categories}")
    click.echo(f"Products: {result.products}")
