"""Issue 7's acceptance in a real browser: a county coordinator generates a redistribution proposal from surplus to
deficit, records the logistics meeting and agrees it; the giving municipality registers its stock on hand and
dispatches the transfer, the receiving one confirms it, and both see the compensation entry (who owes whom, in
SEK with öre) on their statements. The county then escalates the need that remains and the national coordinator
finds the request in the queue and offered for inclusion in the next allocation round.

Only the starting point is seeded through the services (situation reports of four municipalities of Uppsala
län, the reference price, the users); everything else goes through the pages. Uppsala län keeps the other
browser tests' reports (Stockholms län, Västernorrlands län) out of the planner's figures.
"""
from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from allocation import compensation, reporting
from allocation.models import Channel
from app.auth.models import User
from app.catalog.models import Product
from app.db import utcnow
from app.extensions import db
from app.stock import ledger
from app.stock.models import StockState
from tests.browser.pages import english, flash, log_in, log_out, menu

pytestmark = pytest.mark.browser

DOMAIN = "redistribution.browser.test"
COUNTY_BOARD, COUNTY_NAME = "LST-03", "Uppsala län"
COORDINATOR = f"lan@{DOMAIN}"
NATIONAL = f"nationell@{DOMAIN}"
GIVER_CODE, GIVER = "0381", "Enköping"
RECEIVER_CODE, RECEIVER = "0382", "Östhammar"
GIVER_STAFF = f"mottagare.enkoping@{DOMAIN}"
RECEIVER_STAFF = f"mottagare.osthammar@{DOMAIN}"
# kommunkod: (name, stock, consumption last 7 days, stated need) of respirators. 21 days of supply at the week's
# use: Enköping keeps 2,100 of 6,000 (3,900 above: 16 whole packs of 240), Heby keeps 1,050 of 1,530 (two packs);
# Östhammar needs 4,800 and Tierp 480. Heby is nearest Tierp, so the least distance gives Heby → Tierp 480 and
# Enköping → Östhammar 3,840, and Östhammar still lacks 960.
REPORTS = {
    GIVER_CODE: (GIVER, 6_000, 700, 0),
    "0331": ("Heby", 1_530, 350, 0),
    RECEIVER_CODE: (RECEIVER, 0, 700, 4_800),
    "0360": ("Tierp", 300, 350, 480),
}
SKU = "FFP2-CUP"
PRODUCT = "FFP2-CUP – Respirator FFP2, cup-shaped, without valve"
CATEGORY = "Respirators (FFP2/FFP3)"
TRANSFERRED = 3_840
REMAINING = 4_800 - TRANSFERRED
PRICE_ORE = 8_37  # 8.37 kr a respirator: 3,840 × 8.37 = 32,140.80 kr
AMOUNT = "32,140.80 kr"
CARRIER = "Bring"


def _product(session) -> Product:
    return session.scalar(select(Product).where(Product.sku == SKU))


def seed(live_server) -> date:
    """The users, each municipality's situation report and the price list's respirator price, committed for the
    live server. Returns today in Sweden (the meeting's date)."""
    app = live_server.app
    coordinator_id = live_server.user(["national_coordinator"], "SOS", email=NATIONAL, name="Nils Nationell")
    live_server.user(["county_coordinator"], COUNTY_BOARD, email=COORDINATOR, name="Lena Länsstyrelsen")
    live_server.user(["recipient"], GIVER_CODE, email=GIVER_STAFF, name="Gustav Givare")
    live_server.user(["recipient"], RECEIVER_CODE, email=RECEIVER_STAFF, name="Maria Mottagare")
    reporters = {
        code: live_server.user(["reporter"], code, email=f"rapportor.{code}@{DOMAIN}", name=f"Rapportör {name}")
        for code, (name, *_figures) in REPORTS.items()
    }
    tz = ZoneInfo(app.config["SAMORDNA_TIMEZONE"])
    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        now = utcnow()
        reporting.open_periods(session, now=now, tz=tz)
        period = reporting.current_period(session, now)
        for code, (_name, stock, consumption, need) in REPORTS.items():
            reporter = session.get(User, reporters[code])
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
            reporting.submit_report(session, organisation=reporter.organisation, period=period,
                                    branch="social_services", lines=lines, channel=Channel.FORM, user=reporter,
                                    confirm_spikes=True)
        today = now.astimezone(tz).date()
        compensation.set_price(session, session.get(User, coordinator_id), product=_product(session),
                               valid_from=today, price_ore=PRICE_ORE)
        session.commit()
        db.session.remove()
    return today


def available(live_server, code: str) -> int:
    """The organisation's available respirators of the product in the stock ledger."""
    with live_server.app.app_context():
        session = db.session
        location = ledger.location_for_organisation(session, live_server.organisation(code))
        units = ledger.total(session, product=_product(session), state=StockState.AVAILABLE,
                             location_ids=[location.id])
        session.rollback()
        db.session.remove()
    return units


def transfer_row(page, giver: str, receiver: str):
    transfers = page.locator("section", has=page.get_by_role("heading", name="Transfers", exact=True))
    return (transfers.locator("tbody tr")
            .filter(has=page.get_by_role("cell", name=giver, exact=True))
            .filter(has=page.get_by_role("cell", name=receiver, exact=True)))


def test_a_county_redistributes_surplus_both_parties_see_the_compensation_and_the_rest_goes_to_national_allocation(
    page, live_server
):
    today = seed(live_server)

    # The county coordinator generates a proposal for the cup-shaped FFP2: surplus goes to deficit.
    log_in(page, COORDINATOR, live_server.password)
    menu(page).get_by_role("link", name="Redistribution", exact=True).click()
    page.get_by_role("link", name="Generate a proposal").click()
    page.get_by_label("Title", exact=True).fill("Andningsskydd i Uppsala län")
    page.get_by_label(PRODUCT, exact=True).check()
    expect(page.get_by_label("Target days of supply")).to_have_value("21")
    page.get_by_role("button", name="Generate the proposal").click()

    expect(page).to_have_url(re.compile(r"/need/redistribution/\d+$"))
    expect(flash(page)).to_contain_text("The proposal is generated.")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Draft")
    reference = re.search(r"OF-\d{4}-\d{4}", heading.inner_text()).group(0)
    proposal_url = page.url
    figures = page.locator("section", has=page.get_by_role("heading", name="The county's figures now"))
    expect(figures.locator("tbody tr").filter(has_text=GIVER)).to_contain_text(english(3_900))  # surplus
    expect(figures.locator("tbody tr").filter(has_text=RECEIVER)).to_contain_text(english(4_800))  # need
    expect(transfer_row(page, GIVER, RECEIVER)).to_contain_text(english(TRANSFERRED))
    expect(transfer_row(page, "Heby", "Tierp")).to_contain_text("480")
    transfers = page.locator("section", has=page.get_by_role("heading", name="Transfers", exact=True))
    expect(transfers.locator("tbody tr")).to_have_count(2)

    # The logistics meeting agrees it.
    page.get_by_label("Held on").fill(today.isoformat())
    page.get_by_label("Participants").fill("Länsstyrelsen, Enköping, Heby, Östhammar, Tierp")
    page.get_by_label("Decisions").fill("Förslaget godkänns; Enköping och Heby skickar i veckan.")
    page.get_by_role("button", name="Record the meeting").click()
    expect(flash(page)).to_contain_text("The logistics meeting is recorded.")
    meetings = page.locator("section", has=page.get_by_role("heading", name="Logistics meetings"))
    expect(meetings).to_contain_text("Förslaget godkänns")
    page.get_by_label("The lines are as agreed").check()
    page.get_by_role("button", name="Mark the proposal agreed").click()
    expect(flash(page)).to_contain_text("Agreed.")
    expect(heading).to_contain_text("Agreed")
    # Samordna's ledger holds no stock of the givers yet: the transfers wait for it.
    expect(transfer_row(page, GIVER, RECEIVER)).to_contain_text("Awaiting the giver's stock")
    log_out(page)

    # Enköping registers its stock on hand, which reserves the transfer and plans its shipment, and dispatches it.
    log_in(page, GIVER_STAFF, live_server.password)
    page.goto(proposal_url)
    page.get_by_label("Stock on hand to register (opening balance)").fill(str(TRANSFERRED))
    page.get_by_role("button", name="Reserve and plan the shipment").click()
    expect(flash(page)).to_contain_text("The stock is reserved and shipment")
    shipment = re.search(r"LS-\d{4}-\d+", flash(page).inner_text()).group(0)
    expect(transfer_row(page, GIVER, RECEIVER)).to_contain_text("Planned")
    transfer_row(page, GIVER, RECEIVER).get_by_role("link", name=shipment).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(shipment)
    page.get_by_label("Carrier", exact=True).fill(CARRIER)
    page.get_by_role("button", name="Dispatch", exact=True).click()
    expect(flash(page)).to_contain_text(f"Shipment {shipment} is dispatched")
    assert available(live_server, GIVER_CODE) == 0
    log_out(page)

    # Östhammar confirms what arrived: everything.
    log_in(page, RECEIVER_STAFF, live_server.password)
    menu(page).get_by_role("link", name="Deliveries to confirm").click()
    page.get_by_role("link", name=f"Confirm {shipment}").click()
    page.get_by_label("Received by (name of the person who took delivery)").fill("Maria Mottagare")
    expect(page.locator("table.list tbody tr").get_by_label("Accepted", exact=True)).to_have_value(str(TRANSFERRED))
    page.get_by_role("button", name="Confirm the delivery").click()
    expect(flash(page)).to_contain_text(f"Shipment {shipment} is confirmed; the stock is yours.")
    assert available(live_server, RECEIVER_CODE) == TRANSFERRED

    # Östhammar's statement: it owes Enköping for the respirators.
    menu(page).get_by_role("link", name="Compensation", exact=True).click()
    owed = page.locator("table", has=page.get_by_text("What the organisation owes as receiver"))
    entry = owed.locator("tbody tr").filter(has_text=reference)
    expect(entry.get_by_role("cell", name=GIVER, exact=True)).to_be_visible()
    expect(entry).to_contain_text(english(TRANSFERRED))
    expect(entry).to_contain_text("8.37 kr")
    expect(entry).to_contain_text(AMOUNT)
    expect(page.locator("dl.facts")).to_contain_text(f"-{AMOUNT}")  # net: it owes
    log_out(page)

    # Enköping's statement: Östhammar owes it the same amount, unsettled.
    log_in(page, GIVER_STAFF, live_server.password)
    menu(page).get_by_role("link", name="Compensation", exact=True).click()
    receivable = page.locator("table", has=page.get_by_text("What the organisation is owed as giver"))
    entry = receivable.locator("tbody tr").filter(has_text=reference)
    expect(entry.get_by_role("cell", name=RECEIVER, exact=True)).to_be_visible()
    expect(entry).to_contain_text(AMOUNT)
    expect(page.get_by_role("heading", name=f"{RECEIVER} pays {GIVER}")).to_be_visible()
    log_out(page)

    # The county requests national allocation of what remains: Östhammar's 960.
    log_in(page, COORDINATOR, live_server.password)
    page.goto(proposal_url)
    expect(transfer_row(page, GIVER, RECEIVER)).to_contain_text(AMOUNT)
    page.get_by_role("link", name="Request national allocation of what remains").click()
    expect(page.get_by_label(CATEGORY, exact=True)).to_be_checked()
    expect(page.get_by_label(f"Requested units of {CATEGORY} for {RECEIVER}")).to_have_value(str(REMAINING))
    expect(page.get_by_label(f"Requested units of {CATEGORY} for Tierp")).to_have_value("")
    proposal_id = proposal_url.rsplit("/", 1)[1]
    expect(page.get_by_label("Follows the redistribution proposal")).to_have_value(proposal_id)
    page.get_by_label("Justification").fill("Logistikberedningen täckte inte Östhammars behov av FFP2.")
    page.get_by_role("button", name="Send the request").click()
    expect(page).to_have_url(re.compile(r"/need/requests/\d+$"))
    expect(flash(page)).to_have_text(re.compile(r"^Request BN-\d{4}-\d{4} is sent to the national agency\.$"))
    request = re.search(r"BN-\d{4}-\d{4}", flash(page).inner_text()).group(0)
    expect(page.locator("h1 .badge")).to_have_text("Submitted")
    log_out(page)

    # The national coordinator finds it in the queue and offered for the next allocation round.
    log_in(page, NATIONAL, live_server.password)
    menu(page).get_by_role("link", name="National requests").click()
    row = page.locator("table.list tbody tr").filter(has=page.get_by_role("link", name=request))
    expect(row).to_contain_text(COUNTY_NAME)
    expect(row).to_contain_text(english(REMAINING))
    menu(page).get_by_role("link", name="Allocation", exact=True).click()
    page.get_by_role("link", name="Open a round").click()
    offered = page.get_by_label(f"{request} from {COUNTY_NAME}")
    expect(offered).to_be_visible()
    expect(offered).not_to_be_checked()
