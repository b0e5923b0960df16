"""Procurement jobs: overdue deliveries to the responsible officer, national stock expiring within 90 days to
the national coordinators, each told once."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.notifications.models import Notice
from app.scheduling import runner
from app.scheduling.models import JobOutcome
from app.scheduling.registry import JOBS
from app.stock import ledger
from app.stock.models import StockState
from orders import jobs
from orders import services_receiving as receiving
from orders.models import OrderStatus
from orders.services_receiving import ReceiptData
from tests.orders.factories import DUE_ON, location_of, make_order, make_user, product, warehouse

# 07:00 in Stockholm (CET) on Wednesday 18 March 2026, two days after the default due date.
MORNING = datetime(2026, 3, 18, 6, 0, tzinfo=UTC)
TODAY = date(2026, 3, 18)


def notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer")


def test_the_responsible_officer_is_told_once_of_an_overdue_delivery(session, officer):
    order = make_order(session, OrderStatus.CONFIRMED, responsible=officer)
    jobs.notify_overdue_deliveries(session, now=MORNING, today=TODAY)
    jobs.notify_overdue_deliveries(session, now=MORNING + timedelta(hours=1), today=TODAY)
    told = notices(session, officer)
    assert len([n for n in told if "overdue" in n.text]) == 1
    overdue = next(n for n in told if "overdue" in n.text)
    assert order.number in overdue.text
    assert overdue.link.endswith(f"/orders/deliveries/{order.deliveries[0].id}/receive")
    assert order.deliveries[0].overdue_notified_at == MORNING


def test_a_delivery_is_not_overdue_on_its_due_date_nor_once_goods_arrived(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    jobs.notify_overdue_deliveries(session, now=MORNING, today=DUE_ON)
    data = ReceiptData(quantity=10, lot_number="X-1", received_on=DUE_ON)
    receiving.receive_delivery(session, officer, order.deliveries[0], data, today=DUE_ON)
    jobs.notify_overdue_deliveries(session, now=MORNING, today=TODAY)
    assert not [n for n in notices(session, officer) if "overdue" in n.text]


def test_a_moved_due_date_makes_the_delivery_due_a_notice_again(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    scheduled = order.deliveries[0]
    jobs.notify_overdue_deliveries(session, now=MORNING, today=TODAY)
    scheduled.due_on = date(2026, 3, 25)  # amended with the supplier
    assert not jobs.overdue_notice_due(scheduled, date(2026, 3, 25))
    assert jobs.overdue_notice_due(scheduled, date(2026, 3, 26))


def test_drafts_and_cancelled_orders_have_no_overdue_deliveries(session, officer):
    make_order(session, OrderStatus.APPROVED, responsible=officer)
    make_order(session, OrderStatus.CANCELLED, responsible=officer)
    summary = jobs.notify_overdue_deliveries(session, now=MORNING, today=TODAY)
    assert not [n for n in notices(session, officer) if "overdue" in n.text]
    assert "0" in summary


def test_an_inactive_officer_is_skipped_and_the_delivery_stays_due(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    officer.active = False
    summary = jobs.notify_overdue_deliveries(session, now=MORNING, today=TODAY)
    assert "inactive" in summary
    assert order.deliveries[0].overdue_notified_at is None


def stock_lot(session, user, number, expiry, quantity=5_000, location=None, state=StockState.AVAILABLE):
    item = product(session)
    lot = ledger.lot_for(session, item, number, expiry_on=expiry)
    ledger.receive(session, user, location=location or warehouse(session), product=item, quantity=quantity, lot=lot,
                   state=state)
    return lot


def test_national_coordinators_are_told_once_of_each_lot_expiring_within_90_days(session):
    first, second = make_user(session, "national_coordinator"), make_user(session, "national_coordinator")
    soon = stock_lot(session, first, "EXP-1", TODAY + timedelta(days=30))
    stock_lot(session, first, "EXP-1", TODAY + timedelta(days=30), quantity=1_000,
              location=warehouse(session, "NL-SYD"), state=StockState.QUARANTINE)
    stock_lot(session, first, "EXP-2", TODAY + timedelta(days=91))
    stock_lot(session, first, "EXP-3", TODAY + timedelta(days=10), location=location_of(session, "0180"))
    jobs.warn_expiring_stock(session, now=MORNING, today=TODAY)
    jobs.warn_expiring_stock(session, now=MORNING + timedelta(hours=1), today=TODAY)
    for user in (first, second):
        told = [n for n in notices(session, user) if "expires" in n.text]
        assert [n.text for n in told] == ["Stock expires in 30 days: FFP2-CUP lot EXP-1"]
        assert "6000 units" in told[0].body.replace("\u00a0", "").replace(",", "")
        assert told[0].link.endswith(f"#expiring-lot-{soon.id}")
    # The next day the lot 91 days out comes within 90 days, and only it is new.
    jobs.warn_expiring_stock(session, now=MORNING + timedelta(days=1), today=TODAY + timedelta(days=1))
    assert [n.text for n in notices(session, first)][-1] == "Stock expires in 90 days: FFP2-CUP lot EXP-2"
    assert len(notices(session, first)) == 2


def test_a_coordinator_appointed_later_is_told_of_lots_still_expiring(session):
    first = make_user(session, "national_coordinator")
    stock_lot(session, first, "EXP-9", TODAY + timedelta(days=60))
    jobs.warn_expiring_stock(session, now=MORNING, today=TODAY)
    later = make_user(session, "national_coordinator")
    jobs.warn_expiring_stock(session, now=MORNING, today=TODAY)
    assert len(notices(session, later)) == 1
    assert len([n for n in notices(session, first) if "expires" in n.text]) == 1


def test_rejected_and_used_up_stock_raises_no_expiry_warning(session):
    coordinator = make_user(session, "national_coordinator")
    lot = stock_lot(session, coordinator, "EXP-5", TODAY + timedelta(days=20), state=StockState.QUARANTINE)
    ledger.reject(session, coordinator, location=warehouse(session), product=product(session), quantity=5_000,
                  reason="Failed", lot=lot)
    jobs.warn_expiring_stock(session, now=MORNING, today=TODAY)
    assert not notices(session, coordinator)


def test_the_procurement_jobs_are_registered_and_run_through_the_runner(app, session):
    assert {"orders.notify_overdue_deliveries", "orders.warn_expiring_stock"} <= set(JOBS)
    for job_id in ("orders.notify_overdue_deliveries", "orders.warn_expiring_stock"):
        run = runner.run_job(app, job_id, triggered_by="test")
        assert run.job_outcome is JobOutcome.SUCCEEDED, run.summary
