"""Scheduled housekeeping for accounts: login attempts are kept only as long as they serve a purpose."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.auth.models import LoginAttempt
from app.db import utcnow
from app.scheduling.registry import register_job

# The lockout reads the last LOGIN_FAILURE_WINDOW_MINUTES; a quarter of history covers following up on an
# incident. Older rows are personal data (e-mail, IP address) kept for no purpose, which the GDPR forbids.
LOGIN_ATTEMPT_RETENTION = timedelta(days=90)


def prune_login_attempts(session: Session, now: datetime | None = None) -> str:
    """Delete login attempts older than LOGIN_ATTEMPT_RETENTION; flushes only. Returns a summary."""
    cutoff = (now or utcnow()) - LOGIN_ATTEMPT_RETENTION
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff))
    return ngettext(
        "Deleted %(num)d login attempt older than %(days)d days.",
        "Deleted %(num)d login attempts older than %(days)d days.",
        result.rowcount,
        days=LOGIN_ATTEMPT_RETENTION.days,
    )


def register(app) -> None:
    """Register the auth package's scheduled jobs; called from app.auth.init_app."""
    register_job(
        "auth.prune_login_attempts",
        prune_login_attempts,
        trigger="cron",
        hour=3,
        minute=15,
        description=_l("Delete login attempts older than 90 days"),
    )
