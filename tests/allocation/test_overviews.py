"""Overviews of registered need: who sees which county, the numbers and colours, scenarios and forecasts."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from allocation import need, overviews, reporting
from allocation.models import Channel
from allocation.need import SupplyStatus
from app.db import utcnow
from app.extensions import db
from app.organisations.models import Organisation
from tests.allocation.conftest import STOCKHOLM, full_lines
from tests.conftest import organisation


def submit(session, users, period, code, *, stock=1000, consumption=700, branch="healthcare", now=None, **extra):
    """Report the same stock and consumption in every category for the organisation with ``code``."""
    reporter = users.make("reporter", code)
    lines = full_lines(
        period,
        **{c.code: {"stock": stock, "consumption_7d": consumption, "expected_14d": 0,
                    "stated_need": need.computed_need(stock, consumption, 0, horizon_days=period.horizon_days), **extra}
           for c in period.categories},
    )
    result = reporting.submit_report(
        session, organisation=organisation(code), period=period, branch=branch, lines=lines,
        channel=Channel.FORM, user=reporter, now=now or utcnow(),
    )
    session.commit()
    return result


def during(period):
    return period.deadline_at - timedelta(hours=1)


@pytest.fixture
def reported(session, users, previous_period):
    """Stockholm 10 days (amber), Upplands Väsby 30 days (green) in county 01; Göteborg 1 day (red) in 14.

    All for the period whose deadline passed last, so everyone else in the counties is missing.
    """
    at = during(previous_period)
    submit(session, users, previous_period, "0180", stock=1000, consumption=700, now=at)
    submit(session, users, previous_period, "0114", stock=3000, consumption=700, now=at)
    submit(session, users, previous_period, "1480", stock=100, consumption=700, now=at)
    return previous_period


def row_of(html: str, label: str) -> str:
    """The table row whose heading cell links to ``label``."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.DOTALL):
        if re.search(r'<th scope="row">\s*(<a [^>]*>)?' + re.escape(label) + r"\s*<", row):
            return row
    raise AssertionError(f"no row for {label!r}")


def login_as(auth, users, role, code):
    user = users.make(role, code)
    auth.logout()
    auth.login(user)
    return user


# --- who sees what ------------------------------------------------------------------------------------------

def test_the_overview_sends_each_user_to_the_overview_of_their_scope(client, auth, users):
    login_as(auth, users, "national_coordinator", "SOS")
    assert client.get("/need/overview").headers["Location"].endswith("/need/overview/national")
    login_as(auth, users, "county_coordinator", "LST-01")
    assert client.get("/need/overview").headers["Location"].endswith("/need/overview/county/01")
    login_as(auth, users, "reporter", "0180")
    assert client.get("/need/overview").headers["Location"].endswith(
        f"/need/overview/organisation/{organisation('0180').id}"
    )


def test_the_county_coordinator_sees_the_countys_municipalities_with_days_of_supply_and_colours(
    client, auth, users, reported
):
    login_as(auth, users, "county_coordinator", "LST-01")
    response = client.get("/need/overview/county/01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    stockholm = row_of(html, "Stockholm")
    assert "badge-amber" in stockholm and "10.0 d" in stockholm and "Stock 1,000" in stockholm
    vasby = row_of(html, "Upplands Väsby")
    assert "badge-green" in vasby and "30.0 d" in vasby
    assert "Region Stockholm" in html
    assert "Göteborg" not in html
    # The county total sums the figures: 4,000 in stock at 200 a day is 20 days.
    assert "20.0 d" in row_of(html, "Stockholms län in all")


def test_the_county_overview_lists_who_has_not_reported_for_the_latest_due_period(client, auth, users, reported):
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get("/need/overview/county/01").get_data(as_text=True)
    missing = html[html.index('id="missing-heading"'):]
    expected = db.session.scalar(
        select(func.count()).select_from(Organisation).where(
            Organisation.county_code == "01", reporting.reporting_organisations_filter()
        )
    )
    assert f"{expected - 2} organisations have not reported" in missing
    assert ">Region Stockholm</a>" in missing and ">Vallentuna</a>" in missing
    assert ">Stockholm</a>" not in missing and ">Upplands Väsby</a>" not in missing
    assert f"2 of {expected}" in row_of(html, "Stockholms län in all")


def test_a_county_outside_the_county_coordinators_county_is_not_found(client, auth, users, reported):
    login_as(auth, users, "county_coordinator", "LST-01")
    assert client.get("/need/overview/county/14").status_code == 404
    assert client.get(f"/need/overview/organisation/{organisation('1480').id}").status_code == 404
    assert client.get("/need/overview/county/99").status_code == 404


def test_the_national_overview_is_only_for_national_users_others_go_to_their_own(client, auth, users):
    login_as(auth, users, "county_coordinator", "LST-01")
    response = client.get("/need/overview/national")
    assert response.status_code == 302 and response.headers["Location"].endswith("/need/overview")


def test_a_municipality_sees_its_own_page_not_its_county(client, auth, users, reported):
    login_as(auth, users, "reporter", "0114")
    response = client.get("/need/overview/county/01")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/need/overview/organisation/{organisation('0114').id}")
    assert client.get("/need/overview/county/14").status_code == 404
    assert client.get(f"/need/overview/organisation/{organisation('0180').id}").status_code == 404


def test_the_national_coordinator_sees_every_county_and_drills_down_to_the_same_numbers(client, auth, users, reported):
    login_as(auth, users, "national_coordinator", "SOS")
    html = client.get("/need/overview/national").get_data(as_text=True)
    assert html.count('<th scope="row">') >= 2 * 21
    stockholm_county = row_of(html, "Stockholms län")
    assert "20.0 d" in stockholm_county and "badge-green" in stockholm_county
    assert "Stock 4,000" in stockholm_county
    vastra_gotaland = row_of(html, "Västra Götalands län")
    assert "1.0 d" in vastra_gotaland and "badge-red" in vastra_gotaland
    assert "Not reported" in row_of(html, "Uppsala län")
    assert "Not reported" in row_of(html, "Region Stockholm")
    county_html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert "20.0 d" in row_of(county_html, "Stockholms län in all")
    assert "10.0 d" in row_of(county_html, "Stockholm")


def test_the_auditor_in_the_government_offices_reads_the_national_overview(client, auth, users, reported):
    login_as(auth, users, "auditor", "RK-S")
    assert client.get("/need/overview/national").status_code == 200


def test_the_national_overview_counts_who_reported_per_county(session, users, reported):
    ctx = overviews.context(session, multiplier=Decimal(1), now=utcnow(), locale="en")
    result = overviews.national_overview(session, ctx)
    by_code = {row.key: row for row in result.counties.rows}
    assert len(by_code) == 21
    expected_01 = session.scalar(
        select(func.count()).select_from(Organisation).where(
            Organisation.county_code == "01", reporting.reporting_organisations_filter()
        )
    )
    assert by_code["01"].coverage == (2, expected_01)
    assert by_code["14"].coverage[0] == 1
    assert by_code["03"].coverage[0] == 0
    assert result.counties.total.coverage[0] == 3
    regions = {row.organisation.code: row for row in result.regions.rows}
    assert len(regions) == 21 and regions["REG-01"].reported is False


def test_a_region_appears_in_its_county_and_in_the_table_of_regions(session, users, previous_period):
    submit(session, users, previous_period, "REG-01", stock=7000, consumption=7000, now=during(previous_period))
    ctx = overviews.context(session, multiplier=Decimal(1), now=utcnow(), locale="en")
    result = overviews.national_overview(session, ctx)
    category = ctx.categories[0].id
    region = next(row for row in result.regions.rows if row.organisation.code == "REG-01")
    county = next(row for row in result.counties.rows if row.key == "01")
    assert region.cells[category].days == Decimal("7.0") and region.reported is True
    assert county.cells[category].figures.stock == 7000
    assert result.regions.total.cells[category].figures.stock == 7000


# --- product view -------------------------------------------------------------------------------------------

def test_the_product_view_sums_each_county_by_branch(client, auth, session, users, reported):
    at = during(reported)
    submit(session, users, reported, "0180", stock=500, consumption=70, branch="lss", now=at)
    category = reported.categories[0]
    ctx = overviews.context(session, multiplier=Decimal(1), now=utcnow(), locale="en")
    national = users.make("national_coordinator", "SOS")
    result = overviews.category_overview(session, national, category, ctx)
    stockholm = next(row for row in result.table.rows if row.key == "01")
    assert stockholm.cells["healthcare"].figures.stock == 4000
    assert stockholm.cells["lss"].figures.stock == 500
    assert stockholm.cells[overviews.TOTAL].figures.stock == 4500
    assert stockholm.cells[overviews.TOTAL].figures.consumption_7d == 1470
    assert result.table.total.cells[overviews.TOTAL].figures.stock == 4600  # with Göteborg's 100
    assert stockholm.cells["social_services"].status is SupplyStatus.UNKNOWN

    auth.login(national)
    html = client.get(f"/need/overview/category/{category.id}").get_data(as_text=True)
    assert "Stock 4,500" in row_of(html, "Stockholms län")


def test_the_county_product_view_shows_the_countys_organisations_only(client, auth, users, reported):
    category = reported.categories[0]
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get(f"/need/overview/category/{category.id}").get_data(as_text=True)
    assert "Stock 1,000" in row_of(html, "Stockholm") and "Stock 3,000" in row_of(html, "Upplands Väsby")
    assert "Göteborg" not in html
    assert "Stock 4,000" in row_of(html, "In all")


def test_a_municipalitys_product_view_shows_only_itself(client, auth, users, reported):
    category = reported.categories[0]
    login_as(auth, users, "reporter", "0180")
    html = client.get(f"/need/overview/category/{category.id}").get_data(as_text=True)
    assert "Stock 1,000" in row_of(html, "Stockholm")
    assert "Upplands Väsby" not in html and "Göteborg" not in html
    assert client.get("/need/overview/category/999999").status_code == 404


# --- scenario -----------------------------------------------------------------------------------------------

def test_a_scenario_multiplier_of_two_halves_days_of_supply(client, auth, users, reported):
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get("/need/overview/county/01?scenario=2").get_data(as_text=True)
    stockholm = row_of(html, "Stockholm")
    assert "5.0 d" in stockholm and "badge-red" in stockholm
    assert "15.0 d" in row_of(html, "Upplands Väsby")
    assert "Scenario: consumption × 2." in html
    # Drill-down links keep the scenario.
    assert f"/need/overview/organisation/{organisation('0180').id}?scenario=2" in html


def test_an_invalid_scenario_shows_an_error_beside_the_field_and_the_default_is_used(client, auth, users, reported):
    login_as(auth, users, "county_coordinator", "LST-01")
    for value, message in (("abc", "Enter a number such as 1.5."), ("11", "Enter a multiplier from 0.1 to 10."),
                           ("0", "Enter a multiplier from 0.1 to 10.")):
        response = client.get(f"/need/overview/county/01?scenario={value}")
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert f'<p class="error" id="scenario-error">{message}</p>' in html
        assert "10.0 d" in row_of(html, "Stockholm")


def test_the_multiplier_accepts_a_decimal_comma_and_refuses_what_is_not_a_number():
    assert overviews.parse_multiplier("1,5") == (Decimal("1.5"), None)
    assert overviews.parse_multiplier("2.0") == (Decimal(2), None)
    assert overviews.parse_multiplier("") == (Decimal(1), None)
    for bad in ("NaN", "Infinity", "1e999", "0.09", "-1", "1.5.2"):
        value, error = overviews.parse_multiplier(bad)
        assert value == Decimal(1) and error, bad


# --- one organisation: forecast and trend ------------------------------------------------------------------

@pytest.fixture
def history(session, users, previous_period, period):
    """Stockholm (0180) used 700 a week, then 1,400; stock fell from 2,000 to 1,400 (healthcare)."""
    submit(session, users, previous_period, "0180", stock=2000, consumption=700, now=during(previous_period))
    submit(session, users, period, "0180", stock=1400, consumption=1400, now=utcnow())
    return period


def test_the_organisation_page_shows_current_figures_and_the_projected_stock_out_date(client, auth, users, history):
    login_as(auth, users, "county_coordinator", "LST-01")
    stockholm = organisation("0180")
    ctx = overviews.context(db.session, multiplier=Decimal(1), now=utcnow(), locale="en")
    result = overviews.organisation_overview(db.session, stockholm, ctx, now=utcnow(), tz=STOCKHOLM)
    first = result.rows[0]
    assert first.branch is not None and first.supply.figures.stock == 1400 and first.supply.days == Decimal("7.0")
    assert first.stockout_on is not None and first.stockout_on <= utcnow().astimezone(STOCKHOLM).date() + timedelta(days=8)

    html = client.get(f"/need/overview/organisation/{stockholm.id}").get_data(as_text=True)
    assert f'<time datetime="{first.stockout_on.isoformat()}">' in html
    assert f"?organisation={stockholm.id}" in html  # the reports and their history
    assert f"/need/overview/organisation/{stockholm.id}/trend/{ctx.categories[0].id}.svg" in html


def test_the_scenario_brings_the_stock_out_forward(session, users, history):
    stockholm = organisation("0180")
    dates = []
    for multiplier in (Decimal(1), Decimal("1.5")):
        ctx = overviews.context(session, multiplier=multiplier, now=utcnow(), locale="en")
        rows = overviews.organisation_overview(session, stockholm, ctx, now=utcnow(), tz=STOCKHOLM).rows
        dates.append(rows[0].stockout_on)
    assert dates[1] < dates[0]


def test_an_organisation_that_does_not_report_has_a_page_saying_so(client, auth, users):
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get(f"/need/overview/organisation/{organisation('LST-01').id}").get_data(as_text=True)
    assert "does not submit situation reports" in html


def test_the_trend_chart_is_an_svg_with_one_point_per_reported_period(client, auth, users, history):
    import xml.etree.ElementTree as ET

    login_as(auth, users, "county_coordinator", "LST-01")
    stockholm = organisation("0180")
    category = history.categories[0]
    response = client.get(f"/need/overview/organisation/{stockholm.id}/trend/{category.id}.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = ET.fromstring(response.data)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    stock = svg.find("svg:g[@data-series='stock']", ns)
    assert len(stock.findall("svg:circle", ns)) == 2
    assert "Stockholm" in svg.find("svg:title", ns).text
    assert "1,400" in ET.tostring(stock, encoding="unicode")


def test_the_trend_chart_of_an_organisation_outside_the_scope_is_not_found(client, auth, users, history):
    login_as(auth, users, "county_coordinator", "LST-14")
    category = history.categories[0]
    assert client.get(f"/need/overview/organisation/{organisation('0180').id}/trend/{category.id}.svg").status_code == 404


def test_history_counts_only_the_latest_version_of_each_report(session, users, previous_period):
    at = during(previous_period)
    submit(session, users, previous_period, "0180", stock=1000, consumption=700, now=at)
    submit(session, users, previous_period, "0180", stock=500, consumption=700, now=at + timedelta(minutes=5))
    category = previous_period.categories[0]
    points = overviews.trend_points(session, organisation("0180"), category, now=utcnow(), tz=STOCKHOLM)
    assert [(p.stock, p.consumption_7d, p.days_of_supply) for p in points] == [(500, 700, Decimal("5.0"))]


# --- scale --------------------------------------------------------------------------------------------------

def _queries_for(client, url) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])


@pytest.mark.parametrize(
    ("url", "most"),
    # Including the layout's own: the user and their roles, and the unread notices.
    [("/need/overview/national", 10), ("/need/overview/county/01", 12), ("/need/overview/category/{category}", 10)],
)
def test_an_overview_costs_a_few_queries_whatever_the_number_of_reports(
    client, auth, users, previous_period, url, most
):
    login_as(auth, users, "national_coordinator", "SOS")
    url = url.format(category=previous_period.categories[0].id)
    at = during(previous_period)
    submit(db.session, users, previous_period, "0180", now=at)
    few = _queries_for(client, url)
    for code in ("0114", "0115", "0117", "0120", "REG-01", "1480", "1280", "0380"):
        submit(db.session, users, previous_period, code, now=at)
    many = _queries_for(client, url)
    assert many == few
    assert many <= most


def test_the_queries_read_the_current_state_not_the_report_history(client, auth, users, reported):
    login_as(auth, users, "national_coordinator", "SOS")
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/need/overview/national")
        client.get("/need/overview/county/01")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert any("current_needs" in s for s in statements)
    assert not any("situation_report_lines" in s for s in statements)
