"""Redistribution (omfördelning): a county board's proposals agreed at a logistics meeting (logistikberedning),
the national agency's redistribution decisions (förordning 2020:126), and the transfers they give.

Services flush only; the caller commits once (the view, after success) or rolls back on a DomainError.

* A county coordinator generates a proposal for one or more products within its county: each organisation's
  surplus (stock above ``target_days`` days of supply) and deficit (registered need), from the latest situation
  reports, go to the planner (``allocation/surplus.py`` → ``allocation/redistribution.py``: whole packs of the
  product's pack size, least distance between the organisations' seats). The lines are Transfer rows
  (``planned_quantity = quantity``). The coordinator changes a line's quantity with a reason (0 removes it),
  adds lines by hand with a reason, records the logistics meeting, and marks the proposal agreed (only once
  a meeting is recorded).
* The national coordinator decides that a region or municipality hands over stated quantities to one or more
  others, across counties: a proposal with ``is_national_decision``, its lines entered by hand, agreed when
  decided (no meeting), with a decision PDF.
* Reported stock and the ledger. Situation reports say what an organisation holds; Samordna's stock ledger
  holds only what moved through Samordna (deliveries it confirmed, stock it registered). The ledger never
  creates stock by itself: agreeing records the decision and, for each transfer, reserves the giver's stock
  and plans its shipment (``services_shipments.create_transfer_shipment``) when the giver's ledger holds it.
  A transfer whose giver holds too little in the ledger waits ("awaiting the giver's stock"), and the giver is
  told which. A user of the giving organisation (reporter or recipient) then registers the stock on hand as an
  opening balance (a ledger adjustment with the reason "Opening balance from situation report", never more
  than its latest situation report's stock of the category beyond what the ledger already holds for it) and
  the transfer is reserved and planned in the same step. Stock that arrived meanwhile through Samordna is
  reserved the same way without an opening balance.
* The giver dispatches and the receiver confirms the shipment (``services_shipments``); on confirmation
  :func:`on_transfer_confirmed` books the compensation for the accepted quantity (``allocation/compensation.py``).
* Who: a county proposal is managed by the county coordinators (MANAGE_REDISTRIBUTION) of its county, a
  national decision by the national coordinator. Read (VIEW_ALLOCATION): national scope everything; a county
  board its county's proposals and national decisions touching its county; a region or municipality the
  proposals it gives or receives in (national decisions once decided). Anything else answers 404.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from allocation import compensation, reporting
from allocation.models_distribution import (
    CompensationEntry,
    LogisticsMeeting,
    ProposalStatus,
    RedistributionProposal,
    Shipment,
    ShipmentStatus,
    Transfer,
)
from allocation.surplus import DEFAULT_TARGET_DAYS, Position, ProductPlan, plan_products, seat_distance
from app.auth.access import Scope, has_permission, scope_of
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.catalog.models import Product
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from app.notifications.services import in_language_of, page_link
from app.numbering import next_value
from app.organisations.models import Organisation, OrganisationKind
from app.stock import ledger
from app.stock.models import StockBalance, StockState
from app.timeutil import local_today

PROPOSAL_SERIES = "OF"
OPENING_BALANCE_DOCUMENT = "opening_balance"
LEGAL_BASIS = (
    "Förordning (2020:126) om fördelning av sjukvårdsmaterial till följd av spridningen av sjukdomen covid-19"
)
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_TARGET_DAYS = 365
MAX_QUANTITY = 2_000_000_000
# The giving and receiving organisations' staff who are told, register stock on hand and may reserve.
PARTY_ROLES = (Role.RECIPIENT, Role.REPORTER)
# The states in which an organisation's own location holds stock it has (what an opening balance may not repeat).
HELD_STATES = (StockState.AVAILABLE.value, StockState.RESERVED.value, StockState.QUARANTINE.value)


class RedistributionError(DomainError):
    """A proposal, decision or transfer step that breaks a rule; ``field`` names the form field."""


def proposal_reference(year: int, value: int) -> str:
    """``proposal_reference(2026, 3)`` -> ``"OF-2026-0003"``."""
    return f"{PROPOSAL_SERIES}-{year}-{value:04d}"


# --- who ----------------------------------------------------------------------------------------------------------


def _touches(organisation_clause) -> ColumnElement[bool]:
    """Proposals with a line whose giver or receiver matches ``organisation_clause`` (on Organisation)."""
    giver, receiver = aliased(Organisation), aliased(Organisation)
    return exists(
        select(Transfer.id)
        .join(giver, giver.id == Transfer.source_id)
        .join(receiver, receiver.id == Transfer.target_id)
        .where(Transfer.proposal_id == RedistributionProposal.id,
               or_(organisation_clause(giver), organisation_clause(receiver)))
    )


def visibility_clause(user) -> ColumnElement[bool]:
    """A WHERE clause on RedistributionProposal: the proposals ``user`` may read (see the module docstring)."""
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    organisation = user.organisation
    shown_to_parties = or_(RedistributionProposal.is_national_decision.is_(False),
                            RedistributionProposal.status == ProposalStatus.AGREED.value)
    if scope is Scope.COUNTY:
        county = organisation.county_code
        return or_(
            and_(RedistributionProposal.is_national_decision.is_(False), RedistributionProposal.county_code == county),
            and_(shown_to_parties, _touches(lambda org: org.county_code == county)),
        )
    return and_(shown_to_parties, _touches(lambda org: org.id == organisation.id))


def get_proposal(session: Session, user, proposal_id: int) -> RedistributionProposal:
    """The proposal if ``user`` may read it. Raises NotFoundError otherwise (and for none)."""
    found = session.scalar(
        select(RedistributionProposal).where(RedistributionProposal.id == proposal_id, visibility_clause(user))
    )
    if found is None:
        raise NotFoundError(_("No such redistribution."))
    return found


def get_transfer(session: Session, user, transfer_id: int) -> Transfer:
    """The transfer if ``user`` may read its proposal. Raises NotFoundError otherwise."""
    found = session.scalar(
        select(Transfer).join(Transfer.proposal).where(Transfer.id == transfer_id, visibility_clause(user))
    )
    if found is None:
        raise NotFoundError(_("No such transfer."))
    return found


def may_open_county(user) -> bool:
    return (has_permission(user, Permission.MANAGE_REDISTRIBUTION)
            and user.organisation.kind == OrganisationKind.COUNTY_BOARD.value and bool(user.organisation.county_code))


def may_open_national(user) -> bool:
    return has_permission(user, Permission.MANAGE_REDISTRIBUTION) and user.organisation.kind == OrganisationKind.AGENCY.value


def may_manage(user, proposal: RedistributionProposal) -> bool:
    """National decisions are the national coordinator's; a county's proposals its county coordinators'."""
    if proposal.is_national_decision:
        return may_open_national(user)
    return may_open_county(user) and user.organisation.county_code == proposal.county_code


def is_party(user, organisation_id: int) -> bool:
    """The user is a reporter or recipient of that organisation: its own staff for a transfer."""
    return user.organisation_id == organisation_id and any(Role(role) in PARTY_ROLES for role in user.roles)


def may_provide(user, transfer: Transfer) -> bool:
    """Reserve a waiting transfer: the giver's own staff, or whoever manages the proposal."""
    return is_party(user, transfer.source_id) or may_manage(user, transfer.proposal)


def _ensure_manager(user, proposal: RedistributionProposal) -> None:
    if not may_manage(user, proposal):
        if proposal.is_national_decision:
            raise RedistributionError(_("Only the national coordinator manages a national redistribution decision."))
        raise RedistributionError(_("Only a county coordinator of %(county)s manages this proposal.",
                                    county=proposal.county.name if proposal.county else proposal.county_code))


def _ensure_draft(proposal: RedistributionProposal) -> None:
    if proposal.status != ProposalStatus.DRAFT.value:
        raise RedistributionError(_("%(reference)s is %(status)s; only a draft can be changed.",
                                    reference=proposal.reference,
                                    status=ProposalStatus(proposal.status).label.lower()))


# --- inputs -----------------------------------------------------------------------------------------------------


def _whole(value, *, minimum: int, field: str, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_QUANTITY:
        raise RedistributionError(message, field=field)
    return value


def _title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise RedistributionError(_("Give it a title."), field="title")
    if len(title) > MAX_TITLE:
        raise RedistributionError(_("At most %(n)s characters.", n=MAX_TITLE), field="title")
    return title


def _text(value: str | None, field: str, *, required: str | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise RedistributionError(required, field=field)
        return None
    if len(value) > MAX_TEXT:
        raise RedistributionError(_("At most %(n)s characters.", n=MAX_TEXT), field=field)
    return value


def _new_proposal(session: Session, user, **values) -> RedistributionProposal:
    today = local_today()
    proposal = RedistributionProposal(
        reference=proposal_reference(today.year, next_value(session, PROPOSAL_SERIES, today.year)),
        created_by_id=user.id,
        status=ProposalStatus.DRAFT.value,
        **values,
    )
    session.add(proposal)
    session.flush()
    return proposal


def _distance_km(source: Organisation, target: Organisation) -> str | None:
    if None in (source.latitude, source.longitude, target.latitude, target.longitude):
        return None
    km = seat_distance({1: (source.latitude, source.longitude), 2: (target.latitude, target.longitude)})(1, 2)
    return f"{km:.1f}"


# --- the county proposal -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalSettings:
    """What a county coordinator asks the planner for."""

    title: str
    products: Sequence[Product]
    target_days: int = DEFAULT_TARGET_DAYS
    min_transfer: int = 0


def county_organisations(session: Session, county_code: str) -> list[Organisation]:
    """The county's region and municipalities: who gives and receives in its redistribution."""
    return list(
        session.scalars(
            select(Organisation)
            .where(reporting.reporting_organisations_filter(), Organisation.county_code == county_code)
            .order_by(Organisation.code)
        )
    )


def positions(session: Session, category_id: int, organisation_ids: Sequence[int]) -> list[Position]:
    """The organisations' current registered figures in a category (one per branch), as the planner reads them."""
    wanted = set(organisation_ids)
    return [
        Position(row.organisation_id, row.stock, row.consumption_7d, row.stated_need)
        for row in reporting.registered_need(session, category_id=category_id)
        if row.organisation_id in wanted
    ]


def open_proposal(session: Session, user, settings: ProposalSettings) -> RedistributionProposal:
    """Generate a county proposal from the current registered need of the coordinator's county (see the module
    docstring). A plan without transfers is still opened: lines can be added by hand, or it is cancelled.

    Raises RedistributionError for a user who is not a county coordinator, a bad title, no products or one
    twice, a target that is not 1 to 365 days, and a minimum transfer below 0.
    """
    if not may_open_county(user):
        raise RedistributionError(_("Only a county coordinator proposes redistribution within the county."))
    title = _title(settings.title)
    if not settings.products:
        raise RedistributionError(_("Choose at least one product."), field="products")
    if len({product.id for product in settings.products}) != len(settings.products):
        raise RedistributionError(_("A product is chosen twice."), field="products")
    target_days = _whole(settings.target_days, minimum=1, field="target_days",
                         message=_("The target is 1 to %(n)s days of supply.", n=MAX_TARGET_DAYS))
    if target_days > MAX_TARGET_DAYS:
        raise RedistributionError(_("The target is 1 to %(n)s days of supply.", n=MAX_TARGET_DAYS), field="target_days")
    min_transfer = _whole(settings.min_transfer, minimum=0, field="min_transfer",
                          message=_("Enter a whole number of units, 0 or more."))
    county = user.organisation.county_code
    organisations = county_organisations(session, county)
    ids = [organisation.id for organisation in organisations]
    by_category = {
        product.category_id: positions(session, product.category_id, ids) for product in settings.products
    }
    seats = {
        organisation.id: (organisation.latitude, organisation.longitude)
        if organisation.latitude is not None and organisation.longitude is not None else None
        for organisation in organisations
    }
    try:
        planned = plan_products(
            [ProductPlan(product.id, product.category_id, product.pack_size) for product in settings.products],
            by_category, seat_distance(seats), target_days=target_days, min_transfer=min_transfer,
        )
    except ValueError as error:  # the planner names the bad figure; reports are validated, so this is rare
        raise RedistributionError(_("The proposal could not be computed: %(error)s", error=str(error))) from error
    proposal = _new_proposal(session, user, is_national_decision=False, county_code=county, title=title,
                             target_days=target_days)
    by_id = {organisation.id: organisation for organisation in organisations}
    for item in planned:
        proposal.lines.append(
            Transfer(product_id=item.product, source_id=item.source, target_id=item.target,
                     planned_quantity=item.quantity, quantity=item.quantity,
                     distance_km=_distance_km(by_id[item.source], by_id[item.target]))
        )
    session.flush()
    return proposal


# --- the national decision ---------------------------------------------------------------------------------------


def open_national_decision(session: Session, user, *, title: str, legal_basis: str | None = None,
                           reasons: str | None = None) -> RedistributionProposal:
    """A draft national redistribution decision; its lines are added by hand (:func:`add_transfer`).

    ``reasons`` (why the material is redistributed: need in a part of the country or a branch of activity) is
    kept after the legal basis. Raises RedistributionError for a user who is not the national coordinator or a
    bad title.
    """
    if not may_open_national(user):
        raise RedistributionError(_("Only the national coordinator decides national redistribution."))
    basis = _text(legal_basis, "legal_basis") or LEGAL_BASIS
    reasons = _text(reasons, "reasons")
    if reasons:
        basis = f"{basis}\n\n{reasons}"
    return _new_proposal(session, user, is_national_decision=True, county_code=None, title=_title(title),
                         legal_basis=basis)


# --- changing lines ----------------------------------------------------------------------------------------------


def edit_transfer(session: Session, user, transfer: Transfer, *, quantity: int, reason: str) -> Transfer:
    """Change a line's quantity; 0 removes it. A quantity other than the planner's needs the reason, kept with
    the line (and in the audit log). Raises RedistributionError for a proposal that is not a draft or not the
    user's, a quantity that is not a whole number of 0 or more, or a missing reason."""
    proposal = transfer.proposal
    _ensure_manager(user, proposal)
    _ensure_draft(proposal)
    quantity = _whole(quantity, minimum=0, field="quantity", message=_("Enter a whole number, 0 or more."))
    reason = _text(reason, "reason")
    if quantity != transfer.planned_quantity and reason is None:
        raise RedistributionError(_("Give the reason for the change."), field="reason")
    transfer.quantity = quantity
    if reason is not None:
        transfer.edit_reason = reason
    elif quantity == transfer.planned_quantity:
        transfer.edit_reason = None
    session.flush()
    return transfer


def add_transfer(session: Session, user, proposal: RedistributionProposal, *, product: Product,
                 source: Organisation, target: Organisation, quantity: int, reason: str = "") -> Transfer:
    """Add a line by hand. In a county proposal both parties are the county's region or municipalities and
    the reason is required (the planner did not propose it); in a national decision they are any regions or
    municipalities and the line is what is decided.

    Raises RedistributionError for a proposal that is not a draft or not the user's, parties that are the same
    or outside what the proposal covers, a quantity that is not above 0, a missing reason, and a line that
    exists (change that one instead).
    """
    _ensure_manager(user, proposal)
    _ensure_draft(proposal)
    for organisation, name in ((source, "source_id"), (target, "target_id")):
        if organisation is None or not reporting.is_reporting_organisation(organisation):
            raise RedistributionError(_("Choose a region or municipality."), field=name)
        if not proposal.is_national_decision and organisation.county_code != proposal.county_code:
            raise RedistributionError(_("%(organisation)s is not in the county.", organisation=organisation.name),
                                      field=name)
    if source.id == target.id:
        raise RedistributionError(_("The giver and the receiver are the same."), field="target_id")
    if product is None:
        raise RedistributionError(_("Choose a product."), field="product_id")
    quantity = _whole(quantity, minimum=1, field="quantity", message=_("Enter a whole number above 0."))
    reason = _text(reason, "reason")
    if not proposal.is_national_decision and reason is None:
        raise RedistributionError(_("Give the reason for adding the line."), field="reason")
    for line in proposal.lines:
        if (line.product_id, line.source_id, line.target_id) == (product.id, source.id, target.id):
            raise RedistributionError(_("That line exists already: change its quantity instead."), field="product_id")
    planned = quantity if proposal.is_national_decision else 0
    transfer = Transfer(product_id=product.id, source_id=source.id, target_id=target.id, planned_quantity=planned,
                        quantity=quantity, distance_km=_distance_km(source, target), edit_reason=reason)
    proposal.lines.append(transfer)
    session.flush()
    return transfer


# --- the meeting, agreeing, cancelling ---------------------------------------------------------------------------


def record_meeting(session: Session, user, proposal: RedistributionProposal, *, held_on: date | None,
                   participants: str, decisions: str, minutes: str = "") -> LogisticsMeeting:
    """Record the logistics meeting where the county proposal was discussed. Raises RedistributionError for a
    national decision (no meeting), a proposal not the user's or cancelled, a date missing or in the future,
    and missing participants or decisions."""
    _ensure_manager(user, proposal)
    if proposal.is_national_decision:
        raise RedistributionError(_("A national decision is taken without a logistics meeting."))
    if proposal.status == ProposalStatus.CANCELLED.value:
        raise RedistributionError(_("The proposal is cancelled."))
    if held_on is None:
        raise RedistributionError(_("Enter the date of the meeting."), field="held_on")
    if held_on > local_today():
        raise RedistributionError(_("The meeting cannot be in the future: record it once it is held."), field="held_on")
    meeting = LogisticsMeeting(
        proposal_id=proposal.id,
        held_on=held_on,
        participants=_text(participants, "participants", required=_("Name the participants.")),
        decisions=_text(decisions, "decisions", required=_("Write down what was decided.")),
        minutes=_text(minutes, "minutes"),
        recorded_by_id=user.id,
    )
    session.add(meeting)
    session.flush()
    session.refresh(proposal, ["meetings"])
    return meeting


@dataclass
class Agreement:
    """What agreeing did: transfers reserved with a planned shipment, and those awaiting the giver's stock."""

    proposal: RedistributionProposal
    planned: list[Transfer] = field(default_factory=list)
    waiting: list[tuple[Transfer, str]] = field(default_factory=list)  # (transfer, why)


def agree(session: Session, user, proposal: RedistributionProposal) -> Agreement:
    """Agree a county proposal (after its logistics meeting) or decide a national one: record who and when,
    reserve each transfer's stock at the giver and plan its shipment, and tell every party.

    A transfer whose giver's ledger holds too little waits (see the module docstring): the agreement stands.
    Raises RedistributionError for a proposal that is not a draft (agreed by someone else a moment ago) or
    not the user's, a county proposal without a recorded meeting, and one that moves nothing.
    """
    _ensure_manager(user, proposal)
    session.flush()
    locked = session.scalar(
        select(RedistributionProposal).where(RedistributionProposal.id == proposal.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    _ensure_draft(locked)
    if not proposal.is_national_decision and not proposal.meetings:
        raise RedistributionError(_("Record the logistics meeting first: the proposal is agreed there."))
    moving = sorted((line for line in proposal.lines if line.quantity > 0),
                    key=lambda line: (line.product_id, line.source_id, line.id))
    if not moving:
        raise RedistributionError(_("No line moves anything: there is nothing to agree."))
    proposal.status = ProposalStatus.AGREED.value
    proposal.agreed_by_id = user.id
    proposal.agreed_at = utcnow()
    if proposal.is_national_decision and not proposal.legal_basis:
        proposal.legal_basis = LEGAL_BASIS
    session.flush()
    result = Agreement(proposal)
    for transfer in moving:
        why = _try_to_plan(session, user, transfer)
        if why is None:
            result.planned.append(transfer)
        else:
            result.waiting.append((transfer, why))
    notify_parties(session, user, result)
    return result


def _try_to_plan(session: Session, user, transfer: Transfer) -> str | None:
    """Reserve and plan the transfer's shipment; None when done, else why it waits (nothing changed then)."""
    from allocation.services_shipments import (  # the shipments helper's
        ShipmentError,
        create_transfer_shipment,
    )

    try:
        create_transfer_shipment(session, user, transfer)
    except (ShipmentError, ledger.InsufficientStock) as error:
        session.expire(transfer, ["shipment"])
        return error.message
    return None


def cancel(session: Session, user, proposal: RedistributionProposal, reason: str) -> RedistributionProposal:
    """Cancel a draft with the reason. Raises RedistributionError for one not a draft or not the user's."""
    _ensure_manager(user, proposal)
    _ensure_draft(proposal)
    proposal.cancel_reason = _text(reason, "reason", required=_("Give the reason."))
    proposal.status = ProposalStatus.CANCELLED.value
    proposal.cancelled_at = utcnow()
    session.flush()
    return proposal


# --- the giver's stock --------------------------------------------------------------------------------------------


def shipment_of(session: Session, transfer: Transfer) -> Shipment | None:
    return session.scalar(select(Shipment).where(Shipment.transfer_id == transfer.id).order_by(Shipment.id.desc()))


def ledger_held(session: Session, organisation: Organisation, category_id: int) -> int:
    """Units of the category's products the organisation's own location holds in the ledger (available,
    reserved, in quarantine)."""
    location = ledger.location_for_organisation(session, organisation)
    session.flush()
    held = session.scalar(
        select(func.coalesce(func.sum(StockBalance.quantity), 0))
        .join(Product, Product.id == StockBalance.product_id)
        .where(StockBalance.location_id == location.id, Product.category_id == category_id,
               StockBalance.state.in_(HELD_STATES))
    )
    return int(held or 0)


def reported_stock(session: Session, organisation: Organisation, category_id: int) -> int | None:
    """The stock of the category in the organisation's current situation reports (all branches); None when it
    has no current report of the category."""
    rows = reporting.registered_need(session, category_id=category_id, organisation_ids=[organisation.id])
    return sum(row.stock for row in rows) if rows else None


def opening_balance_room(session: Session, transfer: Transfer) -> int | None:
    """How many units the giver may register as opening balance for the transfer's product: its reported stock
    of the category beyond what the ledger already holds of it; None without a current report."""
    category_id = transfer.product.category_id
    reported = reported_stock(session, transfer.source, category_id)
    if reported is None:
        return None
    return max(0, reported - ledger_held(session, transfer.source, category_id))


def available_to_give(session: Session, transfer: Transfer) -> int:
    """Units of the product available (unreserved) at the giver's location in the ledger."""
    location = ledger.location_for_organisation(session, transfer.source)
    return ledger.total(session, product=transfer.product, location_ids=[location.id])


def provide_stock(session: Session, user, transfer: Transfer, *, opening_balance: int = 0) -> Shipment:
    """Reserve a waiting transfer's stock at the giver and plan its shipment, first registering
    ``opening_balance`` units of stock on hand in the ledger if given (see the module docstring).

    All or nothing. Raises RedistributionError for a transfer not agreed, of nothing, or planned already; an
    opening balance by anyone but the giver's own reporter or recipient, beyond its reported stock or without
    a current report; and when the giver's ledger still holds too little (ShipmentError's message).
    """
    proposal = transfer.proposal
    if not may_provide(user, transfer):
        raise RedistributionError(_("Only %(giver)s or the coordinator reserves this transfer.",
                                    giver=transfer.source.name))
    if proposal.status != ProposalStatus.AGREED.value or transfer.quantity <= 0:
        raise RedistributionError(_("Only a transfer of an agreed redistribution is reserved."))
    existing = shipment_of(session, transfer)
    if existing is not None and existing.status != ShipmentStatus.CANCELLED.value:
        raise RedistributionError(_("The transfer is reserved and its shipment planned already."))
    opening_balance = _whole(opening_balance, minimum=0, field="opening_balance",
                             message=_("Enter a whole number of units, 0 or more."))
    with session.begin_nested():
        if opening_balance:
            _register_opening_balance(session, user, transfer, opening_balance)
        why = _try_to_plan(session, user, transfer)
        if why is not None:
            raise RedistributionError(why, field="opening_balance")
    return shipment_of(session, transfer)


def _register_opening_balance(session: Session, user, transfer: Transfer, quantity: int) -> None:
    if not is_party(user, transfer.source_id):
        raise RedistributionError(_("Only %(giver)s's own staff register its stock on hand.",
                                    giver=transfer.source.name), field="opening_balance")
    room = opening_balance_room(session, transfer)
    if room is None:
        raise RedistributionError(
            _("%(giver)s has no current situation report of %(category)s: report the stock on hand first.",
              giver=transfer.source.name, category=transfer.product.category.name_in(str(get_locale() or "sv"))),
            field="opening_balance",
        )
    if quantity > room:
        raise RedistributionError(
            _("The opening balance can be at most %(room)s units: the stock reported in the latest situation report "
              "beyond what Samordna already holds for %(giver)s.", room=room, giver=transfer.source.name),
            field="opening_balance",
        )
    ledger.adjust(
        session, user, location=ledger.location_for_organisation(session, transfer.source), product=transfer.product,
        delta=quantity, reason=_("Opening balance from situation report"),
        document=ledger.DocumentRef(OPENING_BALANCE_DOCUMENT, transfer.id, transfer.proposal.reference),
    )


# --- compensation: the shipments helper's hook ---------------------------------------------------------------------


def on_transfer_confirmed(session: Session, *args) -> CompensationEntry | None:
    """Book the compensation of a transfer whose shipment the receiver has just confirmed: the units accepted,
    at the reference price (``allocation/compensation.py``). Idempotent; returns the entry, or None when
    nothing was accepted or no price exists yet (the booking then waits for one).

    Called by ``services_shipments.confirm`` as ``on_transfer_confirmed(session, shipment)``; also accepts
    ``on_transfer_confirmed(session, user, shipment)``.
    """
    if len(args) not in (1, 2):
        raise TypeError("on_transfer_confirmed(session, [user,] shipment)")
    shipment = args[-1]
    user = args[0] if len(args) == 2 else shipment.confirmed_by
    if shipment.transfer_id is None or shipment.status != ShipmentStatus.CONFIRMED.value:
        return None
    accepted = sum(line.accepted or 0 for line in shipment.lines)
    return compensation.book(session, user, shipment.transfer, accepted)


# --- telling the parties --------------------------------------------------------------------------------------------


def _users(session: Session, organisation_ids, roles) -> list[User]:
    if not organisation_ids:
        return []
    return list(
        session.scalars(
            select(User).join(UserRole)
            .where(User.organisation_id.in_(list(organisation_ids)), User.active.is_(True),
                   UserRole.role.in_([str(role) for role in roles]))
            .distinct().order_by(User.id)
        )
    )


def _line_text(transfer: Transfer, *, giving: bool) -> str:
    quantity = format_decimal(transfer.quantity)
    if giving:
        return _("%(quantity)s × %(sku)s to %(receiver)s", quantity=quantity, sku=transfer.product.sku,
                 receiver=transfer.target.name)
    return _("%(quantity)s × %(sku)s from %(giver)s", quantity=quantity, sku=transfer.product.sku,
             giver=transfer.source.name)


def notify_parties(session: Session, user, agreement: Agreement) -> int:
    """Tell the giving and receiving organisations' staff what they give and receive (and a giver whose stock
    is awaited, what to do), and the county coordinators of every party's county (a county proposal's own
    county). Returns how many were told."""
    proposal = agreement.proposal
    moving = [*agreement.planned, *(transfer for transfer, _why in agreement.waiting)]
    waiting = {transfer.id: why for transfer, why in agreement.waiting}
    organisations = {line.source_id for line in moving} | {line.target_id for line in moving}
    counties = {line.source.county_code for line in moving} | {line.target.county_code for line in moving}
    counties.discard(None)
    boards = session.scalars(
        select(Organisation.id).where(Organisation.kind == OrganisationKind.COUNTY_BOARD.value,
                                      Organisation.county_code.in_(counties))
    ).all() if counties else []
    people = {person.id: person for person in _users(session, organisations, PARTY_ROLES)}
    people.update({person.id: person for person in _users(session, boards, (Role.COUNTY_COORDINATOR,))})
    people.pop(user.id, None)
    link = page_link("allocation.proposal", proposal_id=proposal.id)
    from app.notifications.services import notify

    for person in people.values():
        with in_language_of(person):
            if proposal.is_national_decision:
                subject = _("Redistribution decision %(reference)s: %(title)s", reference=proposal.reference,
                            title=proposal.title)
            else:
                subject = _("Redistribution %(reference)s agreed: %(title)s", reference=proposal.reference,
                            title=proposal.title)
            gives = [line for line in moving if line.source_id == person.organisation_id]
            receives = [line for line in moving if line.target_id == person.organisation_id]
            parts = []
            if gives:
                parts.append(_("%(organisation)s gives: %(lines)s.", organisation=person.organisation.name,
                               lines="; ".join(_line_text(line, giving=True) for line in gives)))
                for line in gives:
                    if line.id in waiting:
                        parts.append(_("Awaiting your stock: %(why)s Register your stock on hand on the page, "
                                       "then the shipment is planned.", why=waiting[line.id]))
                parts.append(_("Dispatch the planned shipments."))
            if receives:
                parts.append(_("%(organisation)s receives: %(lines)s. Confirm what arrives.",
                               organisation=person.organisation.name,
                               lines="; ".join(_line_text(line, giving=False) for line in receives)))
            if not parts:
                parts.append(_("Organisations in your county take part: %(lines)s.", lines="; ".join(
                    f"{line.source.name} → {line.target.name}: {format_decimal(line.quantity)} × {line.product.sku}"
                    for line in moving
                    if person.organisation.county_code in (line.source.county_code, line.target.county_code))))
            notify(session, person, subject, " ".join(parts), link)
    return len(people)


# --- reading: the page's view of the lines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    """One transfer as shown: where it stands (state and tone), its shipment and its compensation."""

    transfer: Transfer
    state: str
    shipment: Shipment | None
    compensation_state: str
    entry: CompensationEntry | None

    @property
    def edited(self) -> bool:
        return self.transfer.quantity != self.transfer.planned_quantity

    @property
    def awaiting_stock(self) -> bool:
        return self.state == "awaiting_stock"


def line_views(session: Session, proposal: RedistributionProposal) -> list[LineView]:
    """The proposal's lines by product, giver and receiver, with where each stands."""
    views = []
    for transfer in sorted(proposal.lines, key=lambda t: (t.product.sku, t.source.name, t.target.name)):
        shipment = shipment_of(session, transfer) if proposal.status == ProposalStatus.AGREED.value else None
        if proposal.status == ProposalStatus.CANCELLED.value:
            state = "cancelled"
        elif transfer.quantity == 0:
            state = "removed"
        elif proposal.status == ProposalStatus.DRAFT.value:
            state = "proposed"
        elif shipment is None:
            state = "awaiting_stock"
        else:
            state = shipment.status
        compensation_state, entry = (compensation.transfer_compensation(session, transfer) if shipment is not None
                                     else ("not_executed", None))
        views.append(LineView(transfer, state, shipment, compensation_state, entry))
    return views


@dataclass(frozen=True)
class ProductTotals:
    product: Product
    planned: int
    agreed: int
    lines: int


def totals(proposal: RedistributionProposal) -> list[ProductTotals]:
    """Per product: units the planner proposed, units in the lines now, and lines moving something."""
    grouped: dict[int, list[Transfer]] = defaultdict(list)
    for line in proposal.lines:
        grouped[line.product_id].append(line)
    result = [
        ProductTotals(lines[0].product, sum(line.planned_quantity for line in lines),
                      sum(line.quantity for line in lines), sum(1 for line in lines if line.quantity > 0))
        for lines in grouped.values()
    ]
    return sorted(result, key=lambda row: row.product.sku)


@dataclass(frozen=True)
class PositionRow:
    """One organisation's current figures in a category beside what the proposal moves for it."""

    organisation: Organisation
    stock: int
    consumption_7d: int
    surplus: int  # above the target days, after its own need
    deficit: int  # registered need not covered by its own surplus
    gives: int
    receives: int

    @property
    def days_of_supply(self):
        from allocation.need import days_of_supply

        return days_of_supply(self.stock, self.consumption_7d)

    @property
    def remaining(self) -> int:
        return max(0, self.deficit - self.receives)


def current_positions(session: Session, proposal: RedistributionProposal) -> list[tuple[object, list[PositionRow]]]:
    """Per category of the county proposal's products: each organisation of the county with a surplus, a
    deficit or a line, from the registered need as it stands now (the meeting's view of the figures)."""
    if proposal.is_national_decision or not proposal.lines:
        return []
    from allocation.surplus import surplus_and_deficit

    organisations = {org.id: org for org in county_organisations(session, proposal.county_code)}
    categories = {line.product.category_id: line.product.category for line in proposal.lines}
    result = []
    for category_id, category in sorted(categories.items(), key=lambda item: item[1].sort_order):
        figures = positions(session, category_id, list(organisations))
        surpluses, deficits = surplus_and_deficit(figures, target_days=proposal.target_days)
        summed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for position in figures:
            summed[position.organisation_id][0] += position.stock
            summed[position.organisation_id][1] += position.consumption_7d
        moved: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for line in proposal.lines:
            if line.product.category_id == category_id:
                moved[line.source_id][0] += line.quantity
                moved[line.target_id][1] += line.quantity
        ids = set(surpluses) | set(deficits) | {key for key, (out, into) in moved.items() if out or into}
        rows = [
            PositionRow(organisations[key], summed[key][0], summed[key][1], surpluses.get(key, 0),
                        deficits.get(key, 0), moved[key][0], moved[key][1])
            for key in ids if key in organisations
        ]
        result.append((category, sorted(rows, key=lambda row: row.organisation.name)))
    return result


def parties_in_scope(session: Session, proposal: RedistributionProposal) -> list[Organisation]:
    """The organisations a line may be added between: the county's, or every region and municipality."""
    if proposal.is_national_decision:
        return list(session.scalars(
            select(Organisation).where(reporting.reporting_organisations_filter())
            .order_by(Organisation.county_code, Organisation.name)
        ))
    return sorted(county_organisations(session, proposal.county_code), key=lambda org: org.name)

