"""The registry of scheduled jobs. Packages register their jobs in init_app; the worker schedules them.

    register_job("notifications.deliver_outbox", deliver_outbox, trigger="interval", minutes=1,
                 description=_l("Send queued e-mail"))

A job function takes the SQLAlchemy session and returns a short summary string (or None). The worker runs
it in an app context, commits on success, rolls back and records the error on failure.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable
    trigger: str  # "interval" or "cron", as APScheduler names them
    trigger_args: dict = field(default_factory=dict)
    description: object = ""


JOBS: dict[str, JobSpec] = {}


def register_job(job_id: str, func: Callable, *, trigger: str, description="", **trigger_args) -> JobSpec:
    """Register (or re-register, idempotently) a job. ``trigger_args`` go to APScheduler's trigger."""
    if trigger not in ("interval", "cron"):
        raise ValueError(f"unknown trigger {trigger!r} for job {job_id}")
    spec = JobSpec(job_id, func, trigger, dict(trigger_args), description)
    JOBS[job_id] = spec
    return spec
