"""Reporting settings and the periods page: the national coordinator's rules, closing early, opening now."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from allocation import reporting
from allocation.models import Channel, ReportingPeriod
from allocation.reporting import ReportError, ReportingNotAllowed, SettingsData, SettingsInvalid
from app.catalog.models import ProductCategory
from app.db import utcnow
from app.organisations.models import Organisation
from tests.allocation.conftest import STOCKHOLM, full_lines
from tests.conftest import organisation


def _settings_form(session, **overrides) -> dict:
    categories = session.scalars(select(ProductCategory.id).order_by(ProductCategory.sort_order)).all()
    data = {
        "deadline_weekdays": ["1", "3", "5"],
        "deadline_time": "10:30",
        "open_days_ahead": "10",
        "horizon_days": "28",
        "red_days": "5",
        "amber_days": "10",
        "need_max_age_days": "21",
        "category_ids": [str(i) for i in categories[:3]],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _error_beside(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', html, re.DOTALL)
    assert match, f"no error beside {field_id}"
    assert f'aria-describedby="{field_id}-error"' in html or re.search(
        rf'aria-describedby="[^"]*{field_id}-error', html
    )
    return match.group(1)


def test_the_settings_form_shows_the_current_rules(client, auth, users, session):
    reporting.get_settings(session)
    session.commit()
    auth.login(users.make("national_coordinator", "SOS"))
    html = client.get("/need/settings").get_data(as_text=True)
    assert re.search(r'<input checked id="deadline_weekdays-1"[^>]*value="2"', html)  # Tuesday
    assert re.search(r'<input checked id="deadline_weekdays-3"[^>]*value="4"', html)  # Thursday
    assert re.search(r'<input id="deadline_weekdays-0"[^>]*value="1"', html)  # Monday, not checked
    assert 'value="12:00"' in html and "Monday" in html
    assert re.search(r'id="amber_days"[^>]*value="14"', html)


def test_the_national_coordinator_changes_the_cadence_and_categories(client, auth, users, session):
    auth.login(users.make("national_coordinator", "SOS"))
    response = client.post("/need/settings", data=_settings_form(session))
    assert response.status_code == 302
    settings = reporting.get_settings(session)
    session.refresh(settings)
    assert settings.weekdays == [1, 3, 5] and settings.deadline_time == time(10, 30)
    assert (
        settings.open_days_ahead,
        settings.horizon_days,
        settings.red_days,
        settings.amber_days,
        settings.need_max_age_days,
    ) == (10, 28, 5, 10, 21)
    assert [c.code for c in settings.categories] == ["respirators", "surgical_masks", "eye_protection"]
    assert "apply to periods opened from now on" in client.get("/need/settings").get_data(as_text=True)


def test_new_periods_follow_the_new_settings_and_old_ones_keep_theirs(client, auth, users, session, period):
    auth.login(users.make("national_coordinator", "SOS"))
    client.post("/need/settings", data=_settings_form(session))
    created = reporting.open_periods(session, now=utcnow(), tz=STOCKHOLM)
    assert created and all(p.horizon_days == 28 and len(p.categories) == 3 for p in created)
    session.refresh(period)
    assert period.horizon_days == 21 and len(period.categories) == 7


def test_a_red_threshold_not_below_amber_is_refused_beside_the_field(client, auth, users, session):
    auth.login(users.make("national_coordinator", "SOS"))
    response = client.post("/need/settings", data=_settings_form(session, red_days="14", amber_days="14"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "more days than the red one" in _error_beside(html, "amber_days")
    settings = reporting.get_settings(session)
    session.refresh(settings)
    assert (settings.red_days, settings.amber_days) == (7, 14)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"deadline_weekdays": None}, "deadline_weekdays", "at least one deadline day"),
        ({"category_ids": None}, "category_ids", "at least one product category"),
        ({"deadline_time": "noon"}, "deadline_time", "HH:MM"),
        ({"horizon_days": "0"}, "horizon_days", "from 1 to 365"),
        ({"open_days_ahead": "two"}, "open_days_ahead", "whole number of days"),
        ({"red_days": "0"}, "red_days", "from 1 to 365"),
    ],
)
def test_bad_settings_are_refused_beside_their_field(client, auth, users, session, overrides, field, message):
    auth.login(users.make("national_coordinator", "SOS"))
    response = client.post("/need/settings", data=_settings_form(session, **overrides))
    assert response.status_code == 422
    assert message in _error_beside(response.get_data(as_text=True), field)


def test_only_the_national_coordinator_may_change_the_settings(client, auth, users, session):
    auth.login(users.make("county_coordinator", "LST-01"))
    assert client.get("/need/settings").status_code == 403
    assert client.post("/need/settings", data=_settings_form(session)).status_code == 403
    with pytest.raises(ReportingNotAllowed):
        reporting.update_settings(session, users.make("administrator", "SOS"), _data())


def _data(**overrides) -> SettingsData:
    values = {
        "deadline_weekdays": [2, 4],
        "deadline_time": time(12),
        "open_days_ahead": 7,
        "horizon_days": 21,
        "red_days": 7,
        "amber_days": 14,
        "need_max_age_days": 14,
        "category_ids": [],
    }
    values.update(overrides)
    return SettingsData(**values)


def test_the_settings_service_reports_every_problem_at_once(session, users):
    with pytest.raises(SettingsInvalid) as refused:
        reporting.update_settings(
            session,
            users.make("national_coordinator", "SOS"),
            _data(deadline_weekdays=[0, 8], red_days=30, amber_days=20, category_ids=[999_999]),
        )
    assert {error.field for error in refused.value.errors} == {
        "deadline_weekdays",
        "amber_days",
        "category_ids",
    }


def test_the_periods_page_counts_reports_received_in_the_viewers_scope(client, auth, users, session, period):
    for code in ("0180", "0181", "1480"):
        reporting.submit_report(
            session,
            organisation=organisation(code),
            period=period,
            branch="healthcare",
            lines=full_lines(period),
            channel=Channel.FORM,
            user=users.make("reporter", code),
        )
    session.commit()
    expected = session.scalar(
        select(func.count())
        .select_from(Organisation)
        .where(reporting.reporting_organisations_filter(), Organisation.county_code == "01")
    )
    auth.login(users.make("county_coordinator", "LST-01"))
    html = client.get("/need/periods").get_data(as_text=True)
    assert f"2 of {expected}" in html
    assert "Close now" not in html and "Open the coming periods now" not in html
    assert "Respirators (FFP2/FFP3)" in html


def test_closing_a_period_early_stops_it_taking_reports(client, auth, users, session, period):
    auth.login(users.make("national_coordinator", "SOS"))
    assert "Close now" in client.get("/need/periods").get_data(as_text=True)
    response = client.post(f"/need/periods/{period.id}/close", follow_redirects=True)
    assert "it takes no more reports" in response.get_data(as_text=True)
    session.refresh(period)
    assert period.closed_manually_at is not None and not period.is_open(utcnow())
    with pytest.raises(ReportError, match="closed"):
        reporting.submit_report(
            session,
            organisation=organisation("0180"),
            period=period,
            branch="healthcare",
            lines=full_lines(period),
            channel=Channel.FORM,
            user=users.make("reporter", "0180"),
        )
    again = client.post(f"/need/periods/{period.id}/close", follow_redirects=True)
    assert "already closed" in again.get_data(as_text=True)


def test_others_cannot_close_a_period(client, auth, users, session, period):
    auth.login(users.make("county_coordinator", "LST-01"))
    assert client.post(f"/need/periods/{period.id}/close").status_code == 403
    session.refresh(period)
    assert period.closed_manually_at is None


def test_opening_periods_now_creates_the_coming_ones_once(client, auth, users, session):
    auth.login(users.make("national_coordinator", "SOS"))
    first = client.post("/need/periods/open", follow_redirects=True).get_data(as_text=True)
    count = session.scalar(select(func.count()).select_from(ReportingPeriod))
    assert count >= 2 and f"{count} reporting periods opened" in first
    second = client.post("/need/periods/open", follow_redirects=True).get_data(as_text=True)
    assert "already open" in second
    assert session.scalar(select(func.count()).select_from(ReportingPeriod)) == count


def test_a_closed_period_is_shown_as_closed(client, auth, users, session, previous_period):
    auth.login(users.make("auditor", "RK-S"))
    html = client.get("/need/periods").get_data(as_text=True)
    assert 'badge-neutral">Closed</span>' in html


def test_a_malformed_field_and_a_broken_rule_are_both_shown_at_once(client, auth, users, session):
    auth.login(users.make("national_coordinator", "SOS"))
    data = _settings_form(session, deadline_time="25:00", red_days="9", amber_days="3")
    html = client.post("/need/settings", data=data).get_data(as_text=True)
    assert "HH:MM" in _error_beside(html, "deadline_time")
    assert "more days than the red one" in _error_beside(html, "amber_days")
