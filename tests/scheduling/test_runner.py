"""run_job: the transaction edge of a scheduled job and the record of its runs."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import LoginAttempt
from app.extensions import db
from app.scheduling import runner
from app.scheduling.locks import exclusive_lock
from app.scheduling.models import SUMMARY_MAX_LENGTH, JobOutcome, JobRun


def _attempt(email: str) -> LoginAttempt:
    return LoginAttempt(email=email, succeeded=False, remote_addr="192.0.2.1")


def writer(email: str, error: Exception | None = None):
    """A job that writes a login attempt for ``email``, then returns a summary or raises ``error``."""

    def job(session):
        session.add(_attempt(email))
        session.flush()
        if error is not None:
            raise error
        return "wrote one row"

    return job


def fail_at_length(session):
    raise ValueError("x" * (SUMMARY_MAX_LENGTH * 2))


def rename_first_user(session):
    from app.auth.models import User

    user = session.scalars(select(User).order_by(User.id)).first()
    user.name = "Renamed By Job"


def _attempt_emails():
    return set(db.session.scalars(select(LoginAttempt.email)))


def _runs(job_id):
    return db.session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)).all()


def test_a_successful_run_commits_the_jobs_writes_and_records_its_summary(app, session, scratch_jobs):
    scratch_jobs("test.write_and_succeed", writer("written-by-job@example.test"))

    run = runner.run_job(app, "test.write_and_succeed")

    assert run.outcome == JobOutcome.SUCCEEDED
    assert run.summary == "wrote one row"
    assert run.triggered_by == "schedule"
    assert run.started_at <= run.finished_at
    db.session.expire_all()
    assert "written-by-job@example.test" in _attempt_emails()
    [stored] = _runs("test.write_and_succeed")
    assert (stored.id, stored.outcome, stored.summary) == (run.id, "succeeded", "wrote one row")


def test_a_failed_run_rolls_back_the_jobs_writes_and_records_the_error(app, session, scratch_jobs):
    error = RuntimeError("the supplier's API answered 503")
    scratch_jobs("test.write_and_fail", writer("written-before-failure@example.test", error))

    run = runner.run_job(app, "test.write_and_fail", triggered_by="admin@example.test")

    assert run.outcome == JobOutcome.FAILED
    assert run.summary == "RuntimeError: the supplier's API answered 503"
    db.session.expire_all()
    assert "written-before-failure@example.test" not in _attempt_emails()
    [stored] = _runs("test.write_and_fail")
    assert (stored.outcome, stored.triggered_by) == ("failed", "admin@example.test")


def test_a_long_error_is_cut_to_the_summary_limit(app, session, scratch_jobs):
    scratch_jobs("test.fail_at_length", fail_at_length)

    run = runner.run_job(app, "test.fail_at_length")

    assert len(run.summary) == SUMMARY_MAX_LENGTH
    assert run.summary.startswith("ValueError: xxx") and run.summary.endswith("…")


def test_the_jobs_writes_are_audited_as_the_job(app, session, users, scratch_jobs):
    users.make("administrator", "SOS")
    scratch_jobs("test.rename_first_user", rename_first_user)

    runner.run_job(app, "test.rename_first_user", triggered_by="admin@example.test")

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == "users").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.actor_label == "job:test.rename_first_user"
    assert entry.after == {"name": "Renamed By Job"}


def test_a_job_already_running_is_not_started_again(app, session, scratch_jobs):
    scratch_jobs("test.locked_out", writer("locked-out@example.test"))

    with exclusive_lock(app, "job.test.locked_out"), pytest.raises(runner.JobAlreadyRunning):
        runner.run_job(app, "test.locked_out")

    assert _runs("test.locked_out") == []
    assert "locked-out@example.test" not in _attempt_emails()


def test_a_run_started_while_another_thread_runs_the_job_is_refused(app, session, scratch_jobs):
    started, release = threading.Event(), threading.Event()

    def slow(session):
        started.set()
        release.wait(10)
        return "slow run done"

    scratch_jobs("test.slow", slow)
    results = {}
    # The first run holds the job's lock from another thread; only the lock is under test, so the thread's
    # app needs no database work beyond recording its run, which is not looked at.
    thread = threading.Thread(target=lambda: results.setdefault("first", _run_quietly(app, "test.slow")))
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(runner.JobAlreadyRunning):
            runner.run_job(app, "test.slow")
    finally:
        release.set()
        thread.join(10)


def _run_quietly(app, job_id):
    try:
        return runner.run_job(app, job_id)
    except Exception as error:  # noqa: BLE001  (the outcome is not under test here; the lock is)
        return error


def test_an_unknown_job_cannot_be_run(app):
    with pytest.raises(runner.UnknownJob):
        runner.run_job(app, "test.no_such_job")


def test_the_scheduler_runs_a_job_by_its_id_in_the_workers_app(app, session, scratch_jobs):
    scratch_jobs("test.on_schedule", writer("on-schedule@example.test"))
    runner.bind_app(app)

    runner.run_scheduled("test.on_schedule")

    [run] = _runs("test.on_schedule")
    assert (run.outcome, run.triggered_by) == ("succeeded", "schedule")
