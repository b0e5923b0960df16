"""Amending a sent order: a new version with its reason, earlier versions readable, re-approval above the limit,
and never below what has been received."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.notifications.models import Notice
from orders import services_orders as orders
from orders.models import DeliveryStatus, OrderStatus
from orders.services_orders import DeliveryInput, OrderError, OrderLineInput
from tests.orders.factories import create, line, location_of, make_order, make_user, receive, warehouse


def _same_lines(order, **changes):
    """The order's lines again, with ``quantity``/``unit_price`` changed on the first one."""
    lines = [OrderLineInput(each.product, each.quantity, Decimal(each.unit_price)) for each in order.lines]
    first = lines[0]
    lines[0] = OrderLineInput(
        first.product,
        changes.get("quantity", first.quantity),
        Decimal(changes.get("unit_price", first.unit_price)),
    )
    return lines


def _schedule(order):
    return [
        DeliveryInput(d.line.line_number, d.due_on, d.quantity, d.destination, d.id) for d in order.deliveries
    ]


@pytest.fixture
def officer(session):
    return make_user(session)


def test_an_amendment_is_a_new_version_and_the_earlier_one_stays_readable(session, officer):
    order = make_order(session, OrderStatus.CONFIRMED, responsible=officer)
    first = order.deliveries[0]
    version = orders.amend_order(
        session,
        officer,
        order,
        reason="The supplier confirmed 8 000 at 4.60, a week later",
        lines=_same_lines(order, quantity=8000, unit_price="4.60"),
        deliveries=[DeliveryInput(1, date(2026, 3, 23), 8000, first.destination, first.id)],
    )
    assert version.version == 2 and order.version == 2
    assert version.reason == "The supplier confirmed 8 000 at 4.60, a week later"
    assert order.status == OrderStatus.CONFIRMED  # lower value: still within what was approved
    assert orders.version_of(order, 1).snapshot["lines"][0]["quantity"] == 10_000
    assert orders.version_of(order, 1).snapshot["deliveries"][0]["due_on"] == "2026-03-16"
    assert version.snapshot["lines"][0]["quantity"] == 8000 and version.value_ore == 8000 * 460
    assert version.snapshot["approval"] == orders.version_of(order, 1).snapshot["approval"]
    assert first.due_on == date(2026, 3, 23)


def test_an_amendment_above_the_approved_limit_goes_back_for_approval(session, officer):
    coordinator = make_user(session, "national_coordinator")
    order = make_order(session, OrderStatus.SENT, responsible=officer)  # 45 000 SEK, approved by a lead
    lines = _same_lines(order, quantity=2_500_000)  # 2.5 M × 4.50 = 11.25 MSEK
    deliveries = [
        DeliveryInput(
            1, order.deliveries[0].due_on, 2_500_000, order.deliveries[0].destination, order.deliveries[0].id
        )
    ]
    version = orders.amend_order(
        session, officer, order, reason="Larger batch", lines=lines, deliveries=deliveries
    )
    assert order.status == OrderStatus.SUBMITTED
    assert order.approved_by_id is None and order.submitted_by_id == officer.id
    assert version.snapshot["approval"] is None
    assert (
        f"Purchase order {order.number} awaits your approval"
        in session.scalars(select(Notice.text).where(Notice.user_id == coordinator.id)).all()
    )
    orders.approve_order(session, coordinator, order)
    orders.send_order(session, officer, order)
    assert order.status == OrderStatus.SENT


def test_an_amendment_within_the_approved_limit_keeps_the_order_moving(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    orders.amend_order(
        session,
        officer,
        order,
        reason="Price up",
        lines=_same_lines(order, unit_price="5.10"),
        deliveries=_schedule(order),
    )
    assert order.status == OrderStatus.SENT
    assert orders.order_value_ore(order) == 10_000 * 510


def test_the_author_of_an_amendment_cannot_approve_it(session, officer):
    lead = make_user(session, "purchasing_lead")
    order = make_order(
        session, OrderStatus.SENT, responsible=officer, approver=make_user(session, "purchasing_lead")
    )
    # Approved at 45 000 SEK under the 10 MSEK rule: 11.25 MSEK needs the national coordinator.
    amender = make_user(session, "purchasing_lead")
    lines = _same_lines(order, quantity=2_500_000)
    orders.amend_order(
        session,
        amender,
        order,
        reason="Larger",
        lines=lines,
        deliveries=[
            DeliveryInput(
                1,
                order.deliveries[0].due_on,
                2_500_000,
                order.deliveries[0].destination,
                order.deliveries[0].id,
            )
        ],
    )
    with pytest.raises(OrderError, match="four eyes"):
        orders.approve_order(session, amender, order)
    with pytest.raises(OrderError, match="National coordinator"):
        orders.approve_order(session, lead, order)


def test_quantities_cannot_go_below_what_has_been_received(session, officer):
    order = make_order(
        session, OrderStatus.PARTIALLY_RECEIVED, responsible=officer
    )  # 5 000 of 10 000 received
    first = order.deliveries[0]
    with pytest.raises(OrderError, match="already received"):
        orders.amend_order(
            session,
            officer,
            order,
            reason="Less",
            lines=_same_lines(order, quantity=4000),
            deliveries=[DeliveryInput(1, first.due_on, 4000, first.destination, first.id)],
        )
    # Down to exactly what arrived: the delivery and the order are received.
    orders.amend_order(
        session,
        officer,
        order,
        reason="The rest will not come",
        lines=_same_lines(order, quantity=5000),
        deliveries=[DeliveryInput(1, first.due_on, 5000, first.destination, first.id)],
    )
    assert first.status == DeliveryStatus.RECEIVED
    assert order.status == OrderStatus.RECEIVED


def test_a_delivery_with_received_goods_can_neither_be_removed_nor_moved(session, officer):
    order = make_order(session, OrderStatus.PARTIALLY_RECEIVED, responsible=officer)
    first = order.deliveries[0]
    elsewhere = location_of(session, "0180")
    with pytest.raises(OrderError, match="cannot be removed"):
        orders.amend_order(
            session,
            officer,
            order,
            reason="Move",
            lines=_same_lines(order),
            deliveries=[DeliveryInput(1, first.due_on, 10_000, elsewhere)],
        )
    with pytest.raises(OrderError, match="cannot change"):
        orders.amend_order(
            session,
            officer,
            order,
            reason="Move",
            lines=_same_lines(order),
            deliveries=[DeliveryInput(1, first.due_on, 10_000, elsewhere, first.id)],
        )


def test_an_amendment_splits_the_rest_into_a_new_delivery_straight_to_a_municipality(session, officer):
    order = make_order(session, OrderStatus.PARTIALLY_RECEIVED, responsible=officer)
    first = order.deliveries[0]
    stockholm = location_of(session, "0180")
    orders.amend_order(
        session,
        officer,
        order,
        reason="The rest goes straight to Stockholm",
        lines=_same_lines(order),
        deliveries=[
            DeliveryInput(1, first.due_on, 5000, first.destination, first.id),
            DeliveryInput(1, date(2026, 4, 6), 5000, stockholm),
        ],
    )
    assert [(d.quantity, d.destination.code, d.status) for d in order.deliveries] == [
        (5000, "NL-MITT", DeliveryStatus.RECEIVED),
        (5000, stockholm.code, DeliveryStatus.OPEN),
    ]
    assert order.status == OrderStatus.PARTIALLY_RECEIVED
    receive(session, order.deliveries[1], 5000, officer)
    assert order.status == OrderStatus.RECEIVED


def test_an_amendment_that_changes_nothing_or_has_no_reason_is_refused(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    with pytest.raises(OrderError, match="changes nothing"):
        orders.amend_order(
            session, officer, order, reason="Nothing", lines=_same_lines(order), deliveries=_schedule(order)
        )
    with pytest.raises(OrderError) as refused:
        orders.amend_order(
            session,
            officer,
            order,
            reason=" ",
            lines=_same_lines(order, quantity=9000),
            deliveries=_schedule(order),
        )
    assert refused.value.field == "reason"


def test_an_amendment_cannot_change_the_product_or_add_lines(session, officer):
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    other = line(session, sku="FFP3-FOLD", quantity=10_000)
    with pytest.raises(OrderError, match="product"):
        orders.amend_order(session, officer, order, reason="Swap", lines=[other], deliveries=_schedule(order))
    with pytest.raises(OrderError, match="add or remove"):
        orders.amend_order(
            session,
            officer,
            order,
            reason="More",
            lines=[*_same_lines(order), other],
            deliveries=_schedule(order),
        )


def test_a_draft_is_edited_not_amended_and_a_sent_order_amended_not_edited(session, officer):
    draft = create(session, officer)
    with pytest.raises(OrderError, match="amended"):
        orders.amend_order(
            session,
            officer,
            draft,
            reason="x",
            lines=_same_lines(draft, quantity=1),
            deliveries=_schedule(draft),
        )
    sent = make_order(session, OrderStatus.SENT, responsible=officer)
    with pytest.raises(OrderError, match="edited"):
        orders.update_draft(
            session,
            officer,
            sent,
            supplier=sent.supplier,
            currency="SEK",
            order_date=sent.order_date,
            lines=_same_lines(sent),
            deliveries=_schedule(sent),
        )


def test_a_returned_amendment_is_amended_again_and_resubmitted(session, officer):
    coordinator = make_user(session, "national_coordinator")
    order = make_order(session, OrderStatus.SENT, responsible=officer)
    big = _same_lines(order, quantity=2_500_000)
    target = order.deliveries[0]
    orders.amend_order(
        session,
        officer,
        order,
        reason="Larger",
        lines=big,
        deliveries=[DeliveryInput(1, target.due_on, 2_500_000, target.destination, target.id)],
    )
    orders.return_order(session, coordinator, order, "Too much at once")
    assert order.status == OrderStatus.DRAFT and orders.can_amend(order)
    orders.amend_order(
        session,
        officer,
        order,
        reason="Smaller after all",
        lines=_same_lines(order, quantity=20_000),
        deliveries=[DeliveryInput(1, target.due_on, 20_000, warehouse(session), target.id)],
    )
    assert order.status == OrderStatus.DRAFT and order.version == 3
    orders.submit_order(session, officer, order)
    orders.approve_order(session, make_user(session, "purchasing_lead"), order)
    orders.send_order(session, officer, order)
    assert order.status == OrderStatus.SENT
