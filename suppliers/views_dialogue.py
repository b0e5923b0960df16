"""The dialogue log of a supplier (meetings, calls, e-mails, site visits) and the follow-up actions page."""
from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.access import has_permission, require
from app.auth.models import User
from app.auth.roles import Permission
from app.errors import NotFoundError
from app.extensions import db
from app.forms import apply_domain_error
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.timeutil import local_today, when
from suppliers import bp
from suppliers import services_dialogue as services
from suppliers.forms_dialogue import ActionForm, DialogueEntryForm
from suppliers.models import DialogueEntry, DialogueKind, FollowUpAction, Supplier
from suppliers.services_dialogue import DialogueError


def register_navigation() -> None:
    """A top-level link for those who manage suppliers; owners without that permission (national
    coordinators) reach the page from their notices and the dialogue tab."""
    register_nav("suppliers.actions", _l("Follow-up actions"), Permission.MANAGE_SUPPLIERS, order=47)


def _found(load, *args):
    try:
        return load(db.session, *args)
    except NotFoundError:
        abort(404)


def _owner_choices() -> list[tuple]:
    return [("", _("Choose…"))] + [
        (user.id, f"{user.name} ({user.organisation.name})") for user in services.eligible_owners(db.session)
    ]


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _entry_form(*, submitted: bool, choices) -> DialogueEntryForm:
    if submitted:
        form = DialogueEntryForm()
    else:
        today = local_today()
        form = DialogueEntryForm(formdata=None, kind=DialogueKind.MEETING.value, occurred_on=today)
    form.action_owner_id.choices = choices
    return form


def _action_form(entry_id: int, *, submitted: bool, choices) -> ActionForm:
    """The add-an-action form of one entry; the prefix keeps field ids unique among the page's forms."""
    prefix = f"entry-{entry_id}"
    form = ActionForm(prefix=prefix) if submitted else ActionForm(formdata=None, prefix=prefix)
    form.owner_id.choices = choices
    return form


def _moment(moment: datetime) -> str:
    return format_datetime(moment, "d MMM yyyy HH:mm")


def _page_helpers() -> dict:
    """What the dialogue templates use to show actions: their state today, who may complete them, dates."""
    return {
        "today": local_today(),
        "action_state": services.action_state,
        "can_complete": lambda action: services.can_complete(current_user, action),
        "action_url": action_url,
        "kind_label": lambda kind: DialogueKind(kind).label,
        "when": when,
        "moment": _moment,
    }


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _render_dialogue(supplier: Supplier, *, entry_form=None, failed_action_form=None, failed_entry_id=None):
    """The log page; a form that failed comes back with its errors beside its fields (422)."""
    entries = services.entries_of(db.session, supplier)
    manager = has_permission(current_user, Permission.MANAGE_SUPPLIERS)
    action_forms = {}
    if manager:
        choices = _owner_choices()
        entry_form = entry_form or _entry_form(submitted=False, choices=choices)
        action_forms = {e.id: _action_form(e.id, submitted=False, choices=choices) for e in entries}
        if failed_action_form is not None:
            action_forms[failed_entry_id] = failed_action_form
    failed = entry_form is not None and bool(entry_form.errors or entry_form.form_errors)
    failed = failed or failed_action_form is not None
    page = render_template(
        "suppliers/dialogue.html",
        supplier=supplier,
        entries=entries,
        entry_form=entry_form if manager else None,
        action_forms=action_forms,
        failed_entry_id=failed_entry_id,
        **_page_helpers(),
    )
    return page, 422 if failed else 200


@bp.route("/<int:supplier_id>/dialogue")
@require(Permission.VIEW_SUPPLIERS)
def dialogue(supplier_id: int):
    return _render_dialogue(_found(services.get_supplier, supplier_id))


def _commit_or_show(form, call):
    """Run the service call and commit its result; on a DialogueError roll back, put the message beside the
    form's field and return None."""
    try:
        result = call()
    except DialogueError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        return None
    db.session.commit()
    return result


def _action_values(form: ActionForm) -> dict:
    return {
        "description": form.description.data,
        "owner": _user(form.owner_id.data),
        "due_on": form.due_on.data,
    }


@bp.route("/<int:supplier_id>/dialogue/entries", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def add_dialogue_entry(supplier_id: int):
    supplier = _found(services.get_supplier, supplier_id)
    form = _entry_form(submitted=True, choices=_owner_choices())
    if form.validate_on_submit():
        entry = _commit_or_show(form, lambda: _record_entry(supplier, form))
        if entry is not None:
            flash(_("The %(kind)s is in the log.", kind=DialogueKind(entry.kind).label.lower()), "success")
            return redirect(entry_url(entry))
    return _render_dialogue(supplier, entry_form=form)


def _record_entry(supplier: Supplier, form: DialogueEntryForm) -> DialogueEntry:
    """The entry and the action given with it; the action's errors belong beside the action_* fields."""
    entry = services.record_entry(
        db.session,
        current_user,
        supplier,
        kind=form.kind.data,
        occurred_on=form.occurred_on.data,
        participants=form.participants.data,
        notes=form.notes.data,
    )
    if form.has_action:
        try:
            services.add_action(
                db.session,
                current_user,
                entry,
                description=form.action_description.data,
                owner=_user(form.action_owner_id.data),
                due_on=form.action_due_on.data,
            )
        except DialogueError as error:
            field = f"action_{error.field}" if error.field else None
            raise DialogueError(error.message, field=field) from error
    return entry


@bp.route("/dialogue/<int:dialogue_entry_id>/actions", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def add_dialogue_action(dialogue_entry_id: int):
    entry = _found(services.get_entry, dialogue_entry_id)
    form = _action_form(entry.id, submitted=True, choices=_owner_choices())
    if form.validate_on_submit():
        action = _commit_or_show(
            form, lambda: services.add_action(db.session, current_user, entry, **_action_values(form))
        )
        if action is not None:
            flash(_("The action is added and %(owner)s is told.", owner=action.owner.name), "success")
            return redirect(action_url(action))
    return _render_dialogue(entry.supplier, failed_action_form=form, failed_entry_id=entry.id)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def edit_action(action_id: int):
    action = _found(services.get_action, action_id)
    choices = _owner_choices()
    form = ActionForm() if request.method == "POST" else ActionForm(obj=action)
    form.owner_id.choices = choices
    if request.method == "GET" and action.owner_id not in {value for value, _label in choices}:
        form.owner_id.data = None  # no longer eligible: whoever edits chooses a new owner
    if form.validate_on_submit():
        saved = _commit_or_show(
            form, lambda: services.update_action(db.session, current_user, action, **_action_values(form))
        )
        if saved is not None:
            flash(_("The action is saved."), "success")
            return redirect(action_url(action))
    page = render_template(
        "suppliers/dialogue_action.html",
        supplier=action.dialogue_entry.supplier,
        action=action,
        form=form,
        **_page_helpers(),
    )
    return page, 422 if request.method == "POST" else 200


def entry_url(entry: DialogueEntry) -> str:
    return url_for("suppliers.dialogue", supplier_id=entry.supplier_id, _anchor=f"entry-{entry.id}")


def action_url(action: FollowUpAction) -> str:
    entry = action.dialogue_entry
    return url_for("suppliers.dialogue", supplier_id=entry.supplier_id, _anchor=f"action-{action.id}")


def _from_entry(action: FollowUpAction) -> str:
    entry = action.dialogue_entry
    return f"{DialogueKind(entry.kind).label} {entry.occurred_on.isoformat()}"


def _change_state(action_id: int, change, message: str):
    action = _found(services.get_action, action_id)
    try:
        change(db.session, current_user, action)
    except DialogueError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(_safe_next(action_url(action)))


@bp.route("/actions/<int:action_id>/done", methods=["POST"])
@require(Permission.VIEW_SUPPLIERS)  # the owner may hold DECIDE_VETTING only; the service checks who may
def mark_action_done(action_id: int):
    return _change_state(action_id, services.complete_action, _("The action is marked done."))


@bp.route("/actions/<int:action_id>/reopen", methods=["POST"])
@require(Permission.VIEW_SUPPLIERS)
def reopen_action(action_id: int):
    return _change_state(action_id, services.reopen_action, _("The action is open again."))


# --- the actions page ---------------------------------------------------------------------------------------


def _overdue_filter(today: date):
    def apply(stmt, value):
        return stmt.where(FollowUpAction.due_on < today if value == "yes" else FollowUpAction.due_on >= today)

    return Filter("overdue", _l("Overdue"), [("yes", _l("Overdue")), ("no", _l("Not overdue"))], apply)


def action_listing(today: date, *, everyone: bool) -> Listing:
    """Open follow-up actions, earliest due first: everyone's (with an owner filter) for those who manage
    suppliers, otherwise the user's own."""
    statement = services.open_actions_statement()
    filters = []
    if everyone:
        owners = services.owners_with_open_actions(db.session)
        filters.append(
            Filter(
                "owner",
                _l("Owner"),
                [(str(user.id), user.name) for user in owners],
                lambda stmt, value: stmt.where(FollowUpAction.owner_id == int(value)),
            )
        )
    else:
        statement = statement.where(FollowUpAction.owner_id == current_user.id)
    suppliers = services.suppliers_with_open_actions(db.session, owner=None if everyone else current_user)
    filters.append(
        Filter(
            "supplier",
            _l("Supplier"),
            [(str(s.id), s.legal_name) for s in suppliers],
            lambda stmt, value: stmt.where(DialogueEntry.supplier_id == int(value)),
        )
    )
    filters.append(_overdue_filter(today))
    return Listing(
        statement,
        columns=[
            Column("due", _l("Due"), lambda a: a.due_on, sort=FollowUpAction.due_on),
            Column("state", _l("State"), lambda a: services.action_state(a, today).label),
            Column("description", _l("Action"), lambda a: a.description),
            Column(
                "supplier",
                _l("Supplier"),
                lambda a: a.dialogue_entry.supplier.legal_name,
                sort=Supplier.legal_name,
                link=action_url,
            ),
            Column("owner", _l("Owner"), lambda a: a.owner.name, sort=User.name),
            Column(
                "entry",
                _l("From"),
                _from_entry,
                sort=DialogueEntry.occurred_on,
            ),
        ],
        search=[FollowUpAction.description, Supplier.legal_name, User.name],
        filters=filters,
        default_sort="due",
        csv_name="follow-up-actions",
    )


@bp.route("/actions/")
@require(Permission.VIEW_SUPPLIERS)
def actions():
    today = local_today()
    everyone = has_permission(current_user, Permission.MANAGE_SUPPLIERS)
    mine = services.open_actions_of(db.session, current_user)
    return action_listing(today, everyone=everyone).respond(
        lambda page: render_template(
            "suppliers/actions.html",
            page=page,
            mine=mine,
            everyone=everyone,
            **_page_helpers(),
        )
    )
