"""Requests for national allocation on the web: the queue (and a county's list), a request's page, sending
and changing one prefilled from the remaining need, withdrawing and declining. Thin: form -> service ->
commit -> redirect."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from allocation import bp
from allocation import services_requests as services
from allocation.forms_requests import ChooseCategoriesForm, DeclineForm, RequestForm, WithdrawForm
from allocation.models_distribution import (
    AllocationRound,
    NationalRequest,
    NationalRequestLine,
    ProposalStatus,
    RedistributionProposal,
    RequestStatus,
    RoundStatus,
)
from app.auth.access import Scope, require, scope_of
from app.auth.roles import Permission
from app.catalog.models import ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County
from suppliers.views_certificates import saved, show_domain_error

STATUS_TONES = {
    RequestStatus.SUBMITTED: "amber",
    RequestStatus.IN_ROUND: "amber",
    RequestStatus.ANSWERED: "green",
    RequestStatus.DECLINED: "red",
    RequestStatus.WITHDRAWN: "neutral",
}


def register_navigation() -> None:
    register_nav("allocation.national_requests", _l("National requests"), Permission.VIEW_ALLOCATION, order=36)


def _helpers() -> dict:
    return {
        "status_label": lambda status: RequestStatus(status).label,
        "status_tone": lambda status: STATUS_TONES[RequestStatus(status)],
        "display_name": display_name,
        "summary": services.summary,
        "total_quantity": services.total_quantity,
        "age_days": services.age_days,
    }


def _render(template: str, status: int = 200, **context):
    return render_template(template, **_helpers(), **context), status


def _request(request_id: int) -> NationalRequest:
    """The request in the user's view; 404 otherwise (services.get_request raises NotFoundError)."""
    return services.get_request(db.session, current_user, request_id)


def _to_request(national_request: NationalRequest):
    return redirect(url_for("allocation.national_request", request_id=national_request.id))


# --- the queue and the county's list ---------------------------------------------------------------------------


def _categories_text(row: NationalRequest) -> str:
    return ", ".join(display_name(category) for category, _units in services.category_totals(row))


def _round_text(row: NationalRequest) -> str:
    round_ = row.round
    if round_ is None:
        return ""
    return round_.number or round_.title


def request_listing() -> Listing:
    national = scope_of(current_user) is Scope.NATIONAL
    stmt = (
        select(NationalRequest)
        .join(NationalRequest.county)
        .where(services.visibility_clause(current_user))
        .options(
            joinedload(NationalRequest.county),
            joinedload(NationalRequest.round),
            selectinload(NationalRequest.lines).joinedload(NationalRequestLine.category),
        )
    )
    columns = [
        Column("reference", _l("Request"), lambda r: r.reference, sort=NationalRequest.reference,
               link=lambda r: url_for("allocation.national_request", request_id=r.id)),
        Column("county", _l("County"), lambda r: r.county.name, sort=County.name),
        Column("categories", _l("Categories"), _categories_text),
        Column("quantity", _l("Units requested"), services.total_quantity),
        Column("organisations", _l("Organisations"), lambda r: len({line.organisation_id for line in r.lines})),
        Column("status", _l("Status"), lambda r: RequestStatus(r.status).label, sort=NationalRequest.status),
        Column("submitted_at", _l("Submitted"), lambda r: format_datetime(r.submitted_at, "yyyy-MM-dd HH:mm"),
               sort=NationalRequest.submitted_at),
        Column("age", _l("Age (days)"), services.age_days),
        Column("round", _l("Allocation round"), _round_text),
    ]
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    filters = [
        Filter("status", _l("Status"), RequestStatus.choices(),
               lambda stmt, value: stmt.where(NationalRequest.status == value)),
        Filter("category", _l("Category"), [(str(c.id), display_name(c)) for c in categories],
               lambda stmt, value: stmt.where(NationalRequest.lines.any(NationalRequestLine.category_id == int(value)))),
    ]
    if national:
        counties = db.session.scalars(select(County).order_by(County.code)).all()
        filters.append(Filter("county", _l("County"), [(c.code, f"{c.code} {c.name}") for c in counties],
                              lambda stmt, value: stmt.where(NationalRequest.county_code == value)))
    return Listing(
        stmt,
        columns=columns,
        search=[NationalRequest.reference, NationalRequest.justification],
        filters=filters,
        default_sort="submitted_at",
        default_dir="asc",  # a queue: the oldest first
        csv_name="national-requests",
    )


@bp.route("/requests/")
@require(Permission.VIEW_ALLOCATION)
def national_requests():
    national = scope_of(current_user) is Scope.NATIONAL
    if national and not request.args:
        # The national coordinator's queue: what waits for a round (choose "All" for the rest).
        return redirect(url_for("allocation.national_requests", status=RequestStatus.SUBMITTED.value))
    return request_listing().respond(
        lambda page: render_template(
            "allocation/requests.html", page=page, national=national, can_request=services.may_request(current_user)
        )
    )


# --- a request's page ------------------------------------------------------------------------------------------


def _round_visible(round_: AllocationRound | None) -> bool:
    if round_ is None:
        return False
    from allocation import services_rounds

    visible = db.session.scalar(
        select(AllocationRound.id).where(AllocationRound.id == round_.id, services_rounds.visibility_clause(current_user))
    )
    return visible is not None


def _lines_by_category(national_request: NationalRequest) -> list[tuple[ProductCategory, list[NationalRequestLine]]]:
    grouped: dict[int, tuple[ProductCategory, list]] = {}
    for line in national_request.lines:
        grouped.setdefault(line.category_id, (line.category, []))[1].append(line)
    ordered = sorted(grouped.values(), key=lambda item: (item[0].sort_order, item[0].id))
    return [(category, sorted(lines, key=lambda line: line.organisation.name)) for category, lines in ordered]


@bp.route("/requests/<int:request_id>")
@require(Permission.VIEW_ALLOCATION)
def national_request(request_id: int):
    national_request = _request(request_id)
    return _page(national_request)


def _page(national_request: NationalRequest, *, withdraw_form=None, decline_form=None, status: int = 200):
    return _render(
        "allocation/requests_detail.html",
        status,
        item=national_request,
        groups=_lines_by_category(national_request),
        allocated=services.allocated_by_line(db.session, national_request),
        round_visible=_round_visible(national_request.round),
        round_decided=national_request.round is not None and national_request.round.status == RoundStatus.DECIDED.value,
        proposal_pages="allocation.proposal" in current_app.view_functions,
        can_change=services.may_change(current_user, national_request),
        can_decline=services.may_decline(current_user, national_request),
        withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        decline_form=decline_form or DeclineForm(formdata=None),
    )


# --- sending and changing ----------------------------------------------------------------------------------------


def _category_choices() -> list[tuple[int, str]]:
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    return [(category.id, display_name(category)) for category in categories]


def _proposal_choices(county_code: str) -> list[SelectChoice]:
    proposals = db.session.scalars(
        select(RedistributionProposal)
        .where(
            RedistributionProposal.county_code == county_code,
            RedistributionProposal.is_national_decision.is_(False),
            RedistributionProposal.status != ProposalStatus.CANCELLED.value,
        )
        .order_by(RedistributionProposal.created_at.desc())
    ).all()
    return [SelectChoice("", _("None")), *(SelectChoice(p.id, f"{p.reference} {p.title}") for p in proposals)]


def _chosen_categories(defaults: list[int]) -> tuple[ChooseCategoriesForm, list[int]]:
    """The category chooser (bound to the query string) and the valid category ids chosen, else ``defaults``."""
    choose = ChooseCategoriesForm(request.args)
    choose.category.choices = _category_choices()
    known = {value for value, _label in choose.category.choices}
    chosen = [value for value in (choose.category.data or []) if value in known] if "category" in request.args else []
    if not chosen:
        chosen = defaults
        choose.category.data = defaults
    return choose, chosen


def _fill_lines(form: RequestForm, rows, quantities: dict[tuple[int, int], int]) -> None:
    while len(form.lines):
        form.lines.pop_entry()
    for row in rows:
        entry = form.lines.append_entry()
        entry.form.organisation_id.data = row.organisation.id
        entry.form.category_id.data = row.category.id
        entry.form.quantity.data = quantities.get(row.key) or None


def _line_inputs(form: RequestForm) -> list[services.LineInput]:
    return [
        services.LineInput(entry.form.organisation_id.data, entry.form.category_id.data, entry.form.quantity.data)
        for entry in form.lines
    ]


def _proposal(form: RequestForm) -> RedistributionProposal | None:
    if not form.proposal_id.data:
        return None
    proposal = db.session.get(RedistributionProposal, form.proposal_id.data)
    if proposal is None:
        raise services.RequestError(_("Choose a redistribution proposal of your county."), field="proposal_id")
    return proposal


def _request_form_page(form: RequestForm, choose: ChooseCategoriesForm, rows, item: NationalRequest | None):
    figures = {row.key: row for row in rows}
    return _render(
        "allocation/requests_form.html",
        form_status(form),
        form=form,
        choose=choose,
        rows=rows,
        figures=figures,
        item=item,
        action=url_for(request.endpoint, **(request.view_args or {}), category=choose.category.data or []),
    )


def _not_a_county_coordinator():
    flash(_("Requests for national allocation are sent by a county coordinator for the county."), "info")
    return redirect(url_for("allocation.national_requests"))


@bp.route("/requests/new", methods=["GET", "POST"])
@require(Permission.REQUEST_NATIONAL_ALLOCATION)
def national_request_new():
    if not services.may_request(current_user):
        return _not_a_county_coordinator()
    county_code = current_user.organisation.county_code
    choose, category_ids = _chosen_categories([])
    rows = services.remaining_need_rows(db.session, county_code, category_ids) if category_ids else []
    form = RequestForm()
    form.proposal_id.choices = _proposal_choices(county_code)
    if request.method == "GET":
        form.proposal_id.data = _proposal_arg()
        _fill_lines(form, rows, {row.key: row.figures.remaining for row in rows})
    done = saved(
        form,
        lambda: services.create_request(db.session, current_user, lines=_line_inputs(form),
                                        justification=form.justification.data, proposal=_proposal(form)),
        lambda created: _("Request %(reference)s is sent to the national agency.", reference=created.reference),
        lambda created: url_for("allocation.national_request", request_id=created.id),
    )
    return done or _request_form_page(form, choose, rows, None)


def _proposal_arg() -> int | None:
    try:
        return int(request.args.get("proposal_id", ""))
    except ValueError:
        return None


@bp.route("/requests/<int:request_id>/edit", methods=["GET", "POST"])
@require(Permission.REQUEST_NATIONAL_ALLOCATION)
def national_request_edit(request_id: int):
    item = _request(request_id)
    if not services.may_change(current_user, item):
        flash(_("Only a request waiting for a round is changed, by its county's coordinators."), "error")
        return _to_request(item)
    choose, category_ids = _chosen_categories(sorted({line.category_id for line in item.lines}))
    rows = services.remaining_need_rows(db.session, item.county_code, category_ids)
    form = RequestForm()
    form.proposal_id.choices = _proposal_choices(item.county_code)
    if request.method == "GET":
        form.justification.data = item.justification
        form.proposal_id.data = item.proposal_id
        _fill_lines(form, rows, {(line.organisation_id, line.category_id): line.quantity for line in item.lines})
    done = saved(
        form,
        lambda: services.update_request(db.session, current_user, item, lines=_line_inputs(form),
                                        justification=form.justification.data, proposal=_proposal(form)),
        _("The request is changed."),
        lambda changed: url_for("allocation.national_request", request_id=changed.id),
    )
    return done or _request_form_page(form, choose, rows, item)


# --- withdrawing and declining -------------------------------------------------------------------------------


def _closing(item: NationalRequest, form, change, message: str, form_name: str):
    if form.validate_on_submit():
        try:
            change()
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(message, "success")
            return _to_request(item)
    return _page(item, status=422, **{form_name: form})


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@require(Permission.REQUEST_NATIONAL_ALLOCATION)
def national_request_withdraw(request_id: int):
    item = _request(request_id)
    form = WithdrawForm()
    return _closing(item, form, lambda: services.withdraw_request(db.session, current_user, item, form.reason.data),
                    _("The request is withdrawn."), "withdraw_form")


@bp.route("/requests/<int:request_id>/decline", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION, national=True)
def national_request_decline(request_id: int):
    item = _request(request_id)
    form = DeclineForm()
    return _closing(item, form, lambda: services.decline_request(db.session, current_user, item, form.answer.data),
                    _("The request is declined; the county is told."), "decline_form")
