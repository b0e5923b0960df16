"""Running one job: the transaction edge for scheduled work, and the record of how each run went.

The worker's scheduler calls :func:`run_scheduled` by its textual reference with only the job id, so the
job store holds nothing that cannot be unpickled by a later version of the code.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.config import babel_locale
from app.db import utcnow
from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.scheduling.locks import LockHeld, exclusive_lock
from app.scheduling.models import (
    SCHEDULE,
    SUMMARY_MAX_LENGTH,
    TRIGGERED_BY_MAX_LENGTH,
    JobOutcome,
    JobRun,
)
from app.scheduling.registry import JOBS, JobSpec

logger = logging.getLogger(__name__)

RUN_SCHEDULED = "app.scheduling.runner:run_scheduled"

_worker_app: Flask | None = None
_worker_app_lock = threading.Lock()


class UnknownJob(NotFoundError):
    # Lazy messages: these are raised in the worker too, outside any request, where no locale is chosen.
    def __init__(self, job_id: str):
        super().__init__(_l("There is no job %(job)s.", job=job_id))
        self.job_id = job_id


class JobAlreadyRunning(ConflictError):
    def __init__(self, job_id: str):
        super().__init__(
            _l("The job %(job)s is already running; try again when it has finished.", job=job_id)
        )
        self.job_id = job_id


def bind_app(app: Flask) -> None:
    """The app whose jobs this process runs; the worker sets it before it starts its scheduler."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    global _worker_app
    with _worker_app_lock:
        if _worker_app is None:
            from app import create_app

            _worker_app = create_app()
        return _worker_app


def run_scheduled(job_id: str) -> None:
    """What the scheduler runs: the job in this process's app. A run already under way is left alone."""
    try:
        run_job(_app(), job_id, triggered_by=SCHEDULE)
    except JobAlreadyRunning:
        logger.warning("job %s skipped: a run of it is already under way", job_id)


def job_spec(job_id: str) -> JobSpec:
    """The registered job. Raises UnknownJob."""
    spec = JOBS.get(job_id)
    if spec is None:
        raise UnknownJob(job_id)
    return spec


def run_job(app: Flask, job_id: str, triggered_by: str = SCHEDULE) -> JobRun:
    """Run a job now, in this thread, and record the run.

    The job runs in a fresh app context (so its own session, even inside a web request) with
    ``session.info["actor"] = "job:<id>"`` for the audit log, and in the default locale. Its writes are
    committed when it returns and rolled back when it raises; the JobRun is committed in a transaction of
    its own either way, so failed runs are on record. The exception is logged, not raised.

    Raises UnknownJob, and JobAlreadyRunning when a run of the same job holds its lock (in this process or
    another: a manual run while the worker runs it, or two web workers).
    Returns the JobRun, detached from any session.
    """
    spec = job_spec(job_id)
    try:
        with exclusive_lock(app, f"job.{job_id}"):
            return _run_locked(app, spec, triggered_by)
    except LockHeld:
        raise JobAlreadyRunning(job_id) from None


def _run_locked(app: Flask, spec: JobSpec, triggered_by: str) -> JobRun:
    with app.app_context(), force_locale(babel_locale(app.config["BABEL_DEFAULT_LOCALE"])):
        session = db.session
        session.info["actor"] = f"job:{spec.id}"
        started_at = utcnow()
        try:
            summary = spec.func(session)
            session.commit()
        except Exception as error:
            session.rollback()
            logger.exception("job %s failed", spec.id)
            outcome, text = JobOutcome.FAILED, f"{type(error).__name__}: {error}"
        else:
            outcome, text = JobOutcome.SUCCEEDED, (None if summary is None else str(summary))
        finished_at = utcnow()
        if outcome is JobOutcome.SUCCEEDED:
            seconds = (finished_at - started_at).total_seconds()
            logger.info("job %s succeeded in %.1f s: %s", spec.id, seconds, text)
        run = JobRun(
            job_id=spec.id,
            started_at=started_at,
            finished_at=finished_at,
            outcome=outcome.value,
            summary=_truncate(text),
            triggered_by=str(triggered_by)[:TRIGGERED_BY_MAX_LENGTH],
        )
        session.add(run)
        session.flush()
        # Detached with every column loaded, so the caller can read it after this app context is gone.
        session.expunge(run)
        session.commit()
        return run


def _truncate(text: str | None) -> str | None:
    if text is None or len(text) <= SUMMARY_MAX_LENGTH:
        return text
    return text[: SUMMARY_MAX_LENGTH - 1] + "…"
