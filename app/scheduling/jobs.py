"""The scheduler's own housekeeping: the record of runs is kept for a quarter."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.db import utcnow
from app.scheduling.models import JobRun
from app.scheduling.registry import register_job

# A job every minute leaves half a million runs a year; a quarter is enough to follow up on a failure.
JOB_RUN_RETENTION = timedelta(days=90)


def prune_job_runs(session: Session, now: datetime | None = None) -> str:
    """Delete runs that started more than JOB_RUN_RETENTION ago; flushes only. Returns a summary."""
    cutoff = (now or utcnow()) - JOB_RUN_RETENTION
    result = session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    return ngettext(
        "Deleted %(num)d job run older than %(days)d days.",
        "Deleted %(num)d job runs older than %(days)d days.",
        result.rowcount,
        days=JOB_RUN_RETENTION.days,
    )


def register(app) -> None:
    """Register the scheduler's own housekeeping job; called from app.scheduling.init_app."""
    register_job(
        "scheduling.prune_job_runs",
        prune_job_runs,
        trigger="cron",
        hour=3,
        minute=30,
        description=_l("Delete job runs older than 90 days"),
    )
