"""`flask organisations load`: the reference data, loaded idempotently."""
import click
from flask.cli import with_appcontext

from app.extensions import db
from app.organisations.services import load_reference_data


@click.group("organisations")
def organisations_cli():
    """Sweden's organisations."""


@organisations_cli.command("load")
@with_appcontext
def load():
    """Create or update the agency, 21 county boards, 21 regions and 290 municipalities."""
    db.session.info["actor"] = "cli"
    try:
        result = load_reference_data(db.session)
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error))
    db.session.commit()
    click.echo(
        f"Counties and organisations: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
