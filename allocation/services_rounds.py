"""Allocation rounds and decisions (fördelningsbeslut): open a round, preview it, adjust, decide, cancel.

Services flush only; the caller commits once (the view, after success) or rolls back on a DomainError.

* The national coordinator opens a round for released (available) stock in a national warehouse, chooses the
  recipients (:class:`RecipientScope`), the policy, pack sizes and horizon; the round's lines are the engine's
  result with its explanation (``allocation/round_claims.py`` builds the claims, ``allocation/engine.py``
  shares out). A line may be adjusted by hand with a reason; it stays visible as computed and decided.
* Deciding numbers the decision (series "AB": ``2026-0017``), reserves the stock through the ledger and plans
  one shipment per recipient, all in one transaction (a savepoint: a refusal changes nothing). The ledger's
  row locks make two coordinators deciding on the same stock at once safe: the second waits, then finds the
  stock gone and is refused.
* Two-level rounds: a national round to the county boards; once a board's shipment is confirmed, its county
  coordinator passes what arrived on to the county's region and municipalities in a second-level round
  (``parent_id``) from the board's own stock location.
* Who: a round is managed by users with MANAGE_ALLOCATION at the organisation deciding it (the agency, or the
  county board of a second-level round). It is seen (VIEW_ALLOCATION) by national scope always; by others
  once decided when they are party to it (a line to their organisation, or for a county board to any
  organisation of its county), and by the deciding organisation as a draft too.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from allocation import reporting
from allocation.models_distribution import (
    AllocationLine,
    AllocationPolicy,
    AllocationRound,
    NationalRequest,
    RecipientScope,
    RequestStatus,
    RoundProduct,
    RoundStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from allocation.round_claims import (
    SHARE_WIDTH,
    Candidate,
    NeedRow,
    ProductSpec,
    RequestedNeed,
    RoundClaim,
    allocate_products,
    board_claims,
    fraction_text,
    organisation_claims,
    parse_fraction,
)
from app.auth.access import Scope, has_permission, scope_of
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from app.notifications.services import in_language_of, notify, page_link
from app.numbering import next_value
from app.organisations.models import Organisation, OrganisationKind
from app.stock import ledger
from app.stock.models import LocationKind, Lot, StockBalance, StockLocation, StockState
from app.timeutil import local_today

DECISION_SERIES = "AB"
DOCUMENT_TYPE = "allocation_decision"
MAX_HORIZON_DAYS = 365
MAX_TITLE = 200
RECEIVING_ROLES = (Role.RECIPIENT, Role.REPORTER)


class RoundError(DomainError):
    """An allocation round or decision that breaks a rule; ``field`` names the form field."""


def decision_number(year: int, value: int) -> str:
    """``decision_number(2026, 17)`` -> ``"2026-0017"``."""
    return f"{year}-{value:04d}"


# --- access ------------------------------------------------------------------------------------------------


def visibility_clause(user) -> ColumnElement[bool]:
    """A WHERE clause on AllocationRound: the rounds ``user`` may read (see the module docstring)."""
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    organisation = user.organisation
    if scope is Scope.COUNTY:
        party_to = AllocationLine.recipient.has(Organisation.county_code == organisation.county_code)
    else:
        party_to = AllocationLine.recipient_id == organisation.id
    party = exists(select(AllocationLine.id).where(AllocationLine.round_id == AllocationRound.id, party_to))
    return or_(
        AllocationRound.decided_by_organisation_id == organisation.id,
        and_(AllocationRound.status == RoundStatus.DECIDED.value, party),
    )


def get_round(session: Session, user, round_id: int) -> AllocationRound:
    """The round if ``user`` may read it. Raises NotFoundError otherwise (and for no such round)."""
    found = session.scalar(
        select(AllocationRound).where(AllocationRound.id == round_id, visibility_clause(user))
    )
    if found is None:
        raise NotFoundError(_("No such allocation round."))
    return found


def may_manage(user, round_: AllocationRound) -> bool:
    return has_permission(user, Permission.MANAGE_ALLOCATION) and user.organisation_id == round_.decided_by_organisation_id


def may_open_national(user) -> bool:
    return has_permission(user, Permission.MANAGE_ALLOCATION) and user.organisation.kind == OrganisationKind.AGENCY


def _ensure_manager(user, round_: AllocationRound) -> None:
    if not may_manage(user, round_):
        raise RoundError(_("Only a coordinator of %(organisation)s manages this round.",
                           organisation=round_.decided_by_organisation.name))


def _ensure_draft(round_: AllocationRound) -> None:
    if round_.status != RoundStatus.DRAFT.value:
        raise RoundError(_("The round is %(status)s; only a draft can be changed.",
                           status=RoundStatus(round_.status).label.lower()))


# --- stock ---------------------------------------------------------------------------------------------------


def usable_from(today: date) -> date:
    """The first day a lot must still be good on to be shared out: a lot expiring today cannot be shipped."""
    return today + timedelta(days=1)


def available_stock(session: Session, location: StockLocation, *, on: date | None = None) -> dict[int, int]:
    """{product id: units} released (available, not reserved) at ``location`` in lots still good on ``on``
    (tomorrow): what a round may share out. Lots expiring sooner are left out, as the reservation passes them
    over."""
    on = on or usable_from(local_today())
    session.flush()
    rows = session.execute(
        select(StockBalance.product_id, func.sum(StockBalance.quantity))
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(
            StockBalance.location_id == location.id,
            StockBalance.state == StockState.AVAILABLE.value,
            StockBalance.quantity > 0,
            or_(Lot.expiry_on.is_(None), Lot.expiry_on >= on),
        )
        .group_by(StockBalance.product_id)
    )
    return {product_id: int(quantity) for product_id, quantity in rows}


def warehouse_stock(session: Session) -> list[tuple[StockLocation, list[tuple[Product, int]]]]:
    """Every active national warehouse with the products it holds available, by SKU: the new-round page's table."""
    result = []
    for warehouse in ledger.warehouses(session):
        held = available_stock(session, warehouse)
        products = session.scalars(select(Product).where(Product.id.in_(held)).order_by(Product.sku)).all() if held else []
        result.append((warehouse, [(product, held[product.id]) for product in products]))
    return result


# --- inputs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductInput:
    """A product the coordinator puts in a round. ``pack_size`` None: the product's; ``need_category`` None:
    its own category; another category makes it a substitute that needs ``substitute_note``."""

    product: Product
    quantity: int
    pack_size: int | None = None
    need_category: ProductCategory | None = None
    substitute_note: str = ""


@dataclass(frozen=True)
class RoundSettings:
    """What a coordinator chooses for a round besides its products."""

    title: str
    policy: str = AllocationPolicy.DAYS_OF_SUPPLY.value
    horizon_days: int = 21
    notes: str = ""


def _check_settings(settings: RoundSettings) -> None:
    if not settings.title.strip():
        raise RoundError(_("Give the round a title."), field="title")
    if len(settings.title.strip()) > MAX_TITLE:
        raise RoundError(_("At most %(n)s characters.", n=MAX_TITLE), field="title")
    if settings.policy not in {policy.value for policy in AllocationPolicy}:
        raise RoundError(_("Choose a policy."), field="policy")
    if not isinstance(settings.horizon_days, int) or not 0 < settings.horizon_days <= MAX_HORIZON_DAYS:
        raise RoundError(_("The horizon is 1 to %(n)s days.", n=MAX_HORIZON_DAYS), field="horizon_days")


def _check_products(session: Session, products: Sequence[ProductInput], source: StockLocation) -> None:
    if not products:
        raise RoundError(_("Add at least one product to share out."), field="products")
    seen = set()
    available = available_stock(session, source)
    for item in products:
        product = item.product
        if product.id in seen:
            raise RoundError(_("%(sku)s is in the round twice.", sku=product.sku), field="products")
        seen.add(product.id)
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int) or item.quantity <= 0:
            raise RoundError(_("%(sku)s: the quantity to share out must be above 0.", sku=product.sku), field="products")
        held = available.get(product.id, 0)
        if item.quantity > held:
            raise RoundError(
                _("%(sku)s: %(quantity)s units to share out, but only %(available)s are available and unreserved "
                  "at %(location)s.", sku=product.sku, quantity=item.quantity, available=held, location=source.name),
                field="products",
            )
        if item.pack_size is not None and (isinstance(item.pack_size, bool) or item.pack_size <= 0):
            raise RoundError(_("%(sku)s: the pack size must be above 0.", sku=product.sku), field="products")
        category = item.need_category or product.category
        if category.id != product.category_id and not item.substitute_note.strip():
            raise RoundError(
                _("%(sku)s meets the need for another category: say why it is equivalent or better.", sku=product.sku),
                field="products",
            )


def _set_products(round_: AllocationRound, products: Sequence[ProductInput]) -> None:
    """Make the round's products these, updating rows in place (a product is unique within a round)."""
    existing = {rp.product_id: rp for rp in round_.products}
    wanted = {item.product.id for item in products}
    for product_id, rp in existing.items():
        if product_id not in wanted:
            round_.products.remove(rp)
    for item in products:
        category = item.need_category or item.product.category
        rp = existing.get(item.product.id)
        if rp is None:
            rp = RoundProduct(product=item.product)
            round_.products.append(rp)
        rp.need_category = category
        rp.quantity = item.quantity
        rp.pack_size = item.pack_size or item.product.pack_size
        rp.substitute_note = item.substitute_note.strip() or None


# --- claims and lines ----------------------------------------------------------------------------------------


def _populations(session: Session) -> dict[str, int]:
    """{county code: inhabitants}, summed over its municipalities (a region's population is its county's)."""
    rows = session.execute(
        select(Organisation.county_code, func.coalesce(func.sum(Organisation.population), 0))
        .where(Organisation.municipality_code.is_not(None))
        .group_by(Organisation.county_code)
    )
    return {code: int(total) for code, total in rows}


def candidates_for(session: Session, round_: AllocationRound) -> list[Candidate]:
    """The regions and municipalities whose need the round reads, by county and code."""
    stmt = select(Organisation).where(reporting.reporting_organisations_filter())
    if round_.recipient_scope == RecipientScope.COUNTY.value:
        stmt = stmt.where(Organisation.county_code == round_.county_code)
    organisations = session.scalars(stmt.order_by(Organisation.county_code, Organisation.code)).all()
    county_population = _populations(session)
    boards = {}
    if round_.recipient_scope == RecipientScope.COUNTY_BOARDS.value:
        boards = dict(
            session.execute(
                select(Organisation.county_code, Organisation.id).where(
                    Organisation.kind == OrganisationKind.COUNTY_BOARD.value
                )
            ).all()
        )
    candidates = []
    for organisation in organisations:
        if organisation.kind == OrganisationKind.REGION:
            population = county_population.get(organisation.county_code, 0)
        else:
            population = organisation.population or 0
        board_id = boards.get(organisation.county_code)
        if round_.recipient_scope == RecipientScope.COUNTY_BOARDS.value and board_id is None:
            continue
        candidates.append(Candidate(organisation.id, population, board_id))
    return candidates


def _need_rows(session: Session, category_id: int, organisation_ids: Sequence[int]) -> list[NeedRow]:
    wanted = set(organisation_ids)
    return [
        NeedRow(row.organisation_id, row.stock, row.consumption_7d, row.stated_need)
        for row in reporting.registered_need(session, category_id=category_id)
        if row.organisation_id in wanted
    ]


def attached_requests(session: Session, round_: AllocationRound) -> list[NationalRequest]:
    if round_.id is None:
        return []
    return list(
        session.scalars(
            select(NationalRequest)
            .where(NationalRequest.round_id == round_.id)
            .options(selectinload(NationalRequest.lines))
            .order_by(NationalRequest.submitted_at, NationalRequest.id)
        )
    )


def _requested(requests: Sequence[NationalRequest], category_id: int) -> list[RequestedNeed]:
    return [
        RequestedNeed(line.organisation_id, line.quantity, line.id)
        for request in requests
        for line in request.lines
        if line.category_id == category_id
    ]


def claims_for(session: Session, round_: AllocationRound, rp: RoundProduct) -> list[RoundClaim]:
    """The recipients' claims on one of the round's products, before products of the same category."""
    candidates = candidates_for(session, round_)
    claims = organisation_claims(
        candidates,
        _need_rows(session, rp.need_category_id, [c.organisation_id for c in candidates]),
        _requested(attached_requests(session, round_), rp.need_category_id),
        population_fallback=round_.policy == AllocationPolicy.POPULATION.value,
        supply=rp.quantity,
        pack_size=rp.pack_size,
    )
    if round_.recipient_scope == RecipientScope.COUNTY_BOARDS.value:
        return board_claims(claims, candidates)
    return claims


def compute_lines(session: Session, user, round_: AllocationRound) -> None:
    """Build the round's lines afresh from the current registered need: the engine's result, unadjusted."""
    session.flush()
    for line in list(round_.lines):
        round_.lines.remove(line)
    session.flush()
    specs, claims = [], {}
    for rp in round_.products:
        specs.append(ProductSpec(rp.product_id, rp.need_category_id, rp.quantity, rp.pack_size))
        # Products meeting the same category share one set of claims (round_claims gives them out in turn).
        claims.setdefault(rp.need_category_id, claims_for(session, round_, rp))
    try:
        results = allocate_products(specs, claims, policy=round_.policy, horizon_days=round_.horizon_days)
    except ValueError as error:  # the engine names the bad figure; the round's own checks make it rare
        raise RoundError(_("The allocation could not be computed: %(error)s", error=str(error))) from error
    for result in results:
        for figures in result.lines:
            claim = figures.claim
            round_.lines.append(
                AllocationLine(
                    product_id=result.spec.key,
                    recipient_id=claim.recipient_id,
                    need=claim.need,
                    stock=claim.stock,
                    daily_use=fraction_text(claim.daily_use) or "",  # "": no current report
                    population=claim.population,
                    weight="1",
                    national_request_line_id=claim.request_line_id,
                    days_before=fraction_text(figures.days_before),
                    days_after=fraction_text(figures.days_after),
                    continuous_share=fraction_text(figures.continuous_share, SHARE_WIDTH),
                    capped=figures.capped,
                    computed_quantity=figures.quantity,
                    quantity=figures.quantity,
                )
            )
    session.flush()


# --- opening and changing a round --------------------------------------------------------------------------


def _attach_requests(session: Session, user, round_: AllocationRound, requests: Sequence[NationalRequest]) -> None:
    if not requests:
        return
    from allocation import services_requests  # the escalation helper's: sets round and status

    for request in requests:
        _check_request_county(round_, request)
        services_requests.attach_to_round(session, user, request, round_)


def _check_request_county(round_: AllocationRound, request: NationalRequest) -> None:
    if round_.recipient_scope == RecipientScope.COUNTY.value and request.county_code != round_.county_code:
        raise RoundError(
            _("Request %(reference)s comes from another county than the round's.", reference=request.reference),
            field="recipient_scope" if round_.id and request.round_id == round_.id else "requests",
        )


def open_round(
    session: Session,
    user,
    *,
    settings: RoundSettings,
    source_location: StockLocation,
    recipient_scope: str,
    county_code: str | None = None,
    products: Sequence[ProductInput],
    requests: Sequence[NationalRequest] = (),
) -> AllocationRound:
    """Open a national round as a draft with its lines computed.

    Raises RoundError for a user who is not a national coordinator, a source that is not a national
    warehouse, a scope without its county, bad settings, and products that are repeated, have no quantity,
    exceed the available unreserved stock or substitute another category without a note.
    """
    if not may_open_national(user):
        raise RoundError(_("Only the national coordinator opens national allocation rounds."))
    if source_location.kind != LocationKind.WAREHOUSE.value or not source_location.active:
        raise RoundError(_("Choose a national warehouse."), field="source_location_id")
    recipient_scope = _check_scope(session, recipient_scope, county_code)
    _check_settings(settings)
    _check_products(session, products, source_location)
    round_ = AllocationRound(
        title=settings.title.strip(),
        status=RoundStatus.DRAFT.value,
        policy=settings.policy,
        recipient_scope=recipient_scope,
        county_code=county_code if recipient_scope == RecipientScope.COUNTY.value else None,
        horizon_days=settings.horizon_days,
        decided_by_organisation_id=user.organisation_id,
        source_location=source_location,
        notes=settings.notes.strip() or None,
        created_by_id=user.id,
    )
    session.add(round_)
    _set_products(round_, products)
    session.flush()
    _attach_requests(session, user, round_, requests)
    compute_lines(session, user, round_)
    return round_


def _check_scope(session: Session, recipient_scope: str, county_code: str | None) -> str:
    try:
        scope = RecipientScope(recipient_scope)
    except ValueError:
        raise RoundError(_("Choose the recipients."), field="recipient_scope") from None
    if scope == RecipientScope.COUNTY:
        from app.organisations.models import County

        if not county_code or session.get(County, county_code) is None:
            raise RoundError(_("Choose the county."), field="county_code")
    return scope.value


def update_round(
    session: Session,
    user,
    round_: AllocationRound,
    *,
    settings: RoundSettings,
    products: Sequence[ProductInput],
    recipient_scope: str | None = None,
    county_code: str | None = None,
) -> AllocationRound:
    """Change a draft's settings and products and compute its lines again (adjustments are dropped).

    The recipients of a second-level round stay its county's. Raises RoundError as :func:`open_round`, and
    for a round that is not a draft or not the user's to manage.
    """
    _ensure_manager(user, round_)
    _ensure_draft(round_)
    _check_settings(settings)
    if round_.parent_id is None and recipient_scope is not None:
        round_.recipient_scope = _check_scope(session, recipient_scope, county_code)
        round_.county_code = county_code if round_.recipient_scope == RecipientScope.COUNTY.value else None
        for request in attached_requests(session, round_):
            _check_request_county(round_, request)
    if round_.parent_id is not None:
        _check_onward_products(round_.parent, products)
    _check_products(session, products, round_.source_location)
    round_.title = settings.title.strip()
    round_.policy = settings.policy
    round_.horizon_days = settings.horizon_days
    round_.notes = settings.notes.strip() or None
    _set_products(round_, products)
    compute_lines(session, user, round_)
    return round_


def recompute(session: Session, user, round_: AllocationRound) -> AllocationRound:
    """Compute a draft's lines again from the registered need as it stands now (adjustments are dropped)."""
    _ensure_manager(user, round_)
    _ensure_draft(round_)
    compute_lines(session, user, round_)
    return round_


def adjust_line(session: Session, user, line: AllocationLine, *, quantity: int, reason: str) -> AllocationLine:
    """Decide another quantity than the engine's for one line, with the reason (audited like every write).

    Setting it back to the computed quantity removes the adjustment. Raises RoundError for a round that is
    not a draft or not the user's, a quantity that is negative or not whole packs, a missing reason, and a
    total for the product above the round's quantity.
    """
    round_ = line.round
    _ensure_manager(user, round_)
    _ensure_draft(round_)
    rp = next(rp for rp in round_.products if rp.product_id == line.product_id)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise RoundError(_("Enter a whole number, 0 or more."), field="quantity")
    if quantity % rp.pack_size:
        raise RoundError(_("Allocate whole packs of %(n)s units.", n=rp.pack_size), field="quantity")
    reason = (reason or "").strip()
    if quantity != line.computed_quantity and not reason:
        raise RoundError(_("Give the reason for the adjustment."), field="reason")
    others = sum(other.quantity for other in round_.lines if other.product_id == line.product_id and other is not line)
    if others + quantity > rp.quantity:
        raise RoundError(
            _("The round shares out %(total)s units of %(sku)s; the lines would add up to %(sum)s.",
              total=rp.quantity, sku=rp.product.sku, sum=others + quantity),
            field="quantity",
        )
    line.quantity = quantity
    if quantity == line.computed_quantity:
        line.adjustment_reason = None
        line.adjusted_by_id = None
        line.adjusted_at = None
    else:
        line.adjustment_reason = reason
        line.adjusted_by_id = user.id
        line.adjusted_at = utcnow()
    session.flush()
    return line


def cancel_round(session: Session, user, round_: AllocationRound, reason: str) -> AllocationRound:
    """Cancel a draft with the reason; national requests in it go back to waiting for a round."""
    _ensure_manager(user, round_)
    _ensure_draft(round_)
    reason = (reason or "").strip()
    if not reason:
        raise RoundError(_("Give the reason."), field="reason")
    round_.status = RoundStatus.CANCELLED.value
    round_.cancelled_at = utcnow()
    round_.cancel_reason = reason
    for request in attached_requests(session, round_):
        request.status = RequestStatus.SUBMITTED.value
        request.round_id = None
    session.flush()
    return round_


# --- deciding ------------------------------------------------------------------------------------------------


def decided_totals(round_: AllocationRound) -> dict[int, int]:
    """{product id: units decided} over the round's lines."""
    totals: dict[int, int] = defaultdict(int)
    for line in round_.lines:
        totals[line.product_id] += line.quantity
    return dict(totals)


def decide_round(session: Session, user, round_: AllocationRound) -> AllocationRound:
    """Make the draft an allocation decision in one step: number it, reserve the stock it gives out (first
    expiry first out, per product), record who decided and when, plan one shipment per recipient, and tell
    the recipients and their county boards.

    All or nothing (a savepoint): raises RoundError, changing nothing, for a round that is not a draft (say,
    decided by someone else a moment ago) or not the user's, one that gives out nothing or more than its
    quantities, and when the stock is no longer there (InsufficientStock: another decision took it).
    """
    _ensure_manager(user, round_)
    session.flush()
    with session.begin_nested():
        # Lock the round: two clicks, or two coordinators, cannot both decide it.
        locked = session.scalar(
            select(AllocationRound)
            .where(AllocationRound.id == round_.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        _ensure_draft(locked)
        totals = decided_totals(round_)
        if not any(totals.values()):
            raise RoundError(_("The round gives nothing out: there is nothing to decide."))
        products = sorted(round_.products, key=lambda rp: rp.product_id)  # one lock order for every decision
        for rp in products:
            if totals.get(rp.product_id, 0) > rp.quantity:
                raise RoundError(_("The lines of %(sku)s add up to more than the round's %(total)s units.",
                                   sku=rp.product.sku, total=rp.quantity))
        today = local_today()
        # The number first: its row lock makes concurrent decisions take turns from here on.
        number = decision_number(today.year, next_value(session, DECISION_SERIES, today.year))
        document = ledger.DocumentRef(DOCUMENT_TYPE, round_.id, number)
        for rp in products:
            quantity = totals.get(rp.product_id, 0)
            if not quantity:
                continue
            try:
                ledger.reserve_fefo(session, user, location=round_.source_location, product=rp.product,
                                    quantity=quantity, usable_on=usable_from(today), document=document)
            except ledger.InsufficientStock as error:
                raise RoundError(
                    _("The decision cannot be made: %(sku)s has %(available)s units available and unreserved at "
                      "%(location)s, the round gives out %(quantity)s. Another decision may have taken the stock; "
                      "adjust the round or compute it again.", sku=rp.product.sku, available=error.available,
                      location=round_.source_location.name, quantity=quantity)
                ) from error
        round_.number = number
        round_.status = RoundStatus.DECIDED.value
        round_.decided_on = today
        round_.decided_by_id = user.id
        round_.decided_at = utcnow()
        session.flush()
        from allocation import services_requests, services_shipments  # the escalation and shipments helpers'

        services_requests.mark_answered(session, round_)
        services_shipments.plan_shipments(session, user, round_)
    notify_decision(session, user, round_)
    return round_


def _receiving_users(session: Session, organisation_ids, roles) -> list[User]:
    if not organisation_ids:
        return []
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(User.organisation_id.in_(list(organisation_ids)), User.active.is_(True),
                   UserRole.role.in_([str(role) for role in roles]))
            .distinct()
            .order_by(User.id)
        )
    )


def notify_decision(session: Session, user, round_: AllocationRound) -> int:
    """Tell the users (recipient and reporter roles) of every organisation receiving something, and the
    county coordinators of their counties' boards, what the decision gives. Returns how many were told."""
    receiving = [line for line in round_.lines if line.quantity > 0]
    by_organisation: dict[int, list[AllocationLine]] = defaultdict(list)
    for line in receiving:
        by_organisation[line.recipient_id].append(line)
    counties = {line.recipient.county_code for line in receiving if line.recipient.county_code}
    boards = session.scalars(
        select(Organisation.id).where(
            Organisation.kind == OrganisationKind.COUNTY_BOARD.value, Organisation.county_code.in_(counties)
        )
    ).all() if counties else []
    people = {person.id: person for person in _receiving_users(session, by_organisation, RECEIVING_ROLES)}
    people.update({p.id: p for p in _receiving_users(session, boards, (Role.COUNTY_COORDINATOR,))})
    people.pop(user.id, None)
    link = page_link("allocation.round", round_id=round_.id)
    for person in people.values():
        with in_language_of(person):
            subject = _("Allocation decision %(number)s: %(title)s", number=round_.number, title=round_.title)
            own = by_organisation.get(person.organisation_id)
            if own:
                shares = "; ".join(_share_text(line) for line in own)
                body = _("%(organisation)s receives: %(shares)s. A shipment follows; confirm what arrives.",
                         organisation=person.organisation.name, shares=shares)
            else:
                body = _("Organisations in your county receive allocations: %(shares)s.",
                         shares="; ".join(f"{line.recipient.name} {_share_text(line)}"
                                          for line in receiving if line.recipient.county_code == person.organisation.county_code))
            notify(session, person, subject, body, link)
    return len(people)


def _share_text(line: AllocationLine) -> str:
    return f"{format_decimal(line.quantity)} × {line.product.sku}"


# --- two-level rounds: passing a board's share on ----------------------------------------------------------


@dataclass
class Onward:
    """Whether a county board may pass its share of a national round on, and what it holds to pass on."""

    parent: AllocationRound
    board: Organisation | None
    received: dict[int, int] = field(default_factory=dict)  # product id -> units allocated to the board
    confirmed: bool = False  # a shipment of the parent round to the board is confirmed
    available: dict[int, int] = field(default_factory=dict)  # product id -> units available at the board
    refusal: str | None = None

    @property
    def possible(self) -> bool:
        return self.refusal is None


def onward(session: Session, user, parent: AllocationRound) -> Onward:
    """What ``user``'s county board may pass on from ``parent``, or why it may not (``refusal``)."""
    organisation = user.organisation
    board = organisation if organisation.kind == OrganisationKind.COUNTY_BOARD else None
    state = Onward(parent, board)
    if board is None or not has_permission(user, Permission.MANAGE_ALLOCATION):
        state.refusal = _("Only a county board's coordinator passes its allocation on.")
        return state
    if (parent.status != RoundStatus.DECIDED.value or parent.recipient_scope != RecipientScope.COUNTY_BOARDS.value
            or parent.parent_id is not None):
        state.refusal = _("Only a decided national round to the county boards is passed on.")
        return state
    for line in parent.lines:
        if line.recipient_id == board.id and line.quantity:
            state.received[line.product_id] = line.quantity
    if not state.received:
        state.refusal = _("%(board)s receives nothing in this decision.", board=board.name)
        return state
    state.confirmed = bool(
        session.scalar(
            select(func.count(Shipment.id)).where(
                Shipment.round_id == parent.id,
                Shipment.recipient_id == board.id,
                Shipment.status == ShipmentStatus.CONFIRMED.value,
            )
        )
    )
    if not state.confirmed:
        state.refusal = _("Pass the allocation on once the shipment to %(board)s is confirmed.", board=board.name)
        return state
    held = available_stock(session, ledger.location_for_organisation(session, board))
    state.available = {product_id: held.get(product_id, 0) for product_id in state.received}
    return state


def confirmed_quantities(session: Session, parent: AllocationRound, board: Organisation) -> dict[int, int]:
    """{product id: units the board accepted} on the parent round's confirmed shipments to it."""
    rows = session.execute(
        select(ShipmentLine.product_id, func.coalesce(func.sum(ShipmentLine.accepted), 0))
        .join(Shipment)
        .where(Shipment.round_id == parent.id, Shipment.recipient_id == board.id,
               Shipment.status == ShipmentStatus.CONFIRMED.value)
        .group_by(ShipmentLine.product_id)
    )
    return {product_id: int(quantity) for product_id, quantity in rows}


def _check_onward_products(parent: AllocationRound, products: Sequence[ProductInput]) -> None:
    in_parent = {rp.product_id for rp in parent.products}
    for item in products:
        if item.product.id not in in_parent:
            raise RoundError(_("%(sku)s was not in the decision passed on.", sku=item.product.sku), field="products")


def open_second_level(
    session: Session, user, parent: AllocationRound, *, settings: RoundSettings, products: Sequence[ProductInput]
) -> AllocationRound:
    """Open a county board's second-level round: what the board received in ``parent`` shared out among its
    county's region and municipalities, from the board's own stock location, by the same categories (and
    substitute notes) unless changed.

    Raises RoundError when :func:`onward` refuses, for products not in the parent round, and as
    :func:`open_round` for the settings and the stock available at the board.
    """
    state = onward(session, user, parent)
    if not state.possible:
        raise RoundError(state.refusal)
    _check_settings(settings)
    _check_onward_products(parent, products)
    board = state.board
    source = ledger.location_for_organisation(session, board)
    parent_products = {rp.product_id: rp for rp in parent.products}
    products = [
        item if item.need_category is not None else ProductInput(
            item.product, item.quantity, item.pack_size, parent_products[item.product.id].need_category,
            item.substitute_note or parent_products[item.product.id].substitute_note or "",
        )
        for item in products
    ]
    _check_products(session, products, source)
    round_ = AllocationRound(
        title=settings.title.strip(),
        status=RoundStatus.DRAFT.value,
        policy=settings.policy,
        recipient_scope=RecipientScope.COUNTY.value,
        county_code=board.county_code,
        horizon_days=settings.horizon_days,
        decided_by_organisation_id=board.id,
        source_location=source,
        parent_id=parent.id,
        notes=settings.notes.strip() or None,
        created_by_id=user.id,
    )
    session.add(round_)
    _set_products(round_, products)
    session.flush()
    compute_lines(session, user, round_)
    return round_


def second_level_rounds(session: Session, parent: AllocationRound) -> list[AllocationRound]:
    return list(
        session.scalars(
            select(AllocationRound).where(AllocationRound.parent_id == parent.id).order_by(AllocationRound.id)
        )
    )


# --- the preview -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    """One line as shown: the stored figures read back as exact fractions."""

    line: AllocationLine
    daily_use: object  # Fraction | None (None: no current report)
    days_before: object
    days_after: object
    continuous_share: object

    @property
    def reported(self) -> bool:
        return self.daily_use is not None

    @property
    def adjusted(self) -> bool:
        return self.line.quantity != self.line.computed_quantity


@dataclass
class ProductPreview:
    """One product of a round: its lines and totals (supply, total need, computed, decided, left over)."""

    round_product: RoundProduct
    lines: list[LineView]
    available: int | None = None  # units available and unreserved at the source now (drafts only)

    @property
    def supply(self) -> int:
        return self.round_product.quantity

    @property
    def total_need(self) -> int:
        return sum(view.line.need for view in self.lines)

    @property
    def computed(self) -> int:
        return sum(view.line.computed_quantity for view in self.lines)

    @property
    def decided(self) -> int:
        return sum(view.line.quantity for view in self.lines)

    @property
    def left_over(self) -> int:
        return self.supply - self.decided

    @property
    def unmet_need(self) -> int:
        return max(0, self.total_need - self.decided)

    @property
    def is_substitute(self) -> bool:
        return self.round_product.need_category_id != self.round_product.product.category_id

    @property
    def adjustments(self) -> list[LineView]:
        return [view for view in self.lines if view.adjusted]


def line_view(line: AllocationLine) -> LineView:
    return LineView(
        line,
        parse_fraction(line.daily_use),
        parse_fraction(line.days_before),
        parse_fraction(line.days_after),
        parse_fraction(line.continuous_share),
    )


def preview(session: Session, round_: AllocationRound) -> list[ProductPreview]:
    """The round's products with their lines, largest share first. Whoever reads a round reads all of it: the
    decision lists every recipient's quantity."""
    available = available_stock(session, round_.source_location) if round_.status == RoundStatus.DRAFT.value else {}
    # The recipients (and adjusters) in one query rather than one per line: a national round has hundreds.
    session.scalars(
        select(AllocationLine)
        .where(AllocationLine.round_id == round_.id)
        .options(joinedload(AllocationLine.recipient), joinedload(AllocationLine.adjusted_by))
    ).all()
    by_product: dict[int, list[AllocationLine]] = defaultdict(list)
    for line in round_.lines:
        by_product[line.product_id].append(line)
    previews = []
    for rp in round_.products:
        lines = sorted(by_product.get(rp.product_id, []), key=lambda line: (-line.quantity, -line.need, line.recipient.name))
        previews.append(
            ProductPreview(rp, [line_view(line) for line in lines],
                           available.get(rp.product_id, 0) if round_.status == RoundStatus.DRAFT.value else None)
        )
    return previews


def without_report_count(session: Session, round_: AllocationRound) -> int:
    """Organisations in the round's scope with no current registered need of any of its products' categories:
    under days of supply or proportional they receive nothing (the population policy gives them a share)."""
    candidates = candidates_for(session, round_)
    ids = {c.organisation_id for c in candidates}
    reported = set()
    for rp in round_.products:
        reported |= {row.organisation_id for row in _need_rows(session, rp.need_category_id, ids)}
    return len(ids - reported)
