"""`flask jobs list` and `flask jobs run-now`."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import JobRun


def breaks(session):
    raise ConnectionError("the mail server refused the connection")


def noop(session):
    return None


def test_the_list_shows_every_job_with_its_schedule_and_that_none_is_scheduled_yet(runner, scratch_jobs):
    scratch_jobs("test.nightly", noop, trigger="cron", hour=3, minute=15)

    result = runner.invoke(args=["jobs", "list"])

    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("test.nightly"))
    assert "Daily at 03:15" in line and "not scheduled yet" in line and "never run" in line


def test_run_now_names_the_registered_jobs_when_given_an_unknown_one(runner, scratch_jobs):
    scratch_jobs("test.nightly", noop, trigger="cron", hour=3, minute=15)

    result = runner.invoke(args=["jobs", "run-now", "test.no_such_job"])

    assert result.exit_code == 2
    assert "no job 'test.no_such_job'" in result.output and "test.nightly" in result.output


def test_run_now_of_a_failing_job_exits_non_zero_with_the_error_and_records_the_run(runner, scratch_jobs):
    scratch_jobs("test.breaks", breaks)

    result = runner.invoke(args=["jobs", "run-now", "test.breaks"])

    assert result.exit_code == 1
    assert "test.breaks failed" in result.output
    assert "ConnectionError: the mail server refused the connection" in result.output
    [run] = db.session.scalars(select(JobRun).where(JobRun.job_id == "test.breaks")).all()
    assert run.outcome == "failed"

    listed = runner.invoke(args=["jobs", "list"]).output
    assert "failed" in next(line for line in listed.splitlines() if line.startswith("test.breaks"))
