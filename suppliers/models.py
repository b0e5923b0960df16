"""The supplier registry, certificates and documents, offers, the dialogue log, and domestic production projects."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
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
from app.catalog.models import Product
from app.db import Base, utcnow
from app.enums import LabelledEnum, sql_in

# --- the registry ------------------------------------------------------------------------------------------


class SupplierKind(LabelledEnum):
    MANUFACTURER = "manufacturer"  # tillverkare
    DISTRIBUTOR = "distributor"  # distributör eller grossist
    BROKER = "broker"  # mäklare eller agent
    OTHER_HOLDER = "other_holder"  # annan organisation med lager: industri, tandvård …

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.MANUFACTURER: _l("Manufacturer"),
            cls.DISTRIBUTOR: _l("Distributor or wholesaler"),
            cls.BROKER: _l("Broker or agent"),
            cls.OTHER_HOLDER: _l("Other organisation holding stock"),
        }


class VettingStatus(LabelledEnum):
    """Where a supplier stands in due diligence (granskning); only approved suppliers can receive orders."""

    NEW = "new"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.NEW: _l("New"),
            cls.UNDER_REVIEW: _l("Under review"),
            cls.APPROVED: _l("Approved"),
            cls.REJECTED: _l("Rejected"),
            cls.SUSPENDED: _l("Suspended"),
        }


class VettingCheckItem(LabelledEnum):
    """The due-diligence checklist."""

    COMPANY_REGISTRY = "company_registry"  # Bolagsverket or the foreign registry checked
    REFERENCES = "references"
    SAMPLES_TESTED = "samples_tested"
    FINANCIAL_STANDING = "financial_standing"
    SANCTIONS_LISTS = "sanctions_lists"  # EU and UN sanctions lists

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.COMPANY_REGISTRY: _l("Company registry checked"),
            cls.REFERENCES: _l("References taken"),
            cls.SAMPLES_TESTED: _l("Samples tested"),
            cls.FINANCIAL_STANDING: _l("Financial standing checked"),
            cls.SANCTIONS_LISTS: _l("Sanctions lists checked"),
        }


class Supplier(Base):
    """A company or organisation that sells, makes or holds protective equipment (leverantör).

    A Swedish supplier is identified by its organisationsnummer (NNNNNN-NNNN), a foreign one by its
    registration number in its country (ISO 3166-1 alpha-2).
    """

    __tablename__ = "suppliers"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(SupplierKind)})", name="kind"),
        CheckConstraint(f"vetting_status IN ({sql_in(VettingStatus)})", name="vetting_status"),
        CheckConstraint(
            "organisation_number IS NOT NULL OR foreign_registration_number IS NOT NULL", name="identified"
        ),
        CheckConstraint("length(country) = 2", name="country_code"),
        UniqueConstraint("country", "foreign_registration_number", name="uq_suppliers_foreign_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), index=True)
    organisation_number: Mapped[str | None] = mapped_column(String(11), unique=True)
    foreign_registration_number: Mapped[str | None] = mapped_column(String(60))
    country: Mapped[str] = mapped_column(String(2), default="SE", index=True)
    vat_number: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    produces_in_sweden: Mapped[bool] = mapped_column(Boolean, default=False)
    website: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)

    vetting_status: Mapped[str] = mapped_column(String(20), default=VettingStatus.NEW.value, index=True)
    vetting_reason: Mapped[str | None] = mapped_column(Text)
    vetting_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    vetting_decided_at: Mapped[datetime | None]

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    vetting_decided_by: Mapped[User | None] = relationship(foreign_keys=[vetting_decided_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    contacts: Mapped[list[SupplierContact]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", order_by="SupplierContact.id"
    )
    addresses: Mapped[list[SupplierAddress]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", order_by="SupplierAddress.id"
    )
    vetting_checks: Mapped[list[VettingCheck]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", order_by="VettingCheck.id"
    )
    vetting_decisions: Mapped[list[VettingDecision]] = relationship(
        back_populates="supplier", order_by="VettingDecision.decided_at.desc(), VettingDecision.id.desc()"
    )
    products: Mapped[list[SupplierProduct]] = relationship(
        back_populates="supplier", order_by="SupplierProduct.id"
    )

    @property
    def status(self) -> VettingStatus:
        return VettingStatus(self.vetting_status)

    @property
    def is_approved(self) -> bool:
        return self.vetting_status == VettingStatus.APPROVED

    @property
    def identifier(self) -> str:
        return self.organisation_number or f"{self.country} {self.foreign_registration_number}"


class SupplierContact(Base):
    __tablename__ = "supplier_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    supplier: Mapped[Supplier] = relationship(back_populates="contacts")


class AddressKind(LabelledEnum):
    VISITING = "visiting"
    POSTAL = "postal"
    INVOICE = "invoice"
    WAREHOUSE = "warehouse"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.VISITING: _l("Visiting address"),
            cls.POSTAL: _l("Postal address"),
            cls.INVOICE: _l("Invoice address"),
            cls.WAREHOUSE: _l("Warehouse or pick-up address"),
        }


class SupplierAddress(Base):
    __tablename__ = "supplier_addresses"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(AddressKind)})", name="kind"),
        CheckConstraint("length(country) = 2", name="country_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=AddressKind.VISITING.value)
    street: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2), default="SE")

    supplier: Mapped[Supplier] = relationship(back_populates="addresses")


class VettingCheck(Base):
    """One item of a supplier's due-diligence checklist, ticked by whoever checked it."""

    __tablename__ = "supplier_vetting_checks"
    __table_args__ = (
        CheckConstraint(f"item IN ({sql_in(VettingCheckItem)})", name="item"),
        UniqueConstraint("supplier_id", "item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(30))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]

    supplier: Mapped[Supplier] = relationship(back_populates="vetting_checks")
    checked_by: Mapped[User | None] = relationship()


class VettingDecision(Base):
    """A change of vetting status with its reason: the visible history of due diligence (never edited)."""

    __tablename__ = "supplier_vetting_decisions"
    __table_args__ = (
        CheckConstraint(f"from_status IN ({sql_in(VettingStatus)})", name="from_status"),
        CheckConstraint(f"to_status IN ({sql_in(VettingStatus)})", name="to_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship(back_populates="vetting_decisions")
    decided_by: Mapped[User] = relationship()


# --- products, certificates and documents ---------------------------------------------------------------------


class SupplierProduct(Base):
    """A supplier's model of a catalogue product (e.g. "Acme FFP2 NR 9320"); certificates belong to it."""

    __tablename__ = "supplier_products"
    __table_args__ = (UniqueConstraint("supplier_id", "product_id", "model_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    manufacturer_name: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship(back_populates="products")
    product: Mapped[Product] = relationship()
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="supplier_product", order_by="Certificate.id"
    )


class CertificateKind(LabelledEnum):
    EU_TYPE_EXAMINATION = "eu_type_examination"  # EU-typintyg from a notified body (PPE category III)
    DECLARATION_OF_CONFORMITY = "declaration_of_conformity"  # EU-försäkran om överensstämmelse
    TEST_REPORT = "test_report"
    TEMPORARY_PERMIT = "temporary_permit"  # Arbetsmiljöverket's permit for non-CE PPE, 2020
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.EU_TYPE_EXAMINATION: _l("EU type-examination certificate"),
            cls.DECLARATION_OF_CONFORMITY: _l("EU declaration of conformity"),
            cls.TEST_REPORT: _l("Test report"),
            cls.TEMPORARY_PERMIT: _l("Temporary permit for non-CE equipment"),
            cls.OTHER: _l("Other document"),
        }


class VerificationStatus(LabelledEnum):
    """Whether someone has checked a certificate with its issuer (many in 2020 were forged)."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.UNVERIFIED: _l("Not verified"),
            cls.VERIFIED: _l("Verified"),
            cls.REJECTED: _l("Rejected as invalid"),
        }


class Certificate(Base):
    """A certificate or conformity document for a supplier's product, against an EN standard and class."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(CertificateKind)})", name="kind"),
        CheckConstraint(f"verification_status IN ({sql_in(VerificationStatus)})", name="verification_status"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name="validity_ordered"
        ),
        CheckConstraint("notified_body_number IS NULL OR length(notified_body_number) = 4", name="nb_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_product_id: Mapped[int] = mapped_column(ForeignKey("supplier_products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    standard: Mapped[str] = mapped_column(String(80))  # e.g. "EN 149:2001+A1:2009"
    standard_class: Mapped[str | None] = mapped_column(String(40))  # e.g. "FFP2 NR", "Type IIR"
    ce_marked: Mapped[bool] = mapped_column(Boolean, default=False)
    notified_body_number: Mapped[str | None] = mapped_column(String(4))
    certificate_number: Mapped[str | None] = mapped_column(String(120))
    issued_by: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    verification_status: Mapped[str] = mapped_column(String(20), default=VerificationStatus.UNVERIFIED.value)
    verification_note: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    # Expiry warnings go out once each, 60 and 14 days ahead.
    expiry_warned_60_at: Mapped[datetime | None]
    expiry_warned_14_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier_product: Mapped[SupplierProduct] = relationship(back_populates="certificates")
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    documents: Mapped[list[Document]] = relationship(back_populates="certificate", order_by="Document.id")

    def is_valid_on(self, day: date) -> bool:
        return (
            self.verification_status != VerificationStatus.REJECTED
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


class Document(Base):
    """An uploaded file (PDF or image) kept outside the web root under a random storage key.

    It belongs to a supplier and, when it documents a certificate, to that certificate.
    """

    __tablename__ = "supplier_documents"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    certificate: Mapped[Certificate | None] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship()


# --- offers --------------------------------------------------------------------------------------------------

CURRENCIES = ("SEK", "EUR", "USD", "CNY", "GBP", "NOK", "DKK")
INCOTERMS = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")


class Offer(Base):
    """A supplier's offer (offert) of a product: price, minimum order, lead time, weekly capacity, validity."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        CheckConstraint("minimum_order_quantity >= 1", name="moq_positive"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
        CheckConstraint("capacity_per_week IS NULL OR capacity_per_week > 0", name="capacity_positive"),
        CheckConstraint("valid_until >= valid_from", name="validity_ordered"),
        CheckConstraint(f"currency IN ({sql_in(CURRENCIES)})", name="currency"),
        CheckConstraint(f"incoterm IS NULL OR incoterm IN ({sql_in(INCOTERMS)})", name="incoterm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    supplier_product_id: Mapped[int | None] = mapped_column(ForeignKey("supplier_products.id"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    currency: Mapped[str] = mapped_column(String(3), default="SEK")
    minimum_order_quantity: Mapped[int] = mapped_column(Integer, default=1)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    capacity_per_week: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    incoterm: Mapped[str | None] = mapped_column(String(3))
    incoterm_place: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    product: Mapped[Product] = relationship()
    supplier_product: Mapped[SupplierProduct | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    def is_current_on(self, day: date) -> bool:
        return self.withdrawn_at is None and self.valid_from <= day <= self.valid_until


# --- dialogue log ------------------------------------------------------------------------------------------


class DialogueKind(LabelledEnum):
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    SITE_VISIT = "site_visit"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.MEETING: _l("Meeting"),
            cls.CALL: _l("Call"),
            cls.EMAIL: _l("E-mail"),
            cls.SITE_VISIT: _l("Site visit"),
        }


class DialogueEntry(Base):
    """A meeting, call or visit with a supplier and what was said (dialoglogg)."""

    __tablename__ = "supplier_dialogue_entries"
    __table_args__ = (CheckConstraint(f"kind IN ({sql_in(DialogueKind)})", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    participants: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    created_by: Mapped[User | None] = relationship()
    actions: Mapped[list[FollowUpAction]] = relationship(
        back_populates="dialogue_entry", order_by="FollowUpAction.due_on, FollowUpAction.id"
    )


class FollowUpAction(Base):
    """Something someone promised to do after a dialogue entry, with an owner and a due date."""

    __tablename__ = "supplier_follow_up_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_entry_id: Mapped[int] = mapped_column(ForeignKey("supplier_dialogue_entries.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None]

    dialogue_entry: Mapped[DialogueEntry] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])


# --- domestic production -------------------------------------------------------------------------------------


class ProductionStage(LabelledEnum):
    """The road of a new Swedish manufacturer from first contact to full production."""

    FIRST_CONTACT = "first_contact"
    PROTOTYPE = "prototype"
    CERTIFICATION_TESTING = "certification_testing"
    APPROVED = "approved"
    RAMP_UP = "ramp_up"
    FULL_PRODUCTION = "full_production"
    ENDED = "ended"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.FIRST_CONTACT: _l("First contact"),
            cls.PROTOTYPE: _l("Prototype"),
            cls.CERTIFICATION_TESTING: _l("Certification testing"),
            cls.APPROVED: _l("Approved"),
            cls.RAMP_UP: _l("Ramp-up"),
            cls.FULL_PRODUCTION: _l("Full production"),
            cls.ENDED: _l("Ended"),
        }


class ProductionProject(Base):
    """A production project (produktionsprojekt): a supplier making a product in Sweden, followed by the team."""

    __tablename__ = "production_projects"
    __table_args__ = (
        CheckConstraint(f"stage IN ({sql_in(ProductionStage)})", name="stage"),
        CheckConstraint("contracted_volume IS NULL OR contracted_volume >= 0", name="volume_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(30), default=ProductionStage.FIRST_CONTACT.value, index=True)
    site: Mapped[str | None] = mapped_column(String(200))  # where in Sweden it is made
    contracted_volume: Mapped[int | None] = mapped_column(Integer)
    contract_reference: Mapped[str | None] = mapped_column(String(120))
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    supplier: Mapped[Supplier] = relationship()
    product: Mapped[Product] = relationship()
    responsible: Mapped[User | None] = relationship()
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Milestone.planned_on, Milestone.id"
    )
    capacity_weeks: Mapped[list[CapacityWeek]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="CapacityWeek.week_start"
    )
    dependencies: Mapped[list[RawMaterialDependency]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="RawMaterialDependency.id"
    )
    support: Mapped[list[ProductionSupport]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProductionSupport.id"
    )
    stage_changes: Mapped[list[StageChange]] = relationship(
        back_populates="project", order_by="StageChange.changed_at.desc(), StageChange.id.desc()"
    )


class StageChange(Base):
    """A project's move from one stage to another, with who moved it and why."""

    __tablename__ = "production_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("production_projects.id"), index=True)
    from_stage: Mapped[str] = mapped_column(String(30))
    to_stage: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[ProductionProject] = relationship(back_populates="stage_changes")
    changed_by: Mapped[User | None] = relationship()


class Milestone(Base):
    """A ramp-up milestone with its planned and actual date."""

    __tablename__ = "production_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("production_projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[date] = mapped_column(Date, index=True)
    actual_on: Mapped[date | None] = mapped_column(Date)
    overdue_notified_at: Mapped[datetime | None]

    project: Mapped[ProductionProject] = relationship(back_populates="milestones")

    def is_overdue_on(self, day: date) -> bool:
        return self.actual_on is None and self.planned_on < day


class CapacityWeek(Base):
    """Planned and actual output of one project in one ISO week (``week_start`` is that week's Monday)."""

    __tablename__ = "production_capacity_weeks"
    __table_args__ = (
        UniqueConstraint("project_id", "week_start"),
        CheckConstraint("planned_units IS NULL OR planned_units >= 0", name="planned_not_negative"),
        CheckConstraint("actual_units IS NULL OR actual_units >= 0", name="actual_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("production_projects.id", ondelete="CASCADE"), index=True)
    week_start: Mapped[date] = mapped_column(Date, index=True)
    planned_units: Mapped[int | None] = mapped_column(Integer)
    actual_units: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[ProductionProject] = relationship(back_populates="capacity_weeks")


class RiskLevel(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @classmethod
    def _labels(cls) -> dict:
        return {cls.LOW: _l("Low"), cls.MEDIUM: _l("Medium"), cls.HIGH: _l("High")}


class RawMaterialDependency(Base):
    """A raw material a project depends on (meltblown nonwoven, elastic, nose wire …), its source and risk."""

    __tablename__ = "production_dependencies"
    __table_args__ = (CheckConstraint(f"risk_level IN ({sql_in(RiskLevel)})", name="risk_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("production_projects.id", ondelete="CASCADE"), index=True)
    material: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(200))
    source_country: Mapped[str | None] = mapped_column(String(2))
    risk_level: Mapped[str] = mapped_column(String(10), default=RiskLevel.LOW.value)
    mitigation: Mapped[str | None] = mapped_column(Text)

    project: Mapped[ProductionProject] = relationship(back_populates="dependencies")


class SupportKind(LabelledEnum):
    ADVANCE_PURCHASE_COMMITMENT = "advance_purchase_commitment"  # förhandsåtagande om köp
    GUARANTEE = "guarantee"  # garanti
    EQUIPMENT_FUNDING = "equipment_funding"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ADVANCE_PURCHASE_COMMITMENT: _l("Advance purchase commitment"),
            cls.GUARANTEE: _l("Guarantee"),
            cls.EQUIPMENT_FUNDING: _l("Funding of equipment"),
            cls.OTHER: _l("Other support"),
        }


class ProductionSupport(Base):
    """Support the agency gives a project: a purchase commitment, a guarantee …; amounts in whole öre."""

    __tablename__ = "production_support"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(SupportKind)})", name="kind"),
        CheckConstraint("amount_ore IS NULL OR amount_ore >= 0", name="amount_not_negative"),
        CheckConstraint("volume IS NULL OR volume >= 0", name="volume_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("production_projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    amount_ore: Mapped[int | None] = mapped_column(BigInteger)
    volume: Mapped[int | None] = mapped_column(Integer)
    decided_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)

    project: Mapped[ProductionProject] = relationship(back_populates="support")
