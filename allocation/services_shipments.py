"""Shipments (leveranser) and proof of delivery (kvittens): planned from an allocation decision or a transfer,
dispatched, delivered, confirmed by the recipient; discrepancies followed up; unconfirmed ones reminded.

Services flush only; the caller commits once (the view, the job runner) or rolls back on a DomainError.

* :func:`plan_shipments` (called by the rounds helper when a round is decided) makes one planned shipment per
  recipient of the decision. Its lines are lots of the stock the decision reserved: the reservation movements
  of the decision's document (``allocation_decision``, the round's id) say which lots and how many; they are
  handed out first expiry first out, recipient by recipient in the decision's line order (so the lots are
  exactly the ones reserved, never another decision's). A reserved lot expiring today or earlier is refused.
  The shipment goes to the recipient's own stock location; in a round to the county boards the recipient is
  the board, so its location.
* :func:`create_transfer_shipment` (called by the redistribution helper) plans a transfer's shipment from the
  giver's location to the receiver's and reserves the giver's stock for it itself (FEFO, lots expiring after
  today), under the shipment's own document (``shipment``).
* :func:`dispatch` ships each line from reserved stock to transit (carrier, tracking reference);
  :func:`mark_delivered` records the carrier's word that it arrived (optional); :func:`confirm` is the
  recipient's receipt per line (accepted to available, rejected to rejected, missing lost) and opens a
  :class:`DeliveryFollowUp` on any discrepancy; :func:`cancel` gives a planned shipment's reservation back.
* Who: the sending organisation (the agency for national rounds, a county board for its second-level rounds,
  the giver of a transfer) dispatches, marks delivered and cancels, by users with DISPATCH_SHIPMENTS; the
  receiving organisation's users with CONFIRM_DELIVERIES confirm. Follow-ups are the national coordinator's,
  or the county coordinator's for a county board's second-level round or a county's transfer. Seeing: national
  scope all; a county board its county's (received or sent); a region or municipality its own (received, or
  sent as the giver of a transfer); anything else answers 404.
"""
from __future__ import annotations

import importlib.util
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from allocation.models_distribution import (
    AllocationLine,
    AllocationRound,
    DeliveryFollowUp,
    DiscrepancyReason,
    FollowUpStatus,
    RoundStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    Transfer,
)
from app.auth.access import Scope, has_permission, scope_of
from app.auth.models import User, UserRole
from app.auth.roles import ROLE_PERMISSIONS, Permission, Role
from app.db import utcnow
from app.errors import ConflictError, DomainError, NotFoundError
from app.notifications.services import in_language_of, notify, page_link
from app.numbering import next_number
from app.organisations.models import Organisation, OrganisationKind
from app.stock import ledger
from app.stock.models import Lot, MovementKind, StockState
from app.timeutil import local_today

SHIPMENT_SERIES = "LS"  # LS-2026-00042
DOCUMENT_TYPE = "shipment"
DECISION_DOCUMENT = "allocation_decision"  # the rounds helper reserves a decision's stock under this type
CONFIRM_WITHIN = timedelta(days=3)
# Nobody may mark a shipment delivered: then it counts as arrived this long after dispatch.
ASSUMED_TRANSIT = timedelta(days=2)
MAX_NAME = 160
MAX_CARRIER = 120
MAX_TEXT = 4000
OPEN_STATES = (ShipmentStatus.DISPATCHED.value, ShipmentStatus.DELIVERED.value)  # on the way, to be confirmed


class ShipmentError(DomainError):
    """A shipment step that breaks a rule; ``field`` names the form field. ``errors`` lists several at once
    (a confirmation's lines), each with its own field."""

    def __init__(self, message: str, *, field: str | None = None, errors: Sequence[DomainError] = ()):
        super().__init__(message, field=field)
        self.errors = list(errors)


def document_of(shipment: Shipment) -> ledger.DocumentRef:
    return ledger.DocumentRef(DOCUMENT_TYPE, shipment.id, shipment.number)


# --- who ---------------------------------------------------------------------------------------------------


def sender_of(shipment: Shipment) -> Organisation:
    """The organisation sending: the one that decided the round, or the giver of the transfer."""
    if shipment.round is not None:
        return shipment.round.decided_by_organisation
    return shipment.transfer.source


def origin_reference(shipment: Shipment) -> str:
    """What the shipment carries out: the decision number, or the redistribution proposal's reference."""
    if shipment.round is not None:
        return shipment.round.number or ""
    return shipment.transfer.proposal.reference


def coordinating_county(shipment: Shipment) -> str | None:
    """The county whose coordinator follows the shipment up (a county board's second-level round, a county's
    transfer), or None for the national coordinator."""
    if shipment.round is not None:
        sender = shipment.round.decided_by_organisation
        return sender.county_code if sender.kind == OrganisationKind.COUNTY_BOARD.value else None
    proposal = shipment.transfer.proposal
    return None if proposal.is_national_decision else (proposal.county_code or shipment.transfer.source.county_code)


def visibility_clause(user) -> ColumnElement[bool]:
    """A WHERE clause on Shipment: the shipments ``user`` may see (see the module docstring)."""
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    organisation = user.organisation
    if scope is Scope.COUNTY:
        county = organisation.county_code
        if county is None:
            return false()
        return or_(
            Shipment.recipient.has(Organisation.county_code == county),
            Shipment.transfer.has(Transfer.source.has(Organisation.county_code == county)),
            Shipment.round.has(AllocationRound.decided_by_organisation_id == organisation.id),
        )
    return or_(
        Shipment.recipient_id == organisation.id,
        Shipment.transfer.has(Transfer.source_id == organisation.id),
    )


def get_shipment(session: Session, user, shipment_id: int) -> Shipment:
    """The shipment if ``user`` may see it. Raises NotFoundError otherwise (and for no such shipment)."""
    found = session.scalar(select(Shipment).where(Shipment.id == shipment_id, visibility_clause(user)))
    if found is None:
        raise NotFoundError(_("No such shipment."))
    return found


def get_follow_up(session: Session, user, follow_up_id: int) -> DeliveryFollowUp:
    """The follow-up if ``user`` may see its shipment. Raises NotFoundError otherwise."""
    found = session.scalar(
        select(DeliveryFollowUp).join(DeliveryFollowUp.shipment)
        .where(DeliveryFollowUp.id == follow_up_id, visibility_clause(user))
    )
    if found is None:
        raise NotFoundError(_("No such follow-up."))
    return found


def may_dispatch(user, shipment: Shipment) -> bool:
    """Dispatch, mark delivered, cancel: a user with DISPATCH_SHIPMENTS at the sending organisation."""
    return has_permission(user, Permission.DISPATCH_SHIPMENTS) and user.organisation_id == sender_of(shipment).id


def may_confirm(user, shipment: Shipment) -> bool:
    return has_permission(user, Permission.CONFIRM_DELIVERIES) and user.organisation_id == shipment.recipient_id


def may_resolve(user, follow_up: DeliveryFollowUp) -> bool:
    """The national coordinator resolves national follow-ups; a county coordinator its county's."""
    if not has_permission(user, Permission.MANAGE_ALLOCATION):
        return False
    county = coordinating_county(follow_up.shipment)
    organisation = user.organisation
    if county is None:
        return organisation.kind == OrganisationKind.AGENCY.value
    return organisation.kind == OrganisationKind.COUNTY_BOARD.value and organisation.county_code == county


def _ensure_sender(user, shipment: Shipment) -> None:
    if not may_dispatch(user, shipment):
        raise ShipmentError(_("Only %(organisation)s, which sends this shipment, dispatches it.",
                              organisation=sender_of(shipment).name))


def _status_label(shipment: Shipment) -> str:
    return ShipmentStatus(shipment.status).label.lower()


def _ensure_status(shipment: Shipment, allowed: Iterable[str], message: str) -> None:
    if shipment.status not in tuple(allowed):
        raise ShipmentError(message % {"number": shipment.number, "status": _status_label(shipment)})


def _users_holding(session: Session, permission: Permission, organisation_ids: Iterable[int],
                   roles: Iterable[Role] | None = None) -> list[User]:
    """Active users at the organisations holding a role that grants ``permission`` (of ``roles`` if given)."""
    ids = list(organisation_ids)
    granting = [role for role in (roles or Role) if permission in ROLE_PERMISSIONS[role]]
    if not ids or not granting:
        return []
    return list(
        session.scalars(
            select(User).join(UserRole)
            .where(User.organisation_id.in_(ids), User.active.is_(True),
                   UserRole.role.in_([role.value for role in granting]))
            .distinct().order_by(User.id)
        )
    )


def confirming_users(session: Session, organisation: Organisation) -> list[User]:
    """Who confirms what ``organisation`` receives: its recipients (its county coordinators for a board)."""
    return _users_holding(session, Permission.CONFIRM_DELIVERIES, [organisation.id])


def tell(session: Session, people: Sequence[User], link: str, message: Callable[[], tuple[str, str]]) -> int:
    """Notify each person; ``message()`` gives the (subject, body), written in that person's language."""
    for person in people:
        with in_language_of(person):
            subject, body = message()
        notify(session, person, subject, body, link)
    return len(people)


def coordinators_for(session: Session, county_code: str | None) -> list[User]:
    """The national coordinators (``county_code`` None) or the county's coordinators."""
    if county_code is None:
        kind, role, where = OrganisationKind.AGENCY, Role.NATIONAL_COORDINATOR, true()
    else:
        kind, role, where = OrganisationKind.COUNTY_BOARD, Role.COUNTY_COORDINATOR, Organisation.county_code == county_code
    boards = session.scalars(select(Organisation.id).where(Organisation.kind == kind.value, where)).all()
    return _users_holding(session, Permission.MANAGE_ALLOCATION, boards, [role])


# --- planning ----------------------------------------------------------------------------------------------


def default_address(organisation: Organisation) -> str:
    """Where a shipment goes unless the dispatcher says otherwise: the organisation at its seat."""
    parts = [organisation.name]
    if organisation.seat and organisation.seat != organisation.name:
        parts.append(organisation.seat)
    if organisation.county is not None:
        parts.append(organisation.county.name)
    return "\n".join(parts)


def _fefo_key(item: ledger.LotQuantity):
    lot = item.lot
    if lot is None:
        return (2, date.max, "", 0)
    return (0 if lot.expiry_on else 1, lot.expiry_on or date.max, lot.lot_number, lot.id)


def _check_usable(product_sku: str, lot: Lot | None, today: date) -> None:
    if lot is not None and lot.expiry_on is not None and lot.expiry_on <= today:
        raise ShipmentError(_("Lot %(lot)s of %(sku)s expires on %(expiry)s: it cannot be shipped any more.",
                              lot=lot.lot_number, sku=product_sku, expiry=format_date(lot.expiry_on)))


def reserved_lots(session: Session, round_: AllocationRound) -> dict[int, list[ledger.LotQuantity]]:
    """{product id: lots and units} the decision holds reserved at its source, first expiry first: its
    reservation movements less any released under the same document."""
    held: dict[tuple[int, int | None], int] = defaultdict(int)
    lots: dict[int | None, Lot | None] = {}
    document = ledger.DocumentRef(DECISION_DOCUMENT, round_.id)
    for movement in ledger.movements(session, document=document,
                                     kinds=[MovementKind.RESERVATION, MovementKind.RESERVATION_RELEASE]):
        if MovementKind(movement.kind) == MovementKind.RESERVATION:
            if movement.to_location_id != round_.source_location_id:
                continue
            sign = 1
        else:
            if movement.from_location_id != round_.source_location_id:
                continue
            sign = -1
        held[(movement.product_id, movement.lot_id)] += sign * movement.quantity
        lots[movement.lot_id] = movement.lot
    by_product: dict[int, list[ledger.LotQuantity]] = defaultdict(list)
    for (product_id, lot_id), quantity in held.items():
        if quantity > 0:
            by_product[product_id].append(ledger.LotQuantity(lots[lot_id], quantity))
    return {product_id: sorted(items, key=_fefo_key) for product_id, items in by_product.items()}


def _new_shipment(session: Session, *, recipient: Organisation, from_location, to_location, today: date,
                  **origin) -> Shipment:
    shipment = Shipment(
        number=next_number(session, SHIPMENT_SERIES, today.year),
        recipient=recipient,
        from_location=from_location,
        to_location=to_location,
        status=ShipmentStatus.PLANNED.value,
        delivery_address=default_address(recipient),
        **origin,
    )
    session.add(shipment)
    return shipment


def plan_shipments(session: Session, user, round_: AllocationRound) -> list[Shipment]:
    """One planned shipment per recipient of the decided round, its lines the lots the decision reserved,
    first expiry first out (see the module docstring). Idempotent: a round that has shipments gets them back.

    ``user`` is the decider (checked by the caller). Raises ShipmentError for a round not decided, when the
    reservation holds less of a product than the decision gives out, and for a lot expiring today or earlier.
    """
    if round_.status != RoundStatus.DECIDED.value or not round_.number:
        raise ShipmentError(_("Shipments are planned once the round is decided."))
    session.flush()
    existing = list(session.scalars(select(Shipment).where(Shipment.round_id == round_.id).order_by(Shipment.id)))
    if existing:
        return existing
    today = local_today()
    lines = sorted((line for line in round_.lines if line.quantity > 0), key=lambda line: line.id)
    reserved = reserved_lots(session, round_)
    pools = {product_id: deque([item.lot, item.quantity] for item in items) for product_id, items in reserved.items()}
    needed: dict[int, int] = defaultdict(int)
    for line in lines:
        needed[line.product_id] += line.quantity
    for product_id, quantity in needed.items():
        held = sum(item.quantity for item in reserved.get(product_id, []))
        if held < quantity:
            sku = next(line.product.sku for line in lines if line.product_id == product_id)
            raise ShipmentError(_("The decision reserved %(held)s units of %(sku)s but gives out %(quantity)s.",
                                  held=held, sku=sku, quantity=quantity))
    by_recipient: dict[int, list[AllocationLine]] = defaultdict(list)
    for line in lines:
        by_recipient[line.recipient_id].append(line)
    shipments = []
    for recipient_lines in by_recipient.values():
        recipient = recipient_lines[0].recipient
        shipment = _new_shipment(
            session, recipient=recipient, from_location=round_.source_location,
            to_location=ledger.location_for_organisation(session, recipient), today=today, round=round_,
        )
        for line in recipient_lines:
            pool, left = pools[line.product_id], line.quantity
            while left:
                lot, available = pool[0]
                _check_usable(line.product.sku, lot, today)
                take = min(left, available)
                shipment.lines.append(ShipmentLine(product=line.product, lot=lot, allocation_line_id=line.id,
                                                   quantity=take))
                left -= take
                if take == available:
                    pool.popleft()
                else:
                    pool[0][1] = available - take
        shipments.append(shipment)
    session.flush()
    return shipments


def create_transfer_shipment(session: Session, user, transfer: Transfer) -> Shipment:
    """The planned shipment of an agreed transfer, from the giver's stock location to the receiver's; the
    giver's available stock is reserved for it here, first expiry first out, in lots expiring after today.
    Idempotent: a transfer that has a shipment gets it back.

    ``user`` acts for the agreement (checked by the caller). All or nothing: raises ShipmentError, changing
    nothing, for a transfer of nothing, one whose shipment was cancelled, and when the giver holds too little.
    """
    session.flush()
    existing = session.scalar(select(Shipment).where(Shipment.transfer_id == transfer.id).order_by(Shipment.id))
    if existing is not None:
        if existing.status == ShipmentStatus.CANCELLED.value:
            raise ShipmentError(_("The shipment %(number)s of this transfer was cancelled.", number=existing.number))
        return existing
    if transfer.quantity <= 0:
        raise ShipmentError(_("The transfer moves nothing: there is nothing to ship."))
    today = local_today()
    with session.begin_nested():
        source = ledger.location_for_organisation(session, transfer.source)
        shipment = _new_shipment(
            session, recipient=transfer.target, from_location=source,
            to_location=ledger.location_for_organisation(session, transfer.target), today=today, transfer=transfer,
        )
        session.flush()
        try:
            reservations = ledger.reserve_fefo(session, user, location=source, product=transfer.product,
                                               quantity=transfer.quantity, usable_on=today + timedelta(days=1),
                                               document=document_of(shipment))
        except ledger.InsufficientStock as error:
            raise ShipmentError(
                _("%(giver)s holds %(available)s units of %(sku)s available in lots usable after today; the transfer "
                  "gives %(quantity)s.", giver=transfer.source.name, available=error.available,
                  sku=transfer.product.sku, quantity=transfer.quantity)
            ) from error
        for movement in reservations:
            shipment.lines.append(ShipmentLine(product=transfer.product, lot=movement.lot, quantity=movement.quantity))
        session.flush()
    return shipment


# --- dispatch, delivery, cancellation ----------------------------------------------------------------------


def _locked(session: Session, shipment: Shipment) -> Shipment:
    """The shipment's row locked for this transaction, read afresh with its lines: two clicks take turns, and
    the second sees what the first committed."""
    session.flush()
    locked = session.scalar(
        select(Shipment).where(Shipment.id == shipment.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    session.scalars(
        select(ShipmentLine).where(ShipmentLine.shipment_id == locked.id).execution_options(populate_existing=True)
    ).all()
    return locked


def _text(value: str | None, limit: int, field: str, *, required_message: str | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required_message:
            raise ShipmentError(required_message, field=field)
        return None
    if len(value) > limit:
        raise ShipmentError(_("At most %(n)s characters.", n=limit), field=field)
    return value


def dispatch(session: Session, user, shipment: Shipment, *, carrier: str, tracking_reference: str | None = None,
             delivery_address: str | None = None) -> Shipment:
    """Hand a planned shipment to the carrier: every line from reserved stock to transit; the recipient's
    confirming users are told it is on its way.

    Raises ShipmentError when ``user`` is not the sender's, the shipment is not planned, the carrier is
    missing, or a lot has expired (cancel the shipment then); InsufficientStock when the reservation is gone.
    """
    _ensure_sender(user, shipment)
    carrier = _text(carrier, MAX_CARRIER, "carrier", required_message=_("Name the carrier."))
    tracking_reference = _text(tracking_reference, MAX_CARRIER, "tracking_reference")
    delivery_address = _text(delivery_address, MAX_TEXT, "delivery_address")
    shipment = _locked(session, shipment)
    _ensure_status(shipment, [ShipmentStatus.PLANNED.value],
                   _("Shipment %(number)s is %(status)s; only a planned shipment is dispatched."))
    today = local_today()
    for line in shipment.lines:
        _check_usable(line.product.sku, line.lot, today)
    for line in shipment.lines:
        ledger.ship(session, user, from_location=shipment.from_location, product=line.product,
                    quantity=line.quantity, lot=line.lot, from_state=StockState.RESERVED,
                    document=document_of(shipment))
    shipment.status = ShipmentStatus.DISPATCHED.value
    shipment.carrier = carrier
    shipment.tracking_reference = tracking_reference
    if delivery_address:
        shipment.delivery_address = delivery_address
    shipment.dispatched_at = utcnow()
    shipment.dispatched_by_id = user.id
    session.flush()
    tell(session, confirming_users(session, shipment.recipient),
         page_link("allocation.shipment_confirm", shipment_id=shipment.id), lambda: (
             _("Shipment %(number)s is on its way", number=shipment.number),
             _("%(sender)s has dispatched shipment %(number)s to %(recipient)s with %(carrier)s%(tracking)s. "
               "When it arrives, confirm what you received, line by line.",
               sender=sender_of(shipment).name, number=shipment.number, recipient=shipment.recipient.name,
               carrier=carrier,
               tracking=_(", tracking %(reference)s", reference=tracking_reference) if tracking_reference else ""),
         ))
    return shipment


def mark_delivered(session: Session, user, shipment: Shipment) -> Shipment:
    """Record that the carrier reports the shipment arrived (optional: the recipient may confirm without it).
    Marking a delivered shipment again changes nothing.

    Raises ShipmentError when ``user`` is not the sender's or the shipment is not on its way.
    """
    _ensure_sender(user, shipment)
    shipment = _locked(session, shipment)
    if shipment.status == ShipmentStatus.DELIVERED.value:
        return shipment
    _ensure_status(shipment, [ShipmentStatus.DISPATCHED.value],
                   _("Shipment %(number)s is %(status)s; only a dispatched shipment is marked delivered."))
    shipment.status = ShipmentStatus.DELIVERED.value
    shipment.delivered_at = utcnow()
    session.flush()
    return shipment


def cancel(session: Session, user, shipment: Shipment, reason: str) -> Shipment:
    """Cancel a planned shipment: its reserved stock is available again (the reason goes on the movements).

    Raises ShipmentError when ``user`` is not the sender's, the shipment is not planned, or no reason is given.
    """
    _ensure_sender(user, shipment)
    reason = _text(reason, MAX_TEXT, "reason", required_message=_("Give the reason."))
    shipment = _locked(session, shipment)
    _ensure_status(shipment, [ShipmentStatus.PLANNED.value],
                   _("Shipment %(number)s is %(status)s; only a planned shipment can be cancelled."))
    for line in shipment.lines:
        ledger.unreserve(session, user, location=shipment.from_location, product=line.product,
                         quantity=line.quantity, lot=line.lot, document=document_of(shipment), reason=reason)
    shipment.status = ShipmentStatus.CANCELLED.value
    session.flush()
    return shipment


@dataclass(frozen=True)
class Cancellation:
    reason: str | None
    at: datetime
    by: User | None


def cancellation(session: Session, shipment: Shipment) -> Cancellation | None:
    """Why, when and by whom a cancelled shipment was cancelled (read from its reservation releases)."""
    if shipment.status != ShipmentStatus.CANCELLED.value:
        return None
    released = ledger.movements(session, document=ledger.DocumentRef(DOCUMENT_TYPE, shipment.id),
                                kinds=[MovementKind.RESERVATION_RELEASE])
    if not released:
        return None
    return Cancellation(released[0].reason, released[0].created_at, released[0].user)


# --- confirmation ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineConfirmation:
    """What the recipient says of one shipment line: ``accepted + rejected + missing`` is its quantity."""

    line_id: int
    accepted: int
    rejected: int = 0
    missing: int = 0
    reason: str | None = None  # a DiscrepancyReason value; required when anything is rejected or missing
    comment: str | None = None  # required with a reason


@dataclass(frozen=True)
class ConfirmResult:
    shipment: Shipment
    follow_up: DeliveryFollowUp | None
    repeated: bool  # the same confirmation was already recorded: nothing changed


def _normalised(item: LineConfirmation) -> tuple:
    discrepancy = bool(item.rejected or item.missing)
    return (item.accepted, item.rejected, item.missing, item.reason if discrepancy else None,
            (item.comment or "").strip() or None)


def _recorded(line: ShipmentLine) -> tuple:
    return (line.accepted, line.rejected, line.missing, line.discrepancy_reason, line.comment)


def _check_line(index: int, line: ShipmentLine, item: LineConfirmation) -> list[ShipmentError]:
    prefix = f"lines-{index}-"
    errors = []
    values = {"accepted": item.accepted, "rejected": item.rejected, "missing": item.missing}
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(ShipmentError(_("A whole number, 0 or more."), field=prefix + field))
    if errors:
        return errors
    if sum(values.values()) != line.quantity:
        errors.append(ShipmentError(
            _("Accepted, rejected and missing must add up to the %(quantity)s units shipped (now %(total)s).",
              quantity=line.quantity, total=sum(values.values())), field=prefix + "accepted"))
    if item.rejected or item.missing:
        if item.reason not in {reason.value for reason in DiscrepancyReason}:
            errors.append(ShipmentError(_("Say why units are rejected or missing."), field=prefix + "reason"))
        comment = (item.comment or "").strip()
        if not comment:
            errors.append(ShipmentError(_("Describe what was wrong."), field=prefix + "comment"))
        elif len(comment) > MAX_TEXT:
            errors.append(ShipmentError(_("At most %(n)s characters.", n=MAX_TEXT), field=prefix + "comment"))
    return errors


def _check_confirmation(shipment: Shipment, received_by_name: str | None,
                        lines: Sequence[LineConfirmation]) -> tuple[str, list[tuple[ShipmentLine, LineConfirmation]]]:
    errors: list[ShipmentError] = []
    name = (received_by_name or "").strip()
    if not name:
        errors.append(ShipmentError(_("Who received the shipment?"), field="received_by_name"))
    elif len(name) > MAX_NAME:
        errors.append(ShipmentError(_("At most %(n)s characters.", n=MAX_NAME), field="received_by_name"))
    given = {item.line_id: item for item in lines}
    if len(given) != len(lines) or set(given) != {line.id for line in shipment.lines}:
        raise ShipmentError(_("Confirm every line of the shipment, each once."), field="lines")
    pairs = [(line, given[line.id]) for line in shipment.lines]
    for index, (line, item) in enumerate(pairs):
        errors.extend(_check_line(index, line, item))
    if errors:
        raise ShipmentError(errors[0].message, field=errors[0].field, errors=errors)
    return name, pairs


def _reason_text(item: LineConfirmation) -> str:
    return f"{DiscrepancyReason(item.reason).label}: {(item.comment or '').strip()}"


def confirm(session: Session, user, shipment: Shipment, *, received_by_name: str,
            lines: Sequence[LineConfirmation]) -> ConfirmResult:
    """The recipient's receipt (kvittens): per line what was accepted, rejected and missing, and who took
    delivery at the door. Stock enters the recipient's location by it (accepted available, rejected rejected,
    missing lost); a discrepancy opens a follow-up for the coordinator, who is told. For a transfer the
    redistribution helper's ``on_transfer_confirmed(session, shipment)`` is called to book compensation.

    Confirming again with the same figures changes nothing (``repeated``). Raises ShipmentError when ``user``
    is not the recipient's, the shipment is not on its way, or a line does not add up or lacks its reason and
    comment (``errors`` lists them all); ConflictError for a different second confirmation.
    """
    if not may_confirm(user, shipment):
        raise ShipmentError(_("Only %(organisation)s, which receives this shipment, confirms it.",
                              organisation=shipment.recipient.name))
    shipment = _locked(session, shipment)
    name, pairs = _check_confirmation(shipment, received_by_name, lines)
    if shipment.status == ShipmentStatus.CONFIRMED.value:
        same = name == shipment.received_by_name and all(_normalised(item) == _recorded(line) for line, item in pairs)
        if not same:
            raise ConflictError(_(
                "Shipment %(number)s was already confirmed on %(when)s by %(who)s; a confirmation cannot be changed. "
                "Tell the coordinator what is wrong.", number=shipment.number,
                when=format_datetime(shipment.confirmed_at, "yyyy-MM-dd HH:mm"),
                who=shipment.confirmed_by.name if shipment.confirmed_by else "—"))
        return ConfirmResult(shipment, _follow_up_of(session, shipment), repeated=True)
    _ensure_status(shipment, OPEN_STATES,
                   _("Shipment %(number)s is %(status)s; only a dispatched shipment is confirmed."))
    document = document_of(shipment)
    for line, item in pairs:
        accepted, rejected, missing, reason, comment = _normalised(item)
        ledger.confirm_delivery(session, user, to_location=shipment.to_location, product=line.product, lot=line.lot,
                                accepted=accepted, rejected=rejected, missing=missing,
                                reason=_reason_text(item) if reason else None, document=document)
        line.accepted, line.rejected, line.missing = accepted, rejected, missing
        line.discrepancy_reason, line.comment = reason, comment
    now = utcnow()
    shipment.status = ShipmentStatus.CONFIRMED.value
    shipment.confirmed_at = now
    shipment.confirmed_by_id = user.id
    shipment.received_by_name = name
    if shipment.delivered_at is None:
        shipment.delivered_at = now
    session.flush()
    follow_up = None
    if any(line.has_discrepancy for line in shipment.lines):
        follow_up = _open_follow_up(session, shipment)
    if shipment.transfer_id is not None:
        hook = transfer_hook()
        if hook is not None:
            hook(session, shipment)
    return ConfirmResult(shipment, follow_up, repeated=False)


def transfer_hook():
    """The redistribution helper's ``on_transfer_confirmed(session, shipment)``, when it exists."""
    if importlib.util.find_spec("allocation.services_redistribution") is None:
        return None
    from allocation import services_redistribution

    return getattr(services_redistribution, "on_transfer_confirmed", None)


# --- follow-ups --------------------------------------------------------------------------------------------


def _follow_up_of(session: Session, shipment: Shipment) -> DeliveryFollowUp | None:
    return session.scalar(select(DeliveryFollowUp).where(DeliveryFollowUp.shipment_id == shipment.id))


def discrepancy_summary(shipment: Shipment) -> str:
    """One line per line with a discrepancy: product, lot, what was rejected or missing and why."""
    parts = []
    for line in shipment.lines:
        if not line.has_discrepancy:
            continue
        lot = line.lot.lot_number if line.lot else _("no lot")
        parts.append(_("%(sku)s lot %(lot)s: %(rejected)s rejected, %(missing)s missing (%(reason)s: %(comment)s)",
                       sku=line.product.sku, lot=lot, rejected=line.rejected, missing=line.missing,
                       reason=DiscrepancyReason(line.discrepancy_reason).label, comment=line.comment))
    return "\n".join(parts)


def _open_follow_up(session: Session, shipment: Shipment) -> DeliveryFollowUp:
    follow_up = DeliveryFollowUp(shipment=shipment, status=FollowUpStatus.OPEN.value)
    session.add(follow_up)
    session.flush()
    tell(session, coordinators_for(session, coordinating_county(shipment)),
         page_link("allocation.shipment", shipment_id=shipment.id, _anchor="follow-up"), lambda: (
             _("Discrepancy on shipment %(number)s to %(recipient)s", number=shipment.number,
               recipient=shipment.recipient.name),
             _("%(recipient)s confirmed shipment %(number)s (%(origin)s) with a discrepancy:\n\n%(lines)s\n\n"
               "Follow it up and record how it was resolved.", recipient=shipment.recipient.name,
               number=shipment.number, origin=origin_reference(shipment), lines=discrepancy_summary(shipment)),
         ))
    return follow_up


def resolve_follow_up(session: Session, user, follow_up: DeliveryFollowUp, resolution: str) -> DeliveryFollowUp:
    """Close a follow-up with a note of how it was resolved.

    Raises ShipmentError when ``user`` is not its coordinator, it is already resolved, or the note is missing.
    """
    if not may_resolve(user, follow_up):
        raise ShipmentError(_("Only the coordinator responsible for this shipment resolves its follow-up."))
    resolution = _text(resolution, MAX_TEXT, "resolution", required_message=_("Say how it was resolved."))
    if follow_up.status != FollowUpStatus.OPEN.value:
        raise ShipmentError(_("The follow-up is already resolved."), field="resolution")
    follow_up.status = FollowUpStatus.RESOLVED.value
    follow_up.resolution = resolution
    follow_up.resolved_by_id = user.id
    follow_up.resolved_at = utcnow()
    session.flush()
    return follow_up


# --- unconfirmed shipments and the reminder job ------------------------------------------------------------


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """A WHERE clause on Shipment: unconfirmed more than 3 days after it arrived (delivered), or after it should
    have arrived when nobody marked it delivered (dispatched plus 2 days of transport)."""
    return and_(
        Shipment.status.in_(OPEN_STATES),
        or_(
            Shipment.delivered_at <= now - CONFIRM_WITHIN,
            and_(Shipment.delivered_at.is_(None), Shipment.dispatched_at <= now - CONFIRM_WITHIN - ASSUMED_TRANSIT),
        ),
    )


def overdue_shipments(session: Session, user, now: datetime | None = None) -> list[Shipment]:
    """The shipments in ``user``'s view unconfirmed past the limit, oldest dispatch first."""
    return list(
        session.scalars(
            select(Shipment).where(overdue_clause(now or utcnow()), visibility_clause(user))
            .order_by(Shipment.dispatched_at, Shipment.id)
        )
    )


def remind_unconfirmed(session: Session, now: datetime | None = None) -> str:
    """Remind the receiving organisation's confirming users of each overdue shipment, once
    (``unconfirmed_reminded_at``), and send each responsible coordinator one list of the shipments reminded."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Shipment).where(overdue_clause(now), Shipment.unconfirmed_reminded_at.is_(None))
            .order_by(Shipment.id)
        )
    )
    notices = 0
    by_county: dict[str | None, list[Shipment]] = defaultdict(list)
    for shipment in due:
        notices += tell(session, confirming_users(session, shipment.recipient),
                        page_link("allocation.shipment_confirm", shipment_id=shipment.id), lambda shipment=shipment: (
                            _("Confirm shipment %(number)s", number=shipment.number),
                            _("Shipment %(number)s from %(sender)s was dispatched on %(dispatched)s and is not confirmed "
                              "yet. Confirm what arrived, line by line; if nothing arrived, confirm it as missing.",
                              number=shipment.number, sender=sender_of(shipment).name,
                              dispatched=format_date(shipment.dispatched_at)),
                        ))
        shipment.unconfirmed_reminded_at = now
        by_county[coordinating_county(shipment)].append(shipment)
    for county, shipments in by_county.items():
        names = "\n".join(f"- {s.number}: {s.recipient.name} ({format_date(s.dispatched_at)})" for s in shipments)
        notices += tell(session, coordinators_for(session, county),
                        page_link("allocation.follow_ups", _anchor="unconfirmed"), lambda shipments=shipments, names=names: (
                            ngettext("%(num)d shipment is unconfirmed after 3 days",
                                     "%(num)d shipments are unconfirmed after 3 days", len(shipments)),
                            _("These shipments are still not confirmed by their recipients, who have been "
                              "reminded:\n\n%(names)s", names=names),
                        ))
    session.flush()
    return _("%(shipments)s unconfirmed shipments reminded; %(notices)s notices.", shipments=len(due), notices=notices)


# --- reading -----------------------------------------------------------------------------------------------


def incoming(session: Session, organisation: Organisation) -> dict[str, list[Shipment]]:
    """The organisation's incoming shipments: ``to_confirm`` (dispatched or delivered) and ``planned``."""
    rows = session.scalars(
        select(Shipment).where(Shipment.recipient_id == organisation.id,
                               Shipment.status.in_([*OPEN_STATES, ShipmentStatus.PLANNED.value]))
        .order_by(Shipment.dispatched_at, Shipment.id)
    )
    found: dict[str, list[Shipment]] = {"to_confirm": [], "planned": []}
    for shipment in rows:
        found["planned" if shipment.status == ShipmentStatus.PLANNED.value else "to_confirm"].append(shipment)
    return found


def outgoing_transfers(session: Session, organisation: Organisation) -> list[Shipment]:
    """Transfer shipments the organisation gives and has not dispatched yet."""
    return list(
        session.scalars(
            select(Shipment).join(Shipment.transfer)
            .where(Transfer.source_id == organisation.id, Shipment.status == ShipmentStatus.PLANNED.value)
            .order_by(Shipment.id)
        )
    )
