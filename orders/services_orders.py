"""Purchase orders (beställningar): drafting, approval, sending, confirmation, amendment, receipt progress, closing.

Every function takes the session and the acting user, checks the rules, flushes and never commits; a broken
rule raises :class:`OrderError` (a DomainError naming the form field) before anything is written, and an
order outside the user's scope raises NotFoundError. Other parts of procurement call :func:`create_order`
(joint purchases, specific orders under EU framework contracts) and :func:`mark_received_progress` (goods
receipts).

States::

    draft -> submitted -> approved -> sent -> confirmed -> partially received -> received -> closed
    submitted -> draft (returned by an approver, with a reason)
    any state before the first receipt -> cancelled (with a reason)

Money: unit prices are exact Decimals in the order currency (at most four decimals). The exchange rate (SEK
per unit) is fixed at the order date from the exchange rates table: the latest rate on or before that day.
Each line's SEK value is quantity × unit price × rate in öre, rounded half up to a whole öre **per line**;
the order's SEK value is the sum of its lines' (so it always equals what the lines on the PDF add up to).

Versions: version 1 is written when the order is created and kept in step with the draft until the order is
first sent; from then on it is frozen, and each amendment (quantity, price, dates, destinations, with a
reason) adds the next version. Each version's snapshot carries the approval it stands under; an amendment
that raises the value above the limit of the rule the approval was given under returns the order to
"submitted" for a new approval (orders/approval.py). Quantities never go below what has been received.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.access import can_see_organisation, has_permission, organisation_scope_filter
from app.auth.models import User
from app.auth.roles import Permission
from app.catalog.models import Product
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from app.numbering import next_number
from app.organisations.models import Organisation, OrganisationKind
from app.stock.models import LocationKind, StockLocation
from orders import approval
from orders.models import (
    DeliveryStatus,
    ExchangeRate,
    FrameworkContractor,
    GoodsReceipt,
    JointPurchase,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderVersion,
    ScheduledDelivery,
)
from suppliers import services as supplier_services
from suppliers.models import CURRENCIES, INCOTERMS, Offer, Supplier

ORDER_SERIES = "PO"
BASE_CURRENCY = "SEK"
PRICE_DECIMALS = 4
MAX_PRICE = Decimal("9999999999.9999")  # Numeric(14, 4)
RATE_DECIMALS = 6
MAX_RATE = Decimal("99999999.999999")  # Numeric(14, 6)
MAX_QUANTITY = 1_000_000_000
MAX_PLACE = 120
MAX_PAYMENT_TERMS = 200
MAX_REFERENCE = 120
MAX_TEXT = 4000

BUYING_KINDS = (OrganisationKind.AGENCY, OrganisationKind.REGION, OrganisationKind.MUNICIPALITY)
CANCELLABLE = frozenset(
    {OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.SENT, OrderStatus.CONFIRMED}
)
AMENDABLE = frozenset({OrderStatus.SENT, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_RECEIVED})
# States in which goods may arrive, and receipts move the order on.
RECEIVING = frozenset(
    {OrderStatus.SENT, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_RECEIVED, OrderStatus.RECEIVED}
)
OPEN_DELIVERY = (DeliveryStatus.OPEN.value, DeliveryStatus.PARTIALLY_RECEIVED.value)


class OrderError(DomainError):
    """A purchase order, or a step in its life, breaks a rule."""


@dataclass(frozen=True)
class OrderLineInput:
    """One order line as given: a catalogue product, a whole quantity of its unit of issue, the unit price."""

    product: Product
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class DeliveryInput:
    """A partial delivery of line ``line_number`` (1 for the first line given): when, how much, where to.

    ``destination`` is a national warehouse or an organisation's location
    (``app.stock.ledger.location_for_organisation``). In an amendment ``delivery_id`` names the scheduled
    delivery it changes; None adds a new one.
    """

    line_number: int
    due_on: date
    quantity: int
    destination: StockLocation
    delivery_id: int | None = None


# --- money -----------------------------------------------------------------------------------------------------


def sek_ore(amount: Decimal, rate: Decimal) -> int:
    """An amount in a currency as whole SEK öre at ``rate`` (SEK per unit), rounded half up."""
    return int((Decimal(amount) * Decimal(rate) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_amount(line: PurchaseOrderLine) -> Decimal:
    """A line's value in the order currency (exact)."""
    return Decimal(line.quantity) * Decimal(line.unit_price)


def line_value_ore(line: PurchaseOrderLine, rate: Decimal) -> int:
    return sek_ore(line_amount(line), rate)


def order_amount(order: PurchaseOrder) -> Decimal:
    """The order's value in its own currency (exact)."""
    return sum((line_amount(line) for line in order.lines), Decimal(0))


def order_value_ore(order: PurchaseOrder) -> int:
    """The order's value in whole SEK öre: the sum of its lines', each rounded half up to an öre."""
    return sum(line_value_ore(line, order.exchange_rate) for line in order.lines)


def format_amount(amount: Decimal | None, currency: str | None = None) -> str:
    """An amount in the reader's number format with two to four decimals and its currency: ``4,25 EUR``."""
    if amount is None:
        return "—"
    text = format_decimal(Decimal(amount), format="#,##0.00##")
    return f"{text} {currency}" if currency else text


format_sek = approval.format_sek


# --- exchange rates --------------------------------------------------------------------------------------------


def rate_on(session: Session, currency: str, day: date) -> Decimal:
    """SEK per one ``currency`` on ``day``: the latest recorded rate on or before it; 1 for SEK.

    Raises OrderError (field ``currency``) when the currency is unknown or no rate is recorded by that day.
    """
    if currency == BASE_CURRENCY:
        return Decimal(1)
    if currency not in CURRENCIES:
        raise OrderError(_("Choose a currency."), field="currency")
    rate = session.scalar(
        select(ExchangeRate.sek_per_unit)
        .where(ExchangeRate.currency == currency, ExchangeRate.valid_on <= day)
        .order_by(ExchangeRate.valid_on.desc())
        .limit(1)
    )
    if rate is None:
        raise OrderError(
            _(
                "No exchange rate for %(currency)s is recorded on or before %(day)s; a purchasing lead or the "
                "national coordinator adds it on the exchange rates page.",
                currency=currency,
                day=day.isoformat(),
            ),
            field="currency",
        )
    return Decimal(rate)


def record_exchange_rate(
    session: Session, user: User, *, currency: str, valid_on: date, sek_per_unit: Decimal
) -> ExchangeRate:
    """Record SEK per one ``currency`` from ``valid_on`` (Riksbanken's rate); a rate of the same day is replaced.

    Orders keep the rate they were placed with. Raises OrderError unless the user may manage exchange rates,
    the currency is a foreign one Samordna knows, and the rate is above 0 with at most six decimals.
    """
    _require(user, Permission.MANAGE_EXCHANGE_RATES)
    if currency not in CURRENCIES or currency == BASE_CURRENCY:
        raise OrderError(_("Choose a foreign currency."), field="currency")
    if valid_on is None:
        raise OrderError(_("Enter the day the rate is from."), field="valid_on")
    problem = _decimal_problem(sek_per_unit, RATE_DECIMALS, MAX_RATE)
    if problem:
        raise OrderError(problem, field="sek_per_unit")
    rate = session.scalar(
        select(ExchangeRate).where(ExchangeRate.currency == currency, ExchangeRate.valid_on == valid_on)
    )
    if rate is None:
        rate = ExchangeRate(currency=currency, valid_on=valid_on)
        session.add(rate)
    rate.sek_per_unit = Decimal(sek_per_unit)
    rate.created_by_id = user.id
    rate.created_at = utcnow()
    session.flush()
    return rate


# --- scope -----------------------------------------------------------------------------------------------------


def visible_buyers(user: User):
    """A subquery of the organisation ids whose orders ``user`` sees (own, county's or all)."""
    return select(Organisation.id).where(organisation_scope_filter(user))


def order_scope_clause(user: User):
    """A WHERE clause on PurchaseOrder: the orders ``user`` may see, by the buyer's organisation."""
    return PurchaseOrder.buyer_id.in_(visible_buyers(user))


def can_see_order(user: User, order: PurchaseOrder) -> bool:
    return can_see_organisation(user, order.buyer)


def get_order(session: Session, user: User, order_id: int) -> PurchaseOrder:
    """The order; NotFoundError (404) when there is none or it is outside the user's scope."""
    order = session.get(PurchaseOrder, order_id)
    if order is None or not can_see_order(user, order):
        raise NotFoundError(_("There is no such purchase order."))
    return order


def _require(user: User, permission: Permission) -> None:
    # The views check the permission too; this keeps the rule when another service, a CLI or a job calls.
    if not has_permission(user, permission):
        raise OrderError(_("Your role does not allow this."))


def _require_managing(user: User, order: PurchaseOrder) -> None:
    if not can_see_order(user, order):
        raise NotFoundError(_("There is no such purchase order."))
    _require(user, Permission.MANAGE_ORDERS)


def _status(order: PurchaseOrder) -> OrderStatus:
    return OrderStatus(order.status)


def _ensure_orderable(supplier: Supplier) -> None:
    """The supplier registry's refusal (with its reason) as an OrderError beside the supplier field."""
    try:
        supplier_services.ensure_orderable(supplier)
    except DomainError as error:
        raise OrderError(error.message, field="supplier_id") from None


def _expect(order: PurchaseOrder, allowed, message: str) -> None:
    if _status(order) not in allowed:
        raise OrderError(message)


# --- checking what is given ------------------------------------------------------------------------------------


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decimal_problem(value, decimals: int, maximum: Decimal) -> str | None:
    if value is None:
        return _("Enter an amount.")
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return _("Enter a number, e.g. 4.25.")
    if not value.is_finite() or value <= 0:
        return _("The amount must be above 0.")
    if value > maximum:
        return _("The amount is too large.")
    if value != value.quantize(Decimal(1).scaleb(-decimals)):
        return _("Give the amount with at most %(n)s decimals.", n=decimals)
    return None


def _clean(value: str | None) -> str | None:
    return " ".join((value or "").split()) or None


def _line_problem(number: int, line: OrderLineInput) -> str | None:
    if line.product is None:
        return _("Line %(n)s: choose a product from the catalogue.", n=number)
    if not _whole(line.quantity) or not 1 <= line.quantity <= MAX_QUANTITY:
        return _("Line %(n)s: the quantity is a whole number of units above 0.", n=number)
    problem = _decimal_problem(line.unit_price, PRICE_DECIMALS, MAX_PRICE)
    if problem:
        return _("Line %(n)s: %(problem)s", n=number, problem=problem)
    return None


def _check_lines(lines: Sequence[OrderLineInput]) -> None:
    if not lines:
        raise OrderError(_("Add at least one line."), field="lines")
    for number, line in enumerate(lines, start=1):
        problem = _line_problem(number, line)
        if problem:
            raise OrderError(problem, field="lines")
        if not line.product.active:
            raise OrderError(
                _("Line %(n)s: %(sku)s is no longer in the catalogue.", n=number, sku=line.product.sku),
                field="lines",
            )


def _check_destination(destination: StockLocation | None, row: int) -> None:
    if destination is None or destination.kind not in (LocationKind.WAREHOUSE, LocationKind.ORGANISATION):
        raise OrderError(
            _(
                "Delivery %(n)s: choose a national warehouse, a region or a municipality to deliver to.",
                n=row,
            ),
            field="deliveries",
        )
    if not destination.active:
        raise OrderError(
            _("Delivery %(n)s: %(place)s takes no deliveries.", n=row, place=destination.name),
            field="deliveries",
        )


def _check_schedule(deliveries: Sequence[DeliveryInput], quantities: Sequence[int], order_date: date) -> None:
    """Each delivery names a line, a day on or after the order date, a quantity and a destination; the
    deliveries of each line add up to its quantity."""
    scheduled: dict[int, int] = defaultdict(int)
    for row, delivery in enumerate(deliveries, start=1):
        if not _whole(delivery.line_number) or not 1 <= delivery.line_number <= len(quantities):
            raise OrderError(_("Delivery %(n)s: choose one of the order's lines.", n=row), field="deliveries")
        if delivery.due_on is None:
            raise OrderError(_("Delivery %(n)s: enter the delivery date.", n=row), field="deliveries")
        if delivery.due_on < order_date:
            raise OrderError(
                _("Delivery %(n)s: the delivery date is before the order date.", n=row), field="deliveries"
            )
        if not _whole(delivery.quantity) or not 1 <= delivery.quantity <= MAX_QUANTITY:
            raise OrderError(
                _("Delivery %(n)s: the quantity is a whole number of units above 0.", n=row),
                field="deliveries",
            )
        _check_destination(delivery.destination, row)
        scheduled[delivery.line_number] += delivery.quantity
    for number, quantity in enumerate(quantities, start=1):
        if scheduled[number] != quantity:
            raise OrderError(
                _(
                    "The deliveries of line %(n)s add up to %(scheduled)s, not the line's %(quantity)s.",
                    n=number,
                    scheduled=format_decimal(scheduled[number]),
                    quantity=format_decimal(quantity),
                ),
                field="deliveries",
            )


@dataclass
class _Terms:
    """What a draft holds, checked."""

    supplier: Supplier
    currency: str
    rate: Decimal
    order_date: date
    lines: list[OrderLineInput]
    deliveries: list[DeliveryInput]
    incoterm: str | None = None
    incoterm_place: str | None = None
    payment_terms: str | None = None
    notes: str | None = None


TERM_DEFAULTS = {"incoterm": None, "incoterm_place": None, "payment_terms": None, "notes": None}


def _checked_terms(
    session: Session,
    *,
    supplier: Supplier,
    currency: str,
    order_date: date,
    lines: Sequence[OrderLineInput],
    deliveries: Sequence[DeliveryInput],
    incoterm: str | None,
    incoterm_place: str | None,
    payment_terms: str | None,
    notes: str | None,
) -> _Terms:
    if supplier is None:
        raise OrderError(_("Choose the supplier."), field="supplier_id")
    _ensure_orderable(supplier)
    if order_date is None:
        raise OrderError(_("Enter the order date."), field="order_date")
    rate = rate_on(session, currency, order_date)
    incoterm = _clean(incoterm)
    incoterm_place = _clean(incoterm_place)
    if incoterm and incoterm not in INCOTERMS:
        raise OrderError(_("Choose one of the Incoterms 2020 rules."), field="incoterm")
    if incoterm and not incoterm_place:
        raise OrderError(
            _("Name the place the Incoterms rule refers to, e.g. FCA Shanghai or DAP Göteborg."),
            field="incoterm_place",
        )
    if incoterm_place and not incoterm:
        raise OrderError(_("Choose the Incoterms rule the place belongs to."), field="incoterm")
    if incoterm_place and len(incoterm_place) > MAX_PLACE:
        raise OrderError(_("At most %(n)s characters.", n=MAX_PLACE), field="incoterm_place")
    payment_terms = _clean(payment_terms)
    if payment_terms and len(payment_terms) > MAX_PAYMENT_TERMS:
        raise OrderError(_("At most %(n)s characters.", n=MAX_PAYMENT_TERMS), field="payment_terms")
    notes = (notes or "").strip() or None
    if notes and len(notes) > MAX_TEXT:
        raise OrderError(_("At most %(n)s characters.", n=MAX_TEXT), field="notes")
    lines = list(lines)
    deliveries = list(deliveries)
    _check_lines(lines)
    _check_schedule(deliveries, [line.quantity for line in lines], order_date)
    return _Terms(
        supplier=supplier,
        currency=currency,
        rate=rate,
        order_date=order_date,
        lines=lines,
        deliveries=deliveries,
        incoterm=incoterm,
        incoterm_place=incoterm_place,
        payment_terms=payment_terms,
        notes=notes,
    )


def _check_buyer(user: User, buyer: Organisation | None) -> None:
    if buyer is None or buyer.kind not in BUYING_KINDS:
        raise OrderError(
            _("Orders are placed by the national agency, a region or a municipality."), field="buyer_id"
        )
    if not can_see_organisation(user, buyer):
        raise OrderError(_("You can only place orders for your own organisation."), field="buyer_id")


def _check_links(
    buyer: Organisation,
    supplier: Supplier,
    order_date: date,
    joint_purchase: JointPurchase | None,
    offer: Offer | None,
    framework_contractor: FrameworkContractor | None,
) -> None:
    if offer is not None:
        if offer.supplier_id != supplier.id:
            raise OrderError(_("The offer is from another supplier."), field="offer_id")
        if offer.withdrawn_at is not None:
            raise OrderError(
                _("The offer was withdrawn: %(reason)s", reason=offer.withdrawn_reason or "—"),
                field="offer_id",
            )
        if not offer.is_current_on(order_date):
            raise OrderError(
                _(
                    "The offer is valid from %(start)s to %(end)s, not on the order date.",
                    start=offer.valid_from.isoformat(),
                    end=offer.valid_until.isoformat(),
                ),
                field="offer_id",
            )
    if framework_contractor is not None and framework_contractor.supplier_id != supplier.id:
        raise OrderError(_("The framework contractor is another supplier."), field="supplier_id")
    if joint_purchase is not None and joint_purchase.lead_buyer_id != buyer.id:
        raise OrderError(_("The order of a joint purchase is placed by its lead buyer."), field="buyer_id")


# --- snapshots -------------------------------------------------------------------------------------------------


def snapshot(order: PurchaseOrder, approval_given: dict | None = None) -> dict:
    """The order's terms as they stand, as plain JSON: what a version keeps readable."""
    lines = {line.id: line for line in order.lines}
    return {
        "number": order.number,
        "order_date": order.order_date.isoformat(),
        "supplier": {
            "id": order.supplier.id,
            "name": order.supplier.legal_name,
            "identifier": order.supplier.identifier,
        },
        "buyer": {"id": order.buyer.id, "name": order.buyer.name},
        "currency": order.currency,
        "exchange_rate": str(order.exchange_rate),
        "incoterm": order.incoterm,
        "incoterm_place": order.incoterm_place,
        "payment_terms": order.payment_terms,
        "notes": order.notes,
        "lines": [
            {
                "line_number": line.line_number,
                "product_id": line.product.id,
                "sku": line.product.sku,
                "name_sv": line.product.name_sv,
                "name_en": line.product.name_en,
                "unit_of_issue": line.product.unit_of_issue,
                "quantity": line.quantity,
                "unit_price": str(Decimal(line.unit_price)),
                "amount": str(line_amount(line)),
                "value_ore": line_value_ore(line, order.exchange_rate),
            }
            for line in order.lines
        ],
        "deliveries": [
            {
                "id": delivery.id,
                "line_number": (delivery.line or lines.get(delivery.line_id)).line_number,
                "due_on": delivery.due_on.isoformat(),
                "quantity": delivery.quantity,
                "destination_id": delivery.destination.id,
                "destination": delivery.destination.name,
            }
            for delivery in sorted(order.deliveries, key=lambda d: (d.due_on, d.id or 0))
        ],
        "amount": str(order_amount(order)),
        "value_ore": order_value_ore(order),
        "approval": approval_given,
    }


def _terms_of(data: dict) -> tuple:
    """What an amendment can change, from a snapshot, comparable with :func:`_proposed_terms`."""
    return (
        [(line["line_number"], line["quantity"], Decimal(line["unit_price"])) for line in data["lines"]],
        sorted(
            (d["line_number"], d["due_on"], d["quantity"], d["destination_id"]) for d in data["deliveries"]
        ),
    )


def _proposed_terms(lines: Sequence[OrderLineInput], deliveries: Sequence[DeliveryInput]) -> tuple:
    return (
        [(number, line.quantity, Decimal(line.unit_price)) for number, line in enumerate(lines, start=1)],
        sorted((d.line_number, d.due_on.isoformat(), d.quantity, d.destination.id) for d in deliveries),
    )


def current_version(order: PurchaseOrder) -> PurchaseOrderVersion | None:
    return next((version for version in order.versions if version.version == order.version), None)


def version_of(order: PurchaseOrder, number: int) -> PurchaseOrderVersion | None:
    return next((version for version in order.versions if version.version == number), None)


def approval_of(order: PurchaseOrder) -> dict | None:
    """The approval the order's current version stands under: by, by_id, at, value_ore; None when none."""
    version = current_version(order)
    return (version.snapshot or {}).get("approval") if version else None


def _write_version(
    session: Session, user: User, order: PurchaseOrder, *, reason: str | None, approval_given: dict | None
) -> PurchaseOrderVersion:
    session.flush()
    versions = order.versions  # loaded before the new one joins them, so it is not listed twice
    version = PurchaseOrderVersion(
        version=order.version,
        reason=reason,
        value_ore=order_value_ore(order),
        snapshot=snapshot(order, approval_given),
        created_by_id=user.id,
        created_at=utcnow(),
    )
    versions.insert(0, version)
    session.flush()
    return version


def _refresh_version(session: Session, user: User, order: PurchaseOrder, approval_given: dict | None) -> None:
    """Rewrite the current version's snapshot (a draft's version 1 follows the draft until it is sent)."""
    session.flush()
    version = current_version(order)
    if version is None:
        _write_version(session, user, order, reason=None, approval_given=approval_given)
        return
    version.snapshot = snapshot(order, approval_given)  # a new dict: JSON columns see only reassignment
    version.value_ore = order_value_ore(order)
    version.created_by_id = user.id
    version.created_at = utcnow()
    session.flush()


# --- drafting --------------------------------------------------------------------------------------------------


def _apply_terms(session: Session, order: PurchaseOrder, terms: _Terms) -> None:
    """Set a draft's terms, its lines and schedule replaced as a whole."""
    order.supplier = terms.supplier
    order.currency = terms.currency
    order.exchange_rate = terms.rate
    order.order_date = terms.order_date
    order.incoterm = terms.incoterm
    order.incoterm_place = terms.incoterm_place
    order.payment_terms = terms.payment_terms
    order.notes = terms.notes
    if order.lines or order.deliveries:
        order.deliveries.clear()
        order.lines.clear()
        session.flush()  # the old line numbers go before the new ones take them
    lines = [
        PurchaseOrderLine(
            line_number=number,
            product=line.product,
            quantity=line.quantity,
            unit_price=Decimal(line.unit_price),
        )
        for number, line in enumerate(terms.lines, start=1)
    ]
    order.lines.extend(lines)
    for delivery in terms.deliveries:
        order.deliveries.append(
            ScheduledDelivery(
                line=lines[delivery.line_number - 1],
                due_on=delivery.due_on,
                quantity=delivery.quantity,
                destination=delivery.destination,
                status=DeliveryStatus.OPEN.value,
            )
        )


def create_order(
    session: Session,
    user: User,
    *,
    supplier: Supplier,
    buyer: Organisation,
    currency: str,
    order_date: date,
    lines: list[OrderLineInput],
    deliveries: list[DeliveryInput],
    incoterm: str | None = None,
    incoterm_place: str | None = None,
    payment_terms: str | None = None,
    joint_purchase: JointPurchase | None = None,
    offer: Offer | None = None,
    framework_contractor: FrameworkContractor | None = None,
    notes: str | None = None,
) -> PurchaseOrder:
    """A draft purchase order numbered PO-<year of the order date>-NNNNN, with version 1 written. Flush only.

    ``user`` becomes the responsible officer. Raises OrderError (with the field) unless the user may manage
    orders for ``buyer`` (the agency, a region or a municipality in their scope), the supplier is approved
    (the reason otherwise), an exchange rate is recorded for the currency on or before the order date, every
    line has a product, a whole quantity above 0 and a price above 0 with at most four decimals, every delivery
    names a line, a day on or after the order date, a quantity and a warehouse or organisation, and each
    line's deliveries add up to its quantity. An offer must be the supplier's and current on the order date;
    a joint purchase's order is placed by its lead buyer; a framework contractor must be the supplier.
    """
    _require(user, Permission.MANAGE_ORDERS)
    _check_buyer(user, buyer)
    terms = _checked_terms(
        session,
        supplier=supplier,
        currency=currency,
        order_date=order_date,
        lines=lines,
        deliveries=deliveries,
        incoterm=incoterm,
        incoterm_place=incoterm_place,
        payment_terms=payment_terms,
        notes=notes,
    )
    _check_links(buyer, supplier, order_date, joint_purchase, offer, framework_contractor)
    order = PurchaseOrder(
        number=next_number(session, ORDER_SERIES, order_date.year),
        buyer=buyer,
        joint_purchase=joint_purchase,
        offer=offer,
        framework_contractor=framework_contractor,
        status=OrderStatus.DRAFT.value,
        version=1,
        responsible_id=user.id,
    )
    session.add(order)
    _apply_terms(session, order, terms)
    _write_version(session, user, order, reason=None, approval_given=None)
    return order


def update_draft(session: Session, user: User, order: PurchaseOrder, **terms) -> PurchaseOrder:
    """Change a draft that has never been sent. Flush only.

    ``terms`` are create_order's keywords except the buyer and the links (which stay): ``supplier``,
    ``currency``, ``order_date``, ``lines``, ``deliveries`` and optionally ``incoterm``, ``incoterm_place``,
    ``payment_terms``, ``notes``; the same checks apply. The exchange rate is fixed again for the (possibly new)
    order date and currency; version 1 follows. An order that was sent and came back (a returned amendment) is
    changed by :func:`amend_order` instead.
    """
    _require_managing(user, order)
    if _status(order) != OrderStatus.DRAFT or order.sent_at is not None:
        raise OrderError(
            _("Only a draft that has never been sent can be edited; amend a sent order instead.")
        )
    checked = _checked_terms(session, **{**TERM_DEFAULTS, **terms})
    _check_links(
        order.buyer,
        checked.supplier,
        checked.order_date,
        order.joint_purchase,
        order.offer,
        order.framework_contractor,
    )
    _check_framework_maximum(session, order, sum(line.quantity for line in checked.lines))
    _apply_terms(session, order, checked)
    _refresh_version(session, user, order, None)
    return order


def _check_framework_maximum(session: Session, order: PurchaseOrder, quantity: int) -> None:
    """A specific order may not grow beyond what its framework contractor has left."""
    # Imported here: the EU services place specific orders through this module.
    from orders.services_eu import ensure_amendment_within_framework

    ensure_amendment_within_framework(session, order, quantity)


# --- the life of an order --------------------------------------------------------------------------------------


def _order_link(order: PurchaseOrder) -> str:
    from app.notifications.services import page_link

    return page_link("orders.detail", order_id=order.id)


def _notify_approvers(session: Session, user: User, order: PurchaseOrder, value: int) -> int:
    from app.notifications.services import notify

    approvers = approval.approvers_to_tell(session, order, value)
    subject = _("Purchase order %(number)s awaits your approval", number=order.number)
    body = _(
        "%(who)s submitted purchase order %(number)s to %(supplier)s for %(buyer)s, worth %(value)s.",
        who=user.name,
        number=order.number,
        supplier=order.supplier.legal_name,
        buyer=order.buyer.name,
        value=format_sek(value),
    )
    for person in approvers:
        notify(session, person, subject, body, _order_link(order))
    return len(approvers)


def _notify_responsible(session: Session, user: User, order: PurchaseOrder, subject: str, body: str) -> None:
    from app.notifications.services import notify

    if order.responsible_id != user.id:
        notify(session, order.responsible, subject, body, _order_link(order))


def _mark_submitted(session: Session, user: User, order: PurchaseOrder) -> None:
    order.status = OrderStatus.SUBMITTED.value
    order.submitted_by_id = user.id
    order.submitted_at = utcnow()
    order.approved_by_id = None
    order.approved_at = None
    session.flush()
    _notify_approvers(session, user, order, order_value_ore(order))


def submit_order(session: Session, user: User, order: PurchaseOrder) -> PurchaseOrder:
    """Draft -> submitted for approval; everyone who may approve it is told. Flush only.

    Raises OrderError unless the order is a draft and its supplier is still approved.
    """
    _require_managing(user, order)
    _expect(order, {OrderStatus.DRAFT}, _("Only a draft can be submitted for approval."))
    _ensure_orderable(order.supplier)
    _mark_submitted(session, user, order)
    return order


def approve_order(session: Session, user: User, order: PurchaseOrder) -> PurchaseOrder:
    """Submitted -> approved; the responsible officer is told. Flush only.

    Raises OrderError unless the order awaits approval, the user's role may approve its value (approval rules)
    and the user is not its submitter, responsible officer or the author of its current version (four eyes),
    and the supplier is still approved.
    """
    if not can_see_order(user, order):
        raise NotFoundError(_("There is no such purchase order."))
    _expect(order, {OrderStatus.SUBMITTED}, _("Only a submitted order can be approved."))
    value = order_value_ore(order)
    refusal = approval.approval_refusal(session, user, order, value)
    if refusal:
        raise OrderError(refusal)
    _ensure_orderable(order.supplier)
    now = utcnow()
    order.status = OrderStatus.APPROVED.value
    order.approved_by_id = user.id
    order.approved_at = now
    given = {"by_id": user.id, "by": user.name, "at": now.isoformat(), "value_ore": value}
    version = current_version(order)
    if version is not None:
        version.snapshot = {**(version.snapshot or {}), "approval": given}
    session.flush()
    _notify_responsible(
        session,
        user,
        order,
        _("Purchase order %(number)s is approved", number=order.number),
        _(
            "%(who)s approved purchase order %(number)s (%(value)s); it can be sent to the supplier.",
            who=user.name,
            number=order.number,
            value=format_sek(value),
        ),
    )
    return order


def return_order(session: Session, user: User, order: PurchaseOrder, reason: str | None) -> PurchaseOrder:
    """Submitted -> draft, with the reason; the responsible officer is told. Flush only.

    Only someone who could approve the order may return it. Raises OrderError without a reason.
    """
    if not can_see_order(user, order):
        raise NotFoundError(_("There is no such purchase order."))
    _expect(order, {OrderStatus.SUBMITTED}, _("Only a submitted order can be returned."))
    refusal = approval.approval_refusal(session, user, order, order_value_ore(order))
    if refusal:
        raise OrderError(refusal)
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(_("Say why the order is returned."), field="reason")
    order.status = OrderStatus.DRAFT.value
    order.submitted_by_id = None
    order.submitted_at = None
    session.flush()
    _notify_responsible(
        session,
        user,
        order,
        _("Purchase order %(number)s was returned", number=order.number),
        _(
            "%(who)s returned purchase order %(number)s: %(reason)s",
            who=user.name,
            number=order.number,
            reason=reason,
        ),
    )
    return order


def send_order(session: Session, user: User, order: PurchaseOrder) -> PurchaseOrder:
    """Approved -> sent to the supplier. Flush only. An amended order that had received goods moves on to
    "partially received" (or "received") at once. Raises OrderError unless approved and the supplier still is."""
    _require_managing(user, order)
    _expect(order, {OrderStatus.APPROVED}, _("Only an approved order can be sent."))
    _ensure_orderable(order.supplier)
    order.status = OrderStatus.SENT.value
    order.sent_at = utcnow()
    session.flush()
    mark_received_progress(session, order)
    return order


def confirm_order(
    session: Session, user: User, order: PurchaseOrder, supplier_reference: str | None
) -> PurchaseOrder:
    """Sent -> confirmed by the supplier, with the supplier's reference (order confirmation number)."""
    _require_managing(user, order)
    _expect(order, {OrderStatus.SENT}, _("Only a sent order can be confirmed."))
    reference = _clean(supplier_reference)
    if not reference:
        raise OrderError(
            _("Enter the supplier's reference from its order confirmation."), field="supplier_reference"
        )
    if len(reference) > MAX_REFERENCE:
        raise OrderError(_("At most %(n)s characters.", n=MAX_REFERENCE), field="supplier_reference")
    order.supplier_reference = reference
    order.status = OrderStatus.CONFIRMED.value
    order.confirmed_at = utcnow()
    session.flush()
    return order


def close_order(session: Session, user: User, order: PurchaseOrder) -> PurchaseOrder:
    """Received -> closed: nothing more is expected. (An order that will not be delivered in full is first
    amended down to what was received.)"""
    _require_managing(user, order)
    _expect(order, {OrderStatus.RECEIVED}, _("Only a received order can be closed."))
    order.status = OrderStatus.CLOSED.value
    order.closed_at = utcnow()
    session.flush()
    return order


def cancel_order(session: Session, user: User, order: PurchaseOrder, reason: str | None) -> PurchaseOrder:
    """Cancel an order before any goods are received, with the reason; its deliveries are cancelled too.

    Raises OrderError once anything is received, for a closed or cancelled order, and without a reason.
    """
    _require_managing(user, order)
    _expect(order, CANCELLABLE, _("Only an order with nothing received can be cancelled."))
    if any(received_by_delivery(session, order).values()):
        raise OrderError(_("Goods have been received against the order; it can no longer be cancelled."))
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(_("Say why the order is cancelled."), field="reason")
    if len(reason) > MAX_TEXT:
        raise OrderError(_("At most %(n)s characters.", n=MAX_TEXT), field="reason")
    for delivery in order.deliveries:
        delivery.status = DeliveryStatus.CANCELLED.value
    order.status = OrderStatus.CANCELLED.value
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    session.flush()
    return order


# --- receipts --------------------------------------------------------------------------------------------------


def received_by_delivery(session: Session, order: PurchaseOrder) -> dict[int, int]:
    """Units received so far per scheduled delivery of ``order`` (all receipts, inspected or not)."""
    session.flush()
    rows = session.execute(
        select(GoodsReceipt.scheduled_delivery_id, func.sum(GoodsReceipt.quantity))
        .join(ScheduledDelivery, ScheduledDelivery.id == GoodsReceipt.scheduled_delivery_id)
        .where(ScheduledDelivery.order_id == order.id)
        .group_by(GoodsReceipt.scheduled_delivery_id)
    )
    return {delivery_id: int(total or 0) for delivery_id, total in rows}


def received_by_line(session: Session, order: PurchaseOrder) -> dict[int, int]:
    """Units received so far per order line id."""
    by_delivery = received_by_delivery(session, order)
    totals: dict[int, int] = defaultdict(int)
    for delivery in order.deliveries:
        totals[delivery.line_id] += by_delivery.get(delivery.id, 0)
    return dict(totals)


def mark_received_progress(session: Session, order: PurchaseOrder) -> PurchaseOrder:
    """Bring the order's deliveries and state up to date with its goods receipts. Flush only.

    The receiving helper calls this after every receipt. A delivery is received when its receipts reach its
    quantity, partially received (a backorder stays open) when some arrived, open when none did; cancelled
    deliveries stay cancelled. An order that was sent (or confirmed) becomes "partially received" with the
    first units and "received" when every delivery is; other states are left alone.
    """
    received = received_by_delivery(session, order)
    active = [d for d in order.deliveries if d.status != DeliveryStatus.CANCELLED]
    for delivery in active:
        got = received.get(delivery.id, 0)
        if got >= delivery.quantity:
            delivery.status = DeliveryStatus.RECEIVED.value
        elif got > 0:
            delivery.status = DeliveryStatus.PARTIALLY_RECEIVED.value
        else:
            delivery.status = DeliveryStatus.OPEN.value
    if _status(order) in RECEIVING and active:
        if all(d.status == DeliveryStatus.RECEIVED for d in active):
            order.status = OrderStatus.RECEIVED.value
        elif any(received.get(d.id, 0) for d in active):
            order.status = OrderStatus.PARTIALLY_RECEIVED.value
    session.flush()
    return order


def next_open_due(order: PurchaseOrder) -> date | None:
    """The due date of the order's next delivery still (partly) expected."""
    days = [d.due_on for d in order.deliveries if d.status in OPEN_DELIVERY]
    return min(days) if days else None


# --- amendments ------------------------------------------------------------------------------------------------


def can_amend(order: PurchaseOrder) -> bool:
    """Sent, confirmed or partially received; or a returned amendment (a draft that was sent before)."""
    return _status(order) in AMENDABLE or (_status(order) == OrderStatus.DRAFT and order.sent_at is not None)


def _check_amended_lines(
    order: PurchaseOrder, lines: Sequence[OrderLineInput], received: dict[int, int]
) -> None:
    if len(lines) != len(order.lines):
        raise OrderError(
            _("An amendment changes the order's lines; it does not add or remove them."), field="lines"
        )
    for number, (line, given) in enumerate(zip(order.lines, lines, strict=True), start=1):
        problem = _line_problem(number, given)
        if problem:
            raise OrderError(problem, field="lines")
        if given.product.id != line.product_id:
            raise OrderError(
                _("Line %(n)s: an amendment cannot change the product.", n=number), field="lines"
            )
        if given.quantity < received.get(line.id, 0):
            raise OrderError(
                _(
                    "Line %(n)s: %(received)s units are already received; the quantity cannot be lower.",
                    n=number,
                    received=format_decimal(received[line.id]),
                ),
                field="lines",
            )


def _check_amended_deliveries(
    order: PurchaseOrder, deliveries: Sequence[DeliveryInput], received: dict[int, int]
) -> None:
    existing = {delivery.id: delivery for delivery in order.deliveries}
    seen: set[int] = set()
    for row, given in enumerate(deliveries, start=1):
        if given.delivery_id is None:
            continue
        delivery = existing.get(given.delivery_id)
        if delivery is None or given.delivery_id in seen:
            raise OrderError(
                _("Delivery %(n)s is not one of the order's deliveries.", n=row), field="deliveries"
            )
        seen.add(given.delivery_id)
        got = received.get(delivery.id, 0)
        if got and given.quantity is not None and _whole(given.quantity) and given.quantity < got:
            raise OrderError(
                _(
                    "Delivery %(n)s: %(received)s units are already received; the quantity cannot be lower.",
                    n=row,
                    received=format_decimal(got),
                ),
                field="deliveries",
            )
        if got and (given.destination is None or given.destination.id != delivery.destination_id):
            raise OrderError(
                _("Delivery %(n)s: goods have arrived at its destination; it cannot change.", n=row),
                field="deliveries",
            )
        if got and given.line_number != delivery.line.line_number:
            raise OrderError(
                _("Delivery %(n)s: goods have arrived for its line; it cannot change.", n=row),
                field="deliveries",
            )
    for delivery in order.deliveries:
        if delivery.id not in seen and received.get(delivery.id, 0):
            raise OrderError(
                _(
                    "The delivery due %(day)s has received goods and cannot be removed.",
                    day=delivery.due_on.isoformat(),
                ),
                field="deliveries",
            )


def amend_order(
    session: Session,
    user: User,
    order: PurchaseOrder,
    *,
    reason: str | None,
    lines: list[OrderLineInput],
    deliveries: list[DeliveryInput],
) -> PurchaseOrderVersion:
    """Amend a sent, confirmed or partially received order (the supplier changed quantity, price or dates):
    the next version with the reason. Flush only.

    ``lines`` gives every line again in order (same products; new quantity and price); ``deliveries`` is the
    whole new schedule: existing deliveries by ``delivery_id``, new ones without; a delivery left out is
    removed. Raises OrderError without a reason, when nothing changes, when a quantity goes below what was
    received (per line and per delivery), when a delivery with received goods is removed or moved, or the
    schedule does not add up. When the new value is above the limit of the rule the order was approved
    under, the order goes back to "submitted" and the approvers are told.
    """
    _require_managing(user, order)
    if not can_amend(order):
        raise OrderError(_("Only a sent, confirmed or partially received order can be amended."))
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(_("Say why the order is amended."), field="reason")
    if len(reason) > MAX_TEXT:
        raise OrderError(_("At most %(n)s characters.", n=MAX_TEXT), field="reason")
    lines = list(lines)
    deliveries = list(deliveries)
    received_lines = received_by_line(session, order)
    received = received_by_delivery(session, order)
    _check_amended_lines(order, lines, received_lines)
    _check_amended_deliveries(order, deliveries, received)
    _check_schedule(deliveries, [line.quantity for line in lines], order.order_date)
    _check_framework_maximum(session, order, sum(line.quantity for line in lines))
    before = current_version(order)
    if before is not None and _proposed_terms(lines, deliveries) == _terms_of(before.snapshot):
        raise OrderError(_("The amendment changes nothing."))
    given_approval = approval_of(order)

    for line, given in zip(order.lines, lines, strict=True):
        line.quantity = given.quantity
        line.unit_price = Decimal(given.unit_price)
    existing = {delivery.id: delivery for delivery in order.deliveries}
    kept = {given.delivery_id for given in deliveries if given.delivery_id is not None}
    for delivery_id, delivery in existing.items():
        if delivery_id not in kept:
            order.deliveries.remove(delivery)
    for given in deliveries:
        line = order.lines[given.line_number - 1]
        delivery = existing.get(given.delivery_id) if given.delivery_id is not None else None
        if delivery is None:
            delivery = ScheduledDelivery(status=DeliveryStatus.OPEN.value)
            order.deliveries.append(delivery)
        delivery.line = line
        delivery.due_on = given.due_on
        delivery.quantity = given.quantity
        delivery.destination = given.destination
    session.flush()
    session.expire(order, ["deliveries"])  # read again in due-date order

    value = order_value_ore(order)
    needs_approval = _status(order) in AMENDABLE and _above_approved(session, given_approval, value)
    order.version += 1
    version = _write_version(
        session,
        user,
        order,
        reason=reason,
        approval_given=None if needs_approval or given_approval is None else given_approval,
    )
    if needs_approval:
        _mark_submitted(session, user, order)
    mark_received_progress(session, order)
    return version


def _above_approved(session: Session, given_approval: dict | None, value_ore: int) -> bool:
    """Whether ``value_ore`` is above the limit of the rule the order was approved under."""
    if not given_approval:
        return True
    limit = approval.approval_limit(approval.current_rules(session), int(given_approval["value_ore"]))
    return limit is not None and value_ore > limit
