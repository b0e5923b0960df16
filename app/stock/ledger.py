"""The stock ledger: the one writer of stock movements and balances, and the queries on them.

Every operation writes one append-only :class:`StockMovement` and moves its quantity between two balances of
the ``stock_balances`` projection, in the caller's transaction: functions flush, never commit. The balance
rows a movement touches are locked first (``SELECT ... FOR UPDATE`` on PostgreSQL, in id order so two
opposite transfers cannot deadlock; SQLite lets one writer at a time anyway) and the source is checked under
the lock, so two users can never take the same units. A movement that would make a balance negative raises
:class:`InsufficientStock` and writes nothing.

Operations and the (location, state) they move between; ``None`` is outside the ledger:

    receive             None -> (location, quarantine | available)
    release             (location, quarantine) -> (location, available)
    reject              (location, quarantine | available) -> (location, rejected)       reason
    dispose / return_to_supplier   (location, rejected | ...) -> None
    reserve / unreserve (location, available) <-> (location, reserved)
    ship                (location, reserved | available) -> (transit, in_transit)
    confirm_delivery    (transit, in_transit) -> (recipient, available), (recipient, rejected), None (missing)
    transfer            (location, state) -> (other location, state): a direct move without transit
    adjust              None -> (location, state) or (location, state) -> None                reason
    consume             (location, available) -> None

All quantities are whole units of the product's unit of issue; every one is an exact ``int``.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalog.models import Product
from app.db import utcnow
from app.errors import DomainError
from app.organisations.models import Organisation
from app.stock.models import (
    KINDS_NEEDING_REASON,
    LocationKind,
    Lot,
    MovementKind,
    StockBalance,
    StockLocation,
    StockMovement,
    StockState,
)

# The national warehouses loaded as reference data (`flask stock warehouses`): code and name.
NATIONAL_WAREHOUSES = (
    ("NL-MITT", "Nationellt lager Mitt"),
    ("NL-SYD", "Nationellt lager Syd"),
)
TRANSIT_CODE = "TRANSIT"
TRANSIT_NAME = "Under transport"
ORGANISATION_CODE_PREFIX = "ORG-"


class StockError(DomainError):
    """A stock movement or query broke a rule of the ledger."""


class InsufficientStock(StockError):
    """Taking ``requested`` units from a balance holding only ``available``: refused, nothing written."""

    status_code = 409

    def __init__(self, *, product: Product, lot: Lot | None, location: StockLocation, state: StockState,
                 available: int, requested: int, field: str | None = "quantity"):
        self.product = product
        self.lot = lot
        self.location = location
        self.state = StockState(state)
        self.available = available
        self.requested = requested
        message = _(
            "Not enough stock of %(product)s, lot %(lot)s, at %(location)s (%(state)s): %(available)s "
            "there, %(requested)s requested.",
            product=product.sku,
            lot=lot.lot_number if lot is not None else _("none"),
            location=location.name,
            state=self.state.label,
            available=available,
            requested=requested,
        )
        super().__init__(message, field=field)


@dataclass(frozen=True)
class DocumentRef:
    """The document movements belong to: its type and row id, and the number people know it by.

    ``DocumentRef("purchase_order_receipt", 17, "PO-2026-00042")``; a multi-line document passes the same
    reference to each of its movements, in one transaction.
    """

    type: str
    id: int | None = None
    reference: str | None = None


class BalanceKey(NamedTuple):
    location_id: int
    product_id: int
    lot_id: int | None
    state: str


@dataclass(frozen=True)
class LotQuantity:
    """A quantity of one lot (or of stock without a known lot, ``lot`` None)."""

    lot: Lot | None
    quantity: int

    @property
    def expiry_on(self) -> date | None:
        return self.lot.expiry_on if self.lot is not None else None


@dataclass(frozen=True)
class BalanceDifference:
    key: BalanceKey
    recorded: int  # in stock_balances
    derived: int  # summed from stock_movements


# --- locations and lots ----------------------------------------------------------------------------------


def _get_or_create(session: Session, model, where, values: dict):
    """The row matching ``where``, created from ``values`` when missing; safe when two transactions race."""
    found = session.scalar(select(model).where(where))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            created = model(**values)
            session.add(created)
    except IntegrityError:
        # Another transaction created it first (it waited for that one to commit): use theirs.
        found = session.scalar(select(model).where(where))
        if found is None:
            raise
        return found
    return created


def ensure_warehouses(session: Session) -> list[StockLocation]:
    """Create the national warehouses that do not exist yet (reference data, idempotent). Flush only."""
    return [
        _get_or_create(
            session,
            StockLocation,
            StockLocation.code == code,
            {"code": code, "name": name, "kind": LocationKind.WAREHOUSE.value},
        )
        for code, name in NATIONAL_WAREHOUSES
    ]


def warehouses(session: Session, *, active_only: bool = True) -> list[StockLocation]:
    stmt = select(StockLocation).where(StockLocation.kind == LocationKind.WAREHOUSE)
    if active_only:
        stmt = stmt.where(StockLocation.active.is_(True))
    return list(session.scalars(stmt.order_by(StockLocation.code)))


def location_by_code(session: Session, code: str) -> StockLocation | None:
    return session.scalar(select(StockLocation).where(StockLocation.code == code))


def location_for_organisation(session: Session, organisation: Organisation) -> StockLocation:
    """The organisation's own stock location, created on first use. Flush only."""
    if organisation.is_national:
        raise StockError(_("The national agency's stock is held in the national warehouses."))
    return _get_or_create(
        session,
        StockLocation,
        StockLocation.organisation_id == organisation.id,
        {
            "code": f"{ORGANISATION_CODE_PREFIX}{organisation.code}",
            "name": organisation.name,
            "kind": LocationKind.ORGANISATION.value,
            "organisation_id": organisation.id,
        },
    )


def transit_location(session: Session) -> StockLocation:
    """The one virtual location for goods dispatched and not yet confirmed by their recipient."""
    return _get_or_create(
        session,
        StockLocation,
        StockLocation.code == TRANSIT_CODE,
        {"code": TRANSIT_CODE, "name": TRANSIT_NAME, "kind": LocationKind.TRANSIT.value},
    )


def lot_for(
    session: Session,
    product: Product,
    lot_number: str,
    *,
    expiry_on: date | None = None,
    manufactured_on: date | None = None,
    supplier_id: int | None = None,
) -> Lot:
    """The product's lot with this number, registered on first receipt. Flush only.

    Raises StockError (field ``expiry_on``) when the lot is known with another expiry date, and (field
    ``manufactured_on``) when it would be made after it expires.
    """
    lot_number = (lot_number or "").strip()
    if not lot_number:
        raise StockError(_("Enter the lot number."), field="lot_number")
    if len(lot_number) > 64:
        raise StockError(_("At most %(n)s characters.", n=64), field="lot_number")
    if expiry_on and manufactured_on and manufactured_on > expiry_on:
        raise StockError(_("The manufacture date is after the expiry date."), field="manufactured_on")
    lot = _get_or_create(
        session,
        Lot,
        and_(Lot.product_id == product.id, Lot.lot_number == lot_number),
        {
            "product_id": product.id,
            "lot_number": lot_number,
            "expiry_on": expiry_on,
            "manufactured_on": manufactured_on,
            "supplier_id": supplier_id,
        },
    )
    if expiry_on is not None and lot.expiry_on is not None and lot.expiry_on != expiry_on:
        raise StockError(
            _(
                "Lot %(lot)s is registered with the expiry date %(expiry)s.",
                lot=lot_number,
                expiry=lot.expiry_on.isoformat(),
            ),
            field="expiry_on",
        )
    if lot.expiry_on is None and expiry_on is not None:
        lot.expiry_on = expiry_on
    if lot.manufactured_on is None and manufactured_on is not None:
        lot.manufactured_on = manufactured_on
    if lot.supplier_id is None and supplier_id is not None:
        lot.supplier_id = supplier_id
    return lot


# --- the one writer --------------------------------------------------------------------------------------


def _check_quantity(quantity) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise StockError(_("The quantity must be a whole number."), field="quantity")
    if quantity <= 0:
        raise StockError(_("The quantity must be above 0."), field="quantity")


def _check_side(location: StockLocation, state: StockState) -> None:
    if location.is_transit != (state == StockState.IN_TRANSIT):
        raise StockError(_("Only goods in transit are at the transit location."), field="state")


def _lot_is(lot_id: int | None):
    return StockBalance.lot_id.is_(None) if lot_id is None else StockBalance.lot_id == lot_id


def _side_key(side: tuple[StockLocation, StockState]) -> tuple[int, str]:
    return side[0].id, str(side[1])


def _lock_balances(session: Session, product_id: int, lot_id: int | None, sides) -> dict[tuple[int, str], list]:
    """The balance rows of these (location, state) sides, locked in id order: {(location, state): [id, qty]}."""
    rows = session.execute(
        select(StockBalance.id, StockBalance.location_id, StockBalance.state, StockBalance.quantity)
        .where(
            StockBalance.product_id == product_id,
            _lot_is(lot_id),
            or_(*(and_(StockBalance.location_id == loc, StockBalance.state == state) for loc, state in sides)),
        )
        .order_by(StockBalance.id)
        .with_for_update()
    )
    return {(row.location_id, row.state): [row.id, row.quantity] for row in rows}


def _insert_ignoring_duplicates(session: Session, values: dict):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - Samordna runs on SQLite and PostgreSQL
        return insert(StockBalance).values(**values)
    return dialect_insert(StockBalance).values(**values).on_conflict_do_nothing()


def _open_balance(session: Session, product_id: int, lot_id: int | None, side: tuple[int, str]) -> list:
    """Create the (empty) balance row for a side that has none yet, and lock it."""
    location_id, state = side
    session.execute(
        _insert_ignoring_duplicates(
            session,
            {
                "location_id": location_id,
                "product_id": product_id,
                "lot_id": lot_id,
                "state": state,
                "quantity": 0,
                "updated_at": utcnow(),
            },
        )
    )
    return _lock_balances(session, product_id, lot_id, [side])[side]


def _change_balance(session: Session, balance_id: int, delta: int) -> None:
    # A bulk UPDATE: the projection is machinery, not audited row by row (the movement is), and the
    # arithmetic happens in the database on the locked row.
    session.execute(
        update(StockBalance)
        .where(StockBalance.id == balance_id)
        .values(quantity=StockBalance.quantity + delta, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


def _move(
    session: Session,
    user,
    *,
    kind: MovementKind,
    product: Product,
    quantity: int,
    lot: Lot | None,
    source: tuple[StockLocation, StockState] | None,
    target: tuple[StockLocation, StockState] | None,
    document: DocumentRef | None,
    reason: str | None,
) -> StockMovement:
    _check_quantity(quantity)
    if lot is not None and lot.product_id is not None and lot.product_id != product.id:
        raise StockError(_("The lot belongs to another product."), field="lot_number")
    reason = (reason or "").strip() or None
    if kind in KINDS_NEEDING_REASON and reason is None:
        raise StockError(_("Give a reason."), field="reason")
    if source is None and target is None:  # pragma: no cover - every operation gives a side
        raise StockError(_("A movement needs a source or a destination."))
    for side in (source, target):
        if side is not None:
            _check_side(*side)
    if target is not None and not target[0].active:
        raise StockError(_("%(location)s is closed.", location=target[0].name), field="location")
    session.flush()  # new lots and locations get their ids
    if source is not None and target is not None and _side_key(source) == _side_key(target):
        raise StockError(_("The source and the destination are the same."), field="location")
    lot_id = lot.id if lot is not None else None
    sides = [_side_key(side) for side in (source, target) if side is not None]
    held = _lock_balances(session, product.id, lot_id, sides)
    if source is not None:
        available = held.get(_side_key(source), [None, 0])[1]
        if available < quantity:
            raise InsufficientStock(
                product=product,
                lot=lot,
                location=source[0],
                state=source[1],
                available=available,
                requested=quantity,
            )
    if target is not None and _side_key(target) not in held:
        held[_side_key(target)] = _open_balance(session, product.id, lot_id, _side_key(target))
    movement = StockMovement(
        kind=str(kind),
        product_id=product.id,
        lot_id=lot_id,
        quantity=quantity,
        from_location_id=source[0].id if source else None,
        from_state=str(source[1]) if source else None,
        to_location_id=target[0].id if target else None,
        to_state=str(target[1]) if target else None,
        document_type=document.type if document else None,
        document_id=document.id if document else None,
        reference=document.reference if document else None,
        reason=reason,
        user_id=getattr(user, "id", None),
    )
    session.add(movement)
    session.flush()
    if source is not None:
        _change_balance(session, held[_side_key(source)][0], -quantity)
    if target is not None:
        _change_balance(session, held[_side_key(target)][0], quantity)
    return movement


# The states stock can sit in at a real location (transit holds only IN_TRANSIT).
_HELD_STATES = (StockState.QUARANTINE, StockState.AVAILABLE, StockState.RESERVED, StockState.REJECTED)


def _state(value, allowed: Iterable[StockState], field: str = "state") -> StockState:
    try:
        state = StockState(value)
    except ValueError:
        state = None
    if state not in allowed:
        raise StockError(_("Stock cannot be moved from or to that state here."), field=field)
    return state


# --- operations ------------------------------------------------------------------------------------------


def receive(
    session: Session,
    user,
    *,
    location: StockLocation,
    product: Product,
    quantity: int,
    lot: Lot | None = None,
    state: StockState = StockState.QUARANTINE,
    document: DocumentRef | None = None,
    reason: str | None = None,
) -> StockMovement:
    """Stock arrives from outside the ledger (a delivery, rescEU, a donation, opening stock).

    Into quarantine by default, to wait for inspection; ``state=AVAILABLE`` for stock needing none.
    """
    state = _state(state, (StockState.QUARANTINE, StockState.AVAILABLE))
    return _move(session, user, kind=MovementKind.RECEIPT, product=product, quantity=quantity, lot=lot,
                 source=None, target=(location, state), document=document, reason=reason)


def release(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
            lot: Lot | None = None, document: DocumentRef | None = None) -> StockMovement:
    """Inspected and approved: quarantine -> available."""
    return _move(session, user, kind=MovementKind.RELEASE, product=product, quantity=quantity, lot=lot,
                 source=(location, StockState.QUARANTINE), target=(location, StockState.AVAILABLE),
                 document=document, reason=None)


def reject(session: Session, user, *, location: StockLocation, product: Product, quantity: int, reason: str,
           lot: Lot | None = None, from_state: StockState = StockState.QUARANTINE,
           document: DocumentRef | None = None) -> StockMovement:
    """Failed inspection (or recalled after release): quarantine or available -> rejected, with the reason."""
    from_state = _state(from_state, (StockState.QUARANTINE, StockState.AVAILABLE), field="from_state")
    return _move(session, user, kind=MovementKind.REJECTION, product=product, quantity=quantity, lot=lot,
                 source=(location, from_state), target=(location, StockState.REJECTED),
                 document=document, reason=reason)


def dispose(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
            lot: Lot | None = None, from_state: StockState = StockState.REJECTED, reason: str | None = None,
            document: DocumentRef | None = None) -> StockMovement:
    """Destroyed: out of the ledger, from rejected stock by default."""
    from_state = _state(from_state, _HELD_STATES, field="from_state")
    return _move(session, user, kind=MovementKind.DISPOSAL, product=product, quantity=quantity, lot=lot,
                 source=(location, from_state), target=None, document=document, reason=reason)


def return_to_supplier(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
                       lot: Lot | None = None, from_state: StockState = StockState.REJECTED,
                       reason: str | None = None, document: DocumentRef | None = None) -> StockMovement:
    """Sent back to the supplier: out of the ledger, from rejected stock by default."""
    from_state = _state(from_state, _HELD_STATES, field="from_state")
    return _move(session, user, kind=MovementKind.RETURN_TO_SUPPLIER, product=product, quantity=quantity,
                 lot=lot, source=(location, from_state), target=None, document=document, reason=reason)


def reserve(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
            lot: Lot | None = None, document: DocumentRef | None = None) -> StockMovement:
    """Promised (by an allocation decision or an agreed transfer): available -> reserved."""
    return _move(session, user, kind=MovementKind.RESERVATION, product=product, quantity=quantity, lot=lot,
                 source=(location, StockState.AVAILABLE), target=(location, StockState.RESERVED),
                 document=document, reason=None)


def unreserve(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
              lot: Lot | None = None, document: DocumentRef | None = None,
              reason: str | None = None) -> StockMovement:
    """A reservation cancelled: reserved -> available."""
    return _move(session, user, kind=MovementKind.RESERVATION_RELEASE, product=product, quantity=quantity,
                 lot=lot, source=(location, StockState.RESERVED), target=(location, StockState.AVAILABLE),
                 document=document, reason=reason)


def reserve_fefo(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
                 usable_on: date | None, document: DocumentRef | None = None) -> list[StockMovement]:
    """Reserve ``quantity`` from the available lots, first expiry first out; one movement per lot.

    The location's available balances of the product are locked before they are read, so a concurrent
    decision waits and then sees what is left. Lots expiring before ``usable_on`` are skipped. Raises
    InsufficientStock (and reserves nothing) when the usable lots hold too little.
    """
    _check_quantity(quantity)
    session.flush()
    session.execute(
        select(StockBalance.id)
        .where(StockBalance.location_id == location.id, StockBalance.product_id == product.id,
               StockBalance.state == StockState.AVAILABLE)
        .order_by(StockBalance.id)
        .with_for_update()
    ).all()
    picks = pick_fefo(session, location=location, product=product, quantity=quantity, usable_on=usable_on)
    return [
        reserve(session, user, location=location, product=product, quantity=pick.quantity, lot=pick.lot,
                document=document)
        for pick in picks
    ]


def ship(session: Session, user, *, from_location: StockLocation, product: Product, quantity: int,
         lot: Lot | None = None, from_state: StockState = StockState.RESERVED,
         document: DocumentRef | None = None) -> StockMovement:
    """Dispatched to a recipient: reserved (or available) -> in transit, until the recipient confirms.

    Stock reaches the recipient's location only through :func:`confirm_delivery`, by the quantity confirmed.
    """
    from_state = _state(from_state, (StockState.RESERVED, StockState.AVAILABLE), field="from_state")
    return _move(session, user, kind=MovementKind.DISPATCH, product=product, quantity=quantity, lot=lot,
                 source=(from_location, from_state),
                 target=(transit_location(session), StockState.IN_TRANSIT), document=document, reason=None)


def confirm_delivery(
    session: Session,
    user,
    *,
    to_location: StockLocation,
    product: Product,
    lot: Lot | None = None,
    accepted: int,
    rejected: int = 0,
    missing: int = 0,
    reason: str | None = None,
    document: DocumentRef | None = None,
) -> list[StockMovement]:
    """The recipient confirms one dispatched line: accepted units enter its available stock, rejected ones
    its rejected stock (awaiting return), missing ones leave the ledger as lost. Each may be 0.

    ``accepted + rejected + missing`` must be what was shipped on the line (the caller's document knows
    that; the ledger checks the transit balance holds it). ``reason`` is required when anything is rejected
    or missing. Raises InsufficientStock when transit holds less than the total; writes nothing then.
    """
    for value, field in ((accepted, "accepted"), (rejected, "rejected"), (missing, "missing")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StockError(_("The quantity must be a whole number, 0 or more."), field=field)
    total = accepted + rejected + missing
    if total == 0:
        raise StockError(_("The quantity must be above 0."), field="accepted")
    if (rejected or missing) and not (reason or "").strip():
        raise StockError(_("Give a reason for what was rejected or is missing."), field="reason")
    transit = transit_location(session)
    source = (transit, StockState.IN_TRANSIT)
    session.flush()
    # Check the whole line before writing any part of it, under the lock the first movement takes anyway.
    held = _lock_balances(session, product.id, lot.id if lot else None, [_side_key(source)])
    available = held.get(_side_key(source), [None, 0])[1]
    if available < total:
        raise InsufficientStock(product=product, lot=lot, location=transit, state=StockState.IN_TRANSIT,
                                available=available, requested=total, field="accepted")
    parts = (
        (MovementKind.DELIVERY, accepted, (to_location, StockState.AVAILABLE)),
        (MovementKind.DELIVERY_REJECTION, rejected, (to_location, StockState.REJECTED)),
        (MovementKind.DELIVERY_LOSS, missing, None),
    )
    return [
        _move(session, user, kind=kind, product=product, quantity=quantity, lot=lot, source=source,
              target=target, document=document, reason=reason if kind != MovementKind.DELIVERY else None)
        for kind, quantity, target in parts
        if quantity
    ]


def transfer(session: Session, user, *, from_location: StockLocation, to_location: StockLocation,
             product: Product, quantity: int, lot: Lot | None = None,
             from_state: StockState = StockState.AVAILABLE, to_state: StockState | None = None,
             reason: str | None = None, document: DocumentRef | None = None) -> StockMovement:
    """A direct move between two locations (or two states of one), without a transit step.

    For goods on their way to someone who must confirm them, use :func:`ship` and :func:`confirm_delivery`.
    """
    from_state = _state(from_state, _HELD_STATES, field="from_state")
    to_state = _state(to_state or from_state, _HELD_STATES, field="to_state")
    return _move(session, user, kind=MovementKind.TRANSFER, product=product, quantity=quantity, lot=lot,
                 source=(from_location, from_state), target=(to_location, to_state), document=document,
                 reason=reason)


def adjust(session: Session, user, *, location: StockLocation, product: Product, delta: int, reason: str,
           lot: Lot | None = None, state: StockState = StockState.AVAILABLE,
           document: DocumentRef | None = None) -> StockMovement:
    """A count correction with its reason: ``delta`` units more (positive) or fewer (negative)."""
    state = _state(state, _HELD_STATES)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise StockError(_("The change must be a whole number other than 0."), field="quantity")
    side = (location, state)
    return _move(session, user, kind=MovementKind.ADJUSTMENT, product=product, quantity=abs(delta), lot=lot,
                 source=side if delta < 0 else None, target=side if delta > 0 else None,
                 document=document, reason=reason)


def consume(session: Session, user, *, location: StockLocation, product: Product, quantity: int,
            lot: Lot | None = None, document: DocumentRef | None = None) -> StockMovement:
    """Used by the organisation holding it: out of its available stock."""
    return _move(session, user, kind=MovementKind.CONSUMPTION, product=product, quantity=quantity, lot=lot,
                 source=(location, StockState.AVAILABLE), target=None, document=document, reason=None)


# --- queries ---------------------------------------------------------------------------------------------


def balance(session: Session, *, location: StockLocation, product: Product, lot: Lot | None = None,
            state: StockState = StockState.AVAILABLE) -> int:
    """Units of exactly this lot (None: stock without a lot) in this state at this location."""
    session.flush()
    quantity = session.scalar(
        select(StockBalance.quantity).where(
            StockBalance.location_id == location.id,
            StockBalance.product_id == product.id,
            _lot_is(lot.id if lot else None),
            StockBalance.state == str(StockState(state)),
        )
    )
    return quantity or 0


def total(session: Session, *, product: Product, state: StockState = StockState.AVAILABLE,
          location_ids: Iterable[int] | None = None) -> int:
    """Units of the product in this state, every lot, at these locations (None: everywhere)."""
    stmt = select(func.coalesce(func.sum(StockBalance.quantity), 0)).where(
        StockBalance.product_id == product.id, StockBalance.state == str(StockState(state))
    )
    if location_ids is not None:
        stmt = stmt.where(StockBalance.location_id.in_(list(location_ids)))
    return int(session.scalar(stmt))


def balances_statement(*, location_ids: Iterable[int] | None = None, product_id: int | None = None,
                       lot_id: int | None = None, states: Iterable[StockState] | None = None,
                       include_zero: bool = False) -> Select:
    stmt = select(StockBalance)
    if location_ids is not None:
        stmt = stmt.where(StockBalance.location_id.in_(list(location_ids)))
    if product_id is not None:
        stmt = stmt.where(StockBalance.product_id == product_id)
    if lot_id is not None:
        stmt = stmt.where(StockBalance.lot_id == lot_id)
    if states is not None:
        stmt = stmt.where(StockBalance.state.in_([str(StockState(s)) for s in states]))
    if not include_zero:
        stmt = stmt.where(StockBalance.quantity > 0)
    return stmt.order_by(StockBalance.location_id, StockBalance.product_id, StockBalance.lot_id,
                         StockBalance.state).execution_options(populate_existing=True)


def balances(session: Session, *, location: StockLocation | None = None, product: Product | None = None,
             lot: Lot | None = None, states: Iterable[StockState] | None = None,
             location_ids: Iterable[int] | None = None, include_zero: bool = False) -> list[StockBalance]:
    """The balances matching every filter given (a location or several location ids, a product, a lot,
    states), zero balances left out unless asked for."""
    session.flush()
    if location is not None:
        location_ids = [location.id]
    return list(
        session.scalars(
            balances_statement(location_ids=location_ids, product_id=product.id if product else None,
                               lot_id=lot.id if lot else None, states=states, include_zero=include_zero)
        )
    )


def totals_by_product_and_state(session: Session, *, location_ids: Iterable[int] | None = None
                                ) -> dict[tuple[int, str], int]:
    """{(product id, state): units} summed over lots and the given locations (None: everywhere)."""
    stmt = select(StockBalance.product_id, StockBalance.state, func.sum(StockBalance.quantity)).group_by(
        StockBalance.product_id, StockBalance.state
    )
    if location_ids is not None:
        stmt = stmt.where(StockBalance.location_id.in_(list(location_ids)))
    return {(product_id, state): int(quantity) for product_id, state, quantity in session.execute(stmt)}


def _fefo_order(item: LotQuantity):
    lot = item.lot
    if lot is None:
        return (2, date.max, "", 0)
    return (0 if lot.expiry_on else 1, lot.expiry_on or date.max, lot.lot_number, lot.id)


def available_by_lot(session: Session, *, product: Product, location: StockLocation,
                     state: StockState = StockState.AVAILABLE) -> list[LotQuantity]:
    """The units per lot at the location in this state, first expiry first (then lot number; stock without
    an expiry date after dated lots, and stock without a lot last): the order to pick in."""
    rows = balances(session, location=location, product=product, states=[state])
    return sorted((LotQuantity(row.lot, row.quantity) for row in rows), key=_fefo_order)


def pick_fefo(session: Session, *, location: StockLocation, product: Product, quantity: int,
              usable_on: date | None, state: StockState = StockState.AVAILABLE) -> list[LotQuantity]:
    """Which lots to take ``quantity`` from, first expiry first out; lots expiring before ``usable_on`` are
    passed over (None: none are). A plan only: nothing is locked or written.

    Raises InsufficientStock when the usable lots hold less than ``quantity``.
    """
    _check_quantity(quantity)
    usable = [
        item
        for item in available_by_lot(session, product=product, location=location, state=state)
        if usable_on is None or item.expiry_on is None or item.expiry_on >= usable_on
    ]
    held = sum(item.quantity for item in usable)
    if held < quantity:
        raise InsufficientStock(product=product, lot=None, location=location, state=state, available=held,
                                requested=quantity)
    picks, left = [], quantity
    for item in usable:
        if left == 0:
            break
        take = min(left, item.quantity)
        picks.append(LotQuantity(item.lot, take))
        left -= take
    return picks


def movements_statement(*, product_id: int | None = None, location_ids: Iterable[int] | None = None,
                        lot_id: int | None = None, kinds: Iterable[MovementKind] | None = None,
                        document: DocumentRef | None = None) -> Select:
    """The movements matching every filter given, newest first; a location matches either side."""
    stmt = select(StockMovement)
    if product_id is not None:
        stmt = stmt.where(StockMovement.product_id == product_id)
    if location_ids is not None:
        ids = list(location_ids)
        stmt = stmt.where(or_(StockMovement.from_location_id.in_(ids), StockMovement.to_location_id.in_(ids)))
    if lot_id is not None:
        stmt = stmt.where(StockMovement.lot_id == lot_id)
    if kinds is not None:
        stmt = stmt.where(StockMovement.kind.in_([str(MovementKind(k)) for k in kinds]))
    if document is not None:
        stmt = stmt.where(StockMovement.document_type == document.type)
        if document.id is not None:
            stmt = stmt.where(StockMovement.document_id == document.id)
    return stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())


def movements(session: Session, *, product: Product | None = None, location: StockLocation | None = None,
              lot: Lot | None = None, kinds: Iterable[MovementKind] | None = None,
              document: DocumentRef | None = None) -> list[StockMovement]:
    """The ledger rows matching every filter given, newest first."""
    session.flush()
    return list(
        session.scalars(
            movements_statement(
                product_id=product.id if product else None,
                location_ids=[location.id] if location else None,
                lot_id=lot.id if lot else None,
                kinds=kinds,
                document=document,
            )
        )
    )


# --- verification ----------------------------------------------------------------------------------------


def derived_balances(session: Session) -> dict[BalanceKey, int]:
    """Every balance recomputed from the movements alone: what came in minus what went out."""
    session.flush()
    derived: dict[BalanceKey, int] = defaultdict(int)
    m = StockMovement
    sides = (
        (m.to_location_id, m.to_state, 1),
        (m.from_location_id, m.from_state, -1),
    )
    for location, state, sign in sides:
        stmt = (
            select(location, m.product_id, m.lot_id, state, func.sum(m.quantity))
            .where(location.is_not(None))
            .group_by(location, m.product_id, m.lot_id, state)
        )
        for location_id, product_id, lot_id, state_value, quantity in session.execute(stmt):
            derived[BalanceKey(location_id, product_id, lot_id, state_value)] += sign * int(quantity)
    return dict(derived)


def recorded_balances(session: Session) -> dict[BalanceKey, int]:
    session.flush()
    rows = session.execute(
        select(StockBalance.location_id, StockBalance.product_id, StockBalance.lot_id, StockBalance.state,
               StockBalance.quantity)
    )
    return {BalanceKey(*row[:4]): row[4] for row in rows}


def verify(session: Session) -> list[BalanceDifference]:
    """The balances that differ from the sum of their movements (a zero balance equals no row); none
    should. Read only."""
    derived = derived_balances(session)
    recorded = recorded_balances(session)
    differences = []
    for key in sorted(set(derived) | set(recorded), key=lambda k: (k[0], k[1], k[2] or 0, k[3])):
        if derived.get(key, 0) != recorded.get(key, 0):
            differences.append(BalanceDifference(key, recorded.get(key, 0), derived.get(key, 0)))
    return differences
