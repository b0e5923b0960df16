"""Joint purchases (samordnade inköp): started from registered need or by hand, edited while draft, ordered.

A purchasing officer at the agency, a region or a municipality starts a joint purchase of one product category
(optionally one catalogue product) for a set of participants: a county's municipalities, a county's region and
municipalities, every region, everyone, or organisations picked one by one. The need each participant has in
the register (allocation/reporting.py ``registered_need``: the latest report per branch, if no older than the
reporting settings allow) is kept as a snapshot, and the quantity each takes defaults to it. The cost is split
by quantity, equally or by population (orders/joint.py); the shares are fixed when the purchase order is
created through ``orders.services_orders.create_order``.

Who may lead: the agency's officers for anyone; a region's or municipality's officers only for organisations of
their own county. Who sees: those who see the lead buyer or a participant (app/auth/access.py scope), so a
participant reads the purchases it takes part in and a county board those of its county.

Every function takes the session and the acting user, flushes and never commits; a broken rule raises
:class:`JointPurchaseError` naming the form field, a purchase outside the user's scope NotFoundError.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select, true
from sqlalchemy.orm import Session

from allocation.models import SituationReportLine, SituationReportVersion
from allocation.reporting import registered_need
from app.auth.access import Scope, can_see_organisation, has_permission, organisation_scope_filter, scope_of
from app.auth.models import User
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import DomainError, NotFoundError
from app.numbering import next_number
from app.organisations.models import County, Organisation, OrganisationKind
from app.organisations.services import display_name, population_of
from app.stock import ledger
from app.stock.models import LocationKind, StockLocation
from app.timeutil import local_date
from orders import joint
from orders.models import (
    CostSplit,
    JointPurchase,
    JointPurchaseParticipant,
    JointPurchaseStatus,
    OrderStatus,
    PurchaseOrder,
)
from orders.services_orders import DeliveryInput, OrderError, OrderLineInput, create_order, order_value_ore
from suppliers.models import Supplier

SERIES = "SI"
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_QUANTITY = 1_000_000_000
LEADING_KINDS = (OrganisationKind.AGENCY, OrganisationKind.REGION, OrganisationKind.MUNICIPALITY)
PARTICIPANT_KINDS = (OrganisationKind.REGION, OrganisationKind.MUNICIPALITY)
# How many names a refusal lists before "and N more".
NAMES_SHOWN = 5


class JointPurchaseError(DomainError):
    """A joint purchase, or a step in its life, breaks a rule."""


class Recipients(LabelledEnum):
    """Who a joint purchase is for, as chosen when it is started."""

    COUNTY_MUNICIPALITIES = "county_municipalities"
    COUNTY = "county"
    REGIONS = "regions"
    EVERYONE = "everyone"
    PICKED = "picked"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.COUNTY_MUNICIPALITIES: _l("The municipalities of a county"),
            cls.COUNTY: _l("A county's region and municipalities"),
            cls.REGIONS: _l("All regions"),
            cls.EVERYONE: _l("Every region and municipality"),
            cls.PICKED: _l("Organisations picked one by one"),
        }


class DeliveryMode(LabelledEnum):
    """Where the order of a joint purchase is delivered."""

    WAREHOUSE = "warehouse"
    DIRECT = "direct"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.WAREHOUSE: _l("To a national warehouse"),
            cls.DIRECT: _l("Straight to each participant (one delivery each)"),
        }


# --- scope -------------------------------------------------------------------------------------------------------


def _visible_organisations(user: User):
    return select(Organisation.id).where(organisation_scope_filter(user))


def joint_purchase_scope_clause(user: User):
    """A WHERE clause on JointPurchase: those whose lead buyer or a participant the user may see."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    visible = _visible_organisations(user)
    return or_(
        JointPurchase.lead_buyer_id.in_(visible),
        exists().where(
            JointPurchaseParticipant.joint_purchase_id == JointPurchase.id,
            JointPurchaseParticipant.organisation_id.in_(visible),
        ),
    )


def can_see_joint_purchase(user: User, purchase: JointPurchase) -> bool:
    return can_see_organisation(user, purchase.lead_buyer) or any(
        can_see_organisation(user, participant.organisation) for participant in purchase.participants
    )


def can_manage(user: User, purchase: JointPurchase) -> bool:
    """Whether the user may change and order the purchase: an officer who may buy for its lead buyer."""
    return has_permission(user, Permission.MANAGE_ORDERS) and can_see_organisation(user, purchase.lead_buyer)


def get_joint_purchase(session: Session, user: User, joint_purchase_id: int) -> JointPurchase:
    """The joint purchase; NotFoundError (404) when there is none or the user may not see it."""
    purchase = session.get(JointPurchase, joint_purchase_id)
    if purchase is None or not can_see_joint_purchase(user, purchase):
        raise NotFoundError(_("There is no such joint purchase."))
    return purchase


def _require_managing(user: User, purchase: JointPurchase) -> None:
    if not can_see_joint_purchase(user, purchase):
        raise NotFoundError(_("There is no such joint purchase."))
    if not can_manage(user, purchase):
        raise JointPurchaseError(_("Only a purchasing officer of the lead buyer can change this joint purchase."))


def _require_draft(purchase: JointPurchase) -> None:
    if purchase.status != JointPurchaseStatus.DRAFT:
        raise JointPurchaseError(
            _("The joint purchase is %(status)s; only a draft can be changed.",
              status=JointPurchaseStatus(purchase.status).label.lower())
        )


# --- who takes part ----------------------------------------------------------------------------------------------


def _names(organisations: Sequence[Organisation]) -> str:
    shown = ", ".join(display_name(o) for o in organisations[:NAMES_SHOWN])
    rest = len(organisations) - NAMES_SHOWN
    return shown if rest <= 0 else _("%(names)s and %(n)s more", names=shown, n=rest)


def participant_sort_key(organisation: Organisation) -> tuple:
    # Regions first, then municipalities by kommunkod (Region Gotland, both, counts as a region).
    return (organisation.kind != OrganisationKind.REGION, organisation.county_code or "",
            organisation.municipality_code or "", organisation.name)


def recipient_organisations(
    session: Session,
    recipients: str,
    *,
    county_code: str | None = None,
    organisation_ids: Iterable[int] = (),
) -> list[Organisation]:
    """The regions and municipalities a recipients choice stands for, regions first, then by kommunkod.

    Raises JointPurchaseError (field ``county_code`` or ``organisation_ids``) when a county choice names no
    county, or a picked list is empty or names an organisation that is not a region or municipality.
    """
    try:
        choice = Recipients(recipients)
    except ValueError:
        raise JointPurchaseError(_("Choose who the joint purchase is for."), field="recipients") from None
    stmt = select(Organisation).where(Organisation.kind.in_([str(kind) for kind in PARTICIPANT_KINDS]))
    if choice in (Recipients.COUNTY_MUNICIPALITIES, Recipients.COUNTY):
        if not county_code or session.get(County, county_code) is None:
            raise JointPurchaseError(_("Choose the county."), field="county_code")
        stmt = stmt.where(Organisation.county_code == county_code)
        if choice == Recipients.COUNTY_MUNICIPALITIES:
            stmt = stmt.where(Organisation.municipality_code.is_not(None))
    elif choice == Recipients.REGIONS:
        stmt = stmt.where(Organisation.kind == str(OrganisationKind.REGION))
    elif choice == Recipients.PICKED:
        wanted = set(organisation_ids)
        if not wanted:
            raise JointPurchaseError(_("Pick at least one region or municipality."), field="organisation_ids")
        picked = list(session.scalars(select(Organisation).where(Organisation.id.in_(wanted))))
        if len(picked) != len(wanted) or any(o.kind not in PARTICIPANT_KINDS for o in picked):
            raise JointPurchaseError(_("Only regions and municipalities take part in joint purchases."),
                                     field="organisation_ids")
        return sorted(picked, key=participant_sort_key)
    return sorted(session.scalars(stmt), key=participant_sort_key)


def check_may_lead(user: User, lead: Organisation, participants: Sequence[Organisation], *,
                   field: str = "recipients") -> None:
    """Refuse unless ``user`` may buy for ``lead`` and ``lead`` may buy for every participant.

    The agency buys for anyone; a region or municipality only for organisations of its own county. Raises
    JointPurchaseError naming the participants outside the county.
    """
    if not has_permission(user, Permission.MANAGE_ORDERS):
        raise JointPurchaseError(_("Your role does not allow this."))
    if lead.kind not in LEADING_KINDS:
        raise JointPurchaseError(_("Joint purchases are led by the national agency, a region or a municipality."))
    if not can_see_organisation(user, lead):
        raise JointPurchaseError(_("You can only lead joint purchases for your own organisation."))
    if lead.kind == OrganisationKind.AGENCY:
        return
    outside = [o for o in participants if o.county_code is None or o.county_code != lead.county_code]
    if outside:
        county = lead.county.name if lead.county else lead.county_code
        raise JointPurchaseError(
            _(
                "%(lead)s can lead joint purchases only for organisations in its own county (%(county)s); "
                "%(names)s are outside it. The national agency buys across counties.",
                lead=display_name(lead),
                county=county,
                names=_names(outside),
            ),
            field=field,
        )


# --- registered need ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedRow:
    """A participant's registered need as read now: the sum over branches and when it was reported."""

    organisation: Organisation
    need: int | None
    first_reported_at: datetime | None
    last_reported_at: datetime | None
    branches: tuple[str, ...]

    @property
    def has_report(self) -> bool:
        return self.need is not None


def read_need(
    session: Session, *, category: ProductCategory, organisations: Sequence[Organisation], now: datetime | None = None
) -> list[NeedRow]:
    """Each organisation's current registered need of the category (stated need, summed over its branches).

    "Current" is the register's: the latest report per branch, if reported within the reporting settings'
    ``need_max_age_days``; an organisation with none has need None (flagged as "no current report").
    """
    if not organisations:
        return []
    current = registered_need(
        session, category_id=category.id, organisation_ids=[o.id for o in organisations], now=now or utcnow()
    )
    figures = [joint.NeedFigure(row.organisation_id, row.branch, row.stated_need, row.reported_at) for row in current]
    by_id = {o.id: o for o in organisations}
    return [
        NeedRow(by_id[item.organisation_id], item.need, item.first_reported_at, item.last_reported_at, item.branches)
        for item in joint.aggregate_need([o.id for o in organisations], figures)
    ]


def snapshot_reported_at(session: Session, purchase: JointPurchase) -> dict[int, datetime]:
    """When each participant's registered need in the snapshot was reported, by organisation id.

    The newest submission of a report with a line of the category, no later than the moment the need was read
    (the register keeps only the newest figures, so the snapshot's are found in the report history). Empty
    when the purchase did not start from the register.
    """
    if purchase.need_read_at is None:
        return {}
    ids = [p.organisation_id for p in purchase.participants if p.registered_need is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(SituationReportVersion.organisation_id, func.max(SituationReportVersion.submitted_at))
        .join(SituationReportLine, SituationReportLine.version_id == SituationReportVersion.id)
        .where(
            SituationReportLine.category_id == purchase.category_id,
            SituationReportVersion.organisation_id.in_(ids),
            SituationReportVersion.submitted_at <= purchase.need_read_at,
        )
        .group_by(SituationReportVersion.organisation_id)
    ).all()
    return {organisation_id: submitted_at for organisation_id, submitted_at in rows}


# --- starting ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JointPurchaseInput:
    """What an officer gives to start a joint purchase."""

    title: str
    category: ProductCategory | None
    recipients: str
    product: Product | None = None
    county_code: str | None = None
    organisation_ids: Sequence[int] = ()
    cost_split: str = CostSplit.BY_QUANTITY.value
    from_register: bool = True
    notes: str | None = None


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise JointPurchaseError(_("Give the joint purchase a title."), field="title")
    if len(title) > MAX_TITLE:
        raise JointPurchaseError(_("At most %(n)s characters.", n=MAX_TITLE), field="title")
    return title


def _clean_notes(notes: str | None) -> str | None:
    notes = (notes or "").strip() or None
    if notes and len(notes) > MAX_TEXT:
        raise JointPurchaseError(_("At most %(n)s characters.", n=MAX_TEXT), field="notes")
    return notes


def _check_split(cost_split: str) -> str:
    if cost_split not in {member.value for member in CostSplit}:
        raise JointPurchaseError(_("Choose how the cost is split."), field="cost_split")
    return cost_split


def _check_product(category: ProductCategory | None, product: Product | None) -> None:
    if category is None:
        raise JointPurchaseError(_("Choose the product category."), field="category_id")
    if product is not None and (product.category_id != category.id or not product.active):
        raise JointPurchaseError(_("Choose an active product of the chosen category."), field="product_id")


def preview_need(session: Session, user: User, data: JointPurchaseInput, *, now: datetime | None = None) -> list[NeedRow]:
    """The registered need of the participants the choice stands for, checked as :func:`start_joint_purchase`
    would, without writing anything."""
    _check_product(data.category, data.product)
    participants = recipient_organisations(
        session, data.recipients, county_code=data.county_code, organisation_ids=data.organisation_ids
    )
    check_may_lead(user, user.organisation, participants)
    return read_need(session, category=data.category, organisations=participants, now=now)


def start_joint_purchase(
    session: Session, user: User, data: JointPurchaseInput, *, now: datetime | None = None
) -> JointPurchase:
    """A draft joint purchase numbered SI-<year>-NNNN led by the user's organisation. Flush only.

    From the register, each participant's registered need is kept and its quantity defaults to it (0 when it
    has no current report); by hand, the quantities start at 0 for the officer to enter. Raises
    JointPurchaseError for a missing title or category, a product outside the category, an empty or foreign
    set of participants (see :func:`check_may_lead`) or an unknown cost split.
    """
    now = now or utcnow()
    title = _clean_title(data.title)
    _check_product(data.category, data.product)
    cost_split = _check_split(data.cost_split)
    notes = _clean_notes(data.notes)
    participants = recipient_organisations(
        session, data.recipients, county_code=data.county_code, organisation_ids=data.organisation_ids
    )
    if not participants:
        raise JointPurchaseError(_("No region or municipality matches the choice."), field="recipients")
    lead = user.organisation
    check_may_lead(user, lead, participants)
    purchase = JointPurchase(
        reference=next_number(session, SERIES, local_date(now).year),
        title=title,
        category=data.category,
        product=data.product,
        lead_buyer=lead,
        cost_split=cost_split,
        status=JointPurchaseStatus.DRAFT.value,
        need_read_at=now if data.from_register else None,
        notes=notes,
        created_by_id=user.id,
        created_at=now,
    )
    if data.from_register:
        for row in read_need(session, category=data.category, organisations=participants, now=now):
            purchase.participants.append(
                JointPurchaseParticipant(organisation=row.organisation, registered_need=row.need, quantity=row.need or 0)
            )
    else:
        for organisation in participants:
            purchase.participants.append(JointPurchaseParticipant(organisation=organisation, quantity=0))
    session.add(purchase)
    session.flush()
    return purchase


# --- editing a draft ---------------------------------------------------------------------------------------------


def _check_quantity(organisation: Organisation, quantity) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_QUANTITY:
        raise JointPurchaseError(
            _("%(name)s: the quantity is a whole number of units, 0 or more (0 leaves it out).",
              name=display_name(organisation)),
            field="participants",
        )


def update_joint_purchase(
    session: Session,
    user: User,
    purchase: JointPurchase,
    *,
    title: str,
    cost_split: str,
    notes: str | None,
    quantities: Mapping[int, int],
    removed: Iterable[int] = (),
    added: Sequence[Organisation] = (),
    now: datetime | None = None,
) -> JointPurchase:
    """Change a draft: title, notes, cost split, the quantity each participant takes (by organisation id; 0
    drops it out but keeps it listed), participants removed and added. Flush only.

    An added participant's registered need is read from the register when the purchase started from it, and
    its quantity defaults to that need. Raises JointPurchaseError unless the purchase is a draft the user may
    change, every quantity is a whole number from 0, added organisations may be led by the lead buyer, and at
    least one participant remains.
    """
    _require_managing(user, purchase)
    _require_draft(purchase)
    title = _clean_title(title)
    cost_split = _check_split(cost_split)
    notes = _clean_notes(notes)
    removed = set(removed)
    existing = {p.organisation_id for p in purchase.participants}
    added = [o for o in added if o.id not in existing]
    if any(o.kind not in PARTICIPANT_KINDS for o in added):
        raise JointPurchaseError(_("Only regions and municipalities take part in joint purchases."),
                                 field="add_organisation_ids")
    check_may_lead(user, purchase.lead_buyer, added, field="add_organisation_ids")
    for participant in purchase.participants:
        if participant.organisation_id in removed:
            continue
        if participant.organisation_id in quantities:
            _check_quantity(participant.organisation, quantities[participant.organisation_id])
    if all(p.organisation_id in removed for p in purchase.participants) and not added:
        raise JointPurchaseError(_("A joint purchase needs at least one participant."), field="participants")

    purchase.title = title
    purchase.cost_split = cost_split
    purchase.notes = notes
    for participant in list(purchase.participants):
        if participant.organisation_id in removed:
            purchase.participants.remove(participant)
        elif participant.organisation_id in quantities:
            participant.quantity = quantities[participant.organisation_id]
    if added:
        needs = (
            {row.organisation.id: row.need for row in
             read_need(session, category=purchase.category, organisations=added, now=now)}
            if purchase.need_read_at is not None else {}
        )
        for organisation in sorted(added, key=participant_sort_key):
            need = needs.get(organisation.id)
            purchase.participants.append(
                JointPurchaseParticipant(organisation=organisation, registered_need=need, quantity=need or 0)
            )
    session.flush()
    return purchase


def refresh_need(session: Session, user: User, purchase: JointPurchase, *, now: datetime | None = None) -> JointPurchase:
    """Read every participant's registered need again (a new snapshot). Flush only.

    A quantity that still equals the earlier snapshot (or 0 without one) follows the new need; one the
    officer changed stays. Raises JointPurchaseError unless the purchase is a draft the user may change.
    """
    _require_managing(user, purchase)
    _require_draft(purchase)
    now = now or utcnow()
    rows = read_need(session, category=purchase.category,
                     organisations=[p.organisation for p in purchase.participants], now=now)
    by_id = {row.organisation.id: row for row in rows}
    for participant in purchase.participants:
        row = by_id[participant.organisation_id]
        if participant.quantity == (participant.registered_need or 0):
            participant.quantity = row.need or 0
        participant.registered_need = row.need
    purchase.need_read_at = now
    session.flush()
    return purchase


def cancel_joint_purchase(session: Session, user: User, purchase: JointPurchase) -> JointPurchase:
    """Cancel a draft. Flush only. Raises JointPurchaseError unless it is a draft the user may change."""
    _require_managing(user, purchase)
    _require_draft(purchase)
    purchase.status = JointPurchaseStatus.CANCELLED.value
    session.flush()
    return purchase


# --- the split ---------------------------------------------------------------------------------------------------


def total_quantity(purchase: JointPurchase) -> int:
    return sum(p.quantity for p in purchase.participants)


def total_registered_need(purchase: JointPurchase) -> int:
    return sum(p.registered_need or 0 for p in purchase.participants)


def _takers(session: Session, purchase: JointPurchase) -> dict[int, joint.Taker]:
    by_population = purchase.cost_split == CostSplit.BY_POPULATION
    return {
        p.organisation_id: joint.Taker(
            p.quantity, population_of(session, p.organisation) if by_population and p.quantity > 0 else None
        )
        for p in purchase.participants
    }


def _split_problem(session: Session, purchase: JointPurchase, error: joint.SplitError) -> str:
    if error.reason == "population unknown":
        by_id = {p.organisation_id: p.organisation for p in purchase.participants}
        return _("The population of %(names)s is not known; split the cost another way.",
                 names=_names([by_id[key] for key in error.keys]))
    return _("No participant takes anything yet: enter the quantities first.")


def computed_shares(session: Session, purchase: JointPurchase) -> dict[int, int]:
    """Each participant's share of the cost in parts per million by organisation id, as the split gives it now.

    Raises JointPurchaseError (field ``cost_split``) when nobody takes anything or a population is unknown.
    """
    try:
        return joint.cost_shares_ppm(purchase.cost_split, _takers(session, purchase))
    except joint.SplitError as error:
        raise JointPurchaseError(_split_problem(session, purchase, error), field="cost_split") from None


def cost_shares(session: Session, purchase: JointPurchase) -> tuple[dict[int, int] | None, str | None]:
    """The shares to show: fixed ones once ordered, otherwise computed now; or None and the reason why not."""
    if purchase.status != JointPurchaseStatus.DRAFT and all(
        p.cost_share_ppm is not None for p in purchase.participants
    ):
        return {p.organisation_id: p.cost_share_ppm for p in purchase.participants}, None
    try:
        return computed_shares(session, purchase), None
    except JointPurchaseError as error:
        return None, error.message


def participant_amounts(purchase: JointPurchase, shares_ppm: Mapping[int, int], order: PurchaseOrder) -> dict[int, int]:
    """Each participant's part of the order value in öre by organisation id; the parts add up to exactly the
    order value (see ``orders.joint.amounts_ore``)."""
    quantities = {p.organisation_id: p.quantity for p in purchase.participants}
    return joint.amounts_ore(purchase.cost_split, order_value_ore(order), quantities, shares_ppm)


def orders_of(session: Session, purchase: JointPurchase) -> list[PurchaseOrder]:
    """The purchase orders placed for the joint purchase, newest first."""
    return list(
        session.scalars(
            select(PurchaseOrder).where(PurchaseOrder.joint_purchase_id == purchase.id).order_by(PurchaseOrder.id.desc())
        )
    )


def current_order(session: Session, purchase: JointPurchase) -> PurchaseOrder | None:
    """The order that stands for the purchase: the newest one not cancelled, else the newest."""
    placed = orders_of(session, purchase)
    return next((o for o in placed if o.status != OrderStatus.CANCELLED), placed[0] if placed else None)


def can_order(session: Session, purchase: JointPurchase) -> bool:
    """A draft can be ordered; so can an ordered purchase whose every order was cancelled (to order anew)."""
    if purchase.status == JointPurchaseStatus.DRAFT:
        return True
    if purchase.status != JointPurchaseStatus.ORDERED:
        return False
    return all(o.status == OrderStatus.CANCELLED for o in orders_of(session, purchase))


# --- ordering ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JointOrderInput:
    """The purchase order's terms as the officer gives them; the lines and schedule come from the purchase."""

    supplier: Supplier | None
    product: Product | None
    unit_price: Decimal | None
    currency: str
    order_date: date | None
    due_on: date | None
    delivery: str
    warehouse: StockLocation | None = None
    incoterm: str | None = None
    incoterm_place: str | None = None
    payment_terms: str | None = None
    notes: str | None = None


# The order's fields as the joint purchase's order form names them.
_ORDER_FIELDS = {"lines": "unit_price", "deliveries": "due_on", "buyer_id": None}


def _deliveries(session: Session, purchase: JointPurchase, data: JointOrderInput, total: int) -> list[DeliveryInput]:
    if data.due_on is None:
        raise JointPurchaseError(_("Enter the delivery date."), field="due_on")
    if data.delivery == DeliveryMode.WAREHOUSE:
        if data.warehouse is None or data.warehouse.kind != LocationKind.WAREHOUSE:
            raise JointPurchaseError(_("Choose the national warehouse."), field="warehouse_id")
        return [DeliveryInput(line_number=1, due_on=data.due_on, quantity=total, destination=data.warehouse)]
    if data.delivery == DeliveryMode.DIRECT:
        return [
            DeliveryInput(line_number=1, due_on=data.due_on, quantity=p.quantity,
                          destination=ledger.location_for_organisation(session, p.organisation))
            for p in sorted(purchase.participants, key=lambda p: participant_sort_key(p.organisation))
            if p.quantity > 0
        ]
    raise JointPurchaseError(_("Choose where the goods are delivered."), field="delivery")


def order_joint_purchase(session: Session, user: User, purchase: JointPurchase, data: JointOrderInput) -> PurchaseOrder:
    """Create the purchase order of the joint purchase and mark the purchase ordered. Flush only.

    One line: the purchase's product (or the one chosen, of its category) for the sum of the participants'
    quantities at the unit price; delivered in one delivery to a national warehouse or in one delivery to
    each participant taking anything. The order is placed by the lead buyer through ``create_order`` (a
    draft for the orders' approval), and each participant's share of the cost is fixed. Raises
    JointPurchaseError (or the order's own OrderError with the field of this form) when the purchase cannot be
    ordered, nobody takes anything, the split fails, or the order breaks a rule.
    """
    _require_managing(user, purchase)
    if not can_order(session, purchase):
        raise JointPurchaseError(
            _("The joint purchase is %(status)s and has an order; only a draft can be ordered.",
              status=JointPurchaseStatus(purchase.status).label.lower())
        )
    product = purchase.product or data.product
    if product is None or product.category_id != purchase.category_id:
        raise JointPurchaseError(_("Choose a product of the joint purchase's category."), field="product_id")
    total = total_quantity(purchase)
    if total <= 0:
        raise JointPurchaseError(_("No participant takes anything yet: enter the quantities first."),
                                 field="participants")
    shares = computed_shares(session, purchase)
    deliveries = _deliveries(session, purchase, data, total)
    try:
        order = create_order(
            session,
            user,
            supplier=data.supplier,
            buyer=purchase.lead_buyer,
            currency=data.currency,
            order_date=data.order_date,
            lines=[OrderLineInput(product=product, quantity=total, unit_price=data.unit_price)],
            deliveries=deliveries,
            incoterm=data.incoterm,
            incoterm_place=data.incoterm_place,
            payment_terms=data.payment_terms,
            joint_purchase=purchase,
            notes=data.notes,
        )
    except OrderError as error:
        field = _ORDER_FIELDS.get(error.field, error.field) if error.field else None
        raise JointPurchaseError(error.message, field=field) from None
    for participant in purchase.participants:
        participant.cost_share_ppm = shares[participant.organisation_id]
    purchase.status = JointPurchaseStatus.ORDERED.value
    session.flush()
    return order
