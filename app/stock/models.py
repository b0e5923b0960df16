"""The stock ledger's tables: locations, lots, the append-only movements and the balance projection.

Balances are derived: ``stock_movements`` is the truth, ``stock_balances`` is a projection of it that only
``app/stock/ledger.py`` writes, in the same transaction as the movement it follows from. ``flask stock
verify`` recomputes the projection from the movements.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Product
from app.db import Base, utcnow
from app.organisations.models import Organisation

if TYPE_CHECKING:
    from app.auth.models import User


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"  # a national warehouse (nationellt lager) run for the agency
    ORGANISATION = "organisation"  # a region's, municipality's or county board's own stock
    TRANSIT = "transit"  # dispatched and not yet confirmed by the recipient (one virtual location)

    @property
    def label(self) -> str:
        return str(LOCATION_KIND_LABELS[self])


LOCATION_KIND_LABELS = {
    LocationKind.WAREHOUSE: _l("National warehouse"),
    LocationKind.ORGANISATION: _l("Organisation"),
    LocationKind.TRANSIT: _l("In transit"),
}


class StockState(StrEnum):
    """What the units at a location may be used for."""

    QUARANTINE = "quarantine"  # received, awaiting inspection (karantän)
    AVAILABLE = "available"  # released: may be allocated, shipped or used
    RESERVED = "reserved"  # promised by an allocation decision or transfer, not yet shipped
    REJECTED = "rejected"  # failed inspection or refused on delivery: awaiting return or destruction
    IN_TRANSIT = "in_transit"  # only at the transit location: on its way to a recipient

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])


STATE_LABELS = {
    StockState.QUARANTINE: _l("Quarantine"),
    StockState.AVAILABLE: _l("Available"),
    StockState.RESERVED: _l("Reserved"),
    StockState.REJECTED: _l("Rejected"),
    StockState.IN_TRANSIT: _l("In transit"),
}


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # in from outside: purchase order delivery, rescEU, donation, opening stock
    RELEASE = "release"  # quarantine -> available after inspection
    REJECTION = "rejection"  # quarantine/available -> rejected (reason)
    DISPOSAL = "disposal"  # out: destroyed
    RETURN_TO_SUPPLIER = "return_to_supplier"  # out: sent back to the supplier
    RESERVATION = "reservation"  # available -> reserved
    RESERVATION_RELEASE = "reservation_release"  # reserved -> available (cancelled)
    DISPATCH = "dispatch"  # available/reserved -> transit
    DELIVERY = "delivery"  # transit -> the recipient's available stock (accepted)
    DELIVERY_REJECTION = "delivery_rejection"  # transit -> the recipient's rejected stock (reason)
    DELIVERY_LOSS = "delivery_loss"  # transit -> out: never arrived (reason)
    TRANSFER = "transfer"  # direct move between locations (or states) without transit
    ADJUSTMENT = "adjustment"  # in or out: a count correction (reason)
    CONSUMPTION = "consumption"  # out: used by the organisation holding it

    @property
    def label(self) -> str:
        return str(MOVEMENT_KIND_LABELS[self])


MOVEMENT_KIND_LABELS = {
    MovementKind.RECEIPT: _l("Receipt"),
    MovementKind.RELEASE: _l("Release"),
    MovementKind.REJECTION: _l("Rejection"),
    MovementKind.DISPOSAL: _l("Disposal"),
    MovementKind.RETURN_TO_SUPPLIER: _l("Return to supplier"),
    MovementKind.RESERVATION: _l("Reservation"),
    MovementKind.RESERVATION_RELEASE: _l("Reservation cancelled"),
    MovementKind.DISPATCH: _l("Dispatch"),
    MovementKind.DELIVERY: _l("Delivery confirmed"),
    MovementKind.DELIVERY_REJECTION: _l("Refused on delivery"),
    MovementKind.DELIVERY_LOSS: _l("Lost in transit"),
    MovementKind.TRANSFER: _l("Transfer"),
    MovementKind.ADJUSTMENT: _l("Adjustment"),
    MovementKind.CONSUMPTION: _l("Consumption"),
}

# Kinds whose movement must say why; the database refuses them without a reason.
KINDS_NEEDING_REASON = frozenset(
    {
        MovementKind.REJECTION,
        MovementKind.DELIVERY_REJECTION,
        MovementKind.DELIVERY_LOSS,
        MovementKind.ADJUSTMENT,
    }
)


class StockLocation(Base):
    """Where stock is: a national warehouse, an organisation's own stock, or the virtual transit location."""

    __tablename__ = "stock_locations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(LocationKind)})", name="kind"),
        CheckConstraint(
            "(kind = 'organisation' AND organisation_id IS NOT NULL) "
            "OR (kind != 'organisation' AND organisation_id IS NULL)",
            name="organisation_iff_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def location_kind(self) -> LocationKind:
        return LocationKind(self.kind)

    @property
    def is_warehouse(self) -> bool:
        return self.kind == LocationKind.WAREHOUSE

    @property
    def is_transit(self) -> bool:
        return self.kind == LocationKind.TRANSIT

    def __repr__(self) -> str:
        return f"<StockLocation {self.code}>"


class Lot(Base):
    """A manufacturer's lot (batch, tillverkningssats) of one product, with its expiry date."""

    __tablename__ = "stock_lots"
    __table_args__ = (UniqueConstraint("product_id", "lot_number", name="uq_stock_lots_product_lot_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_on: Mapped[date | None] = mapped_column(Date, index=True)
    manufactured_on: Mapped[date | None] = mapped_column(Date)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()

    def __repr__(self) -> str:
        return f"<Lot {self.lot_number} of product {self.product_id}>"


_STATE_CHECK = _in(StockState)


class StockMovement(Base):
    """One movement of one product (and lot) between two places in the ledger. Never updated or deleted.

    ``from_*`` is empty for an inflow (receipt, positive adjustment), ``to_*`` for an outflow (disposal,
    loss, consumption, negative adjustment). The migration installs triggers on SQLite and PostgreSQL that
    refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(f"kind IN ({_in(MovementKind)})", name="kind"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="has_a_side"),
        CheckConstraint(
            "(from_location_id IS NULL AND from_state IS NULL) "
            "OR (from_location_id IS NOT NULL AND from_state IN (" + _STATE_CHECK + "))",
            name="from_side",
        ),
        CheckConstraint(
            "(to_location_id IS NULL AND to_state IS NULL) "
            "OR (to_location_id IS NOT NULL AND to_state IN (" + _STATE_CHECK + "))",
            name="to_side",
        ),
        CheckConstraint(
            f"kind NOT IN ({_in(sorted(KINDS_NEEDING_REASON))}) OR (reason IS NOT NULL AND reason != '')",
            name="reason_given",
        ),
        Index("ix_stock_movements_document", "document_type", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    to_state: Mapped[str | None] = mapped_column(String(16))
    # The document the movement belongs to: a type ("purchase_order_receipt", "shipment", "transfer") and its
    # row id, and the number people use for it ("PO-2026-00042").
    document_type: Mapped[str | None] = mapped_column(String(40))
    document_id: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(60), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # No ON DELETE action, as for audit entries: a movement keeps naming who made it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship()
    lot: Mapped[Lot | None] = relationship()
    from_location: Mapped[StockLocation | None] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[StockLocation | None] = relationship(foreign_keys=[to_location_id])
    user: Mapped[User | None] = relationship()

    @property
    def movement_kind(self) -> MovementKind:
        return MovementKind(self.kind)

    def __repr__(self) -> str:
        return f"<StockMovement {self.id} {self.kind} {self.quantity}>"


class StockBalance(Base):
    """How many units of a product (and lot) a location holds in one state: a projection of the movements.

    Written only by ``app.stock.ledger``, under a row lock, in the movement's transaction. Rows without a lot
    are unique through their own partial index, since NULLs never collide in a plain unique constraint.
    """

    __tablename__ = "stock_balances"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint(f"state IN ({_STATE_CHECK})", name="state"),
        Index(
            "uq_stock_balances_with_lot",
            "location_id",
            "product_id",
            "lot_id",
            "state",
            unique=True,
            sqlite_where=text("lot_id IS NOT NULL"),
            postgresql_where=text("lot_id IS NOT NULL"),
        ),
        Index(
            "uq_stock_balances_without_lot",
            "location_id",
            "product_id",
            "state",
            unique=True,
            sqlite_where=text("lot_id IS NULL"),
            postgresql_where=text("lot_id IS NULL"),
        ),
        Index("ix_stock_balances_product_state", "product_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    location: Mapped[StockLocation] = relationship()
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot | None] = relationship()

    @property
    def stock_state(self) -> StockState:
        return StockState(self.state)

    def __repr__(self) -> str:
        return f"<StockBalance {self.location_id}/{self.product_id}/{self.lot_id}/{self.state}={self.quantity}>"
