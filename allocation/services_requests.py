"""Requests for national allocation (begäran om nationell fördelning): what a county's redistribution could
not cover, sent by its county coordinator to the national agency.

Services flush only; the caller commits once (the view, after success) or rolls back on a DomainError.

* A county coordinator creates a request for its own county (reference ``BN-2026-0011``, series "BN") with a
  justification and lines per organisation of the county and product category, prefilled from the remaining
  need (:func:`remaining_need_rows`: the registered need less what the county's agreed redistribution brings,
  ``allocation/remaining_need.py``), optionally following a redistribution proposal of the county. It can be
  changed until the national coordinator includes it in a round, or withdrawn with a reason.
* The national coordinator's queue is the submitted requests, oldest first (:func:`open_requests`). A request
  is included in a national allocation round (:func:`attach_to_round`, called by
  ``services_rounds.open_round``), or declined with an answer. When the round is decided the request is
  answered (:func:`mark_answered`); cancelling the draft round sends it back to the queue.
* The merge rule (``allocation/round_claims.py`` applies it): in the round, a request line REPLACES the
  organisation's registered need of that category, because it states what remains after redistribution;
  stock and daily use still come from the organisation's current reports, and in a round to the county boards
  the lines are summed into the board's claim like the need they replace. :func:`request_claims` gives the
  requested quantities of a round.
* Notices: a submitted (and a withdrawn) request to the national coordinators; included, answered and
  declined to the county's coordinators.
* Who reads: national scope all requests; a county board its county's; a region or municipality the requests
  with a line for it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session, selectinload

from allocation import reporting
from allocation.models_distribution import (
    AllocationLine,
    AllocationRound,
    NationalRequest,
    NationalRequestLine,
    ProposalStatus,
    RedistributionProposal,
    RequestStatus,
    RoundStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    Transfer,
)
from allocation.remaining_need import IncomingTransfer, RemainingNeed, ReportedNeed, remaining_need
from app.auth.access import Scope, has_permission, scope_of
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from app.notifications.services import in_language_of, page_link
from app.numbering import next_value
from app.organisations.models import Organisation, OrganisationKind
from app.timeutil import local_today

REQUEST_SERIES = "BN"
MAX_TEXT = 4000
MAX_QUANTITY = 2_000_000_000  # fits the integer column


class RequestError(DomainError):
    """A request for national allocation that breaks a rule; ``field`` names the form field."""


def request_reference(year: int, value: int) -> str:
    """``request_reference(2026, 11)`` -> ``"BN-2026-0011"``."""
    return f"{REQUEST_SERIES}-{year}-{value:04d}"


# --- access ------------------------------------------------------------------------------------------------


def visibility_clause(user) -> ColumnElement[bool]:
    """A WHERE clause on NationalRequest: the requests ``user`` may read (see the module docstring)."""
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    if scope is Scope.COUNTY:
        return NationalRequest.county_code == user.organisation.county_code
    return NationalRequest.lines.any(NationalRequestLine.organisation_id == user.organisation_id)


def get_request(session: Session, user, request_id: int) -> NationalRequest:
    """The request if ``user`` may read it. Raises NotFoundError otherwise (and for no such request)."""
    found = session.scalar(select(NationalRequest).where(NationalRequest.id == request_id, visibility_clause(user)))
    if found is None:
        raise NotFoundError(_("No such request for national allocation."))
    return found


def may_request(user) -> bool:
    """A county coordinator at a county board (with its county) sends requests."""
    organisation = user.organisation
    return (
        has_permission(user, Permission.REQUEST_NATIONAL_ALLOCATION)
        and organisation.kind == OrganisationKind.COUNTY_BOARD
        and organisation.county_code is not None
    )


def may_change(user, request: NationalRequest) -> bool:
    """The county's coordinator changes or withdraws a request until it is included in a round."""
    return (
        may_request(user)
        and user.organisation.county_code == request.county_code
        and request.status == RequestStatus.SUBMITTED.value
    )


def may_decline(user, request: NationalRequest | None = None) -> bool:
    """The national coordinator (allocation at the agency) declines a request waiting in the queue."""
    allowed = has_permission(user, Permission.MANAGE_ALLOCATION) and user.organisation.kind == OrganisationKind.AGENCY
    return allowed and (request is None or request.status == RequestStatus.SUBMITTED.value)


def _county_of(user) -> str:
    if not may_request(user):
        raise RequestError(_("Only a county coordinator sends requests for national allocation for the county."))
    return user.organisation.county_code


def _lock(session: Session, request: NationalRequest) -> NationalRequest:
    """The request row locked and read afresh: two people changing it at once take turns and see each other."""
    session.flush()
    return session.scalar(
        select(NationalRequest)
        .where(NationalRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _own_waiting(session: Session, user, request: NationalRequest) -> NationalRequest:
    """The request locked, when it is the user's county's and still waits for a round; RequestError otherwise."""
    county_code = _county_of(user)
    request = _lock(session, request)
    if request.county_code != county_code:
        raise RequestError(_("Only the county's own coordinators change or withdraw its requests."))
    _ensure_submitted(request)
    return request


def _close(session: Session, request: NationalRequest, status: RequestStatus, text: str) -> None:
    """Decline or withdraw: the request leaves the queue with the answer or reason."""
    request.answer = text
    request.status = status.value
    session.flush()


def _ensure_submitted(request: NationalRequest) -> None:
    if request.status != RequestStatus.SUBMITTED.value:
        raise RequestError(
            _("Request %(reference)s is %(status)s; only a request waiting for a round can be changed.",
              reference=request.reference, status=RequestStatus(request.status).label.lower())
        )


# --- the remaining need ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemainingRow:
    """One organisation of the county and one category: its need before and after redistribution."""

    organisation: Organisation
    category: ProductCategory
    figures: RemainingNeed

    @property
    def key(self) -> tuple[int, int]:
        return self.organisation.id, self.category.id


def county_organisations(session: Session, county_code: str) -> list[Organisation]:
    """The county's region and municipalities (those that report need and receive), region first."""
    return list(
        session.scalars(
            select(Organisation)
            .where(reporting.reporting_organisations_filter(), Organisation.county_code == county_code)
            .order_by((Organisation.kind == OrganisationKind.REGION.value).desc(), Organisation.name)
        )
    )


def incoming_transfers(
    session: Session, organisation_ids: Sequence[int], category_ids: Sequence[int]
) -> list[IncomingTransfer]:
    """What agreed redistribution (a county's proposals and national decisions) brings the organisations: each
    transfer's quantity, or once its shipment is confirmed what the receiver accepted and when."""
    if not organisation_ids or not category_ids:
        return []
    transfers = session.execute(
        select(Transfer.id, Transfer.target_id, Product.category_id, Transfer.quantity)
        .join(RedistributionProposal, RedistributionProposal.id == Transfer.proposal_id)
        .join(Product, Product.id == Transfer.product_id)
        .where(
            RedistributionProposal.status == ProposalStatus.AGREED.value,
            Transfer.target_id.in_(list(organisation_ids)),
            Product.category_id.in_(list(category_ids)),
            Transfer.quantity > 0,
        )
        .order_by(Transfer.id)
    ).all()
    if not transfers:
        return []
    confirmed = {
        transfer_id: (confirmed_at, int(accepted))
        for transfer_id, confirmed_at, accepted in session.execute(
            select(Shipment.transfer_id, func.max(Shipment.confirmed_at), func.coalesce(func.sum(ShipmentLine.accepted), 0))
            .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
            .where(
                Shipment.transfer_id.in_([row.id for row in transfers]),
                Shipment.status == ShipmentStatus.CONFIRMED.value,
            )
            .group_by(Shipment.transfer_id)
        )
    }
    incoming = []
    for row in transfers:
        if row.id in confirmed:
            confirmed_at, accepted = confirmed[row.id]
            incoming.append(IncomingTransfer(row.target_id, row.category_id, accepted, confirmed_at))
        else:
            incoming.append(IncomingTransfer(row.target_id, row.category_id, row.quantity))
    return incoming


def remaining_need_rows(
    session: Session, county_code: str, category_ids: Sequence[int], *, now: datetime | None = None
) -> list[RemainingRow]:
    """Every organisation of the county for every category asked, with its registered need, what agreed
    redistribution brings and what remains: by category, those with need or transfers first, region first."""
    categories = list(
        session.scalars(
            select(ProductCategory).where(ProductCategory.id.in_(list(category_ids))).order_by(ProductCategory.sort_order)
        )
    )
    organisations = county_organisations(session, county_code)
    ids = [organisation.id for organisation in organisations]
    wanted = {category.id for category in categories}
    needs = [
        ReportedNeed(row.organisation_id, row.category_id, row.stated_need, row.reported_at)
        for row in reporting.registered_need(session, organisation_ids=ids, now=now)
        if row.category_id in wanted
    ]
    figures = remaining_need(needs, incoming_transfers(session, ids, list(wanted)))
    rows = [
        RemainingRow(
            organisation, category,
            figures.get((organisation.id, category.id)) or RemainingNeed(organisation.id, category.id, 0, 0),
        )
        for category in categories
        for organisation in organisations
    ]
    # Within a category, those with need or transfers first (a stable sort keeps the region-first order).
    order = {category.id: index for index, category in enumerate(categories)}
    return sorted(rows, key=lambda row: (order[row.category.id], not (row.figures.registered or row.figures.incoming)))


# --- creating and changing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line as entered: an organisation's remaining need of a category. Quantity 0 or None: no line."""

    organisation_id: int
    category_id: int
    quantity: int | None


def _clean_lines(session: Session, county_code: str, lines: Iterable[LineInput]) -> list[LineInput]:
    members = {organisation.id: organisation for organisation in county_organisations(session, county_code)}
    known_categories = set(session.scalars(select(ProductCategory.id)))
    cleaned: dict[tuple[int, int], LineInput] = {}
    for line in lines:
        quantity = line.quantity
        if quantity is None or quantity == 0:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
            raise RequestError(_("Quantities are whole numbers, 0 or more."), field="lines")
        if line.organisation_id not in members:
            raise RequestError(_("A request's lines are for the county's own region and municipalities."), field="lines")
        if line.category_id not in known_categories:
            raise RequestError(_("Choose product categories from the catalogue."), field="lines")
        key = (line.organisation_id, line.category_id)
        if key in cleaned:
            raise RequestError(
                _("%(organisation)s is on the request twice for the same category.",
                  organisation=members[line.organisation_id].name),
                field="lines",
            )
        cleaned[key] = line
    if not cleaned:
        raise RequestError(_("Enter the remaining need of at least one organisation."), field="lines")
    return list(cleaned.values())


def _clean_text(text: str | None, field: str, missing: str) -> str:
    text = (text or "").strip()
    if not text:
        raise RequestError(missing, field=field)
    if len(text) > MAX_TEXT:
        raise RequestError(_("At most %(n)s characters.", n=MAX_TEXT), field=field)
    return text


def _check_proposal(proposal: RedistributionProposal | None, county_code: str) -> None:
    if proposal is None:
        return
    if proposal.county_code != county_code or proposal.is_national_decision:
        raise RequestError(_("Choose a redistribution proposal of your county."), field="proposal_id")
    if proposal.status == ProposalStatus.CANCELLED.value:
        raise RequestError(_("The proposal %(reference)s is cancelled.", reference=proposal.reference),
                           field="proposal_id")


def _check_not_requested_twice(
    session: Session, county_code: str, lines: Sequence[LineInput], request: NationalRequest | None = None
) -> None:
    """An organisation's need of a category waits in at most one request of the county: change that one."""
    keys = {(line.organisation_id, line.category_id) for line in lines}
    stmt = (
        select(NationalRequestLine)
        .join(NationalRequest)
        .where(NationalRequest.county_code == county_code, NationalRequest.status == RequestStatus.SUBMITTED.value)
    )
    if request is not None:
        stmt = stmt.where(NationalRequest.id != request.id)
    for other in session.scalars(stmt):
        if (other.organisation_id, other.category_id) in keys:
            raise RequestError(
                _("Request %(reference)s already asks for %(category)s for %(organisation)s and waits for a round: "
                  "change that request instead.", reference=other.request.reference,
                  category=_category_name(other.category), organisation=other.organisation.name),
                field="lines",
            )


def _set_lines(request: NationalRequest, lines: Sequence[LineInput]) -> None:
    """Make the request's lines these, updating rows in place (a line is unique per organisation and category)."""
    existing = {(line.organisation_id, line.category_id): line for line in request.lines}
    wanted = {(line.organisation_id, line.category_id): line for line in lines}
    for key, row in existing.items():
        if key not in wanted:
            request.lines.remove(row)
    for key, line in wanted.items():
        row = existing.get(key)
        if row is None:
            request.lines.append(
                NationalRequestLine(organisation_id=line.organisation_id, category_id=line.category_id,
                                    quantity=line.quantity)
            )
        else:
            row.quantity = line.quantity


def create_request(
    session: Session,
    user,
    *,
    lines: Iterable[LineInput],
    justification: str,
    proposal: RedistributionProposal | None = None,
) -> NationalRequest:
    """Send the county's request for national allocation and tell the national coordinators.

    Raises RequestError for a user who is not a county coordinator, no justification, no line with a quantity,
    a line outside the county or repeated, a proposal of another county or cancelled, and an organisation and
    category already waiting in another request of the county.
    """
    county_code = _county_of(user)
    justification = _clean_text(justification, "justification", _("Say why the county cannot cover the need."))
    cleaned = _clean_lines(session, county_code, lines)
    _check_proposal(proposal, county_code)
    _check_not_requested_twice(session, county_code, cleaned)
    today = local_today()
    request = NationalRequest(
        reference=request_reference(today.year, next_value(session, REQUEST_SERIES, today.year)),
        county_code=county_code,
        proposal=proposal,
        justification=justification,
        status=RequestStatus.SUBMITTED.value,
        submitted_by_id=user.id,
    )
    session.add(request)
    _set_lines(request, cleaned)
    session.flush()
    _notify_national(
        session, user, request,
        lambda: _("Request for national allocation %(reference)s from %(county)s",
                  reference=request.reference, county=request.county.name),
        lambda: _("%(county)s asks for %(summary)s. Justification: %(justification)s",
                  county=request.county.name, summary=summary(request), justification=request.justification),
    )
    return request


def update_request(
    session: Session,
    user,
    request: NationalRequest,
    *,
    lines: Iterable[LineInput],
    justification: str,
    proposal: RedistributionProposal | None = None,
) -> NationalRequest:
    """Change a request still waiting for a round: its lines, justification and proposal.

    Raises RequestError as :func:`create_request`, and for a request of another county or no longer waiting
    (included in a round, answered, declined or withdrawn).
    """
    request = _own_waiting(session, user, request)
    county_code = request.county_code
    justification = _clean_text(justification, "justification", _("Say why the county cannot cover the need."))
    cleaned = _clean_lines(session, county_code, lines)
    _check_proposal(proposal, county_code)
    _check_not_requested_twice(session, county_code, cleaned, request)
    request.justification = justification
    request.proposal = proposal
    _set_lines(request, cleaned)
    session.flush()
    return request


def withdraw_request(session: Session, user, request: NationalRequest, reason: str) -> NationalRequest:
    """The county withdraws a request waiting for a round, with the reason (kept in ``answer``); the national
    coordinators are told. Raises RequestError for another county's request, one no longer waiting, and no
    reason."""
    request = _own_waiting(session, user, request)
    _close(session, request, RequestStatus.WITHDRAWN,
           _clean_text(reason, "reason", _("Give the reason for withdrawing the request.")))
    _notify_national(
        session, user, request,
        lambda: _("Request %(reference)s withdrawn by %(county)s", reference=request.reference,
                  county=request.county.name),
        lambda: _("Reason: %(reason)s", reason=request.answer),
    )
    return request


def decline_request(session: Session, user, request: NationalRequest, answer: str) -> NationalRequest:
    """The national coordinator declines a request waiting in the queue, with an answer the county's
    coordinators are sent. Raises RequestError for anyone else, a request no longer waiting, and no answer."""
    if not may_decline(user):
        raise RequestError(_("Only the national coordinator declines requests for national allocation."))
    request = _lock(session, request)
    _ensure_submitted(request)
    _close(session, request, RequestStatus.DECLINED, _clean_text(answer, "answer", _("Give the county an answer.")))
    _notify_county(
        session, user, request,
        lambda: _("Request %(reference)s declined", reference=request.reference),
        lambda: _("The national coordinator declined the request for %(summary)s: %(answer)s",
                  summary=summary(request), answer=request.answer),
        page_link("allocation.national_request", request_id=request.id),
    )
    return request


# --- the queue and allocation rounds -------------------------------------------------------------------------


def open_requests(session: Session, *, category_ids: Sequence[int] | None = None) -> list[NationalRequest]:
    """The national coordinator's queue: submitted requests, oldest first, with their lines and county;
    with ``category_ids`` only those asking for one of the categories."""
    stmt = (
        select(NationalRequest)
        .where(NationalRequest.status == RequestStatus.SUBMITTED.value)
        .options(selectinload(NationalRequest.lines), selectinload(NationalRequest.county))
        .order_by(NationalRequest.submitted_at, NationalRequest.id)
    )
    if category_ids is not None:
        stmt = stmt.where(NationalRequest.lines.any(NationalRequestLine.category_id.in_(list(category_ids))))
    return list(session.scalars(stmt))


def _round_categories(round_: AllocationRound) -> set[int]:
    return {rp.need_category_id for rp in round_.products}


def attach_to_round(session: Session, user, request: NationalRequest, round_: AllocationRound) -> NationalRequest:
    """Include a waiting request in a draft national round: its lines become the round's claims (replacing
    the organisations' registered need of their categories) and the county's coordinators are told.

    Call it after the round's products are set and before its lines are computed. Raises RequestError for a
    user who does not manage the round, a round that is not a national draft, a request no longer waiting (a
    changed mind, or another coordinator took it into another round a moment ago), one asking for no category
    the round's products meet, and one whose organisations and categories another request in the round
    already claims.
    """
    if not (has_permission(user, Permission.MANAGE_ALLOCATION) and user.organisation_id == round_.decided_by_organisation_id
            and user.organisation.kind == OrganisationKind.AGENCY):
        raise RequestError(_("Only the national coordinator includes requests in a national round."), field="requests")
    if round_.status != RoundStatus.DRAFT.value or round_.parent_id is not None:
        raise RequestError(_("Requests are included in a national round while it is a draft."), field="requests")
    request = _lock(session, request)
    if request.status != RequestStatus.SUBMITTED.value:
        raise RequestError(
            _("Request %(reference)s is %(status)s and cannot be included.", reference=request.reference,
              status=RequestStatus(request.status).label.lower()),
            field="requests",
        )
    session.flush()
    categories = _round_categories(round_)
    if not any(line.category_id in categories for line in request.lines):
        raise RequestError(
            _("Request %(reference)s asks for categories none of the round's products meets.",
              reference=request.reference),
            field="requests",
        )
    claimed = set(request_claims(session, round_))
    if any((line.organisation_id, line.category_id) in claimed for line in request.lines):
        raise RequestError(
            _("Request %(reference)s asks for organisations and categories another request in the round already "
              "claims.", reference=request.reference),
            field="requests",
        )
    request.round_id = round_.id
    request.status = RequestStatus.IN_ROUND.value
    session.flush()
    _notify_county(
        session, user, request,
        lambda: _("Request %(reference)s included in an allocation round", reference=request.reference),
        lambda: _("The national coordinator included the request in the allocation round \"%(title)s\". You are "
                  "told when it is decided.", title=round_.title),
        page_link("allocation.national_request", request_id=request.id),
    )
    return request


def mark_answered(session: Session, round_: AllocationRound) -> list[NationalRequest]:
    """When ``round_`` is decided: its requests become answered and their counties' coordinators are sent a
    link to the decision. Idempotent: requests already answered are left alone. Returns those answered now."""
    session.flush()
    answered = list(
        session.scalars(
            select(NationalRequest)
            .where(NationalRequest.round_id == round_.id, NationalRequest.status == RequestStatus.IN_ROUND.value)
            .order_by(NationalRequest.id)
        )
    )
    for request in answered:
        request.status = RequestStatus.ANSWERED.value
    session.flush()
    link = page_link("allocation.round", round_id=round_.id)
    for request in answered:
        _notify_county(
            session, None, request,
            lambda request=request: _("Request %(reference)s answered by allocation decision %(number)s",
                                      reference=request.reference, number=round_.number or round_.title),
            lambda request=request: _("The allocation decision on your request for %(summary)s is made: see what "
                                      "each organisation receives.", summary=summary(request)),
            link,
        )
    return answered


def request_claims(session: Session, round_: AllocationRound) -> dict[tuple[int, int], int]:
    """{(organisation id, category id): requested units} of the requests included in ``round_``.

    The merge rule: each quantity REPLACES the organisation's registered need of the category in the round
    (it is what remains after redistribution); :func:`attach_to_round` keeps two requests in a round from
    claiming the same organisation and category.
    """
    if round_.id is None:
        return {}
    session.flush()
    rows = session.execute(
        select(NationalRequestLine.organisation_id, NationalRequestLine.category_id, NationalRequestLine.quantity)
        .join(NationalRequest)
        .where(
            NationalRequest.round_id == round_.id,
            NationalRequest.status.in_([RequestStatus.IN_ROUND.value, RequestStatus.ANSWERED.value]),
        )
    )
    claims: dict[tuple[int, int], int] = {}
    for organisation_id, category_id, quantity in rows:
        claims[(organisation_id, category_id)] = claims.get((organisation_id, category_id), 0) + quantity
    return claims


# --- presenting ----------------------------------------------------------------------------------------------


def _category_name(category: ProductCategory) -> str:
    return category.name_in(str(get_locale() or "sv"))


def category_totals(request: NationalRequest) -> list[tuple[ProductCategory, int]]:
    """The request's categories with the units asked for each, by the catalogue's order."""
    totals: dict[int, list] = {}
    for line in request.lines:
        entry = totals.setdefault(line.category_id, [line.category, 0])
        entry[1] += line.quantity
    return sorted(((c, n) for c, n in totals.values()), key=lambda item: (item[0].sort_order, item[0].id))


def total_quantity(request: NationalRequest) -> int:
    return sum(line.quantity for line in request.lines)


def summary(request: NationalRequest) -> str:
    """"12 000 Respirators FFP2, 3 000 Examination gloves" in the current language."""
    return ", ".join(f"{format_decimal(n)} {_category_name(c)}" for c, n in category_totals(request))


def age_days(request: NationalRequest, now: datetime | None = None) -> int:
    """Whole days since the request was submitted."""
    return max(0, ((now or utcnow()) - request.submitted_at).days)


def allocated_by_line(session: Session, request: NationalRequest) -> dict[int, int]:
    """{request line id: units decided} in the decided round the request was answered by."""
    if request.round_id is None:
        return {}
    rows = session.execute(
        select(AllocationLine.national_request_line_id, func.sum(AllocationLine.quantity))
        .join(AllocationRound, AllocationRound.id == AllocationLine.round_id)
        .where(
            AllocationLine.national_request_line_id.in_([line.id for line in request.lines]),
            AllocationRound.status == RoundStatus.DECIDED.value,
        )
        .group_by(AllocationLine.national_request_line_id)
    )
    return {line_id: int(quantity) for line_id, quantity in rows}


# --- notices -------------------------------------------------------------------------------------------------


def _active_users(session: Session, role: Role, organisation_filter) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(UserRole.role == role.value, User.active.is_(True), organisation_filter)
            .order_by(User.id)
        )
    )


def national_coordinators(session: Session) -> list[User]:
    return _active_users(session, Role.NATIONAL_COORDINATOR, Organisation.kind == OrganisationKind.AGENCY.value)


def county_coordinators(session: Session, county_code: str) -> list[User]:
    return _active_users(
        session, Role.COUNTY_COORDINATOR,
        (Organisation.kind == OrganisationKind.COUNTY_BOARD.value) & (Organisation.county_code == county_code),
    )


def _tell(session: Session, actor, people: Sequence[User], subject, body, link: str) -> None:
    from app.notifications.services import notify

    for person in people:
        if actor is not None and person.id == actor.id:
            continue
        with in_language_of(person):
            notify(session, person, subject(), body(), link)


def _notify_national(session: Session, actor, request: NationalRequest, subject, body) -> None:
    _tell(session, actor, national_coordinators(session), subject, body,
          page_link("allocation.national_request", request_id=request.id))


def _notify_county(session: Session, actor, request: NationalRequest, subject, body, link: str) -> None:
    _tell(session, actor, county_coordinators(session, request.county_code), subject, body, link)
