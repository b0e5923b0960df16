"""A municipality reporter sees its own organisation in a real browser, and nobody else's."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import log_in

pytestmark = pytest.mark.browser


def test_a_municipality_reporter_opens_its_own_organisation_and_is_refused_another_municipality(
    page, live_server, tmp_path
):
    live_server.user(
        ["reporter"], "0180", email="rapportor@stockholm.browser.test", name="Rasmus Rapportör"
    )
    goteborg_id = live_server.organisation_id("1480")

    log_in(page, "rapportor@stockholm.browser.test", live_server.password)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Organisations").click()
    expect(page).to_have_url(re.compile(r"/organisations/"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Stockholm", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Stockholm")
    expect(page).to_have_title(re.compile(r"^Stockholm · Samordna$"))
    page.screenshot(path=tmp_path / "own-organisation.png", full_page=True)

    response = page.goto(f"/organisations/{goteborg_id}")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("There is no such page, or it is not available to you.")).to_be_visible()
    expect(page.get_by_text("Göteborg")).to_have_count(0)
    page.screenshot(path=tmp_path / "other-municipality.png", full_page=True)
