"""Stock as the access policy lets each user see it, and the use cases behind the stock pages.

The national agency and the government offices see every location; a county board the locations of the
organisations in its county (its own included); a region or municipality its own location only. The
ledger itself (app/stock/ledger.py) knows nothing of users' scope: callers check it here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, case, select, true
from sqlalchemy.orm import Session

from app.auth.access import Scope, can_see_organisation, organisation_scope_filter, scope_of
from app.catalog.models import Product
from app.organisations.models import Organisation
from app.stock import ledger
from app.stock.models import LocationKind, Lot, StockBalance, StockLocation, StockMovement, StockState

# The states shown as columns on the stock pages, in the order goods pass through them.
SHOWN_STATES = (
    StockState.AVAILABLE,
    StockState.QUARANTINE,
    StockState.RESERVED,
    StockState.REJECTED,
    StockState.IN_TRANSIT,
)


def location_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on StockLocation limiting rows to the locations the user may see."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    return StockLocation.organisation_id.in_(select(Organisation.id).where(organisation_scope_filter(user)))


def can_see_location(user, location: StockLocation) -> bool:
    if scope_of(user) is Scope.NATIONAL:
        return True
    return location.organisation is not None and can_see_organisation(user, location.organisation)


def visible_locations(session: Session, user) -> list[StockLocation]:
    """The locations the user may see: warehouses first, then transit, then organisations by name."""
    order = case(
        (StockLocation.kind == LocationKind.WAREHOUSE, 0),
        (StockLocation.kind == LocationKind.TRANSIT, 1),
        else_=2,
    )
    return list(
        session.scalars(
            select(StockLocation)
            .where(location_scope_filter(user))
            .order_by(order, StockLocation.name, StockLocation.id)
        )
    )


def national_location_ids(session: Session) -> list[int]:
    """The national stock: every warehouse, and what is in transit from them."""
    return list(
        session.scalars(
            select(StockLocation.id).where(
                StockLocation.kind.in_([LocationKind.WAREHOUSE.value, LocationKind.TRANSIT.value])
            )
        )
    )


def movement_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on StockMovement: movements into or out of a location the user may see."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    visible = select(StockLocation.id).where(location_scope_filter(user))
    return StockMovement.from_location_id.in_(visible) | StockMovement.to_location_id.in_(visible)


@dataclass
class StockRow:
    """One location's units of one product and lot, per state."""

    location: StockLocation
    product: Product
    lot: Lot | None
    quantities: dict[str, int] = field(default_factory=dict)

    def quantity(self, state: StockState) -> int:
        return self.quantities.get(str(state), 0)

    @property
    def total(self) -> int:
        return sum(self.quantities.values())


def stock_rows(balances: list[StockBalance]) -> list[StockRow]:
    """Balances folded into one row per location, product and lot; lots first expiry first."""
    rows: dict[tuple, StockRow] = {}
    for item in balances:
        key = (item.location_id, item.product_id, item.lot_id)
        row = rows.setdefault(key, StockRow(item.location, item.product, item.lot))
        row.quantities[item.state] = row.quantities.get(item.state, 0) + item.quantity
    kind_order = {LocationKind.WAREHOUSE: 0, LocationKind.TRANSIT: 1, LocationKind.ORGANISATION: 2}

    def order(row: StockRow):
        lot = row.lot
        return (
            kind_order[LocationKind(row.location.kind)],
            row.location.name,
            row.product.sku,
            lot is None,
            lot is not None and lot.expiry_on is None,
            (lot.expiry_on.isoformat() if lot is not None and lot.expiry_on else ""),
            lot.lot_number if lot is not None else "",
        )

    return sorted(rows.values(), key=order)


def visible_rows(session: Session, user, *, product: Product | None = None,
                 location: StockLocation | None = None) -> list[StockRow]:
    """The user's visible stock of a product, or at a location, as rows per location and lot."""
    stmt = (
        ledger.balances_statement(product_id=product.id if product else None,
                                  location_ids=[location.id] if location else None)
        .join(StockLocation, StockBalance.location_id == StockLocation.id)
        .where(location_scope_filter(user))
    )
    return stock_rows(list(session.scalars(stmt)))


# --- adjustments ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustmentData:
    location_id: int
    product_id: int
    lot_number: str | None
    state: str
    direction: str  # "add" or "remove"
    quantity: int
    reason: str


def adjust_stock(session: Session, user, data: AdjustmentData) -> StockMovement:
    """A count correction entered by hand (inventering): ``quantity`` units added to or removed from one
    balance, with the reason. Flush only.

    Raises StockError beside the field at fault: an unknown or invisible location, an unknown product, a lot
    not registered for the product, no reason; InsufficientStock when removing more than is there.
    """
    location = session.get(StockLocation, data.location_id)
    if location is None or location.is_transit or not can_see_location(user, location):
        raise ledger.StockError(_("Choose a stock location."), field="location_id")
    product = session.get(Product, data.product_id)
    if product is None:
        raise ledger.StockError(_("Choose a product."), field="product_id")
    lot = None
    lot_number = (data.lot_number or "").strip()
    if lot_number:
        lot = session.scalar(select(Lot).where(and_(Lot.product_id == product.id, Lot.lot_number == lot_number)))
        if lot is None:
            raise ledger.StockError(
                _("There is no lot %(lot)s of %(product)s.", lot=lot_number, product=product.sku),
                field="lot_number",
            )
    delta = data.quantity if data.direction == "add" else -data.quantity
    return ledger.adjust(session, user, location=location, product=product, delta=delta, reason=data.reason,
                         lot=lot, state=StockState(data.state))
