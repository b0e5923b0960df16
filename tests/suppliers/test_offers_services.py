"""Offers: the rules for recording, changing and withdrawing them, and comparing a product's offers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from suppliers import services_offers as services
from suppliers.models import Offer, VettingStatus
from suppliers.services_certificates import CertificateState, NotAllowed, Rejected
from suppliers.services_offers import OfferData, OfferState
from tests.suppliers.factories import (
    catalogue_product,
    make_approved_supplier,
    make_certificate,
    make_offer,
    make_supplier,
    make_supplier_product,
)

TODAY = date(2026, 3, 2)


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer")


@pytest.fixture
def product(session):
    return catalogue_product(session, "FFP2-CUP")  # 240 per carton


def _data(product, **changes) -> OfferData:
    values = {
        "product_id": product.id,
        "unit_price": Decimal("4.2500"),
        "currency": "SEK",
        "minimum_order_quantity": 24_000,
        "lead_time_days": 21,
        "valid_from": TODAY,
        "valid_until": TODAY + timedelta(days=30),
        "capacity_per_week": 100_000,
        "incoterm": "DAP",
        "incoterm_place": "Göteborg",
        "notes": "Delivered to the national warehouse.",
    }
    values.update(changes)
    return OfferData(**values)


def _fields(refusal) -> dict:
    return {error.field: error.message for error in refusal.value.errors}


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Offer))


# --- recording ----------------------------------------------------------------------------------------------


def test_an_offer_is_recorded_with_an_exact_price(session, officer, product):
    supplier = make_supplier(session)

    offer = services.create_offer(session, officer, supplier, _data(product, unit_price=Decimal("0.2875")))
    session.expire(offer)

    assert offer.unit_price == Decimal("0.2875") and isinstance(offer.unit_price, Decimal)
    assert offer.created_by == officer and offer.incoterm == "DAP" and offer.incoterm_place == "Göteborg"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_price": Decimal(0)}, "unit_price"),
        ({"unit_price": Decimal(-1)}, "unit_price"),
        ({"unit_price": Decimal("1.23456")}, "unit_price"),
        ({"unit_price": None}, "unit_price"),
        ({"unit_price": Decimal("1E+12")}, "unit_price"),
        ({"currency": "BTC"}, "currency"),
        ({"minimum_order_quantity": 0}, "minimum_order_quantity"),
        ({"lead_time_days": -1}, "lead_time_days"),
        ({"capacity_per_week": 0}, "capacity_per_week"),
        ({"valid_until": TODAY - timedelta(days=1)}, "valid_until"),
        ({"valid_from": None}, "valid_from"),
        ({"incoterm": "DAT"}, "incoterm"),  # Incoterms 2010; 2020 replaced it with DPU
        ({"incoterm_place": ""}, "incoterm_place"),
        ({"incoterm": "", "incoterm_place": "Shanghai"}, "incoterm"),
        ({"product_id": None}, "product_id"),
        ({"product_id": 999_999}, "product_id"),
    ],
)
def test_a_broken_rule_is_refused_beside_its_field_and_nothing_is_saved(
    session, officer, product, changes, field
):
    supplier = make_supplier(session)

    with pytest.raises(Rejected) as refused:
        services.create_offer(session, officer, supplier, _data(product, **changes))

    assert field in _fields(refused)
    assert _count(session) == 0


def test_a_price_with_trailing_zeros_beyond_four_decimals_is_the_same_price(session, officer, product):
    offer = services.create_offer(
        session, officer, make_supplier(session), _data(product, unit_price=Decimal("4.250000"))
    )

    assert offer.unit_price == Decimal("4.25")


def test_the_model_must_be_the_suppliers_own_and_of_the_product(session, officer, product):
    supplier = make_supplier(session)
    others = make_supplier_product(session, make_supplier(session), product)
    masks = make_supplier_product(session, supplier, catalogue_product(session, "IIR-LOOP"))

    with pytest.raises(Rejected) as foreign:
        services.create_offer(session, officer, supplier, _data(product, supplier_product_id=others.id))
    with pytest.raises(Rejected) as wrong_product:
        services.create_offer(session, officer, supplier, _data(product, supplier_product_id=masks.id))

    assert "this supplier's models" in _fields(foreign)["supplier_product_id"]
    assert "another product" in _fields(wrong_product)["supplier_product_id"]


def test_only_offer_managers_record_offers(session, users, product):
    with pytest.raises(NotAllowed):
        services.create_offer(session, users.make("production_team"), make_supplier(session), _data(product))


def test_an_inactive_product_gets_no_new_offers(session, officer, product):
    product.active = False

    with pytest.raises(Rejected) as refused:
        services.create_offer(session, officer, make_supplier(session), _data(product))

    assert "no longer active" in _fields(refused)["product_id"]


# --- changing and withdrawing -------------------------------------------------------------------------------


def test_an_offer_is_changed_while_not_withdrawn(session, officer, product):
    offer = make_offer(session, product=product)

    services.update_offer(session, officer, offer, _data(product, unit_price=Decimal("3.99"), currency="EUR"))

    assert offer.unit_price == Decimal("3.99") and offer.currency == "EUR"


def test_a_withdrawn_offer_cannot_be_changed(session, officer, product):
    offer = make_offer(session, product=product, withdrawn_at=utcnow(), withdrawn_reason="Sold elsewhere")

    with pytest.raises(Rejected, match="withdrawn"):
        services.update_offer(session, officer, offer, _data(product))


def test_withdrawing_needs_a_reason_and_happens_once(session, officer, product):
    offer = make_offer(session, product=product)
    moment = utcnow()

    with pytest.raises(Rejected) as no_reason:
        services.withdraw_offer(session, officer, offer, "  ")
    services.withdraw_offer(session, officer, offer, "The factory's stock went to another buyer.", now=moment)
    with pytest.raises(Rejected, match="already"):
        services.withdraw_offer(session, officer, offer, "again")

    assert "reason" in _fields(no_reason)
    assert (
        offer.withdrawn_at == moment
        and offer.withdrawn_reason == "The factory's stock went to another buyer."
    )


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, OfferState.CURRENT),
        ({"valid_from": TODAY + timedelta(days=1)}, OfferState.UPCOMING),
        ({"valid_from": date(2025, 1, 1), "valid_until": TODAY - timedelta(days=1)}, OfferState.EXPIRED),
        ({"withdrawn_at": utcnow(), "withdrawn_reason": "x"}, OfferState.WITHDRAWN),
        ({"valid_until": TODAY}, OfferState.CURRENT),
    ],
)
def test_an_offers_state_follows_its_dates_and_withdrawal(session, changes, state):
    offer = make_offer(session, **changes)

    assert services.offer_state(offer, TODAY) is state
    ids = set(session.scalars(select(Offer.id).where(services.offer_state_clause(state, TODAY))))
    assert offer.id in ids


# --- comparison ---------------------------------------------------------------------------------------------


def test_the_comparison_shows_current_offers_with_vetting_certificate_and_carton_price(session, product):
    approved = make_approved_supplier(session, legal_name="Approved AB")
    model = make_supplier_product(session, approved, product)
    make_certificate(session, model, verification_status="verified", valid_from=date(2025, 1, 1))
    good = make_offer(session, approved, product, supplier_product=model, unit_price=Decimal("5.10"))
    new = make_offer(
        session, make_supplier(session, legal_name="New AB"), product, unit_price=Decimal("3.00")
    )
    make_offer(session, approved, product, withdrawn_at=utcnow(), withdrawn_reason="x")
    make_offer(session, approved, product, valid_from=date(2025, 1, 1), valid_until=TODAY - timedelta(days=1))
    make_offer(session, approved, catalogue_product(session, "IIR-LOOP"))

    rows = services.compare_offers(session, product, TODAY)

    assert [row.offer for row in rows] == [new, good]  # cheapest first
    cheap, certified = rows
    assert not cheap.supplier_approved and cheap.certificate is None
    assert certified.supplier_approved and certified.certificate is CertificateState.VALID
    assert certified.pack_price == Decimal("5.10") * 240
    assert certified.unit_price_sek == Decimal("5.1000")


def test_without_a_rate_foreign_prices_are_not_converted_and_are_ranked_only_within_their_currency(
    session, product
):
    sek = make_offer(session, product=product, unit_price=Decimal("9.00"), currency="SEK")
    eur = make_offer(session, product=product, unit_price=Decimal("0.80"), currency="EUR")
    eur_dear = make_offer(session, product=product, unit_price=Decimal("1.10"), currency="EUR")

    rows = services.compare_offers(session, product, TODAY)

    assert [row.offer for row in rows] == [eur, eur_dear, sek]
    assert [row.unit_price_sek for row in rows] == [None, None, Decimal("9.0000")]


def test_with_reference_rates_offers_are_ranked_in_sek(session, product):
    sek = make_offer(session, product=product, unit_price=Decimal("9.00"), currency="SEK")
    usd = make_offer(session, product=product, unit_price=Decimal("0.80"), currency="USD")
    eur = make_offer(session, product=product, unit_price=Decimal("0.85"), currency="EUR")
    rates = services.parse_reference_rates("EUR=11.40, USD=10.50")

    rows = services.compare_offers(session, product, TODAY, rates)

    assert [row.offer for row in rows] == [usd, sek, eur]
    assert [row.unit_price_sek for row in rows] == [Decimal("8.4000"), Decimal("9.0000"), Decimal("9.6900")]


def test_reference_rates_ignore_unknown_currencies_and_nonsense():
    rates = services.parse_reference_rates("EUR=11.40, XYZ=3, USD=abc, NOK=-1, gbp = 13.1")

    assert rates == {"EUR": Decimal("11.40"), "GBP": Decimal("13.1"), "SEK": Decimal(1)}
    assert services.parse_reference_rates({"usd": "10.5"}) == {"USD": Decimal("10.5"), "SEK": Decimal(1)}
    assert services.parse_reference_rates("") == {"SEK": Decimal(1)}


def test_the_comparison_sorts_by_lead_time_capacity_and_vetting(session, product):
    slow = make_offer(
        session, make_approved_supplier(session), product, lead_time_days=60, capacity_per_week=None
    )
    fast = make_offer(
        session, make_supplier(session, vetting_status=VettingStatus.SUSPENDED), product, lead_time_days=3
    )
    rows = services.compare_offers(session, product, TODAY)

    assert [r.offer for r in services.sort_compared(rows, "lead_time")] == [fast, slow]
    assert [r.offer for r in services.sort_compared(rows, "lead_time", descending=True)] == [slow, fast]
    assert [r.offer for r in services.sort_compared(rows, "status")] == [slow, fast]
    # An offer that states no capacity comes last both ways.
    assert [r.offer for r in services.sort_compared(rows, "capacity")] == [fast, slow]
    assert [r.offer for r in services.sort_compared(rows, "capacity", descending=True)] == [fast, slow]
