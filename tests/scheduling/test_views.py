"""The jobs page, a job's run history, and "Run now"."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.scheduling import services
from app.scheduling.models import JobRun


def counts_organisations(session):
    from app.organisations.models import Organisation

    return f"{len(session.scalars(select(Organisation)).all())} organisations counted"


def always_fails(session):
    raise LookupError("the reference file is missing")


@pytest.fixture
def page_jobs(scratch_jobs):
    scratch_jobs("test.count_organisations", counts_organisations, minutes=30, description="Counting")
    scratch_jobs("test.always_fails", always_fails, trigger="cron", hour=6, minute=0, description="Fails")


@pytest.fixture
def login_as(users, auth):
    def login(role, organisation="SOS"):
        user = users.make(role, organisation)
        assert auth.login(user).status_code == 302
        return user

    return login


def _runs(job_id):
    return db.session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)).all()


def test_an_administrator_sees_every_job_with_its_schedule_and_that_it_is_not_scheduled_yet(
    client, login_as, page_jobs
):
    login_as("administrator")

    response = client.get("/jobs/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Counting" in page and "Every 30 minutes" in page
    assert "Fails" in page and "Daily at 06:00" in page
    assert "Not scheduled yet" in page
    assert "Run now" in page


def test_an_auditor_sees_the_jobs_but_may_not_run_them(client, login_as, page_jobs):
    login_as("auditor", "RK-S")

    response = client.get("/jobs/")

    assert response.status_code == 200
    assert "Counting" in response.get_data(as_text=True)
    assert "Run now" not in response.get_data(as_text=True)
    assert client.post("/jobs/test.count_organisations/run").status_code == 403
    assert _runs("test.count_organisations") == []


def test_a_reporter_may_not_see_the_jobs(client, login_as, page_jobs):
    login_as("reporter", "0180")

    assert client.get("/jobs/").status_code == 403
    assert client.get("/jobs/test.count_organisations").status_code == 403


def test_an_administrator_runs_a_job_now_and_sees_its_outcome(client, login_as, page_jobs):
    admin = login_as("administrator")

    response = client.post("/jobs/test.count_organisations/run", follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == "/jobs/test.count_organisations"
    page = response.get_data(as_text=True)
    assert "The job test.count_organisations succeeded." in page
    assert "organisations counted" in page
    [run] = _runs("test.count_organisations")
    assert (run.outcome, run.triggered_by) == ("succeeded", admin.email)
    assert admin.email in page, "the history names who ran it"


def test_a_failing_job_run_by_hand_shows_the_error_and_a_failed_badge(client, login_as, page_jobs):
    login_as("administrator")

    response = client.post("/jobs/test.always_fails/run", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "The job test.always_fails failed: LookupError: the reference file is missing" in page
    assert 'badge-red">Failed' in page
    overview = client.get("/jobs/").get_data(as_text=True)
    assert 'badge-red">Failed' in overview


def test_the_history_lists_the_latest_run_first_and_filters_by_outcome(client, login_as, page_jobs, session):
    login_as("administrator")
    start = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
    for day, outcome in enumerate(["succeeded", "failed", "succeeded"]):
        started = start + timedelta(days=day)
        session.add(
            JobRun(
                job_id="test.always_fails",
                started_at=started,
                finished_at=started + timedelta(seconds=2),
                outcome=outcome,
                summary=f"run on day {day}",
                triggered_by="schedule",
            )
        )
    session.commit()

    page = client.get("/jobs/test.always_fails").get_data(as_text=True)
    assert page.index("run on day 2") < page.index("run on day 1") < page.index("run on day 0")
    assert "2.0 s" in page

    failed_only = client.get("/jobs/test.always_fails?outcome=failed").get_data(as_text=True)
    assert "run on day 1" in failed_only and "run on day 0" not in failed_only

    csv = client.get("/jobs/test.always_fails?format=csv").get_data(as_text=True)
    assert csv.count("run on day") == 3


def test_an_unknown_job_is_not_found(client, login_as):
    login_as("administrator")

    assert client.get("/jobs/no.such_job").status_code == 404
    assert client.post("/jobs/no.such_job/run").status_code == 404


def test_the_next_run_comes_from_the_job_store_in_swedish_time(client, login_as, page_jobs, session):
    login_as("administrator")
    # The table APScheduler creates, here inside the test's transaction so it is rolled back with it.
    table = services.jobstore_table
    table.create(session.connection())
    next_run = datetime(2026, 7, 1, 4, 7, tzinfo=UTC)  # 06:07 in Stockholm (summer time)
    session.execute(
        insert(table),
        [{"id": "test.always_fails", "next_run_time": next_run.timestamp(), "job_state": b"-"}],
    )

    overview = services.job_overview(session, now=next_run - timedelta(hours=1))
    statuses = {status.id: status for status in overview}
    assert statuses["test.always_fails"].next_run_at == next_run
    assert statuses["test.always_fails"].scheduled is True
    assert statuses["test.count_organisations"].scheduled is False

    page = client.get("/jobs/").get_data(as_text=True)
    assert "6:07" in page and "4:07" not in page
    assert "Not scheduled yet" in page, "the job the worker has not stored yet"
