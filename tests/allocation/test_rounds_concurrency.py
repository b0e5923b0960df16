"""Coordinators deciding allocation rounds at the same moment on PostgreSQL: the ledger's row locks let no
unit be allocated twice, a round is decided once, and decision numbers stay unique and gapless.

Runs on a database of its own, ``<test database>_rounds_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from allocation import reporting
from allocation import services_rounds as rounds
from allocation.models_distribution import AllocationRound, RoundStatus, Shipment
from allocation.services_rounds import ProductInput, RoundError, RoundSettings
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.stock import ledger
from app.stock.models import StockState
from tests.allocation.rounds_factories import product, release, report
from tests.conftest import UserFactory
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 8


def _prepare(session) -> None:
    """Open reporting periods, Upplands Väsby's and Stockholm's need, and THREADS national coordinators."""
    reporting.open_periods(session, now=utcnow(), tz=ZoneInfo("Europe/Stockholm"))
    session.commit()
    users = UserFactory()
    period = reporting.current_period(session, utcnow())
    report(session, users, period, "0114", stock=0, consumption_7d=700, need=10_000)
    report(session, users, period, "0180", stock=0, consumption_7d=700, need=10_000)
    for number in range(THREADS):
        users.make("national_coordinator", "SOS", email=f"coordinator{number}@race.test")


race_app = race_app_fixture("rounds_race", threads=THREADS, prepare=_prepare)


def coordinator(number: int) -> User:
    return db.session.scalar(select(User).where(User.email == f"coordinator{number}@race.test"))


def open_drafts(app, sku: str, available: int, quantities: list[int]) -> list[int]:
    """``available`` units of ``sku`` released at NL-MITT and one draft round per quantity; their ids."""
    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        release(session, sku, available)
        ids = []
        for quantity in quantities:
            round_ = rounds.open_round(
                session, coordinator(0), settings=RoundSettings(f"{quantity} × {sku}"), recipient_scope="county",
                county_code="01", source_location=ledger.location_by_code(session, "NL-MITT"),
                products=[ProductInput(product(session, sku), quantity, 10)],
            )
            ids.append(round_.id)
        session.commit()
        session.remove()
        return ids


def decide(round_id: int, number: int) -> str | None:
    """Decide the round as coordinator ``number`` and commit; the decision number, or None when refused."""
    try:
        round_ = db.session.get(AllocationRound, round_id)
        rounds.decide_round(db.session, coordinator(number), round_)
        db.session.commit()
        return round_.number
    except RoundError:
        db.session.rollback()
        return None


def outcome(app, sku: str, round_ids: list[int]) -> tuple[int, int, list[AllocationRound], int]:
    """(reserved, available) at NL-MITT, the rounds as they ended, and how many shipments they have."""
    with app.app_context():
        session = db.session
        item = product(session, sku)
        warehouse = ledger.location_by_code(session, "NL-MITT")
        held = [ledger.total(session, product=item, state=state, location_ids=[warehouse.id])
                for state in (StockState.RESERVED, StockState.AVAILABLE)]
        ended = [session.get(AllocationRound, i) for i in round_ids]
        for round_ in ended:
            session.expunge(round_)
        shipments = len(session.scalars(select(Shipment.id).where(Shipment.round_id.in_(round_ids))).all())
        assert ledger.verify(session) == []
        session.remove()
        return held[0], held[1], ended, shipments


def test_two_coordinators_deciding_on_the_same_stock_at_once_never_allocate_a_unit_twice(race_app):
    ids = open_drafts(race_app, "FFP2-CUP", 100, [70, 70])

    numbers = in_threads(race_app, lambda n: decide(ids[n], n), count=2)

    reserved, available, ended, shipments = outcome(race_app, "FFP2-CUP", ids)
    assert sum(number is not None for number in numbers) == 1
    assert (reserved, available) == (70, 30)
    winner, loser = sorted(ended, key=lambda r: r.status != RoundStatus.DECIDED)
    assert winner.status == RoundStatus.DECIDED and winner.number in numbers
    assert loser.status == RoundStatus.DRAFT and loser.number is None and loser.decided_by_id is None
    assert shipments == 2  # the winner's: Upplands Väsby and Stockholm


def test_one_round_decided_by_two_coordinators_at_once_is_decided_once(race_app):
    [round_id] = open_drafts(race_app, "FFP2-FOLD", 100, [60])

    numbers = in_threads(race_app, lambda n: decide(round_id, n), count=2)

    reserved, available, [ended], shipments = outcome(race_app, "FFP2-FOLD", [round_id])
    assert [number for number in numbers if number] == [ended.number]
    assert (reserved, available) == (60, 40)
    assert shipments == 2


def test_many_decisions_at_once_take_what_there_is_in_whole_rounds_with_gapless_numbers(race_app):
    ids = open_drafts(race_app, "FFP3-FOLD", 100, [30] * THREADS)

    numbers = [n for n in in_threads(race_app, lambda n: decide(ids[n], n), THREADS) if n]

    reserved, available, ended, _ = outcome(race_app, "FFP3-FOLD", ids)
    assert len(numbers) == 3 and (reserved, available) == (90, 10)
    values = sorted(int(number.split("-")[1]) for number in numbers)
    assert values == list(range(values[0], values[0] + 3))
    assert sum(r.status == RoundStatus.DECIDED for r in ended) == 3
