"""The user's own notices and the administrators' outbox of e-mail."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.access import login_required, require
from app.auth.roles import Permission
from app.errors import ConflictError
from app.extensions import db
from app.listing import Column, Filter, Listing
from app.notifications import bp, services
from app.notifications.models import Notice, OutboxMessage, OutboxStatus


def _when(value) -> str:
    return format_datetime(value, "short") if value is not None else ""


def _filter_read(stmt, value):
    return stmt.where(Notice.read_at.is_(None) if value == "unread" else Notice.read_at.is_not(None))


def notice_listing() -> Listing:
    return Listing(
        services.notices_statement(current_user),
        columns=[
            Column("created", _l("Time"), lambda n: _when(n.created_at), sort=Notice.created_at),
            Column("text", _l("Notice"), lambda n: n.text, sort=Notice.text),
            Column("body", _l("Details"), lambda n: n.body),
            Column("read", _l("Read"), lambda n: _when(n.read_at)),
        ],
        search=[Notice.text, Notice.body],
        filters=[Filter("state", _l("Show"), [("unread", _l("Unread")), ("read", _l("Read"))], _filter_read)],
        default_sort="created",
        default_dir="desc",
        csv_name="notices",
    )


@bp.route("/")
@login_required
def notices():
    return notice_listing().respond(
        lambda page: render_template(
            "notifications/notices.html", page=page, unread=services.unread_count(db.session, current_user)
        )
    )


@bp.route("/<int:notice_id>/read", methods=["POST"])
@login_required
def mark_read(notice_id: int):
    services.mark_read(db.session, current_user, db.session.get(Notice, notice_id))
    db.session.commit()
    return redirect(url_for("notifications.notices"))


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read():
    count = services.mark_all_read(db.session, current_user)
    db.session.commit()
    if count:
        flash(_("%(n)s notices marked as read.", n=count), "success")
    return redirect(url_for("notifications.notices"))


def _organisation_name(message: OutboxMessage) -> str:
    return message.recipient.organisation.name if message.recipient is not None else ""


def outbox_listing() -> Listing:
    return Listing(
        services.outbox_statement(current_user),
        columns=[
            Column("created", _l("Created"), lambda m: _when(m.created_at), sort=OutboxMessage.created_at),
            Column("to", _l("To"), lambda m: m.to_address, sort=OutboxMessage.to_address),
            Column("organisation", _l("Organisation"), _organisation_name),
            Column(
                "subject",
                _l("Subject"),
                lambda m: m.subject,
                sort=OutboxMessage.subject,
                link=lambda m: url_for("notifications.message", message_id=m.id),
            ),
            Column("status", _l("Status"), lambda m: m.status_enum.label, sort=OutboxMessage.status),
            Column("attempts", _l("Attempts"), lambda m: m.attempts, sort=OutboxMessage.attempts),
            Column("sent", _l("Sent"), lambda m: _when(m.sent_at), sort=OutboxMessage.sent_at),
        ],
        search=[OutboxMessage.to_address, OutboxMessage.subject],
        filters=[
            Filter(
                "status",
                _l("Status"),
                [(s.value, s.label) for s in OutboxStatus],
                lambda stmt, value: stmt.where(OutboxMessage.status == value),
            )
        ],
        default_sort="created",
        default_dir="desc",
        csv_name="outbox",
    )


@bp.route("/outbox")
@require(Permission.VIEW_OUTBOX)
def outbox():
    return outbox_listing().respond(
        lambda page: render_template(
            "notifications/outbox.html",
            page=page,
            mail_configured=services.mail_configured(current_app.config),
        )
    )


@bp.route("/outbox/<int:message_id>")
@require(Permission.VIEW_OUTBOX)
def message(message_id: int):
    return render_template(
        "notifications/message.html",
        message=services.visible_message(db.session, current_user, message_id),
        mail_configured=services.mail_configured(current_app.config),
        can_retry_statuses=(OutboxStatus.FAILED, OutboxStatus.HELD),
        max_attempts=services.MAX_ATTEMPTS,
        when=_when,
    )


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@require(Permission.VIEW_OUTBOX)
def retry(message_id: int):
    try:
        services.retry_message(db.session, current_user, message_id, current_app.config)
    except (services.NotificationError, ConflictError) as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The message is queued and will be sent within a minute."), "success")
    return redirect(url_for("notifications.message", message_id=message_id))
