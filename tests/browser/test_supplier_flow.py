"""A production team user registers a Swedish manufacturer, documents its respirator and sees its output
in the national capacity chart, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from suppliers.capacity import iso_week_label
from suppliers.demo import minimal_pdf
from suppliers.identifiers import luhn_check_digit
from suppliers.models import Supplier
from tests.browser.pages import log_in

pytestmark = pytest.mark.browser

SUPPLIER = "Skövde Andningsskydd AB"
FIRST_NINE = "559271843"
VALID_NUMBER = f"{FIRST_NINE[:6]}-{FIRST_NINE[6:]}{luhn_check_digit(FIRST_NINE)}"  # 559271-8430
WRONG_CHECK_DIGIT = f"{FIRST_NINE[:6]}-{FIRST_NINE[6:]}{(luhn_check_digit(FIRST_NINE) + 1) % 10}"
PRODUCT = "FFP2-FOLD – Respirator FFP2, fold-flat, without valve"
MODEL = "Skaraborg FFP2 NR 300"
UNITS = 48_250
UNITS_TEXT = "48,250"  # English grouping


def suppliers_named(live_server, name: str) -> int:
    with live_server.app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Supplier).where(Supplier.legal_name == name)
        )
        db.session.remove()
    return count


def test_the_production_team_registers_a_supplier_uploads_its_certificate_and_sees_its_output_in_the_capacity_chart(
    page, live_server
):
    today = utcnow().astimezone(ZoneInfo(live_server.app.config["SAMORDNA_TIMEZONE"])).date()
    this_week = iso_week_label(today)
    live_server.user(
        ["production_team"], "SOS", email="produktion@suppliers.browser.test", name="Pia Produktion"
    )
    log_in(page, "produktion@suppliers.browser.test", live_server.password)
    menu = page.get_by_role("navigation", name="Main navigation")

    # An organisationsnummer whose check digit is wrong is refused beside the field, and nothing is saved.
    menu.get_by_role("link", name="Suppliers", exact=True).click()
    page.get_by_role("link", name="Register a supplier").click()
    page.get_by_label("Legal name").fill(SUPPLIER)
    page.get_by_label("Organisationsnummer").fill(WRONG_CHECK_DIGIT)
    page.get_by_label("Kind of supplier").select_option("manufacturer")
    page.get_by_label("Produces in Sweden").check()
    page.get_by_role("button", name="Register the supplier").click()

    number = page.get_by_label("Organisationsnummer")
    error = page.locator("#organisation_number-error")
    expect(error).to_have_text(
        f"{WRONG_CHECK_DIGIT} is not a valid organisationsnummer: the check digit does not match."
    )
    expect(error).to_be_visible()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_attribute("aria-describedby", re.compile(r"\borganisation_number-error\b"))
    expect(page.locator(".field.has-error", has=number)).to_contain_text("the check digit does not match")
    expect(page.get_by_label("Legal name")).to_have_value(SUPPLIER)
    assert suppliers_named(live_server, SUPPLIER) == 0
    page.screenshot(path="/tmp/supplier-flow-refused.png", full_page=True)

    # With the right check digit the supplier is registered (the VAT number is not required).
    number.fill(VALID_NUMBER)
    page.get_by_role("button", name="Register the supplier").click()
    expect(page).to_have_url(re.compile(r"/suppliers/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text(f"{SUPPLIER} is registered")
    expect(page.get_by_role("heading", level=1)).to_contain_text(VALID_NUMBER)

    # A model of a catalogue respirator, and its EU type-examination certificate with the PDF.
    tabs = page.get_by_role("navigation", name="Supplier sections")
    tabs.get_by_role("link", name="Products and certificates").click()
    page.get_by_role("link", name="Add a product model").click()
    page.get_by_label("Catalogue product").select_option(label=PRODUCT)
    page.get_by_label("Model name").fill(MODEL)
    page.get_by_role("button", name="Add the model").click()
    expect(page.locator(".flash-success")).to_contain_text(f"The model {MODEL} is added.")
    model = page.locator("section.model", has=page.get_by_role("heading", name=MODEL))
    model.get_by_role("link", name="Add a certificate").click()

    page.get_by_label("Kind of certificate").select_option("eu_type_examination")
    page.get_by_label("Standard and class").select_option(label="EN 149:2001+A1:2009 – FFP2 NR")
    page.get_by_label("CE marked").check()
    page.get_by_label("Notified body number").fill("2797")
    page.get_by_label("Certificate number").fill("2797/PPE/26/4711")
    page.get_by_label("Issued by").fill("BSI Group The Netherlands B.V.")
    page.get_by_label("Valid from").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Valid until").fill((today + timedelta(days=4 * 365)).isoformat())
    pdf = minimal_pdf("EU type-examination certificate 2797/PPE/26/4711")
    page.get_by_label("File (PDF, PNG or JPEG)").set_input_files(
        {"name": "typintyg-ffp2.pdf", "mimeType": "application/pdf", "buffer": pdf}
    )
    page.get_by_label("Title of the document").fill("EU type-examination certificate")
    page.get_by_role("button", name="Add the certificate").click()

    expect(page).to_have_url(re.compile(r"/suppliers/certificates/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text("The certificate is recorded.")
    document = page.locator("ul.documents").get_by_role("link", name="EU type-examination certificate")
    expect(document).to_have_count(1)
    expect(page.locator("ul.documents")).to_contain_text("typintyg-ffp2.pdf")
    download = page.request.get(document.get_attribute("href"))
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.body() == pdf
    page.screenshot(path="/tmp/supplier-flow-certificate.png", full_page=True)

    # A production project for the supplier, and this week's output.
    tabs.get_by_role("link", name="Production").click()
    page.get_by_role("link", name="New production project").click()
    expect(page.get_by_label("Supplier", exact=True)).to_have_value(re.compile(r"^\d+$"))
    page.get_by_label("Product", exact=True).select_option(
        label="FFP2-FOLD Respirator FFP2, fold-flat, without valve"
    )
    page.get_by_label("Project name").fill("FFP2 respirators from Skövde")
    page.get_by_label("Production site").fill("Skövde")
    page.get_by_label("Stage now").select_option("ramp_up")
    page.get_by_role("button", name="Register the project").click()
    expect(page).to_have_url(re.compile(r"/suppliers/production/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("FFP2 respirators from Skövde")

    output = page.locator("form", has=page.get_by_role("button", name="Record the output"))
    output.get_by_label("Week", exact=True).fill(this_week)
    output.get_by_label("Units made").fill(str(UNITS))
    output.get_by_role("button", name="Record the output").click()
    expect(page.locator(".flash-success")).to_contain_text("The week's output is recorded.")
    expect(page.locator("#capacity table.list tbody tr").filter(has_text=this_week)).to_contain_text(
        UNITS_TEXT
    )

    # The national capacity chart shows the week's output as a bar with the figure in its title.
    menu.get_by_role("link", name="Domestic production").click()
    page.get_by_role("link", name="National capacity overview").click()
    expect(page).to_have_url(re.compile(r"/suppliers/production/capacity$"))
    expect(menu.locator('[aria-current="page"]')).to_have_text("Domestic production")
    chart = page.locator("#category-respirators svg")
    expect(chart).to_have_count(1)
    bar = chart.locator(f'g[data-series="actual"] rect[data-week="{this_week}"]')
    expect(bar).to_have_count(1)
    expect(bar.locator("title")).to_have_text(re.compile(rf"^W\d+: Actual {UNITS_TEXT}$"))
    svg = chart.evaluate("svg => svg.outerHTML")
    assert f"Actual {UNITS_TEXT}" in svg
    page.screenshot(path="/tmp/supplier-flow-capacity.png", full_page=True)
