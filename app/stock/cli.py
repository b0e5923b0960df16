"""`flask stock ...`: load the national warehouses, and check the balances against the ledger."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.stock import ledger


@click.group("stock")
def stock_cli():
    """The stock ledger."""


@stock_cli.command("warehouses")
@with_appcontext
def warehouses():
    """Create the national warehouses that do not exist yet (idempotent)."""
    db.session.info["actor"] = "cli"
    locations = ledger.ensure_warehouses(db.session)
    db.session.commit()
    for location in locations:
        click.echo(f"{location.code}  {location.name}")


@stock_cli.command("verify")
@with_appcontext
def verify():
    """Recompute every balance from the movements and report those that differ (there should be none).

    Exits with status 1 when any differs.
    """
    differences = ledger.verify(db.session)
    db.session.rollback()
    if not differences:
        click.echo("Every balance equals the sum of its movements.")
        return
    for difference in differences:
        key = difference.key
        click.echo(
            f"location {key.location_id} product {key.product_id} lot {key.lot_id or '-'} {key.state}: "
            f"recorded {difference.recorded}, movements give {difference.derived}"
        )
    raise click.ClickException(f"{len(differences)} balance(s) differ from the ledger.")
