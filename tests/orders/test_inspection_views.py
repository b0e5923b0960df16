"""The receipt page: its inspection form with the supplier's certificates, release, rejection and what became
of rejected goods."""
from __future__ import annotations

from datetime import date

import pytest

from app.stock import ledger
from app.stock.models import StockState
from orders import services_receiving as receiving
from orders.models import InspectionOutcome, OrderStatus
from orders.services_receiving import ReceiptData
from suppliers.models import VerificationStatus
from tests.orders.factories import DUE_ON, make_order, make_user
from tests.suppliers.factories import make_certificate, make_supplier_product


@pytest.fixture
def receiver(session):
    return make_user(session, "purchasing_officer")


@pytest.fixture
def inspector(session):
    return make_user(session, "purchasing_lead")


@pytest.fixture
def receipt(session, receiver, inspector):
    order = make_order(session, OrderStatus.SENT, responsible=receiver)
    data = ReceiptData(quantity=10_000, lot_number="L-9", received_on=DUE_ON, expiry_on=date(2029, 6, 30))
    receipt = receiving.receive_delivery(session, receiver, order.deliveries[0], data, today=DUE_ON)
    session.commit()
    return receipt


def inspection(**overrides) -> dict:
    values = {
        "inspection-documents_checked": "y",
        "inspection-certificate_id": "",
        "inspection-sample_result": "passed",
        "inspection-decision": "release",
        "inspection-notes": "",
        "inspection-rejection_reason": "",
    }
    values.update(overrides)
    return values


def available(session, receipt) -> int:
    return ledger.balance(session, location=receipt.location, product=receipt.product, lot=receipt.lot,
                          state=StockState.AVAILABLE)


def test_the_receipt_page_warns_when_no_certificate_is_verified_and_valid(client, auth, inspector, receipt):
    auth.login(inspector)
    page = client.get(f"/orders/receipts/{receipt.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert receipt.number in text and "L-9" in text
    assert "no certificate registered" in text
    assert 'name="inspection-decision"' in text


def test_the_certificates_of_the_suppliers_model_are_offered(session, client, auth, inspector, receipt):
    model = make_supplier_product(session, supplier=receiving.supplier_of(receipt), product=receipt.product,
                                  model_name="Aura 9320+")
    certificate = make_certificate(session, model, verification_status=VerificationStatus.VERIFIED.value)
    session.commit()
    auth.login(inspector)
    text = client.get(f"/orders/receipts/{receipt.id}").get_data(as_text=True)
    assert "Aura 9320+" in text and f'value="{certificate.id}"' in text
    assert "no certificate registered" not in text


def test_an_inspector_releases_the_goods_for_allocation(session, client, auth, inspector, receipt):
    auth.login(inspector)
    response = client.post(f"/orders/receipts/{receipt.id}/inspect", data=inspection())
    assert response.status_code == 302
    assert receipt.outcome == InspectionOutcome.RELEASED
    assert available(session, receipt) == 10_000
    page = client.get(f"/orders/receipts/{receipt.id}").get_data(as_text=True)
    assert "Released" in page and 'name="inspection-decision"' not in page


def test_the_receiver_is_told_someone_else_must_release(client, auth, receiver, receipt):
    auth.login(receiver)
    assert "someone else must release them" in client.get(f"/orders/receipts/{receipt.id}").get_data(as_text=True)
    response = client.post(f"/orders/receipts/{receipt.id}/inspect", data=inspection())
    assert response.status_code == 422
    assert 'id="inspection-decision-error"' in response.get_data(as_text=True)
    assert receipt.outcome == InspectionOutcome.PENDING


def test_a_rejection_needs_its_reason_and_the_goods_are_then_returned(session, client, auth, inspector, receipt):
    auth.login(inspector)
    url = f"/orders/receipts/{receipt.id}/inspect"
    missing = client.post(url, data=inspection(**{"inspection-decision": "reject"}))
    assert missing.status_code == 422 and "Say why the goods are rejected" in missing.get_data(as_text=True)
    rejected = client.post(url, data=inspection(**{"inspection-decision": "reject",
                                                   "inspection-sample_result": "failed",
                                                   "inspection-rejection_reason": "Filtration 89 %"}))
    assert rejected.status_code == 302
    assert receipt.outcome == InspectionOutcome.REJECTED
    page = client.get(f"/orders/receipts/{receipt.id}").get_data(as_text=True)
    assert "Filtration 89 %" in page and "held apart as rejected stock" in page
    settled = client.post(f"/orders/receipts/{receipt.id}/settle",
                          data={"disposition-how": "return", "disposition-note": "Return RMA-77"})
    assert settled.status_code == 302
    assert receiving.rejected_remaining(session, receipt) == 0
    assert "All rejected units have been returned" in client.get(f"/orders/receipts/{receipt.id}").get_data(as_text=True)


def test_an_auditor_sees_the_receipt_but_cannot_inspect_it(session, client, auth, receipt):
    auditor = make_user(session, "auditor")
    session.commit()
    auth.login(auditor)
    page = client.get(f"/orders/receipts/{receipt.id}")
    assert page.status_code == 200 and 'name="inspection-decision"' not in page.get_data(as_text=True)
    assert client.post(f"/orders/receipts/{receipt.id}/inspect", data=inspection()).status_code == 403


def test_a_receipt_outside_the_users_scope_is_not_found(session, client, auth, receipt):
    municipality = make_user(session, "purchasing_officer", "0180")
    session.commit()
    auth.login(municipality)
    assert client.get(f"/orders/receipts/{receipt.id}").status_code == 404
    assert client.post(f"/orders/receipts/{receipt.id}/inspect", data=inspection()).status_code == 404
