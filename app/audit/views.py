"""The audit log pages: every write, who made it and when, with before and after values."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.audit import services
from app.audit.models import AuditEntry
from app.auth.access import require
from app.auth.roles import Permission
from app.extensions import db
from app.listing import Column, Filter, Listing

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")

ACTION_LABELS = {"insert": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted")}
ACTION_TONES = {"insert": "green", "update": "neutral", "delete": "red"}


def audit_listing() -> Listing:
    tables = services.table_names(db.session, current_user)
    return Listing(
        services.visible_entries(current_user),
        columns=[
            # Ids grow with time and are unique, so they order entries written in the same instant too.
            Column(
                "time",
                _l("Time"),
                lambda e: format_datetime(e.occurred_at, "yyyy-MM-dd HH:mm:ss"),
                sort=AuditEntry.id,
                link=lambda e: url_for("audit.detail", entry_id=e.id),
            ),
            Column("actor", _l("Who"), lambda e: e.actor_label, sort=AuditEntry.actor_label),
            Column(
                "action",
                _l("Action"),
                lambda e: str(ACTION_LABELS.get(e.action, e.action)),
                sort=AuditEntry.action,
            ),
            Column("table", _l("Table"), lambda e: e.table_name, sort=AuditEntry.table_name),
            Column("row", _l("Row"), lambda e: e.row_key, sort=AuditEntry.row_key),
            Column("fields", _l("Changed fields"), services.summary),
        ],
        search=[AuditEntry.actor_label, AuditEntry.row_key, AuditEntry.table_name],
        filters=[
            Filter(
                "table",
                _l("Table"),
                [(name, name) for name in tables],
                lambda stmt, value: stmt.where(AuditEntry.table_name == value),
            ),
            Filter(
                "action",
                _l("Action"),
                [(action, ACTION_LABELS[action]) for action in services.ACTIONS],
                lambda stmt, value: stmt.where(AuditEntry.action == value),
            ),
        ],
        default_sort="time",
        default_dir="desc",
        csv_name="audit-log",
    )


@bp.route("/")
@require(Permission.VIEW_AUDIT_LOG)
def index():
    return audit_listing().respond(lambda page: render_template("audit/index.html", page=page))


@bp.route("/<int:entry_id>")
@require(Permission.VIEW_AUDIT_LOG)
def detail(entry_id: int):
    entry = services.visible_entry(db.session, current_user, entry_id)
    if entry is None:
        abort(404)
    return render_template(
        "audit/detail.html",
        entry=entry,
        action_label=ACTION_LABELS.get(entry.action, entry.action),
        action_tone=ACTION_TONES.get(entry.action, "neutral"),
        changes=services.field_changes(entry),
    )


def init_app(app) -> None:
    from app.main import register_nav

    app.register_blueprint(bp)
    register_nav("audit.index", _l("Audit log"), Permission.VIEW_AUDIT_LOG, order=98)
