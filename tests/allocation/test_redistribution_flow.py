"""The county flow and national redistribution decisions through the services: generating a proposal from the
registered need, editing lines, the logistics meeting, agreeing, the giver's stock, execution and scope."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from allocation import services_redistribution as redistribution
from allocation.models_distribution import ProposalStatus, RedistributionProposal, Shipment, ShipmentStatus
from allocation.services_redistribution import RedistributionError
from app.errors import NotFoundError
from app.notifications.models import Notice
from app.stock import ledger
from app.stock.models import MovementKind, StockState
from app.timeutil import local_today
from tests.allocation.redistribution_factories import (
    SKU,
    agree,
    execute,
    give,
    hold_meeting,
    line,
    open_proposal,
    stockholm_need,
)
from tests.allocation.rounds_factories import product
from tests.conftest import organisation


@pytest.fixture
def coordinator(users):
    return users.make("county_coordinator", "LST-01")


@pytest.fixture
def need(session, users, period):
    stockholm_need(session, users, period)


def quantities(proposal) -> dict[tuple[str, str], int]:
    return {(t.source.municipality_code, t.target.municipality_code): t.quantity for t in proposal.lines}


def held(session, code: str, state=StockState.AVAILABLE, sku: str = SKU) -> int:
    location = ledger.location_for_organisation(session, organisation(code))
    return ledger.total(session, product=product(session, sku), state=state, location_ids=[location.id])


# --- generating -----------------------------------------------------------------------------------------------------


def test_a_proposal_moves_the_surplus_above_21_days_to_the_registered_need_in_whole_packs(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    assert proposal.reference.startswith(f"OF-{local_today().year}-") and len(proposal.reference) == 12
    assert (proposal.county_code, proposal.status, proposal.target_days) == ("01", "draft", 21)
    assert quantities(proposal) == {("0114", "0115"): 480, ("0114", "0117"): 240}
    first = line(proposal, "0114", "0115")
    assert first.planned_quantity == first.quantity and first.edit_reason is None
    assert 1 < float(first.distance_km) < 10  # Upplands Väsby to Vallentuna, seat to seat


def test_a_higher_target_leaves_less_surplus_to_give(session, coordinator, need):
    # At 28 days Upplands Väsby keeps 2 800 and gives 200: less than one pack of 240.
    proposal = open_proposal(session, coordinator, target_days=28)
    assert proposal.lines == []


def test_the_proposal_reference_counts_up(session, coordinator, need):
    first = open_proposal(session, coordinator)
    second = open_proposal(session, coordinator)
    assert int(second.reference[-4:]) == int(first.reference[-4:]) + 1


def test_only_a_county_coordinator_generates_a_proposal(session, users, need):
    for role, code in (("national_coordinator", "SOS"), ("recipient", "0114")):
        with pytest.raises(RedistributionError, match="county coordinator"):
            open_proposal(session, users.make(role, code))


def test_a_proposal_needs_a_product_and_a_sensible_target(session, coordinator, need):
    with pytest.raises(RedistributionError) as error:
        redistribution.open_proposal(session, coordinator, redistribution.ProposalSettings("X", []))
    assert error.value.field == "products"
    with pytest.raises(RedistributionError) as error:
        open_proposal(session, coordinator, target_days=0)
    assert error.value.field == "target_days"


# --- editing lines ----------------------------------------------------------------------------------------------------


def test_changing_a_line_needs_a_reason_and_keeps_the_planners_quantity(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    transfer = line(proposal, "0114", "0115")
    with pytest.raises(RedistributionError) as error:
        redistribution.edit_transfer(session, coordinator, transfer, quantity=240, reason=" ")
    assert error.value.field == "reason"
    redistribution.edit_transfer(session, coordinator, transfer, quantity=240, reason="Vallentuna får leverans")
    session.commit()
    assert (transfer.planned_quantity, transfer.quantity, transfer.edit_reason) == (480, 240, "Vallentuna får leverans")


def test_a_line_is_removed_by_setting_it_to_zero_with_a_reason(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    transfer = line(proposal, "0114", "0117")
    redistribution.edit_transfer(session, coordinator, transfer, quantity=0, reason="Österåker löser själv")
    session.commit()
    assert transfer.quantity == 0 and transfer in proposal.lines
    views = {view.transfer.id: view.state for view in redistribution.line_views(session, proposal)}
    assert views[transfer.id] == "removed"


def test_a_line_added_by_hand_needs_a_reason_and_parties_in_the_county(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    giver, taker = organisation("0117"), organisation("0115")
    with pytest.raises(RedistributionError) as error:
        redistribution.add_transfer(session, coordinator, proposal, product=product(session, "GOWN-ISO"),
                                    source=giver, target=taker, quantity=100, reason="")
    assert error.value.field == "reason"
    with pytest.raises(RedistributionError, match="not in the county") as error:
        redistribution.add_transfer(session, coordinator, proposal, product=product(session, "GOWN-ISO"),
                                    source=giver, target=organisation("1480"), quantity=100, reason="Behov")
    assert error.value.field == "target_id"
    with pytest.raises(RedistributionError, match="exists already"):
        redistribution.add_transfer(session, coordinator, proposal, product=product(session, SKU),
                                    source=organisation("0114"), target=taker, quantity=10, reason="Behov")
    added = redistribution.add_transfer(session, coordinator, proposal, product=product(session, "GOWN-ISO"),
                                        source=giver, target=taker, quantity=100, reason="Överenskommet per telefon")
    session.commit()
    assert (added.planned_quantity, added.quantity, added.edit_reason) == (0, 100, "Överenskommet per telefon")
    assert added.distance_km is not None


def test_another_countys_coordinator_cannot_change_the_proposal_nor_see_it(session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    other = users.make("county_coordinator", "LST-14")
    with pytest.raises(NotFoundError):
        redistribution.get_proposal(session, other, proposal.id)
    with pytest.raises(RedistributionError, match="county coordinator of"):
        redistribution.edit_transfer(session, other, proposal.lines[0], quantity=0, reason="Nej")


# --- meeting and agreement -----------------------------------------------------------------------------------------------


def test_a_proposal_is_agreed_only_after_its_logistics_meeting_is_recorded(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    with pytest.raises(RedistributionError, match="logistics meeting"):
        redistribution.agree(session, coordinator, proposal)
    with pytest.raises(RedistributionError) as error:
        hold_meeting(session, coordinator, proposal, held_on=local_today() + timedelta(days=1))
    assert error.value.field == "held_on"
    meeting = hold_meeting(session, coordinator, proposal)
    assert proposal.meetings == [meeting] and meeting.recorded_by_id == coordinator.id
    result = redistribution.agree(session, coordinator, proposal)
    session.commit()
    assert proposal.status == ProposalStatus.AGREED.value and proposal.agreed_by_id == coordinator.id
    assert len(result.planned) + len(result.waiting) == 2
    with pytest.raises(RedistributionError, match="only a draft"):
        redistribution.agree(session, coordinator, proposal)
    with pytest.raises(RedistributionError, match="only a draft"):
        redistribution.edit_transfer(session, coordinator, proposal.lines[0], quantity=1, reason="Sent")


def test_agreeing_without_stock_in_the_ledger_leaves_the_transfers_awaiting_the_giver(session, users, coordinator, need):
    giver_staff = users.make("recipient", "0114")
    proposal = open_proposal(session, coordinator)
    result = agree(session, coordinator, proposal)
    assert result.planned == [] and len(result.waiting) == 2
    assert "Upplands Väsby holds 0 units of FFP2-CUP" in result.waiting[0][1]
    assert session.scalar(select(func.count(Shipment.id)).where(Shipment.transfer_id.is_not(None))) == 0
    assert {view.state for view in redistribution.line_views(session, proposal)} == {"awaiting_stock"}
    # Nothing was created in the ledger by accident.
    assert held(session, "0114") == 0 and held(session, "0114", StockState.RESERVED) == 0
    notice = session.scalar(select(Notice).where(Notice.user_id == giver_staff.id))
    assert "Awaiting your stock" in notice.body and proposal.reference in notice.text


def test_agreeing_reserves_the_givers_stock_and_plans_the_shipments_when_the_ledger_holds_it(session, coordinator, need):
    location = ledger.location_for_organisation(session, organisation("0114"))
    ledger.receive(session, None, location=location, product=product(session, SKU), quantity=1000,
                   state=StockState.AVAILABLE)
    proposal = open_proposal(session, coordinator)
    result = agree(session, coordinator, proposal)
    assert len(result.planned) == 2 and result.waiting == []
    assert held(session, "0114", StockState.RESERVED) == 720 and held(session, "0114") == 280
    planned = [redistribution.shipment_of(session, transfer) for transfer in proposal.lines]
    assert {shipment.status for shipment in planned} == {ShipmentStatus.PLANNED.value}
    assert {shipment.recipient.municipality_code for shipment in planned} == {"0115", "0117"}


def test_the_parties_and_the_county_coordinators_are_told(session, users, coordinator, need):
    other_coordinator = users.make("county_coordinator", "LST-01")
    receiver = users.make("recipient", "0115")
    bystander = users.make("recipient", "0120")
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    told = set(session.scalars(select(Notice.user_id).where(Notice.text.contains(proposal.reference))))
    assert {other_coordinator.id, receiver.id} <= told
    assert bystander.id not in told and coordinator.id not in told
    body = session.scalar(select(Notice.body).where(Notice.user_id == receiver.id))
    assert "480 × FFP2-CUP from Upplands Väsby" in body


def test_a_cancelled_draft_cannot_be_agreed(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    with pytest.raises(RedistributionError) as error:
        redistribution.cancel(session, coordinator, proposal, " ")
    assert error.value.field == "reason"
    redistribution.cancel(session, coordinator, proposal, "Läget har ändrats")
    session.commit()
    assert proposal.status == ProposalStatus.CANCELLED.value
    with pytest.raises(RedistributionError, match="cancelled"):
        redistribution.agree(session, coordinator, proposal)


# --- the giver's stock -----------------------------------------------------------------------------------------------------


def test_the_giver_registers_its_stock_on_hand_as_an_opening_balance_and_the_transfer_is_planned(
        session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    transfer = line(proposal, "0114", "0115")
    shipment = give(session, users, transfer)
    assert shipment.status == ShipmentStatus.PLANNED.value and shipment.transfer_id == transfer.id
    assert held(session, "0114", StockState.RESERVED) == 480 and held(session, "0114") == 0
    adjustment = ledger.movements(session, location=ledger.location_for_organisation(session, transfer.source),
                                  kinds=[MovementKind.ADJUSTMENT])
    assert [(m.quantity, m.reason, m.reference) for m in adjustment] == [
        (480, "Opening balance from situation report", proposal.reference)]
    views = {view.transfer.id: view.state for view in redistribution.line_views(session, proposal)}
    assert views[transfer.id] == "planned"


def test_an_opening_balance_cannot_exceed_the_reported_stock_beyond_what_the_ledger_holds(
        session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    first, second = line(proposal, "0114", "0115"), line(proposal, "0114", "0117")
    assert redistribution.opening_balance_room(session, first) == 3000
    give(session, users, first, opening_balance=2900)
    assert redistribution.opening_balance_room(session, second) == 100
    with pytest.raises(RedistributionError, match="at most 100 units") as error:
        give(session, users, second, opening_balance=240)
    assert error.value.field == "opening_balance"
    session.rollback()
    # What the first opening balance left available is enough: no new opening balance is needed.
    shipment = give(session, users, second, opening_balance=0)
    assert shipment.status == "planned" and held(session, "0114") == 2900 - 480 - 240


def test_too_little_stock_refuses_the_reservation_and_registers_nothing(session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    transfer = line(proposal, "0114", "0115")
    with pytest.raises(RedistributionError, match="holds 100 units"):
        give(session, users, transfer, opening_balance=100)
    session.rollback()
    assert held(session, "0114") == 0 and redistribution.shipment_of(session, transfer) is None


def test_only_the_givers_own_staff_register_an_opening_balance(session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    transfer = line(proposal, "0114", "0115")
    receiver = users.make("recipient", "0115")
    with pytest.raises(RedistributionError, match="Only Upplands Väsby or the coordinator"):
        redistribution.provide_stock(session, receiver, transfer, opening_balance=480)
    with pytest.raises(RedistributionError, match="own staff"):
        redistribution.provide_stock(session, coordinator, transfer, opening_balance=480)
    auditor = users.make("auditor", "0114")
    with pytest.raises(RedistributionError, match="Only Upplands Väsby"):
        redistribution.provide_stock(session, auditor, transfer, opening_balance=480)


def test_a_giver_without_a_current_report_cannot_register_an_opening_balance(session, users, period):
    # Österåker gives by hand, but has reported nothing.
    from tests.allocation.rounds_factories import report

    report(session, users, period, "0115", stock=0, consumption_7d=350, need=480)
    coordinator = users.make("county_coordinator", "LST-01")
    proposal = open_proposal(session, coordinator)
    redistribution.add_transfer(session, coordinator, proposal, product=product(session, SKU),
                                source=organisation("0117"), target=organisation("0115"), quantity=240, reason="Lager")
    agree(session, coordinator, proposal)
    with pytest.raises(RedistributionError, match="no current situation report"):
        give(session, users, proposal.lines[0])


def test_a_transfer_is_executed_by_dispatch_and_confirmation_and_the_stock_moves(session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    transfer = line(proposal, "0114", "0115")
    give(session, users, transfer)
    result = execute(session, users, transfer, accepted=400)
    assert result.shipment.status == ShipmentStatus.CONFIRMED.value and result.follow_up is not None
    assert held(session, "0115") == 400 and held(session, "0114", StockState.RESERVED) == 0
    views = {view.transfer.id: view for view in redistribution.line_views(session, proposal)}
    assert views[transfer.id].state == "confirmed"


# --- national decisions -------------------------------------------------------------------------------------------------------


@pytest.fixture
def national(users):
    return users.make("national_coordinator", "SOS")


def national_decision(session, national):
    decision = redistribution.open_national_decision(session, national, title="Malmö lämnar till Stockholms län",
                                                     reasons="Akut brist i Stockholms län.")
    redistribution.add_transfer(session, national, decision, product=product(session, SKU),
                                source=organisation("1280"), target=organisation("0180"), quantity=2400)
    redistribution.add_transfer(session, national, decision, product=product(session, SKU),
                                source=organisation("1280"), target=organisation("0114"), quantity=480)
    session.commit()
    return decision


def test_a_national_decision_hands_stated_quantities_across_counties_without_a_meeting(session, users, national):
    skane = users.make("recipient", "1280")
    stockholm = users.make("recipient", "0180")
    skane_board = users.make("county_coordinator", "LST-12")
    stockholm_board = users.make("county_coordinator", "LST-01")
    decision = national_decision(session, national)
    assert decision.is_national_decision and decision.county_code is None
    assert decision.legal_basis.startswith("Förordning (2020:126)") and "Akut brist" in decision.legal_basis
    assert all(t.planned_quantity == t.quantity for t in decision.lines)
    # Before it is decided only national scope reads it.
    with pytest.raises(NotFoundError):
        redistribution.get_proposal(session, stockholm, decision.id)
    result = redistribution.agree(session, national, decision)
    session.commit()
    assert decision.status == ProposalStatus.AGREED.value and len(result.waiting) == 2
    for person in (skane, stockholm, skane_board, stockholm_board):
        assert redistribution.get_proposal(session, person, decision.id) == decision
        assert session.scalar(select(Notice).where(Notice.user_id == person.id,
                                                   Notice.text.contains(decision.reference)))
    outsider = users.make("recipient", "1480")
    with pytest.raises(NotFoundError):
        redistribution.get_proposal(session, outsider, decision.id)


def test_only_the_national_coordinator_decides_national_redistribution(session, coordinator, national):
    with pytest.raises(RedistributionError, match="national coordinator"):
        redistribution.open_national_decision(session, coordinator, title="Nej")
    decision = national_decision(session, national)
    with pytest.raises(RedistributionError, match="national coordinator"):
        redistribution.agree(session, coordinator, decision)
    with pytest.raises(RedistributionError, match="without a logistics meeting"):
        redistribution.record_meeting(session, national, decision, held_on=local_today(), participants="X",
                                      decisions="Y")


def test_a_county_proposal_is_not_the_national_coordinators_to_agree(session, coordinator, national, need):
    proposal = open_proposal(session, coordinator)
    assert redistribution.get_proposal(session, national, proposal.id) == proposal
    with pytest.raises(RedistributionError, match="county coordinator of"):
        redistribution.edit_transfer(session, national, proposal.lines[0], quantity=0, reason="Nej")


def test_a_municipality_sees_the_proposals_it_takes_part_in_only(session, users, coordinator, need):
    proposal = open_proposal(session, coordinator)

    def visible(user) -> set[int]:
        return set(session.scalars(select(RedistributionProposal.id).where(redistribution.visibility_clause(user))))

    assert proposal.id in visible(users.make("recipient", "0115"))
    assert proposal.id not in visible(users.make("recipient", "0120"))  # Värmdö: same county, no line
    assert proposal.id in visible(users.make("auditor", "RK-S"))
    with pytest.raises(NotFoundError):
        redistribution.get_transfer(session, users.make("recipient", "0120"), proposal.lines[0].id)


def test_the_proposal_shows_each_organisations_figures_beside_what_it_gives_and_receives(session, coordinator, need):
    proposal = open_proposal(session, coordinator)
    redistribution.edit_transfer(session, coordinator, line(proposal, "0114", "0117"), quantity=0, reason="Senare")
    [(category, rows)] = redistribution.current_positions(session, proposal)
    assert category.code == "respirators"
    by_code = {row.organisation.municipality_code: row for row in rows}
    giver, taker, waiting = by_code["0114"], by_code["0115"], by_code["0117"]
    assert (giver.stock, str(giver.days_of_supply), giver.surplus, giver.gives) == (3000, "30.0", 900, 480)
    assert (taker.deficit, taker.receives, taker.remaining) == (480, 480, 0)
    assert (waiting.deficit, waiting.receives, waiting.remaining) == (240, 0, 240)
