"""Allocation rounds and decisions: claims from registered need, the preview, adjustments, deciding with the
ledger, notifications, cancelling and who sees and manages what."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from allocation import services_rounds as rounds
from allocation.models_distribution import AllocationRound, RoundStatus, Shipment
from allocation.services_rounds import ProductInput, RoundError, RoundSettings
from app.audit.models import AuditEntry
from app.auth.models import User
from app.notifications.models import Notice
from app.numbering import DocumentSequence
from app.stock import ledger
from app.stock.models import StockState
from app.timeutil import local_today
from tests.allocation.rounds_factories import (
    category,
    open_county_round,
    product,
    release,
    report,
)
from tests.conftest import organisation


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


@pytest.fixture
def stockholm_need(session, users, period):
    """Three municipalities of Stockholm county with respirator need: 7, 0 and 20 days of supply."""
    report(session, users, period, "0114", stock=70, consumption_7d=70, need=200)
    report(session, users, period, "0115", stock=0, consumption_7d=35, need=100)
    report(session, users, period, "0117", stock=200, consumption_7d=70, need=100)


def lines_by_code(round_) -> dict[str, object]:
    return {line.recipient.municipality_code or line.recipient.code: line for line in round_.lines}


def reserved(session, sku: str, warehouse: str = "NL-MITT") -> int:
    location = ledger.location_by_code(session, warehouse)
    return ledger.total(session, product=product(session, sku), state=StockState.RESERVED, location_ids=[location.id])


# --- opening a round and its preview ------------------------------------------------------------------------


def test_a_round_shares_out_released_stock_by_days_of_supply_and_explains_each_line(
    session, coordinator, stockholm_need
):
    release(session, "FFP2-CUP", 500)

    round_ = open_county_round(session, coordinator, quantity=200, pack_size=10)

    assert round_.status == RoundStatus.DRAFT and round_.number is None
    lines = lines_by_code(round_)
    assert {code: line.quantity for code, line in lines.items()} == {"0114": 110, "0115": 90, "0117": 0}
    vasby = lines["0114"]
    assert (vasby.need, vasby.stock, vasby.daily_use) == (200, 70, "10")
    assert (vasby.days_before, vasby.days_after, vasby.continuous_share) == ("7", "18", "110")
    assert vasby.computed_quantity == vasby.quantity and not vasby.capped
    assert lines["0115"].days_before == "0"


def test_the_preview_totals_supply_need_allocation_and_what_is_left_over(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 1000)
    round_ = open_county_round(session, coordinator, quantity=600, pack_size=10)

    [preview] = rounds.preview(session, round_)

    assert preview.supply == 600 and preview.total_need == 400
    assert preview.computed == preview.decided == 400
    assert preview.left_over == 200 and preview.unmet_need == 0
    assert preview.available == 1000
    assert all(view.line.capped for view in preview.lines)


def test_a_branch_of_activity_adds_to_the_organisations_claim(session, users, period, coordinator):
    report(session, users, period, "0180", stock=100, consumption_7d=70, need=300, branch="social_services")
    report(session, users, period, "0180", stock=50, consumption_7d=70, need=100, branch="lss")
    release(session, "FFP2-CUP", 100)

    round_ = open_county_round(session, coordinator, quantity=100)

    [line] = round_.lines
    assert (line.need, line.stock, line.daily_use) == (400, 150, "20")


def test_need_outside_the_rounds_county_is_left_out(session, users, period, coordinator, stockholm_need):
    report(session, users, period, "1480", stock=0, consumption_7d=700, need=5000)
    release(session, "FFP2-CUP", 200)

    round_ = open_county_round(session, coordinator, quantity=200)

    assert "1480" not in lines_by_code(round_)


def test_all_regions_and_municipalities_with_need_take_part_in_a_national_round(
    session, users, period, coordinator, stockholm_need
):
    report(session, users, period, "1480", stock=0, consumption_7d=700, need=5000)
    report(session, users, period, "REG-14", stock=0, consumption_7d=70, need=0)
    release(session, "FFP2-CUP", 200)

    round_ = open_county_round(session, coordinator, quantity=200, recipient_scope="all", county=None)

    assert set(lines_by_code(round_)) == {"0114", "0115", "0117", "1480"}
    assert round_.county_code is None


def test_the_quantity_to_share_out_cannot_exceed_what_is_available_and_unreserved(
    session, coordinator, stockholm_need
):
    warehouse = release(session, "FFP2-CUP", 100)
    ledger.reserve(session, None, location=warehouse, product=product(session, "FFP2-CUP"), quantity=30)

    with pytest.raises(RoundError, match="only 70 are available") as refused:
        open_county_round(session, coordinator, quantity=80)
    assert refused.value.field == "products"


def test_lots_expiring_today_or_earlier_are_not_available_to_share_out(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 100, lot="OLD", expiry_on=local_today() - timedelta(days=1))
    release(session, "FFP2-CUP", 70, lot="TODAY", expiry_on=local_today())
    release(session, "FFP2-CUP", 50, lot="NEW", expiry_on=local_today() + timedelta(days=400))

    assert rounds.available_stock(session, ledger.location_by_code(session, "NL-MITT"))[
        product(session, "FFP2-CUP").id
    ] == 50
    with pytest.raises(RoundError, match="only 50"):
        open_county_round(session, coordinator, quantity=60)


def test_a_product_meeting_another_categorys_need_says_why_and_reads_that_need(session, users, period, coordinator):
    report(session, users, period, "0180", stock=0, consumption_7d=700, need=1000, category_code="surgical_masks")
    release(session, "FFP2-CUP", 500)
    masks = category(session, "surgical_masks")

    with pytest.raises(RoundError, match="equivalent or better"):
        open_county_round(session, coordinator, products=[ProductInput(product(session, "FFP2-CUP"), 500, 10, masks)])
    round_ = open_county_round(session, coordinator, products=[
        ProductInput(product(session, "FFP2-CUP"), 500, 10, masks, "FFP2 protects at least as well as type IIR")
    ])

    [rp] = round_.products
    assert rp.need_category == masks and rp.substitute_note == "FFP2 protects at least as well as type IIR"
    [line] = round_.lines
    assert (line.need, line.quantity) == (1000, 500)


def test_the_pack_size_defaults_to_the_products_carton(session, users, period, coordinator):
    report(session, users, period, "0180", stock=0, consumption_7d=700, need=1000)
    release(session, "FFP2-CUP", 1000)

    round_ = open_county_round(session, coordinator, quantity=1000, pack_size=None)

    assert round_.products[0].pack_size == 240
    assert round_.lines[0].quantity == 960  # four cartons: the fifth would exceed the 1000 needed in total


def test_the_population_policy_gives_recipients_without_a_report_their_population_share(
    session, users, period, coordinator
):
    report(session, users, period, "0180", stock=0, consumption_7d=70, need=50)
    release(session, "FFP2-CUP", 10_000)

    round_ = open_county_round(session, coordinator, quantity=10_000, pack_size=10, policy="population")

    lines = lines_by_code(round_)
    assert lines["0180"].need == 50 and lines["0180"].quantity == 50
    assert len(lines) == 27  # Region Stockholm and the county's 26 municipalities
    solna = lines["0184"]
    assert solna.daily_use == "" and solna.days_before is None  # no current report
    assert solna.population == organisation("0184").population
    assert solna.quantity > 0 and sum(line.quantity for line in round_.lines) <= 10_000
    assert rounds.without_report_count(session, round_) == 26


def test_under_days_of_supply_the_coordinator_is_told_how_many_have_no_report(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 200)

    round_ = open_county_round(session, coordinator, quantity=200)

    assert rounds.without_report_count(session, round_) == 27 - 3
    assert len(round_.lines) == 3


def test_county_boards_claim_the_sum_of_their_countys_claims(session, users, period, coordinator, stockholm_need):
    report(session, users, period, "1480", stock=0, consumption_7d=70, need=300)
    release(session, "FFP2-CUP", 1000)

    round_ = open_county_round(session, coordinator, quantity=1000, recipient_scope="county_boards", county=None)

    lines = lines_by_code(round_)
    assert set(lines) == {"LST-01", "LST-14"}
    stockholm = lines["LST-01"]
    assert (stockholm.need, stockholm.stock, stockholm.daily_use) == (400, 270, "25")
    assert lines["LST-14"].need == 300
    assert round_.county_code is None


def test_products_meeting_the_same_need_share_it_in_turn(session, users, period, coordinator):
    report(session, users, period, "0180", stock=0, consumption_7d=70, need=500)
    release(session, "FFP2-CUP", 300)
    release(session, "FFP2-FOLD", 400)

    round_ = open_county_round(session, coordinator, products=[
        ProductInput(product(session, "FFP2-CUP"), 300, 10), ProductInput(product(session, "FFP2-FOLD"), 400, 10),
    ])

    by_sku = {line.product.sku: line for line in round_.lines}
    assert by_sku["FFP2-CUP"].quantity == 300
    assert (by_sku["FFP2-FOLD"].need, by_sku["FFP2-FOLD"].quantity) == (200, 200)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"settings": RoundSettings("  ")}, "title"),
        ({"settings": RoundSettings("Round", policy="lottery")}, "policy"),
        ({"settings": RoundSettings("Round", horizon_days=0)}, "horizon_days"),
        ({"recipient_scope": "county", "county_code": None}, "county_code"),
        ({"recipient_scope": "everyone"}, "recipient_scope"),
        ({"products": []}, "products"),
    ],
)
def test_a_round_with_bad_settings_is_refused_beside_the_field(session, coordinator, change, field):
    release(session, "FFP2-CUP", 100)
    arguments = {
        "settings": RoundSettings("Round"),
        "source_location": ledger.location_by_code(session, "NL-MITT"),
        "recipient_scope": "all",
        "county_code": None,
        "products": [ProductInput(product(session, "FFP2-CUP"), 100, 10)],
    }
    arguments.update(change)

    with pytest.raises(RoundError) as refused:
        rounds.open_round(session, coordinator, **arguments)
    assert refused.value.field == field


def test_a_product_twice_in_a_round_is_refused(session, coordinator):
    release(session, "FFP2-CUP", 100)
    ffp2 = product(session, "FFP2-CUP")

    with pytest.raises(RoundError, match="twice"):
        open_county_round(session, coordinator, products=[ProductInput(ffp2, 50, 10), ProductInput(ffp2, 50, 10)])


def test_only_the_national_coordinator_opens_national_rounds(session, users):
    release(session, "FFP2-CUP", 100)

    for who in (users.make("county_coordinator", "LST-01"), users.make("auditor", "SOS")):
        with pytest.raises(RoundError, match="national coordinator"):
            open_county_round(session, who, quantity=100)


def test_a_round_shares_out_stock_from_a_national_warehouse_only(session, coordinator):
    board = ledger.location_for_organisation(session, organisation("LST-01"))

    with pytest.raises(RoundError) as refused:
        rounds.open_round(session, coordinator, settings=RoundSettings("Round"), source_location=board,
                          recipient_scope="all", products=[ProductInput(product(session, "FFP2-CUP"), 1, 1)])
    assert refused.value.field == "source_location_id"


def test_changing_a_draft_computes_it_again(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 1000)
    round_ = open_county_round(session, coordinator, quantity=200)

    rounds.update_round(session, coordinator, round_, settings=RoundSettings("More FFP2", horizon_days=30),
                        products=[ProductInput(product(session, "FFP2-CUP"), 400, 20)], recipient_scope="county",
                        county_code="01")

    assert round_.title == "More FFP2" and round_.horizon_days == 30
    assert round_.products[0].quantity == 400 and round_.products[0].pack_size == 20
    assert sum(line.quantity for line in round_.lines) == 400


def test_computing_again_reads_the_registered_need_as_it_stands_now(
    session, users, period, coordinator, stockholm_need
):
    release(session, "FFP2-CUP", 1000)
    round_ = open_county_round(session, coordinator, quantity=200)
    report(session, users, period, "0180", stock=0, consumption_7d=700, need=1000)

    rounds.recompute(session, coordinator, round_)

    assert "0180" in lines_by_code(round_)


# --- manual adjustments -------------------------------------------------------------------------------------


@pytest.fixture
def draft(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 500)
    round_ = open_county_round(session, coordinator, quantity=200, pack_size=10)
    session.commit()
    return round_


def test_a_manual_adjustment_needs_a_reason_and_keeps_the_computed_quantity(session, coordinator, draft):
    line = lines_by_code(draft)["0115"]

    with pytest.raises(RoundError) as refused:
        rounds.adjust_line(session, coordinator, line, quantity=80, reason=" ")
    assert refused.value.field == "reason"
    rounds.adjust_line(session, coordinator, line, quantity=80, reason="Half of Vallentuna's need is covered locally")

    assert (line.computed_quantity, line.quantity) == (90, 80)
    assert line.adjustment_reason == "Half of Vallentuna's need is covered locally"
    assert line.adjusted_by_id == coordinator.id and line.adjusted_at is not None


def test_setting_a_line_back_to_the_computed_quantity_removes_the_adjustment(session, coordinator, draft):
    line = lines_by_code(draft)["0115"]
    rounds.adjust_line(session, coordinator, line, quantity=80, reason="Covered locally")

    rounds.adjust_line(session, coordinator, line, quantity=90, reason="")

    assert line.quantity == 90 and line.adjustment_reason is None and line.adjusted_by_id is None


def test_adjusted_lines_may_not_add_up_to_more_than_the_rounds_quantity(session, coordinator, draft):
    line = lines_by_code(draft)["0117"]

    with pytest.raises(RoundError, match="add up to 210"):
        rounds.adjust_line(session, coordinator, line, quantity=10, reason="Österåker asked")
    rounds.adjust_line(session, coordinator, lines_by_code(draft)["0114"], quantity=100, reason="Moved to Österåker")
    rounds.adjust_line(session, coordinator, line, quantity=10, reason="Österåker asked")

    assert sum(each.quantity for each in draft.lines) == 200


def test_an_adjustment_is_in_whole_packs(session, coordinator, draft):
    with pytest.raises(RoundError, match="whole packs of 10"):
        rounds.adjust_line(session, coordinator, lines_by_code(draft)["0115"], quantity=85, reason="Exactly")


def test_an_adjustment_is_written_to_the_audit_log_with_its_reason(session, coordinator, draft):
    line = lines_by_code(draft)["0115"]
    session.info["actor"] = coordinator

    rounds.adjust_line(session, coordinator, line, quantity=70, reason="Sent 20 to Österåker")
    session.commit()

    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.table_name == "allocation_lines", AuditEntry.action == "update",
                                 AuditEntry.row_key == str(line.id))
    )
    assert entry.actor_id == coordinator.id
    assert entry.before["quantity"] == 90 and entry.after["quantity"] == 70
    assert entry.after["adjustment_reason"] == "Sent 20 to Österåker"


# --- deciding ----------------------------------------------------------------------------------------------


def test_deciding_numbers_the_decision_and_reserves_exactly_the_stock_decided(session, coordinator, draft):
    rounds.adjust_line(session, coordinator, lines_by_code(draft)["0115"], quantity=70, reason="Covered locally")

    rounds.decide_round(session, coordinator, draft)
    session.commit()

    assert draft.status == RoundStatus.DECIDED
    assert re.fullmatch(rf"{local_today().year}-\d{{4}}", draft.number)
    assert draft.decided_on == local_today() and draft.decided_by_id == coordinator.id and draft.decided_at
    assert reserved(session, "FFP2-CUP") == 180
    warehouse = ledger.location_by_code(session, "NL-MITT")
    assert ledger.balance(session, location=warehouse, product=product(session, "FFP2-CUP")) == 320
    movements = ledger.movements(session, document=ledger.DocumentRef(rounds.DOCUMENT_TYPE, draft.id))
    assert {m.reference for m in movements} == {draft.number}


def test_decisions_are_numbered_in_sequence(session, coordinator, stockholm_need):
    release(session, "FFP2-CUP", 1000)
    first = open_county_round(session, coordinator, quantity=100)
    second = open_county_round(session, coordinator, quantity=100)

    rounds.decide_round(session, coordinator, first)
    rounds.decide_round(session, coordinator, second)

    year, number = first.number.split("-")
    assert second.number == f"{year}-{int(number) + 1:04d}"


def test_deciding_plans_one_shipment_per_recipient(session, coordinator, draft):
    rounds.decide_round(session, coordinator, draft)
    session.commit()

    shipments = session.scalars(select(Shipment).where(Shipment.round_id == draft.id)).all()
    assert sorted(s.recipient.municipality_code for s in shipments) == ["0114", "0115"]  # Österåker gets 0
    assert all(s.status == "planned" for s in shipments)
    assert {s.from_location_id for s in shipments} == {draft.source_location_id}


def test_deciding_when_the_stock_is_gone_is_refused_and_changes_nothing(session, coordinator, draft):
    warehouse = ledger.location_by_code(session, "NL-MITT")
    ledger.reserve(session, None, location=warehouse, product=product(session, "FFP2-CUP"), quantity=350)
    session.commit()
    sequence_before = session.scalar(select(func.max(DocumentSequence.last_value)).where(
        DocumentSequence.series == rounds.DECISION_SERIES))

    with pytest.raises(RoundError, match="150 units available and unreserved"):
        rounds.decide_round(session, coordinator, draft)
    session.rollback()

    session.refresh(draft)
    assert draft.status == RoundStatus.DRAFT and draft.number is None and draft.decided_by_id is None
    assert reserved(session, "FFP2-CUP") == 350
    assert session.scalar(select(func.count(Shipment.id)).where(Shipment.round_id == draft.id)) == 0
    assert session.scalar(select(func.max(DocumentSequence.last_value)).where(
        DocumentSequence.series == rounds.DECISION_SERIES)) == sequence_before


def test_the_refusal_changes_nothing_even_before_the_caller_rolls_back(session, coordinator, draft):
    warehouse = ledger.location_by_code(session, "NL-MITT")
    ledger.reserve(session, None, location=warehouse, product=product(session, "FFP2-CUP"), quantity=350)

    with pytest.raises(RoundError):
        rounds.decide_round(session, coordinator, draft)

    assert draft.status == RoundStatus.DRAFT and draft.number is None
    assert reserved(session, "FFP2-CUP") == 350


def test_a_decided_round_cannot_be_decided_again_changed_or_cancelled(session, coordinator, draft):
    rounds.decide_round(session, coordinator, draft)
    line = lines_by_code(draft)["0114"]

    for attempt in (
        lambda: rounds.decide_round(session, coordinator, draft),
        lambda: rounds.adjust_line(session, coordinator, line, quantity=100, reason="Late change"),
        lambda: rounds.recompute(session, coordinator, draft),
        lambda: rounds.cancel_round(session, coordinator, draft, "Too late"),
    ):
        with pytest.raises(RoundError, match="only a draft"):
            attempt()
    assert reserved(session, "FFP2-CUP") == 200


def test_a_round_that_gives_nothing_out_cannot_be_decided(session, users, period, coordinator):
    report(session, users, period, "0180", stock=5000, consumption_7d=70, need=0)
    release(session, "FFP2-CUP", 100)
    round_ = open_county_round(session, coordinator, quantity=100)

    with pytest.raises(RoundError, match="nothing to decide"):
        rounds.decide_round(session, coordinator, round_)


def test_only_a_coordinator_of_the_deciding_organisation_decides(session, users, draft):
    for who in (users.make("county_coordinator", "LST-01"), users.make("auditor", "SOS")):
        with pytest.raises(RoundError, match="Only a coordinator"):
            rounds.decide_round(session, who, draft)
    assert draft.status == RoundStatus.DRAFT


# --- notifications -------------------------------------------------------------------------------------------


def test_recipients_and_their_county_boards_coordinators_are_told_of_the_decision(session, users, coordinator, draft):
    vasby = users.make("recipient", "0114")
    board = users.make("county_coordinator", "LST-01")
    osteraker = users.make("recipient", "0117")  # receives nothing
    goteborg = users.make("recipient", "1480")
    vasby_auditor = users.make("auditor", "0114")

    rounds.decide_round(session, coordinator, draft)
    session.commit()

    def notices(user):
        return session.scalars(select(Notice).where(Notice.user_id == user.id)).all()

    [notice] = notices(vasby)
    assert draft.number in notice.text and "110 × FFP2-CUP" in notice.body
    assert notice.link.endswith(f"/need/rounds/{draft.id}")
    [board_notice] = notices(board)
    assert "Upplands Väsby" in board_notice.body and "Vallentuna" in board_notice.body
    vallentuna_reporter = session.scalar(select(User).where(User.organisation_id == organisation("0115").id))
    assert "90 × FFP2-CUP" in notices(vallentuna_reporter)[0].body  # the reporter who sent the report is told too
    assert not notices(osteraker) and not notices(goteborg) and not notices(vasby_auditor)
    assert not notices(coordinator)


# --- cancelling ----------------------------------------------------------------------------------------------


def test_a_draft_is_cancelled_with_a_reason(session, coordinator, draft):
    with pytest.raises(RoundError) as refused:
        rounds.cancel_round(session, coordinator, draft, "")
    assert refused.value.field == "reason"

    rounds.cancel_round(session, coordinator, draft, "New stock arrives tomorrow")

    assert draft.status == RoundStatus.CANCELLED and draft.cancel_reason == "New stock arrives tomorrow"
    assert draft.cancelled_at is not None
    assert reserved(session, "FFP2-CUP") == 0


# --- who sees what -----------------------------------------------------------------------------------------------


def visible(session, user) -> set[int]:
    return set(session.scalars(select(AllocationRound.id).where(rounds.visibility_clause(user))))


def test_a_draft_is_seen_only_at_national_scope(session, users, draft):
    assert draft.id in visible(session, users.make("auditor", "RK-S"))
    for who in (users.make("recipient", "0114"), users.make("county_coordinator", "LST-01")):
        assert draft.id not in visible(session, who)
        with pytest.raises(rounds.NotFoundError):
            rounds.get_round(session, who, draft.id)


def test_a_decision_is_seen_by_those_party_to_it(session, users, coordinator, draft):
    rounds.decide_round(session, coordinator, draft)

    assert draft.id in visible(session, users.make("recipient", "0114"))
    assert draft.id in visible(session, users.make("reporter", "0117"))  # a line of 0 units: party all the same
    assert draft.id in visible(session, users.make("county_coordinator", "LST-01"))
    assert draft.id not in visible(session, users.make("recipient", "0180"))  # no need, no line
    assert draft.id not in visible(session, users.make("county_coordinator", "LST-14"))
    assert draft.id not in visible(session, users.make("recipient", "REG-01"))


# --- national requests ---------------------------------------------------------------------------------------------


def national_request(session, users, county: str, code: str, quantity: int):
    from allocation.models_distribution import NationalRequest, NationalRequestLine

    board = users.make("county_coordinator", f"LST-{county}")
    request = NationalRequest(reference=f"BN-TEST-{county}{code}", county_code=county, submitted_by_id=board.id,
                              justification="Redistribution fell short")
    request.lines = [NationalRequestLine(organisation_id=organisation(code).id,
                                         category_id=category(session, "respirators").id, quantity=quantity)]
    session.add(request)
    session.commit()
    return request


def test_a_national_request_in_a_round_replaces_the_registered_need_and_is_answered_by_the_decision(
    session, users, coordinator, stockholm_need
):
    from allocation.models_distribution import RequestStatus

    request = national_request(session, users, "01", "0114", 40)
    release(session, "FFP2-CUP", 500)

    round_ = open_county_round(session, coordinator, quantity=200, requests=[request])

    vasby = lines_by_code(round_)["0114"]
    assert vasby.need == 40 and vasby.national_request_line_id == request.lines[0].id
    assert request.round_id == round_.id and request.status == RequestStatus.IN_ROUND
    rounds.decide_round(session, coordinator, round_)
    assert request.status == RequestStatus.ANSWERED


def test_cancelling_the_round_sends_its_requests_back_to_the_queue(session, users, coordinator, stockholm_need):
    from allocation.models_distribution import RequestStatus

    request = national_request(session, users, "01", "0114", 40)
    release(session, "FFP2-CUP", 500)
    round_ = open_county_round(session, coordinator, quantity=200, requests=[request])

    rounds.cancel_round(session, coordinator, round_, "Wrong product")

    assert request.status == RequestStatus.SUBMITTED and request.round_id is None


def test_a_request_from_another_county_has_no_place_in_a_county_round(session, users, coordinator, stockholm_need):
    request = national_request(session, users, "14", "1480", 40)
    release(session, "FFP2-CUP", 500)

    with pytest.raises(RoundError, match="another county") as refused:
        open_county_round(session, coordinator, quantity=200, requests=[request])
    assert refused.value.field == "requests"
