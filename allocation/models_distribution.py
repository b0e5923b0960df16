"""Distribution of stock: allocation rounds and decisions, shipments with proof of delivery, redistribution
proposals and decisions, the compensation ledger, and requests for national allocation."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.catalog.models import Product, ProductCategory
from app.db import Base, utcnow
from app.enums import LabelledEnum, sql_in
from app.organisations.models import County, Organisation
from app.stock.models import Lot, StockLocation

# --- allocation rounds and decisions (fördelningsbeslut) ----------------------------------------------------


class AllocationPolicy(LabelledEnum):
    """The engine's policies (allocation/engine.py)."""

    DAYS_OF_SUPPLY = "days_of_supply"
    PROPORTIONAL = "proportional"
    POPULATION = "population"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.DAYS_OF_SUPPLY: _l("Equal days of supply (max-min)"),
            cls.PROPORTIONAL: _l("In proportion to need (Sainte-Laguë)"),
            cls.POPULATION: _l("In proportion to population (Sainte-Laguë)"),
        }


class RecipientScope(LabelledEnum):
    """Who a round allocates to."""

    ALL = "all"  # every region and municipality with registered need
    COUNTY = "county"  # one county's region and municipalities
    COUNTY_BOARDS = "county_boards"  # county boards, who pass it on in a second round of their own

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ALL: _l("All regions and municipalities with registered need"),
            cls.COUNTY: _l("One county's region and municipalities"),
            cls.COUNTY_BOARDS: _l("County boards, who allocate on to their municipalities"),
        }


class RoundStatus(LabelledEnum):
    DRAFT = "draft"
    DECIDED = "decided"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.DRAFT: _l("Draft"), cls.DECIDED: _l("Decided"), cls.CANCELLED: _l("Cancelled")}


class AllocationRound(Base):
    """An allocation round: released stock of one or more products shared out by registered need; once
    decided it is an allocation decision (fördelningsbeslut) with a number such as 2026-0017.

    A second-level round belongs to a county board: it shares out what the board received from a national
    round (``parent_id``) among the county's municipalities.
    """

    __tablename__ = "allocation_rounds"
    __table_args__ = (
        CheckConstraint(f"policy IN ({sql_in(AllocationPolicy)})", name="policy"),
        CheckConstraint(f"recipient_scope IN ({sql_in(RecipientScope)})", name="recipient_scope"),
        CheckConstraint(f"status IN ({sql_in(RoundStatus)})", name="status"),
        CheckConstraint("horizon_days > 0", name="horizon_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=RoundStatus.DRAFT.value, index=True)
    policy: Mapped[str] = mapped_column(String(20), default=AllocationPolicy.DAYS_OF_SUPPLY.value)
    recipient_scope: Mapped[str] = mapped_column(String(20), default=RecipientScope.ALL.value)
    county_code: Mapped[str | None] = mapped_column(ForeignKey("counties.code"))
    horizon_days: Mapped[int] = mapped_column(Integer, default=21)
    # The organisation deciding (the agency, or a county board in a second-level round) and the stock it
    # allocates from (a national warehouse, or the board's own location).
    decided_by_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    source_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_rounds.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)  # 2026-0017, given on decision
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    legal_basis: Mapped[str] = mapped_column(
        Text,
        default="Förordning (2020:126) om fördelning av sjukvårdsmaterial till följd av spridningen av "
        "sjukdomen covid-19",
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    county: Mapped[County | None] = relationship()
    decided_by_organisation: Mapped[Organisation] = relationship()
    source_location: Mapped[StockLocation] = relationship()
    parent: Mapped[AllocationRound | None] = relationship(remote_side=[id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    products: Mapped[list[RoundProduct]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundProduct.id"
    )
    lines: Mapped[list[AllocationLine]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="AllocationLine.id"
    )


class RoundProduct(Base):
    """A product a round shares out: how much, in which packs, and whose need it meets.

    Need is registered per category; ``need_category_id`` names the category whose need this product meets.
    When it differs from the product's own category (FFP3 respirators meeting the need for FFP2) the decision
    says so: ``substitute_note`` explains why the product is equivalent or better.
    """

    __tablename__ = "allocation_round_products"
    __table_args__ = (
        UniqueConstraint("round_id", "product_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("allocation_rounds.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    need_category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"))
    quantity: Mapped[int] = mapped_column(Integer)  # units to share out
    pack_size: Mapped[int] = mapped_column(Integer)
    substitute_note: Mapped[str | None] = mapped_column(Text)

    round: Mapped[AllocationRound] = relationship(back_populates="products")
    product: Mapped[Product] = relationship()
    need_category: Mapped[ProductCategory] = relationship()


class AllocationLine(Base):
    """One recipient's share of one product in a round, with the engine's explanation and any adjustment.

    ``computed_quantity`` is what the engine gave; ``quantity`` is what is decided. They differ only by a
    manual adjustment, which needs ``adjustment_reason``.
    """

    __tablename__ = "allocation_lines"
    __table_args__ = (
        UniqueConstraint("round_id", "product_id", "recipient_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("computed_quantity >= 0", name="computed_not_negative"),
        CheckConstraint(
            "quantity = computed_quantity OR adjustment_reason IS NOT NULL", name="adjustment_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("allocation_rounds.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The claim as the engine saw it.
    need: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    daily_use: Mapped[str] = mapped_column(String(40))  # exact decimal/fraction as text
    population: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[str] = mapped_column(String(20), default="1")
    national_request_line_id: Mapped[int | None] = mapped_column(ForeignKey("national_request_lines.id"))
    # The engine's explanation.
    days_before: Mapped[str | None] = mapped_column(String(40))
    days_after: Mapped[str | None] = mapped_column(String(40))
    continuous_share: Mapped[str | None] = mapped_column(String(80))  # exact Fraction as text
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_quantity: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    adjustment_reason: Mapped[str | None] = mapped_column(Text)
    adjusted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    adjusted_at: Mapped[datetime | None]

    round: Mapped[AllocationRound] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    recipient: Mapped[Organisation] = relationship()
    adjusted_by: Mapped[User | None] = relationship()


# --- shipments and proof of delivery ------------------------------------------------------------------------


class ShipmentStatus(LabelledEnum):
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"  # arrived, per the carrier, awaiting the recipient's confirmation
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PLANNED: _l("Planned"),
            cls.DISPATCHED: _l("Dispatched"),
            cls.DELIVERED: _l("Delivered, awaiting confirmation"),
            cls.CONFIRMED: _l("Confirmed by recipient"),
            cls.CANCELLED: _l("Cancelled"),
        }


class Shipment(Base):
    """A shipment (leverans) of stock to one recipient: for an allocation decision, or for a transfer between
    organisations in redistribution. The recipient confirms what arrived (kvittens)."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(ShipmentStatus)})", name="status"),
        CheckConstraint("(round_id IS NULL) <> (transfer_id IS NULL)", name="one_origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # LS-2026-00042
    round_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_rounds.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    status: Mapped[str] = mapped_column(String(20), default=ShipmentStatus.PLANNED.value, index=True)
    carrier: Mapped[str | None] = mapped_column(String(120))
    tracking_reference: Mapped[str | None] = mapped_column(String(120))
    delivery_address: Mapped[str | None] = mapped_column(Text)  # e.g. the county's transshipment point
    dispatched_at: Mapped[datetime | None]
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivered_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_by_name: Mapped[str | None] = mapped_column(String(160))  # who took delivery at the door
    unconfirmed_reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    round: Mapped[AllocationRound | None] = relationship()
    transfer: Mapped[Transfer | None] = relationship(back_populates="shipment")
    recipient: Mapped[Organisation] = relationship()
    from_location: Mapped[StockLocation] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[StockLocation] = relationship(foreign_keys=[to_location_id])
    dispatched_by: Mapped[User | None] = relationship(foreign_keys=[dispatched_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", cascade="all, delete-orphan", order_by="ShipmentLine.id"
    )


class DiscrepancyReason(LabelledEnum):
    SHORT = "short"
    DAMAGED = "damaged"
    WRONG_PRODUCT = "wrong_product"
    EXPIRED = "expired"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SHORT: _l("Short delivery"),
            cls.DAMAGED: _l("Damaged"),
            cls.WRONG_PRODUCT: _l("Wrong product"),
            cls.EXPIRED: _l("Expired"),
        }


class ShipmentLine(Base):
    """One lot of one product on a shipment, and what the recipient confirmed of it.

    On confirmation ``accepted + rejected + missing = quantity``; rejected or missing units carry a reason.
    """

    __tablename__ = "shipment_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "accepted IS NULL OR (accepted >= 0 AND rejected >= 0 AND missing >= 0 "
            "AND accepted + rejected + missing = quantity)",
            name="confirmation_adds_up",
        ),
        CheckConstraint(
            f"discrepancy_reason IS NULL OR discrepancy_reason IN ({sql_in(DiscrepancyReason)})",
            name="discrepancy_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("stock_lots.id"))
    allocation_line_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int | None] = mapped_column(Integer)
    rejected: Mapped[int | None] = mapped_column(Integer)
    missing: Mapped[int | None] = mapped_column(Integer)
    discrepancy_reason: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot | None] = relationship()

    @property
    def has_discrepancy(self) -> bool:
        return bool(self.rejected or self.missing)


class FollowUpStatus(LabelledEnum):
    OPEN = "open"
    RESOLVED = "resolved"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.OPEN: _l("Open"), cls.RESOLVED: _l("Resolved")}


class DeliveryFollowUp(Base):
    """A discrepancy on a confirmed shipment, for the national (or county) coordinator to follow up."""

    __tablename__ = "delivery_follow_ups"
    __table_args__ = (CheckConstraint(f"status IN ({sql_in(FollowUpStatus)})", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=FollowUpStatus.OPEN.value, index=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    shipment: Mapped[Shipment] = relationship()
    resolved_by: Mapped[User | None] = relationship()


# --- redistribution (omfördelning) -----------------------------------------------------------------------------


class ProposalStatus(LabelledEnum):
    DRAFT = "draft"
    AGREED = "agreed"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.DRAFT: _l("Draft"), cls.AGREED: _l("Agreed"), cls.CANCELLED: _l("Cancelled")}


class RedistributionProposal(Base):
    """A redistribution plan: a county board's proposal agreed at a logistics meeting, or the national
    agency's redistribution decision (omfördelningsbeslut, förordning 2020:126) across counties."""

    __tablename__ = "redistribution_proposals"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(ProposalStatus)})", name="status"),
        CheckConstraint("target_days > 0", name="target_days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # OF-2026-0003
    is_national_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    county_code: Mapped[str | None] = mapped_column(ForeignKey("counties.code"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.DRAFT.value, index=True)
    target_days: Mapped[int] = mapped_column(Integer, default=21)  # stock above this many days is surplus
    legal_basis: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agreed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    county: Mapped[County | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    agreed_by: Mapped[User | None] = relationship(foreign_keys=[agreed_by_id])
    lines: Mapped[list[Transfer]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Transfer.id"
    )
    meetings: Mapped[list[LogisticsMeeting]] = relationship(
        back_populates="proposal", order_by="LogisticsMeeting.held_on"
    )


class Transfer(Base):
    """One transfer of a product from a giving to a receiving organisation.

    ``planned_quantity`` is the planner's; ``quantity`` what is agreed (an edit needs ``edit_reason``). Once
    agreed the giver dispatches it as a :class:`Shipment` and the receiver confirms it.
    """

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("planned_quantity >= 0", name="planned_not_negative"),
        CheckConstraint("source_id <> target_id", name="two_parties"),
        CheckConstraint("quantity = planned_quantity OR edit_reason IS NOT NULL", name="edit_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("redistribution_proposals.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    planned_quantity: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    distance_km: Mapped[str | None] = mapped_column(String(20))
    edit_reason: Mapped[str | None] = mapped_column(Text)

    proposal: Mapped[RedistributionProposal] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    source: Mapped[Organisation] = relationship(foreign_keys=[source_id])
    target: Mapped[Organisation] = relationship(foreign_keys=[target_id])
    shipment: Mapped[Shipment | None] = relationship(back_populates="transfer", uselist=False)


class LogisticsMeeting(Base):
    """A logistics meeting (logistikberedning) where a county's redistribution proposal is discussed."""

    __tablename__ = "logistics_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("redistribution_proposals.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text)
    minutes: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[RedistributionProposal] = relationship(back_populates="meetings")
    recorded_by: Mapped[User] = relationship()


class ReferencePrice(Base):
    """The price per unit (öre) a transferred product is valued at for compensation, from a date."""

    __tablename__ = "reference_prices"
    __table_args__ = (
        UniqueConstraint("product_id", "valid_from"),
        CheckConstraint("price_ore > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    price_ore: Mapped[int] = mapped_column(BigInteger)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()


class Settlement(Base):
    """A payment settling compensation entries between two organisations (reglering)."""

    __tablename__ = "compensation_settlements"
    __table_args__ = (CheckConstraint("amount_ore > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_ore: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    debtor: Mapped[Organisation] = relationship(foreign_keys=[debtor_id])
    creditor: Mapped[Organisation] = relationship(foreign_keys=[creditor_id])


class CompensationEntry(Base):
    """A booking in the compensation ledger: the receiver of a transfer owes the giver its value (append-only).

    ``amount_ore = quantity × unit_price_ore`` exactly.
    """

    __tablename__ = "compensation_entries"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount_ore = quantity * unit_price_ore", name="amount_exact"),
        CheckConstraint("debtor_id <> creditor_id", name="two_parties"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the receiver
    creditor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the giver
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_ore: Mapped[int] = mapped_column(BigInteger)
    amount_ore: Mapped[int] = mapped_column(BigInteger)
    booked_on: Mapped[date] = mapped_column(Date, index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("compensation_settlements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transfer: Mapped[Transfer] = relationship()
    debtor: Mapped[Organisation] = relationship(foreign_keys=[debtor_id])
    creditor: Mapped[Organisation] = relationship(foreign_keys=[creditor_id])
    product: Mapped[Product] = relationship()
    settlement: Mapped[Settlement | None] = relationship()


# --- requests for national allocation (begäran om nationell fördelning) ------------------------------------------


class RequestStatus(LabelledEnum):
    SUBMITTED = "submitted"
    IN_ROUND = "in_round"  # its lines are claims in an allocation round
    ANSWERED = "answered"  # the round was decided
    DECLINED = "declined"  # by the national coordinator, with ``answer``
    WITHDRAWN = "withdrawn"  # by the county, with its reason in ``answer``

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SUBMITTED: _l("Submitted"),
            cls.IN_ROUND: _l("Included in an allocation round"),
            cls.ANSWERED: _l("Answered by an allocation decision"),
            cls.DECLINED: _l("Declined"),
            cls.WITHDRAWN: _l("Withdrawn"),
        }


class NationalRequest(Base):
    """A county board's combined request for national allocation of what redistribution could not cover."""

    __tablename__ = "national_requests"
    __table_args__ = (CheckConstraint(f"status IN ({sql_in(RequestStatus)})", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # BN-2026-0011
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("redistribution_proposals.id"))
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.SUBMITTED.value, index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_rounds.id"), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    county: Mapped[County] = relationship()
    proposal: Mapped[RedistributionProposal | None] = relationship()
    round: Mapped[AllocationRound | None] = relationship()
    submitted_by: Mapped[User] = relationship()
    lines: Mapped[list[NationalRequestLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="NationalRequestLine.id"
    )


class NationalRequestLine(Base):
    """One organisation's remaining need of one category in a national request."""

    __tablename__ = "national_request_lines"
    __table_args__ = (
        UniqueConstraint("request_id", "organisation_id", "category_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("national_requests.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    request: Mapped[NationalRequest] = relationship(back_populates="lines")
    organisation: Mapped[Organisation] = relationship()
    category: Mapped[ProductCategory] = relationship()
