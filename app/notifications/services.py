"""Notifications: in-app notices, the e-mail outbox and its delivery over SMTP. Services flush only.

Messages are always written to the outbox first, in the caller's transaction, so a notice and its e-mail exist
exactly when the change that caused them is committed. The delivery job sends them later; without a mail
server they are held in the database where administrators read them on the Outbox page.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.auth.access import organisation_scope_filter
from app.auth.models import User
from app.config import babel_locale
from app.db import utcnow
from app.errors import ConflictError, DomainError, NotFoundError
from app.notifications.models import Notice, OutboxMessage, OutboxStatus
from app.organisations.models import Organisation

MAX_ATTEMPTS = 5
BATCH_SIZE = 100
SMTP_TIMEOUT_SECONDS = 30
SUBJECT_LENGTH = 200


class NotificationError(DomainError):
    """A notice or message that cannot be created or sent again as asked."""


class Notified(NamedTuple):
    notice: Notice
    message: OutboxMessage | None  # None when the user's account is inactive: no e-mail to former staff


def notify(session: Session, user: User, subject: str, body: str, link: str | None = None) -> Notified:
    """Give ``user`` an in-app notice and queue the same news as an e-mail to their address.

    ``link`` is a local path (``/stock/12``) or an absolute http(s) URL; only an absolute one is written
    into the e-mail, so pass ``url_for(..., _external=True)`` when the e-mail should carry it. Inactive
    accounts get the notice but no e-mail. Raises NotificationError (field ``subject`` or ``link``).
    """
    subject = " ".join((subject or "").split())
    if not subject:
        raise NotificationError(_("A notification needs a subject."), field="subject")
    subject = subject[:SUBJECT_LENGTH]
    body = (body or "").strip()
    if link is not None:
        _check_link(link)
    notice = Notice(user=user, text=subject, body=body or None, link=link)
    session.add(notice)
    message = None
    if user.active:
        text = f"{body}\n\n{link}" if link and _is_absolute(link) else body
        message = OutboxMessage(recipient=user, to_address=user.email, subject=subject, body=text or subject)
        session.add(message)
    session.flush()
    return Notified(notice, message)


def page_link(endpoint: str, **values) -> str:
    """A link for a notice: absolute when it can be built (in a request, or with SERVER_NAME configured),
    so the e-mail carries it; otherwise (the job worker) a local path for the in-app notice."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    adapter = current_app.url_map.bind("localhost", script_name=root)
    anchor = values.pop("_anchor", None)
    return adapter.build(endpoint, values) + (f"#{anchor}" if anchor else "")


@contextmanager
def in_language_of(user: User) -> Iterator[None]:
    """Write a notice in the recipient's language, not the language of whoever caused it."""
    with force_locale(babel_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])):
        yield


def _is_absolute(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_link(link: str) -> None:
    # The link becomes an href on the notices page: javascript: or protocol-relative URLs must not get there.
    local = link.startswith("/") and not link.startswith(("//", "/\\"))
    if not (local or _is_absolute(link)) or any(c in link for c in "\r\n\t ") or len(link) > 500:
        raise NotificationError(
            _("A notice's link must be a path in Samordna or an http(s) address."), field="link"
        )


# --- in-app notices ---------------------------------------------------------------------------------------


def notices_statement(user: User) -> Select:
    """The user's own notices; the list page orders and filters them."""
    return select(Notice).where(Notice.user_id == user.id)


def unread_count(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count()).select_from(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    ) or 0


def mark_read(session: Session, user: User, notice: Notice | None) -> Notice:
    """Mark one of the user's own notices read.

    Raises NotFoundError for a missing notice or someone else's: its existence is not revealed.
    """
    if notice is None or notice.user_id != user.id:
        raise NotFoundError(_("There is no such notice."))
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.flush()
    return notice


def mark_all_read(session: Session, user: User) -> int:
    """Mark every unread notice of the user read; returns how many there were."""
    now = utcnow()
    unread = session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))).all()
    for notice in unread:
        notice.read_at = now
    session.flush()
    return len(unread)


# --- the outbox -------------------------------------------------------------------------------------------


def outbox_statement(user: User) -> Select:
    """Outbox messages the user may see: all for the national organisations, else those to users of the
    organisations in their scope. Messages to an address without a user account are national-only."""
    return (
        select(OutboxMessage)
        .outerjoin(User, OutboxMessage.user_id == User.id)
        .outerjoin(Organisation, User.organisation_id == Organisation.id)
        .where(organisation_scope_filter(user))
        .options(selectinload(OutboxMessage.recipient))
    )


def visible_message(session: Session, user: User, message_id: int) -> OutboxMessage:
    """Raises NotFoundError when the message does not exist or is outside the user's scope."""
    message = session.scalar(outbox_statement(user).where(OutboxMessage.id == message_id))
    if message is None:
        raise NotFoundError(_("There is no such message."))
    return message


def mail_configured(config: Mapping) -> bool:
    return bool((config.get("MAIL_SERVER") or "").strip())


def retry_message(session: Session, user: User, message_id: int, config: Mapping) -> OutboxMessage:
    """Queue a failed or held message again, with a fresh round of attempts.

    Raises NotFoundError out of scope, NotificationError while no mail server is configured (it would only be
    held again) and ConflictError for a message that is queued or already sent.
    """
    message = visible_message(session, user, message_id)
    if not mail_configured(config):
        raise NotificationError(_("No mail server is configured, so the message would only be held again."))
    if message.status not in (OutboxStatus.FAILED, OutboxStatus.HELD):
        raise ConflictError(_("Only failed or held messages can be sent again."))
    message.status = OutboxStatus.QUEUED.value
    message.attempts = 0
    message.next_attempt_at = None
    session.flush()
    return message


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    held: int = 0

    @property
    def summary(self) -> str:
        return _(
            "%(sent)s sent, %(failed)s failed, %(held)s held",
            sent=self.sent,
            failed=self.failed,
            held=self.held,
        )


def due_messages(session: Session, now: datetime, limit: int = BATCH_SIZE) -> list[OutboxMessage]:
    """Queued messages, and failed ones whose back-off has passed and that have attempts left."""
    statement = (
        select(OutboxMessage)
        .where(
            or_(
                OutboxMessage.status == OutboxStatus.QUEUED,
                and_(
                    OutboxMessage.status == OutboxStatus.FAILED,
                    OutboxMessage.attempts < MAX_ATTEMPTS,
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                ),
            )
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        # Two workers (or a worker and a retry) must not send the same message twice.
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(statement))


def deliver_outbox(session: Session, config: Mapping) -> DeliveryResult:
    """Send what is due through SMTP, or hold it when no MAIL_SERVER is configured.

    Each message is marked sent, or failed with the error; a failed one is tried again after a back-off of
    2, 4, 8 and 16 minutes and given up after MAX_ATTEMPTS attempts. Uses STARTTLS when MAIL_USE_TLS and
    logs in when MAIL_USERNAME is set. Never raises for mail errors: they are recorded on the messages.
    """
    now = utcnow()
    result = DeliveryResult()
    messages = due_messages(session, now)
    if not messages:
        return result
    if not mail_configured(config):
        for message in messages:
            message.status = OutboxStatus.HELD.value
            message.next_attempt_at = None
            result.held += 1
        session.flush()
        return result
    try:
        smtp = _open_smtp(config)
    except (smtplib.SMTPException, OSError) as error:
        for message in messages:
            _record_failure(message, error, now)
            result.failed += 1
        session.flush()
        return result
    try:
        for message in messages:
            try:
                smtp.send_message(_email_for(message, config))
            except smtplib.SMTPServerDisconnected as error:
                # The connection is gone: this message failed, the rest wait for the next run untouched.
                _record_failure(message, error, now)
                result.failed += 1
                break
            except (smtplib.SMTPException, ValueError) as error:
                # A refused recipient, rejected data or an unusable address: this message only.
                _record_failure(message, error, now)
                result.failed += 1
            except OSError as error:
                # A socket error or timeout (SMTPException is an OSError too, hence the order).
                _record_failure(message, error, now)
                result.failed += 1
                break
            else:
                message.status = OutboxStatus.SENT.value
                message.attempts += 1
                message.sent_at = utcnow()
                message.next_attempt_at = None
                message.last_error = None
                result.sent += 1
    finally:
        _close_quietly(smtp)
    session.flush()
    return result


def _record_failure(message: OutboxMessage, error: BaseException, now: datetime) -> None:
    message.attempts += 1
    message.status = OutboxStatus.FAILED.value
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts < MAX_ATTEMPTS:
        message.next_attempt_at = now + timedelta(minutes=2**message.attempts)
    else:
        message.next_attempt_at = None  # given up: only an administrator's retry sends it again


def _open_smtp(config: Mapping) -> smtplib.SMTP:
    host, port = config["MAIL_SERVER"].strip(), int(config.get("MAIL_PORT") or 587)
    smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        _close_quietly(smtp)
        raise
    return smtp


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _email_for(message: OutboxMessage, config: Mapping) -> EmailMessage:
    sender = config.get("MAIL_SENDER") or "Samordna <noreply@samordna.local>"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "samordna.local"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    # The same Message-ID on every attempt lets receiving servers drop a duplicate after a lost reply.
    email["Message-ID"] = f"<outbox-{message.id}-{int(message.created_at.timestamp())}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    return email
