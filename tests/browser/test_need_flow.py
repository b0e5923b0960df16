"""A municipality's report reaches its county coordinator's overview and the national drill-down, in a browser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from allocation import need, reporting
from app.db import utcnow
from app.extensions import db
from tests.browser.pages import log_in, log_out

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp")
STOCK = 300
CONSUMPTION_7D = 700  # 100 a day: 300 in stock lasts 3.0 days, under the red threshold
EXPECTED_14D = 0
DAYS_TEXT = "3.0 d"


@dataclass(frozen=True)
class OpenPeriod:
    id: int
    horizon_days: int
    category_codes: list[str]


def open_current_period(live_server) -> OpenPeriod:
    """Open the reporting periods on the live server's database, as the scheduled job does, and commit."""
    app = live_server.app
    with app.app_context():
        db.session.info["actor"] = "test-setup"
        now = utcnow()
        reporting.open_periods(db.session, now=now, tz=ZoneInfo(app.config["SAMORDNA_TIMEZONE"]))
        db.session.commit()
        period = reporting.current_period(db.session, now)
        opened = OpenPeriod(period.id, period.horizon_days, [c.code for c in period.categories])
        db.session.remove()
    return opened


def test_a_municipality_report_shows_red_in_its_county_overview_and_the_same_figures_in_the_national_drill_down(
    page, live_server
):
    period = open_current_period(live_server)
    assert period.category_codes, "the period asks for no categories"
    live_server.user(["reporter"], "0180", email="rapportor@needflow.browser.test", name="Rut Rapportör")
    live_server.user(
        ["county_coordinator"], "LST-01", email="lan@needflow.browser.test", name="Lars Länssamordnare"
    )
    live_server.user(
        ["national_coordinator"], "SOS", email="nationell@needflow.browser.test", name="Nora Nationell"
    )
    stated_need = need.computed_need(STOCK, CONSUMPTION_7D, EXPECTED_14D, horizon_days=period.horizon_days)

    # The reporter in Stockholm chooses the period and branch, then fills in every category.
    log_in(page, "rapportor@needflow.browser.test", live_server.password)
    page.goto("/need/reports/new")
    page.get_by_label("Reporting period").select_option(str(period.id))
    page.get_by_label("Branch of activity").select_option("social_services")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Submit the report")).to_be_visible()
    for code in period.category_codes:
        page.locator(f'[name="lines-{code}-stock"]').fill(str(STOCK))
        page.locator(f'[name="lines-{code}-consumption_7d"]').fill(str(CONSUMPTION_7D))
        page.locator(f'[name="lines-{code}-expected_14d"]').fill(str(EXPECTED_14D))
        page.locator(f'[name="lines-{code}-stated_need"]').fill(str(stated_need))
    page.get_by_role("button", name="Submit the report").click()

    expect(page).to_have_url(re.compile(r"/need/reports/\d+$"))
    expect(page.locator(".flash-success")).to_have_text(re.compile(r"^Report submitted \(version 1\)\."))
    page.screenshot(path=SCREENSHOTS / "need-flow-reporter.png", full_page=True)
    log_out(page)

    # The coordinator of Stockholms län sees Stockholm in red, and no municipality of another county.
    log_in(page, "lan@needflow.browser.test", live_server.password)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/need/overview/county/01$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Registered need in Stockholms län")
    table = page.locator("table.list").first
    stockholm = table.locator("tbody tr").filter(has=page.get_by_role("link", name="Stockholm", exact=True))
    expect(stockholm).to_have_count(1)
    red = stockholm.locator(".badge-red")
    expect(red).to_have_count(len(period.category_codes))
    expect(red.first).to_have_text(DAYS_TEXT)
    expect(stockholm.get_by_text(f"Stock {STOCK}", exact=True)).to_have_count(len(period.category_codes))
    expect(page.get_by_role("link", name="Göteborg", exact=True)).to_have_count(0)
    expect(page.get_by_text("Göteborg")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "need-flow-county.png", full_page=True)
    log_out(page)

    # The national coordinator drills down from Sweden to the county and to Stockholm: the same figures.
    log_in(page, "nationell@needflow.browser.test", live_server.password)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/need/overview/national$"))
    counties = page.locator("section", has=page.get_by_role("heading", name="Counties"))
    county_row = counties.locator("tbody tr").filter(has=page.get_by_role("link", name="Stockholms län"))
    expect(county_row.locator(".badge-red").first).to_have_text(DAYS_TEXT)
    county_row.get_by_role("link", name="Stockholms län").click()

    expect(page).to_have_url(re.compile(r"/need/overview/county/01$"))
    page.locator("table.list tbody").get_by_role("link", name="Stockholm", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Registered need: Stockholm")
    rows = page.locator("table.list tbody tr").filter(has=page.locator(".badge-red"))
    expect(rows.first).to_be_visible()
    first = rows.first.locator("td")
    expect(first.nth(1).locator(".badge-red")).to_have_text(DAYS_TEXT)
    expect(first.nth(2)).to_have_text(str(STOCK))
    expect(first.nth(3)).to_have_text(str(CONSUMPTION_7D))
    expect(first.nth(5)).to_have_text(f"{stated_need:,}")  # English grouping: 1,800
    expect(page.locator("table.list tbody td.num", has_text=re.compile(rf"^{STOCK}$")).first).to_be_visible()
    expect(page.locator(".badge-amber, .badge-green")).to_have_count(2)  # only the legend's two badges
    page.screenshot(path=SCREENSHOTS / "need-flow-national.png", full_page=True)
