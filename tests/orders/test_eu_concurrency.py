"""Specific orders at the same moment on PostgreSQL: officers ordering from one framework contractor at once each
see the others' orders (the contractor's row is locked), so together they never pass its maximum quantity.

Runs on a database of its own, ``<test database>_eu_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from orders import services_eu as eu
from orders.models import FrameworkContractor, PurchaseOrder, PurchaseOrderLine
from orders.services_eu import DeliveryPlan, Rejected, SpecificOrderData
from tests.orders.factories import add_rate, make_user, warehouse
from tests.orders.factories_eu import make_contractor
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 4


race_app = race_app_fixture("eu_race", threads=THREADS)


def test_officers_ordering_at_once_never_pass_the_contractors_maximum(race_app):
    with race_app.app_context():
        db.session.info["actor"] = "test-setup"
        add_rate(db.session, "EUR", "11.25")
        destination = eu.destination_key(warehouse(db.session))
        contractor_id = make_contractor(db.session, max_quantity=50_000).id
        officer_ids = [make_user(db.session, "purchasing_officer").id for _ in range(THREADS)]
        db.session.commit()
        db.session.remove()

    def work(number: int) -> str:
        officer = db.session.get(User, officer_ids[number])
        contractor = db.session.get(FrameworkContractor, contractor_id)
        data = SpecificOrderData(
            quantity=20_000, order_date=date(2026, 3, 2),
            deliveries=[DeliveryPlan(date(2026, 3, 20), None, destination)],
        )
        try:
            eu.place_specific_order(db.session, officer, contractor, data)
            db.session.commit()
            return "ordered"
        except Rejected:
            db.session.rollback()
            return "refused"

    outcomes = in_threads(race_app, work, THREADS)

    assert sorted(outcomes) == ["ordered"] * 2 + ["refused"] * (THREADS - 2)
    with race_app.app_context():
        ordered = db.session.scalar(
            select(func.sum(PurchaseOrderLine.quantity))
            .join(PurchaseOrder)
            .where(PurchaseOrder.framework_contractor_id == contractor_id)
        )
        assert ordered == 40_000
        db.session.remove()
