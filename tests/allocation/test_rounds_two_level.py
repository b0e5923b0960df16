"""Two-level allocation: a national round to the county boards, then each board's own second-level round to
its county's region and municipalities once the national shipment to it is confirmed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocation import services_rounds as rounds
from allocation.models_distribution import AllocationRound, RecipientScope, RoundStatus
from allocation.services_rounds import ProductInput, RoundError, RoundSettings
from app.stock import ledger
from app.stock.models import StockState
from tests.allocation.rounds_factories import (
    category,
    deliver,
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
def board_coordinator(users):
    return users.make("county_coordinator", "LST-01")


@pytest.fixture
def to_boards(session, users, period, coordinator):
    """A decided national round of 1000 FFP2 respirators to the county boards: Stockholm's board gets its
    county's 400, Västra Götaland's its 300."""
    report(session, users, period, "0114", stock=70, consumption_7d=70, need=200)
    report(session, users, period, "0115", stock=0, consumption_7d=35, need=100)
    report(session, users, period, "0117", stock=200, consumption_7d=70, need=100)
    report(session, users, period, "1480", stock=0, consumption_7d=70, need=300)
    release(session, "FFP2-CUP", 1000)
    round_ = open_county_round(session, coordinator, quantity=1000, recipient_scope="county_boards", county=None)
    rounds.decide_round(session, coordinator, round_)
    session.commit()
    return round_


def pass_on(session, user, parent, quantity=400, **settings):
    return rounds.open_second_level(
        session, user, parent, settings=RoundSettings("FFP2 to Stockholm's municipalities", **settings),
        products=[ProductInput(product(session, "FFP2-CUP"), quantity, 10)],
    )


def test_the_national_round_allocates_to_the_boards_by_their_countys_summed_need(to_boards):
    quantities = {line.recipient.code: line.quantity for line in to_boards.lines}

    assert quantities == {"LST-01": 400, "LST-14": 300}


def test_a_board_passes_its_share_on_only_once_its_shipment_is_confirmed(session, board_coordinator, to_boards):
    waiting = rounds.onward(session, board_coordinator, to_boards)
    assert not waiting.possible and "confirmed" in waiting.refusal
    with pytest.raises(RoundError, match="confirmed"):
        pass_on(session, board_coordinator, to_boards)

    deliver(session, to_boards, "LST-01")
    state = rounds.onward(session, board_coordinator, to_boards)

    assert state.possible and state.confirmed
    assert state.received == state.available == {product(session, "FFP2-CUP").id: 400}


def test_the_second_level_round_shares_the_boards_stock_among_its_county(session, board_coordinator, to_boards):
    deliver(session, to_boards, "LST-01")

    child = pass_on(session, board_coordinator, to_boards)

    board = organisation("LST-01")
    assert child.parent_id == to_boards.id and child.decided_by_organisation_id == board.id
    assert child.source_location == ledger.location_for_organisation(session, board)
    assert (child.recipient_scope, child.county_code) == (RecipientScope.COUNTY, "01")
    assert {line.recipient.municipality_code: line.quantity for line in child.lines} == {
        "0114": 200, "0115": 100, "0117": 100,
    }
    assert child in rounds.second_level_rounds(session, to_boards)


def test_the_board_decides_its_round_from_its_own_stock(session, board_coordinator, to_boards):
    deliver(session, to_boards, "LST-01")
    child = pass_on(session, board_coordinator, to_boards)

    rounds.decide_round(session, board_coordinator, child)

    assert child.status == RoundStatus.DECIDED and child.number != to_boards.number
    held = ledger.location_for_organisation(session, organisation("LST-01"))
    ffp2 = product(session, "FFP2-CUP")
    assert ledger.total(session, product=ffp2, state=StockState.RESERVED, location_ids=[held.id]) == 400
    assert ledger.total(session, product=ffp2, state=StockState.AVAILABLE, location_ids=[held.id]) == 0


def test_a_board_cannot_pass_on_more_than_arrived(session, board_coordinator, to_boards):
    deliver(session, to_boards, "LST-01")

    with pytest.raises(RoundError, match="only 400 are available"):
        pass_on(session, board_coordinator, to_boards, quantity=500)


def test_a_second_level_round_keeps_the_category_and_note_of_the_decision_it_passes_on(
    session, users, period, coordinator, board_coordinator
):
    report(session, users, period, "0180", stock=0, consumption_7d=70, need=300, category_code="surgical_masks")
    release(session, "FFP2-CUP", 300)
    masks = category(session, "surgical_masks")
    parent = open_county_round(session, coordinator, recipient_scope="county_boards", county=None, products=[
        ProductInput(product(session, "FFP2-CUP"), 300, 10, masks, "FFP2 for type IIR"),
    ])
    rounds.decide_round(session, coordinator, parent)
    deliver(session, parent, "LST-01")

    child = pass_on(session, board_coordinator, parent, quantity=300)

    [rp] = child.products
    assert rp.need_category == masks and rp.substitute_note == "FFP2 for type IIR"
    assert [line.quantity for line in child.lines] == [300]


def test_another_board_cannot_pass_on_what_it_did_not_receive(session, users, to_boards):
    uppsala = users.make("county_coordinator", "LST-03")

    state = rounds.onward(session, uppsala, to_boards)

    assert not state.possible and "receives nothing" in state.refusal


@pytest.mark.parametrize("who", [("national_coordinator", "SOS"), ("recipient", "0114")])
def test_only_a_county_boards_coordinator_passes_an_allocation_on(session, users, to_boards, who):
    state = rounds.onward(session, users.make(*who), to_boards)

    assert not state.possible and "county board's coordinator" in state.refusal


def test_only_a_decided_round_to_the_county_boards_is_passed_on(session, users, period, coordinator, board_coordinator):
    report(session, users, period, "0114", stock=0, consumption_7d=70, need=200)
    release(session, "FFP2-CUP", 200)
    to_county = open_county_round(session, coordinator, quantity=200)

    assert "decided national round" in rounds.onward(session, board_coordinator, to_county).refusal
    rounds.decide_round(session, coordinator, to_county)
    assert "decided national round" in rounds.onward(session, board_coordinator, to_county).refusal


def test_the_second_level_round_is_the_boards_to_manage_and_its_draft_the_boards_to_see(
    session, users, coordinator, board_coordinator, to_boards
):
    deliver(session, to_boards, "LST-01")
    child = pass_on(session, board_coordinator, to_boards)
    vasby = users.make("recipient", "0114")

    assert rounds.may_manage(board_coordinator, child) and not rounds.may_manage(coordinator, child)
    with pytest.raises(RoundError, match="Only a coordinator"):
        rounds.decide_round(session, coordinator, child)

    def sees(user):
        return session.scalar(select(AllocationRound.id).where(AllocationRound.id == child.id,
                                                               rounds.visibility_clause(user))) is not None

    assert sees(board_coordinator) and sees(coordinator) and not sees(vasby)
    assert not sees(users.make("county_coordinator", "LST-14"))
    rounds.decide_round(session, board_coordinator, child)
    assert sees(vasby)


def test_changing_a_second_level_draft_keeps_its_county(session, board_coordinator, to_boards):
    deliver(session, to_boards, "LST-01")
    child = pass_on(session, board_coordinator, to_boards)

    rounds.update_round(session, board_coordinator, child, settings=RoundSettings("Less", horizon_days=14),
                        products=[ProductInput(product(session, "FFP2-CUP"), 200, 10)], recipient_scope="all")

    assert (child.recipient_scope, child.county_code, child.horizon_days) == ("county", "01", 14)
    assert sum(line.quantity for line in child.lines) == 200
    with pytest.raises(RoundError, match="not in the decision"):
        rounds.update_round(session, board_coordinator, child, settings=RoundSettings("Masks"),
                            products=[ProductInput(product(session, "IIR-LOOP"), 10, 10)])


def test_the_whole_way_through_the_shipments_dispatched_and_confirmed_short(
    session, coordinator, board_coordinator, to_boards
):
    from allocation import services_shipments as shipments
    from allocation.models_distribution import Shipment

    board = organisation("LST-01")
    shipment = session.scalar(select(Shipment).where(Shipment.round_id == to_boards.id,
                                                     Shipment.recipient_id == board.id))
    shipments.dispatch(session, coordinator, shipment, carrier="DHL Freight")
    [line] = shipment.lines
    shipments.confirm(session, board_coordinator, shipment, received_by_name="Anna Lind", lines=[
        shipments.LineConfirmation(line.id, accepted=380, missing=20, reason="short", comment="Two boxes missing"),
    ])
    session.commit()

    state = rounds.onward(session, board_coordinator, to_boards)
    assert state.possible and state.available == {line.product_id: 380}
    assert rounds.confirmed_quantities(session, to_boards, board) == {line.product_id: 380}
    with pytest.raises(RoundError, match="only 380 are available"):
        pass_on(session, board_coordinator, to_boards, quantity=400)
    child = pass_on(session, board_coordinator, to_boards, quantity=380)
    rounds.decide_round(session, board_coordinator, child)
    assert {s.recipient.municipality_code for s in session.scalars(
        select(Shipment).where(Shipment.round_id == child.id))} == {"0114", "0115", "0117"}
