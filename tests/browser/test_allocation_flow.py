"""Issue 6's acceptance in a real browser: the national coordinator allocates released FFP2 respirators by days of
supply to a county's municipalities, checks the explained preview, decides, downloads the decision PDF and
dispatches a shipment; the municipality's recipient confirms a short delivery; the coordinator sees the
discrepancy to follow up, and the recipient's stock in the ledger grew by what it accepted, nothing more.

Only the starting point is seeded through the services (situation reports of three municipalities of
Västernorrlands län, released respirators in the southern national warehouse, the users); everything else goes
through the pages. Västernorrland keeps the other browser tests' reports (Stockholms län) out of the round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
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
from app.organisations.models import Organisation
from app.stock import ledger
from app.stock.models import StockLocation, StockState
from tests.browser.pages import column_index, english, flash, log_in, log_out, menu, number_in

pytestmark = pytest.mark.browser

COORDINATOR = "nora@allocation.browser.test"
RECIPIENT = "hanna@allocation.browser.test"
COUNTY = "22"  # Västernorrlands län
# kommunkod: (name, stock, consumption last 7 days, stated need) of respirators. Days of supply: 2, 10 and 15.
REPORTS = {
    "2280": ("Härnösand", 400, 1_400, 4_000),
    "2281": ("Sundsvall", 3_000, 2_100, 6_000),
    "2262": ("Timrå", 1_500, 700, 2_000),
}
SHORTEST = "2280"  # fewest days of supply: its recipient confirms the short delivery
DAYS_BEFORE = {"2280": "2.0", "2281": "10.0", "2262": "15.0"}
SKU = "FFP2-CUP"
PRODUCT = "FFP2-CUP – Respirator FFP2, cup-shaped, without valve"
WAREHOUSE = ("NL-SYD", "Nationellt lager Syd")
LOT = "BRW-ALLOC-2605-0017"
RELEASED = 6_000
SUPPLY = 4_000  # less than the 12,000 needed: the engine must choose
PACK = 20
MISSING = 120
CARRIER = "DB Schenker"
TRACKING = "SCH-4471-9902"
COMMENT = "Två kartonger saknades vid ankomst; följesedeln räknar dem."


@dataclass(frozen=True)
class Seeded:
    recipient_location_stock: int  # the recipient's available respirators in the ledger before the test


def _product(session) -> Product:
    return session.scalar(select(Product).where(Product.sku == SKU))


def _recipient_available(session) -> int:
    """The recipient organisation's available respirators in the ledger (its location may not exist yet)."""
    organisation = session.scalar(select(Organisation).where(Organisation.municipality_code == SHORTEST))
    location = session.scalar(select(StockLocation).where(StockLocation.organisation_id == organisation.id))
    if location is None:
        return 0
    return ledger.total(session, product=_product(session), state=StockState.AVAILABLE, location_ids=[location.id])


def _report(session, tz: ZoneInfo) -> None:
    """Each municipality's reporter states its respirators (and nothing needed of anything else)."""
    now = utcnow()
    reporting.open_periods(session, now=now, tz=tz)
    period = reporting.current_period(session, now)
    for code, (_name, stock, consumption, need) in REPORTS.items():
        reporter = session.scalar(select(User).where(User.email == f"rapportor.{code}@allocation.browser.test"))
        lines = [
            reporting.LineInput(
                category=category.code,
                stock=stock if category.code == "respirators" else 1_000,
                consumption_7d=consumption if category.code == "respirators" else 0,
                expected_14d=0,
                stated_need=need if category.code == "respirators" else 0,
                justification="Äldreomsorg och hemtjänst",
            )
            for category in period.categories
        ]
        reporting.submit_report(
            session, organisation=reporter.organisation, period=period, branch="social_services", lines=lines,
            channel=Channel.FORM, user=reporter, confirm_spikes=True,
        )


def _release(session, today) -> None:
    """Respirators received into quarantine at the southern warehouse and released after inspection."""
    ledger.ensure_warehouses(session)
    warehouse = ledger.location_by_code(session, WAREHOUSE[0])
    product = _product(session)
    lot = ledger.lot_for(session, product, LOT, expiry_on=today + timedelta(days=700),
                         manufactured_on=today - timedelta(days=30))
    ledger.receive(session, None, location=warehouse, product=product, quantity=RELEASED, lot=lot)
    ledger.release(session, None, location=warehouse, product=product, quantity=RELEASED, lot=lot)


def seed(live_server) -> Seeded:
    """The users, the situation reports and the released stock; committed for the live server."""
    app = live_server.app
    live_server.user(["national_coordinator"], "SOS", email=COORDINATOR, name="Nora Nationell")
    live_server.user(["recipient"], SHORTEST, email=RECIPIENT, name="Hanna Mottagare")
    for code in REPORTS:
        live_server.user(["reporter"], code, email=f"rapportor.{code}@allocation.browser.test", name=f"Rapportör {code}")
    tz = ZoneInfo(app.config["SAMORDNA_TIMEZONE"])
    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        _report(session, tz)
        _release(session, utcnow().astimezone(tz).date())
        session.commit()
        seeded = Seeded(_recipient_available(session))
        db.session.remove()
    return seeded


def recipient_available(live_server) -> int:
    with live_server.app.app_context():
        available = _recipient_available(db.session)
        db.session.remove()
    return available


def test_the_coordinator_allocates_respirators_by_days_of_supply_and_the_recipient_confirms_a_short_delivery(
    page, live_server
):
    seeded = seed(live_server)

    # The national coordinator opens a round: FFP2 from the southern warehouse to Västernorrland, by days of supply.
    log_in(page, COORDINATOR, live_server.password)
    menu(page).get_by_role("link", name="Allocation", exact=True).click()
    expect(page).to_have_url(re.compile(r"/need/rounds/$"))
    page.get_by_role("link", name="Open a round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open an allocation round")
    stock = page.locator("section", has=page.get_by_role("heading", name="Released stock in the national warehouses"))
    expect(stock.locator("tbody tr").filter(has_text=SKU)).to_contain_text(english(RELEASED))
    page.get_by_label("Title", exact=True).fill("FFP2 till Västernorrlands kommuner")
    page.get_by_label("National warehouse", exact=True).select_option(label=WAREHOUSE[1])
    page.get_by_label("Recipients", exact=True).select_option(label="One county's region and municipalities")
    page.get_by_label("County", exact=True).select_option(COUNTY)
    page.get_by_label("Policy", exact=True).select_option(label="Equal days of supply (max-min)")
    page.get_by_role("combobox", name="Product", exact=True).first.select_option(label=PRODUCT)
    page.get_by_role("textbox", name="Units to share out", exact=True).first.fill(str(SUPPLY))
    page.get_by_role("textbox", name="Pack size", exact=True).first.fill(str(PACK))
    page.get_by_role("button", name="Save and compute the preview").click()

    expect(page).to_have_url(re.compile(r"/need/rounds/\d+$"))
    expect(flash(page)).to_contain_text("The round is opened.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")

    # The preview explains every line: days of supply before and after, and who gets what.
    preview = page.locator("section", has=page.get_by_role("heading", name=re.compile(rf"^{SKU} ")))
    table = preview.locator("table.list")
    columns = {name: column_index(table, name) for name in ("Need", "Days before", "Decided", "Days after", "Capped")}
    decided, days_after = {}, {}
    for code, (name, stock_, consumption, need) in REPORTS.items():
        row = table.locator("tbody tr").filter(has=page.get_by_role("cell", name=name, exact=True))
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(columns["Need"])).to_have_text(english(need))
        expect(cells.nth(columns["Days before"])).to_have_text(DAYS_BEFORE[code])
        decided[code] = number_in(cells.nth(columns["Decided"]).inner_text())
        days_after[code] = cells.nth(columns["Days after"]).inner_text().strip()
        assert decided[code] % PACK == 0
        # Days after = (stock + allocated) ÷ daily use, shown to one decimal.
        daily = consumption / 7
        assert abs(float(days_after[code].replace(",", "")) - (stock_ + decided[code]) / daily) < 0.06, days_after
    assert sum(decided.values()) == SUPPLY
    expect(table.locator("tfoot")).to_contain_text(english(SUPPLY))
    share = {code: decided[code] / REPORTS[code][3] for code in REPORTS}
    assert max(share, key=share.get) == SHORTEST, share  # the fewest days gets the most relative to need
    assert decided[SHORTEST] > 0 and decided["2262"] == 0  # Timrå's 15 days are above the level reached
    expect(preview).to_contain_text(english(SUPPLY))
    page.screenshot(path="/tmp/allocation-flow-preview.png", full_page=True)

    # Decide: the decision gets its number, the stock is reserved and a shipment is planned per recipient.
    page.get_by_label("I have checked the allocation and decide it").check()
    page.get_by_role("button", name="Decide the allocation").click()
    expect(flash(page)).to_contain_text("The allocation is decided")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"Allocation decision \d{4}-\d{4}"))
    expect(heading).to_contain_text("Decided")
    number = re.search(r"\d{4}-\d{4}", heading.inner_text()).group(0)
    expect(page.get_by_text("förordning (2020:126)", exact=False).first).to_be_visible()

    # The decision PDF downloads.
    pdf_link = page.get_by_role("link", name="Decision (PDF)")
    response = page.request.get(pdf_link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert number in response.headers.get("content-disposition", "")

    # The shipment to Härnösand is dispatched with its carrier and tracking reference.
    shipments = page.locator("table.list", has=page.get_by_role("columnheader", name="Shipment"))
    recipient_name = REPORTS[SHORTEST][0]
    shipment_row = shipments.locator("tbody tr").filter(has=page.get_by_role("cell", name=recipient_name, exact=True))
    expect(shipment_row).to_contain_text("Planned")
    expect(shipments.locator("tbody tr")).to_have_count(len([c for c in decided.values() if c]))
    shipment_row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/need/shipments/\d+$"))
    shipment_number = re.search(r"LS-\d{4}-\d+", page.get_by_role("heading", level=1).inner_text()).group(0)
    shipment_url = page.url
    lines = page.locator("table.list").first
    expect(lines).to_contain_text(LOT)
    expect(lines).to_contain_text(english(decided[SHORTEST]))
    page.get_by_label("Carrier", exact=True).fill(CARRIER)
    page.get_by_label("Tracking reference", exact=True).fill(TRACKING)
    page.get_by_role("button", name="Dispatch", exact=True).click()
    expect(flash(page)).to_contain_text(f"Shipment {shipment_number} is dispatched")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dispatched")
    expect(page.get_by_text(TRACKING)).to_be_visible()
    log_out(page)

    # Härnösand's recipient sees the shipment coming and confirms a short delivery.
    log_in(page, RECIPIENT, live_server.password)
    menu(page).get_by_role("link", name="Deliveries to confirm").click()
    to_confirm = page.locator("section", has=page.get_by_role("heading", name="To confirm"))
    incoming = to_confirm.locator("tbody tr").filter(has=page.get_by_role("link", name=shipment_number))
    expect(incoming).to_contain_text(CARRIER)
    expect(incoming).to_contain_text(english(decided[SHORTEST]))
    page.get_by_role("link", name=f"Confirm {shipment_number}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Confirm shipment {shipment_number}")
    accepted = decided[SHORTEST] - MISSING
    page.get_by_label("Received by (name of the person who took delivery)").fill("Hanna Mottagare")
    row = page.locator("table.list tbody tr").filter(has_text=LOT)
    expect(row).to_have_count(1)
    row.get_by_label("Accepted", exact=True).fill(str(accepted))
    row.get_by_label("Missing", exact=True).fill(str(MISSING))
    row.get_by_label("Reason", exact=True).select_option(label="Short delivery")
    row.get_by_label("Comment", exact=True).fill(COMMENT)
    page.get_by_role("button", name="Confirm the delivery").click()
    expect(page).to_have_url(re.compile(r"/need/shipments/\d+$"))
    expect(flash(page)).to_contain_text("The discrepancy is passed to the coordinator")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirmed by recipient")
    page.screenshot(path="/tmp/allocation-flow-confirmed.png", full_page=True)
    log_out(page)

    # The coordinator sees the discrepancy to follow up.
    log_in(page, COORDINATOR, live_server.password)
    menu(page).get_by_role("link", name="Shipments", exact=True).click()
    page.get_by_role("link", name="Discrepancies and unconfirmed shipments").click()
    discrepancies = page.locator("section", has=page.get_by_role("heading", name="Discrepancies"))
    follow_up = discrepancies.locator("tbody tr").filter(has=page.get_by_role("link", name=shipment_number))
    expect(follow_up).to_have_count(1)
    expect(follow_up).to_contain_text("Open")
    expect(follow_up).to_contain_text(number)
    expect(follow_up).to_contain_text(f"{MISSING} missing")
    expect(follow_up).to_contain_text("Short delivery")
    expect(follow_up).to_contain_text(COMMENT)
    follow_up.get_by_role("link", name=shipment_number).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(shipment_url)}#follow-up$"))
    section = page.locator("section#follow-up")
    expect(section.get_by_role("heading", name="Follow-up of the discrepancy")).to_be_visible()
    expect(section).to_contain_text("Open")
    lines = page.locator("table.list").first
    accepted_col, missing_col = column_index(lines, "Accepted"), column_index(lines, "Missing")
    line = lines.locator("tbody tr").filter(has_text=LOT)
    expect(line.locator("td").nth(accepted_col)).to_have_text(english(accepted))
    expect(line.locator("td").nth(missing_col)).to_have_text(english(MISSING))

    # Härnösand's stock in the ledger grew by what it accepted, not by what was shipped.
    menu(page).get_by_role("link", name="Stock", exact=True).click()
    page.get_by_role("link", name=recipient_name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(recipient_name)
    stock_table = page.locator("table.list").first
    available_col = column_index(stock_table, "Available")
    lot_row = stock_table.locator("tbody tr").filter(has=page.get_by_role("cell", name=LOT, exact=True))
    expect(lot_row).to_have_count(1)
    expect(lot_row.locator("td").nth(available_col)).to_have_text(english(accepted))
    expect(lot_row.locator("td").nth(column_index(stock_table, "Total"))).to_have_text(english(accepted))
    assert recipient_available(live_server) == seeded.recipient_location_stock + accepted
    page.screenshot(path="/tmp/allocation-flow-stock.png", full_page=True)
