"""Receipts at the same moment on PostgreSQL: officers receiving against one delivery at once each count the
others' receipts, so together they never pass the 5 % over-delivery limit.

Runs on a database of its own, ``<test database>_receiving_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from orders import services_receiving as receiving
from orders.models import GoodsReceipt, OrderStatus, ScheduledDelivery
from orders.services_receiving import ReceiptData, ReceivingError
from tests.orders.factories import DUE_ON, make_order, make_user
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 4


race_app = race_app_fixture("receiving_race", threads=THREADS)


def test_officers_receiving_at_once_never_pass_the_over_delivery_limit(race_app):
    with race_app.app_context():
        db.session.info["actor"] = "test-setup"
        order = make_order(db.session, OrderStatus.SENT)  # 10 000 units: at most 10 500 without acceptance
        delivery_id = order.deliveries[0].id
        officer_ids = [make_user(db.session, "purchasing_officer").id for _ in range(THREADS)]
        db.session.commit()
        db.session.remove()

    def work(number: int) -> str:
        officer = db.session.get(User, officer_ids[number])
        delivery = db.session.get(ScheduledDelivery, delivery_id)
        data = ReceiptData(quantity=3_000, lot_number=f"RACE-{number}", received_on=DUE_ON,
                           expiry_on=date(2029, 1, 31))
        try:
            receiving.receive_delivery(db.session, officer, delivery, data, today=DUE_ON)
            db.session.commit()
            return "received"
        except ReceivingError:
            db.session.rollback()
            return "refused"

    outcomes = in_threads(race_app, work, THREADS)
    assert sorted(outcomes) == ["received"] * 3 + ["refused"]
    with race_app.app_context():
        total = db.session.scalar(
            select(func.sum(GoodsReceipt.quantity)).where(GoodsReceipt.scheduled_delivery_id == delivery_id)
        )
        assert total == 9_000
        assert db.session.get(ScheduledDelivery, delivery_id).status == "partially_received"
        db.session.remove()
