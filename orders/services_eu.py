"""EU joint procurement (gemensam upphandling under JPA): tenders, lots, framework contracts with their
contractors in cascade order, and specific orders (specifika kontrakt) placed under them as purchase orders.

Services take the session and the acting user, check the rules and flush; the caller commits. Each raises
before it writes what it refuses, so a refused request leaves the database as it was once rolled back.

Rules decided here:

- Sweden takes part in the JPA through the national agency: only users with national scope and
  MANAGE_EU_PROCUREMENT (the agency's purchasing officers and lead) change tenders and place specific orders;
  everyone with VIEW_ORDERS reads them (the tenders are national, like the supplier registry).
- A contractor is a supplier in the registry. A contractor the registry does not know yet is registered
  there as a new (not yet vetted) supplier when the contractor is added: the Commission chose it, but the
  agency orders only from approved suppliers, so ``suppliers.services.ensure_orderable`` is checked when a
  specific order is placed, not when the contractor is recorded.
- A contractor's remaining quantity is its maximum less the quantity on the lines of its orders that are not
  cancelled. An amendment rewrites the order's lines (its earlier terms stay in the versions), so the current
  lines already take amendments into account; :func:`ensure_amendment_within_framework` is the check an
  amendment makes.
- Cascade: the contractor ranked first is asked first. A specific order to a lower-ranked contractor while one
  ranked above it still has quantity left needs a reason, which is recorded in the order's notes.
- A specific order is dated within the framework contract's validity and never exceeds the remaining quantity;
  the contractor's row is locked while that is checked, so two officers cannot both take the last units.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.access import Scope, has_permission, scope_of
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import DomainError
from app.organisations.models import Organisation, OrganisationKind
from app.stock import ledger
from app.stock.models import LocationKind, StockLocation
from orders.models import (
    FrameworkContract,
    FrameworkContractor,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Tender,
    TenderLot,
)
from suppliers.models import CURRENCIES, INCOTERMS, Supplier

MAX_QUANTITY = 2_000_000_000  # the quantity columns are 32-bit integers
MAX_LOT_NUMBER = 9999
PRICE_DECIMALS = 4
MAX_PRICE = Decimal("9999999999.9999")  # Numeric(14, 4)
MAX_TEXT = 4000
MAX_DELIVERIES = 20


class EuProcurementError(DomainError):
    """A tender, lot, framework contract, contractor, specific order or incoming supply breaks a rule."""


class NotAllowed(EuProcurementError):
    """The acting user may not make the change."""

    status_code = 403


class Rejected(EuProcurementError):
    """One or more fields break the rules; ``errors`` holds one error per problem, each naming its field."""

    def __init__(self, errors: Sequence[DomainError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = list(errors)


@dataclass
class Problems:
    """Collects every problem of a submission so the form can show them all at once."""

    errors: list[DomainError] = field(default_factory=list)

    def add(self, message: str, field_name: str | None) -> None:
        self.errors.append(EuProcurementError(message, field=field_name))

    def extend(self, error: DomainError) -> None:
        self.errors.extend(getattr(error, "errors", None) or [error])

    def raise_any(self) -> None:
        if self.errors:
            raise Rejected(self.errors)


def can_manage(user) -> bool:
    """Whether ``user`` may change EU joint procurement and incoming supplies: the permission, at the agency."""
    return has_permission(user, Permission.MANAGE_EU_PROCUREMENT) and scope_of(user) is Scope.NATIONAL


def ensure_manager(user) -> None:
    """Raise NotAllowed unless ``user`` may change EU joint procurement (see :func:`can_manage`)."""
    if user is None or not can_manage(user):
        raise NotAllowed(_("Only purchasing at the national agency manages EU joint procurement."))


# --- small shape helpers shared with services_incoming --------------------------------------------------------


def one_line(text: str | None) -> str | None:
    """Whitespace collapsed to single spaces; None when empty."""
    return " ".join((text or "").split()) or None


def free_text(text: str | None) -> str | None:
    """Multi-line text trimmed; None when empty."""
    return (text or "").strip() or None


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_length(problems: Problems, value: str | None, limit: int, field_name: str) -> None:
    if value is not None and len(value) > limit:
        problems.add(_("At most %(n)s characters.", n=limit), field_name)


def check_quantity(problems: Problems, value, field_name: str, *, allow_zero: bool = False) -> bool:
    """Add a problem unless ``value`` is a whole number of units (above 0 unless ``allow_zero``)."""
    low = 0 if allow_zero else 1
    if not is_whole(value) or not low <= value <= MAX_QUANTITY:
        if allow_zero:
            problems.add(_("Enter a whole number of units, 0 or more."), field_name)
        else:
            problems.add(_("Enter a whole number of units, at least 1."), field_name)
        return False
    return True


def _price(value) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    return price if price.is_finite() else None


def _touch(tender: Tender) -> None:
    """A change to a tender's lots, frameworks or contractors is a change of the tender (its OCDS release date)."""
    tender.updated_at = utcnow()


def _flush_unique(session: Session, row, message: str, field_name: str, parent=None, collection: str = "") -> None:
    """Write ``row``; a unique constraint another user won at the same moment becomes ``message`` at the field.

    A new row names its parent by id only (SAVEPOINT flushes the session first, and a parent collection holding
    a row not yet added would be flushed without it); the parent's ``collection`` is reloaded afterwards.
    """
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Rejected([EuProcurementError(message, field=field_name)]) from None
    if parent is not None:
        session.expire(parent, [collection])


# --- tenders ---------------------------------------------------------------------------------------------------


class TenderStage(LabelledEnum):
    """Where a tender stands, read from its dates on a given day."""

    PLANNED = "planned"
    OPEN = "open"
    EVALUATION = "evaluation"
    AWARDED = "awarded"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PLANNED: _l("Not yet published"),
            cls.OPEN: _l("Open for tenders"),
            cls.EVALUATION: _l("Closed, being evaluated"),
            cls.AWARDED: _l("Awarded"),
        }


def tender_stage(tender: Tender, today: date) -> TenderStage:
    if tender.awarded_on is not None:
        return TenderStage.AWARDED
    if tender.published_on is None or tender.published_on > today:
        return TenderStage.PLANNED
    if tender.closing_on is not None and tender.closing_on < today:
        return TenderStage.EVALUATION
    return TenderStage.OPEN


def tender_stage_clause(stage: str, today: date):
    """The SQL condition for :func:`tender_stage` being ``stage`` (the list's filter)."""
    not_awarded = Tender.awarded_on.is_(None)
    published = Tender.published_on.is_not(None) & (Tender.published_on <= today)
    if stage == TenderStage.AWARDED:
        return Tender.awarded_on.is_not(None)
    if stage == TenderStage.PLANNED:
        return not_awarded & ~published
    closed = Tender.closing_on.is_not(None) & (Tender.closing_on < today)
    if stage == TenderStage.EVALUATION:
        return not_awarded & published & closed
    return not_awarded & published & ~closed


@dataclass(frozen=True)
class TenderData:
    """A tender as the form gives it. None is a missing value."""

    reference: str | None
    name: str | None
    description: str | None = None
    published_on: date | None = None
    closing_on: date | None = None
    awarded_on: date | None = None


def save_tender(session: Session, user, data: TenderData, tender: Tender | None = None) -> Tender:
    """Record a new tender, or change ``tender``. Flushes.

    Raises NotAllowed (see :func:`ensure_manager`) and Rejected for a missing or duplicate reference, a
    missing name, or dates out of order (closing or award before publication).
    """
    ensure_manager(user)
    reference, name, description = one_line(data.reference), one_line(data.name), free_text(data.description)
    problems = Problems()
    if reference is None:
        problems.add(_("Enter the tender's reference, e.g. SANTE/C3/2020/015."), "reference")
    else:
        check_length(problems, reference, 60, "reference")
        others = select(Tender.id).where(func.lower(Tender.reference) == reference.lower())
        if tender is not None and tender.id is not None:
            others = others.where(Tender.id != tender.id)
        if session.scalar(others) is not None:
            problems.add(_("A tender with the reference %(reference)s is already recorded.", reference=reference),
                         "reference")
    if name is None:
        problems.add(_("Enter the tender's name."), "name")
    check_length(problems, name, 200, "name")
    check_length(problems, description, MAX_TEXT, "description")
    if data.published_on and data.closing_on and data.closing_on < data.published_on:
        problems.add(_("The tender cannot close before it is published."), "closing_on")
    if data.published_on and data.awarded_on and data.awarded_on < data.published_on:
        problems.add(_("The tender cannot be awarded before it is published."), "awarded_on")
    problems.raise_any()
    tender = tender or Tender()
    tender.reference, tender.name, tender.description = reference, name, description
    tender.published_on, tender.closing_on, tender.awarded_on = data.published_on, data.closing_on, data.awarded_on
    _touch(tender)
    _flush_unique(
        session, tender, _("A tender with the reference %(reference)s is already recorded.", reference=reference),
        "reference",
    )
    return tender


# --- lots --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotData:
    number: int | None
    title: str | None
    category_id: int | None
    product_id: int | None = None
    specification: str | None = None
    declared_quantity: int | None = 0


def _lot_has_orders(session: Session, lot: TenderLot) -> bool:
    return bool(
        session.scalar(
            select(
                exists()
                .where(PurchaseOrder.framework_contractor_id == FrameworkContractor.id)
                .where(FrameworkContractor.framework_contract_id == FrameworkContract.id)
                .where(FrameworkContract.lot_id == lot.id)
                .where(PurchaseOrder.status != OrderStatus.CANCELLED.value)
            )
        )
    )


def save_lot(session: Session, user, tender: Tender, data: LotData, lot: TenderLot | None = None) -> TenderLot:
    """Add a lot to ``tender``, or change ``lot``. Flushes.

    Raises NotAllowed, and Rejected for a number used by another lot of the tender, a missing title or
    category, a catalogue product of another category, a declared quantity that is not a whole number of 0
    or more, and for a new product or category once specific orders were placed under the lot.
    """
    ensure_manager(user)
    title, specification = one_line(data.title), free_text(data.specification)
    problems = Problems()
    if not is_whole(data.number) or not 1 <= data.number <= MAX_LOT_NUMBER:
        problems.add(_("Enter the lot's number, e.g. 1."), "number")
    else:
        others = select(TenderLot.id).where(TenderLot.tender_id == tender.id, TenderLot.number == data.number)
        if lot is not None and lot.id is not None:
            others = others.where(TenderLot.id != lot.id)
        if session.scalar(others) is not None:
            problems.add(_("The tender already has a lot %(number)s.", number=data.number), "number")
    if title is None:
        problems.add(_("Enter the lot's title."), "title")
    check_length(problems, title, 200, "title")
    check_length(problems, specification, MAX_TEXT, "specification")
    category = session.get(ProductCategory, data.category_id) if data.category_id is not None else None
    if category is None:
        problems.add(_("Choose the product category of the lot."), "category_id")
    product = session.get(Product, data.product_id) if data.product_id is not None else None
    if data.product_id is not None and product is None:
        problems.add(_("Choose a product from the catalogue."), "product_id")
    elif product is not None and category is not None and product.category_id != category.id:
        problems.add(_("The product belongs to another category than the lot."), "product_id")
    check_quantity(problems, data.declared_quantity, "declared_quantity", allow_zero=True)
    if lot is not None and lot.id is not None and _lot_has_orders(session, lot):
        if product is not None and product.id != lot.product_id or product is None and lot.product_id is not None:
            problems.add(_("Specific orders are placed under this lot; its product cannot change."), "product_id")
        if category is not None and category.id != lot.category_id:
            problems.add(_("Specific orders are placed under this lot; its category cannot change."), "category_id")
    problems.raise_any()
    lot = lot or TenderLot(tender_id=tender.id)
    lot.number, lot.title, lot.specification = data.number, title, specification
    lot.category, lot.product, lot.declared_quantity = category, product, data.declared_quantity
    _touch(tender)
    _flush_unique(session, lot, _("The tender already has a lot %(number)s.", number=data.number), "number",
                  tender, "lots")
    return lot


# --- framework contracts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameworkData:
    reference: str | None
    valid_from: date | None
    valid_until: date | None
    signed_on: date | None = None


def save_framework(
    session: Session, user, lot: TenderLot, data: FrameworkData, framework: FrameworkContract | None = None
) -> FrameworkContract:
    """Record a framework contract signed for ``lot``, or change ``framework``. Flushes.

    Raises NotAllowed, and Rejected for a missing or duplicate reference, a missing validity, a validity that
    ends before it starts, and a signature after the contract has ended.
    """
    ensure_manager(user)
    reference = one_line(data.reference)
    problems = Problems()
    if reference is None:
        problems.add(_("Enter the framework contract's reference."), "reference")
    else:
        check_length(problems, reference, 80, "reference")
        others = select(FrameworkContract.id).where(func.lower(FrameworkContract.reference) == reference.lower())
        if framework is not None and framework.id is not None:
            others = others.where(FrameworkContract.id != framework.id)
        if session.scalar(others) is not None:
            problems.add(
                _("A framework contract with the reference %(reference)s is already recorded.", reference=reference),
                "reference",
            )
    if data.valid_from is None:
        problems.add(_("Enter the date the contract is valid from."), "valid_from")
    if data.valid_until is None:
        problems.add(_("Enter the date the contract is valid until."), "valid_until")
    elif data.valid_from is not None and data.valid_until < data.valid_from:
        problems.add(_("The contract cannot end before it starts."), "valid_until")
    if data.signed_on and data.valid_until and data.signed_on > data.valid_until:
        problems.add(_("The contract cannot be signed after it has ended."), "signed_on")
    problems.raise_any()
    framework = framework or FrameworkContract(lot_id=lot.id)
    framework.reference, framework.signed_on = reference, data.signed_on
    framework.valid_from, framework.valid_until = data.valid_from, data.valid_until
    _touch(lot.tender)
    _flush_unique(
        session,
        framework,
        _("A framework contract with the reference %(reference)s is already recorded.", reference=reference),
        "reference",
        lot,
        "framework_contracts",
    )
    return framework


# --- contractors and what remains of their quantities --------------------------------------------------------


@dataclass(frozen=True)
class ContractorData:
    """A contractor as the form gives it: an existing supplier (``supplier_id``) or a new one for the
    registry (``new_supplier``, a ``suppliers.services.SupplierData``); rank None means after the last."""

    max_quantity: int | None
    unit_price: Decimal | str | None
    currency: str | None
    supplier_id: int | None = None
    new_supplier: object | None = None
    rank: int | None = None


@dataclass(frozen=True)
class ContractorStanding:
    """A contractor with what is ordered from it and what remains of its maximum quantity."""

    contractor: FrameworkContractor
    ordered: int

    @property
    def remaining(self) -> int:
        return self.contractor.max_quantity - self.ordered

    @property
    def value(self) -> Decimal:
        """The contractor's maximum quantity at its unit price, in its currency."""
        return self.contractor.unit_price * self.contractor.max_quantity


def ordered_quantities(session: Session, contractor_ids, *, excluding_order_id: int | None = None) -> dict[int, int]:
    """Units on the lines of each contractor's orders that are not cancelled, by contractor id (0 when none)."""
    ids = list(contractor_ids)
    if not ids:
        return {}
    stmt = (
        select(PurchaseOrder.framework_contractor_id, func.coalesce(func.sum(PurchaseOrderLine.quantity), 0))
        .join(PurchaseOrderLine, PurchaseOrderLine.order_id == PurchaseOrder.id)
        .where(PurchaseOrder.framework_contractor_id.in_(ids), PurchaseOrder.status != OrderStatus.CANCELLED.value)
        .group_by(PurchaseOrder.framework_contractor_id)
    )
    if excluding_order_id is not None:
        stmt = stmt.where(PurchaseOrder.id != excluding_order_id)
    found = {contractor_id: int(total) for contractor_id, total in session.execute(stmt)}
    return {contractor_id: found.get(contractor_id, 0) for contractor_id in ids}


def standings(session: Session, framework: FrameworkContract) -> list[ContractorStanding]:
    """The framework contract's contractors in cascade order, each with its ordered and remaining quantity."""
    contractors = list(
        session.scalars(
            select(FrameworkContractor)
            .where(FrameworkContractor.framework_contract_id == framework.id)
            .order_by(FrameworkContractor.rank)
        )
    )
    ordered = ordered_quantities(session, [c.id for c in contractors])
    return [ContractorStanding(c, ordered[c.id]) for c in contractors]


def standing_of(session: Session, contractor: FrameworkContractor) -> ContractorStanding:
    return ContractorStanding(contractor, ordered_quantities(session, [contractor.id])[contractor.id])


def _contractor_supplier(session: Session, user, data: ContractorData, problems: Problems) -> Supplier | None:
    """The chosen supplier, or the new one registered in the supplier registry (status new)."""
    if data.supplier_id is not None:
        supplier = session.get(Supplier, data.supplier_id)
        if supplier is None:
            problems.add(_("Choose a supplier from the registry."), "supplier_id")
        return supplier
    if data.new_supplier is None:
        problems.add(_("Choose the contractor in the supplier registry, or register it below."), "supplier_id")
        return None
    if problems.errors:
        return None  # register the supplier only when the contractor itself is right
    from suppliers.services import create_supplier

    try:
        return create_supplier(session, user, data.new_supplier)
    except DomainError as error:
        problems.extend(error)
        return None


def save_contractor(
    session: Session, user, framework: FrameworkContract, data: ContractorData,
    contractor: FrameworkContractor | None = None,
) -> FrameworkContractor:
    """Add a contractor to ``framework`` (last in the cascade unless a free rank is given), or change
    ``contractor``'s rank, maximum quantity, unit price and currency. Flushes.

    A contractor not yet in the supplier registry is registered there as a new supplier. Raises NotAllowed,
    and Rejected for a supplier already under the contract, a rank taken by another contractor, a maximum
    below what is already ordered from the contractor, a price that is not above 0 with at most four
    decimals, an unknown currency, and the supplier registry's own refusals (e.g. a duplicate number).
    """
    ensure_manager(user)
    problems = Problems()
    ordered = standing_of(session, contractor).ordered if contractor is not None and contractor.id else 0
    if check_quantity(problems, data.max_quantity, "max_quantity") and data.max_quantity < ordered:
        problems.add(
            _("%(ordered)s units are already ordered from this contractor; the maximum cannot be lower.",
              ordered=ordered),
            "max_quantity",
        )
    price = _price(data.unit_price)
    if price is None or price <= 0:
        problems.add(_("Enter the unit price, above 0."), "unit_price")
    elif price > MAX_PRICE:
        problems.add(_("The price is too large."), "unit_price")
    elif price != price.quantize(Decimal(1).scaleb(-PRICE_DECIMALS)):
        problems.add(_("Give the price with at most %(n)s decimals.", n=PRICE_DECIMALS), "unit_price")
    currency = (data.currency or "").strip().upper()
    if currency not in CURRENCIES:
        problems.add(_("Choose a currency."), "currency")
    siblings = [c for c in framework.contractors if contractor is None or c.id != contractor.id]
    rank = data.rank
    if rank is None:
        rank = contractor.rank if contractor is not None else max((c.rank for c in siblings), default=0) + 1
    if not is_whole(rank) or not 1 <= rank <= 1000:
        problems.add(_("The rank is a whole number from 1 (asked first)."), "rank")
    else:
        taken = next((c for c in siblings if c.rank == rank), None)
        if taken is not None:
            problems.add(
                _("Rank %(rank)s is held by %(supplier)s; give a free rank or move contractors in the cascade.",
                  rank=rank, supplier=taken.supplier.legal_name),
                "rank",
            )
    if contractor is None:
        supplier = _contractor_supplier(session, user, data, problems)
        if supplier is not None and any(c.supplier_id == supplier.id for c in siblings):
            problems.add(
                _("%(supplier)s is already a contractor under this framework contract.", supplier=supplier.legal_name),
                "supplier_id",
            )
    problems.raise_any()
    if contractor is None:
        contractor = FrameworkContractor(framework_contract_id=framework.id, supplier_id=supplier.id)
    contractor.rank, contractor.max_quantity = rank, data.max_quantity
    contractor.unit_price = price.quantize(Decimal(1).scaleb(-PRICE_DECIMALS))
    contractor.currency = currency
    _touch(framework.lot.tender)
    _flush_unique(
        session, contractor, _("The rank or the supplier is already taken under this contract."), "rank",
        framework, "contractors",
    )
    return contractor


def move_contractor(session: Session, user, contractor: FrameworkContractor, direction: str) -> None:
    """Swap ``contractor`` with its neighbour one step up (asked earlier) or down in the cascade. Flushes.

    Raises NotAllowed, and Rejected for an unknown direction or when there is no neighbour that way.
    """
    ensure_manager(user)
    ordered = sorted(contractor.framework_contract.contractors, key=lambda c: c.rank)
    index = ordered.index(contractor)
    step = {"up": -1, "down": 1}.get(direction)
    if step is None or not 0 <= index + step < len(ordered):
        raise Rejected([EuProcurementError(_("The contractor cannot move further that way."), field=None)])
    neighbour = ordered[index + step]
    mine, theirs = contractor.rank, neighbour.rank
    # (framework, rank) is unique and checked per statement: park one row on a free rank while swapping.
    contractor.rank = max(c.rank for c in ordered) + 1
    session.flush()
    neighbour.rank = mine
    session.flush()
    contractor.rank = theirs
    _touch(contractor.framework_contract.lot.tender)
    session.flush()


def remove_contractor(session: Session, user, contractor: FrameworkContractor) -> None:
    """Take a contractor off the framework contract and close the gap in the cascade. Flushes.

    Raises NotAllowed, and Rejected when orders were placed with the contractor (they refer to it).
    """
    ensure_manager(user)
    has_orders = session.scalar(
        select(exists().where(PurchaseOrder.framework_contractor_id == contractor.id))
    )
    if has_orders:
        raise Rejected([EuProcurementError(
            _("Orders were placed with %(supplier)s under this contract; the contractor stays.",
              supplier=contractor.supplier.legal_name),
            field=None,
        )])
    framework = contractor.framework_contract
    removed_rank = contractor.rank
    session.delete(contractor)
    session.flush()
    session.expire(framework, ["contractors"])
    for following in framework.contractors:  # in rank order
        if following.rank > removed_rank:
            following.rank -= 1
            session.flush()
    _touch(framework.lot.tender)
    session.flush()


# --- where goods go: national warehouses or an organisation's own stock -------------------------------------

LOCATION_KEY = "location-"
ORGANISATION_KEY = "organisation-"


@dataclass(frozen=True)
class DestinationChoice:
    key: str
    label: str
    group: str


def destination_choices(session: Session) -> list[DestinationChoice]:
    """National warehouses, then regions and municipalities (their own stock, created on first delivery)."""
    choices = [
        DestinationChoice(f"{LOCATION_KEY}{location.id}", location.name, _("National warehouses"))
        for location in ledger.warehouses(session)
    ]
    groups = ((OrganisationKind.REGION, _("Regions")), (OrganisationKind.MUNICIPALITY, _("Municipalities")))
    for kind, group in groups:
        organisations = session.scalars(
            select(Organisation).where(Organisation.kind == kind.value).order_by(Organisation.name)
        )
        choices += [DestinationChoice(f"{ORGANISATION_KEY}{o.id}", o.name, group) for o in organisations]
    return choices


def destination_key(location: StockLocation | None) -> str | None:
    """The form value of a stock location (the inverse of :func:`destination_for`)."""
    if location is None:
        return None
    if location.organisation_id is not None:
        return f"{ORGANISATION_KEY}{location.organisation_id}"
    return f"{LOCATION_KEY}{location.id}"


def destination_for(session: Session, key: str | None) -> StockLocation | None:
    """The stock location a form value names: an active national warehouse, or a region's or municipality's
    own stock (created on first use, flushed). None when the value names neither."""
    key = (key or "").strip()
    try:
        if key.startswith(LOCATION_KEY):
            location = session.get(StockLocation, int(key.removeprefix(LOCATION_KEY)))
            if location is not None and location.kind == LocationKind.WAREHOUSE.value and location.active:
                return location
        elif key.startswith(ORGANISATION_KEY):
            organisation = session.get(Organisation, int(key.removeprefix(ORGANISATION_KEY)))
            if organisation is not None and organisation.kind in (OrganisationKind.REGION, OrganisationKind.MUNICIPALITY):
                return ledger.location_for_organisation(session, organisation)
    except ValueError:
        return None
    return None


# --- specific orders under a framework contract ---------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPlan:
    """One partial delivery of a specific order: when, how many, and where (a :func:`destination_for` key)."""

    due_on: date | None
    quantity: int | None
    destination: str | None

    @property
    def is_blank(self) -> bool:
        return self.due_on is None and self.quantity is None and not self.destination


@dataclass(frozen=True)
class SpecificOrderData:
    quantity: int | None
    order_date: date | None
    deliveries: Sequence[DeliveryPlan]
    product_id: int | None = None  # only when the lot names no catalogue product
    cascade_reason: str | None = None
    notes: str | None = None
    incoterm: str | None = None
    incoterm_place: str | None = None
    payment_terms: str | None = None


def cascade_ahead(session: Session, contractor: FrameworkContractor) -> list[ContractorStanding]:
    """The contractors ranked above ``contractor`` that still have quantity left (the cascade asks them first)."""
    return [
        standing
        for standing in standings(session, contractor.framework_contract)
        if standing.contractor.rank < contractor.rank and standing.remaining > 0
    ]


def _lock(session: Session, contractor: FrameworkContractor) -> None:
    # Row lock on PostgreSQL (SQLite lets one writer at a time anyway): a second order for the same contractor
    # waits here until the first commits, then sees its quantity.
    session.execute(
        select(FrameworkContractor.id).where(FrameworkContractor.id == contractor.id).with_for_update()
    )


def _order_product(session: Session, lot: TenderLot, product_id: int | None, problems: Problems) -> Product | None:
    if lot.product is not None:
        if product_id is not None and product_id != lot.product_id:
            problems.add(_("The lot is for %(sku)s.", sku=lot.product.sku), "product_id")
        return lot.product
    product = session.get(Product, product_id) if product_id is not None else None
    if product is None:
        problems.add(_("Choose the catalogue product to order."), "product_id")
    elif product.category_id != lot.category_id:
        problems.add(_("Choose a product of the lot's category."), "product_id")
    return product


def _delivery_inputs(session: Session, data: SpecificOrderData, problems: Problems) -> list[tuple]:
    """(due_on, quantity, destination) of each non-blank delivery row, checked against the order."""
    rows = [plan for plan in data.deliveries if not plan.is_blank]
    if not rows:
        problems.add(_("Plan at least one delivery: date, quantity and destination."), "deliveries")
        return []
    if len(rows) > MAX_DELIVERIES:
        problems.add(_("At most %(n)s deliveries.", n=MAX_DELIVERIES), "deliveries")
        return []
    plans = []
    for number, plan in enumerate(rows, start=1):
        quantity = plan.quantity
        if quantity is None and len(rows) == 1 and is_whole(data.quantity):
            quantity = data.quantity  # one delivery without a quantity brings everything
        location = destination_for(session, plan.destination)
        if plan.due_on is None:
            problems.add(_("Delivery %(n)s: enter the date it is due.", n=number), "deliveries")
        elif data.order_date is not None and plan.due_on < data.order_date:
            problems.add(_("Delivery %(n)s is due before the order date.", n=number), "deliveries")
        if not is_whole(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            problems.add(_("Delivery %(n)s: enter a whole number of units, at least 1.", n=number), "deliveries")
        if location is None:
            problems.add(_("Delivery %(n)s: choose where it goes.", n=number), "deliveries")
        plans.append((plan.due_on, quantity, location))
    total = sum(q for _due, q, _loc in plans if is_whole(q))
    if is_whole(data.quantity) and all(is_whole(q) for _due, q, _loc in plans) and total != data.quantity:
        problems.add(
            _("The deliveries add up to %(total)s units, the order is for %(quantity)s.",
              total=total, quantity=data.quantity),
            "deliveries",
        )
    return plans


def cascade_note(contractor: FrameworkContractor, ahead: Sequence[ContractorStanding], reason: str) -> str:
    """The line recorded in the order's notes when the cascade is passed over."""
    passed = "; ".join(
        _("rank %(rank)s %(supplier)s with %(remaining)s left",
          rank=s.contractor.rank, supplier=s.contractor.supplier.legal_name, remaining=s.remaining)
        for s in ahead
    )
    return _("Cascade: ordered from rank %(rank)s although %(passed)s. Reason: %(reason)s",
             rank=contractor.rank, passed=passed, reason=reason)


def place_specific_order(session: Session, user, contractor: FrameworkContractor, data: SpecificOrderData) -> PurchaseOrder:
    """Place a specific order under ``contractor``'s framework contract: a purchase order (draft) to the
    contractor's supplier at its unit price and currency, linked to the contractor, with its delivery schedule.
    Flushes.

    Raises NotAllowed; Rejected for an order dated outside the contract's validity, a quantity beyond what
    remains of the contractor's maximum, a lower-ranked contractor chosen without a reason while one ranked
    above still has quantity left, a product outside the lot, deliveries that do not add up, and a supplier
    that is not approved (``ensure_orderable``); and whatever ``create_order`` refuses (e.g. no exchange rate).
    """
    from orders.services_orders import DeliveryInput, OrderLineInput, create_order
    from suppliers.services import ensure_orderable

    ensure_manager(user)
    _lock(session, contractor)
    session.refresh(contractor)
    framework = contractor.framework_contract
    lot = framework.lot
    problems = Problems()
    product = _order_product(session, lot, data.product_id, problems)
    if data.order_date is None:
        problems.add(_("Enter the order date."), "order_date")
    elif not framework.valid_from <= data.order_date <= framework.valid_until:
        problems.add(
            _("Framework contract %(reference)s is valid from %(start)s to %(end)s; an order dated %(day)s "
              "falls outside it.", reference=framework.reference, start=framework.valid_from.isoformat(),
              end=framework.valid_until.isoformat(), day=data.order_date.isoformat()),
            "order_date",
        )
    standing = standing_of(session, contractor)
    if check_quantity(problems, data.quantity, "quantity") and data.quantity > standing.remaining:
        problems.add(
            _("Only %(remaining)s units remain of %(supplier)s's maximum of %(maximum)s under framework contract "
              "%(reference)s (%(ordered)s already ordered); an order of %(quantity)s is refused.",
              remaining=max(standing.remaining, 0), supplier=contractor.supplier.legal_name,
              maximum=contractor.max_quantity, reference=framework.reference, ordered=standing.ordered,
              quantity=data.quantity),
            "quantity",
        )
    reason = free_text(data.cascade_reason)
    ahead = cascade_ahead(session, contractor)
    if ahead and reason is None:
        first = ahead[0]
        problems.add(
            _("%(supplier)s ranks %(rank)s in the cascade and still has %(remaining)s units left: say why this "
              "order goes to rank %(this)s.", supplier=first.contractor.supplier.legal_name,
              rank=first.contractor.rank, remaining=first.remaining, this=contractor.rank),
            "cascade_reason",
        )
    check_length(problems, reason, MAX_TEXT, "cascade_reason")
    notes = free_text(data.notes)
    check_length(problems, notes, MAX_TEXT, "notes")
    if data.incoterm and data.incoterm not in INCOTERMS:
        problems.add(_("Choose one of the Incoterms 2020 rules."), "incoterm")
    plans = _delivery_inputs(session, data, problems)
    try:
        ensure_orderable(contractor.supplier)
    except DomainError as error:
        problems.add(error.message, None)
    problems.raise_any()
    if ahead:
        notes = "\n\n".join(part for part in (notes, cascade_note(contractor, ahead, reason)) if part)
    return create_order(
        session,
        user,
        supplier=contractor.supplier,
        buyer=user.organisation,
        currency=contractor.currency,
        order_date=data.order_date,
        lines=[OrderLineInput(product=product, quantity=data.quantity, unit_price=contractor.unit_price)],
        deliveries=[
            DeliveryInput(line_number=1, due_on=due_on, quantity=quantity, destination=location)
            for due_on, quantity, location in plans
        ],
        incoterm=data.incoterm or None,
        incoterm_place=one_line(data.incoterm_place),
        payment_terms=one_line(data.payment_terms),
        framework_contractor=contractor,
        notes=notes,
    )


def ensure_amendment_within_framework(session: Session, order: PurchaseOrder, quantity: int) -> None:
    """For amending an order placed under a framework contract: raise EuProcurementError (field ``quantity``)
    when the order's new total ``quantity`` would take its contractor beyond the maximum. Orders without a
    framework contractor pass."""
    contractor = order.framework_contractor
    if contractor is None:
        return
    _lock(session, contractor)
    others = ordered_quantities(session, [contractor.id], excluding_order_id=order.id)[contractor.id]
    if others + quantity > contractor.max_quantity:
        raise EuProcurementError(
            _("Only %(remaining)s units remain of %(supplier)s's maximum under framework contract %(reference)s; "
              "the order cannot grow to %(quantity)s.",
              remaining=max(contractor.max_quantity - others, 0), supplier=contractor.supplier.legal_name,
              reference=contractor.framework_contract.reference, quantity=quantity),
            field="quantity",
        )
