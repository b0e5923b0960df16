"""Factories shared by every procurement test: people, an approved supplier, rates and orders in any state.

All of them flush, never commit. ``make_order(session, state=OrderStatus.SENT)`` walks a new order through the
real services (create, submit, approve, send, confirm, receive) so an order in a given state is one the
application could have made. Defaults: the agency (SOS) buys 10 000 FFP2-CUP at 4.50 SEK, delivered in one
delivery to the national warehouse NL-MITT on 2026-03-16, ordered on 2026-03-02.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.catalog.models import Product
from app.numbering import next_number
from app.stock import ledger
from app.stock.models import StockLocation
from orders import services_orders as orders
from orders.models import ExchangeRate, GoodsReceipt, OrderStatus, PurchaseOrder, ScheduledDelivery
from orders.services_orders import DeliveryInput, OrderLineInput
from tests.conftest import PASSWORD, organisation
from tests.suppliers.factories import make_approved_supplier, make_offer, make_supplier  # noqa: F401

ORDER_DATE = date(2026, 3, 2)
DUE_ON = date(2026, 3, 16)
_serial = itertools.count(1)

# The states make_order can reach, in the order the services walk through them.
PATH = (
    OrderStatus.DRAFT,
    OrderStatus.SUBMITTED,
    OrderStatus.APPROVED,
    OrderStatus.SENT,
    OrderStatus.CONFIRMED,
    OrderStatus.PARTIALLY_RECEIVED,
    OrderStatus.RECEIVED,
    OrderStatus.CLOSED,
)


def make_user(session, roles="purchasing_officer", organisation_code: str = "SOS", **overrides):
    """A user with ``roles`` at the organisation (code or kommunkod), flushed."""
    from app.auth.services import create_user

    if isinstance(roles, str):
        roles = [roles]
    serial = next(_serial)
    safe = "".join(ch for ch in organisation_code.lower() if ch.isalnum())
    return create_user(
        session,
        email=overrides.pop("email", f"orders-{'-'.join(roles).replace('_', '')}-{serial}@{safe}.test"),
        name=overrides.pop("name", f"Orders {' '.join(roles)} {serial}"),
        password=PASSWORD,
        organisation=organisation(organisation_code),
        roles=roles,
    )


def product(session, sku: str = "FFP2-CUP") -> Product:
    """A product of the starter catalogue by SKU."""
    return session.scalar(select(Product).where(Product.sku == sku))


def warehouse(session, code: str = "NL-MITT") -> StockLocation:
    """A national warehouse (created with the others when missing)."""
    ledger.ensure_warehouses(session)
    return ledger.location_by_code(session, code)


def location_of(session, code: str) -> StockLocation:
    """An organisation's own stock location (kommunkod or code), created on first use."""
    return ledger.location_for_organisation(session, organisation(code))


def add_rate(session, currency: str = "EUR", sek_per_unit: str = "11.25", valid_on: date = date(2026, 1, 1)):
    """An exchange rate row, flushed."""
    rate = ExchangeRate(currency=currency, valid_on=valid_on, sek_per_unit=Decimal(sek_per_unit))
    session.add(rate)
    session.flush()
    return rate


def line(
    session=None, *, sku: str = "FFP2-CUP", quantity: int = 10_000, unit_price: str = "4.50"
) -> OrderLineInput:
    from app.extensions import db

    return OrderLineInput(
        product=product(session or db.session, sku), quantity=quantity, unit_price=Decimal(unit_price)
    )


def delivery(
    destination: StockLocation,
    *,
    line_number: int = 1,
    quantity: int = 10_000,
    due_on: date = DUE_ON,
    delivery_id: int | None = None,
) -> DeliveryInput:
    return DeliveryInput(
        line_number=line_number,
        due_on=due_on,
        quantity=quantity,
        destination=destination,
        delivery_id=delivery_id,
    )


def create(session, responsible, **overrides) -> PurchaseOrder:
    """A draft through ``create_order`` with the defaults above; any keyword of create_order overrides."""
    values = {
        "supplier": overrides.pop("supplier", None) or make_approved_supplier(session),
        "buyer": responsible.organisation,
        "currency": "SEK",
        "order_date": ORDER_DATE,
        "lines": [line(session)],
    }
    values.update(overrides)
    if "deliveries" not in values:
        target = (
            warehouse(session)
            if responsible.organisation.is_national
            else location_of(session, responsible.organisation.code)
        )
        values["deliveries"] = [
            delivery(target, line_number=number, quantity=each.quantity)
            for number, each in enumerate(values["lines"], start=1)
        ]
    return orders.create_order(session, responsible, **values)


def make_order(
    session,
    state: OrderStatus | str = OrderStatus.DRAFT,
    *,
    responsible=None,
    approver=None,
    buyer_code: str = "SOS",
    **overrides,
) -> PurchaseOrder:
    """An order brought to ``state`` by the services.

    ``responsible`` (a purchasing officer at ``buyer_code`` unless given) creates, submits and sends it;
    ``approver`` (a purchasing lead at the agency, or the national coordinator above 10 MSEK, unless given)
    approves it. "partially_received" receives half of the first delivery, "received" all of every delivery
    (through :func:`receive`); "cancelled" cancels a draft. Overrides go to :func:`create`.
    """
    state = OrderStatus(state)
    responsible = responsible or make_user(session, "purchasing_officer", buyer_code)
    order = create(session, responsible, **overrides)
    if state == OrderStatus.CANCELLED:
        return orders.cancel_order(session, responsible, order, "Cancelled in the test")
    steps = PATH[: PATH.index(state) + 1]
    for step in steps[1:]:
        if step == OrderStatus.SUBMITTED:
            orders.submit_order(session, responsible, order)
        elif step == OrderStatus.APPROVED:
            if approver is None:
                big = orders.order_value_ore(order) > 10_000_000 * 100
                approver = make_user(session, "national_coordinator" if big else "purchasing_lead")
            orders.approve_order(session, approver, order)
        elif step == OrderStatus.SENT:
            orders.send_order(session, responsible, order)
        elif step == OrderStatus.CONFIRMED:
            orders.confirm_order(session, responsible, order, f"SO-{next(_serial)}")
        elif step == OrderStatus.PARTIALLY_RECEIVED:
            first = order.deliveries[0]
            receive(session, first, max(1, first.quantity // 2), responsible)
        elif step == OrderStatus.RECEIVED:
            for each in list(order.deliveries):
                rest = each.quantity - orders.received_by_delivery(session, order).get(each.id, 0)
                if rest > 0:
                    receive(session, each, rest, responsible)
        elif step == OrderStatus.CLOSED:
            orders.close_order(session, responsible, order)
    return order


def receive(
    session, scheduled: ScheduledDelivery, quantity: int, user, *, lot_number: str | None = None
) -> GoodsReceipt:
    """A goods receipt against a scheduled delivery, booked into quarantine through the ledger, then the
    order's progress marked. A test shortcut for the receiving service (no over-delivery or inspection rules)."""
    order = scheduled.order
    line_product = scheduled.line.product
    lot = ledger.lot_for(
        session, line_product, lot_number or f"LOT-{next(_serial)}", expiry_on=date(2030, 12, 31)
    )
    receipt = GoodsReceipt(
        number=next_number(session, "GR", scheduled.due_on.year),
        scheduled_delivery=scheduled,
        product_id=line_product.id,
        location_id=scheduled.destination_id,
        lot_id=lot.id,
        quantity=quantity,
        received_on=scheduled.due_on,
        received_by_id=user.id,
    )
    session.add(receipt)
    session.flush()
    ledger.receive(
        session,
        user,
        location=scheduled.destination,
        product=line_product,
        quantity=quantity,
        lot=lot,
        document=ledger.DocumentRef("goods_receipt", receipt.id, receipt.number),
    )
    orders.mark_received_progress(session, order)
    return receipt
