"""Shipments on the web: the coordinators' list and follow-ups, a shipment's page with its steps (dispatch,
delivered, cancel, confirm, resolve), the delivery note, and the recipient's deliveries to confirm.
Thin: form -> service -> commit -> redirect."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from allocation import bp
from allocation import services_shipments as services
from allocation.forms_shipments import (
    CancelShipmentForm,
    ConfirmForm,
    DeliveredForm,
    DispatchForm,
    ResolveForm,
)
from allocation.models_distribution import (
    AllocationRound,
    DeliveryFollowUp,
    DiscrepancyReason,
    FollowUpStatus,
    Shipment,
    ShipmentStatus,
)
from app.auth.access import has_permission, require
from app.auth.roles import Permission
from app.catalog.views import display_name
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County, Organisation
from app.pdf import pdf_response, render_pdf

STATUS_TONES = {
    ShipmentStatus.PLANNED: "neutral",
    ShipmentStatus.DISPATCHED: "amber",
    ShipmentStatus.DELIVERED: "amber",
    ShipmentStatus.CONFIRMED: "green",
    ShipmentStatus.CANCELLED: "neutral",
}
HISTORY = (ShipmentStatus.CONFIRMED.value, ShipmentStatus.CANCELLED.value)


def register_navigation() -> None:
    register_nav("allocation.incoming", _l("Deliveries to confirm"), Permission.CONFIRM_DELIVERIES, order=36)
    register_nav("allocation.shipments", _l("Shipments"), Permission.VIEW_SHIPMENTS, order=37)


def _moment(value) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value is not None else ""


def _helpers() -> dict:
    return {
        "moment": _moment,
        "day": lambda value: format_date(value, "yyyy-MM-dd") if value is not None else "",
        "status_label": lambda status: ShipmentStatus(status).label,
        "status_tone": lambda status: STATUS_TONES[ShipmentStatus(status)],
        "reason_label": lambda reason: DiscrepancyReason(reason).label if reason else "",
        "follow_up_label": lambda status: FollowUpStatus(status).label,
        "origin": services.origin_reference,
        "sender_of": services.sender_of,
        "display_name": display_name,
        "units": _units,
    }


def _render(template: str, status: int = 200, **context):
    return render_template(template, **_helpers(), **context), status


def _shipment(shipment_id: int) -> Shipment:
    """The shipment in the user's view; 404 otherwise (services.get_shipment raises NotFoundError)."""
    return services.get_shipment(db.session, current_user, shipment_id)


def _to_shipment(shipment: Shipment, anchor: str | None = None):
    return redirect(url_for("allocation.shipment", shipment_id=shipment.id, _anchor=anchor))


def _origin_link(shipment: Shipment) -> str:
    if shipment.round_id is not None:
        return url_for("allocation.round", round_id=shipment.round_id)
    return ""


def show_error(form, error: DomainError) -> None:
    """Each of a refusal's errors beside its field; ``lines-2-reason`` is the third line's reason."""
    for each in getattr(error, "errors", None) or [error]:
        target = None
        parts = (each.field or "").split("-")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(form.lines):
            target = getattr(form.lines[int(parts[1])].form, parts[2], None)
        if target is None:
            apply_domain_error(form, each)
        else:
            target.errors = [*target.errors, each.message]


# --- the coordinators' list ----------------------------------------------------------------------------------


def _units(shipment: Shipment) -> int:
    return sum(line.quantity for line in shipment.lines)


def _discrepancy(shipment: Shipment) -> bool | None:
    if shipment.status != ShipmentStatus.CONFIRMED.value:
        return None
    return any(line.has_discrepancy for line in shipment.lines)


def shipment_listing() -> Listing:
    visible = services.visibility_clause(current_user)
    now = utcnow()
    stmt = (
        select(Shipment)
        .join(Shipment.recipient)
        .outerjoin(Shipment.round)
        .where(visible)
        .options(
            joinedload(Shipment.recipient).joinedload(Organisation.county),
            joinedload(Shipment.round).joinedload(AllocationRound.decided_by_organisation),
            joinedload(Shipment.transfer),
            selectinload(Shipment.lines),
        )
    )
    recipients = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(Shipment.recipient_id).where(visible)))
        .order_by(Organisation.name)
    ).all()
    counties = db.session.execute(
        select(County.code, County.name)
        .where(County.code.in_(select(Organisation.county_code).join(Shipment, Shipment.recipient_id == Organisation.id)
                               .where(visible)))
        .order_by(County.code)
    ).all()
    decisions = db.session.execute(
        select(AllocationRound.id, AllocationRound.number)
        .where(AllocationRound.id.in_(select(Shipment.round_id).where(visible)), AllocationRound.number.is_not(None))
        .order_by(AllocationRound.number)
    ).all()
    columns = [
        Column("number", _l("Shipment"), lambda s: s.number, sort=Shipment.number,
               link=lambda s: url_for("allocation.shipment", shipment_id=s.id)),
        Column("origin", _l("Decision"), services.origin_reference, sort=AllocationRound.number),
        Column("recipient", _l("Recipient"), lambda s: s.recipient.name, sort=Organisation.name),
        Column("county", _l("County"), lambda s: s.recipient.county.name if s.recipient.county else "",
               sort=Organisation.county_code),
        Column("status", _l("Status"), lambda s: ShipmentStatus(s.status).label, sort=Shipment.status),
        Column("units", _l("Units"), _units),
        Column("carrier", _l("Carrier"), lambda s: s.carrier or "", sort=Shipment.carrier),
        Column("tracking", _l("Tracking reference"), lambda s: s.tracking_reference or ""),
        Column("dispatched_at", _l("Dispatched"), lambda s: _moment(s.dispatched_at), sort=Shipment.dispatched_at),
        Column("delivered_at", _l("Delivered"), lambda s: _moment(s.delivered_at), sort=Shipment.delivered_at),
        Column("confirmed_at", _l("Confirmed"), lambda s: _moment(s.confirmed_at), sort=Shipment.confirmed_at),
        Column("discrepancy", _l("Discrepancy"), _discrepancy),
    ]
    filters = [
        Filter("status", _l("Status"), ShipmentStatus.choices(), lambda stmt, value: stmt.where(Shipment.status == value)),
        Filter("recipient", _l("Recipient"), [(str(i), name) for i, name in recipients],
               lambda stmt, value: stmt.where(Shipment.recipient_id == int(value))),
        Filter("county", _l("County"), [(code, f"{code} {name}") for code, name in counties],
               lambda stmt, value: stmt.where(Organisation.county_code == value)),
        Filter("decision", _l("Decision"), [(str(i), number) for i, number in decisions],
               lambda stmt, value: stmt.where(Shipment.round_id == int(value))),
        Filter("unconfirmed", _l("Unconfirmed"), [("overdue", _l("Unconfirmed more than 3 days"))],
               lambda stmt, value: stmt.where(services.overdue_clause(now))),
    ]
    return Listing(
        stmt,
        columns=columns,
        search=[Shipment.number, Shipment.tracking_reference, Organisation.name],
        filters=filters,
        default_sort="number",
        default_dir="desc",
        csv_name="shipments",
    )


@bp.route("/shipments/")
@require(Permission.VIEW_SHIPMENTS)
def shipments():
    return shipment_listing().respond(lambda page: render_template("allocation/shipments.html", page=page))


# --- follow-ups and unconfirmed shipments ------------------------------------------------------------------


def follow_up_listing() -> Listing:
    stmt = (
        select(DeliveryFollowUp)
        .join(DeliveryFollowUp.shipment)
        .join(Shipment.recipient)
        .where(services.visibility_clause(current_user))
        .options(joinedload(DeliveryFollowUp.shipment).joinedload(Shipment.recipient))
    )
    columns = [
        Column("shipment", _l("Shipment"), lambda f: f.shipment.number, sort=Shipment.number,
               link=lambda f: url_for("allocation.shipment", shipment_id=f.shipment_id, _anchor="follow-up")),
        Column("origin", _l("Decision"), lambda f: services.origin_reference(f.shipment)),
        Column("recipient", _l("Recipient"), lambda f: f.shipment.recipient.name, sort=Organisation.name),
        Column("status", _l("Status"), lambda f: FollowUpStatus(f.status).label, sort=DeliveryFollowUp.status),
        Column("discrepancy", _l("Discrepancy"), lambda f: services.discrepancy_summary(f.shipment)),
        Column("created_at", _l("Opened"), lambda f: _moment(f.created_at), sort=DeliveryFollowUp.created_at),
        Column("resolved_at", _l("Resolved"), lambda f: _moment(f.resolved_at), sort=DeliveryFollowUp.resolved_at),
        Column("resolution", _l("Resolution"), lambda f: f.resolution or ""),
    ]
    filters = [
        Filter("status", _l("Status"), FollowUpStatus.choices(),
               lambda stmt, value: stmt.where(DeliveryFollowUp.status == value)),
    ]
    return Listing(stmt, columns=columns, search=[Shipment.number, Organisation.name], filters=filters,
                   default_sort="created_at", default_dir="desc", csv_name="delivery-follow-ups")


@bp.route("/shipments/follow-ups")
@require(Permission.VIEW_SHIPMENTS)
def follow_ups():
    return follow_up_listing().respond(
        lambda page: render_template("allocation/shipment_follow_ups.html", page=page,
                                     overdue=services.overdue_shipments(db.session, current_user), **_helpers())
    )


@bp.route("/shipments/follow-ups/<int:follow_up_id>/resolve", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION)
def follow_up_resolve(follow_up_id: int):
    follow_up = services.get_follow_up(db.session, current_user, follow_up_id)
    shipment = follow_up.shipment
    form = ResolveForm()
    if not form.validate_on_submit():
        return _detail(shipment, 422, resolve_form=form)
    return _step(shipment, lambda: services.resolve_follow_up(db.session, current_user, follow_up, form.resolution.data),
                 _("The follow-up is resolved."), form, "resolve_form", anchor="follow-up")


# --- a shipment ----------------------------------------------------------------------------------------------


def _detail(shipment: Shipment, status: int = 200, **forms):
    forms.setdefault("dispatch_form", DispatchForm(formdata=None, delivery_address=shipment.delivery_address))
    forms.setdefault("delivered_form", DeliveredForm(formdata=None))
    forms.setdefault("cancel_form", CancelShipmentForm(formdata=None))
    forms.setdefault("resolve_form", ResolveForm(formdata=None))
    follow_up = db.session.scalar(select(DeliveryFollowUp).where(DeliveryFollowUp.shipment_id == shipment.id))
    return _render(
        "allocation/shipment_detail.html",
        status,
        shipment=shipment,
        follow_up=follow_up,
        cancellation=services.cancellation(db.session, shipment),
        origin_link=_origin_link(shipment),
        can_dispatch=services.may_dispatch(current_user, shipment),
        can_confirm=services.may_confirm(current_user, shipment),
        can_resolve=follow_up is not None and services.may_resolve(current_user, follow_up),
        ShipmentStatus=ShipmentStatus,
        FollowUpStatus=FollowUpStatus,
        **forms,
    )


def _step(shipment: Shipment, action, success: str, form=None, form_name: str | None = None, anchor=None):
    """Run one step; on a refusal show the shipment again with the message beside the form (or flashed)."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        if form is not None and error.status_code == 422:
            show_error(form, error)
            return _detail(shipment, 422, **{form_name: form})
        flash(error.message, "error")
        return _to_shipment(shipment, anchor)
    db.session.commit()
    flash(success, "success")
    return _to_shipment(shipment, anchor)


@bp.route("/shipments/<int:shipment_id>", endpoint="shipment")
@require(Permission.VIEW_ALLOCATION)
def shipment_page(shipment_id: int):
    return _detail(_shipment(shipment_id))


@bp.route("/shipments/<int:shipment_id>/delivery-note.pdf")
@require(Permission.VIEW_ALLOCATION)
def delivery_note(shipment_id: int):
    shipment = _shipment(shipment_id)
    document = render_pdf(
        "allocation/delivery_note.html",
        organisation=services.sender_of(shipment),
        title=_("Delivery note %(number)s", number=shipment.number),
        shipment=shipment,
        confirm_url=url_for("allocation.shipment_confirm", shipment_id=shipment.id, _external=True),
        **_helpers(),
    )
    return pdf_response(document, f"foljesedel-{shipment.number}.pdf")


@bp.route("/shipments/<int:shipment_id>/dispatch", methods=["POST"])
@require(Permission.DISPATCH_SHIPMENTS)
def shipment_dispatch(shipment_id: int):
    shipment = _shipment(shipment_id)
    form = DispatchForm()
    if not form.validate_on_submit():
        return _detail(shipment, 422, dispatch_form=form)
    return _step(shipment, lambda: services.dispatch(db.session, current_user, shipment, carrier=form.carrier.data,
                                                     tracking_reference=form.tracking_reference.data,
                                                     delivery_address=form.delivery_address.data),
                 _("Shipment %(number)s is dispatched; the recipient is told.", number=shipment.number),
                 form, "dispatch_form")


@bp.route("/shipments/<int:shipment_id>/delivered", methods=["POST"])
@require(Permission.DISPATCH_SHIPMENTS)
def shipment_delivered(shipment_id: int):
    shipment = _shipment(shipment_id)
    form = DeliveredForm()
    if not form.validate_on_submit():
        return _detail(shipment, 422, delivered_form=form)
    return _step(shipment, lambda: services.mark_delivered(db.session, current_user, shipment),
                 _("Shipment %(number)s is marked delivered.", number=shipment.number))


@bp.route("/shipments/<int:shipment_id>/cancel", methods=["POST"])
@require(Permission.DISPATCH_SHIPMENTS)
def shipment_cancel(shipment_id: int):
    shipment = _shipment(shipment_id)
    form = CancelShipmentForm()
    if not form.validate_on_submit():
        return _detail(shipment, 422, cancel_form=form)
    return _step(shipment, lambda: services.cancel(db.session, current_user, shipment, form.reason.data),
                 _("Shipment %(number)s is cancelled; its stock is available again.", number=shipment.number),
                 form, "cancel_form")


# --- confirming ------------------------------------------------------------------------------------------------


def _fill_confirmation(form: ConfirmForm, shipment: Shipment) -> None:
    """The form as recorded (a confirmed shipment) or as shipped: everything accepted."""
    form.received_by_name.data = shipment.received_by_name or ""
    for line in shipment.lines:
        form.lines.append_entry({
            "line_id": line.id,
            "accepted": line.accepted if line.accepted is not None else line.quantity,
            "rejected": line.rejected or 0,
            "missing": line.missing or 0,
            "reason": line.discrepancy_reason or "",
            "comment": line.comment or "",
        })


def _line_confirmations(form: ConfirmForm) -> list[services.LineConfirmation]:
    return [
        services.LineConfirmation(
            line_id=int(entry.form.line_id.data) if str(entry.form.line_id.data).isdigit() else 0,
            accepted=entry.form.accepted.data,
            rejected=entry.form.rejected.data or 0,
            missing=entry.form.missing.data or 0,
            reason=entry.form.reason.data or None,
            comment=entry.form.comment.data,
        )
        for entry in form.lines
    ]


def _confirm_page(shipment: Shipment, form: ConfirmForm, status: int = 200):
    lines = {line.id: line for line in shipment.lines}
    rows = []
    for entry in form.lines:
        line_id = str(entry.form.line_id.data)
        rows.append((entry, lines.get(int(line_id)) if line_id.isdigit() else None))
    return _render("allocation/shipment_confirm.html", status, shipment=shipment, form=form, rows=rows,
                   confirmed=shipment.status == ShipmentStatus.CONFIRMED.value)


@bp.route("/shipments/<int:shipment_id>/confirm", methods=["GET", "POST"])
@require(Permission.CONFIRM_DELIVERIES)
def shipment_confirm(shipment_id: int):
    shipment = _shipment(shipment_id)
    if not services.may_confirm(current_user, shipment):
        flash(_("Only %(organisation)s, which receives this shipment, confirms it.",
                organisation=shipment.recipient.name), "error")
        return _to_shipment(shipment)
    if shipment.status in (ShipmentStatus.PLANNED.value, ShipmentStatus.CANCELLED.value):
        flash(_("Shipment %(number)s is %(status)s; it is confirmed once it has been dispatched.",
                number=shipment.number, status=ShipmentStatus(shipment.status).label.lower()), "info")
        return _to_shipment(shipment)
    form = ConfirmForm()
    if not form.is_submitted():
        _fill_confirmation(form, shipment)
        return _confirm_page(shipment, form)
    if not form.validate():
        return _confirm_page(shipment, form, 422)
    try:
        result = services.confirm(db.session, current_user, shipment, received_by_name=form.received_by_name.data,
                                  lines=_line_confirmations(form))
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return _confirm_page(shipment, form, error.status_code)
    db.session.commit()
    if result.repeated:
        flash(_("Shipment %(number)s was already confirmed with these figures; nothing changed.",
                number=shipment.number), "info")
    elif result.follow_up is not None:
        flash(_("Shipment %(number)s is confirmed. The discrepancy is passed to the coordinator to follow up.",
                number=shipment.number), "success")
    else:
        flash(_("Shipment %(number)s is confirmed; the stock is yours.", number=shipment.number), "success")
    return _to_shipment(shipment)


# --- the recipient's page ----------------------------------------------------------------------------------


def history_listing() -> Listing:
    organisation_id = current_user.organisation_id
    stmt = (
        select(Shipment)
        .outerjoin(Shipment.round)
        .where(Shipment.recipient_id == organisation_id, Shipment.status.in_(HISTORY))
        .options(joinedload(Shipment.round), joinedload(Shipment.transfer), selectinload(Shipment.lines))
    )
    columns = [
        Column("number", _l("Shipment"), lambda s: s.number, sort=Shipment.number,
               link=lambda s: url_for("allocation.shipment", shipment_id=s.id)),
        Column("origin", _l("Decision"), services.origin_reference, sort=AllocationRound.number),
        Column("sender", _l("From"), lambda s: services.sender_of(s).name),
        Column("status", _l("Status"), lambda s: ShipmentStatus(s.status).label, sort=Shipment.status),
        Column("units", _l("Units"), _units),
        Column("accepted", _l("Accepted"), lambda s: sum(line.accepted or 0 for line in s.lines)),
        Column("confirmed_at", _l("Confirmed"), lambda s: _moment(s.confirmed_at), sort=Shipment.confirmed_at),
        Column("received_by", _l("Received by"), lambda s: s.received_by_name or ""),
        Column("discrepancy", _l("Discrepancy"), _discrepancy),
    ]
    return Listing(stmt, columns=columns, search=[Shipment.number], default_sort="confirmed_at", default_dir="desc",
                   csv_name="deliveries")


@bp.route("/deliveries/")
@require(Permission.CONFIRM_DELIVERIES)
def incoming():
    organisation = current_user.organisation
    found = services.incoming(db.session, organisation)
    outgoing = (services.outgoing_transfers(db.session, organisation)
                if has_permission(current_user, Permission.DISPATCH_SHIPMENTS) else [])
    return history_listing().respond(
        lambda page: _render("allocation/shipment_incoming.html", page=page, to_confirm=found["to_confirm"],
                             planned=found["planned"], outgoing=outgoing)[0]
    )
