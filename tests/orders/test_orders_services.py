"""Purchase orders: drafting, the rules an order must meet, its life from draft to closed, scope and receipts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.errors import NotFoundError
from orders import services_orders as orders
from orders.models import DeliveryStatus, JointPurchase, OrderStatus, PurchaseOrder
from orders.services_orders import OrderError
from suppliers.models import VettingStatus
from tests.conftest import organisation
from tests.orders.factories import (
    ORDER_DATE,
    add_rate,
    create,
    delivery,
    line,
    location_of,
    make_approved_supplier,
    make_offer,
    make_order,
    make_supplier,
    make_user,
    receive,
    warehouse,
)


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer")


def test_a_new_order_is_a_numbered_draft_of_its_officer_with_version_one(session, officer):
    order = create(session, officer)
    assert order.number == "PO-2026-00001" or order.number.startswith("PO-2026-")
    assert order.status == OrderStatus.DRAFT
    assert order.responsible_id == officer.id
    assert order.exchange_rate == Decimal(1)
    assert [v.version for v in order.versions] == [1]
    assert order.versions[0].value_ore == 10_000 * 450
    assert order.versions[0].snapshot["lines"][0]["sku"] == "FFP2-CUP"


def test_order_numbers_follow_each_other_within_the_year_of_the_order_date(session, officer):
    first = create(session, officer)
    second = create(session, officer)
    next_year = create(
        session,
        officer,
        order_date=date(2027, 1, 4),
        deliveries=[delivery(warehouse(session), due_on=date(2027, 2, 1))],
    )
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1
    assert next_year.number == "PO-2027-00001"


def test_an_order_to_a_suspended_supplier_is_refused_with_the_reason(session, officer):
    supplier = make_supplier(
        session, vetting_status=VettingStatus.SUSPENDED, vetting_reason="Forged certificate"
    )
    with pytest.raises(OrderError) as refused:
        create(session, officer, supplier=supplier)
    assert refused.value.field == "supplier_id"
    assert "Forged certificate" in refused.value.message


def test_a_euro_order_fixes_the_latest_rate_on_or_before_the_order_date(session, officer):
    add_rate(session, "EUR", "11.10", date(2026, 2, 27))
    add_rate(session, "EUR", "11.40", date(2026, 3, 3))  # the day after the order: not used
    order = create(
        session, officer, currency="EUR", lines=[line(session, quantity=1000, unit_price="0.4125")]
    )
    assert order.exchange_rate == Decimal("11.10")
    # 1000 × 0.4125 EUR × 11.10 = 4578.75 SEK
    assert orders.order_value_ore(order) == 457_875


def test_an_order_in_a_currency_without_a_rate_is_refused_with_a_clear_message(session, officer):
    add_rate(session, "USD", "10.50", date(2026, 3, 10))  # only after the order date
    with pytest.raises(OrderError) as refused:
        create(session, officer, currency="USD")
    assert refused.value.field == "currency"
    assert "USD" in refused.value.message and "2026-03-02" in refused.value.message


def test_the_sek_value_is_rounded_half_up_per_line(session, officer):
    add_rate(session, "CNY", "1.5", date(2026, 1, 1))
    mitt = warehouse(session)
    order = create(
        session,
        officer,
        currency="CNY",
        lines=[
            line(session, quantity=1, unit_price="0.0001"),
            line(session, sku="FFP3-FOLD", quantity=3, unit_price="0.0001"),
        ],
        deliveries=[delivery(mitt, quantity=1), delivery(mitt, line_number=2, quantity=3)],
    )
    # Line 1: 0.00015 SEK = 0.015 öre -> 0; line 2: 0.00045 SEK = 0.045 öre -> 0; half up per line, not on the sum.
    assert orders.order_value_ore(order) == 0
    order.lines[1].quantity = 3334  # 0.3334 CNY × 1.5 = 0.5001 SEK = 50.01 öre -> 50
    assert orders.line_value_ore(order.lines[1], order.exchange_rate) == 50
    assert orders.sek_ore(Decimal("0.005"), Decimal(1)) == 1  # exactly half an öre rounds up


def test_a_schedule_that_does_not_add_up_to_the_line_is_refused(session, officer):
    mitt = warehouse(session)
    with pytest.raises(OrderError) as refused:
        create(session, officer, deliveries=[delivery(mitt, quantity=4000), delivery(mitt, quantity=5000)])
    assert refused.value.field == "deliveries"
    assert "9" in refused.value.message and "10" in refused.value.message


def test_one_order_delivers_to_a_warehouse_and_straight_to_a_region_and_a_municipality(session, officer):
    order = create(
        session,
        officer,
        deliveries=[
            delivery(warehouse(session), quantity=5000, due_on=date(2026, 3, 9)),
            delivery(location_of(session, "REG-01"), quantity=3000, due_on=date(2026, 3, 16)),
            delivery(location_of(session, "0180"), quantity=2000, due_on=date(2026, 3, 23)),
        ],
    )
    assert [d.destination.name for d in order.deliveries] == [
        "Nationellt lager Mitt",
        organisation("REG-01").name,
        organisation("0180").name,
    ]
    assert orders.next_open_due(order) == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: {"lines": [], "deliveries": []}, "at least one line"),
        (lambda s: {"lines": [line(s, quantity=0)]}, "whole number"),
        (lambda s: {"lines": [line(s, unit_price="4.12345")]}, "at most 4 decimals"),
        (lambda s: {"lines": [line(s, unit_price="0")]}, "above 0"),
        (lambda s: {"incoterm": "FCA"}, "place"),
        (lambda s: {"incoterm": "XYZ", "incoterm_place": "Shanghai"}, "Incoterms"),
    ],
    ids=["no-lines", "zero-quantity", "five-decimals", "free", "incoterm-without-place", "unknown-incoterm"],
)
def test_lines_and_terms_that_break_the_rules_are_refused(session, officer, change, message):
    with pytest.raises(OrderError) as refused:
        create(session, officer, **change(session))
    assert message in refused.value.message


def test_a_delivery_before_the_order_date_is_refused(session, officer):
    with pytest.raises(OrderError) as refused:
        create(
            session, officer, deliveries=[delivery(warehouse(session), due_on=ORDER_DATE - timedelta(days=1))]
        )
    assert "before the order date" in refused.value.message


def test_an_offer_of_another_supplier_an_expired_or_a_withdrawn_offer_is_refused(session, officer):
    supplier = make_approved_supplier(session)
    other = make_offer(session, supplier=make_approved_supplier(session))
    expired = make_offer(
        session, supplier=supplier, valid_from=date(2025, 1, 1), valid_until=date(2026, 2, 1)
    )
    withdrawn = make_offer(session, supplier=supplier, withdrawn_at=utcnow(), withdrawn_reason="Sold out")
    for offer, text in ((other, "another supplier"), (expired, "valid from"), (withdrawn, "Sold out")):
        with pytest.raises(OrderError) as refused:
            create(session, officer, supplier=supplier, offer=offer)
        assert text in refused.value.message
    current = make_offer(session, supplier=supplier)
    assert create(session, officer, supplier=supplier, offer=current).offer_id == current.id


def test_the_order_of_a_joint_purchase_is_placed_by_its_lead_buyer(session):
    region_officer = make_user(session, "purchasing_officer", "REG-01")
    from app.catalog.models import ProductCategory

    joint = JointPurchase(
        reference="SI-2026-0001",
        title="Masks for Stockholm county",
        category_id=session.scalar(select(ProductCategory.id).limit(1)),
        lead_buyer=organisation("SOS"),
        created_by_id=region_officer.id,
    )
    session.add(joint)
    session.flush()
    with pytest.raises(OrderError, match="lead buyer"):
        create(session, region_officer, joint_purchase=joint)
    joint.lead_buyer = organisation("REG-01")
    assert create(session, region_officer, joint_purchase=joint).joint_purchase_id == joint.id


def test_an_officer_of_a_municipality_cannot_order_for_another_organisation(session):
    officer = make_user(session, "purchasing_officer", "0180")
    with pytest.raises(OrderError) as refused:
        create(session, officer, buyer=organisation("1480"))
    assert refused.value.field == "buyer_id"


def test_a_role_without_order_rights_cannot_create_an_order(session):
    reporter = make_user(session, "reporter", "0180")
    with pytest.raises(OrderError, match="role"):
        create(session, reporter)


def test_a_draft_is_edited_and_its_version_one_follows_it(session, officer):
    order = create(session, officer)
    colleague = make_user(session, "purchasing_officer")
    orders.update_draft(
        session,
        colleague,
        order,
        supplier=order.supplier,
        currency="SEK",
        order_date=ORDER_DATE,
        lines=[line(session, quantity=20_000, unit_price="4.00")],
        deliveries=[delivery(warehouse(session), quantity=20_000)],
    )
    assert [v.version for v in order.versions] == [1]
    assert order.versions[0].value_ore == 20_000 * 400
    assert order.versions[0].created_by_id == colleague.id
    assert [(each.line_number, each.quantity) for each in order.lines] == [(1, 20_000)]


def test_an_order_walks_from_draft_to_closed(session, officer):
    order = make_order(session, OrderStatus.CLOSED, responsible=officer)
    assert order.status == OrderStatus.CLOSED
    assert order.submitted_by_id == officer.id and order.approved_by_id not in (None, officer.id)
    assert order.sent_at and order.confirmed_at and order.closed_at
    assert order.supplier_reference.startswith("SO-")
    assert {d.status for d in order.deliveries} == {DeliveryStatus.RECEIVED}


def test_steps_out_of_order_are_refused(session, officer):
    order = create(session, officer)
    with pytest.raises(OrderError):
        orders.send_order(session, officer, order)
    with pytest.raises(OrderError):
        orders.close_order(session, officer, order)
    with pytest.raises(OrderError):
        orders.confirm_order(session, officer, order, "SO-1")


def test_a_confirmation_needs_the_suppliers_reference(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    with pytest.raises(OrderError) as refused:
        orders.confirm_order(session, officer, order, "  ")
    assert refused.value.field == "supplier_reference"


def test_receipts_move_the_order_to_partially_received_and_then_received(session, officer):
    order = make_order(
        session,
        OrderStatus.CONFIRMED,
        responsible=officer,
        deliveries=[
            delivery(warehouse(session), quantity=6000),
            delivery(warehouse(session), quantity=4000, due_on=date(2026, 4, 1)),
        ],
    )
    first, second = order.deliveries
    receive(session, first, 5000, officer)
    assert order.status == OrderStatus.PARTIALLY_RECEIVED
    assert first.status == DeliveryStatus.PARTIALLY_RECEIVED and second.status == DeliveryStatus.OPEN
    assert orders.next_open_due(order) == first.due_on
    receive(session, first, 1000, officer)
    receive(session, second, 4000, officer)
    assert order.status == OrderStatus.RECEIVED
    assert orders.received_by_line(session, order) == {order.lines[0].id: 10_000}


def test_an_order_is_cancelled_with_a_reason_before_anything_is_received(session, officer):
    order = make_order(session, OrderStatus.CONFIRMED, responsible=officer)
    with pytest.raises(OrderError) as refused:
        orders.cancel_order(session, officer, order, "")
    assert refused.value.field == "reason"
    orders.cancel_order(session, officer, order, "The supplier cannot deliver")
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "The supplier cannot deliver"
    assert {d.status for d in order.deliveries} == {DeliveryStatus.CANCELLED}


def test_an_order_with_received_goods_cannot_be_cancelled(session, officer):
    order = make_order(session, OrderStatus.PARTIALLY_RECEIVED, responsible=officer)
    with pytest.raises(OrderError, match="received"):
        orders.cancel_order(session, officer, order, "Too late")


def test_an_order_outside_the_users_scope_is_not_found(session):
    order = make_order(session, buyer_code="0180")
    assert orders.get_order(session, make_user(session, "county_coordinator", "LST-01"), order.id) is order
    assert orders.get_order(session, make_user(session, "auditor", "SOS"), order.id) is order
    for outsider in (
        make_user(session, "purchasing_officer", "1480"),
        make_user(session, "county_coordinator", "LST-14"),
    ):
        with pytest.raises(NotFoundError):
            orders.get_order(session, outsider, order.id)
        assert (
            order.id
            not in session.scalars(select(PurchaseOrder.id).where(orders.order_scope_clause(outsider))).all()
        )


def test_an_officer_outside_the_scope_cannot_touch_the_order(session):
    order = make_order(session, buyer_code="0180")
    with pytest.raises(NotFoundError):
        orders.submit_order(session, make_user(session, "purchasing_officer", "1480"), order)
