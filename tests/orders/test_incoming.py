"""Incoming supplies without an order: registering rescEU allocations and donations, who sees them, changing
and cancelling them, and the list with filters and exports."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.errors import NotFoundError
from orders import services_incoming as incoming
from orders.models import IncomingSupply
from orders.services_eu import NotAllowed, Rejected, destination_key
from orders.services_incoming import SupplyData
from orders.services_receiving import ReceiptData, receive_supply
from tests.conftest import organisation
from tests.orders.factories import location_of, make_user, product, warehouse
from tests.orders.factories_eu import make_supply

TODAY = date(2026, 3, 20)


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer", "SOS")


def _data(session, **changes) -> SupplyData:
    values = {
        "kind": "donation",
        "source": "  Stiftelsen   Skyddsutrustning ",
        "reference": "GAVA-2026-01",
        "product_id": product(session, "IIR-LOOP").id,
        "quantity": 100_000,
        "expected_on": date(2026, 3, 25),
        "destination": destination_key(warehouse(session, "NL-SYD")),
        "notes": "Pallets marked with the donor's name.",
    }
    values.update(changes)
    return SupplyData(**values)


def _fields(error: Rejected) -> set[str]:
    return {each.field for each in error.errors}


def _receive(session, user, supply, quantity: int):
    return receive_supply(
        session, user, supply, ReceiptData(quantity=quantity, lot_number="DON-1", received_on=TODAY,
                                           expiry_on=date(2030, 1, 31)), today=TODAY,
    )


# --- services ----------------------------------------------------------------------------------------------------


def test_an_agency_officer_registers_a_donation_to_a_national_warehouse(session, officer):
    supply = incoming.register_supply(session, officer, _data(session))

    assert supply.kind == "donation" and supply.source == "Stiftelsen Skyddsutrustning"
    assert supply.destination.code == "NL-SYD" and supply.status == "open" and supply.created_by_id == officer.id


def test_a_rescEU_allocation_can_go_straight_to_a_region(session, officer):
    supply = incoming.register_supply(session, officer, _data(
        session, kind="resceu", source="rescEU allocation C(2026) 1234", destination=f"organisation-{_id(session, 'REG-12')}",
    ))

    assert supply.destination.organisation.code == "REG-12"


def _id(session, code: str) -> int:
    return organisation(code).id


def test_a_supply_needs_its_kind_source_product_quantity_date_and_destination(session, officer):
    with pytest.raises(Rejected) as refused:
        incoming.register_supply(session, officer, SupplyData(
            kind="gift", source=" ", product_id=None, quantity=0, expected_on=None, destination="location-999999",
        ))

    assert _fields(refused.value) == {"kind", "source", "product_id", "quantity", "expected_on", "destination"}


def test_only_the_agency_registers_supplies(session):
    with pytest.raises(NotAllowed):
        incoming.register_supply(session, make_user(session, "purchasing_officer", "0180"), _data(session))


def test_a_region_sees_only_supplies_delivered_to_it(session, officer):
    to_region = make_supply(session, officer, destination=location_of(session, "REG-01"))
    to_warehouse = make_supply(session, officer)
    region = make_user(session, "purchasing_officer", "REG-01")
    county = make_user(session, "county_coordinator", "LST-14")

    assert incoming.get_supply(session, region, to_region.id) == to_region
    for user, supply in ((region, to_warehouse), (county, to_region)):
        with pytest.raises(NotFoundError):
            incoming.get_supply(session, user, supply.id)
    assert incoming.get_supply(session, make_user(session, "auditor", "RK-S"), to_warehouse.id) == to_warehouse


def test_a_partly_received_supply_keeps_its_product_and_destination_and_cannot_shrink_below_receipts(session, officer):
    supply = make_supply(session, officer, quantity=20_000)
    _receive(session, officer, supply, 12_000)
    assert supply.status == "partially_received" and incoming.received_quantity(session, supply) == 12_000

    with pytest.raises(Rejected) as refused:
        incoming.update_supply(session, officer, supply, _data(session, quantity=11_999))
    assert _fields(refused.value) == {"quantity", "product_id", "destination"}

    same = {"product_id": supply.product_id, "destination": destination_key(supply.destination)}
    incoming.update_supply(session, officer, supply, _data(session, quantity=12_000, **same))
    assert supply.status == "received" and supply.quantity == 12_000


def test_cancelling_needs_a_reason_kept_in_the_notes_and_no_receipts(session, officer):
    supply = make_supply(session, officer, notes="Second shipment")
    received = make_supply(session, officer)
    _receive(session, officer, received, 1_000)

    with pytest.raises(Rejected):
        incoming.cancel_supply(session, officer, supply, "  ")
    incoming.cancel_supply(session, officer, supply, "The donor withdrew the offer.")
    with pytest.raises(Rejected):
        incoming.cancel_supply(session, officer, received, "Too late")

    assert supply.status == "cancelled" and supply.notes == "Second shipment\n\nCancelled: The donor withdrew the offer."
    with pytest.raises(Rejected):
        incoming.update_supply(session, officer, supply, _data(session))


# --- pages -------------------------------------------------------------------------------------------------------


def test_an_officer_registers_a_supply_through_the_form(client, auth, users, session):
    auth.login(users.make("purchasing_lead", "SOS"))
    warehouse(session)
    session.commit()

    assert client.get("/orders/incoming/new").status_code == 200
    response = client.post("/orders/incoming/new", data={
        "kind": "resceu", "source": "rescEU allocation C(2026) 77", "reference": "RESCEU-77",
        "product_id": product(session, "FFP3-FOLD").id, "quantity": "250 000", "expected_on": "2026-04-02",
        "destination": destination_key(warehouse(session, "NL-MITT")), "notes": "",
    })

    supply = session.scalar(select(IncomingSupply).where(IncomingSupply.reference == "RESCEU-77"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/incoming/{supply.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "rescEU stockpile allocation" in page and "250,000" in page and "Nationellt lager Mitt" in page
    assert "Receive goods" in page


def test_a_bad_supply_form_shows_the_errors_and_saves_nothing(client, auth, users, session):
    auth.login(users.make("purchasing_officer", "SOS"))

    response = client.post("/orders/incoming/new", data={
        "kind": "donation", "source": "Donor", "product_id": product(session, "FFP3-FOLD").id, "quantity": "10",
        "expected_on": "2026-04-02", "destination": "location-999999",
    })

    assert response.status_code == 422 and "Choose where the goods go" in response.get_data(as_text=True)
    assert session.scalar(select(IncomingSupply)) is None


def test_the_list_filters_by_kind_and_exports_csv_and_xlsx(client, auth, users, session):
    officer = users.make("purchasing_officer", "SOS")
    make_supply(session, officer, kind="donation", source="Röda Korset", quantity=5_000)
    make_supply(session, officer, kind="resceu", source="rescEU allocation C(2026) 9")
    session.commit()
    auth.login(officer)

    donations = client.get("/orders/incoming/?kind=donation").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/orders/incoming/?format=csv&kind=donation").get_data(as_text=True)
                                       .lstrip("\ufeff")), delimiter=";"))
    sheet = load_workbook(io.BytesIO(client.get("/orders/incoming/?format=xlsx").data)).active

    assert "Röda Korset" in donations and "C(2026) 9" not in donations
    assert rows[0][0] == "Expected" and rows[1][1] == "Donation" and rows[1][2] == "Röda Korset" and rows[1][5] == "5000"
    assert sheet.max_row == 3 and {sheet.cell(r, 3).value for r in (2, 3)} == {"Röda Korset", "rescEU allocation C(2026) 9"}


def test_a_municipality_lists_only_its_own_supplies_and_gets_404_for_others(client, auth, users, session):
    agency = users.make("purchasing_officer", "SOS")
    own = make_supply(session, agency, source="Till Stockholm", destination=location_of(session, "0180"))
    other = make_supply(session, agency, source="Till Göteborg", destination=location_of(session, "1480"))
    session.commit()
    auth.login(users.make("purchasing_officer", "0180"))

    listing = client.get("/orders/incoming/").get_data(as_text=True)

    assert "Till Stockholm" in listing and "Till Göteborg" not in listing
    assert client.get(f"/orders/incoming/{own.id}").status_code == 200
    assert client.get(f"/orders/incoming/{other.id}").status_code == 404
    assert client.get(f"/orders/incoming/{own.id}/edit").status_code == 403


def test_cancelling_through_the_page(client, auth, users, session):
    officer = users.make("purchasing_officer", "SOS")
    supply = make_supply(session, officer)
    session.commit()
    auth.login(officer)

    refused = client.post(f"/orders/incoming/{supply.id}/cancel", data={"reason": ""})
    done = client.post(f"/orders/incoming/{supply.id}/cancel", data={"reason": "Shipment stopped"})

    assert refused.status_code == done.status_code == 302
    session.refresh(supply)
    assert supply.status == "cancelled" and "Shipment stopped" in supply.notes
