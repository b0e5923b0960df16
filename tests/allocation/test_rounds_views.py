"""Allocation rounds on the web: opening, the preview, adjusting, deciding, the decision PDF, the list and
its exports, and passing a county board's share on."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from allocation import services_rounds as rounds
from allocation.models_distribution import AllocationRound, RoundStatus
from allocation.services_rounds import ProductInput, RoundSettings
from app.stock import ledger
from tests.allocation.rounds_factories import category, deliver, open_county_round, product, release, report


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS", name="Karin Nationell")


@pytest.fixture
def stockholm_need(session, users, period):
    report(session, users, period, "0114", stock=70, consumption_7d=70, need=200)
    report(session, users, period, "0115", stock=0, consumption_7d=35, need=100)
    report(session, users, period, "0117", stock=200, consumption_7d=70, need=100)


@pytest.fixture
def draft(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 500)
    round_ = open_county_round(session, coordinator, quantity=200, pack_size=10)
    session.commit()
    return round_


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def form_data(warehouse_id: int, product_id: int, quantity: str, **extra) -> dict:
    data = {
        "title": "FFP2 to Stockholm county",
        "source_location_id": str(warehouse_id),
        "recipient_scope": "county",
        "county_code": "01",
        "policy": "days_of_supply",
        "horizon_days": "21",
        "products-0-product_id": str(product_id),
        "products-0-quantity": quantity,
        "products-0-pack_size": "10",
    }
    data.update(extra)
    return data


def test_the_coordinator_opens_a_round_seeing_the_stock_available_and_gets_the_preview(
    session, client, auth, coordinator, stockholm_need
):
    warehouse = release(session, "FFP2-CUP", 500)
    auth.login(coordinator)

    page = client.get("/need/rounds/new")
    assert page.status_code == 200
    assert "Nationellt lager Mitt" in page.text and "FFP2-CUP" in page.text and "500" in page.text

    response = client.post("/need/rounds/new", data=form_data(warehouse.id, product(session, "FFP2-CUP").id, "200"))

    assert response.status_code == 302
    round_ = session.scalar(select(AllocationRound).order_by(AllocationRound.id.desc()))
    assert response.headers["Location"].endswith(f"/need/rounds/{round_.id}")
    preview = client.get(f"/need/rounds/{round_.id}").text
    assert "Upplands Väsby" in preview and "Vallentuna" in preview
    assert "Total need" in preview and "Left over" in preview
    assert "Days before" in preview and "Exact share" in preview


def test_the_form_refuses_more_than_is_available_beside_the_products(session, client, auth, coordinator):
    warehouse = release(session, "FFP2-CUP", 100)
    auth.login(coordinator)

    response = client.post("/need/rounds/new", data=form_data(warehouse.id, product(session, "FFP2-CUP").id, "150"))

    assert response.status_code == 422
    assert "only 100 are available and unreserved" in response.text
    assert session.scalar(select(AllocationRound.id)) is None


def test_a_half_filled_product_row_is_an_error_beside_it(session, client, auth, coordinator):
    warehouse = release(session, "FFP2-CUP", 100)
    auth.login(coordinator)

    response = client.post("/need/rounds/new", data=form_data(warehouse.id, product(session, "FFP2-CUP").id, ""))

    assert response.status_code == 422
    assert "Choose the product and the units to share out" in response.text


def test_a_county_coordinator_is_sent_to_pass_on_a_decision_instead_of_opening_a_round(client, auth, users):
    auth.login(users.make("county_coordinator", "LST-01"))

    response = client.get("/need/rounds/new", follow_redirects=True)

    assert "Pass on to the county" in response.text


def test_an_adjustment_without_a_reason_is_refused_beside_the_line(session, client, auth, coordinator, draft):
    line = next(line for line in draft.lines if line.recipient.municipality_code == "0115")
    auth.login(coordinator)

    refused = client.post(f"/need/rounds/{draft.id}/adjust", data={"line_id": line.id, "quantity": "80", "reason": ""})
    assert refused.status_code == 422
    assert f'id="reason-{line.id}-error"' in refused.text

    saved = client.post(f"/need/rounds/{draft.id}/adjust",
                        data={"line_id": line.id, "quantity": "80", "reason": "Covered by a local purchase"})
    assert saved.status_code == 302
    session.refresh(line)
    assert (line.quantity, line.computed_quantity) == (80, 90)
    assert "Covered by a local purchase" in client.get(f"/need/rounds/{draft.id}").text


def test_deciding_needs_a_confirmation_then_numbers_the_decision(session, client, auth, coordinator, draft):
    auth.login(coordinator)

    assert client.post(f"/need/rounds/{draft.id}/decide", data={}).status_code == 422
    response = client.post(f"/need/rounds/{draft.id}/decide", data={"confirm": "y"}, follow_redirects=True)

    session.refresh(draft)
    assert draft.status == RoundStatus.DECIDED
    assert f"Allocation decision {draft.number}" in response.text
    assert "Decision (PDF)" in response.text


def test_a_refused_decision_is_shown_on_the_round_and_changes_nothing(session, client, auth, coordinator, draft):
    ledger.reserve(session, None, location=ledger.location_by_code(session, "NL-MITT"),
                   product=product(session, "FFP2-CUP"), quantity=400)
    session.commit()
    auth.login(coordinator)

    response = client.post(f"/need/rounds/{draft.id}/decide", data={"confirm": "y"})

    assert response.status_code == 422
    assert "100 units available and unreserved" in response.text
    session.refresh(draft)
    assert draft.status == RoundStatus.DRAFT and draft.number is None


def test_the_decision_pdf_lists_every_recipient_with_the_legal_basis_substitutes_and_adjustments(
    session, client, auth, users, period, coordinator, stockholm_need
):
    release(session, "FFP2-CUP", 500)
    release(session, "FFP3-FOLD", 120)
    round_ = open_county_round(session, coordinator, products=[
        ProductInput(product(session, "FFP2-CUP"), 200, 10),
        ProductInput(product(session, "FFP3-FOLD"), 120, 10, category(session, "respirators"),
                     "FFP3 protects better than the FFP2 asked for"),
    ])
    line = next(line for line in round_.lines if line.recipient.municipality_code == "0115"
                and line.product.sku == "FFP2-CUP")
    rounds.adjust_line(session, coordinator, line, quantity=70, reason="Vallentuna bought 20 itself")
    rounds.decide_round(session, coordinator, round_)
    session.commit()
    auth.login(users.make("recipient", "0114"))

    response = client.get(f"/need/rounds/{round_.id}/decision.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert round_.number in text and round_.decided_on.isoformat() in text
    assert "2020:126" in text and "Karin Nationell" in text
    for name in ("Upplands Väsby", "Vallentuna", "Österåker"):
        assert name in text
    assert "FFP3 protects better than the FFP2 asked for" in text
    assert "Vallentuna bought 20 itself" in text


def test_the_pdf_of_a_draft_is_not_a_decision(client, auth, coordinator, draft):
    auth.login(coordinator)

    response = client.get(f"/need/rounds/{draft.id}/decision.pdf")

    assert response.status_code == 302


def test_a_draft_is_cancelled_with_a_reason_on_the_web(session, client, auth, coordinator, draft):
    auth.login(coordinator)

    assert client.post(f"/need/rounds/{draft.id}/cancel", data={"reason": ""}).status_code == 422
    assert client.post(f"/need/rounds/{draft.id}/cancel", data={"reason": "Wrong warehouse"}).status_code == 302

    session.refresh(draft)
    assert draft.status == RoundStatus.CANCELLED and draft.cancel_reason == "Wrong warehouse"


def test_changing_a_draft_on_the_web_computes_it_again(session, client, auth, coordinator, draft):
    auth.login(coordinator)
    page = client.get(f"/need/rounds/{draft.id}/edit")
    assert page.status_code == 200 and 'value="FFP2 to Stockholm county"' in page.text

    data = form_data(draft.source_location_id, product(session, "FFP2-CUP").id, "400", title="More")
    assert client.post(f"/need/rounds/{draft.id}/edit", data=data).status_code == 302

    session.refresh(draft)
    assert draft.title == "More" and sum(line.quantity for line in draft.lines) == 400


def test_recipients_read_decisions_they_are_party_to_but_not_drafts(session, client, auth, users, coordinator, draft):
    auth.login(users.make("recipient", "0114"))

    assert client.get(f"/need/rounds/{draft.id}").status_code == 404
    assert "Allocation" in client.get("/").text  # the navigation entry
    rounds.decide_round(session, coordinator, draft)
    session.commit()

    page = client.get(f"/need/rounds/{draft.id}")
    assert page.status_code == 200 and draft.number in page.text
    assert "Decide the allocation" not in page.text and "<summary>Adjust</summary>" not in page.text


def test_managing_someone_elses_round_is_refused(session, client, auth, users, draft):
    auth.login(users.make("county_coordinator", "LST-01"))
    rounds.decide_round(session, users.make("national_coordinator", "SOS"), draft)
    session.commit()

    response = client.post(f"/need/rounds/{draft.id}/recompute", follow_redirects=True)

    assert "Only a coordinator of" in response.text


# --- the list ----------------------------------------------------------------------------------------------


def test_the_list_filters_rounds_and_exports_them(session, client, auth, coordinator, draft):
    decided = open_county_round(session, coordinator, quantity=100)
    rounds.decide_round(session, coordinator, decided)
    session.commit()
    auth.login(coordinator)

    page = client.get("/need/rounds/?status=decided")
    assert page.status_code == 200 and decided.number in page.text
    assert f'href="/need/rounds/{draft.id}"' not in page.text
    assert f'href="/need/rounds/{draft.id}"' in client.get("/need/rounds/?status=draft").text

    csv = client.get("/need/rounds/?format=csv").data.decode("utf-8-sig")
    assert decided.number in csv and "FFP2 to Stockholm county" in csv
    workbook = load_workbook(io.BytesIO(client.get("/need/rounds/?format=xlsx&status=decided").data))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "Decision" and [row[0] for row in rows[1:]] == [decided.number]



def test_the_list_shows_when_a_round_was_opened_in_swedish_time_not_utc(session, client, auth, coordinator, draft):
    draft.created_at = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)  # 00:30 on 16 January in Stockholm
    session.commit()
    auth.login(coordinator)

    page = client.get("/need/rounds/?status=draft").text

    assert "16/01/2026, 00:30" in page
    assert "23:30" not in page and "+00:00" not in page

def test_the_list_shows_a_recipient_only_the_decisions_it_is_party_to(session, client, auth, users, coordinator, draft):
    rounds.decide_round(session, coordinator, draft)
    session.commit()

    auth.login(users.make("recipient", "0180"))
    assert draft.number not in client.get("/need/rounds/").text
    auth.logout()
    auth.login(users.make("recipient", "0117"))
    assert draft.number in client.get("/need/rounds/").text


# --- passing on -----------------------------------------------------------------------------------------------


def test_a_county_coordinator_passes_the_boards_share_on_through_the_form(
    session, client, auth, users, period, coordinator, stockholm_need
):
    release(session, "FFP2-CUP", 1000)
    parent = open_county_round(session, coordinator, quantity=1000, recipient_scope="county_boards", county=None)
    rounds.decide_round(session, coordinator, parent)
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    waiting = client.get(f"/need/rounds/{parent.id}")
    assert "once the shipment to" in waiting.text
    deliver(session, parent, "LST-01")
    assert "Open a second-level round" in client.get(f"/need/rounds/{parent.id}").text

    form = client.get(f"/need/rounds/{parent.id}/onward")
    assert form.status_code == 200 and re.search(r'name="products-0-quantity"[^>]*value="400"', form.text)
    response = client.post(f"/need/rounds/{parent.id}/onward", data={
        "title": "Stockholm's share", "policy": "days_of_supply", "horizon_days": "21",
        "products-0-product_id": str(product(session, "FFP2-CUP").id), "products-0-quantity": "400",
        "products-0-pack_size": "10",
    })

    assert response.status_code == 302
    child = session.scalar(select(AllocationRound).where(AllocationRound.parent_id == parent.id))
    assert child.title == "Stockholm's share" and sum(line.quantity for line in child.lines) == 400
    assert "Second-level rounds" in client.get(f"/need/rounds/{parent.id}").text


def test_passing_on_before_the_shipment_is_confirmed_is_refused_on_the_web(
    session, client, auth, users, coordinator, stockholm_need
):
    release(session, "FFP2-CUP", 1000)
    parent = rounds.open_round(
        session, coordinator, settings=RoundSettings("To the boards"), recipient_scope="county_boards",
        source_location=ledger.location_by_code(session, "NL-MITT"),
        products=[ProductInput(product(session, "FFP2-CUP"), 1000, 10)],
    )
    rounds.decide_round(session, coordinator, parent)
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    response = client.post(f"/need/rounds/{parent.id}/onward", data={}, follow_redirects=True)

    assert "once the shipment to" in response.text
    assert session.scalar(select(AllocationRound.id).where(AllocationRound.parent_id == parent.id)) is None
