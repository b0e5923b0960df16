"""Receipts at the same moment on PostgreSQL: officers receiving against one delivery at once each count the
others' receipts, so together they never pass the 5 % over-delivery limit.

Runs on a database of its own (``<test database>_receiving_race``), built by the migrations, because the shared
rolled-back test transaction would put every thread on one connection and hide the race.
"""
from __future__ import annotations

import os
from datetime import date

import flask_migrate
import pytest
from sqlalchemy import func, select

from app import create_app
from app.auth.models import User
from app.extensions import db
from orders import services_receiving as receiving
from orders.models import GoodsReceipt, OrderStatus, ScheduledDelivery
from orders.services_receiving import ReceiptData, ReceivingError
from tests.orders.factories import DUE_ON, make_order, make_user
from tests.stock.test_ledger_concurrency import in_threads
from tests.support import own_database

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="row locks are PostgreSQL's; set TEST_DATABASE_URL to a PostgreSQL database to run this",
    ),
]

THREADS = 4


@pytest.fixture(autouse=True)
def _transaction():
    """This module uses its own database; the shared rolled-back test transaction does not apply."""
    yield


@pytest.fixture(scope="module")
def race_app(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("receiving-race")
    with own_database(tmp_path, "receiving_race") as url:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "SECRET_KEY": "receiving-race",
                "SQLALCHEMY_DATABASE_URI": url,
                "BABEL_DEFAULT_LOCALE": "en",
                "PASSWORD_HASH_FAST": True,
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 2},
            }
        )
        with app.app_context():
            from app.catalog.services import load_catalog
            from app.organisations.services import load_reference_data

            flask_migrate.upgrade()
            db.session.info["actor"] = "test-setup"
            load_reference_data(db.session)
            load_catalog(db.session)
            db.session.commit()
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


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
