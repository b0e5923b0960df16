"""Two people acting on the same redistribution at the same moment on PostgreSQL: a proposal is agreed once
(its giver's stock reserved once, its shipments planned once) and a compensation entry is settled once.

Runs on a database of its own, ``<test database>_redist_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from allocation import compensation, reporting
from allocation import services_redistribution as redistribution
from allocation.models_distribution import (
    CompensationEntry,
    RedistributionProposal,
    Settlement,
    Shipment,
    Transfer,
)
from app.auth.models import User
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.stock import ledger
from app.stock.models import StockState
from tests.allocation.redistribution_factories import SKU, hold_meeting, open_proposal, stockholm_need
from tests.allocation.rounds_factories import product
from tests.conftest import UserFactory, organisation
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 4


def _prepare(session) -> None:
    """Open reporting periods, Stockholms län's need, and THREADS county coordinators and paying recipients."""
    reporting.open_periods(session, now=utcnow(), tz=ZoneInfo("Europe/Stockholm"))
    session.commit()
    users = UserFactory()
    stockholm_need(session, users, reporting.current_period(session, utcnow()))
    for number in range(THREADS):
        users.make("county_coordinator", "LST-01", email=f"coordinator{number}@race.test")
        users.make("recipient", "0115", email=f"payer{number}@race.test")


race_app = race_app_fixture("redist_race", threads=THREADS, prepare=_prepare)


def person(kind: str, number: int) -> User:
    return db.session.scalar(select(User).where(User.email == f"{kind}{number}@race.test"))


def test_a_proposal_agreed_by_several_coordinators_at_once_is_agreed_and_reserved_once(race_app):
    with race_app.app_context():
        session = db.session
        giver = ledger.location_for_organisation(session, organisation("0114"))
        ledger.receive(session, None, location=giver, product=product(session, SKU), quantity=1000,
                       state=StockState.AVAILABLE)
        proposal = open_proposal(session, person("coordinator", 0))
        hold_meeting(session, person("coordinator", 0), proposal)
        proposal_id = proposal.id
        session.remove()

    def agree(number: int) -> bool:
        try:
            redistribution.agree(db.session, person("coordinator", number),
                                 db.session.get(RedistributionProposal, proposal_id))
            db.session.commit()
            return True
        except DomainError:
            db.session.rollback()
            return False

    results = in_threads(race_app, agree, count=THREADS)

    with race_app.app_context():
        session = db.session
        assert results.count(True) == 1
        giver = ledger.location_for_organisation(session, organisation("0114"))
        reserved = ledger.total(session, product=product(session, SKU), state=StockState.RESERVED,
                                location_ids=[giver.id])
        shipments = session.scalar(select(func.count(Shipment.id)).join(Shipment.transfer)
                                   .where(Transfer.proposal_id == proposal_id))
        assert (reserved, shipments) == (720, 2)
        assert ledger.verify(session) == []
        session.remove()


def test_an_entry_settled_by_several_people_at_once_is_settled_once(race_app):
    with race_app.app_context():
        session = db.session
        proposal = open_proposal(session, person("coordinator", 0), title="Settlement race")
        transfer = next(t for t in proposal.lines if t.target.municipality_code == "0115")
        entry = CompensationEntry(transfer_id=transfer.id, debtor_id=transfer.target_id, creditor_id=transfer.source_id,
                                  product_id=transfer.product_id, quantity=480, unit_price_ore=1000,
                                  amount_ore=480_000, booked_on=date(2026, 3, 2))
        session.add(entry)
        session.commit()
        entry_id = entry.id
        session.remove()

    def settle(number: int) -> bool:
        try:
            compensation.settle(db.session, person("payer", number), entry_ids=[entry_id], paid_on=date(2026, 3, 3),
                                payment_reference=f"Payment {number}")
            db.session.commit()
            return True
        except DomainError:
            db.session.rollback()
            return False

    results = in_threads(race_app, settle, count=THREADS)

    with race_app.app_context():
        session = db.session
        assert results.count(True) == 1
        settlements = session.scalars(select(Settlement)).all()
        assert len(settlements) == 1 and settlements[0].amount_ore == 480_000
        assert session.get(CompensationEntry, entry_id).settlement_id == settlements[0].id
        session.remove()
