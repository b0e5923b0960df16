"""Goods receipt: what arrives goes into quarantine, backorders stay open, over-delivery and expired goods are
refused, incoming supplies are received like deliveries, and each user sees only the deliveries in scope."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.errors import DomainError, NotFoundError
from app.stock import ledger
from app.stock.models import Lot, StockState
from orders import services_receiving as receiving
from orders.models import (
    DeliveryStatus,
    GoodsCondition,
    IncomingSupply,
    IncomingSupplyKind,
    InspectionOutcome,
    OrderStatus,
)
from orders.services_receiving import ReceiptData, ReceivingError
from tests.orders.factories import DUE_ON, location_of, make_order, make_user, product, warehouse

TODAY = DUE_ON


def data(quantity: int = 4_000, **overrides) -> ReceiptData:
    values = {
        "quantity": quantity,
        "lot_number": "L-2026-031",
        "received_on": TODAY,
        "expiry_on": date(2029, 2, 28),
        "manufactured_on": date(2026, 2, 1),
    }
    values.update(overrides)
    return ReceiptData(**values)


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer")


@pytest.fixture
def order(session, officer):
    return make_order(session, OrderStatus.SENT, responsible=officer)


@pytest.fixture
def scheduled(order):
    return order.deliveries[0]


def quarantined(session, delivery, lot_number="L-2026-031") -> int:
    lot = session.scalar(select(Lot).where(Lot.lot_number == lot_number))
    return ledger.balance(session, location=delivery.destination, product=delivery.line.product, lot=lot,
                          state=StockState.QUARANTINE)


def test_a_partial_delivery_goes_into_quarantine_and_leaves_a_backorder(session, officer, order, scheduled):
    receipt = receiving.receive_delivery(session, officer, scheduled, data(4_000), today=TODAY)
    assert receipt.number.startswith("GR-2026-")
    assert receipt.outcome == InspectionOutcome.PENDING
    assert receipt.location_id == warehouse(session).id
    assert quarantined(session, scheduled) == 4_000
    assert scheduled.status == DeliveryStatus.PARTIALLY_RECEIVED
    assert order.status == OrderStatus.PARTIALLY_RECEIVED
    assert receiving.received_for_delivery(session, scheduled) == 4_000
    assert receipt.lot.supplier_id == order.supplier_id
    assert receipt.lot.expiry_on == date(2029, 2, 28)


def test_the_rest_of_a_backorder_completes_the_delivery_and_the_order(session, officer, order, scheduled):
    first = receiving.receive_delivery(session, officer, scheduled, data(4_000), today=TODAY)
    second = receiving.receive_delivery(session, officer, scheduled, data(6_000, lot_number="L-2026-032"),
                                        today=TODAY)
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1
    assert scheduled.status == DeliveryStatus.RECEIVED
    assert order.status == OrderStatus.RECEIVED
    with pytest.raises(ReceivingError, match="received in full"):
        receiving.receive_delivery(session, officer, scheduled, data(1), today=TODAY)


def test_up_to_five_percent_over_the_schedule_is_received_without_acceptance(session, officer, scheduled):
    receipt = receiving.receive_delivery(session, officer, scheduled, data(10_500), today=TODAY)
    assert receipt.over_delivery_accepted_by_id is None
    assert scheduled.status == DeliveryStatus.RECEIVED


def test_over_delivery_beyond_five_percent_counts_every_receipt_and_is_refused(session, officer, scheduled):
    receiving.receive_delivery(session, officer, scheduled, data(9_000), today=TODAY)
    with pytest.raises(ReceivingError) as refused:
        receiving.receive_delivery(session, officer, scheduled, data(1_501), today=TODAY)
    assert refused.value.field == "quantity"
    assert "at most 1500" in refused.value.message
    assert receiving.received_for_delivery(session, scheduled) == 9_000


def test_only_a_national_coordinator_can_accept_an_over_delivery(session, officer, scheduled):
    with pytest.raises(ReceivingError) as refused:
        receiving.receive_delivery(session, officer, scheduled, data(12_000, accept_over_delivery=True),
                                   today=TODAY)
    assert refused.value.field == "accept_over_delivery"
    coordinator = make_user(session, "national_coordinator")
    receipt = receiving.receive_delivery(session, coordinator, scheduled, data(12_000, accept_over_delivery=True),
                                         today=TODAY)
    assert receipt.over_delivery_accepted_by_id == coordinator.id
    assert quarantined(session, scheduled) == 12_000


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"expiry_on": date(2026, 3, 15)}, "expiry_on", "expired"),
        ({"expiry_on": date(2026, 3, 20), "manufactured_on": date(2026, 4, 1)}, "expiry_on", "before the manufacture"),
        ({"manufactured_on": date(2026, 3, 17)}, "manufactured_on", "after the day of receipt"),
        ({"received_on": date(2026, 3, 17)}, "received_on", "future"),
        ({"quantity": 0}, "quantity", "at least 1"),
        ({"condition": "wet"}, "condition", "condition"),
        ({"lot_number": "  "}, "lot_number", "lot number"),
    ],
)
def test_impossible_or_expired_goods_are_refused_with_a_clear_message(session, officer, scheduled, changes, field,
                                                                      words):
    with pytest.raises(DomainError) as refused:
        receiving.receive_delivery(session, officer, scheduled, data(**changes), today=TODAY)
    assert refused.value.field == field
    assert words in refused.value.message
    assert receiving.received_for_delivery(session, scheduled) == 0


def test_a_lot_already_known_with_another_expiry_date_is_refused(session, officer, scheduled):
    receiving.receive_delivery(session, officer, scheduled, data(1_000), today=TODAY)
    with pytest.raises(ledger.StockError) as refused:
        receiving.receive_delivery(session, officer, scheduled, data(1_000, expiry_on=date(2030, 1, 31)), today=TODAY)
    assert refused.value.field == "expiry_on"


@pytest.mark.parametrize(
    ("state", "words"),
    [(OrderStatus.APPROVED, "only the deliveries of a sent or confirmed order"), (OrderStatus.CANCELLED, "cancelled")],
)
def test_deliveries_of_an_order_not_yet_sent_or_cancelled_are_not_received(session, officer, state, words):
    order = make_order(session, state, responsible=officer)
    with pytest.raises(ReceivingError, match=words):
        receiving.receive_delivery(session, officer, order.deliveries[0], data(), today=TODAY)


def test_a_confirmed_orders_delivery_to_a_region_is_received_at_the_region(session):
    officer = make_user(session, "purchasing_officer", "REG-01")
    order = make_order(session, OrderStatus.CONFIRMED, responsible=officer, buyer_code="REG-01")
    scheduled = order.deliveries[0]
    receipt = receiving.receive_delivery(session, officer, scheduled, data(10_000, condition="damaged_packaging"),
                                         today=TODAY)
    assert receipt.location_id == location_of(session, "REG-01").id
    assert receipt.condition == GoodsCondition.DAMAGED_PACKAGING
    assert order.status == OrderStatus.RECEIVED


def supply(session, officer, quantity=50_000) -> IncomingSupply:
    row = IncomingSupply(
        kind=IncomingSupplyKind.RESCEU.value,
        source="rescEU stockpile, Decision 2026/12",
        product_id=product(session).id,
        quantity=quantity,
        expected_on=date(2026, 3, 12),
        destination_id=warehouse(session, "NL-SYD").id,
        created_by_id=officer.id,
    )
    session.add(row)
    session.flush()
    return row


def test_a_rescEU_allocation_is_received_into_quarantine_like_a_delivery(session, officer):
    incoming = supply(session, officer)
    receipt = receiving.receive_supply(session, officer, incoming, data(20_000), today=TODAY)
    assert incoming.status == DeliveryStatus.PARTIALLY_RECEIVED
    assert receiving.supplier_of(receipt) is None
    assert receipt.lot.supplier_id is None
    assert ledger.balance(session, location=incoming.destination, product=incoming.product, lot=receipt.lot,
                          state=StockState.QUARANTINE) == 20_000
    receiving.receive_supply(session, officer, incoming, data(30_000), today=TODAY)
    assert incoming.status == DeliveryStatus.RECEIVED
    with pytest.raises(ReceivingError):
        receiving.receive_supply(session, officer, incoming, data(1), today=TODAY)


def test_an_incoming_supply_refuses_over_delivery_like_an_order(session, officer):
    incoming = supply(session, officer, quantity=100)
    with pytest.raises(ReceivingError) as refused:
        receiving.receive_supply(session, officer, incoming, data(106), today=TODAY)
    assert refused.value.field == "quantity"


def test_a_region_sees_its_own_deliveries_and_not_another_municipalitys(session):
    region = make_user(session, "purchasing_officer", "REG-01")
    own = make_order(session, OrderStatus.SENT, responsible=region, buyer_code="REG-01")
    other = make_order(session, OrderStatus.SENT, buyer_code="1480")
    assert receiving.get_delivery(session, region, own.deliveries[0].id) is own.deliveries[0]
    with pytest.raises(NotFoundError):
        receiving.get_delivery(session, region, other.deliveries[0].id)
    receipt = receiving.receive_delivery(session, other.responsible, other.deliveries[0], data(), today=TODAY)
    with pytest.raises(NotFoundError):
        receiving.get_receipt(session, region, receipt.id)
    county = make_user(session, "county_coordinator", "LST-14")
    assert receiving.get_receipt(session, county, receipt.id) is receipt


def test_expected_deliveries_list_open_deliveries_and_supplies_earliest_first(session, officer, scheduled):
    incoming = supply(session, officer)
    draft = make_order(session, OrderStatus.APPROVED, responsible=officer)
    items = receiving.expected_deliveries(session, officer)
    mine = [item for item in items if item.delivery is scheduled or item.supply is incoming]
    assert [item.supply is incoming for item in mine] == [True, False]  # due 12 March before 16 March
    assert all(item.delivery is None or item.delivery.order is not draft for item in items)
    receiving.receive_delivery(session, officer, scheduled, data(4_000), today=TODAY)
    again = next(item for item in receiving.expected_deliveries(session, officer) if item.delivery is scheduled)
    assert (again.received, again.outstanding) == (4_000, 6_000)
    assert again.is_overdue(date(2026, 3, 17)) and not again.is_overdue(TODAY)


def test_the_over_delivery_limit_rounds_down():
    assert receiving.over_delivery_limit(10_000) == 10_500
    assert receiving.over_delivery_limit(30) == 31
    assert receiving.status_after(10, 0) == DeliveryStatus.OPEN
    assert receiving.status_after(10, 9) == DeliveryStatus.PARTIALLY_RECEIVED
    assert receiving.status_after(10, 11) == DeliveryStatus.RECEIVED

