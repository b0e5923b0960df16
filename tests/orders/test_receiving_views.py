"""Goods receipt pages: expected deliveries, the receive form, the list of receipts with filters and exports."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.stock import ledger
from app.stock.models import Lot, StockState
from app.timeutil import local_today
from orders import services_receiving as receiving
from orders.models import GoodsReceipt, IncomingSupply, IncomingSupplyKind, OrderStatus
from orders.services_receiving import InspectionData, ReceiptData
from tests.orders.factories import delivery, make_order, make_user, product, warehouse


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer")


@pytest.fixture
def order(session, officer):
    today = local_today()
    order = make_order(session, OrderStatus.SENT, responsible=officer, order_date=today - timedelta(days=20),
                       deliveries=[delivery(warehouse(session), due_on=today - timedelta(days=2))])
    session.commit()
    return order


def form(**overrides) -> dict:
    values = {
        "quantity": "4 000",
        "lot_number": "L-2026-031",
        "expiry_on": "2029-02-28",
        "manufactured_on": "2026-01-15",
        "received_on": local_today().isoformat(),
        "condition": "good",
        "notes": "Two pallets",
    }
    values.update(overrides)
    return values


def test_expected_deliveries_show_the_overdue_first_with_a_way_to_receive(session, client, auth, officer, order):
    today = local_today()
    session.add(IncomingSupply(kind=IncomingSupplyKind.DONATION.value, source="Företaget AB", product_id=product(session).id,
                               quantity=2_000, expected_on=today + timedelta(days=3),
                               destination_id=warehouse(session).id, created_by_id=officer.id))
    session.commit()
    auth.login(officer)
    page = client.get("/orders/receipts/expected")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.index(order.number) < text.index("Företaget AB")
    assert "Overdue" in text
    assert f"/orders/deliveries/{order.deliveries[0].id}/receive" in text


def test_the_receive_form_shows_the_outstanding_quantity_and_hides_acceptance_from_officers(client, auth, officer, order):
    auth.login(officer)
    page = client.get(f"/orders/deliveries/{order.deliveries[0].id}/receive")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert order.number in text and "10,500" in text
    assert "accept_over_delivery" not in text


def test_receiving_puts_the_goods_in_quarantine_and_opens_the_receipt(session, client, auth, officer, order):
    auth.login(officer)
    response = client.post(f"/orders/deliveries/{order.deliveries[0].id}/receive", data=form())
    assert response.status_code == 302
    receipt = session.scalar(select(GoodsReceipt).where(GoodsReceipt.scheduled_delivery_id == order.deliveries[0].id))
    assert response.headers["Location"].endswith(f"/orders/receipts/{receipt.id}")
    assert receipt.quantity == 4_000 and receipt.notes == "Two pallets"
    lot = session.scalar(select(Lot).where(Lot.lot_number == "L-2026-031"))
    assert ledger.balance(session, location=warehouse(session), product=product(session), lot=lot,
                          state=StockState.QUARANTINE) == 4_000
    page = client.get(response.headers["Location"])
    assert "in quarantine until inspected" in page.get_data(as_text=True)


def test_expired_goods_are_refused_beside_the_expiry_date(client, auth, officer, order):
    auth.login(officer)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    response = client.post(f"/orders/deliveries/{order.deliveries[0].id}/receive",
                           data=form(expiry_on=yesterday, manufactured_on=""))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="expiry_on-error"' in text and "expired goods are not received" in text


def test_an_over_delivery_needs_the_national_coordinator(session, client, auth, officer, order):
    auth.login(officer)
    url = f"/orders/deliveries/{order.deliveries[0].id}/receive"
    refused = client.post(url, data=form(quantity="11000", accept_over_delivery="y"))
    assert refused.status_code == 422
    assert "more than 5 % over" in refused.get_data(as_text=True)
    auth.logout()
    coordinator = make_user(session, "national_coordinator")
    session.commit()
    auth.login(coordinator)
    assert "accept_over_delivery" in client.get(url).get_data(as_text=True)
    accepted = client.post(url, data=form(quantity="11000", accept_over_delivery="y"))
    assert accepted.status_code == 302
    receipt = session.scalar(select(GoodsReceipt).where(GoodsReceipt.scheduled_delivery_id == order.deliveries[0].id))
    assert receipt.over_delivery_accepted_by_id == coordinator.id


def test_a_delivery_that_cannot_be_received_says_why(session, client, auth, officer):
    approved = make_order(session, OrderStatus.APPROVED, responsible=officer)
    session.commit()
    auth.login(officer)
    page = client.get(f"/orders/deliveries/{approved.deliveries[0].id}/receive")
    assert page.status_code == 200
    assert "only the deliveries of a sent or confirmed order" in page.get_data(as_text=True)
    assert client.post(f"/orders/deliveries/{approved.deliveries[0].id}/receive", data=form()).status_code == 422


def test_a_municipality_cannot_receive_another_organisations_delivery(session, client, auth, order):
    stockholm = make_user(session, "purchasing_officer", "0180")
    session.commit()
    auth.login(stockholm)
    assert client.get(f"/orders/deliveries/{order.deliveries[0].id}/receive").status_code == 404


def test_an_auditor_reads_receipts_but_cannot_receive(session, client, auth, order):
    auditor = make_user(session, "auditor")
    session.commit()
    auth.login(auditor)
    assert client.get("/orders/receipts/").status_code == 200
    assert client.get(f"/orders/deliveries/{order.deliveries[0].id}/receive").status_code == 403


def test_a_rescEU_allocation_is_received_through_the_form(session, client, auth, officer):
    supply = IncomingSupply(kind=IncomingSupplyKind.RESCEU.value, source="rescEU 2026/3", product_id=product(session).id,
                            quantity=1_000, expected_on=local_today(), destination_id=warehouse(session).id,
                            created_by_id=officer.id)
    session.add(supply)
    session.commit()
    auth.login(officer)
    assert "rescEU 2026/3" in client.get(f"/orders/incoming/{supply.id}/receive").get_data(as_text=True)
    response = client.post(f"/orders/incoming/{supply.id}/receive", data=form(quantity="1000"))
    assert response.status_code == 302
    assert supply.status == "received"


@pytest.fixture
def receipts(session, officer, order):
    lead = make_user(session, "purchasing_lead")
    today = local_today()
    first = receiving.receive_delivery(session, officer, order.deliveries[0],
                                       ReceiptData(4_000, "LOT-A", today, expiry_on=date(2029, 1, 31)), today=today)
    second = receiving.receive_delivery(session, officer, order.deliveries[0],
                                        ReceiptData(6_000, "LOT-B", today, expiry_on=date(2029, 2, 28)), today=today)
    receiving.inspect(session, lead, second, InspectionData("reject", True, "failed", rejection_reason="Fake CE"))
    session.commit()
    return first, second


def test_the_list_of_receipts_filters_by_outcome_and_finds_a_lot(client, auth, officer, receipts):
    first, second = receipts
    auth.login(officer)
    rejected = client.get("/orders/receipts/?outcome=rejected").get_data(as_text=True)
    assert second.number in rejected and first.number not in rejected and "Fake CE" in rejected
    found = client.get("/orders/receipts/?q=lot-a").get_data(as_text=True)
    assert first.number in found and second.number not in found
    by_supplier = client.get(f"/orders/receipts/?supplier={first.scheduled_delivery.order.supplier_id}")
    assert first.number in by_supplier.get_data(as_text=True)
    donations = client.get("/orders/receipts/?supplier=none").get_data(as_text=True)
    assert first.number not in donations


def test_the_list_of_receipts_exports_csv_and_xlsx(client, auth, officer, receipts):
    auth.login(officer)
    csv = client.get("/orders/receipts/?format=csv&received=7")
    assert csv.mimetype == "text/csv"
    body = csv.get_data(as_text=True)
    assert receipts[0].number in body and "LOT-B" in body
    xlsx = client.get("/orders/receipts/?format=xlsx")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet") and xlsx.data[:2] == b"PK"


def test_goods_receipt_is_in_the_navigation_of_those_who_read_orders(session, client, auth, officer):
    reporter = make_user(session, "reporter", "0180")
    session.commit()
    auth.login(officer)
    assert 'href="/orders/receipts/"' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(reporter)
    assert 'href="/orders/receipts/"' not in client.get("/").get_data(as_text=True)
