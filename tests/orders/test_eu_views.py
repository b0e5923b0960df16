"""EU joint procurement pages: the tender list with search, filters and exports, the tender page with remaining
quantities, the forms for tenders, lots, framework contracts and contractors, and placing specific orders."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from orders.models import FrameworkContract, FrameworkContractor, PurchaseOrder, Tender, TenderLot
from orders.services_eu import destination_key
from suppliers.models import Supplier
from tests.orders.factories import add_rate, product, warehouse
from tests.orders.factories_eu import make_contractor, make_framework, make_lot, make_tender
from tests.suppliers.factories import make_approved_supplier


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", "SOS", name="Olle Inköpare")


@pytest.fixture
def framework(session):
    add_rate(session, "EUR", "11.25")
    warehouse(session)  # the national warehouses exist
    framework = make_framework(session, make_lot(session, make_tender(session, reference="SANTE/C3/2020/015")))
    session.commit()
    return framework


# --- the list ------------------------------------------------------------------------------------------------------


def test_the_tender_list_searches_by_lot_title_and_filters_by_stage(client, auth, session, users):
    gloves = make_tender(session, reference="SANTE/2020/GLOVES", name="Gloves and gowns", awarded_on=None,
                         closing_on=date(2020, 3, 15), published_on=date(2020, 2, 28))
    make_lot(session, gloves, title="Nitrile examination gloves", sku="GLV-NIT-M")
    make_lot(session, make_tender(session, reference="SANTE/2020/EYE", name="Eye protection"), title="Visors")
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    by_lot = client.get("/orders/eu/?q=nitrile").get_data(as_text=True)
    evaluating = client.get("/orders/eu/?stage=evaluation").get_data(as_text=True)

    assert "SANTE/2020/GLOVES" in by_lot and "SANTE/2020/EYE" not in by_lot
    assert "SANTE/2020/GLOVES" in evaluating and "SANTE/2020/EYE" not in evaluating
    assert "Record a tender" not in by_lot  # a county board reads, it does not manage


def test_the_tender_list_exports_csv_and_xlsx(client, auth, session, officer):
    make_lot(session, make_tender(session, reference="SANTE/2020/EXPORT", name="=HYPERLINK(\"x\")"),
             declared_quantity=123_456)
    session.commit()
    auth.login(officer)

    rows = list(csv.reader(io.StringIO(client.get("/orders/eu/?format=csv&q=export").get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    workbook = load_workbook(io.BytesIO(client.get("/orders/eu/?format=xlsx&q=export").data))

    assert rows[0][:2] == ["Reference", "Name"] and rows[1][0] == "SANTE/2020/EXPORT"
    assert rows[1][1].startswith("'=") and rows[1][4] == "123456"
    sheet = workbook.active
    assert sheet.cell(2, 1).value == "SANTE/2020/EXPORT" and sheet.cell(2, 5).value == 123_456


def test_the_navigation_has_eu_joint_procurement(client, auth, officer):
    auth.login(officer)

    page = client.get("/").get_data(as_text=True)

    assert 'href="/orders/eu/"' in page and "EU joint procurement" in page


# --- the tender page ---------------------------------------------------------------------------------------------


def test_the_tender_page_shows_the_cascade_with_ordered_and_remaining_quantities(client, auth, session, officer, framework):
    first = make_contractor(session, framework, supplier=make_approved_supplier(session, legal_name="Första AB"),
                            max_quantity=50_000)
    make_contractor(session, framework, supplier=make_approved_supplier(session, legal_name="Andra AB"),
                    max_quantity=30_000)
    session.commit()
    auth.login(officer)
    client.post(f"/orders/eu/contractors/{first.id}/order", data=_order_form(session, 12_500))

    page = client.get(f"/orders/eu/{framework.lot.tender_id}").get_data(as_text=True)

    assert page.index("Första AB") < page.index("Andra AB")
    assert "12,500" in page and "37,500" in page and "30,000" in page
    assert "PO-2026-" in page and "Place a specific order" in page


def test_a_regional_officer_reads_tenders_but_cannot_change_them(client, auth, users, framework):
    auth.login(users.make("purchasing_officer", "REG-01"))

    assert client.get(f"/orders/eu/{framework.lot.tender_id}").status_code == 200
    assert "Edit the tender" not in client.get(f"/orders/eu/{framework.lot.tender_id}").get_data(as_text=True)
    assert client.get("/orders/eu/new").status_code == 403
    assert client.post("/orders/eu/new", data={"reference": "X", "name": "Y"}).status_code == 403


# --- the forms -------------------------------------------------------------------------------------------------


def test_an_officer_records_a_tender_a_lot_a_framework_contract_and_a_new_contractor(client, auth, session, officer):
    auth.login(officer)
    mask = product(session, "FFP2-CUP")

    response = client.post("/orders/eu/new", data={
        "reference": "SANTE/C3/2020/015", "name": "Eye and respiratory protection", "description": "",
        "published_on": "2020-03-17", "closing_on": "2020-03-31", "awarded_on": "",
    })
    tender = session.scalar(select(Tender).where(Tender.reference == "SANTE/C3/2020/015"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/eu/{tender.id}")

    assert client.get(f"/orders/eu/{tender.id}/lots/new").status_code == 200
    response = client.post(f"/orders/eu/{tender.id}/lots/new", data={
        "number": "1", "title": "Respirators FFP2", "category_id": mask.category_id, "product_id": mask.id,
        "specification": "EN 149", "declared_quantity": "1 000 000",
    })
    lot = session.scalar(select(TenderLot).where(TenderLot.tender_id == tender.id))
    assert response.status_code == 302 and lot.declared_quantity == 1_000_000

    response = client.post(f"/orders/eu/lots/{lot.id}/frameworks/new", data={
        "reference": "FWC-2020-015-L1", "signed_on": "2020-04-08", "valid_from": "2020-04-08",
        "valid_until": "2021-04-07",
    })
    framework = session.scalar(select(FrameworkContract).where(FrameworkContract.lot_id == lot.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#framework-{framework.id}")

    assert client.get(f"/orders/eu/frameworks/{framework.id}/contractors/new").status_code == 200
    response = client.post(f"/orders/eu/frameworks/{framework.id}/contractors/new", data={
        "supplier_id": "", "legal_name": "Schutzmasken Süd GmbH", "country": "DE", "kind": "manufacturer",
        "organisation_number": "", "foreign_registration_number": "HRB 4711",
        "rank": "", "max_quantity": "400 000", "unit_price": "0,4512", "currency": "EUR",
    })
    assert response.status_code == 302
    contractor = session.scalar(select(FrameworkContractor).where(FrameworkContractor.framework_contract_id == framework.id))
    assert contractor.supplier.legal_name == "Schutzmasken Süd GmbH" and contractor.rank == 1
    assert contractor.unit_price == Decimal("0.4512") and contractor.max_quantity == 400_000
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Schutzmasken Süd GmbH" in page and "400,000" in page


def test_a_bad_lot_is_shown_again_with_the_errors_beside_the_fields(client, auth, session, officer, framework):
    auth.login(officer)
    gloves = product(session, "GLV-NIT-M")

    response = client.post(f"/orders/eu/{framework.lot.tender_id}/lots/new", data={
        "number": str(framework.lot.number), "title": "Gloves", "category_id": framework.lot.category_id,
        "product_id": gloves.id, "declared_quantity": "0",
    })

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The tender already has a lot 1." in page and "another category than the lot" in page


def test_editing_a_contractor_and_moving_it_in_the_cascade(client, auth, session, officer, framework):
    first, second = make_contractor(session, framework), make_contractor(session, framework)
    session.commit()
    auth.login(officer)

    edited = client.post(f"/orders/eu/contractors/{second.id}/edit", data={
        "rank": "2", "max_quantity": "70000", "unit_price": "0.41", "currency": "EUR",
    })
    moved = client.post(f"/orders/eu/contractors/{second.id}/move", data={"direction": "up"})
    stuck = client.post(f"/orders/eu/contractors/{second.id}/move", data={"direction": "up"})

    assert edited.status_code == moved.status_code == stuck.status_code == 302
    session.refresh(first), session.refresh(second)
    assert (second.rank, first.rank) == (1, 2) and second.max_quantity == 70_000
    assert "cannot move further" in client.get(stuck.headers["Location"]).get_data(as_text=True)


def test_removing_a_contractor_without_orders(client, auth, session, officer, framework):
    contractor = make_contractor(session, framework)
    session.commit()
    auth.login(officer)

    response = client.post(f"/orders/eu/contractors/{contractor.id}/remove")

    assert response.status_code == 302 and session.get(FrameworkContractor, contractor.id) is None


# --- specific orders -------------------------------------------------------------------------------------------


def _order_form(session, quantity: int, **changes) -> dict:
    data = {
        "quantity": str(quantity), "order_date": "2026-03-02",
        "deliveries-0-due_on": "2026-03-20", "deliveries-0-quantity": "",
        "deliveries-0-destination": destination_key(warehouse(session)),
        "cascade_reason": "", "incoterm": "DAP", "incoterm_place": "Nationellt lager Mitt",
        "payment_terms": "30 days net", "notes": "",
    }
    data.update(changes)
    return data


def test_a_specific_order_opens_as_a_draft_purchase_order(client, auth, session, officer, framework):
    contractor = make_contractor(session, framework)
    session.commit()
    auth.login(officer)

    form = client.get(f"/orders/eu/contractors/{contractor.id}/order").get_data(as_text=True)
    response = client.post(f"/orders/eu/contractors/{contractor.id}/order", data=_order_form(session, 20_000))

    assert "Nationellt lager Mitt" in form and "50,000" in form
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.framework_contractor_id == contractor.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{order.id}")
    assert order.currency == "EUR" and order.incoterm == "DAP" and order.payment_terms == "30 days net"
    assert order.lines[0].quantity == 20_000 and order.lines[0].unit_price == Decimal("0.45")


def test_an_order_beyond_what_remains_is_refused_with_a_clear_message(client, auth, session, officer, framework):
    contractor = make_contractor(session, framework, max_quantity=10_000)
    session.commit()
    auth.login(officer)

    response = client.post(f"/orders/eu/contractors/{contractor.id}/order", data=_order_form(session, 10_001))

    assert response.status_code == 422
    assert "Only 10000 units remain" in response.get_data(as_text=True)
    assert session.scalar(select(PurchaseOrder).where(PurchaseOrder.framework_contractor_id == contractor.id)) is None


def test_the_cascade_asks_for_a_reason_on_the_order_page(client, auth, session, officer, framework):
    make_contractor(session, framework, supplier=make_approved_supplier(session, legal_name="Första AB"))
    second = make_contractor(session, framework)
    session.commit()
    auth.login(officer)

    form = client.get(f"/orders/eu/contractors/{second.id}/order").get_data(as_text=True)
    refused = client.post(f"/orders/eu/contractors/{second.id}/order", data=_order_form(session, 1_000))
    placed = client.post(f"/orders/eu/contractors/{second.id}/order",
                         data=_order_form(session, 1_000, cascade_reason="Första AB cannot deliver before May."))

    assert "Rank 1: Första AB" in form and "Why not a contractor ranked higher?" in form
    assert refused.status_code == 422 and "say why this order goes to rank 2" in refused.get_data(as_text=True)
    assert placed.status_code == 302
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.framework_contractor_id == second.id))
    assert "Första AB cannot deliver before May." in order.notes


def test_a_new_supplier_contractor_waits_for_vetting_before_its_first_order(client, auth, session, officer, framework):
    auth.login(officer)
    client.post(f"/orders/eu/frameworks/{framework.id}/contractors/new", data={
        "supplier_id": "", "legal_name": "Nya Masker AB", "country": "SE", "kind": "manufacturer",
        "organisation_number": "556036-0793", "foreign_registration_number": "",
        "max_quantity": "1000", "unit_price": "2", "currency": "SEK",
    })
    contractor = session.scalar(select(FrameworkContractor).join(Supplier).where(Supplier.legal_name == "Nya Masker AB"))

    response = client.post(f"/orders/eu/contractors/{contractor.id}/order", data=_order_form(session, 100))

    assert response.status_code == 422 and "only approved suppliers can receive orders" in response.get_data(as_text=True)
