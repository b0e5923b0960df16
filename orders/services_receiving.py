"""Goods receipt (godsmottagning) and quality inspection (kvalitetskontroll): the rules and use cases.

What arrives against a purchase order's scheduled delivery, or an incoming supply without an order (rescEU,
a donation), is received into QUARANTINE at the delivery's destination through the stock ledger, under a
receipt number GR-YYYY-NNNNN. Rules:

- Only a sent, confirmed or partially received order's open deliveries are received.
- Under-delivery leaves a backorder: the delivery stays partially received and shows what is outstanding.
- Over-delivery is counted over all receipts of a delivery: more than 5 % over the scheduled quantity is
  refused unless a national coordinator (Permission.ACCEPT_OVER_DELIVERY) accepts it, which is recorded.
- Expired goods, an expiry before the manufacture date, goods made after they arrived and a receipt dated in
  the future are refused.
- After each receipt the delivery's status follows what has arrived, and the orders helper's
  ``orders.services_orders.mark_received_progress(session, order)`` moves the order (partially received,
  received): this module relies on it.

Inspection decides the whole receipt: released (quarantine -> available, ready for allocation) or rejected
with a reason (quarantine -> rejected); partial decisions would split one lot's fate on paper while the
units sit together, so a mixed result is a rejection and a new receipt. Four eyes: whoever received the goods
cannot release them (anyone allowed to inspect may reject). Rejected units leave the ledger later, in a
separate step: returned to the supplier (or sender) or disposed of.

Every function takes the session and the acting user, flushes and never commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from app.auth.access import Scope, has_permission, scope_of
from app.auth.roles import Permission
from app.catalog.models import Product
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import ConflictError, DomainError, NotFoundError
from app.numbering import next_number
from app.stock import ledger
from app.stock.models import MovementKind, StockLocation, StockMovement, StockState
from app.stock.services import location_scope_filter
from orders.models import (
    DeliveryStatus,
    GoodsCondition,
    GoodsReceipt,
    IncomingSupply,
    InspectionOutcome,
    OrderStatus,
    PurchaseOrder,
    ScheduledDelivery,
)
from orders.services_incoming import visible_supplies
from orders.services_orders import mark_received_progress, order_scope_clause
from suppliers.models import Certificate, Supplier, SupplierProduct, VerificationStatus

RECEIPT_SERIES = "GR"
DOCUMENT_TYPE = "goods_receipt"  # StockMovement.document_type of every movement a receipt causes
OVER_DELIVERY_TOLERANCE_PERCENT = 5
RECEIVABLE_ORDER_STATES = (OrderStatus.SENT, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_RECEIVED)
OPEN_DELIVERY_STATES = (DeliveryStatus.OPEN, DeliveryStatus.PARTIALLY_RECEIVED)
MAX_TEXT = 4000


class ReceivingError(DomainError):
    """A goods receipt or an inspection broke a rule; ``field`` names the form field at fault."""


class SampleResult(LabelledEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_TESTED = "not_tested"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PASSED: _l("Passed"),
            cls.FAILED: _l("Failed"),
            cls.NOT_TESTED: _l("Not tested"),
        }

    @classmethod
    def of(cls, passed: bool | None) -> SampleResult:
        return cls.NOT_TESTED if passed is None else (cls.PASSED if passed else cls.FAILED)


class Decision(LabelledEnum):
    RELEASE = "release"
    REJECT = "reject"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.RELEASE: _l("Release: available for allocation"),
            cls.REJECT: _l("Reject: keep apart for return or disposal"),
        }


class Disposition(LabelledEnum):
    RETURN = "return"
    DISPOSE = "dispose"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.RETURN: _l("Returned to the supplier or sender"), cls.DISPOSE: _l("Disposed of")}


# --- who sees what ------------------------------------------------------------------------------------------


def _visible_locations(user) -> Select:
    return select(StockLocation.id).where(location_scope_filter(user))


def delivery_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on ScheduledDelivery: the agency sees every delivery; others those of orders they see
    (orders.services_orders' scope: by the buyer) and those going to a location in their scope."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    ordered = select(PurchaseOrder.id).where(order_scope_clause(user))
    return or_(
        ScheduledDelivery.order_id.in_(ordered),
        ScheduledDelivery.destination_id.in_(_visible_locations(user)),
    )


def supply_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on IncomingSupply: orders.services_incoming's scope (by the destination)."""
    return visible_supplies(user)


def receipt_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on GoodsReceipt: received at a location in scope or against a delivery in scope."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    deliveries = select(ScheduledDelivery.id).where(delivery_scope_filter(user))
    return or_(
        GoodsReceipt.location_id.in_(_visible_locations(user)),
        GoodsReceipt.scheduled_delivery_id.in_(deliveries),
    )


def _get(session: Session, model, row_id: int, scope: ColumnElement[bool], message: str):
    row = session.scalar(select(model).where(model.id == row_id, scope))
    if row is None:
        raise NotFoundError(message)
    return row


def get_delivery(session: Session, user, delivery_id: int) -> ScheduledDelivery:
    """The scheduled delivery, or NotFoundError when it is missing or outside the user's scope."""
    return _get(session, ScheduledDelivery, delivery_id, delivery_scope_filter(user), _("No such delivery."))


def get_incoming_supply(session: Session, user, supply_id: int) -> IncomingSupply:
    """The incoming supply, or NotFoundError when it is missing or outside the user's scope."""
    return _get(session, IncomingSupply, supply_id, supply_scope_filter(user), _("No such incoming supply."))


def get_receipt(session: Session, user, receipt_id: int) -> GoodsReceipt:
    """The goods receipt, or NotFoundError when it is missing or outside the user's scope."""
    return _get(session, GoodsReceipt, receipt_id, receipt_scope_filter(user), _("No such goods receipt."))


# --- quantities ---------------------------------------------------------------------------------------------


def over_delivery_limit(scheduled: int) -> int:
    """The most units that may arrive in all against ``scheduled`` without a national coordinator's
    acceptance: 5 % over, rounded down."""
    return scheduled * (100 + OVER_DELIVERY_TOLERANCE_PERCENT) // 100


def _received(session: Session, where) -> int:
    session.flush()
    return int(session.scalar(select(func.coalesce(func.sum(GoodsReceipt.quantity), 0)).where(where)))


def received_for_delivery(session: Session, delivery: ScheduledDelivery) -> int:
    return _received(session, GoodsReceipt.scheduled_delivery_id == delivery.id)


def received_for_supply(session: Session, supply: IncomingSupply) -> int:
    return _received(session, GoodsReceipt.incoming_supply_id == supply.id)


def status_after(scheduled: int, received: int) -> DeliveryStatus:
    """A delivery's status from what has arrived in all: nothing, part of it (a backorder), or all."""
    if received <= 0:
        return DeliveryStatus.OPEN
    return DeliveryStatus.RECEIVED if received >= scheduled else DeliveryStatus.PARTIALLY_RECEIVED


def receivable_problem(delivery: ScheduledDelivery) -> str | None:
    """Why the delivery cannot be received now, or None when it can."""
    problem = _supply_state_problem(delivery.status)
    order = delivery.order
    if problem is None and order.status not in RECEIVABLE_ORDER_STATES:
        return _(
            "Order %(number)s is %(status)s: only the deliveries of a sent or confirmed order are received.",
            number=order.number,
            status=OrderStatus(order.status).label.lower(),
        )
    return problem


def supply_receivable_problem(supply: IncomingSupply) -> str | None:
    return _supply_state_problem(supply.status)


def _supply_state_problem(status: str) -> str | None:
    if status == DeliveryStatus.RECEIVED:
        return _("This delivery has been received in full.")
    if status == DeliveryStatus.CANCELLED:
        return _("This delivery is cancelled.")
    return None


# --- receiving ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptData:
    """What the receiving officer reads off the delivery and its packaging."""

    quantity: int
    lot_number: str
    received_on: date
    expiry_on: date | None = None
    manufactured_on: date | None = None
    condition: str = GoodsCondition.GOOD.value
    notes: str | None = None
    accept_over_delivery: bool = False


def _when(day: date) -> str:
    return format_date(day, "medium")


def _check_receipt(data: ReceiptData, today: date) -> None:
    if isinstance(data.quantity, bool) or not isinstance(data.quantity, int) or data.quantity <= 0:
        raise ReceivingError(_("Enter the quantity received, at least 1."), field="quantity")
    if data.condition not in {c.value for c in GoodsCondition}:
        raise ReceivingError(_("Choose the condition of the goods."), field="condition")
    if data.received_on > today:
        raise ReceivingError(_("The day of receipt cannot be in the future."), field="received_on")
    if data.expiry_on and data.manufactured_on and data.expiry_on < data.manufactured_on:
        raise ReceivingError(
            _(
                "The expiry date %(expiry)s is before the manufacture date %(made)s: check the marking on the "
                "packaging.",
                expiry=_when(data.expiry_on),
                made=_when(data.manufactured_on),
            ),
            field="expiry_on",
        )
    if data.manufactured_on and data.manufactured_on > data.received_on:
        raise ReceivingError(
            _("The manufacture date is after the day of receipt: check the marking on the packaging."),
            field="manufactured_on",
        )
    if data.expiry_on and data.expiry_on < data.received_on:
        raise ReceivingError(
            _(
                "These goods expired on %(expiry)s: expired goods are not received. Refuse them and tell the "
                "supplier.",
                expiry=_when(data.expiry_on),
            ),
            field="expiry_on",
        )
    if data.notes and len(data.notes) > MAX_TEXT:
        raise ReceivingError(_("At most %(n)s characters.", n=MAX_TEXT), field="notes")


def _over_delivery_acceptance(user, data: ReceiptData, *, scheduled: int, already: int):
    """The user accepting an over-delivery (to record), None when the quantity is within 5 %; raises when it
    is over and not accepted by someone allowed to."""
    total = already + data.quantity
    limit = over_delivery_limit(scheduled)
    if total <= limit:
        return None
    if not data.accept_over_delivery:
        raise ReceivingError(
            _(
                "%(total)s units received in all against %(scheduled)s scheduled is more than %(percent)s %% "
                "over. Receive at most %(left)s now, or have a national coordinator accept the over-delivery.",
                total=total,
                scheduled=scheduled,
                percent=OVER_DELIVERY_TOLERANCE_PERCENT,
                left=max(limit - already, 0),
            ),
            field="quantity",
        )
    if not has_permission(user, Permission.ACCEPT_OVER_DELIVERY):
        raise ReceivingError(
            _("Only a national coordinator can accept an over-delivery."), field="accept_over_delivery"
        )
    return user


def _receive(
    session: Session,
    user,
    data: ReceiptData,
    *,
    product: Product,
    location: StockLocation,
    supplier_id: int | None,
    scheduled: int,
    already: int,
    source: dict,
    today: date,
) -> GoodsReceipt:
    _check_receipt(data, today)
    accepted_by = _over_delivery_acceptance(user, data, scheduled=scheduled, already=already)
    lot = ledger.lot_for(
        session,
        product,
        data.lot_number,
        expiry_on=data.expiry_on,
        manufactured_on=data.manufactured_on,
        supplier_id=supplier_id,
    )
    receipt = GoodsReceipt(
        # Numbered last of the checks: the sequence row stays locked until the transaction ends.
        number=next_number(session, RECEIPT_SERIES, data.received_on.year),
        product_id=product.id,
        location_id=location.id,
        lot=lot,
        quantity=data.quantity,
        received_on=data.received_on,
        condition=data.condition,
        notes=(data.notes or "").strip() or None,
        over_delivery_accepted_by_id=accepted_by.id if accepted_by is not None else None,
        received_by_id=user.id,
        outcome=InspectionOutcome.PENDING.value,
        **source,
    )
    session.add(receipt)
    session.flush()
    ledger.receive(
        session,
        user,
        location=location,
        product=product,
        quantity=data.quantity,
        lot=lot,
        state=StockState.QUARANTINE,
        document=document_of(receipt),
    )
    return receipt


def document_of(receipt: GoodsReceipt) -> ledger.DocumentRef:
    return ledger.DocumentRef(DOCUMENT_TYPE, receipt.id, receipt.number)


def receive_delivery(
    session: Session, user, delivery: ScheduledDelivery, data: ReceiptData, *, today: date
) -> GoodsReceipt:
    """Receive goods against a scheduled delivery into quarantine at its destination. Flush only.

    The order's row is locked first, so receipts at the same moment against it wait for each other: each
    counts the others in the over-delivery check, and the order's progress is worked out from all of them.
    Raises ReceivingError beside the field at fault (see the module's rules), StockError from the ledger
    (a lot known with another expiry date, a closed location).
    """
    order = delivery.order
    session.refresh(order, with_for_update=True)
    session.refresh(delivery)
    problem = receivable_problem(delivery)
    if problem:
        raise ReceivingError(problem)
    already = received_for_delivery(session, delivery)
    receipt = _receive(
        session,
        user,
        data,
        product=delivery.line.product,
        location=delivery.destination,
        supplier_id=order.supplier_id,
        scheduled=delivery.quantity,
        already=already,
        source={"scheduled_delivery": delivery},
        today=today,
    )
    delivery.status = status_after(delivery.quantity, already + receipt.quantity).value
    session.flush()
    mark_received_progress(session, order)
    return receipt


def receive_supply(session: Session, user, supply: IncomingSupply, data: ReceiptData, *, today: date) -> GoodsReceipt:
    """Receive a rescEU allocation or a donation into quarantine at its destination; the same rules as a
    delivery against an order (its expected quantity is the scheduled one). Flush only."""
    session.refresh(supply, with_for_update=True)
    problem = supply_receivable_problem(supply)
    if problem:
        raise ReceivingError(problem)
    already = received_for_supply(session, supply)
    receipt = _receive(
        session,
        user,
        data,
        product=supply.product,
        location=supply.destination,
        supplier_id=None,
        scheduled=supply.quantity,
        already=already,
        source={"incoming_supply": supply},
        today=today,
    )
    supply.status = status_after(supply.quantity, already + receipt.quantity).value
    session.flush()
    return receipt


# --- what is expected ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedDelivery:
    """One open scheduled delivery or incoming supply, with what has arrived of it so far."""

    due_on: date
    product: Product
    quantity: int
    received: int
    destination: StockLocation
    delivery: ScheduledDelivery | None = None
    supply: IncomingSupply | None = None

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.received, 0)

    def is_overdue(self, today: date) -> bool:
        return self.due_on < today


def _received_by(session: Session, column, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(column, func.sum(GoodsReceipt.quantity)).where(column.in_(ids)).group_by(column)
    )
    return {row_id: int(quantity) for row_id, quantity in rows}


def expected_deliveries(session: Session, user) -> list[ExpectedDelivery]:
    """Open scheduled deliveries of sent or confirmed orders and open incoming supplies in the user's scope,
    earliest due first, so the overdue ones head the list."""
    deliveries = session.scalars(
        select(ScheduledDelivery)
        .join(ScheduledDelivery.order)
        .where(
            ScheduledDelivery.status.in_([s.value for s in OPEN_DELIVERY_STATES]),
            PurchaseOrder.status.in_([s.value for s in RECEIVABLE_ORDER_STATES]),
            delivery_scope_filter(user),
        )
        .options(
            selectinload(ScheduledDelivery.order).selectinload(PurchaseOrder.supplier),
            selectinload(ScheduledDelivery.line),
            selectinload(ScheduledDelivery.destination),
        )
    ).all()
    supplies = session.scalars(
        select(IncomingSupply)
        .where(IncomingSupply.status.in_([s.value for s in OPEN_DELIVERY_STATES]), supply_scope_filter(user))
        .options(selectinload(IncomingSupply.product), selectinload(IncomingSupply.destination))
    ).all()
    by_delivery = _received_by(session, GoodsReceipt.scheduled_delivery_id, [d.id for d in deliveries])
    by_supply = _received_by(session, GoodsReceipt.incoming_supply_id, [s.id for s in supplies])
    items = [
        ExpectedDelivery(d.due_on, d.line.product, d.quantity, by_delivery.get(d.id, 0), d.destination, delivery=d)
        for d in deliveries
    ] + [
        ExpectedDelivery(s.expected_on, s.product, s.quantity, by_supply.get(s.id, 0), s.destination, supply=s)
        for s in supplies
    ]
    return sorted(
        items,
        key=lambda item: (item.due_on, item.delivery is None, (item.delivery or item.supply).id),
    )


# --- about a receipt ----------------------------------------------------------------------------------------


def supplier_of(receipt: GoodsReceipt) -> Supplier | None:
    """The supplier of an order's delivery; None for a rescEU allocation or a donation."""
    delivery = receipt.scheduled_delivery
    return delivery.order.supplier if delivery is not None else None


def certificates_for(session: Session, receipt: GoodsReceipt) -> list[Certificate]:
    """The certificates of the supplier's models of the received product, valid and verified ones first."""
    supplier = supplier_of(receipt)
    if supplier is None:
        return []
    certificates = session.scalars(
        select(Certificate)
        .join(Certificate.supplier_product)
        .where(SupplierProduct.supplier_id == supplier.id, SupplierProduct.product_id == receipt.product_id)
        .options(selectinload(Certificate.supplier_product))
        .order_by(SupplierProduct.model_name, Certificate.id)
    ).all()
    day = receipt.received_on
    return sorted(certificates, key=lambda c: not is_usable_certificate(c, day))


def is_usable_certificate(certificate: Certificate, day: date) -> bool:
    """Verified with its issuer and valid on ``day``."""
    return certificate.verification_status == VerificationStatus.VERIFIED and certificate.is_valid_on(day)


def certificate_warning(receipt: GoodsReceipt, certificates: list[Certificate]) -> str | None:
    """What the inspector should know before relying on the certificates, or None when one is usable."""
    if any(is_usable_certificate(c, receipt.received_on) for c in certificates):
        return None
    if receipt.incoming_supply_id is not None:
        return _(
            "Goods from rescEU or a donation have no supplier certificates in Samordna: check the documents "
            "that came with them."
        )
    if not certificates:
        return _(
            "The supplier has no certificate registered for this product: ask for the EU type-examination "
            "certificate and the declaration of conformity before releasing."
        )
    return _(
        "None of the supplier's certificates for this product is verified and valid on the day of receipt: "
        "verify the certificate with its issuer before releasing."
    )


def settled_quantity(session: Session, receipt: GoodsReceipt) -> int:
    """Units of a rejected receipt already returned or disposed of."""
    session.flush()
    return int(
        session.scalar(
            select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
                StockMovement.document_type == DOCUMENT_TYPE,
                StockMovement.document_id == receipt.id,
                StockMovement.kind.in_([MovementKind.RETURN_TO_SUPPLIER.value, MovementKind.DISPOSAL.value]),
            )
        )
    )


def rejected_remaining(session: Session, receipt: GoodsReceipt) -> int:
    """Units of a rejected receipt still held apart, awaiting return or disposal (0 unless rejected)."""
    if receipt.outcome != InspectionOutcome.REJECTED:
        return 0
    return max(receipt.quantity - settled_quantity(session, receipt), 0)


def receipt_movements(session: Session, receipt: GoodsReceipt) -> list[StockMovement]:
    return ledger.movements(session, document=document_of(receipt))


# --- inspection ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionData:
    decision: str
    documents_checked: bool
    sample_result: str
    certificate_id: int | None = None
    notes: str | None = None
    rejection_reason: str | None = None


def _lock_pending(session: Session, receipt: GoodsReceipt) -> None:
    session.refresh(receipt, with_for_update=True)
    if receipt.outcome != InspectionOutcome.PENDING:
        raise ConflictError(
            _("Receipt %(number)s has already been inspected.", number=receipt.number), field="decision"
        )


def _chosen_certificate(session: Session, receipt: GoodsReceipt, certificate_id: int | None) -> Certificate | None:
    if certificate_id is None:
        return None
    certificate = next((c for c in certificates_for(session, receipt) if c.id == certificate_id), None)
    if certificate is None:
        raise ReceivingError(
            _("Choose one of the supplier's certificates for this product."), field="certificate_id"
        )
    return certificate


def inspect(session: Session, user, receipt: GoodsReceipt, data: InspectionData) -> GoodsReceipt:
    """Record the inspection of a receipt in quarantine and release or reject all of it. Flush only.

    Release needs the documents checked, a sample test that did not fail, a certificate that is not rejected
    as invalid (if one is chosen) and an inspector other than the receiver; it moves the units to available
    stock. Rejection needs a reason and moves them to rejected stock. Raises ReceivingError beside the field
    at fault, ConflictError when the receipt was inspected already, InsufficientStock when the quarantined
    units are no longer at the location.
    """
    _lock_pending(session, receipt)
    try:
        decision = Decision(data.decision)
    except ValueError:
        raise ReceivingError(_("Choose to release or to reject the goods."), field="decision") from None
    try:
        sample = SampleResult(data.sample_result)
    except ValueError:
        raise ReceivingError(_("Choose the result of the sample test."), field="sample_result") from None
    certificate = _chosen_certificate(session, receipt, data.certificate_id)
    notes = (data.notes or "").strip() or None
    reason = (data.rejection_reason or "").strip() or None
    for text, field in ((notes, "notes"), (reason, "rejection_reason")):
        if text and len(text) > MAX_TEXT:
            raise ReceivingError(_("At most %(n)s characters.", n=MAX_TEXT), field=field)
    location, product, lot = receipt.location, receipt.product, receipt.lot
    if decision is Decision.RELEASE:
        if receipt.received_by_id == user.id:
            raise ReceivingError(
                _("You received these goods: someone else must inspect and release them (four eyes)."),
                field="decision",
            )
        if not data.documents_checked:
            raise ReceivingError(
                _("Check the documents and the marking against the certificate before releasing."),
                field="documents_checked",
            )
        if sample is SampleResult.FAILED:
            raise ReceivingError(
                _("Goods that failed the sample test cannot be released: reject them."), field="sample_result"
            )
        if certificate is not None and certificate.verification_status == VerificationStatus.REJECTED:
            raise ReceivingError(
                _("That certificate is rejected as invalid: the goods cannot be released against it."),
                field="certificate_id",
            )
        ledger.release(session, user, location=location, product=product, quantity=receipt.quantity, lot=lot,
                       document=document_of(receipt))
        receipt.outcome = InspectionOutcome.RELEASED.value
        reason = None
    else:
        if reason is None:
            raise ReceivingError(_("Say why the goods are rejected."), field="rejection_reason")
        ledger.reject(session, user, location=location, product=product, quantity=receipt.quantity,
                      reason=reason, lot=lot, from_state=StockState.QUARANTINE, document=document_of(receipt))
        receipt.outcome = InspectionOutcome.REJECTED.value
    receipt.documents_checked = bool(data.documents_checked)
    receipt.certificate_id = certificate.id if certificate is not None else None
    receipt.sample_test_passed = None if sample is SampleResult.NOT_TESTED else sample is SampleResult.PASSED
    receipt.inspection_notes = notes
    receipt.rejection_reason = reason
    receipt.inspected_by_id = user.id
    receipt.inspected_at = utcnow()
    session.flush()
    return receipt


def settle_rejected(session: Session, user, receipt: GoodsReceipt, *, how: str, note: str | None) -> StockMovement:
    """Return the rejected units still held to the supplier (or sender), or dispose of them: out of the ledger.
    Flush only. Raises ReceivingError when the receipt is not rejected or nothing is left to settle."""
    session.refresh(receipt, with_for_update=True)
    try:
        disposition = Disposition(how)
    except ValueError:
        raise ReceivingError(_("Choose what happened to the goods."), field="how") from None
    if receipt.outcome != InspectionOutcome.REJECTED:
        raise ReceivingError(_("Only rejected goods are returned or disposed of here."), field="how")
    remaining = rejected_remaining(session, receipt)
    if remaining == 0:
        raise ConflictError(_("These goods have already been returned or disposed of."), field="how")
    note = (note or "").strip() or None
    if note and len(note) > MAX_TEXT:
        raise ReceivingError(_("At most %(n)s characters.", n=MAX_TEXT), field="note")
    operation = ledger.return_to_supplier if disposition is Disposition.RETURN else ledger.dispose
    return operation(session, user, location=receipt.location, product=receipt.product, quantity=remaining,
                     lot=receipt.lot, from_state=StockState.REJECTED, reason=note, document=document_of(receipt))

