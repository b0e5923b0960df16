"""Procurement: joint purchases, purchase orders with versions and delivery schedules, EU joint procurement,
incoming supplies without an order, goods receipts and quality inspection."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.catalog.models import Product, ProductCategory
from app.db import Base, utcnow
from app.enums import LabelledEnum, sql_in
from app.organisations.models import Organisation
from app.stock.models import Lot, StockLocation
from suppliers.models import CURRENCIES, INCOTERMS, Certificate, Offer, Supplier

# --- joint purchases -------------------------------------------------------------------------------------------


class CostSplit(LabelledEnum):
    """How a joint purchase's cost is shared between its participants."""

    BY_QUANTITY = "by_quantity"
    EQUAL = "equal"
    BY_POPULATION = "by_population"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.BY_QUANTITY: _l("By quantity taken"),
            cls.EQUAL: _l("Equal shares"),
            cls.BY_POPULATION: _l("By population"),
        }


class JointPurchaseStatus(LabelledEnum):
    DRAFT = "draft"
    ORDERED = "ordered"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.DRAFT: _l("Draft"),
            cls.ORDERED: _l("Ordered"),
            cls.CLOSED: _l("Closed"),
            cls.CANCELLED: _l("Cancelled"),
        }


class JointPurchase(Base):
    """A coordinated (joint) purchase (samordnat inköp) made by a lead buyer for many participants."""

    __tablename__ = "joint_purchases"
    __table_args__ = (
        CheckConstraint(f"cost_split IN ({sql_in(CostSplit)})", name="cost_split"),
        CheckConstraint(f"status IN ({sql_in(JointPurchaseStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. SI-2026-0007
    title: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    lead_buyer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    cost_split: Mapped[str] = mapped_column(String(20), default=CostSplit.BY_QUANTITY.value)
    status: Mapped[str] = mapped_column(String(20), default=JointPurchaseStatus.DRAFT.value, index=True)
    # The registered need it started from: when it was read and the horizon, for the record.
    need_read_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[ProductCategory] = relationship()
    product: Mapped[Product | None] = relationship()
    lead_buyer: Mapped[Organisation] = relationship()
    created_by: Mapped[User] = relationship()
    participants: Mapped[list[JointPurchaseParticipant]] = relationship(
        back_populates="joint_purchase", cascade="all, delete-orphan", order_by="JointPurchaseParticipant.id"
    )


class JointPurchaseParticipant(Base):
    """One organisation taking part in a joint purchase: its registered need, the quantity it takes, its share."""

    __tablename__ = "joint_purchase_participants"
    __table_args__ = (
        UniqueConstraint("joint_purchase_id", "organisation_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("registered_need IS NULL OR registered_need >= 0", name="need_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_purchase_id: Mapped[int] = mapped_column(
        ForeignKey("joint_purchases.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    registered_need: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    # Share of the cost in parts per million of the whole, fixed when the purchase is ordered.
    cost_share_ppm: Mapped[int | None] = mapped_column(Integer)

    joint_purchase: Mapped[JointPurchase] = relationship(back_populates="participants")
    organisation: Mapped[Organisation] = relationship()


# --- purchase orders -------------------------------------------------------------------------------------------


class OrderStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    SENT = "sent"
    CONFIRMED = "confirmed"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.DRAFT: _l("Draft"),
            cls.SUBMITTED: _l("Submitted for approval"),
            cls.APPROVED: _l("Approved"),
            cls.SENT: _l("Sent to supplier"),
            cls.CONFIRMED: _l("Confirmed by supplier"),
            cls.PARTIALLY_RECEIVED: _l("Partially received"),
            cls.RECEIVED: _l("Received"),
            cls.CLOSED: _l("Closed"),
            cls.CANCELLED: _l("Cancelled"),
        }


class ApprovalRule(Base):
    """Who may approve an order up to a value: the rule with the smallest limit at or above the value applies.

    A rule with no limit covers every value above the others. Default: up to 10 MSEK a purchasing officer or
    lead, above that a national coordinator.
    """

    __tablename__ = "order_approval_rules"
    __table_args__ = (CheckConstraint("max_value_ore IS NULL OR max_value_ore > 0", name="limit_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    max_value_ore: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated role values


class ExchangeRate(Base):
    """SEK per one unit of a currency from a given day (Riksbanken's rate, entered by purchasing)."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint("currency", "valid_on"),
        CheckConstraint("sek_per_unit > 0", name="rate_positive"),
        CheckConstraint(f"currency IN ({sql_in(CURRENCIES)})", name="currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[date] = mapped_column(Date)
    sek_per_unit: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurchaseOrder(Base):
    """A purchase order (beställning) to an approved supplier; amounts in the order currency and in SEK öre."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(OrderStatus)})", name="status"),
        CheckConstraint(f"currency IN ({sql_in(CURRENCIES)})", name="currency"),
        CheckConstraint(f"incoterm IS NULL OR incoterm IN ({sql_in(INCOTERMS)})", name="incoterm"),
        CheckConstraint("exchange_rate > 0", name="exchange_rate_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # PO-2026-00042
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    joint_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("joint_purchases.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    framework_contractor_id: Mapped[int | None] = mapped_column(
        ForeignKey("framework_contractors.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.DRAFT.value, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    order_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="SEK")
    # SEK per one unit of the currency, fixed at the order date (1 for SEK).
    exchange_rate: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(1))
    incoterm: Mapped[str | None] = mapped_column(String(3))
    incoterm_place: Mapped[str | None] = mapped_column(String(120))
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    supplier_reference: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    responsible_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    supplier: Mapped[Supplier] = relationship()
    buyer: Mapped[Organisation] = relationship()
    joint_purchase: Mapped[JointPurchase | None] = relationship()
    offer: Mapped[Offer | None] = relationship()
    framework_contractor: Mapped[FrameworkContractor | None] = relationship(back_populates="orders")
    responsible: Mapped[User] = relationship(foreign_keys=[responsible_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderLine.line_number"
    )
    deliveries: Mapped[list[ScheduledDelivery]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="ScheduledDelivery.due_on, ScheduledDelivery.id"
    )
    versions: Mapped[list[PurchaseOrderVersion]] = relationship(
        back_populates="order", order_by="PurchaseOrderVersion.version.desc()"
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_number"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class DeliveryStatus(LabelledEnum):
    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.OPEN: _l("Expected"),
            cls.PARTIALLY_RECEIVED: _l("Partially received (backorder)"),
            cls.RECEIVED: _l("Received"),
            cls.CANCELLED: _l("Cancelled"),
        }


class ScheduledDelivery(Base):
    """A partial delivery of an order line: when, how much, and where to (a warehouse or an organisation)."""

    __tablename__ = "scheduled_deliveries"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(f"status IN ({sql_in(DeliveryStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_lines.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    destination_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.OPEN.value, index=True)
    overdue_notified_at: Mapped[datetime | None]

    order: Mapped[PurchaseOrder] = relationship(back_populates="deliveries")
    line: Mapped[PurchaseOrderLine] = relationship()
    destination: Mapped[StockLocation] = relationship()
    receipts: Mapped[list[GoodsReceipt]] = relationship(back_populates="scheduled_delivery")


class PurchaseOrderVersion(Base):
    """A readable snapshot of an order's terms at one version; an amendment adds one with its reason."""

    __tablename__ = "purchase_order_versions"
    __table_args__ = (UniqueConstraint("order_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    value_ore: Mapped[int] = mapped_column(BigInteger)
    snapshot: Mapped[dict] = mapped_column(JSON)  # lines, schedule and terms as they stood
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[PurchaseOrder] = relationship(back_populates="versions")
    created_by: Mapped[User] = relationship()


# --- EU joint procurement ----------------------------------------------------------------------------------------


class Tender(Base):
    """An EU joint-procurement tender (gemensam upphandling under JPA), e.g. SANTE/C3/2020/015."""

    __tablename__ = "eu_tenders"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    closing_on: Mapped[date | None] = mapped_column(Date)
    awarded_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lots: Mapped[list[TenderLot]] = relationship(back_populates="tender", order_by="TenderLot.number")


class TenderLot(Base):
    """A lot of a tender with Sweden's declared quantity."""

    __tablename__ = "eu_tender_lots"
    __table_args__ = (
        UniqueConstraint("tender_id", "number"),
        CheckConstraint("declared_quantity >= 0", name="declared_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("eu_tenders.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    specification: Mapped[str | None] = mapped_column(Text)
    declared_quantity: Mapped[int] = mapped_column(Integer, default=0)

    tender: Mapped[Tender] = relationship(back_populates="lots")
    category: Mapped[ProductCategory] = relationship()
    product: Mapped[Product | None] = relationship()
    framework_contracts: Mapped[list[FrameworkContract]] = relationship(
        back_populates="lot", order_by="FrameworkContract.id"
    )


class FrameworkContract(Base):
    """A framework contract (ramavtal) signed for a lot, with its contractors in cascade order."""

    __tablename__ = "eu_framework_contracts"
    __table_args__ = (CheckConstraint("valid_until >= valid_from", name="validity_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("eu_tender_lots.id"), index=True)
    reference: Mapped[str] = mapped_column(String(80), unique=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)

    lot: Mapped[TenderLot] = relationship(back_populates="framework_contracts")
    contractors: Mapped[list[FrameworkContractor]] = relationship(
        back_populates="framework_contract", order_by="FrameworkContractor.rank"
    )


class FrameworkContractor(Base):
    """A contractor under a framework contract: its rank in the cascade, maximum quantity and unit price."""

    __tablename__ = "framework_contractors"
    __table_args__ = (
        UniqueConstraint("framework_contract_id", "rank", name="uq_framework_contractors_rank"),
        UniqueConstraint("framework_contract_id", "supplier_id", name="uq_framework_contractors_supplier"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        CheckConstraint("max_quantity > 0", name="max_quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        CheckConstraint(f"currency IN ({sql_in(CURRENCIES)})", name="currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_contract_id: Mapped[int] = mapped_column(ForeignKey("eu_framework_contracts.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    max_quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")

    framework_contract: Mapped[FrameworkContract] = relationship(back_populates="contractors")
    supplier: Mapped[Supplier] = relationship()
    orders: Mapped[list[PurchaseOrder]] = relationship(back_populates="framework_contractor")


# --- supplies without an order, receipts and inspection --------------------------------------------------------


class IncomingSupplyKind(LabelledEnum):
    RESCEU = "resceu"  # an allocation from the EU's rescEU stockpile
    DONATION = "donation"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.RESCEU: _l("rescEU stockpile allocation"), cls.DONATION: _l("Donation")}


class IncomingSupply(Base):
    """Goods that arrive without a purchase order: a rescEU allocation or a donation."""

    __tablename__ = "incoming_supplies"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(IncomingSupplyKind)})", name="kind"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(f"status IN ({sql_in(DeliveryStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))  # donor or the EU decision
    reference: Mapped[str | None] = mapped_column(String(120))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    expected_on: Mapped[date] = mapped_column(Date, index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.OPEN.value, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()
    destination: Mapped[StockLocation] = relationship()
    created_by: Mapped[User] = relationship()
    receipts: Mapped[list[GoodsReceipt]] = relationship(back_populates="incoming_supply")


class GoodsCondition(LabelledEnum):
    GOOD = "good"
    DAMAGED_PACKAGING = "damaged_packaging"
    DAMAGED_GOODS = "damaged_goods"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.GOOD: _l("Good"),
            cls.DAMAGED_PACKAGING: _l("Packaging damaged"),
            cls.DAMAGED_GOODS: _l("Goods damaged"),
        }


class InspectionOutcome(LabelledEnum):
    PENDING = "pending"
    RELEASED = "released"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PENDING: _l("In quarantine, awaiting inspection"),
            cls.RELEASED: _l("Released"),
            cls.REJECTED: _l("Rejected"),
        }


class GoodsReceipt(Base):
    """A goods receipt (godsmottagning): what arrived against a scheduled delivery or an incoming supply.

    The received quantity goes into quarantine at the destination and waits for inspection.
    """

    __tablename__ = "goods_receipts"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "(scheduled_delivery_id IS NULL) <> (incoming_supply_id IS NULL)", name="one_source"
        ),
        CheckConstraint(f"condition IN ({sql_in(GoodsCondition)})", name="condition"),
        CheckConstraint(f"outcome IN ({sql_in(InspectionOutcome)})", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # GR-2026-00017
    scheduled_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("scheduled_deliveries.id"), index=True)
    incoming_supply_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_supplies.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    condition: Mapped[str] = mapped_column(String(20), default=GoodsCondition.GOOD.value)
    notes: Mapped[str | None] = mapped_column(Text)
    over_delivery_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Quality inspection (kvalitetskontroll) of the whole receipt.
    outcome: Mapped[str] = mapped_column(String(20), default=InspectionOutcome.PENDING.value, index=True)
    documents_checked: Mapped[bool | None] = mapped_column(Boolean)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    sample_test_passed: Mapped[bool | None] = mapped_column(Boolean)
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime | None]

    scheduled_delivery: Mapped[ScheduledDelivery | None] = relationship(back_populates="receipts")
    incoming_supply: Mapped[IncomingSupply | None] = relationship(back_populates="receipts")
    product: Mapped[Product] = relationship()
    location: Mapped[StockLocation] = relationship()
    lot: Mapped[Lot] = relationship()
    certificate: Mapped[Certificate | None] = relationship()
    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    inspected_by: Mapped[User | None] = relationship(foreign_keys=[inspected_by_id])
    over_delivery_accepted_by: Mapped[User | None] = relationship(foreign_keys=[over_delivery_accepted_by_id])
