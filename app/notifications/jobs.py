"""Scheduled job: deliver the e-mail outbox."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.notifications.services import deliver_outbox


def deliver_outbox_job(session: Session) -> str:
    """Send queued e-mail (or hold it when no mail server is configured); the worker commits."""
    return deliver_outbox(session, current_app.config).summary
