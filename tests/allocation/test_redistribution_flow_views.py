"""Redistribution and compensation pages: generating and agreeing a proposal through the forms, the giver's
stock form, the decision PDF, national decisions, statements (page, PDF, CSV), settlements, the price list, and
scope (404 outside it)."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from allocation import services_redistribution as redistribution
from allocation.models_distribution import (
    CompensationEntry,
    RedistributionProposal,
    ReferencePrice,
    Settlement,
)
from app.timeutil import local_today
from tests.allocation.redistribution_factories import (
    SKU,
    agree,
    execute,
    give,
    line,
    open_proposal,
    stockholm_need,
)
from tests.allocation.rounds_factories import product
from tests.conftest import organisation


@pytest.fixture
def coordinator(users):
    return users.make("county_coordinator", "LST-01")


@pytest.fixture
def need(session, users, period):
    stockholm_need(session, users, period)


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_a_county_coordinator_generates_edits_meets_and_agrees_through_the_pages(client, auth, session, coordinator,
                                                                                 need):
    auth.login(coordinator)
    assert "Generate a proposal" in client.get("/need/redistribution/").text
    assert client.get("/need/redistribution/new").status_code == 200
    response = client.post("/need/redistribution/new", data={
        "title": "Andningsskydd", "products": [str(product(session, SKU).id)], "target_days": "21",
        "min_transfer": "0"})
    assert response.status_code == 302
    proposal = session.scalar(select(RedistributionProposal).order_by(RedistributionProposal.id.desc()))
    page = client.get(response.headers["Location"]).text
    assert proposal.reference in page and "Upplands Väsby" in page and "Vallentuna" in page

    transfer = line(proposal, "0114", "0117")
    refused = client.post(f"/need/redistribution/transfers/{transfer.id}/edit", data={"quantity": "0", "reason": ""})
    assert refused.status_code == 422 and "Give the reason for the change." in refused.text
    changed = client.post(f"/need/redistribution/transfers/{transfer.id}/edit",
                          data={"quantity": "0", "reason": "Österåker löser det själv"})
    assert changed.status_code == 302
    session.refresh(transfer)
    assert transfer.quantity == 0

    early = client.post(f"/need/redistribution/{proposal.id}/agree", data={"confirm": "y"})
    assert early.status_code == 422 and "Record the logistics meeting first" in early.text
    met = client.post(f"/need/redistribution/{proposal.id}/meeting", data={
        "held_on": local_today().isoformat(), "participants": "Länsstyrelsen, kommunerna",
        "decisions": "Godkänt", "minutes": ""})
    assert met.status_code == 302
    agreed = client.post(f"/need/redistribution/{proposal.id}/agree", data={"confirm": "y"}, follow_redirects=True)
    assert "Agreed." in agreed.text and "Awaiting the giver" in agreed.text
    session.refresh(proposal)
    assert proposal.status == "agreed"
    escalate = re.search(r'href="([^"]+)">Request national allocation of what remains', agreed.text)
    assert f"proposal_id={proposal.id}" in escalate.group(1)
    assert client.get(escalate.group(1).replace("&amp;", "&")).status_code == 200
    assert pdf_text(client.get(f"/need/redistribution/{proposal.id}/decision.pdf")).count(proposal.reference) >= 1


def test_the_giver_registers_its_stock_on_the_page_and_the_shipment_is_planned(client, auth, session, users,
                                                                              coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    transfer = line(proposal, "0114", "0115")
    giver = users.make("recipient", "0114")
    auth.login(giver)
    page = client.get(f"/need/redistribution/{proposal.id}").text
    assert "Transfers awaiting the giver" in page and "up to 3" in page and 'name="opening_balance"' in page
    too_much = client.post(f"/need/redistribution/transfers/{transfer.id}/stock", data={"opening_balance": "5000"})
    assert too_much.status_code == 422 and "at most 3" in too_much.text
    done = client.post(f"/need/redistribution/transfers/{transfer.id}/stock", data={"opening_balance": "480"},
                       follow_redirects=True)
    shipment = redistribution.shipment_of(session, transfer)
    assert shipment is not None and f"shipment {shipment.number} is planned" in done.text


def test_the_receiver_cannot_reserve_the_givers_transfer(client, auth, session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    auth.login(users.make("recipient", "0115"))
    page = client.get(f"/need/redistribution/{proposal.id}").text
    assert "Transfers awaiting the giver" not in page
    response = client.post(f"/need/redistribution/transfers/{line(proposal, '0114', '0115').id}/stock",
                           data={"opening_balance": "480"})
    assert response.status_code == 422 and "Only Upplands Väsby or the coordinator" in response.text


def test_outside_its_scope_a_proposal_and_its_transfers_answer_404(client, auth, session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    auth.login(users.make("county_coordinator", "LST-14"))
    assert client.get(f"/need/redistribution/{proposal.id}").status_code == 404
    assert client.post(f"/need/redistribution/transfers/{proposal.lines[0].id}/edit",
                       data={"quantity": "1", "reason": "x"}).status_code == 404
    assert proposal.reference not in client.get("/need/redistribution/").text


def test_the_national_coordinator_decides_a_redistribution_and_gets_the_decision_pdf(client, auth, session, users):
    national = users.make("national_coordinator", "SOS")
    auth.login(national)
    assert client.get("/need/redistribution/new").status_code == 302  # to the national form
    response = client.post("/need/redistribution/national/new", data={
        "title": "Malmö lämnar till Stockholm", "legal_basis": redistribution.LEGAL_BASIS,
        "reasons": "Akut brist i Stockholms län."})
    assert response.status_code == 302
    decision = session.scalar(select(RedistributionProposal).order_by(RedistributionProposal.id.desc()))
    added = client.post(f"/need/redistribution/{decision.id}/lines", data={
        "product_id": str(product(session, SKU).id), "source_id": str(organisation("1280").id),
        "target_id": str(organisation("0180").id), "quantity": "2400", "reason": ""})
    assert added.status_code == 302
    decided = client.post(f"/need/redistribution/{decision.id}/agree", data={"confirm": "y"}, follow_redirects=True)
    assert "Decided." in decided.text
    text = pdf_text(client.get(f"/need/redistribution/{decision.id}/decision.pdf"))
    assert "Redistribution decision" in text and "2020:126" in text and "Malmö" in text
    auth.logout()
    auth.login(users.make("recipient", "0180"))
    assert client.get(f"/need/redistribution/{decision.id}").status_code == 200


# --- compensation pages --------------------------------------------------------------------------------------------------


@pytest.fixture
def booked(session, users, coordinator, need):
    from allocation import compensation

    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    compensation.set_price(session, users.make("national_coordinator", "SOS"), product=product(session, SKU),
                           valid_from=local_today(), price_ore=1234)
    session.commit()
    for transfer in proposal.lines:
        give(session, users, transfer)
        execute(session, users, transfer)
    return proposal


def test_both_parties_see_the_compensation_entry_on_their_statements(client, auth, users, booked):
    auth.login(users.make("recipient", "0114"))
    page = client.get("/need/compensation/").text
    assert "Receivable from others" in page and "8,884.80 kr" in page and booked.reference in page
    auth.logout()
    auth.login(users.make("recipient", "0115"))
    page = client.get("/need/compensation/").text
    assert "-5,923.20 kr" in page
    assert "Upplands Väsby" in page


def test_the_statement_downloads_as_pdf_and_csv(client, auth, users, booked):
    auth.login(users.make("recipient", "0115"))
    text = pdf_text(client.get("/need/compensation/statement.pdf"))
    assert "Vallentuna" in text and "5,923.20" in text
    response = client.get("/need/compensation/statement.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert "-5923.20" in response.text


def test_a_county_coordinator_sees_the_overview_and_any_statement_of_the_county(client, auth, session, users, booked):
    auth.login(users.make("county_coordinator", "LST-01"))
    overview = client.get("/need/compensation/").text
    assert "Upplands Väsby" in overview and "Österåker" in overview
    giver = organisation("0114")
    assert "8,884.80 kr" in client.get(f"/need/compensation/?organisation={giver.id}").text
    auth.logout()
    auth.login(users.make("county_coordinator", "LST-14"))
    assert client.get(f"/need/compensation/?organisation={giver.id}").status_code == 404


def test_a_party_records_a_payment_and_the_settlement_page_lists_the_entries(client, auth, session, users, booked):
    auth.login(users.make("recipient", "0115"))
    page = client.get("/need/compensation/").text
    assert "Record a payment" in page
    entry = session.scalar(select(CompensationEntry).where(CompensationEntry.debtor_id == organisation("0115").id))
    response = client.post("/need/compensation/settlements", data={
        "entry_ids": [str(entry.id)], "paid_on": local_today().isoformat(), "payment_reference": "OCR 1234"})
    assert response.status_code == 302
    settlement = session.scalar(select(Settlement))
    assert settlement.amount_ore == entry.amount_ore == 592320
    page = client.get(response.headers["Location"]).text
    assert "OCR 1234" in page and "5,923.20 kr" in page
    again = client.post("/need/compensation/settlements", data={
        "entry_ids": [str(entry.id)], "paid_on": local_today().isoformat()}, follow_redirects=True)
    assert "already settled" in again.text
    auth.logout()
    auth.login(users.make("recipient", "0120"))
    assert client.get(f"/need/compensation/settlements/{settlement.id}").status_code == 404


def test_the_national_coordinator_sets_a_price_on_the_price_list(client, auth, session, users):
    auth.login(users.make("national_coordinator", "SOS"))
    assert "Set a price" in client.get("/need/compensation/prices").text
    response = client.post("/need/compensation/prices", data={
        "product_id": str(product(session, SKU).id), "valid_from": local_today().isoformat(), "price": "12,34"})
    assert response.status_code == 302
    assert session.scalar(select(ReferencePrice.price_ore)) == 1234
    refused = client.post("/need/compensation/prices", data={
        "product_id": str(product(session, SKU).id), "valid_from": "", "price": "abc"})
    assert refused.status_code == 422
    auth.logout()
    auth.login(users.make("county_coordinator", "LST-01"))
    page = client.get("/need/compensation/prices").text
    assert "Set a price" not in page and "12.34 kr" in page
    assert client.post("/need/compensation/prices", data={}).status_code == 403
