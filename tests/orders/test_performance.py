"""Supplier performance from goods receipts: on-time delivery, quantity accuracy and rejection rate, and the
supplier page showing them with the latest rejections."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orders import services_receiving as receiving
from orders.models import OrderStatus
from orders.services_receiving import InspectionData, ReceiptData
from suppliers.performance import DeliveryOutcome, outcome_of, performance_from, supplier_performance
from tests.orders.factories import (
    DUE_ON,
    delivery,
    line,
    make_approved_supplier,
    make_order,
    make_user,
    warehouse,
)

LATER = date(2026, 3, 20)


def test_a_complete_delivery_is_judged_by_its_last_receipt():
    outcome = outcome_of(due_on=DUE_ON, scheduled=100, received=100, rejected=0, last_received_on=DUE_ON, today=LATER)
    assert outcome == DeliveryOutcome(DUE_ON, DUE_ON, 100, 100, 0)


def test_an_incomplete_delivery_is_not_judged_before_its_due_date():
    assert outcome_of(due_on=DUE_ON, scheduled=100, received=40, rejected=0, last_received_on=date(2026, 3, 10),
                      today=date(2026, 3, 12)) is None


def test_an_incomplete_delivery_past_its_due_date_is_late_and_short():
    outcome = outcome_of(due_on=DUE_ON, scheduled=100, received=40, rejected=0, last_received_on=date(2026, 3, 10),
                         today=LATER)
    assert outcome.received_on == LATER
    performance = performance_from([outcome])
    assert (performance.on_time_rate, performance.quantity_accuracy) == (Decimal(0), Decimal(0))


def receive(session, user, scheduled, quantity, day, lot):
    data = ReceiptData(quantity=quantity, lot_number=lot, received_on=day, expiry_on=date(2029, 1, 31))
    return receiving.receive_delivery(session, user, scheduled, data, today=day)


@pytest.fixture
def people(session):
    return make_user(session, "purchasing_officer"), make_user(session, "purchasing_lead")


def test_performance_is_computed_from_the_suppliers_receipts(session, people):
    officer, lead = people
    supplier = make_approved_supplier(session)
    stock = warehouse(session)
    order = make_order(
        session,
        OrderStatus.SENT,
        responsible=officer,
        supplier=supplier,
        lines=[line(session, quantity=3_000)],
        deliveries=[
            delivery(stock, quantity=1_000, due_on=date(2026, 3, 10)),
            delivery(stock, quantity=1_000, due_on=date(2026, 3, 16)),
            delivery(stock, quantity=1_000, due_on=date(2026, 3, 30)),
        ],
    )
    early, late, pending = order.deliveries
    on_time = receive(session, officer, early, 1_000, date(2026, 3, 9), "A-1")
    receive(session, officer, late, 900, date(2026, 3, 18), "A-2")
    receive(session, officer, pending, 500, date(2026, 3, 18), "A-3")  # not due yet: not judged
    receiving.inspect(session, lead, on_time, InspectionData("reject", True, "failed",
                                                             rejection_reason="Ear loops tear"))
    performance = supplier_performance(session, supplier, today=date(2026, 3, 20))
    assert performance.deliveries == 2
    assert performance.on_time_rate == Decimal("0.5")
    assert performance.quantity_accuracy == Decimal("0.5")
    assert performance.rejection_rate == Decimal(1_000) / Decimal(1_900)
    assert [r.id for r in performance.recent_rejections] == [on_time.id]


def test_a_supplier_without_receipts_has_no_measures(session):
    performance = supplier_performance(session, make_approved_supplier(session))
    assert not performance.has_deliveries
    assert performance.recent_rejections == ()


def test_the_supplier_page_shows_the_rates_and_the_reason_for_a_rejection(session, client, auth, people):
    officer, lead = people
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    receipt = receive(session, officer, order.deliveries[0], 10_000, DUE_ON, "B-1")
    receiving.inspect(session, lead, receipt, InspectionData("reject", True, "failed",
                                                             rejection_reason="Counterfeit CE marking"))
    session.commit()
    auth.login(officer)
    page = client.get(f"/suppliers/{order.supplier_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Counterfeit CE marking" in text
    assert receipt.number in text
    assert "100%" in text.replace("\u00a0", "")  # on time and exact; all of it rejected
