"""Joint purchases: started from registered need or by hand, who may lead them, who sees them, editing a draft,
the cost split, and the purchase order made from them."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product
from app.errors import NotFoundError
from app.organisations.models import Organisation, OrganisationKind
from app.organisations.services import population_of
from app.stock.models import LocationKind
from app.timeutil import local_today
from orders import services_joint as services
from orders import services_orders as orders
from orders.models import JointPurchase, JointPurchaseStatus, OrderStatus
from orders.services_joint import JointOrderInput, JointPurchaseError
from suppliers.models import VettingStatus
from tests.conftest import organisation
from tests.orders.factories import make_approved_supplier, make_supplier, make_user, warehouse
from tests.orders.joint_factories import category, open_period, participant, report_need, start

UPPSALA_MUNICIPALITIES = ("0305", "0319", "0330", "0331", "0360", "0380", "0381", "0382")


@pytest.fixture
def period(session):
    return open_period(session)


@pytest.fixture
def agency_officer(session):
    return make_user(session, "purchasing_officer", "SOS")


@pytest.fixture
def region_officer(session):
    return make_user(session, "purchasing_officer", "REG-03")


def order_input(session, **overrides) -> JointOrderInput:
    values = {
        "supplier": overrides.pop("supplier", None) or make_approved_supplier(session),
        "product": session.scalar(select(Product).where(Product.sku == "FFP2-CUP")),
        "unit_price": Decimal("4.50"),
        "currency": "SEK",
        "order_date": date(2026, 3, 2),
        "due_on": date(2026, 3, 16),
        "delivery": "warehouse",
        "warehouse": warehouse(session),
    }
    values.update(overrides)
    return JointOrderInput(**values)


def visible(session, user) -> set[int]:
    return set(session.scalars(select(JointPurchase.id).where(services.joint_purchase_scope_clause(user))))


# --- starting from the register --------------------------------------------------------------------------------


def test_a_county_purchase_from_the_register_keeps_each_participants_need_and_takes_it(session, period, region_officer):
    report_need(session, period, "0380", 12_000)
    report_need(session, period, "0380", 3_000, branch="social_services")
    report_need(session, period, "REG-03", 40_000)
    report_need(session, period, "0305", 0)
    purchase = start(session, region_officer)

    assert purchase.reference.startswith(f"SI-{local_today().year}-") and len(purchase.reference) == 12
    assert purchase.status == JointPurchaseStatus.DRAFT
    assert purchase.lead_buyer == organisation("REG-03")
    assert purchase.need_read_at is not None
    assert len(purchase.participants) == 1 + len(UPPSALA_MUNICIPALITIES)
    assert purchase.participants[0].organisation == organisation("REG-03")  # regions first
    uppsala = participant(purchase, "0380")
    assert (uppsala.registered_need, uppsala.quantity) == (15_000, 15_000)  # both branches
    assert (participant(purchase, "REG-03").registered_need, participant(purchase, "REG-03").quantity) == (40_000, 40_000)
    # A reported zero is a report; no report at all is flagged by None and takes nothing by default.
    assert (participant(purchase, "0305").registered_need, participant(purchase, "0305").quantity) == (0, 0)
    assert (participant(purchase, "0319").registered_need, participant(purchase, "0319").quantity) == (None, 0)
    assert services.total_quantity(purchase) == 55_000


def test_references_follow_each_other_in_the_si_series(session, period, region_officer):
    first = start(session, region_officer)
    second = start(session, region_officer)
    assert int(second.reference[-4:]) == int(first.reference[-4:]) + 1


def test_a_report_older_than_the_register_allows_counts_as_no_current_report(session, period, region_officer):
    report_need(session, period, "0380", 12_000, age_days=30)
    report_need(session, period, "0381", 5_000, age_days=2)
    purchase = start(session, region_officer)
    assert participant(purchase, "0380").registered_need is None
    assert participant(purchase, "0381").registered_need == 5_000


def test_the_preview_shows_each_need_with_when_it_was_reported(session, period, region_officer):
    report_need(session, period, "0380", 12_000)
    rows = services.preview_need(
        session, region_officer,
        services.JointPurchaseInput(title="", category=category(session), recipients="county_municipalities",
                                    county_code="03"),
    )
    by_code = {row.organisation.municipality_code: row for row in rows}
    assert set(by_code) == set(UPPSALA_MUNICIPALITIES)
    assert by_code["0380"].need == 12_000 and by_code["0380"].last_reported_at is not None
    assert not by_code["0381"].has_report and by_code["0381"].last_reported_at is None


def test_the_snapshot_says_when_each_figure_was_reported(session, period, region_officer):
    report = report_need(session, period, "0380", 12_000)
    purchase = start(session, region_officer)
    times = services.snapshot_reported_at(session, purchase)
    assert times == {organisation("0380").id: report.version.submitted_at}


def test_a_purchase_by_hand_starts_with_no_snapshot_and_nothing_taken(session, period, region_officer):
    report_need(session, period, "0380", 12_000)
    purchase = start(session, region_officer, from_register=False)
    assert purchase.need_read_at is None
    assert {(p.registered_need, p.quantity) for p in purchase.participants} == {(None, 0)}


# --- recipients ------------------------------------------------------------------------------------------------


def test_the_recipient_choices_stand_for_the_right_organisations(session):
    municipalities = services.recipient_organisations(session, "county_municipalities", county_code="03")
    assert sorted(o.municipality_code for o in municipalities) == sorted(UPPSALA_MUNICIPALITIES)
    gotland = services.recipient_organisations(session, "county_municipalities", county_code="09")
    assert [o.code for o in gotland] == ["REG-09"]  # Region Gotland is the municipality too
    regions = services.recipient_organisations(session, "regions")
    assert len(regions) == 21 and all(o.kind == OrganisationKind.REGION for o in regions)
    everyone = services.recipient_organisations(session, "everyone")
    reporting = session.scalar(
        select(func.count(Organisation.id)).where(Organisation.kind.in_(["region", "municipality"]))
    )
    assert len(everyone) == reporting == 310
    picked = services.recipient_organisations(session, "picked", organisation_ids=[organisation("1480").id,
                                                                                   organisation("REG-01").id])
    assert [o.code for o in picked] == ["REG-01", "1480"]


def test_a_county_choice_without_a_county_and_a_pick_of_a_county_board_are_refused(session):
    with pytest.raises(JointPurchaseError) as caught:
        services.recipient_organisations(session, "county")
    assert caught.value.field == "county_code"
    with pytest.raises(JointPurchaseError) as caught:
        services.recipient_organisations(session, "picked", organisation_ids=[organisation("LST-01").id])
    assert caught.value.field == "organisation_ids"


# --- who may lead ----------------------------------------------------------------------------------------------


def test_the_agency_leads_a_purchase_for_every_region(session, period, agency_officer):
    purchase = start(session, agency_officer, recipients="regions", county_code=None)
    assert purchase.lead_buyer.code == "SOS" and len(purchase.participants) == 21


def test_a_region_cannot_lead_a_purchase_beyond_its_county(session, period, region_officer):
    with pytest.raises(JointPurchaseError) as caught:
        start(session, region_officer, recipients="regions", county_code=None)
    assert "own county (Uppsala län)" in caught.value.message
    assert "Region Stockholm" in caught.value.message and "and 15 more" in caught.value.message
    assert session.scalar(select(func.count(JointPurchase.id))) == 0


def test_a_lead_municipality_buys_for_its_county_but_not_for_a_picked_neighbour(session, period):
    officer = make_user(session, "purchasing_officer", "0380")
    purchase = start(session, officer, recipients="county_municipalities")
    assert purchase.lead_buyer.municipality_code == "0380"
    with pytest.raises(JointPurchaseError) as caught:
        start(session, officer, recipients="picked", county_code=None,
              organisation_ids=[organisation("0381").id, organisation("0180").id])
    assert "Stockholm kommun" in caught.value.message


def test_someone_who_does_not_buy_cannot_start_a_joint_purchase(session, period):
    coordinator = make_user(session, "county_coordinator", "LST-03")
    with pytest.raises(JointPurchaseError):
        start(session, coordinator)


def test_a_product_outside_the_category_is_refused(session, period, region_officer):
    gloves = session.scalar(select(Product).where(Product.sku == "GLV-NIT-M"))
    with pytest.raises(JointPurchaseError) as caught:
        start(session, region_officer, product=gloves)
    assert caught.value.field == "product_id"


# --- who sees --------------------------------------------------------------------------------------------------


def test_participants_and_the_county_board_see_the_purchase_and_others_do_not(session, period, region_officer):
    purchase = start(session, region_officer, recipients="picked", county_code=None,
                     organisation_ids=[organisation("0380").id, organisation("0381").id])
    participant_reporter = make_user(session, "reporter", "0380")
    bystander = make_user(session, "reporter", "0382")  # same county, not taking part
    board = make_user(session, "county_coordinator", "LST-03")
    other_board = make_user(session, "county_coordinator", "LST-01")
    auditor = make_user(session, "auditor", "RK-S")

    for user in (region_officer, participant_reporter, board, auditor):
        assert services.get_joint_purchase(session, user, purchase.id) is purchase
        assert purchase.id in visible(session, user)
    for user in (bystander, other_board):
        with pytest.raises(NotFoundError):
            services.get_joint_purchase(session, user, purchase.id)
        assert purchase.id not in visible(session, user)


def test_a_participant_may_read_but_not_change_a_purchase_it_does_not_lead(session, period, region_officer):
    purchase = start(session, region_officer)
    municipal_officer = make_user(session, "purchasing_officer", "0380")
    assert not services.can_manage(municipal_officer, purchase)
    with pytest.raises(JointPurchaseError):
        services.cancel_joint_purchase(session, municipal_officer, purchase)
    stranger = make_user(session, "purchasing_officer", "1480")
    with pytest.raises(NotFoundError):
        services.cancel_joint_purchase(session, stranger, purchase)
    assert services.can_manage(make_user(session, "purchasing_officer", "SOS"), purchase)


# --- editing a draft -------------------------------------------------------------------------------------------


def _edit(session, user, purchase, **changes):
    values = {"title": purchase.title, "cost_split": purchase.cost_split, "notes": purchase.notes, "quantities": {}}
    values.update(changes)
    return services.update_joint_purchase(session, user, purchase, **values)


def test_quantities_are_edited_and_zero_drops_a_participant_out_of_the_cost(session, period, region_officer):
    report_need(session, period, "0380", 12_000)
    purchase = start(session, region_officer)
    _edit(session, region_officer, purchase, quantities={organisation("0380").id: 10_000,
                                                         organisation("0381").id: 2_500})
    assert participant(purchase, "0380").quantity == 10_000
    assert participant(purchase, "0380").registered_need == 12_000  # the snapshot stays
    shares = services.computed_shares(session, purchase)
    assert shares[organisation("0380").id] == 800_000 and shares[organisation("0381").id] == 200_000
    assert sum(shares.values()) == 1_000_000
    assert shares[organisation("0382").id] == 0


def test_participants_are_removed_and_added_with_their_registered_need(session, period, agency_officer):
    report_need(session, period, "1480", 9_000)
    purchase = start(session, agency_officer, recipients="picked", county_code=None,
                     organisation_ids=[organisation("0380").id, organisation("0381").id])
    _edit(session, agency_officer, purchase, removed={organisation("0381").id}, added=[organisation("1480")])
    assert {p.organisation.code for p in purchase.participants} == {organisation("0380").code, "1480"}
    assert (participant(purchase, "1480").registered_need, participant(purchase, "1480").quantity) == (9_000, 9_000)


def test_a_region_cannot_add_an_organisation_of_another_county(session, period, region_officer):
    purchase = start(session, region_officer)
    with pytest.raises(JointPurchaseError) as caught:
        _edit(session, region_officer, purchase, added=[organisation("1480")])
    assert caught.value.field == "add_organisation_ids"


def test_a_negative_quantity_and_removing_everyone_are_refused(session, period, region_officer):
    purchase = start(session, region_officer, recipients="picked", county_code=None,
                     organisation_ids=[organisation("0380").id])
    with pytest.raises(JointPurchaseError) as caught:
        _edit(session, region_officer, purchase, quantities={organisation("0380").id: -1})
    assert caught.value.field == "participants"
    with pytest.raises(JointPurchaseError):
        _edit(session, region_officer, purchase, removed={organisation("0380").id})


def test_reading_the_need_again_follows_untouched_quantities_and_keeps_edited_ones(session, period, region_officer):
    report_need(session, period, "0380", 12_000)
    report_need(session, period, "0381", 4_000)
    purchase = start(session, region_officer)
    _edit(session, region_officer, purchase, quantities={organisation("0381").id: 1_000})
    report_need(session, period, "0380", 20_000)
    report_need(session, period, "0381", 6_000)
    report_need(session, period, "0382", 700)
    services.refresh_need(session, region_officer, purchase)
    assert (participant(purchase, "0380").registered_need, participant(purchase, "0380").quantity) == (20_000, 20_000)
    assert (participant(purchase, "0381").registered_need, participant(purchase, "0381").quantity) == (6_000, 1_000)
    assert (participant(purchase, "0382").registered_need, participant(purchase, "0382").quantity) == (700, 700)


# --- the cost split --------------------------------------------------------------------------------------------


def test_an_equal_split_shares_among_those_taking_part_only(session, period, region_officer):
    purchase = start(session, region_officer, recipients="picked", county_code=None, cost_split="equal",
                     organisation_ids=[organisation(c).id for c in ("0305", "0319", "0330", "0331")])
    _edit(session, region_officer, purchase, quantities={organisation("0305").id: 10, organisation("0319").id: 90,
                                                         organisation("0330").id: 1})
    shares = services.computed_shares(session, purchase)
    assert sorted(shares.values()) == [0, 333_333, 333_333, 333_334]
    assert shares[organisation("0331").id] == 0


def test_a_split_by_population_counts_a_region_as_its_countys_people(session, period, region_officer):
    purchase = start(session, region_officer, recipients="county", cost_split="by_population")
    _edit(session, region_officer, purchase,
          quantities={organisation("REG-03").id: 100, organisation("0380").id: 100})
    shares = services.computed_shares(session, purchase)
    region, uppsala = population_of(session, organisation("REG-03")), organisation("0380").population
    assert region == sum(organisation(c).population for c in UPPSALA_MUNICIPALITIES)
    assert abs(shares[organisation("0380").id] - 1_000_000 * uppsala / (region + uppsala)) < 1
    assert sum(shares.values()) == 1_000_000


def test_nobody_taking_anything_has_no_split_yet(session, period, region_officer):
    purchase = start(session, region_officer, from_register=False)
    shares, problem = services.cost_shares(session, purchase)
    assert shares is None and "enter the quantities" in problem


# --- ordering --------------------------------------------------------------------------------------------------


def _ready(session, officer, **kwargs):
    purchase = start(session, officer, recipients="picked", county_code=None,
                     organisation_ids=[organisation(c).id for c in ("0380", "0381", "0382")], **kwargs)
    _edit(session, officer, purchase, quantities={organisation("0380").id: 7_000, organisation("0381").id: 2_000,
                                                  organisation("0382").id: 0})
    return purchase


def test_ordering_to_a_warehouse_makes_one_line_for_the_sum_and_fixes_the_shares(session, period, region_officer):
    purchase = _ready(session, region_officer)
    order = services.order_joint_purchase(session, region_officer, purchase, order_input(session))

    assert order.status == OrderStatus.DRAFT and order.joint_purchase is purchase
    assert order.buyer == organisation("REG-03") and order.number.startswith("PO-2026-")
    assert [(line.product.sku, line.quantity) for line in order.lines] == [("FFP2-CUP", 9_000)]
    assert [(d.quantity, d.destination.code) for d in order.deliveries] == [(9_000, "NL-MITT")]
    assert purchase.status == JointPurchaseStatus.ORDERED
    shares = {p.organisation_id: p.cost_share_ppm for p in purchase.participants}
    assert shares == {organisation("0380").id: 777_778, organisation("0381").id: 222_222, organisation("0382").id: 0}
    amounts = services.participant_amounts(purchase, shares, order)
    assert sum(amounts.values()) == orders.order_value_ore(order) == 9_000 * 450
    assert amounts[organisation("0380").id] == 3_150_000


def test_ordering_straight_to_the_participants_schedules_one_delivery_each(session, period, region_officer):
    purchase = _ready(session, region_officer)
    order = services.order_joint_purchase(session, region_officer, purchase, order_input(session, delivery="direct",
                                                                                         warehouse=None))
    deliveries = {(d.destination.organisation_id, d.quantity) for d in order.deliveries}
    assert deliveries == {(organisation("0380").id, 7_000), (organisation("0381").id, 2_000)}
    assert all(d.destination.kind == LocationKind.ORGANISATION for d in order.deliveries)


def test_the_amounts_follow_an_odd_order_value_to_the_ore(session, period, region_officer):
    purchase = _ready(session, region_officer, cost_split="equal")
    order = services.order_joint_purchase(session, region_officer, purchase,
                                          order_input(session, unit_price=Decimal("0.0001")))
    shares = {p.organisation_id: p.cost_share_ppm for p in purchase.participants}
    amounts = services.participant_amounts(purchase, shares, order)
    assert orders.order_value_ore(order) == 90  # 9 000 × 0.0001 SEK
    assert amounts[organisation("0380").id] + amounts[organisation("0381").id] == 90
    assert amounts[organisation("0382").id] == 0


def test_an_order_to_a_supplier_not_approved_is_refused_and_the_purchase_stays_a_draft(session, period, region_officer):
    purchase = _ready(session, region_officer)
    supplier = make_supplier(session, vetting_status=VettingStatus.SUSPENDED.value, vetting_reason="Forged certificate")
    with pytest.raises(JointPurchaseError) as caught:
        services.order_joint_purchase(session, region_officer, purchase, order_input(session, supplier=supplier))
    assert caught.value.field == "supplier_id" and "Forged certificate" in caught.value.message
    assert purchase.status == JointPurchaseStatus.DRAFT


def test_an_order_needs_a_warehouse_or_direct_delivery_and_a_product_of_the_category(session, period, region_officer):
    purchase = _ready(session, region_officer)
    with pytest.raises(JointPurchaseError) as caught:
        services.order_joint_purchase(session, region_officer, purchase, order_input(session, warehouse=None))
    assert caught.value.field == "warehouse_id"
    gloves = session.scalar(select(Product).where(Product.sku == "GLV-NIT-M"))
    with pytest.raises(JointPurchaseError) as caught:
        services.order_joint_purchase(session, region_officer, purchase, order_input(session, product=gloves))
    assert caught.value.field == "product_id"


def test_a_purchase_with_nothing_taken_cannot_be_ordered(session, period, region_officer):
    purchase = start(session, region_officer, from_register=False)
    with pytest.raises(JointPurchaseError) as caught:
        services.order_joint_purchase(session, region_officer, purchase, order_input(session))
    assert caught.value.field == "participants"


def test_an_ordered_purchase_is_ordered_again_only_after_its_order_is_cancelled(session, period, region_officer):
    purchase = _ready(session, region_officer)
    order = services.order_joint_purchase(session, region_officer, purchase, order_input(session))
    with pytest.raises(JointPurchaseError):
        services.order_joint_purchase(session, region_officer, purchase, order_input(session))
    with pytest.raises(JointPurchaseError):
        _edit(session, region_officer, purchase, title="Changed")
    orders.cancel_order(session, region_officer, order, "The supplier cannot deliver")
    again = services.order_joint_purchase(session, region_officer, purchase, order_input(session))
    assert services.current_order(session, purchase) is again


def test_a_draft_is_cancelled_and_then_stays_as_it_is(session, period, region_officer):
    purchase = start(session, region_officer)
    services.cancel_joint_purchase(session, region_officer, purchase)
    assert purchase.status == JointPurchaseStatus.CANCELLED
    with pytest.raises(JointPurchaseError):
        services.cancel_joint_purchase(session, region_officer, purchase)
    with pytest.raises(JointPurchaseError):
        services.order_joint_purchase(session, region_officer, purchase, order_input(session))
