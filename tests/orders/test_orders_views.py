"""Purchase order pages: list with filters and exports, the order form, the steps, amendments, versions, the PDF,
exchange rates and approval rules."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from orders import approval
from orders.models import ApprovalRule, ExchangeRate, OrderStatus, PurchaseOrder
from tests.conftest import organisation
from tests.orders.factories import (
    add_rate,
    line,
    make_approved_supplier,
    make_offer,
    make_order,
    make_user,
    product,
    warehouse,
)


@pytest.fixture
def officer(session):
    user = make_user(session, "purchasing_officer")
    session.commit()
    return user


def _order_form(supplier, **changes) -> dict:
    mitt = warehouse(db.session)
    data = {
        "supplier_id": str(supplier.id),
        "order_date": "2026-03-02",
        "currency": "SEK",
        "lines-0-product_id": str(product_id()),
        "lines-0-quantity": "12 000",
        "lines-0-unit_price": "4,25",
        "deliveries-0-line_number": "1",
        "deliveries-0-due_on": "2026-03-20",
        "deliveries-0-quantity": "7 000",
        "deliveries-0-destination": f"loc-{mitt.id}",
        "deliveries-1-line_number": "1",
        "deliveries-1-due_on": "2026-03-27",
        "deliveries-1-quantity": "5000",
        "deliveries-1-destination": f"org-{organisation('0180').id}",
        "incoterm": "DAP",
        "incoterm_place": "Nationellt lager Mitt",
        "payment_terms": "30 dagar netto",
    }
    data.update(changes)
    return data


def product_id() -> int:
    return product(db.session).id


def test_the_navigation_offers_purchase_orders_to_those_who_see_them(client, auth, officer, users):
    auth.login(officer)
    assert b"Purchase orders" in client.get("/").data
    auth.logout()
    auth.login(users.make("reporter", "0180"))
    assert b"Purchase orders" not in client.get("/").data
    assert client.get("/orders/").status_code == 403


def test_an_officer_drafts_an_order_with_deliveries_to_a_warehouse_and_a_municipality(
    client, auth, session, officer
):
    supplier = make_approved_supplier(session)
    session.commit()
    auth.login(officer)
    assert client.get("/orders/new").status_code == 200
    response = client.post("/orders/new", data=_order_form(supplier))
    assert response.status_code == 302
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.supplier_id == supplier.id))
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    assert order.status == OrderStatus.DRAFT and order.buyer_id == officer.organisation_id
    assert [(line.quantity, line.unit_price) for line in order.lines] == [(12_000, Decimal("4.25"))]
    assert [(d.quantity, d.destination.organisation_id) for d in order.deliveries] == [
        (7000, None),
        (5000, organisation("0180").id),
    ]
    page = client.get(f"/orders/{order.id}").data.decode()
    assert order.number in page and "51" in page and "Stockholm" in page


def test_a_schedule_that_does_not_add_up_is_shown_beside_the_schedule(client, auth, session, officer):
    supplier = make_approved_supplier(session)
    session.commit()
    auth.login(officer)
    response = client.post("/orders/new", data=_order_form(supplier, **{"deliveries-1-quantity": "4000"}))
    assert response.status_code == 422
    assert "add up to 11" in response.data.decode()


def test_a_half_filled_line_row_is_an_error_beside_it(client, auth, session, officer):
    supplier = make_approved_supplier(session)
    session.commit()
    auth.login(officer)
    response = client.post("/orders/new", data=_order_form(supplier, **{"lines-1-quantity": "10"}))
    assert response.status_code == 422
    assert "Fill in the product, the quantity and the unit price" in response.data.decode()


def test_an_order_to_an_unapproved_supplier_is_refused_beside_the_supplier(client, auth, session, officer):
    from tests.suppliers.factories import make_supplier

    supplier = make_supplier(session)
    session.commit()
    auth.login(officer)
    response = client.post("/orders/new", data=_order_form(supplier))
    assert response.status_code == 422
    assert "only approved suppliers can receive orders" in response.data.decode()


def test_an_offer_fills_in_the_new_order(client, auth, session, officer):
    supplier = make_approved_supplier(session)
    offer = make_offer(
        session,
        supplier=supplier,
        currency="EUR",
        unit_price=Decimal("0.3950"),
        incoterm="FCA",
        incoterm_place="Shanghai",
    )
    add_rate(session, "EUR", "11.20", date(2026, 1, 2))
    session.commit()
    auth.login(officer)
    page = client.get(f"/orders/new?offer_id={offer.id}").data.decode()
    assert f'value="{offer.id}"' in page and "0.3950" in page and "Shanghai" in page
    assert f'<option selected value="{supplier.id}"' in page or f'value="{supplier.id}" selected' in page
    data = _order_form(
        supplier,
        currency="EUR",
        offer_id=str(offer.id),
        incoterm="FCA",
        incoterm_place="Shanghai",
        **{"lines-0-unit_price": "0.395"},
    )
    response = client.post("/orders/new", data=data)
    assert response.status_code == 302
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.offer_id == offer.id))
    assert order.exchange_rate == Decimal("11.20") and order.currency == "EUR"


def test_the_order_goes_from_draft_to_sent_through_two_officers(client, auth, session, officer):
    order = make_order(session, responsible=officer)
    approver = make_user(session, "purchasing_lead")
    session.commit()
    auth.login(officer)
    assert client.post(f"/orders/{order.id}/submit").status_code == 302
    # The submitter's own approval is refused with the four-eyes message.
    client.post(f"/orders/{order.id}/approve")
    assert "four eyes" in client.get(f"/orders/{order.id}").data.decode()
    auth.logout()
    auth.login(approver)
    assert "Approve the order" in client.get(f"/orders/{order.id}").data.decode()
    client.post(f"/orders/{order.id}/approve")
    assert order.status == OrderStatus.APPROVED
    auth.logout()
    auth.login(officer)
    client.post(f"/orders/{order.id}/send")
    assert (
        client.post(f"/orders/{order.id}/confirm", data={"confirm-supplier_reference": ""}).status_code == 422
    )
    client.post(f"/orders/{order.id}/confirm", data={"confirm-supplier_reference": "OC-7781"})
    session.refresh(order)
    assert order.status == OrderStatus.CONFIRMED and order.supplier_reference == "OC-7781"


def test_an_approver_returns_an_order_with_a_reason(client, auth, session, officer):
    order = make_order(session, OrderStatus.SUBMITTED, responsible=officer)
    approver = make_user(session, "purchasing_lead")
    session.commit()
    auth.login(approver)
    response = client.post(f"/orders/{order.id}/return", data={"return-reason": ""})
    assert response.status_code == 422 and "Give the reason." in response.data.decode()
    assert (
        client.post(f"/orders/{order.id}/return", data={"return-reason": "Wrong warehouse"}).status_code
        == 302
    )
    session.refresh(order)
    assert order.status == OrderStatus.DRAFT


def test_an_order_is_cancelled_with_a_reason(client, auth, session, officer):
    order = make_order(session, OrderStatus.APPROVED, responsible=officer)
    session.commit()
    auth.login(officer)
    client.post(f"/orders/{order.id}/cancel", data={"cancel-reason": "Found a cheaper offer"})
    session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert "Found a cheaper offer" in client.get(f"/orders/{order.id}").data.decode()


def test_the_pdf_carries_the_terms_lines_schedule_value_and_approver(client, auth, session, officer):
    approver = make_user(session, "purchasing_lead", name="Åsa Öberg")
    order = make_order(
        session,
        OrderStatus.APPROVED,
        responsible=officer,
        approver=approver,
        incoterm="DAP",
        incoterm_place="Nationellt lager Mitt",
        payment_terms="30 dagar netto",
    )
    session.commit()
    auth.login(officer)
    response = client.get(f"/orders/{order.id}/order.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (
        order.number,
        order.supplier.legal_name,
        "FFP2-CUP",
        "2026-03-16",
        "Nationellt lager Mitt",
        "DAP",
        "30 dagar netto",
        "Åsa Öberg",
        "45",
    ):
        assert expected in text, expected


def test_the_list_filters_by_state_supplier_category_and_due_date_and_exports(client, auth, session, officer):
    draft = make_order(session, responsible=officer)
    sent = make_order(session, OrderStatus.SENT, responsible=officer)
    gloves = make_order(session, responsible=officer, lines=[line(session, sku="GLV-NIT-M")])
    outside = make_order(session, buyer_code="1480")
    session.commit()
    auth.login(officer)

    def numbers(query: str) -> set[str]:
        page = client.get(f"/orders/?{query}").data.decode()
        return {o.number for o in (draft, sent, gloves, outside) if o.number in page}

    assert numbers("") == {draft.number, sent.number, gloves.number, outside.number}  # the agency sees all
    assert numbers("status=sent") == {sent.number}
    assert numbers(f"supplier={sent.supplier_id}") == {sent.number}
    assert numbers("category=gloves") == {gloves.number}
    assert numbers("due=none") == set()
    assert numbers(f"q={gloves.number}") == {gloves.number}
    csv = client.get("/orders/?format=csv&status=sent").data.decode("utf-8-sig")
    assert sent.number in csv and draft.number not in csv
    workbook = load_workbook(io.BytesIO(client.get("/orders/?format=xlsx").data))
    assert workbook.active.max_row == 5


def test_a_municipality_officer_sees_only_its_own_orders(client, auth, session):
    own = make_order(session, buyer_code="0180")
    other = make_order(session, buyer_code="1480")
    stockholm_officer = make_user(session, "purchasing_officer", "0180")
    session.commit()
    auth.login(stockholm_officer)
    page = client.get("/orders/").data.decode()
    assert own.number in page and other.number not in page
    assert client.get(f"/orders/{other.id}").status_code == 404
    assert client.get(f"/orders/{other.id}/order.pdf").status_code == 404


def test_an_amendment_makes_a_version_and_the_earlier_one_is_readable(client, auth, session, officer):
    order = make_order(session, OrderStatus.CONFIRMED, responsible=officer)
    session.commit()
    auth.login(officer)
    page = client.get(f"/orders/{order.id}/amend")
    assert page.status_code == 200
    delivery = order.deliveries[0]
    data = {
        "reason": "Supplier confirmed 9 000",
        "lines-0-quantity": "9000",
        "lines-0-unit_price": "4.50",
        "deliveries-0-delivery_id": str(delivery.id),
        "deliveries-0-line_number": "1",
        "deliveries-0-due_on": "2026-03-18",
        "deliveries-0-quantity": "9000",
        "deliveries-0-destination": f"loc-{delivery.destination_id}",
    }
    assert client.post(f"/orders/{order.id}/amend", data=data).status_code == 302
    session.refresh(order)
    assert order.version == 2
    first = client.get(f"/orders/{order.id}/versions/1").data.decode()
    assert "10" in first and "2026-03-16" in first and "An earlier version" in first
    second = client.get(f"/orders/{order.id}/versions/2").data.decode()
    assert "Supplier confirmed 9 000" in second and "2026-03-18" in second
    assert client.get(f"/orders/{order.id}/versions/3").status_code == 404


def test_a_draft_is_edited_on_its_form(client, auth, session, officer):
    order = make_order(session, responsible=officer)
    session.commit()
    auth.login(officer)
    page = client.get(f"/orders/{order.id}/edit").data.decode()
    assert "10000" in page or "10 000" in page
    data = _order_form(order.supplier, **{"lines-0-quantity": "12000"})
    assert client.post(f"/orders/{order.id}/edit", data=data).status_code == 302
    session.refresh(order)
    assert order.lines[0].quantity == 12_000 and order.version == 1


def test_a_purchasing_lead_records_an_exchange_rate_and_an_officer_only_reads_them(
    client, auth, session, users
):
    lead = users.make("purchasing_lead")
    auth.login(lead)
    response = client.post(
        "/orders/exchange-rates",
        data={"currency": "USD", "valid_on": "2026-03-02", "sek_per_unit": "10,4321"},
    )
    assert response.status_code == 302
    assert session.scalar(select(ExchangeRate.sek_per_unit).where(ExchangeRate.currency == "USD")) == Decimal(
        "10.4321"
    )
    assert (
        client.post(
            "/orders/exchange-rates", data={"currency": "USD", "valid_on": "2026-03-02", "sek_per_unit": "-1"}
        ).status_code
        == 422
    )
    auth.logout()
    auth.login(users.make("purchasing_officer"))
    page = client.get("/orders/exchange-rates").data.decode()
    assert "10,4321" in page or "10.4321" in page
    assert "Record the rate" not in page
    assert client.post("/orders/exchange-rates", data={"currency": "EUR"}).status_code == 403


def test_the_national_coordinator_edits_the_approval_rules(client, auth, session, users):
    coordinator = users.make("national_coordinator")
    auth.login(coordinator)
    page = client.get("/orders/approval-rules").data.decode()
    assert "the defaults apply" in page
    data = {
        "rules-0-max_value_sek": "5 000 000",
        "rules-0-roles": ["purchasing_officer", "purchasing_lead"],
        "rules-1-max_value_sek": "",
        "rules-1-roles": ["national_coordinator"],
    }
    assert client.post("/orders/approval-rules", data=data).status_code == 302
    assert approval.current_rules(session) == [
        approval.RuleSpec(5_000_000 * 100, (approval.Role.PURCHASING_OFFICER, approval.Role.PURCHASING_LEAD)),
        approval.RuleSpec(None, (approval.Role.NATIONAL_COORDINATOR,)),
    ]
    refused = client.post(
        "/orders/approval-rules",
        data={"rules-0-max_value_sek": "100", "rules-0-roles": ["purchasing_officer"]},
    )
    assert refused.status_code == 422 and "no limit" in refused.data.decode()
    assert len(session.scalars(select(ApprovalRule)).all()) == 2
    auth.logout()
    auth.login(users.make("purchasing_lead"))
    assert client.get("/orders/approval-rules").status_code == 403


def test_a_delivery_straight_to_a_region_is_offered_to_the_agency(client, auth, session, officer):
    warehouse(session)
    session.commit()
    auth.login(officer)
    page = client.get("/orders/new").data.decode()
    assert f"org-{organisation('REG-01').id}" in page and "Nationellt lager Syd" in page
