"""Offer pages: recording, editing and withdrawing, the lists with filters and exports, the comparison."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.timeutil import local_today
from suppliers.models import Offer, VettingStatus
from tests.suppliers.factories import (
    catalogue_product,
    make_approved_supplier,
    make_certificate,
    make_offer,
    make_supplier,
    make_supplier_product,
)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Offer))


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


@pytest.fixture
def supplier(session):
    supplier = make_supplier(session, legal_name="Mask i Borås AB")
    session.commit()
    return supplier


def _form(session, **changes) -> dict:
    today = local_today()
    return {
        "product_id": catalogue_product(session, "FFP2-CUP").id,
        "supplier_product_id": "",
        "unit_price": "4,25",
        "currency": "SEK",
        "minimum_order_quantity": "24 000",
        "lead_time_days": "14",
        "capacity_per_week": "100000",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=30)).isoformat(),
        "incoterm": "FCA",
        "incoterm_place": "Borås",
        "notes": "",
        **changes,
    }


# --- recording, editing, withdrawing ------------------------------------------------------------------------


def test_an_officer_records_an_offer_with_a_swedish_decimal_comma(client, auth, session, officer, supplier):
    auth.login(officer)
    model = make_supplier_product(
        session, supplier, catalogue_product(session, "FFP2-CUP"), model_name="BM-1"
    )
    session.commit()

    response = client.post(
        f"/suppliers/{supplier.id}/offers/new", data=_form(session, supplier_product_id=model.id)
    )

    assert response.status_code == 302
    offer = session.scalars(select(Offer)).one()
    assert offer.unit_price == Decimal("4.25") and offer.minimum_order_quantity == 24_000
    assert offer.supplier_product == model and offer.incoterm == "FCA" and offer.created_by == officer
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "4.25 SEK" in page and "1,020.00 SEK" in page and "FCA Borås" in page


def test_a_bad_offer_is_shown_again_beside_its_fields_and_nothing_is_saved(
    client, auth, session, officer, supplier
):
    auth.login(officer)

    response = client.post(
        f"/suppliers/{supplier.id}/offers/new",
        data=_form(session, unit_price="4,12345", incoterm_place="", lead_time_days="-2"),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="unit_price-error"' in page and "at most 4 decimals" in page
    assert 'id="incoterm_place-error"' in page and 'id="lead_time_days-error"' in page
    assert _count(session) == 0


def test_roles_without_offer_management_cannot_record_offers(client, auth, users, supplier):
    auth.login(users.make("production_team"))

    assert client.get(f"/suppliers/{supplier.id}/offers/new").status_code == 403


def test_an_offer_is_edited_and_then_withdrawn_with_a_reason(client, auth, session, officer, supplier):
    offer = make_offer(session, supplier)
    session.commit()
    auth.login(officer)

    edited = client.post(
        f"/suppliers/offers/{offer.id}/edit", data=_form(session, unit_price="3.9", currency="EUR")
    )
    refused = client.post(f"/suppliers/offers/{offer.id}/withdraw", data={"reason": ""})
    withdrawn = client.post(
        f"/suppliers/offers/{offer.id}/withdraw", data={"reason": "Sold to another buyer"}
    )

    assert edited.status_code == 302 and refused.status_code == 422 and withdrawn.status_code == 302
    session.refresh(offer)
    assert offer.unit_price == Decimal("3.9") and offer.currency == "EUR"
    assert offer.withdrawn_reason == "Sold to another buyer" and offer.withdrawn_at is not None
    page = client.get(f"/suppliers/offers/{offer.id}").get_data(as_text=True)
    assert "Sold to another buyer" in page and "Edit the offer" not in page


def test_a_withdrawn_offer_is_not_changed_by_its_edit_form(client, auth, session, officer, supplier):
    offer = make_offer(session, supplier, withdrawn_at=utcnow(), withdrawn_reason="Gone")
    session.commit()
    auth.login(officer)

    response = client.post(f"/suppliers/offers/{offer.id}/edit", data=_form(session, unit_price="1.00"))

    assert response.status_code == 422 and "withdrawn" in response.get_data(as_text=True)
    session.refresh(offer)
    assert offer.unit_price == Decimal("4.5")


def test_the_supplier_page_says_when_a_supplier_is_not_approved(client, auth, users, session, supplier):
    make_offer(session, supplier)
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    page = client.get(f"/suppliers/{supplier.id}/offers").get_data(as_text=True)

    assert "not approved" in page and "4.50" in page and "Record an offer" not in page


# --- the list of all offers ---------------------------------------------------------------------------------


@pytest.fixture
def market(session):
    today = local_today()
    approved = make_approved_supplier(session, legal_name="Godkänd AB")
    new = make_supplier(session, legal_name="Ny AB")
    offers = {
        "current": make_offer(session, approved, unit_price=Decimal("4.10")),
        "eur": make_offer(session, new, currency="EUR", unit_price=Decimal("0.39")),
        "expired": make_offer(
            session, approved, valid_from=today - timedelta(days=90), valid_until=today - timedelta(days=1)
        ),
        "withdrawn": make_offer(session, approved, withdrawn_at=utcnow(), withdrawn_reason="x"),
        "gloves": make_offer(
            session, new, catalogue_product(session, "GLV-NIT-M"), unit_price=Decimal("0.95")
        ),
    }
    session.commit()
    return offers


def _ids(client, query: str) -> list[str]:
    response = client.get(f"/suppliers/offers/?format=csv&sort=price&dir=asc&{query}")
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    return [f"{row['Supplier']} {row['Product']} {row['Price per unit']} {row['Currency']}" for row in rows]


def test_the_offer_list_filters_by_validity_currency_vetting_category_and_product(
    client, auth, officer, market
):
    auth.login(officer)
    ffp2 = market["current"].product_id

    assert _ids(client, "validity=current") == [
        "Ny AB FFP2-CUP 0.39 EUR",
        "Ny AB GLV-NIT-M 0.95 SEK",
        "Godkänd AB FFP2-CUP 4.10 SEK",
    ]
    assert _ids(client, "validity=expired") == ["Godkänd AB FFP2-CUP 4.50 SEK"]
    assert _ids(client, "validity=withdrawn") == ["Godkänd AB FFP2-CUP 4.50 SEK"]
    assert _ids(client, "currency=EUR") == ["Ny AB FFP2-CUP 0.39 EUR"]
    assert _ids(client, f"supplier_status={VettingStatus.NEW.value}") == [
        "Ny AB FFP2-CUP 0.39 EUR",
        "Ny AB GLV-NIT-M 0.95 SEK",
    ]
    assert _ids(client, "category=gloves") == ["Ny AB GLV-NIT-M 0.95 SEK"]
    assert len(_ids(client, f"product={ffp2}")) == 4


def test_the_offer_list_exports_xlsx_and_shows_a_page(client, auth, users, market):
    auth.login(users.make("auditor"))

    page = client.get("/suppliers/offers/?validity=current")
    export = client.get("/suppliers/offers/?format=xlsx")

    assert page.status_code == 200 and "Godkänd AB" in page.get_data(as_text=True)
    assert export.status_code == 200 and export.data[:2] == b"PK"


# --- comparing one product's offers -------------------------------------------------------------------------


def test_the_comparison_flags_unapproved_suppliers_and_uncertified_models(
    client, auth, users, session, market
):
    product = market["current"].product
    model = make_supplier_product(session, market["current"].supplier, product, model_name="GodMask 1")
    make_certificate(
        session, model, verification_status="verified", valid_from=local_today() - timedelta(days=30)
    )
    market["current"].supplier_product = model
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    response = client.get(f"/suppliers/products/{product.id}/offers")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Godkänd AB" in page and "Ny AB" in page and "GLV-NIT-M" not in page
    assert 'badge-red">New<' in page and 'badge-green">Approved<' in page
    assert "Valid and verified" in page and "No model stated" in page
    assert "984.00 SEK" in page  # 4.10 × 240 per carton
    assert "cannot be ranked against each other" in page and "reference rate" not in page


def test_with_configured_rates_the_comparison_adds_an_sek_column(
    app, client, auth, officer, market, monkeypatch
):
    monkeypatch.setitem(app.config, "SAMORDNA_REFERENCE_RATES", "EUR=11.50")
    monkeypatch.setitem(app.config, "SAMORDNA_REFERENCE_RATES_DATE", "2026-03-02")
    auth.login(officer)

    page = client.get(f"/suppliers/products/{market['current'].product_id}/offers?sort=price_sek&dir=desc")

    text = page.get_data(as_text=True)
    assert "Per unit in SEK (reference rate)" in text and "≈ 4.485 SEK" in text.replace("4.4850", "4.485")
    assert "EUR = 11.50 SEK" in text and "2026-03-02" in text
    assert text.index("Ny AB") < text.index("Godkänd AB")  # 0.39 EUR ≈ 4.49 SEK before 4.10 SEK, descending


def test_the_catalogue_product_page_links_to_the_comparison(client, auth, users, session):
    product = catalogue_product(session, "IIR-LOOP")
    auth.login(users.make("reporter", "0180"))

    page = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)

    assert f"/suppliers/products/{product.id}/offers" in page
