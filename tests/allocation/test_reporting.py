"""Submitting situation reports: versions, validation, idempotency, late reports and the current state."""
from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from allocation import reporting
from allocation.models import Channel, CurrentNeed, SituationReportLine, SituationReportVersion
from allocation.reporting import ConfirmationRequired, ReportError, ReportInvalid
from app.errors import NotFoundError
from tests.allocation.conftest import STOCKHOLM, full_lines
from tests.conftest import organisation


def _submit(session, user, period, lines=None, org="0180", branch="healthcare", **kwargs):
    return reporting.submit_report(
        session, organisation=organisation(org), period=period, branch=branch,
        lines=lines if lines is not None else full_lines(period), channel=Channel.FORM, user=user, **kwargs,
    )


def _versions(session):
    return session.scalar(select(func.count()).select_from(SituationReportVersion))


def test_a_report_stores_every_line_with_its_computed_need_and_sets_the_current_state(session, users, period):
    reporter = users.make("reporter", "0180")
    result = _submit(session, reporter, period)
    session.commit()
    assert result.created and result.version.number == 1 and not result.version.late
    assert len(result.version.lines) == len(period.categories) == 7
    assert all(line.computed_need == 800 for line in result.version.lines)  # 100 a day × 21 − 1000 − 300
    current = session.scalars(select(CurrentNeed).where(CurrentNeed.organisation_id == organisation("0180").id)).all()
    assert len(current) == 7 and {row.stock for row in current} == {1000}


def test_a_correction_is_a_new_version_and_the_old_one_stays(session, users, period):
    reporter = users.make("reporter", "0180")
    first = _submit(session, reporter, period).version
    code = period.categories[0].code
    second = _submit(session, reporter, period, full_lines(period, **{code: {"stock": 10, "stated_need": 1790}})).version
    session.commit()
    assert (first.number, second.number) == (1, 2)
    assert first.report_id == second.report_id
    assert {line.stock for line in first.lines} == {1000}
    current = session.scalar(
        select(CurrentNeed).where(
            CurrentNeed.organisation_id == organisation("0180").id, CurrentNeed.category_id == period.categories[0].id
        )
    )
    assert current.stock == 10


def test_each_branch_is_its_own_report(session, users, period):
    reporter = users.make("reporter", "0180")
    a = _submit(session, reporter, period, branch="healthcare").version
    b = _submit(session, reporter, period, branch="lss").version
    assert a.report_id != b.report_id and b.number == 1


def test_a_report_after_the_deadline_is_accepted_and_marked_late(session, users, period):
    reporter = users.make("reporter", "0180")
    result = _submit(session, reporter, period, now=period.deadline_at + timedelta(hours=1))
    assert result.version.late


def test_a_closed_period_refuses_reports_and_nothing_is_saved(session, users, previous_period):
    reporter = users.make("reporter", "0180")
    before = _versions(session)
    with pytest.raises(ReportError, match="closed"):
        _submit(session, reporter, previous_period)
    assert _versions(session) == before


def test_an_organisation_outside_the_users_scope_is_not_found(session, users, period):
    reporter = users.make("reporter", "0180")
    with pytest.raises(NotFoundError):
        _submit(session, reporter, period, org="1480")


def test_a_county_coordinator_or_auditor_cannot_submit(session, users, period):
    for user in (users.make("county_coordinator", "LST-01"), users.make("auditor", "SOS")):
        with pytest.raises(ReportError):
            _submit(session, user, period)


def test_the_agency_itself_does_not_report(session, users, period):
    with pytest.raises(ReportError, match="regions and municipalities"):
        _submit(session, users.make("reporter", "0180"), period, org="SOS")


def test_every_bad_line_is_reported_at_once_and_nothing_is_saved(session, users, period):
    reporter = users.make("reporter", "0180")
    codes = [c.code for c in period.categories]
    lines = full_lines(period, **{codes[0]: {"stock": -1}, codes[1]: {"stated_need": 5000}})
    lines = [line for line in lines if line.category != codes[2]]
    lines.append(reporting.LineInput("no-such-category", 1, 1, 1, 1))
    before = _versions(session)
    with pytest.raises(ReportInvalid) as error:
        _submit(session, reporter, period, lines)
    found = {(p.category, p.field) for p in error.value.problems}
    assert found == {
        (codes[0], "stock"), (codes[1], "justification"), (codes[2], "category"), ("no-such-category", "category"),
    }
    assert _versions(session) == before
    assert session.scalar(select(func.count()).select_from(CurrentNeed)) == 0


def test_a_justified_departure_from_the_computed_need_is_accepted(session, users, period):
    code = period.categories[1].code
    lines = full_lines(period, **{code: {"stated_need": 5000, "justification": "New nursing home opens"}})
    version = _submit(session, users.make("reporter", "0180"), period, lines).version
    line = next(line for line in version.lines if line.category.code == code)
    assert (line.stated_need, line.computed_need, line.justification) == (5000, 800, "New nursing home opens")


def test_a_tenfold_consumption_needs_confirmation(session, users, period, previous_period):
    from datetime import datetime

    reporter = users.make("reporter", "0180")
    # The previous period's report, submitted while it was open.
    _submit(session, reporter, previous_period, now=previous_period.deadline_at - timedelta(hours=1))
    code = period.categories[0].code
    spiked = full_lines(period, **{code: {"consumption_7d": 7001, "stated_need": 140_000, "justification": "x"}})
    with pytest.raises(ConfirmationRequired) as error:
        _submit(session, reporter, period, spiked)
    assert [(p.category, p.field) for p in error.value.problems] == [(code, "consumption_7d")]
    assert _submit(session, reporter, period, spiked, confirm_spikes=True).created
    assert datetime.now(UTC)  # the clock is aware


def test_a_repeated_idempotency_key_returns_the_first_version(session, users, period):
    reporter = users.make("reporter", "0180")
    first = _submit(session, reporter, period, idempotency_key="abc-1")
    again = _submit(session, reporter, period, idempotency_key="abc-1")
    assert first.created and not again.created and again.version.id == first.version.id
    assert _versions(session) == 1


def test_a_late_correction_of_an_older_period_does_not_overwrite_newer_figures(session, users, period):
    from allocation.models import ReportingPeriod

    reporter = users.make("reporter", "0180")
    _submit(session, reporter, period)
    older = ReportingPeriod(
        opens_at=period.opens_at - timedelta(days=3), deadline_at=period.opens_at - timedelta(hours=1),
        closes_at=period.deadline_at, horizon_days=21,
    )
    older.categories = list(period.categories)
    session.add(older)
    session.flush()
    _submit(session, reporter, older, full_lines(older, **{c.code: {"stock": 5, "stated_need": 1795} for c in older.categories}))
    rows = session.scalars(select(CurrentNeed).where(CurrentNeed.organisation_id == organisation("0180").id)).all()
    assert {row.stock for row in rows} == {1000}


def test_registered_need_returns_recent_reports_only(session, users, period):
    reporter = users.make("reporter", "0180")
    _submit(session, reporter, period)
    category = period.categories[0]
    found = reporting.registered_need(session, category_id=category.id)
    assert [(row.organisation.code, row.branch, row.stated_need) for row in found] == [("0180", "healthcare", 800)]
    later = found[0].reported_at + timedelta(days=30)
    assert reporting.registered_need(session, category_id=category.id, now=later) == []


def test_opening_periods_is_idempotent_and_uses_the_cadence(session):
    from app.db import utcnow

    now = utcnow()
    reporting.open_periods(session, now=now, tz=STOCKHOLM)
    again = reporting.open_periods(session, now=now, tz=STOCKHOLM)
    assert again == []
    periods = reporting.periods_accepting(session, now)
    assert periods and all(p.deadline_at.astimezone(STOCKHOLM).isoweekday() in (2, 4) for p in periods)


def test_missing_reports_lists_organisations_that_have_not_reported(session, users, period):
    from app.organisations.models import Organisation

    _submit(session, users.make("reporter", "0180"), period)
    missing = reporting.missing_reports(session, period, Organisation.county_code == "01")
    codes = {o.code for o in missing}
    assert "0180" not in codes and "0184" in codes and "REG-01" in codes and "LST-01" not in codes
    assert len(missing) == 26 + 1 - 1


def test_report_lines_are_never_negative_in_the_database(session, users, period):
    from sqlalchemy.exc import IntegrityError

    version = _submit(session, users.make("reporter", "0180"), period).version
    line = version.lines[0]
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            SituationReportLine.__table__.update().where(SituationReportLine.id == line.id).values(stock=-5)
        )
