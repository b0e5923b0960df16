"""The registry of scheduled jobs. Packages register their jobs in init_app; the worker schedules them.

    register_job("notifications.deliver_outbox", deliver_outbox, trigger="interval", minutes=1,
                 description=_l("Send queued e-mail"))

A job function takes the SQLAlchemy session and returns a short summary string (or None). It only flushes:
the runner (app.scheduling.runner.run_job) runs it in an app context, commits on success, rolls back and
records the error on failure.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

TRIGGERS: dict[str, type[BaseTrigger]] = {"interval": IntervalTrigger, "cron": CronTrigger}
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
# Dotted lower-case names ("auth.prune_login_attempts"): safe in URLs, lock file names and log lines.
JOB_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
JOB_ID_MAX_LENGTH = 100
# How late (seconds) a run may still start after its time, e.g. when the worker was down; None is no limit.
DEFAULT_MISFIRE_GRACE_TIME = 3600


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable
    trigger: str  # "interval" or "cron", as APScheduler names them
    trigger_args: dict = field(default_factory=dict)
    description: object = ""
    misfire_grace_time: int | None = DEFAULT_MISFIRE_GRACE_TIME

    def build_trigger(self, timezone) -> BaseTrigger:
        """The APScheduler trigger for this job, in the scheduler's time zone (cron hours are local hours)."""
        return TRIGGERS[self.trigger](timezone=timezone, **self.trigger_args)


JOBS: dict[str, JobSpec] = {}


def _reference(func: Callable) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def register_job(
    job_id: str,
    func: Callable,
    *,
    trigger: str,
    description="",
    misfire_grace_time: int | None = DEFAULT_MISFIRE_GRACE_TIME,
    **trigger_args,
) -> JobSpec:
    """Register (or re-register, idempotently) a job. ``trigger_args`` go to APScheduler's trigger.

    Raises TypeError for a function that is not callable; ValueError for a malformed id, an unknown
    trigger or trigger arguments APScheduler refuses, an interval of no length, and an id already
    registered to another function: a mistake fails when the app starts, not at night in the worker.
    """
    if len(job_id) > JOB_ID_MAX_LENGTH or not JOB_ID_PATTERN.fullmatch(job_id):
        raise ValueError(f"job id {job_id!r}: dotted lower-case words, at most {JOB_ID_MAX_LENGTH} long")
    if not callable(func):
        raise TypeError(f"job {job_id}: {func!r} is not callable")
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r} for job {job_id}")
    if trigger == "interval" and not any(trigger_args.get(unit) for unit in INTERVAL_UNITS):
        raise ValueError(f"job {job_id}: an interval needs one of {', '.join(INTERVAL_UNITS)}")
    if misfire_grace_time is not None and misfire_grace_time <= 0:
        raise ValueError(f"job {job_id}: misfire_grace_time must be positive or None")
    spec = JobSpec(job_id, func, trigger, dict(trigger_args), description, misfire_grace_time)
    try:
        spec.build_trigger(UTC)
    except (TypeError, ValueError) as error:
        raise ValueError(f"job {job_id}: invalid {trigger} trigger arguments: {error}") from error
    existing = JOBS.get(job_id)
    if existing is not None and _reference(existing.func) != _reference(func):
        raise ValueError(f"job id {job_id} is already registered to {_reference(existing.func)}")
    JOBS[job_id] = spec
    return spec
