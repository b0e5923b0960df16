"""`flask demo load`: one demo user per role, so a new user can try every part of Samordna at once.

Demo accounts share one password, printed in the README. Never load demo data into production: the command
refuses when SAMORDNA_ENV=production.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.roles import Role
from app.auth.services import create_user
from app.organisations.models import Organisation

DEMO_PASSWORD = "samordna-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    organisation_code: str
    roles: tuple[Role, ...]


DEMO_USERS = (
    DemoUser("admin@samordna.demo", "Alva Admin", "SOS", (Role.ADMINISTRATOR,)),
    DemoUser("samordnare@samordna.demo", "Nils Nationell", "SOS", (Role.NATIONAL_COORDINATOR,)),
    DemoUser("inkopare@samordna.demo", "Ingrid Inköp", "SOS", (Role.PURCHASING_OFFICER,)),
    DemoUser("inkopschef@samordna.demo", "Ivar Inköpschef", "SOS", (Role.PURCHASING_LEAD,)),
    DemoUser("produktion@samordna.demo", "Per Produktion", "SOS", (Role.PRODUCTION_TEAM,)),
    DemoUser("lan.stockholm@samordna.demo", "Lena Länsstyrelsen", "LST-01", (Role.COUNTY_COORDINATOR,)),
    DemoUser("rapportor.stockholm@samordna.demo", "Rasmus Rapportör", "0180", (Role.REPORTER,)),
    DemoUser("mottagare.stockholm@samordna.demo", "Maja Mottagare", "0180", (Role.RECIPIENT,)),
    DemoUser("rapportor.region@samordna.demo", "Rut Region", "REG-01", (Role.REPORTER, Role.RECIPIENT)),
    DemoUser("granskare@samordna.demo", "Greta Granskare", "RK-S", (Role.AUDITOR,)),
)


def load_demo_users(session: Session, password: str = DEMO_PASSWORD) -> list[User]:
    """Create the demo users that do not exist yet; existing ones are left as they are. Flush only."""
    created = []
    for demo in DEMO_USERS:
        if session.scalar(select(User.id).where(User.email == demo.email)) is not None:
            continue
        organisation = session.scalar(select(Organisation).where(Organisation.code == demo.organisation_code))
        if organisation is None:
            raise click.ClickException("Load the reference data first: flask organisations load")
        created.append(
            create_user(
                session,
                email=demo.email,
                name=demo.name,
                password=password,
                organisation=organisation,
                roles=[str(role) for role in demo.roles],
            )
        )
    return created


@click.group("demo")
def demo_cli():
    """Demo data for trying Samordna out."""


@demo_cli.command("load")
@with_appcontext
def load():
    """Create one demo user per role (password in the README), demo suppliers, orders, stock, allocations and
    redistribution."""
    from app.extensions import db
    from app.stock.ledger import ensure_warehouses

    if os.environ.get("SAMORDNA_ENV") == "production":
        raise click.ClickException("Refusing to load demo data: SAMORDNA_ENV is production.")
    db.session.info["actor"] = "cli"
    created = load_demo_users(db.session)
    periods = open_demo_periods(db.session, current_app.config["SAMORDNA_TIMEZONE"])
    warehouses = ensure_warehouses(db.session)  # reference data; `flask stock warehouses` loads it alone
    suppliers = load_demo_suppliers(db.session, current_app.config["SAMORDNA_TIMEZONE"])
    procurement = load_demo_procurement(db.session, current_app.config["SAMORDNA_TIMEZONE"])
    allocation = load_demo_allocation(db.session, current_app.config["SAMORDNA_TIMEZONE"])
    redistribution = load_demo_redistribution(db.session, current_app.config["SAMORDNA_TIMEZONE"])
    db.session.commit()
    click.echo(f"Demo users: {len(created)} created, {len(DEMO_USERS) - len(created)} already there")
    click.echo(f"Reporting periods opened: {periods}")
    click.echo(f"National warehouses: {', '.join(w.code for w in warehouses)}")
    click.echo(f"Demo suppliers created: {suppliers}")
    click.echo(f"Demo procurement created: {procurement.summary()}")
    click.echo(f"Demo allocation created: {allocation.summary()}")
    click.echo(f"Demo redistribution created: {redistribution.summary()}")


def open_demo_periods(session: Session, timezone: str) -> int:
    """Open the coming week's reporting periods now, so demo reporters can report at once instead of
    waiting for the hourly job. Idempotent; returns how many were created."""
    from zoneinfo import ZoneInfo

    from allocation.reporting import open_periods
    from app.db import utcnow

    return len(open_periods(session, now=utcnow(), tz=ZoneInfo(timezone)))


def load_demo_suppliers(session: Session, timezone: str) -> int:
    """The demo supplier registry, offers and production projects (suppliers/demo.py), once; needs the demo
    users and the catalogue. Returns how many suppliers were created."""
    from suppliers.demo import load_demo_suppliers as load

    return _load_dated(load, session, timezone)


def load_demo_procurement(session: Session, timezone: str):
    """The demo's exchange rates, purchase orders, goods receipts and national stock, joint purchase and rescEU
    allocation (orders/demo.py), once; needs the demo suppliers. Returns what was created."""
    from orders.demo import load_demo_procurement as load

    return _load_dated(load, session, timezone)


def load_demo_allocation(session: Session, timezone: str):
    """The demo's situation reports in Stockholm county, a decided FFP2 allocation with its shipments and a draft
    round (allocation/demo.py), once; needs the demo procurement's national stock. Returns what was created."""
    from allocation.demo import load_demo_allocation as load

    return _load_dated(load, session, timezone)


def load_demo_redistribution(session: Session, timezone: str):
    """The demo's reference prices, an agreed redistribution in Stockholm county with one transfer executed and
    booked for compensation and one waiting for dispatch, and the county's request for national allocation
    (allocation/demo_redistribution.py), once; needs the allocation demo's reports. Returns what was created."""
    from allocation.demo_redistribution import load_demo_redistribution as load

    return _load_dated(load, session, timezone)


def _load_dated(load, session: Session, timezone: str):
    """Run a demo loader that dates its data from today; a LookupError (something to load first) is the
    command's error message."""
    from zoneinfo import ZoneInfo

    from app.db import utcnow

    tz = ZoneInfo(timezone)
    try:
        return load(session, today=utcnow().astimezone(tz).date(), tz=tz)
    except LookupError as error:
        raise click.ClickException(str(error)) from None


def init_app(app) -> None:
    app.cli.add_command(demo_cli)
