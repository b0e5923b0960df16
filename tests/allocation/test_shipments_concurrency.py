"""Confirming and dispatching at the same moment on PostgreSQL: threads with connections of their own submit
the same step; the shipment's row lock lets exactly one do it and the others see its result.

Runs on a database of its own, ``<test database>_shipments_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from sqlalchemy import func, select

from allocation import services_shipments as shipments
from allocation.models_distribution import DeliveryFollowUp, Shipment, ShipmentStatus
from app.errors import ConflictError, DomainError
from app.extensions import db
from app.stock.models import MovementKind, StockMovement
from tests.allocation.shipments_factories import decided_round, stock, warehouse
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 8


race_app = race_app_fixture("shipments_race", threads=THREADS)


def _setup(app, *, dispatch: bool) -> tuple[int, int, int]:
    """A planned (or dispatched) shipment of 100 units to Stockholm; the ids of it, its sender and recipient."""
    from app.auth.services import create_user
    from tests.conftest import PASSWORD, organisation

    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        serial = session.scalar(select(func.count()).select_from(Shipment))
        people = [
            create_user(session, email=f"race-{role}-{serial}@example.se", name=role, password=PASSWORD,
                        organisation=organisation(code), roles=[role])
            for role, code in (("national_coordinator", "SOS"), ("recipient", "0180"))
        ]
        stock(session, people[0], warehouse(session), {f"RACE-{serial}": (100, 200)})
        round_ = decided_round(session, people[0], {"0180": {"FFP2-CUP": 100}})
        (shipment,) = shipments.plan_shipments(session, people[0], round_)
        if dispatch:
            shipments.dispatch(session, people[0], shipment, carrier="PostNord")
        session.commit()
        ids = (shipment.id, people[0].id, people[1].id)
        session.remove()
        return ids


def _step(user_id: int, shipment_id: int, action):
    from app.auth.models import User

    user = db.session.get(User, user_id)
    shipment = db.session.get(Shipment, shipment_id)
    try:
        result = action(user, shipment)
        db.session.commit()
        return result
    except DomainError as error:
        db.session.rollback()
        return error


def test_the_same_confirmation_sent_at_once_is_recorded_once(race_app):
    shipment_id, _sender, recipient_id = _setup(race_app, dispatch=True)

    def confirm(user, shipment):
        line = shipment.lines[0]
        return shipments.confirm(db.session, user, shipment, received_by_name="Anna", lines=[
            shipments.LineConfirmation(line.id, accepted=90, missing=10, reason="short", comment="One carton")])

    results = in_threads(race_app, lambda n: _step(recipient_id, shipment_id, confirm), THREADS)

    assert sorted(result.repeated for result in results) == [False] + [True] * (THREADS - 1)
    with race_app.app_context():
        kinds = db.session.scalars(
            select(StockMovement.kind).where(StockMovement.document_type == "shipment",
                                             StockMovement.document_id == shipment_id)
        ).all()
        assert sorted(kinds) == sorted([MovementKind.DISPATCH, MovementKind.DELIVERY, MovementKind.DELIVERY_LOSS])
        assert db.session.scalar(select(func.count()).select_from(DeliveryFollowUp)
                                 .where(DeliveryFollowUp.shipment_id == shipment_id)) == 1
        db.session.remove()


def test_different_confirmations_at_once_keep_the_first_and_refuse_the_others(race_app):
    shipment_id, _sender, recipient_id = _setup(race_app, dispatch=True)

    def confirm(number):
        def action(user, shipment):
            line = shipment.lines[0]
            return shipments.confirm(db.session, user, shipment, received_by_name=f"Person {number}",
                                     lines=[shipments.LineConfirmation(line.id, accepted=100)])
        return _step(recipient_id, shipment_id, action)

    results = in_threads(race_app, confirm, THREADS)

    assert len([r for r in results if isinstance(r, shipments.ConfirmResult)]) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, shipments.ConfirmResult))


def test_two_dispatchers_at_once_ship_the_stock_once(race_app):
    shipment_id, sender_id, _recipient = _setup(race_app, dispatch=False)

    results = in_threads(race_app, lambda n: _step(
        sender_id, shipment_id, lambda user, shipment: shipments.dispatch(db.session, user, shipment, carrier="DHL")), THREADS)

    assert len([r for r in results if isinstance(r, Shipment)]) == 1
    with race_app.app_context():
        assert db.session.get(Shipment, shipment_id).status == ShipmentStatus.DISPATCHED.value
        dispatches = db.session.scalar(
            select(func.count()).select_from(StockMovement)
            .where(StockMovement.document_id == shipment_id, StockMovement.document_type == "shipment",
                   StockMovement.kind == MovementKind.DISPATCH.value)
        )
        assert dispatches == 1
        db.session.remove()
