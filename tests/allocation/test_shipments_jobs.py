"""The reminder job: shipments unconfirmed 3 days after delivery (or 5 after dispatch with no delivery mark)
remind the receiving organisation's recipients once, and each responsible coordinator gets one list."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from allocation import services_shipments as shipments
from app.db import utcnow
from app.notifications.models import Notice
from app.scheduling.registry import JOBS
from tests.allocation.shipments_factories import decided_round, location_of, stock, warehouse

DAY = timedelta(days=1)


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _shipments(session, coordinator, codes, source=None):
    stock(session, coordinator, source or warehouse(session), {"A": (1000, 200)})
    round_ = decided_round(session, coordinator, {code: {"FFP2-CUP": 10} for code in codes}, source=source)
    planned = shipments.plan_shipments(session, coordinator, round_)
    for shipment in planned:
        shipments.dispatch(session, coordinator, shipment, carrier="PostNord")
    return planned


def test_the_reminder_job_is_registered_hourly(app):
    spec = JOBS["allocation.remind_unconfirmed_shipments"]
    assert spec.func is shipments.remind_unconfirmed
    assert spec.trigger == "interval" and spec.trigger_args == {"hours": 1}


def test_recipients_of_a_shipment_delivered_three_days_ago_are_reminded_once(session, coordinator, users):
    stockholm, taby = users.make("recipient", "0180"), users.make("recipient", "0160")
    reporter = users.make("reporter", "0180")
    delivered, fresh = _shipments(session, coordinator, ["0180", "0160"])
    now = utcnow()
    delivered.status, delivered.delivered_at = "delivered", now - 3 * DAY - timedelta(minutes=1)
    fresh.status, fresh.delivered_at = "delivered", now - 2 * DAY

    summary = shipments.remind_unconfirmed(session, now)

    (reminder,) = [n for n in _notices(session, stockholm) if n.text.startswith("Confirm shipment")]
    assert reminder.text == f"Confirm shipment {delivered.number}"
    assert reminder.link.endswith(f"/need/shipments/{delivered.id}/confirm")
    assert not [n for n in _notices(session, taby) if n.text.startswith("Confirm shipment")]
    assert _notices(session, reporter) == []
    assert delivered.unconfirmed_reminded_at == now and fresh.unconfirmed_reminded_at is None
    (listing,) = [n for n in _notices(session, coordinator) if "unconfirmed" in n.text]
    assert listing.text == "1 shipment is unconfirmed after 3 days" and delivered.number in listing.body
    assert summary == "1 unconfirmed shipments reminded; 2 notices."

    assert shipments.remind_unconfirmed(session, now + timedelta(hours=1)) == (
        "0 unconfirmed shipments reminded; 0 notices.")
    assert len([n for n in _notices(session, stockholm) if n.text.startswith("Confirm shipment")]) == 1


def test_a_shipment_nobody_marked_delivered_counts_from_dispatch_plus_two_days(session, coordinator, users):
    recipient = users.make("recipient", "0180")
    (shipment,) = _shipments(session, coordinator, ["0180"])
    now = utcnow()

    shipment.dispatched_at = now - 4 * DAY
    shipments.remind_unconfirmed(session, now)
    assert shipment.unconfirmed_reminded_at is None
    shipment.dispatched_at = now - 5 * DAY - timedelta(minutes=1)
    shipments.remind_unconfirmed(session, now)
    assert shipment.unconfirmed_reminded_at == now
    assert [n.text for n in _notices(session, recipient)][-1] == f"Confirm shipment {shipment.number}"


def test_confirmed_shipments_are_never_reminded(session, coordinator, users):
    recipient = users.make("recipient", "0180")
    (shipment,) = _shipments(session, coordinator, ["0180"])
    shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=[
        shipments.LineConfirmation(line.id, accepted=line.quantity) for line in shipment.lines])
    shipment.delivered_at = utcnow() - 10 * DAY

    assert shipments.remind_unconfirmed(session).startswith("0 unconfirmed")


def test_the_county_coordinator_gets_the_list_for_its_boards_second_level_shipments(session, coordinator, users):
    board = users.make("county_coordinator", "LST-01")
    (shipment,) = _shipments(session, board, ["0180"], source=location_of(session, "LST-01"))
    shipment.dispatched_at = utcnow() - 6 * DAY

    shipments.remind_unconfirmed(session)

    assert [n for n in _notices(session, board) if "unconfirmed" in n.text]
    assert not [n for n in _notices(session, coordinator) if "unconfirmed" in n.text]
    assert shipments.overdue_shipments(session, board) == [shipment]
    assert shipments.overdue_shipments(session, users.make("county_coordinator", "LST-14")) == []
