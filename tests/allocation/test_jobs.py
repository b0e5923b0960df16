"""Scheduled jobs for situation reports: periods opened ahead, reminders once, missing lists to county boards."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from allocation import jobs, reporting
from allocation.models import Channel, ReminderSent, ReportingPeriod
from app.notifications.models import Notice, OutboxMessage
from app.organisations.models import Organisation
from app.scheduling.registry import JOBS
from tests.allocation.conftest import full_lines
from tests.conftest import organisation


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _report(session, user, period, code):
    reporting.submit_report(
        session,
        organisation=organisation(code),
        period=period,
        branch="social_services",
        lines=full_lines(period),
        channel=Channel.FORM,
        user=user,
    )
    session.commit()


def test_the_jobs_are_registered_with_their_schedules(app):
    assert JOBS["allocation.open_periods"].trigger_args == {"hours": 1}
    for job_id in (
        "allocation.remind_before_deadline",
        "allocation.remind_at_deadline",
        "allocation.missing_report_lists",
    ):
        assert JOBS[job_id].trigger == "interval" and JOBS[job_id].trigger_args == {"minutes": 15}


def test_the_open_periods_job_is_idempotent(session):
    first = jobs.open_periods(session)
    count = session.scalar(select(func.count()).select_from(ReportingPeriod))
    second = jobs.open_periods(session)
    assert count >= 2 and first == f"Opened {count} reporting periods."
    assert second == "Opened 0 reporting periods."
    assert session.scalar(select(func.count()).select_from(ReportingPeriod)) == count


def test_reminders_before_the_deadline_go_once_to_each_reporter_of_organisations_without_a_report(
    session, users, period
):
    first, second = users.make("reporter", "0180"), users.make("reporter", "0180")
    other_municipality = users.make("reporter", "0181")
    reported = users.make("reporter", "1480")
    coordinator = users.make("county_coordinator", "LST-01")
    _report(session, reported, period, "1480")
    now = period.deadline_at - timedelta(hours=2)

    summary = jobs.remind_before_deadline(session, now=now)
    jobs.remind_before_deadline(session, now=now + timedelta(minutes=15))
    session.commit()

    assert summary.startswith("3 reminders to reporters of 2 organisations")
    for user in (first, second, other_municipality):
        notices = _notices(session, user)
        assert len(notices) == 1
        assert notices[0].text.startswith("Situation report due")
        assert notices[0].link == f"/need/reports/new?period_id={period.id}"
    assert _notices(session, reported) == [] and _notices(session, coordinator) == []
    sent = session.scalars(select(ReminderSent).where(ReminderSent.kind == "before_deadline")).all()
    assert {r.organisation_id for r in sent} == {organisation("0180").id, organisation("0181").id}
    assert (
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == first.id)
        )
        == 1
    )


def test_no_reminder_goes_out_more_than_24_hours_before_the_deadline(session, users, period):
    reporter = users.make("reporter", "0180")
    assert jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=25)).startswith(
        "No deadline"
    )
    assert _notices(session, reporter) == []


def test_a_reporter_added_after_the_reminder_does_not_get_it_again_for_the_same_organisation(
    session, users, period
):
    users.make("reporter", "0180")
    jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=3))
    latecomer = users.make("reporter", "0180")
    jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=2))
    assert _notices(session, latecomer) == []


def test_an_organisation_without_reporters_is_reminded_once_someone_can_report(session, users, period):
    jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=3))
    reporter = users.make("reporter", "0180")
    jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=2))
    assert len(_notices(session, reporter)) == 1


def test_reminders_at_the_deadline_go_once_and_apart_from_the_earlier_one(session, users, period):
    reporter = users.make("reporter", "0180")
    late_reporter = users.make("reporter", "0181")
    jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=1))
    _report(session, late_reporter, period, "0181")  # reports in the last hour: no reminder at the deadline
    after = period.deadline_at + timedelta(minutes=5)
    jobs.remind_at_deadline(session, now=after)
    jobs.remind_at_deadline(session, now=after + timedelta(minutes=15))
    notices = _notices(session, reporter)
    assert len(notices) == 2
    assert notices[0].text.startswith("Situation report due")
    assert notices[1].text.startswith("Situation report missing: the deadline")
    assert "still accepted until" in notices[1].body
    assert len(_notices(session, late_reporter)) == 1  # only the one before the deadline


def test_no_reminder_at_the_deadline_before_it_has_passed(session, users, period, previous_period):
    reporter = users.make("reporter", "0180")
    summary = jobs.remind_at_deadline(session, now=period.deadline_at - timedelta(minutes=1))
    # The latest deadline passed is the previous period's, which is closed: nothing to remind of.
    assert summary.startswith("No period")
    assert _notices(session, reporter) == []


def _listed_codes(body: str) -> set[str]:
    return set(re.findall(r"^- .* \((\S+)\)$", body, re.MULTILINE))


def test_the_county_coordinator_gets_one_list_of_exactly_the_missing_reports(session, users, period):
    _report(session, users.make("reporter", "0180"), period, "0180")
    _report(session, users.make("reporter", "REG-01"), period, "REG-01")
    _report(session, users.make("reporter", "1480"), period, "1480")
    stockholm = users.make("county_coordinator", "LST-01")
    colleague = users.make("county_coordinator", "LST-01")
    vastra_gotaland = users.make("county_coordinator", "LST-14")
    after = period.deadline_at + timedelta(minutes=5)

    jobs.missing_report_lists(session, now=after)
    jobs.missing_report_lists(session, now=after + timedelta(minutes=15))

    county_01 = session.scalars(
        select(Organisation).where(
            reporting.reporting_organisations_filter(), Organisation.county_code == "01"
        )
    ).all()
    expected = {o.municipality_code or o.code for o in county_01} - {"0180", "REG-01"}
    notices = _notices(session, stockholm)
    assert len(notices) == 1 and len(_notices(session, colleague)) == 1
    assert _listed_codes(notices[0].body) == expected
    assert notices[0].text.startswith(f"{len(expected)} organisations have not reported")
    assert notices[0].link == f"/need/reports/?period={period.id}"
    county_14 = _listed_codes(_notices(session, vastra_gotaland)[0].body)
    assert "1480" not in county_14 and "1401" in county_14
    assert (
        session.scalar(
            select(func.count()).select_from(ReminderSent).where(ReminderSent.kind == "missing_list")
        )
        == 2
    )


def test_no_missing_list_before_the_deadline(session, users, period):
    coordinator = users.make("county_coordinator", "LST-01")
    jobs.missing_report_lists(session, now=period.deadline_at - timedelta(minutes=5))
    assert _notices(session, coordinator) == []


def test_run_from_a_page_the_reminder_carries_a_full_address_into_the_e_mail(app, session, users, period):
    reporter = users.make("reporter", "0180")
    with app.test_request_context("/jobs"):
        jobs.remind_before_deadline(session, now=period.deadline_at - timedelta(hours=1))
    notice = _notices(session, reporter)[0]
    assert notice.link == f"http://localhost/need/reports/new?period_id={period.id}"
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == reporter.id))
    assert message.body.endswith(notice.link)
