"""The nightly pruning of the record of job runs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.scheduling.jobs import JOB_RUN_RETENTION, prune_job_runs
from app.scheduling.models import JobRun
from app.scheduling.registry import JOBS

NOW = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


def _run(summary: str, age: timedelta) -> JobRun:
    started = NOW - age
    return JobRun(
        job_id="test.pruned",
        started_at=started,
        finished_at=started + timedelta(seconds=1),
        outcome="succeeded",
        summary=summary,
        triggered_by="schedule",
    )


def test_only_runs_older_than_ninety_days_are_deleted(session):
    session.add_all(
        [
            _run("a year ago", timedelta(days=365)),
            _run("just over", JOB_RUN_RETENTION + timedelta(minutes=1)),
            _run("just under", JOB_RUN_RETENTION - timedelta(minutes=1)),
            _run("today", timedelta(hours=1)),
        ]
    )
    session.commit()

    summary = prune_job_runs(session, now=NOW)
    session.commit()

    assert summary == "Deleted 2 job runs older than 90 days."
    kept = set(db.session.scalars(select(JobRun.summary).where(JobRun.job_id == "test.pruned")))
    assert kept == {"just under", "today"}


def test_the_pruning_of_job_runs_is_registered_with_the_app(app):
    spec = JOBS["scheduling.prune_job_runs"]
    assert spec.func is prune_job_runs
    assert (spec.trigger, spec.trigger_args) == ("cron", {"hour": 3, "minute": 30})
