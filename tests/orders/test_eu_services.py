"""EU joint procurement: tenders, lots, framework contracts, the cascade of contractors, remaining quantities
and specific orders placed as purchase orders."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from orders import services_eu as eu
from orders import services_orders as orders
from orders.models import FrameworkContractor, OrderStatus, PurchaseOrder
from orders.services_eu import (
    ContractorData,
    DeliveryPlan,
    FrameworkData,
    LotData,
    NotAllowed,
    Rejected,
    SpecificOrderData,
    TenderData,
)
from suppliers.models import Supplier, VettingStatus
from suppliers.services import SupplierData
from tests.orders.factories import add_rate, location_of, make_user, product, warehouse
from tests.orders.factories_eu import make_contractor, make_framework, make_lot, make_tender
from tests.suppliers.factories import make_supplier

ORDER_DATE = date(2026, 3, 2)


@pytest.fixture
def officer(session):
    return make_user(session, "purchasing_officer", "SOS")


@pytest.fixture
def framework(session):
    add_rate(session, "EUR", "11.25")
    return make_framework(session)


def _fields(error: Rejected) -> dict[str, str]:
    return {each.field: each.message for each in error.errors}


def _order(session, quantity: int = 10_000, **changes) -> SpecificOrderData:
    values = {
        "quantity": quantity,
        "order_date": ORDER_DATE,
        "deliveries": [DeliveryPlan(date(2026, 3, 20), None, eu.destination_key(warehouse(session)))],
    }
    values.update(changes)
    return SpecificOrderData(**values)


# --- tenders, lots, framework contracts ------------------------------------------------------------------------


def test_an_agency_officer_records_a_tender_its_lot_and_a_framework_contract(session, officer):
    tender = eu.save_tender(session, officer, TenderData(
        reference=" SANTE/C3/2020/015 ", name="Eye and respiratory protection",
        published_on=date(2026, 3, 17), closing_on=date(2026, 3, 31),
    ))
    mask = product(session, "FFP2-CUP")
    lot = eu.save_lot(session, officer, tender, LotData(
        number=2, title="Goggles, visors, face shields", category_id=mask.category_id, product_id=mask.id,
        declared_quantity=250_000,
    ))
    framework = eu.save_framework(session, officer, lot, FrameworkData(
        reference="FWC-2020-015-L2", signed_on=date(2026, 4, 8), valid_from=date(2026, 4, 8),
        valid_until=date(2027, 4, 7),
    ))

    assert tender.reference == "SANTE/C3/2020/015"
    assert tender.lots == [lot] and lot.declared_quantity == 250_000 and lot.product == mask
    assert lot.framework_contracts == [framework]
    assert eu.tender_stage(tender, date(2026, 3, 20)) is eu.TenderStage.OPEN
    assert eu.tender_stage(tender, date(2026, 4, 1)) is eu.TenderStage.EVALUATION


def test_a_tender_reference_is_unique_whatever_its_case(session, officer):
    make_tender(session, reference="SANTE/C3/2020/015")

    with pytest.raises(Rejected) as refused:
        eu.save_tender(session, officer, TenderData(reference="sante/c3/2020/015", name="Again"))

    assert "already recorded" in _fields(refused.value)["reference"]


def test_a_tender_cannot_close_or_be_awarded_before_it_is_published(session, officer):
    with pytest.raises(Rejected) as refused:
        eu.save_tender(session, officer, TenderData(
            reference="SANTE/2026/1", name="Gloves", published_on=date(2026, 3, 1),
            closing_on=date(2026, 2, 1), awarded_on=date(2026, 2, 15),
        ))

    assert set(_fields(refused.value)) == {"closing_on", "awarded_on"}


def test_a_regional_purchasing_officer_cannot_manage_eu_procurement(session):
    regional = make_user(session, "purchasing_officer", "REG-01")

    with pytest.raises(NotAllowed):
        eu.save_tender(session, regional, TenderData(reference="SANTE/2026/2", name="Gowns"))
    assert not eu.can_manage(regional)
    assert eu.can_manage(make_user(session, "purchasing_lead", "SOS"))
    assert not eu.can_manage(make_user(session, "national_coordinator", "SOS"))


def test_a_lot_number_is_unique_in_its_tender_and_its_product_belongs_to_its_category(session, officer):
    lot = make_lot(session)
    gloves = product(session, "GLV-NIT-M")

    with pytest.raises(Rejected) as refused:
        eu.save_lot(session, officer, lot.tender, LotData(
            number=lot.number, title="Masks", category_id=lot.category_id, product_id=gloves.id, declared_quantity=-1,
        ))

    assert set(_fields(refused.value)) == {"number", "product_id", "declared_quantity"}


def test_a_framework_contract_cannot_end_before_it_starts_and_its_reference_is_unique(session, officer, framework):
    with pytest.raises(Rejected) as refused:
        eu.save_framework(session, officer, framework.lot, FrameworkData(
            reference=framework.reference.lower(), valid_from=date(2026, 5, 1), valid_until=date(2026, 4, 1),
        ))

    assert set(_fields(refused.value)) == {"reference", "valid_until"}


# --- contractors and the cascade ---------------------------------------------------------------------------------


def test_contractors_join_the_cascade_last_unless_given_a_free_rank(session, officer, framework):
    first = eu.save_contractor(session, officer, framework, ContractorData(
        supplier_id=make_supplier(session).id, max_quantity=40_000, unit_price="0,4512", currency="eur",
    ))
    second = eu.save_contractor(session, officer, framework, ContractorData(
        supplier_id=make_supplier(session).id, max_quantity=60_000, unit_price=Decimal("0.50"), currency="EUR",
    ))

    assert (first.rank, second.rank) == (1, 2)
    assert first.unit_price == Decimal("0.4512") and first.currency == "EUR"
    with pytest.raises(Rejected) as refused:
        eu.save_contractor(session, officer, framework, ContractorData(
            supplier_id=make_supplier(session).id, max_quantity=1, unit_price="1", currency="EUR", rank=2,
        ))
    assert "Rank 2 is held by" in _fields(refused.value)["rank"]


def test_a_contractor_not_in_the_registry_is_registered_there_as_a_new_supplier(session, officer, framework):
    contractor = eu.save_contractor(session, officer, framework, ContractorData(
        max_quantity=80_000, unit_price="0.38", currency="EUR",
        new_supplier=SupplierData(legal_name="Medisafe Europe GmbH", country="DE", kind="manufacturer",
                                  foreign_registration_number="HRB 998877"),
    ))

    supplier = session.scalar(select(Supplier).where(Supplier.legal_name == "Medisafe Europe GmbH"))
    assert contractor.supplier == supplier and supplier.status is VettingStatus.NEW


def test_the_registry_refusal_of_a_new_contractor_is_shown_and_nothing_is_registered(session, officer, framework):
    with pytest.raises(Rejected) as refused:
        eu.save_contractor(session, officer, framework, ContractorData(
            max_quantity=80_000, unit_price="0.38", currency="EUR",
            new_supplier=SupplierData(legal_name="Utan Nummer AB", country="SE", kind="manufacturer"),
        ))

    assert "organisation_number" in _fields(refused.value)
    assert session.scalar(select(Supplier).where(Supplier.legal_name == "Utan Nummer AB")) is None


def test_a_supplier_is_a_contractor_only_once_under_a_framework_contract(session, officer, framework):
    existing = make_contractor(session, framework)

    with pytest.raises(Rejected) as refused:
        eu.save_contractor(session, officer, framework, ContractorData(
            supplier_id=existing.supplier_id, max_quantity=1, unit_price="1", currency="EUR",
        ))

    assert "already a contractor" in _fields(refused.value)["supplier_id"]


def test_moving_a_contractor_swaps_it_with_its_neighbour_in_the_cascade(session, officer, framework):
    first, second, third = (make_contractor(session, framework) for _ in range(3))

    eu.move_contractor(session, officer, third, "up")

    assert [(c.rank, c.id) for c in sorted(framework.contractors, key=lambda c: c.rank)] == [
        (1, first.id), (2, third.id), (3, second.id)
    ]
    with pytest.raises(Rejected):
        eu.move_contractor(session, officer, first, "up")


def test_removing_a_contractor_closes_the_gap_in_the_cascade(session, officer, framework):
    first, second, third = (make_contractor(session, framework) for _ in range(3))

    eu.remove_contractor(session, officer, first)

    assert session.get(FrameworkContractor, first.id) is None
    assert (second.rank, third.rank) == (1, 2)


# --- specific orders and remaining quantities --------------------------------------------------------------------


def test_a_specific_order_becomes_a_draft_purchase_order_at_the_contractors_price_and_currency(
    session, officer, framework
):
    contractor = make_contractor(session, framework, unit_price=Decimal("0.4512"))

    order = eu.place_specific_order(session, officer, contractor, _order(session, 12_000, notes="Call-off 1"))

    assert order.status == OrderStatus.DRAFT and order.number.startswith("PO-2026-")
    assert order.framework_contractor == contractor and order.supplier == contractor.supplier
    assert order.buyer == officer.organisation and order.currency == "EUR"
    assert order.exchange_rate == Decimal("11.25") and order.notes == "Call-off 1"
    assert [(line.product.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("FFP2-CUP", 12_000, Decimal("0.4512"))
    ]
    assert [(d.quantity, d.destination.code) for d in order.deliveries] == [(12_000, "NL-MITT")]
    assert eu.standing_of(session, contractor).remaining == 38_000


def test_a_specific_order_may_deliver_to_warehouses_and_municipalities(session, officer, framework):
    contractor = make_contractor(session, framework)
    sundsvall = location_of(session, "2281")

    order = eu.place_specific_order(session, officer, contractor, _order(session, 10_000, deliveries=[
        DeliveryPlan(date(2026, 3, 20), 6_000, eu.destination_key(warehouse(session, "NL-SYD"))),
        DeliveryPlan(None, None, ""),
        DeliveryPlan(date(2026, 4, 3), 4_000, eu.destination_key(sundsvall)),
    ]))

    assert sorted((d.quantity, d.destination.code) for d in order.deliveries) == [
        (4_000, sundsvall.code), (6_000, "NL-SYD")
    ]


def test_deliveries_that_do_not_add_up_to_the_order_are_refused(session, officer, framework):
    contractor = make_contractor(session, framework)

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, contractor, _order(session, 10_000, deliveries=[
            DeliveryPlan(date(2026, 3, 20), 6_000, eu.destination_key(warehouse(session))),
            DeliveryPlan(date(2026, 3, 1), 3_000, "organisation-999999"),
        ]))

    messages = [e.message for e in refused.value.errors if e.field == "deliveries"]
    assert any("before the order date" in m for m in messages)
    assert any("choose where it goes" in m for m in messages)
    assert any("add up to 9000 units" in m for m in messages)


def test_an_order_beyond_the_remaining_quantity_is_refused_with_the_numbers(session, officer, framework):
    contractor = make_contractor(session, framework, max_quantity=50_000)
    eu.place_specific_order(session, officer, contractor, _order(session, 30_000))

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, contractor, _order(session, 20_001))

    message = _fields(refused.value)["quantity"]
    assert "Only 20000 units remain" in message and "30000 already ordered" in message and "20001" in message
    assert session.scalar(select(PurchaseOrder).where(PurchaseOrder.lines.any(quantity=20_001))) is None


def test_the_remaining_quantity_counts_every_order_but_cancelled_ones_and_follows_amendments(
    session, officer, framework
):
    contractor = make_contractor(session, framework, max_quantity=50_000)
    kept = eu.place_specific_order(session, officer, contractor, _order(session, 10_000))
    dropped = eu.place_specific_order(session, officer, contractor, _order(session, 15_000))
    assert eu.standing_of(session, contractor).remaining == 25_000

    orders.cancel_order(session, officer, dropped, "The Commission's allocation changed")
    assert eu.standing_of(session, contractor).remaining == 40_000

    orders.submit_order(session, officer, kept)
    orders.approve_order(session, make_user(session, "purchasing_lead"), kept)
    orders.send_order(session, officer, kept)
    delivery = kept.deliveries[0]
    orders.amend_order(
        session, officer, kept, reason="The contractor delivers less",
        lines=[orders.OrderLineInput(product=kept.lines[0].product, quantity=8_000, unit_price=kept.lines[0].unit_price)],
        deliveries=[orders.DeliveryInput(line_number=1, due_on=delivery.due_on, quantity=8_000,
                                         destination=delivery.destination, delivery_id=delivery.id)],
    )
    assert eu.standing_of(session, contractor).remaining == 42_000


def test_an_amendment_beyond_the_framework_maximum_is_refused(session, officer, framework):
    contractor = make_contractor(session, framework, max_quantity=50_000)
    first = eu.place_specific_order(session, officer, contractor, _order(session, 30_000))
    eu.place_specific_order(session, officer, contractor, _order(session, 15_000))

    eu.ensure_amendment_within_framework(session, first, 35_000)
    with pytest.raises(eu.EuProcurementError) as refused:
        eu.ensure_amendment_within_framework(session, first, 35_001)

    assert refused.value.field == "quantity" and "Only 35000 units remain" in refused.value.message


def test_amending_a_specific_order_beyond_the_framework_maximum_is_refused_and_changes_nothing(
    session, officer, framework
):
    contractor = make_contractor(session, framework, max_quantity=50_000)
    order = eu.place_specific_order(session, officer, contractor, _order(session, 30_000))
    eu.place_specific_order(session, officer, contractor, _order(session, 15_000))
    orders.submit_order(session, officer, order)
    orders.approve_order(session, make_user(session, "purchasing_lead"), order)
    orders.send_order(session, officer, order)
    delivery = order.deliveries[0]

    with pytest.raises(eu.EuProcurementError) as refused:
        orders.amend_order(
            session, officer, order, reason="The contractor offers more",
            lines=[orders.OrderLineInput(product=order.lines[0].product, quantity=35_001,
                                         unit_price=order.lines[0].unit_price)],
            deliveries=[orders.DeliveryInput(line_number=1, due_on=delivery.due_on, quantity=35_001,
                                             destination=delivery.destination, delivery_id=delivery.id)],
        )

    assert refused.value.field == "quantity"
    assert order.lines[0].quantity == 30_000 and eu.standing_of(session, contractor).remaining == 5_000


def test_rank_two_while_rank_one_has_quantity_left_needs_a_reason_kept_in_the_order_notes(session, officer, framework):
    first = make_contractor(session, framework, max_quantity=50_000)
    second = make_contractor(session, framework)

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, second, _order(session, 5_000))
    assert "still has 50000 units left" in _fields(refused.value)["cascade_reason"]

    order = eu.place_specific_order(session, officer, second, _order(
        session, 5_000, notes="Urgent", cascade_reason="Rank 1 cannot deliver before May."
    ))
    assert order.notes.startswith("Urgent\n\nCascade: ordered from rank 2 although rank 1")
    assert first.supplier.legal_name in order.notes and "Rank 1 cannot deliver before May." in order.notes


def test_rank_two_needs_no_reason_once_rank_one_is_used_up(session, officer, framework):
    first = make_contractor(session, framework, max_quantity=5_000)
    second = make_contractor(session, framework)
    eu.place_specific_order(session, officer, first, _order(session, 5_000))

    order = eu.place_specific_order(session, officer, second, _order(session, 5_000))

    assert order.notes is None and eu.cascade_ahead(session, second) == []


def test_a_specific_order_dated_outside_the_contracts_validity_is_refused(session, officer, framework):
    contractor = make_contractor(session, framework)

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, contractor, _order(session, order_date=date(2027, 3, 1)))

    assert "valid from 2026-03-01 to 2027-02-28" in _fields(refused.value)["order_date"]


def test_a_contractor_not_yet_approved_cannot_receive_a_specific_order(session, officer, framework):
    contractor = make_contractor(session, framework, supplier=make_supplier(session))

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, contractor, _order(session))

    assert "only approved suppliers can receive orders" in refused.value.errors[0].message


def test_a_lot_without_a_product_orders_one_of_its_category(session, officer):
    add_rate(session, "EUR", "11.25")
    contractor = make_contractor(session, make_framework(session, make_lot(session, sku=None)))

    with pytest.raises(Rejected) as refused:
        eu.place_specific_order(session, officer, contractor, _order(session, product_id=product(session, "GLV-NIT-M").id))
    assert "category" in _fields(refused.value)["product_id"]

    order = eu.place_specific_order(session, officer, contractor, _order(session, product_id=product(session, "FFP2-CUP").id))
    assert order.lines[0].product.sku == "FFP2-CUP"


def test_the_maximum_cannot_go_below_what_is_ordered_and_a_contractor_with_orders_stays(session, officer, framework):
    contractor = make_contractor(session, framework)
    eu.place_specific_order(session, officer, contractor, _order(session, 20_000))

    with pytest.raises(Rejected) as refused:
        eu.save_contractor(session, officer, framework, ContractorData(
            max_quantity=19_999, unit_price="0.45", currency="EUR"), contractor)
    assert "20000 units are already ordered" in _fields(refused.value)["max_quantity"]
    with pytest.raises(Rejected):
        eu.remove_contractor(session, officer, contractor)


def test_a_lot_with_orders_keeps_its_product(session, officer, framework):
    contractor = make_contractor(session, framework)
    eu.place_specific_order(session, officer, contractor, _order(session))
    lot = framework.lot
    other = product(session, "FFP2-FOLD")

    with pytest.raises(Rejected) as refused:
        eu.save_lot(session, officer, lot.tender, LotData(
            number=lot.number, title=lot.title, category_id=lot.category_id, product_id=other.id,
            declared_quantity=lot.declared_quantity,
        ), lot)

    assert "cannot change" in _fields(refused.value)["product_id"]
