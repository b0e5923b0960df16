"""Shipment pages: the recipient's deliveries and confirm form, the shipment page's steps, the delivery note,
the coordinators' list with its filters and exports, follow-ups, and scope (404 outside it)."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from allocation import services_shipments as shipments
from allocation.models_distribution import DeliveryFollowUp, FollowUpStatus, ShipmentStatus
from app.stock import ledger
from app.stock.models import StockState
from tests.allocation.shipments_factories import decided_round, location_of, product, stock, warehouse


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


@pytest.fixture
def planned(session, coordinator):
    """Two planned shipments of one decision: Stockholm (0180) in two lots, Södertälje (0181) in one."""
    stock(session, coordinator, warehouse(session), {"A": (60, 100), "B": (500, 200)})
    round_ = decided_round(session, coordinator, {"0180": {"FFP2-CUP": 100}, "0181": {"FFP2-CUP": 40}})
    found = shipments.plan_shipments(session, coordinator, round_)
    session.commit()
    return found


@pytest.fixture
def dispatched(session, coordinator, planned):
    for shipment in planned:
        shipments.dispatch(session, coordinator, shipment, carrier="PostNord", tracking_reference="PN-77")
    session.commit()
    return planned


def _confirm_data(shipment, changes: dict[int, dict] | None = None, name: str = "Anna Andersson") -> dict:
    """The confirm form as posted: every line accepted in full, but for ``changes`` {line index: values}."""
    line_values = changes or {}
    data = {"received_by_name": name}
    for index, line in enumerate(shipment.lines):
        values = {"accepted": line.quantity, "rejected": 0, "missing": 0, "reason": "", "comment": ""}
        values.update(line_values.get(index, {}))
        data[f"lines-{index}-line_id"] = line.id
        for key, value in values.items():
            data[f"lines-{index}-{key}"] = value
    return data


def test_the_recipient_sees_what_to_confirm_and_confirms_a_short_delivery(client, auth, users, session, dispatched,
                                                                           coordinator):
    stockholm = dispatched[0]
    auth.login(users.make("recipient", "0180"))

    page = client.get("/need/deliveries/")
    assert page.status_code == 200
    assert stockholm.number in page.text and dispatched[1].number not in page.text
    form = client.get(f"/need/shipments/{stockholm.id}/confirm")
    assert form.status_code == 200 and 'value="60"' in form.text and 'value="40"' in form.text

    response = client.post(f"/need/shipments/{stockholm.id}/confirm", data=_confirm_data(
        stockholm, {1: {"accepted": 30, "missing": 10, "reason": "short", "comment": "One carton short"}}))

    assert response.status_code == 302
    session.expire_all()
    assert stockholm.status == ShipmentStatus.CONFIRMED.value
    home = location_of(session, "0180")
    assert ledger.total(session, product=product(session), state=StockState.AVAILABLE, location_ids=[home.id]) == 90
    assert client.get(response.headers["Location"]).text.count("One carton short") == 1
    follow_up = session.scalar(select(DeliveryFollowUp).where(DeliveryFollowUp.shipment_id == stockholm.id))
    assert follow_up.status == FollowUpStatus.OPEN.value

    again = client.post(f"/need/shipments/{stockholm.id}/confirm", data=_confirm_data(
        stockholm, {1: {"accepted": 30, "missing": 10, "reason": "short", "comment": "One carton short"}}),
        follow_redirects=True)
    assert "already confirmed with these figures; nothing changed" in again.text
    different = client.post(f"/need/shipments/{stockholm.id}/confirm", data=_confirm_data(stockholm))
    assert different.status_code == 409 and "cannot be changed" in different.text


def test_a_confirmation_that_does_not_add_up_is_shown_again_with_the_errors_beside_the_line(
    client, auth, users, dispatched
):
    stockholm = dispatched[0]
    auth.login(users.make("recipient", "0180"))

    response = client.post(f"/need/shipments/{stockholm.id}/confirm",
                           data=_confirm_data(stockholm, {0: {"accepted": 50, "rejected": 5}}))

    assert response.status_code == 422
    assert "must add up to the 60 units shipped (now 55)" in response.text
    assert re.search(r'id="lines-0-reason-error"[^>]*>Say why units are rejected or missing', response.text)
    assert stockholm.status == ShipmentStatus.DISPATCHED.value


def test_the_coordinator_dispatches_marks_delivered_and_sees_the_discrepancy(client, auth, session, planned,
                                                                             coordinator, users):
    stockholm = planned[0]
    auth.login(coordinator)

    refused = client.post(f"/need/shipments/{stockholm.id}/dispatch", data={"carrier": ""})
    assert refused.status_code == 422 and "Name the carrier." in refused.text
    assert client.post(f"/need/shipments/{stockholm.id}/dispatch",
                       data={"carrier": "Schenker", "tracking_reference": "SC-9"}).status_code == 302
    assert client.post(f"/need/shipments/{stockholm.id}/delivered").status_code == 302
    session.expire_all()
    assert (stockholm.status, stockholm.carrier) == (ShipmentStatus.DELIVERED.value, "Schenker")

    recipient = users.make("recipient", "0180")
    line = stockholm.lines[0]
    shipments.confirm(session, recipient, stockholm, received_by_name="Bo", lines=[
        shipments.LineConfirmation(line.id, accepted=55, rejected=5, reason="wrong_product", comment="FFP3"),
        shipments.LineConfirmation(stockholm.lines[1].id, accepted=40),
    ])
    session.commit()

    follow_ups = client.get("/need/shipments/follow-ups")
    assert follow_ups.status_code == 200 and stockholm.number in follow_ups.text and "Wrong product" in follow_ups.text
    follow_up = session.scalar(select(DeliveryFollowUp).where(DeliveryFollowUp.shipment_id == stockholm.id))
    resolved = client.post(f"/need/shipments/follow-ups/{follow_up.id}/resolve",
                           data={"resolution": "Supplier replaces five boxes"})
    assert resolved.status_code == 302
    session.expire_all()
    assert follow_up.status == FollowUpStatus.RESOLVED.value


def test_cancelling_a_planned_shipment_from_its_page(client, auth, session, planned, coordinator):
    auth.login(coordinator)

    assert client.post(f"/need/shipments/{planned[1].id}/cancel", data={"reason": ""}).status_code == 422
    response = client.post(f"/need/shipments/{planned[1].id}/cancel", data={"reason": "Collected by the municipality"},
                           follow_redirects=True)

    assert "Collected by the municipality" in response.text
    session.expire_all()
    assert planned[1].status == ShipmentStatus.CANCELLED.value


def test_the_delivery_note_lists_lots_expiry_dates_and_a_signature_field(client, auth, dispatched, coordinator):
    stockholm = dispatched[0]
    auth.login(coordinator)

    response = client.get(f"/need/shipments/{stockholm.id}/delivery-note.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (stockholm.number, stockholm.round.number, "Stockholm", "PostNord", "PN-77", "Signature"):
        assert expected in text
    for line in stockholm.lines:
        assert line.lot.lot_number in text and line.lot.expiry_on.isoformat() in text


def test_the_shipment_list_filters_and_exports(client, auth, session, dispatched, coordinator, users):
    shipments.mark_delivered(session, coordinator, dispatched[1])
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    page = client.get("/need/shipments/?status=delivered")
    assert page.status_code == 200
    assert dispatched[1].number in page.text and dispatched[0].number not in page.text
    csv = client.get(f"/need/shipments/?format=csv&recipient={dispatched[0].recipient_id}").text
    assert dispatched[0].number in csv and dispatched[1].number not in csv
    workbook = load_workbook(io.BytesIO(client.get("/need/shipments/?format=xlsx").data))
    numbers = {row[0] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert numbers == {s.number for s in dispatched}
    assert "No shipments match." in client.get("/need/shipments/?unconfirmed=overdue").text


def test_shipments_outside_ones_scope_answer_404(client, auth, users, dispatched):
    stockholm = dispatched[0]
    for user in (users.make("recipient", "0181"), users.make("county_coordinator", "LST-14"),
                 users.make("reporter", "1480")):
        auth.login(user)
        for url in (f"/need/shipments/{stockholm.id}", f"/need/shipments/{stockholm.id}/delivery-note.pdf"):
            assert client.get(url).status_code == 404, (user.email, url)
        auth.logout()
    auth.login(users.make("recipient", "0181"))
    assert client.get(f"/need/shipments/{stockholm.id}/confirm").status_code == 404
    assert client.post(f"/need/shipments/{stockholm.id}/dispatch", data={"carrier": "X"}).status_code == 404


def test_recipients_and_coordinators_find_their_pages_in_the_navigation(client, auth, users):
    auth.login(users.make("recipient", "0180"))
    html = client.get("/need/deliveries/").text
    assert "Deliveries to confirm" in html and ">Shipments<" not in html
    auth.logout()
    auth.login(users.make("national_coordinator", "SOS"))
    html = client.get("/need/shipments/").text
    assert ">Shipments<" in html and "Deliveries to confirm" not in html
    assert client.get("/need/deliveries/").status_code == 403
