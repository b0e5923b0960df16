"""Issue 5's acceptance in a real browser: a joint purchase from a county's registered need becomes a purchase
order, a second officer approves it, its PDF downloads, it is sent and confirmed, a partial delivery is received
with lot and expiry, inspected by someone else and released, and the national stock page shows it available.

Only the starting point is seeded through the services (situation reports of three municipalities in Västmanlands
län, a county no other browser test reports in, and a supplier vetted and approved with a verified certificate); everything else goes through the pages.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from allocation import reporting
from allocation.models import Channel
from app.auth.models import User
from app.catalog.models import Product
from app.db import utcnow
from app.extensions import db
from app.stock import ledger
from app.stock import services as stock_services
from app.stock.models import StockState
from orders import services_joint
from orders.models import JointPurchase
from suppliers import identifiers
from suppliers import services as registry
from suppliers import services_certificates as certificates
from suppliers.demo import minimal_pdf
from suppliers.models import VettingCheckItem, VettingStatus
from tests.browser.pages import english, flash, log_in, log_out, menu

pytestmark = pytest.mark.browser

OFFICER = "ingrid@procurement.browser.test"
LEAD = "ivar@procurement.browser.test"
# Three municipalities of Västmanlands län (kommunkod: name, respirators it states it needs); other browser
# tests read Stockholms län's figures, so this one stays out of it.
NEEDS = {"1980": ("Västerås", 12_000), "1983": ("Köping", 8_000), "1984": ("Arboga", 20_000)}
COUNTY = "19"
SUPPLIER = "Roslagens Andningsskydd AB"
SUPPLIER_FIRST_NINE = "559318204"
MODEL = "Roslagen FFP2 NR 410"
CERTIFICATE = "2797/PPE/26/9001"
PRODUCT_SKU = "FFP2-FOLD"
PRODUCT = "FFP2-FOLD – Respirator FFP2, fold-flat, without valve"
UNIT_PRICE = "6.50"
RECEIVED = 15_000
LOT = "RAS-2611-0042"


@dataclass(frozen=True)
class Seeded:
    today: date
    county_need: int  # the registered need of every municipality of the county, ours and any others'
    available_before: int  # FFP2-FOLD available in national stock before the test


def _report_needs(session, tz: ZoneInfo) -> None:
    """Each municipality's reporter states its need of respirators (and none of anything else)."""
    now = utcnow()
    reporting.open_periods(session, now=now, tz=tz)
    period = reporting.current_period(session, now)
    for code, (_name, need) in NEEDS.items():
        reporter = session.scalar(select(User).where(User.email == f"rapportor.{code}@procurement.browser.test"))
        lines = [
            reporting.LineInput(
                category=category.code,
                stock=2_000,
                consumption_7d=1_400,
                expected_14d=0,
                stated_need=need if category.code == "respirators" else 0,
                justification="Vård- och omsorgsboenden",
            )
            for category in period.categories
        ]
        reporting.submit_report(
            session,
            organisation=reporter.organisation,
            period=period,
            branch="social_services",
            lines=lines,
            channel=Channel.FORM,
            user=reporter,
            confirm_spikes=True,
        )


def _approved_supplier(session, lead: User, today: date) -> None:
    """A Swedish maker registered, vetted with the whole checklist and approved, with a verified EU
    type-examination certificate for its FFP2 model: what the inspector checks the delivery against."""
    number = identifiers.normalise_organisation_number(
        SUPPLIER_FIRST_NINE + str(identifiers.luhn_check_digit(SUPPLIER_FIRST_NINE))
    )
    supplier = registry.create_supplier(
        session,
        lead,
        registry.SupplierData(
            legal_name=SUPPLIER,
            country=identifiers.SWEDEN,
            kind="manufacturer",
            organisation_number=number,
            vat_number=identifiers.swedish_vat_number(number),
            produces_in_sweden=True,
        ),
    )
    for item in VettingCheckItem:
        registry.record_check(session, lead, supplier, item.value, done=True, note="Checked for the browser test.")
    registry.decide_vetting(session, lead, supplier, VettingStatus.UNDER_REVIEW.value, "Vetting started.")
    registry.decide_vetting(session, lead, supplier, VettingStatus.APPROVED.value, "Every check passed.")
    product = session.scalar(select(Product).where(Product.sku == PRODUCT_SKU))
    model = certificates.add_supplier_product(
        session, lead, supplier, certificates.SupplierProductData(product.id, MODEL)
    )
    certificate = certificates.add_certificate(
        session,
        lead,
        model,
        certificates.CertificateData(
            kind="eu_type_examination",
            standard="EN 149:2001+A1:2009",
            standard_class="FFP2 NR",
            ce_marked=True,
            notified_body_number="2797",
            certificate_number=CERTIFICATE,
            issued_by="BSI Group The Netherlands B.V.",
            valid_from=today - timedelta(days=200),
            valid_until=today + timedelta(days=1_500),
        ),
        certificates.Upload(io.BytesIO(minimal_pdf(f"EU type-examination {CERTIFICATE}")), "typintyg.pdf", "Typintyg"),
    )
    certificates.record_verification(session, lead, certificate, "verified", "Checked in NANDO.")


def seed(live_server) -> Seeded:
    """Users, situation reports, the approved supplier and the warehouses; committed for the live server."""
    app = live_server.app
    live_server.user(["purchasing_officer"], "SOS", email=OFFICER, name="Ingrid Inköpare")
    live_server.user(["purchasing_lead"], "SOS", email=LEAD, name="Ivar Inköpschef")
    for code in NEEDS:
        live_server.user(
            ["reporter"], code, email=f"rapportor.{code}@procurement.browser.test", name=f"Rapportör {code}"
        )
    tz = ZoneInfo(app.config["SAMORDNA_TIMEZONE"])
    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        today = utcnow().astimezone(tz).date()
        ledger.ensure_warehouses(session)
        _report_needs(session, tz)
        lead = session.scalar(select(User).where(User.email == LEAD))
        _approved_supplier(session, lead, today)
        session.commit()
        # Other browser tests may have reported for the county too: the draft takes every current need.
        municipalities = services_joint.recipient_organisations(
            session, services_joint.Recipients.COUNTY_MUNICIPALITIES.value, county_code=COUNTY
        )
        category = next(c for c in reporting.current_period(session, utcnow()).categories if c.code == "respirators")
        rows = services_joint.read_need(session, category=category, organisations=municipalities)
        product = session.scalar(select(Product).where(Product.sku == PRODUCT_SKU))
        available = ledger.total(session, product=product, state=StockState.AVAILABLE,
                                 location_ids=stock_services.national_location_ids(session))
        seeded = Seeded(today, sum(row.need or 0 for row in rows), available)
        db.session.remove()
    return seeded


def joint_purchase_total(live_server, reference: str) -> int:
    with live_server.app.app_context():
        purchase = db.session.scalar(select(JointPurchase).where(JointPurchase.reference == reference))
        total = services_joint.total_quantity(purchase)
        db.session.remove()
    return total


def test_a_joint_purchase_from_a_countys_need_is_ordered_approved_received_inspected_and_shows_as_national_stock(
    page, live_server
):
    seeded = seed(live_server)
    assert seeded.county_need >= sum(need for _name, need in NEEDS.values())

    # The agency's officer starts a joint purchase of respirators for the municipalities of Västmanlands län.
    log_in(page, OFFICER, live_server.password)
    menu(page).get_by_role("link", name="Joint purchases").click()
    expect(page).to_have_url(re.compile(r"/orders/joint/$"))
    page.get_by_role("link", name="Start a joint purchase").click()
    page.get_by_label("Title", exact=True).fill("FFP2 för Västmanlands läns kommuner")
    page.get_by_label("Product category", exact=True).select_option(label="Respirators (FFP2/FFP3)")
    page.get_by_label("Catalogue product (optional)").select_option(label=PRODUCT)
    page.get_by_label("The municipalities of a county").check()
    page.get_by_label("County", exact=True).select_option(COUNTY)
    page.get_by_label("From the registered need (each participant's current stated need)").check()
    page.get_by_label("By quantity taken").check()

    # The registered need first: each of the three municipalities with its figure.
    page.get_by_role("button", name="Show the registered need").click()
    preview = page.locator("section", has=page.get_by_role("heading", name="Registered need now"))
    expect(preview).to_be_visible()
    for name, need in NEEDS.values():
        row = preview.locator("tbody tr").filter(has=page.get_by_role("cell", name=f"{name} kommun", exact=True))
        expect(row).to_contain_text(english(need))
    expect(preview.locator("tfoot")).to_contain_text(english(seeded.county_need))
    page.screenshot(path="/tmp/procurement-flow-need.png", full_page=True)

    page.get_by_role("button", name="Create the draft").click()
    expect(page).to_have_url(re.compile(r"/orders/joint/\d+$"))
    expect(flash(page)).to_contain_text("is a draft with")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"SI-\d{4}-\d{4}"))
    reference = re.search(r"SI-\d{4}-\d{4}", heading.inner_text()).group(0)
    total = joint_purchase_total(live_server, reference)
    assert total == seeded.county_need
    participants = page.locator("section", has=page.get_by_role("heading", name="Participants"))
    expect(participants.locator("tfoot")).to_contain_text(english(total))

    # The purchase order from it: the approved supplier, delivered to a national warehouse in two weeks.
    page.get_by_role("link", name="Create the purchase order").click()
    page.get_by_label("Supplier (approved)").select_option(label=SUPPLIER)
    page.get_by_label("Unit price", exact=True).fill(UNIT_PRICE)
    page.get_by_label("Currency", exact=True).select_option("SEK")
    page.get_by_label("To a national warehouse").check()
    page.get_by_label("National warehouse", exact=True).select_option(label="Nationellt lager Mitt")
    page.get_by_label("Delivery date", exact=True).fill((seeded.today + timedelta(days=14)).isoformat())
    page.get_by_label("Incoterms 2020", exact=True).select_option("DAP")
    page.get_by_label("Incoterms place", exact=True).fill("Nationellt lager Mitt")
    page.get_by_label("Payment terms", exact=True).fill("30 dagar netto")
    page.get_by_role("button", name="Create the purchase order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(flash(page)).to_contain_text(f"is drafted for {reference}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"PO-\d{4}-\d{5}"))
    number = re.search(r"PO-\d{4}-\d{5}", heading.inner_text()).group(0)
    order_url = page.url
    expect(page.get_by_text(f"{reference} FFP2 för Västmanlands läns kommuner")).to_be_visible()
    lines = page.locator("table.list", has=page.locator("caption", has_text="Lines"))
    expect(lines.locator("tbody tr").first).to_contain_text(english(total))

    page.get_by_role("button", name="Submit for approval").click()
    expect(flash(page)).to_have_text("The order is submitted for approval.")
    expect(heading).to_contain_text("Submitted for approval")
    # Four eyes: the officer who submitted it is not offered the approval.
    expect(page.get_by_role("button", name="Approve the order")).to_have_count(0)
    log_out(page)

    # A second officer, the purchasing lead, approves it.
    log_in(page, LEAD, live_server.password)
    page.goto(order_url)
    page.get_by_role("button", name="Approve the order").click()
    expect(flash(page)).to_have_text("The order is approved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approved")

    # The PDF purchase order downloads.
    pdf_link = page.get_by_role("link", name="Purchase order (PDF)")
    response = page.request.get(pdf_link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert number in response.headers.get("content-disposition", "")
    log_out(page)

    # The officer sends it and records the supplier's confirmation.
    log_in(page, OFFICER, live_server.password)
    page.goto(order_url)
    page.get_by_role("button", name="Mark as sent to the supplier").click()
    expect(flash(page)).to_have_text("The order is marked as sent to the supplier.")
    page.get_by_label("The supplier's reference (order confirmation)").fill("RAS-OC-2611-77")
    page.get_by_role("button", name="Record the confirmation").click()
    expect(flash(page)).to_have_text("The supplier's confirmation is recorded.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirmed by supplier")

    # A partial delivery arrives: the officer receives it with its lot and expiry date.
    menu(page).get_by_role("link", name="Goods receipt").click()
    page.get_by_role("navigation", name="Goods receipt sections").get_by_role(
        "link", name="Expected deliveries"
    ).click()
    expected = page.locator("table.list tbody tr").filter(has=page.get_by_role("link", name=number))
    expect(expected).to_have_count(1)
    expected.get_by_role("link", name="Receive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receive goods")
    page.get_by_label("Quantity received (units)").fill(str(RECEIVED))
    page.get_by_label("Lot or batch number", exact=True).fill(LOT)
    expiry = seeded.today.replace(year=seeded.today.year + 5, day=1)
    page.get_by_label("Expiry date", exact=True).fill(expiry.isoformat())
    page.get_by_label("Manufacture date", exact=True).fill((seeded.today - timedelta(days=20)).isoformat())
    page.get_by_label("Condition on arrival").select_option("good")
    page.get_by_role("button", name="Receive into quarantine").click()

    expect(page).to_have_url(re.compile(r"/orders/receipts/\d+$"))
    # The notice may or may not group the digits (15000 or 15,000); the receipt page below does.
    expect(flash(page)).to_contain_text(re.compile(rf"GR-\d{{4}}-\d{{5}} received: {english(RECEIVED).replace(',', ',?')} units in quarantine"))
    receipt_url = page.url
    arrived = page.locator("section", has=page.get_by_role("heading", name="What arrived"))
    expect(arrived).to_contain_text(LOT)
    expect(arrived).to_contain_text(expiry.isoformat())
    expect(arrived).to_contain_text(english(total - RECEIVED))  # the backorder
    expect(page.get_by_role("heading", level=1)).to_contain_text("In quarantine, awaiting inspection")
    page.screenshot(path="/tmp/procurement-flow-received.png", full_page=True)
    log_out(page)

    # Someone other than the receiver inspects it against the verified certificate and releases it.
    log_in(page, LEAD, live_server.password)
    page.goto(receipt_url)
    inspection = page.locator("section", has=page.get_by_role("heading", name="Inspection"))
    expect(inspection.get_by_role("cell", name=CERTIFICATE)).to_be_visible()
    inspection.get_by_label(re.compile(r"^The documents and the marking")).check()
    certificate = inspection.get_by_label("Certificate checked against")
    certificate.select_option(certificate.locator("option", has_text=CERTIFICATE).get_attribute("value"))
    inspection.get_by_label("Passed", exact=True).check()
    inspection.get_by_label("Release: available for allocation").check()
    inspection.get_by_label("Inspection notes").fill("Märkning, lot och CE 2797 stämmer; provpåsar godkända.")
    inspection.get_by_role("button", name="Record the inspection").click()
    expect(page).to_have_url(re.compile(r"/orders/receipts/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Released")

    # The national stock page shows the released units as available.
    menu(page).get_by_role("link", name="Stock", exact=True).click()
    expect(page).to_have_url(re.compile(r"/stock/"))
    table = page.locator("table.list").first
    headers = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    available = next(i for i, text in enumerate(headers) if text.startswith("Available"))
    quarantine = next(i for i, text in enumerate(headers) if text.startswith("Quarantine"))
    row = table.locator("tbody tr").filter(has=page.get_by_role("cell", name=PRODUCT_SKU, exact=True))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(available)).to_have_text(english(seeded.available_before + RECEIVED))
    expect(row.locator("td").nth(quarantine)).to_have_text("0")
    page.screenshot(path="/tmp/procurement-flow-stock.png", full_page=True)
