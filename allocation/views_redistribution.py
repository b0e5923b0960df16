"""Redistribution and compensation on the web: proposals and national decisions (list, generating, the page
with its lines, meeting, agreement, decision PDF, the giver's stock), compensation statements (page, PDF,
CSV), settlements and the reference price list. Thin: form -> service -> commit -> redirect."""
from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from allocation import bp, compensation
from allocation import services_redistribution as services
from allocation.forms_redistribution import (
    AgreeForm,
    CancelForm,
    EditLineForm,
    LineForm,
    MeetingForm,
    NationalDecisionForm,
    PriceForm,
    ProposalForm,
    SettlementForm,
    StatementForm,
    StockForm,
)
from allocation.models_distribution import ProposalStatus, RedistributionProposal, ShipmentStatus, Transfer
from app.auth.access import Scope, has_permission, require, scope_of
from app.auth.roles import Permission
from app.catalog.models import Product
from app.catalog.views import display_name
from app.errors import DomainError, NotFoundError
from app.extensions import db
from app.forms import form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import Organisation
from app.pdf import pdf_response, render_pdf
from suppliers.views_certificates import product_choices, product_label, show_domain_error

STATUS_TONES = {ProposalStatus.DRAFT: "amber", ProposalStatus.AGREED: "green", ProposalStatus.CANCELLED: "neutral"}
LINE_STATES = {
    "proposed": (_l("Proposed"), "neutral"),
    "removed": (_l("Removed"), "neutral"),
    "cancelled": (_l("Cancelled"), "neutral"),
    "awaiting_stock": (_l("Awaiting the giver's stock"), "amber"),
    ShipmentStatus.PLANNED.value: (ShipmentStatus.PLANNED.label, "amber"),
    ShipmentStatus.DISPATCHED.value: (ShipmentStatus.DISPATCHED.label, "amber"),
    ShipmentStatus.DELIVERED.value: (ShipmentStatus.DELIVERED.label, "amber"),
    ShipmentStatus.CONFIRMED.value: (ShipmentStatus.CONFIRMED.label, "green"),
    ShipmentStatus.CANCELLED.value: (_l("Shipment cancelled"), "red"),
}
COMPENSATION_STATES = {
    "booked": _l("Booked"),
    "waiting_price": _l("Awaiting a reference price"),
    "nothing_accepted": _l("Nothing accepted: nothing to book"),
    "not_executed": "",
}


def register_navigation() -> None:
    register_nav("allocation.proposals", _l("Redistribution"), Permission.VIEW_ALLOCATION, order=38)
    register_nav("allocation.compensation", _l("Compensation"), Permission.VIEW_COMPENSATION, order=39)


def kind_label(proposal: RedistributionProposal) -> str:
    return _("National decision") if proposal.is_national_decision else _("County proposal")


def _helpers() -> dict:
    return {
        "status_label": lambda status: ProposalStatus(status).label,
        "status_tone": lambda status: STATUS_TONES[ProposalStatus(status)],
        "line_state": lambda state: LINE_STATES[state],
        "compensation_state": lambda state: COMPENSATION_STATES[state],
        "kind_label": kind_label,
        "sek": compensation.format_sek,
        "display_name": display_name,
        "shipment_pages": "allocation.shipment" in current_app.view_functions,
    }


def _render(template: str, status: int = 200, **context):
    return render_template(template, **_helpers(), **context), status


def _proposal(proposal_id: int) -> RedistributionProposal:
    return services.get_proposal(db.session, current_user, proposal_id)


def _to_proposal(proposal: RedistributionProposal, anchor: str | None = None):
    return redirect(url_for("allocation.proposal", proposal_id=proposal.id, _anchor=anchor))


# --- the list ------------------------------------------------------------------------------------------------------


def _involves(organisation_id: str):
    return exists(select(Transfer.id).where(
        Transfer.proposal_id == RedistributionProposal.id,
        (Transfer.source_id == int(organisation_id)) | (Transfer.target_id == int(organisation_id)),
    ))


def proposal_listing() -> Listing:
    stmt = (
        select(RedistributionProposal)
        .where(services.visibility_clause(current_user))
        .options(joinedload(RedistributionProposal.county), selectinload(RedistributionProposal.lines))
    )
    columns = [
        Column("reference", _l("Reference"), lambda p: p.reference, sort=RedistributionProposal.reference,
               link=lambda p: url_for("allocation.proposal", proposal_id=p.id)),
        Column("title", _l("Title"), lambda p: p.title, sort=RedistributionProposal.title),
        Column("kind", _l("Kind"), kind_label, sort=RedistributionProposal.is_national_decision),
        Column("county", _l("County"), lambda p: p.county.name if p.county else "—",
               sort=RedistributionProposal.county_code),
        Column("status", _l("Status"), lambda p: ProposalStatus(p.status).label, sort=RedistributionProposal.status),
        Column("lines", _l("Transfers"), lambda p: sum(1 for line in p.lines if line.quantity > 0)),
        Column("units", _l("Units"), lambda p: sum(line.quantity for line in p.lines)),
        Column("agreed_at", _l("Agreed or decided"), lambda p: p.agreed_at, sort=RedistributionProposal.agreed_at),
        Column("created_at", _l("Created"), lambda p: p.created_at, sort=RedistributionProposal.created_at),
    ]
    filters = [
        Filter("status", _l("Status"), ProposalStatus.choices(),
               lambda stmt, value: stmt.where(RedistributionProposal.status == value)),
        Filter("kind", _l("Kind"), [("county", _l("County proposals")), ("national", _l("National decisions"))],
               lambda stmt, value: stmt.where(RedistributionProposal.is_national_decision.is_(value == "national"))),
    ]
    if scope_of(current_user) is Scope.OWN:
        mine = str(current_user.organisation_id)
        filters.append(Filter("role", _l("My part"), [("mine", _l("Where we give or receive"))],
                              lambda stmt, value: stmt.where(_involves(mine))))
    return Listing(stmt, columns=columns, search=[RedistributionProposal.title, RedistributionProposal.reference],
                   filters=filters, default_sort="created_at", default_dir="desc", csv_name="redistribution")


@bp.route("/redistribution/")
@require(Permission.VIEW_ALLOCATION)
def proposals():
    return proposal_listing().respond(
        lambda page: render_template(
            "allocation/redistribution.html", page=page, can_open_county=services.may_open_county(current_user),
            can_open_national=services.may_open_national(current_user),
        )
    )


# --- generating a proposal, opening a national decision --------------------------------------------------------------


def _saved(form, change, message):
    if not form.validate_on_submit():
        return None
    try:
        proposal = change()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    flash(message(proposal) if callable(message) else message, "success")
    return _to_proposal(proposal)


@bp.route("/redistribution/new", methods=["GET", "POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def proposal_new():
    if not services.may_open_county(current_user):
        flash(_("County coordinators propose redistribution within their county; the national coordinator decides "
                "national redistribution."), "info")
        return redirect(url_for("allocation.decision_new" if services.may_open_national(current_user)
                                else "allocation.proposals"))
    form = ProposalForm()
    form.products.choices = [(choice.value, choice.label) for choice in product_choices()]

    def change():
        chosen = set(form.products.data or [])
        products = [product for product in db.session.scalars(select(Product).where(Product.id.in_(chosen)))]
        products.sort(key=lambda product: (product.category.sort_order, product.sku))
        settings = services.ProposalSettings(form.title.data or "", products, form.target_days.data,
                                             form.min_transfer.data)
        return services.open_proposal(db.session, current_user, settings)

    def message(proposal):
        if not proposal.lines:
            return _("No transfers: nobody in the county has a surplus that another needs. Add lines by hand or "
                     "cancel the proposal.")
        return _("The proposal is generated. Check the lines, record the logistics meeting and agree it there.")

    done = _saved(form, change, message)
    if done is not None:
        return done
    return _render("allocation/redistribution_form.html", form_status(form), form=form, national=False)


@bp.route("/redistribution/national/new", methods=["GET", "POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def decision_new():
    if not services.may_open_national(current_user):
        flash(_("Only the national coordinator decides national redistribution."), "info")
        return redirect(url_for("allocation.proposals"))
    form = NationalDecisionForm()
    if not form.is_submitted():
        form.legal_basis.data = services.LEGAL_BASIS

    def change():
        return services.open_national_decision(db.session, current_user, title=form.title.data or "",
                                               legal_basis=form.legal_basis.data, reasons=form.reasons.data)

    done = _saved(form, change, _("The draft decision is opened. Add who hands over what to whom, then decide."))
    if done is not None:
        return done
    return _render("allocation/redistribution_form.html", form_status(form), form=form, national=True)


# --- the proposal page -------------------------------------------------------------------------------------------------


def _line_form_choices(form: LineForm, proposal: RedistributionProposal) -> LineForm:
    form.product_id.choices = [SelectChoice("", "—"), *product_choices()]
    parties = services.parties_in_scope(db.session, proposal)
    organisations = [SelectChoice("", "—"), *(SelectChoice(org.id, org.name) for org in parties)]
    form.source_id.choices = organisations
    form.target_id.choices = organisations
    return form


def _detail(proposal: RedistributionProposal, status: int = 200, editing: int | None = None, **forms):
    manage = services.may_manage(current_user, proposal)
    draft = proposal.status == ProposalStatus.DRAFT.value
    forms.setdefault("line_form", LineForm(formdata=None))
    _line_form_choices(forms["line_form"], proposal)
    forms.setdefault("edit_form", EditLineForm(formdata=None))
    forms.setdefault("meeting_form", MeetingForm(formdata=None))
    forms.setdefault("agree_form", AgreeForm(formdata=None))
    forms.setdefault("cancel_form", CancelForm(formdata=None))
    forms.setdefault("stock_form", StockForm(formdata=None))
    views = services.line_views(db.session, proposal)
    waiting = [view for view in views if view.awaiting_stock and services.may_provide(current_user, view.transfer)]
    giver_help = {
        view.transfer.id: (services.available_to_give(db.session, view.transfer),
                           services.opening_balance_room(db.session, view.transfer))
        for view in waiting
    }
    return _render(
        "allocation/redistribution_detail.html",
        status,
        proposal=proposal,
        lines=views,
        totals=services.totals(proposal),
        can_manage=manage and draft,
        manager=manage,
        waiting=waiting,
        giver_help=giver_help,
        is_giver=lambda transfer: services.is_party(current_user, transfer.source_id),
        escalation_link=_escalation_link(proposal),
        positions=services.current_positions(db.session, proposal) if proposal.status == ProposalStatus.DRAFT.value
        else [],
        editing=editing,
        **forms,
    )


def _escalation_link(proposal: RedistributionProposal) -> str | None:
    """The request for national allocation of what the county's agreed proposal leaves, for its coordinator."""
    if (proposal.is_national_decision or proposal.status != ProposalStatus.AGREED.value
            or not services.may_manage(current_user, proposal)
            or "allocation.national_request_new" not in current_app.view_functions
            or not has_permission(current_user, Permission.REQUEST_NATIONAL_ALLOCATION)):
        return None
    categories = sorted({line.product.category_id for line in proposal.lines})
    return url_for("allocation.national_request_new", proposal_id=proposal.id, category=categories)


@bp.route("/redistribution/<int:proposal_id>", endpoint="proposal")
@require(Permission.VIEW_ALLOCATION)
def proposal_page(proposal_id: int):
    return _detail(_proposal(proposal_id))


def _step(proposal: RedistributionProposal, action, success, form=None, form_name: str | None = None,
          anchor: str | None = None, editing: int | None = None):
    """Run one step; on a refusal show the page again with the message beside the form (or flashed)."""
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        if form is not None and not isinstance(error, NotFoundError):
            show_domain_error(form, error)
            return _detail(proposal, 422, editing, **{form_name: form})
        raise
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    return _to_proposal(proposal, anchor)


def _refused(proposal: RedistributionProposal, form, form_name: str, editing: int | None = None):
    return _detail(proposal, 422, editing, **{form_name: form})


@bp.route("/redistribution/<int:proposal_id>/lines", methods=["POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def proposal_add_line(proposal_id: int):
    proposal = _proposal(proposal_id)
    form = _line_form_choices(LineForm(), proposal)
    if not form.validate_on_submit():
        return _refused(proposal, form, "line_form")

    def add():
        return services.add_transfer(
            db.session, current_user, proposal, product=db.session.get(Product, form.product_id.data),
            source=db.session.get(Organisation, form.source_id.data),
            target=db.session.get(Organisation, form.target_id.data), quantity=form.quantity.data,
            reason=form.reason.data or "",
        )

    return _step(proposal, add, _("The line is added."), form, "line_form", anchor="lines")


@bp.route("/redistribution/transfers/<int:transfer_id>/edit", methods=["POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def transfer_edit(transfer_id: int):
    transfer = services.get_transfer(db.session, current_user, transfer_id)
    proposal = transfer.proposal
    form = EditLineForm()
    if not form.validate_on_submit():
        return _refused(proposal, form, "edit_form", transfer.id)
    return _step(
        proposal,
        lambda: services.edit_transfer(db.session, current_user, transfer, quantity=form.quantity.data,
                                       reason=form.reason.data or ""),
        _("The line %(giver)s → %(receiver)s is saved.", giver=transfer.source.name, receiver=transfer.target.name),
        form, "edit_form", anchor="lines", editing=transfer.id,
    )


@bp.route("/redistribution/<int:proposal_id>/meeting", methods=["POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def proposal_meeting(proposal_id: int):
    proposal = _proposal(proposal_id)
    form = MeetingForm()
    if not form.validate_on_submit():
        return _refused(proposal, form, "meeting_form")
    return _step(
        proposal,
        lambda: services.record_meeting(db.session, current_user, proposal, held_on=form.held_on.data,
                                        participants=form.participants.data or "",
                                        decisions=form.decisions.data or "", minutes=form.minutes.data or ""),
        _("The logistics meeting is recorded."), form, "meeting_form", anchor="meetings",
    )


def _agreed_message(agreement: services.Agreement) -> str:
    done = _("Decided.") if agreement.proposal.is_national_decision else _("Agreed.")
    parts = [done, _("%(n)s transfers reserved with a planned shipment.", n=len(agreement.planned))]
    if agreement.waiting:
        parts.append(_("Awaiting the giver's stock: %(list)s", list=" ".join(why for _t, why in agreement.waiting)))
    return " ".join(parts)


@bp.route("/redistribution/<int:proposal_id>/agree", methods=["POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def proposal_agree(proposal_id: int):
    proposal = _proposal(proposal_id)
    form = AgreeForm()
    if not form.validate_on_submit():
        return _refused(proposal, form, "agree_form")
    return _step(proposal, lambda: services.agree(db.session, current_user, proposal), _agreed_message,
                 form, "agree_form")


@bp.route("/redistribution/<int:proposal_id>/cancel", methods=["POST"])
@require(Permission.MANAGE_REDISTRIBUTION)
def proposal_cancel(proposal_id: int):
    proposal = _proposal(proposal_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _refused(proposal, form, "cancel_form")
    return _step(proposal, lambda: services.cancel(db.session, current_user, proposal, form.reason.data or ""),
                 _("It is cancelled."), form, "cancel_form")


@bp.route("/redistribution/transfers/<int:transfer_id>/stock", methods=["POST"])
@require(Permission.VIEW_ALLOCATION)
def transfer_stock(transfer_id: int):
    transfer = services.get_transfer(db.session, current_user, transfer_id)
    proposal = transfer.proposal
    form = StockForm()
    if not form.validate_on_submit():
        return _refused(proposal, form, "stock_form")
    return _step(
        proposal,
        lambda: services.provide_stock(db.session, current_user, transfer, opening_balance=form.opening_balance.data or 0),
        lambda shipment: _("The stock is reserved and shipment %(number)s is planned: dispatch it.",
                           number=shipment.number),
        form, "stock_form", anchor="lines",
    )


@bp.route("/redistribution/<int:proposal_id>/decision.pdf")
@require(Permission.VIEW_ALLOCATION)
def proposal_pdf(proposal_id: int):
    proposal = _proposal(proposal_id)
    if proposal.status != ProposalStatus.AGREED.value:
        flash(_("The PDF exists once it is agreed or decided."), "info")
        return _to_proposal(proposal)
    if proposal.is_national_decision:
        title = _("Redistribution decision %(reference)s", reference=proposal.reference)
    else:
        title = _("Agreed redistribution %(reference)s", reference=proposal.reference)
    document = render_pdf(
        "allocation/redistribution_pdf.html", title=title, proposal=proposal,
        lines=[view for view in services.line_views(db.session, proposal) if view.transfer.quantity > 0],
        totals=services.totals(proposal), **_helpers(),
    )
    return pdf_response(document, f"omfordelning-{proposal.reference}.pdf")


# --- compensation: statements ------------------------------------------------------------------------------------------


def _statement_form() -> StatementForm:
    form = StatementForm(request.args)
    if scope_of(current_user) is Scope.OWN:
        organisations = [current_user.organisation]
    else:
        from allocation.reporting import reporting_organisations_filter
        from app.auth.access import organisation_scope_filter

        organisations = db.session.scalars(
            select(Organisation).where(organisation_scope_filter(current_user), reporting_organisations_filter())
            .order_by(Organisation.name)
        ).all()
    form.organisation.choices = [SelectChoice("", "—"), *(SelectChoice(org.id, org.name) for org in organisations)]
    return form


def _chosen_statement(form: StatementForm):
    """The statement asked for (own organisation by default in own scope), or None for the overview."""
    form.validate()
    organisation_id = form.organisation.data
    if organisation_id is None and scope_of(current_user) is Scope.OWN:
        organisation_id = current_user.organisation_id
    if organisation_id is None:
        return None
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError(_("No such organisation."))
    return compensation.statement(db.session, current_user, organisation, form.start.data, form.end.data)


def _settlement_forms(result) -> list:
    """One settlement form per pair of parties with unsettled entries, when the user may record it."""
    forms = []
    for debtor, creditor, entries in result.unsettled_by_counterparty():
        if not compensation.may_settle(current_user, debtor, creditor):
            continue
        form = SettlementForm(formdata=None)
        form.entry_ids.choices = [
            (entry.id, " · ".join((entry.booked_on.isoformat(), entry.transfer.proposal.reference, entry.product.sku,
                                   compensation.format_sek(entry.amount_ore))))
            for entry in entries
        ]
        form.entry_ids.data = [entry.id for entry in entries]
        forms.append((debtor, creditor, form))
    return forms


@bp.route("/compensation/", endpoint="compensation")
@require(Permission.VIEW_COMPENSATION)
def compensation_page():
    form = _statement_form()
    try:
        result = _chosen_statement(form)
    except compensation.CompensationError as error:
        show_domain_error(form, error)
        return _render("allocation/compensation.html", 422, form=form, result=None, balances=[], settle_forms=[])
    balances = [] if result is not None else compensation.balances(db.session, current_user, form.start.data,
                                                                  form.end.data)
    return _render("allocation/compensation.html", form=form, result=result, balances=balances,
                   settle_forms=_settlement_forms(result) if result is not None else [],
                   query={key: value for key, value in request.args.items() if value})



def _statement_or_back():
    form = _statement_form()
    try:
        result = _chosen_statement(form)
    except compensation.CompensationError as error:
        flash(error.message, "error")
        return None, redirect(url_for("allocation.compensation"))
    if result is None:
        flash(_("Choose the organisation whose statement you want."), "info")
        return None, redirect(url_for("allocation.compensation", **request.args))
    return result, None


@bp.route("/compensation/statement.pdf")
@require(Permission.VIEW_COMPENSATION)
def compensation_pdf():
    result, back = _statement_or_back()
    if back is not None:
        return back
    document = render_pdf(
        "allocation/compensation_pdf.html", organisation=result.organisation,
        title=_("Compensation statement %(start)s – %(end)s", start=result.start.isoformat(), end=result.end.isoformat()),
        result=result, **_helpers(),
    )
    return pdf_response(document, compensation.statement_filename(result, "pdf"))


@bp.route("/compensation/statement.csv")
@require(Permission.VIEW_COMPENSATION)
def compensation_csv():
    result, back = _statement_or_back()
    if back is not None:
        return back
    return Response(
        compensation.statement_csv(result), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{compensation.statement_filename(result, "csv")}"'},
    )


@bp.route("/compensation/settlements", methods=["POST"])
@require(Permission.VIEW_COMPENSATION)
def settlement_new():
    form = SettlementForm()
    back = url_for("allocation.compensation", **{key: value for key, value in request.args.items() if value})
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back)
    try:
        settlement = compensation.settle(db.session, current_user, entry_ids=form.entry_ids.data or [],
                                         paid_on=form.paid_on.data, payment_reference=form.payment_reference.data or "")
    except NotFoundError:
        db.session.rollback()
        raise
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(_("The payment of %(amount)s from %(debtor)s to %(creditor)s is recorded.",
            amount=compensation.format_sek(settlement.amount_ore), debtor=settlement.debtor.name,
            creditor=settlement.creditor.name), "success")
    return redirect(url_for("allocation.settlement", settlement_id=settlement.id))


@bp.route("/compensation/settlements/<int:settlement_id>")
@require(Permission.VIEW_COMPENSATION)
def settlement(settlement_id: int):
    found = compensation.get_settlement(db.session, current_user, settlement_id)
    return _render("allocation/compensation_settlement.html", settlement=found,
                   entries=compensation.settlement_entries(db.session, found))


# --- compensation: the price list ----------------------------------------------------------------------------------------


def _price_form(form: PriceForm) -> PriceForm:
    form.product_id.choices = [SelectChoice("", "—"), *product_choices()]
    return form


def _prices_page(form: PriceForm, status: int = 200):
    return _render("allocation/compensation_prices.html", status, form=form,
                   rows=compensation.price_overview(db.session), history=compensation.price_history(db.session),
                   product_label=product_label)


@bp.route("/compensation/prices")
@require(Permission.VIEW_COMPENSATION)
def prices():
    return _prices_page(_price_form(PriceForm(formdata=None)))


@bp.route("/compensation/prices", methods=["POST"])
@require(Permission.MANAGE_PRICES)
def price_set():
    form = _price_form(PriceForm())
    if form.validate_on_submit():
        try:
            row = compensation.set_price(db.session, current_user, product=db.session.get(Product, form.product_id.data),
                                         valid_from=form.valid_from.data, price_ore=form.price.data)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The price of %(sku)s from %(day)s is %(price)s.", sku=row.product.sku,
                    day=row.valid_from.isoformat(), price=compensation.format_sek(row.price_ore)), "success")
            return redirect(url_for("allocation.prices"))
    return _prices_page(form, 422)
