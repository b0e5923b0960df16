"""Shipments and proof of delivery: planning from a decision's reservation (FEFO), dispatch, confirmation with
its ledger outcome, idempotency, discrepancy follow-ups, cancellation and transfers."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from allocation import services_shipments as shipments
from allocation.models_distribution import (
    DeliveryFollowUp,
    FollowUpStatus,
    RecipientScope,
    RoundStatus,
    Shipment,
    ShipmentStatus,
)
from allocation.services_shipments import LineConfirmation, ShipmentError
from app.errors import ConflictError
from app.notifications.models import Notice
from app.stock import ledger
from app.stock.models import MovementKind, StockMovement, StockState
from tests.allocation.shipments_factories import (
    agreed_transfer,
    decided_round,
    location_of,
    product,
    stock,
    warehouse,
)
from tests.conftest import organisation


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


@pytest.fixture
def recipient(users):
    return users.make("recipient", "0180")


def _balance(session, location, state, sku="FFP2-CUP") -> int:
    return ledger.total(session, product=product(session, sku), state=state, location_ids=[location.id])


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _movement_count(session) -> int:
    return session.scalar(select(func.count()).select_from(StockMovement))


def _lots(shipment) -> list[tuple[str, int]]:
    return [(line.lot.lot_number, line.quantity) for line in shipment.lines]


def _all_accepted(shipment) -> list[LineConfirmation]:
    return [LineConfirmation(line.id, accepted=line.quantity) for line in shipment.lines]


def _planned(session, coordinator, shares=None, lots=None):
    stock(session, coordinator, warehouse(session), lots or {"A-100": (1000, 200)})
    round_ = decided_round(session, coordinator, shares or {"0180": {"FFP2-CUP": 100}})
    return shipments.plan_shipments(session, coordinator, round_)


def _dispatched(session, coordinator, **kwargs) -> Shipment:
    shipment = _planned(session, coordinator, **kwargs)[0]
    return shipments.dispatch(session, coordinator, shipment, carrier="PostNord", tracking_reference="PN-1")


# --- planning ------------------------------------------------------------------------------------------------


def test_a_decision_plans_one_shipment_per_recipient_from_its_reserved_lots_first_expiry_first(session, coordinator):
    nl = warehouse(session)
    stock(session, coordinator, nl, {"EARLY": (50, 20), "A": (60, 60), "B": (200, 120)})
    # Another decision reserved the earliest lot first: this decision's shipments never take it.
    decided_round(session, coordinator, {"0114": {"FFP2-CUP": 50}})
    round_ = decided_round(session, coordinator, {"0180": {"FFP2-CUP": 80}, "0181": {"FFP2-CUP": 80}})

    planned = shipments.plan_shipments(session, coordinator, round_)

    assert [s.recipient.municipality_code for s in planned] == ["0180", "0181"]
    assert [_lots(s) for s in planned] == [[("A", 60), ("B", 20)], [("B", 80)]]
    for shipment in planned:
        assert re.fullmatch(r"LS-\d{4}-\d{5}", shipment.number)
        assert shipment.status == ShipmentStatus.PLANNED.value
        assert shipment.from_location == nl
        assert shipment.to_location == location_of(session, shipment.recipient.municipality_code)
        assert all(line.allocation_line_id is not None for line in shipment.lines)
    assert planned[0].delivery_address.startswith(organisation("0180").name)


def test_planning_again_returns_the_same_shipments(session, coordinator):
    first = _planned(session, coordinator)
    round_ = first[0].round

    again = shipments.plan_shipments(session, coordinator, round_)

    assert again == first
    assert session.scalar(select(func.count()).select_from(Shipment).where(Shipment.round_id == round_.id)) == 1


def test_a_round_to_county_boards_ships_to_the_boards_own_location(session, coordinator):
    stock(session, coordinator, warehouse(session), {"A": (500, 200)})
    round_ = decided_round(session, coordinator, {"LST-01": {"FFP2-CUP": 300}},
                           scope=RecipientScope.COUNTY_BOARDS.value)

    (shipment,) = shipments.plan_shipments(session, coordinator, round_)

    assert shipment.to_location == location_of(session, "LST-01")


def test_planning_refuses_a_draft_and_a_reservation_short_of_the_decision(session, coordinator):
    stock(session, coordinator, warehouse(session), {"A": (500, 200)})
    round_ = decided_round(session, coordinator, {"0180": {"FFP2-CUP": 100}})
    round_.lines[0].quantity = round_.lines[0].computed_quantity = 150

    with pytest.raises(ShipmentError, match="reserved 100 units of FFP2-CUP but gives out 150"):
        shipments.plan_shipments(session, coordinator, round_)
    round_.status = RoundStatus.DRAFT.value
    with pytest.raises(ShipmentError, match="once the round is decided"):
        shipments.plan_shipments(session, coordinator, round_)


def test_a_reserved_lot_expiring_today_is_not_shipped(session, coordinator):
    stock(session, coordinator, warehouse(session), {"TODAY": (100, 0)})
    from app.timeutil import local_today

    round_ = decided_round(session, coordinator, {"0180": {"FFP2-CUP": 100}}, usable_on=local_today())

    with pytest.raises(ShipmentError, match="Lot TODAY of FFP2-CUP expires on"):
        shipments.plan_shipments(session, coordinator, round_)


# --- dispatch and delivery ---------------------------------------------------------------------------------


def test_dispatch_moves_the_reserved_lots_into_transit_and_tells_the_recipient(session, coordinator, recipient):
    nl = warehouse(session)
    shipment = _planned(session, coordinator)[0]

    shipments.dispatch(session, coordinator, shipment, carrier="PostNord", tracking_reference="PN-123",
                       delivery_address="Omlastningsplats Arlanda")

    assert shipment.status == ShipmentStatus.DISPATCHED.value
    assert (shipment.carrier, shipment.tracking_reference) == ("PostNord", "PN-123")
    assert shipment.delivery_address == "Omlastningsplats Arlanda"
    assert shipment.dispatched_by_id == coordinator.id and shipment.dispatched_at is not None
    assert _balance(session, nl, StockState.RESERVED) == 0
    assert _balance(session, nl, StockState.AVAILABLE) == 900
    assert _balance(session, ledger.transit_location(session), StockState.IN_TRANSIT) == 100
    (notice,) = _notices(session, recipient)
    assert notice.text == f"Shipment {shipment.number} is on its way"
    assert "PostNord, tracking PN-123" in notice.body


def test_only_the_sending_organisation_dispatches_a_planned_shipment_once(session, coordinator, users, recipient):
    shipment = _planned(session, coordinator)[0]

    with pytest.raises(ShipmentError, match="Only .* which sends this shipment"):
        shipments.dispatch(session, users.make("county_coordinator", "LST-01"), shipment, carrier="DHL")
    with pytest.raises(ShipmentError, match="Only .* which sends this shipment"):
        shipments.dispatch(session, recipient, shipment, carrier="DHL")
    with pytest.raises(ShipmentError, match="Name the carrier"):
        shipments.dispatch(session, coordinator, shipment, carrier="  ")
    shipments.dispatch(session, coordinator, shipment, carrier="DHL")
    with pytest.raises(ShipmentError, match="only a planned shipment is dispatched"):
        shipments.dispatch(session, coordinator, shipment, carrier="DHL")


def test_marking_delivered_is_the_senders_optional_step_and_repeating_it_changes_nothing(session, coordinator, recipient):
    shipment = _dispatched(session, coordinator)

    with pytest.raises(ShipmentError):
        shipments.mark_delivered(session, recipient, shipment)
    shipments.mark_delivered(session, coordinator, shipment)
    delivered_at = shipment.delivered_at
    shipments.mark_delivered(session, coordinator, shipment)

    assert shipment.status == ShipmentStatus.DELIVERED.value
    assert shipment.delivered_at == delivered_at


# --- confirmation ------------------------------------------------------------------------------------------


def test_a_full_confirmation_puts_the_stock_into_the_recipients_available_stock(session, coordinator, recipient):
    shipment = _dispatched(session, coordinator)

    result = shipments.confirm(session, recipient, shipment, received_by_name="Anna Andersson",
                               lines=_all_accepted(shipment))

    assert result.follow_up is None and not result.repeated
    assert shipment.status == ShipmentStatus.CONFIRMED.value
    assert shipment.confirmed_by_id == recipient.id and shipment.received_by_name == "Anna Andersson"
    assert shipment.confirmed_at is not None and shipment.delivered_at is not None
    home = location_of(session, "0180")
    assert _balance(session, home, StockState.AVAILABLE) == 100
    assert _balance(session, ledger.transit_location(session), StockState.IN_TRANSIT) == 0
    assert ledger.verify(session) == []


def test_a_short_and_damaged_delivery_books_rejected_and_lost_units_and_opens_a_follow_up(
    session, coordinator, recipient, users
):
    other_coordinator = users.make("national_coordinator", "SOS")
    county = users.make("county_coordinator", "LST-01")
    shipment = _dispatched(session, coordinator)
    line = shipment.lines[0]

    result = shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=[
        LineConfirmation(line.id, accepted=90, rejected=6, missing=4, reason="damaged", comment="Wet cartons"),
    ])

    home = location_of(session, "0180")
    assert _balance(session, home, StockState.AVAILABLE) == 90
    assert _balance(session, home, StockState.REJECTED) == 6
    assert _balance(session, ledger.transit_location(session), StockState.IN_TRANSIT) == 0
    losses = ledger.movements(session, kinds=[MovementKind.DELIVERY_LOSS], document=shipments.document_of(shipment))
    assert [(m.quantity, m.reason) for m in losses] == [(4, "Damaged: Wet cartons")]
    assert (line.accepted, line.rejected, line.missing, line.discrepancy_reason, line.comment) == (
        90, 6, 4, "damaged", "Wet cartons")
    follow_up = result.follow_up
    assert follow_up is not None and follow_up.status == FollowUpStatus.OPEN.value
    for person in (coordinator, other_coordinator):
        (notice,) = [n for n in _notices(session, person) if "Discrepancy" in n.text]
        assert "6 rejected, 4 missing (Damaged: Wet cartons)" in notice.body
    assert _notices(session, county) == []  # a national decision: the national coordinator follows it up
    assert ledger.verify(session) == []


def test_confirming_the_same_figures_twice_changes_nothing(session, coordinator, recipient):
    shipment = _dispatched(session, coordinator)
    line = shipment.lines[0]
    lines = [LineConfirmation(line.id, accepted=95, missing=5, reason="short", comment="One carton short")]
    first = shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=lines)
    movements = _movement_count(session)

    again = shipments.confirm(session, recipient, shipment, received_by_name=" Anna ", lines=lines)

    assert again.repeated and again.follow_up == first.follow_up
    assert _movement_count(session) == movements
    assert _balance(session, location_of(session, "0180"), StockState.AVAILABLE) == 95
    assert session.scalar(select(func.count()).select_from(DeliveryFollowUp)) == 1


def test_a_different_second_confirmation_is_refused(session, coordinator, recipient):
    shipment = _dispatched(session, coordinator)
    shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=_all_accepted(shipment))
    line = shipment.lines[0]

    with pytest.raises(ConflictError, match="already confirmed .* cannot be changed"):
        shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=[
            LineConfirmation(line.id, accepted=99, missing=1, reason="short", comment="Counted again"),
        ])
    assert line.accepted == 100


def test_a_confirmation_must_add_up_and_explain_every_discrepancy(session, coordinator, recipient):
    shipment = _dispatched(session, coordinator, lots={"A": (60, 100), "B": (100, 200)})
    first, second = shipment.lines

    with pytest.raises(ShipmentError) as refused:
        shipments.confirm(session, recipient, shipment, received_by_name="", lines=[
            LineConfirmation(first.id, accepted=50),
            LineConfirmation(second.id, accepted=30, rejected=10),
        ])

    assert {(e.field, e.message) for e in refused.value.errors} == {
        ("received_by_name", "Who received the shipment?"),
        ("lines-0-accepted", "Accepted, rejected and missing must add up to the 60 units shipped (now 50)."),
        ("lines-1-reason", "Say why units are rejected or missing."),
        ("lines-1-comment", "Describe what was wrong."),
    }
    assert shipment.status == ShipmentStatus.DISPATCHED.value
    with pytest.raises(ShipmentError, match="every line"):
        shipments.confirm(session, recipient, shipment, received_by_name="Anna",
                          lines=[LineConfirmation(first.id, accepted=60)])


def test_only_the_recipient_confirms_and_only_a_dispatched_shipment(session, coordinator, recipient, users):
    shipment = _planned(session, coordinator)[0]

    with pytest.raises(ShipmentError, match="only a dispatched shipment is confirmed"):
        shipments.confirm(session, recipient, shipment, received_by_name="Anna", lines=_all_accepted(shipment))
    shipments.dispatch(session, coordinator, shipment, carrier="DHL")
    for outsider in (users.make("recipient", "0181"), users.make("reporter", "0180"), coordinator):
        with pytest.raises(ShipmentError, match="which receives this shipment"):
            shipments.confirm(session, outsider, shipment, received_by_name="Anna", lines=_all_accepted(shipment))


def test_a_county_board_confirms_its_share_and_then_holds_it(session, coordinator, users):
    board_coordinator = users.make("county_coordinator", "LST-01")
    stock(session, coordinator, warehouse(session), {"A": (500, 200)})
    round_ = decided_round(session, coordinator, {"LST-01": {"FFP2-CUP": 300}},
                           scope=RecipientScope.COUNTY_BOARDS.value)
    (shipment,) = shipments.plan_shipments(session, coordinator, round_)
    shipments.dispatch(session, coordinator, shipment, carrier="Schenker")

    shipments.confirm(session, board_coordinator, shipment, received_by_name="Lager LST",
                      lines=_all_accepted(shipment))

    assert _balance(session, location_of(session, "LST-01"), StockState.AVAILABLE) == 300


# --- follow-ups ----------------------------------------------------------------------------------------------


def _second_level_discrepancy(session, coordinator, users):
    """A county board's second-level shipment to Stockholm, confirmed short."""
    board = users.make("county_coordinator", "LST-01")
    board_location = location_of(session, "LST-01")
    stock(session, board, board_location, {"A": (200, 200)})
    round_ = decided_round(session, board, {"0180": {"FFP2-CUP": 100}}, source=board_location)
    (shipment,) = shipments.plan_shipments(session, board, round_)
    shipments.dispatch(session, board, shipment, carrier="Egen transport")
    recipient = users.make("recipient", "0180")
    line = shipment.lines[0]
    result = shipments.confirm(session, recipient, shipment, received_by_name="Bo", lines=[
        LineConfirmation(line.id, accepted=80, missing=20, reason="short", comment="Two cartons missing"),
    ])
    return board, result.follow_up


def test_a_second_level_discrepancy_goes_to_the_county_coordinator_who_resolves_it(session, coordinator, users):
    other_county = users.make("county_coordinator", "LST-14")
    board, follow_up = _second_level_discrepancy(session, coordinator, users)

    assert [n.text for n in _notices(session, board) if "Discrepancy" in n.text]
    assert not [n for n in _notices(session, coordinator) if "Discrepancy" in n.text]
    for refused in (coordinator, other_county):
        with pytest.raises(ShipmentError, match="Only the coordinator responsible"):
            shipments.resolve_follow_up(session, refused, follow_up, "Done")
    with pytest.raises(ShipmentError, match="Say how it was resolved"):
        shipments.resolve_follow_up(session, board, follow_up, " ")

    shipments.resolve_follow_up(session, board, follow_up, "Carrier compensates; two cartons resent.")

    assert follow_up.status == FollowUpStatus.RESOLVED.value
    assert follow_up.resolved_by_id == board.id and follow_up.resolved_at is not None
    with pytest.raises(ShipmentError, match="already resolved"):
        shipments.resolve_follow_up(session, board, follow_up, "Again")


# --- cancellation --------------------------------------------------------------------------------------------


def test_cancelling_a_planned_shipment_gives_its_reservation_back(session, coordinator, recipient):
    nl = warehouse(session)
    shipment = _planned(session, coordinator)[0]

    with pytest.raises(ShipmentError, match="Give the reason"):
        shipments.cancel(session, coordinator, shipment, "")
    shipments.cancel(session, coordinator, shipment, "The municipality collects it itself")

    assert shipment.status == ShipmentStatus.CANCELLED.value
    assert _balance(session, nl, StockState.RESERVED) == 0
    assert _balance(session, nl, StockState.AVAILABLE) == 1000
    cancelled = shipments.cancellation(session, shipment)
    assert cancelled.reason == "The municipality collects it itself" and cancelled.by == coordinator
    with pytest.raises(ShipmentError, match="only a planned shipment can be cancelled"):
        shipments.cancel(session, coordinator, shipment, "Again")


def test_a_dispatched_shipment_cannot_be_cancelled(session, coordinator):
    shipment = _dispatched(session, coordinator)

    with pytest.raises(ShipmentError, match="only a planned shipment can be cancelled"):
        shipments.cancel(session, coordinator, shipment, "Too late")


# --- transfers -----------------------------------------------------------------------------------------------


def test_a_transfer_shipment_reserves_the_givers_usable_lots_first_expiry_first(session, coordinator, users):
    giver_location = location_of(session, "0181")
    stock(session, coordinator, giver_location, {"OLD": (30, 0), "SOON": (40, 30), "LATER": (100, 300)})
    transfer = agreed_transfer(session, coordinator, "0181", "0180", 60)

    shipment = shipments.create_transfer_shipment(session, coordinator, transfer)

    assert shipment.transfer == transfer and shipment.recipient == organisation("0180")
    assert shipment.from_location == giver_location and shipment.to_location == location_of(session, "0180")
    assert _lots(shipment) == [("SOON", 40), ("LATER", 20)]  # the lot expiring today is passed over
    assert _balance(session, giver_location, StockState.RESERVED) == 60
    assert shipments.create_transfer_shipment(session, coordinator, transfer) == shipment
    assert session.scalar(select(func.count()).select_from(Shipment).where(Shipment.transfer_id == transfer.id)) == 1


def test_a_transfer_the_giver_cannot_cover_plans_nothing(session, coordinator):
    stock(session, coordinator, location_of(session, "0181"), {"A": (10, 100)})
    transfer = agreed_transfer(session, coordinator, "0181", "0180", 60)

    with pytest.raises(ShipmentError, match="holds 10 units of FFP2-CUP"):
        shipments.create_transfer_shipment(session, coordinator, transfer)

    assert session.scalar(select(func.count()).select_from(Shipment)) == 0
    assert _balance(session, location_of(session, "0181"), StockState.RESERVED) == 0


def test_the_giver_dispatches_a_transfer_and_its_confirmation_calls_the_compensation_hook(
    session, coordinator, users, monkeypatch
):
    giver = users.make("recipient", "0181")
    receiver = users.make("recipient", "0180")
    county = users.make("county_coordinator", "LST-01")
    stock(session, coordinator, location_of(session, "0181"), {"A": (100, 100)})
    shipment = shipments.create_transfer_shipment(session, county, agreed_transfer(session, county, "0181", "0180", 50))
    booked = []
    monkeypatch.setattr(shipments, "transfer_hook", lambda: lambda session, confirmed: booked.append(confirmed))

    with pytest.raises(ShipmentError):
        shipments.dispatch(session, coordinator, shipment, carrier="DHL")
    shipments.dispatch(session, giver, shipment, carrier="Egen bil")
    line = shipment.lines[0]
    shipments.confirm(session, receiver, shipment, received_by_name="Cecilia", lines=[
        LineConfirmation(line.id, accepted=45, rejected=5, reason="expired", comment="Five boxes expired"),
    ])

    assert booked == [shipment]
    assert _balance(session, location_of(session, "0180"), StockState.AVAILABLE) == 45
    assert _balance(session, location_of(session, "0181"), StockState.AVAILABLE) == 50
    # A county's transfer is followed up by the county coordinator.
    assert [n for n in _notices(session, county) if "Discrepancy" in n.text]
    follow_up = session.scalar(select(DeliveryFollowUp).where(DeliveryFollowUp.shipment_id == shipment.id))
    assert shipments.may_resolve(county, follow_up) and not shipments.may_resolve(coordinator, follow_up)


def test_the_transfer_hook_is_the_redistribution_services_function_when_it_exists(app):
    hook = shipments.transfer_hook()
    try:
        from allocation import services_redistribution
    except ImportError:
        assert hook is None
    else:
        assert hook is getattr(services_redistribution, "on_transfer_confirmed", None)


def test_deciding_a_round_plans_its_shipments_through_the_rounds_service(session, coordinator):
    from allocation import services_rounds
    from tests.allocation.shipments_factories import draft_round

    stock(session, coordinator, warehouse(session), {"A": (100, 200), "B": (500, 300)})
    round_ = draft_round(session, coordinator, {"0180": {"FFP2-CUP": 150}, "0181": {"FFP2-CUP": 50}})

    services_rounds.decide_round(session, coordinator, round_)

    planned = list(session.scalars(select(Shipment).where(Shipment.round_id == round_.id).order_by(Shipment.id)))
    assert [(s.recipient.municipality_code, _lots(s)) for s in planned] == [
        ("0180", [("A", 100), ("B", 50)]), ("0181", [("B", 50)])]
    assert _balance(session, warehouse(session), StockState.RESERVED) == 200
