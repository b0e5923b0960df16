"""The stock ledger's operations: each writes movements and moves balances, and refuses what would go negative."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.stock import ledger
from app.stock.ledger import DocumentRef, InsufficientStock, StockError
from app.stock.models import MovementKind, StockBalance, StockMovement, StockState
from tests.conftest import organisation

Q, A, R, X, T = (
    StockState.QUARANTINE,
    StockState.AVAILABLE,
    StockState.RESERVED,
    StockState.REJECTED,
    StockState.IN_TRANSIT,
)


def movement_count(session) -> int:
    session.flush()
    return session.scalar(select(func.count()).select_from(StockMovement))


def snapshot(session):
    return movement_count(session), ledger.recorded_balances(session)


def test_a_receipt_goes_into_quarantine_and_is_available_only_once_released(session, clerk, mitt, product, make_lot):
    lot = make_lot("L-1")
    po = DocumentRef("purchase_order_receipt", 17, "PO-2026-00042")

    receipt = ledger.receive(session, clerk, location=mitt, product=product, quantity=1000, lot=lot, document=po)

    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=Q) == 1000
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=A) == 0
    assert (receipt.kind, receipt.from_location_id, receipt.to_location_id) == ("receipt", None, mitt.id)
    assert (receipt.document_type, receipt.document_id, receipt.reference) == ("purchase_order_receipt", 17,
                                                                               "PO-2026-00042")
    assert receipt.user_id == clerk.id

    ledger.release(session, clerk, location=mitt, product=product, quantity=600, lot=lot, document=po)

    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=Q) == 400
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=A) == 600
    assert ledger.verify(session) == []


def test_releasing_more_than_is_in_quarantine_is_refused_and_writes_nothing(session, clerk, mitt, product, make_lot):
    lot = make_lot("L-1")
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10, lot=lot)
    before = snapshot(session)

    with pytest.raises(InsufficientStock) as refused:
        ledger.release(session, clerk, location=mitt, product=product, quantity=11, lot=lot)

    error = refused.value
    assert (error.product, error.lot, error.location, error.state) == (product, lot, mitt, Q)
    assert (error.available, error.requested) == (10, 11)
    assert product.sku in error.message and "L-1" in error.message and mitt.name in error.message
    assert snapshot(session) == before


def test_taking_from_a_balance_that_never_existed_is_refused(session, clerk, mitt, product):
    with pytest.raises(InsufficientStock) as refused:
        ledger.consume(session, clerk, location=mitt, product=product, quantity=1)
    assert (refused.value.available, refused.value.lot) == (0, None)
    assert movement_count(session) == 0


def test_a_rejection_needs_a_reason_and_moves_stock_to_rejected(session, clerk, mitt, product, make_lot):
    lot = make_lot("L-1")
    ledger.receive(session, clerk, location=mitt, product=product, quantity=50, lot=lot)

    with pytest.raises(StockError) as missing:
        ledger.reject(session, clerk, location=mitt, product=product, quantity=50, lot=lot, reason="  ")
    assert missing.value.field == "reason"

    movement = ledger.reject(session, clerk, location=mitt, product=product, quantity=50, lot=lot,
                             reason="Filter efficiency 89 % in the sample test")
    assert movement.reason == "Filter efficiency 89 % in the sample test"
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=X) == 50

    ledger.return_to_supplier(session, clerk, location=mitt, product=product, quantity=30, lot=lot)
    ledger.dispose(session, clerk, location=mitt, product=product, quantity=20, lot=lot, reason="Destroyed")
    assert ledger.balances(session, location=mitt) == []


def test_released_stock_can_be_recalled_as_rejected(session, clerk, mitt, product, make_lot):
    lot = make_lot("L-1")
    ledger.receive(session, clerk, location=mitt, product=product, quantity=5, lot=lot, state=A)
    ledger.reject(session, clerk, location=mitt, product=product, quantity=5, lot=lot, from_state=A,
                  reason="Counterfeit certificate")
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=X) == 5


def test_stock_without_a_lot_is_a_balance_of_its_own(session, clerk, stockholm, product, make_lot):
    lot = make_lot("L-1")
    ledger.receive(session, clerk, location=stockholm, product=product, quantity=7, state=A,
                   document=DocumentRef("opening_stock"))
    ledger.receive(session, clerk, location=stockholm, product=product, quantity=3, lot=lot, state=A)
    ledger.receive(session, clerk, location=stockholm, product=product, quantity=2, state=A)

    assert ledger.balance(session, location=stockholm, product=product, state=A) == 9
    assert ledger.balance(session, location=stockholm, product=product, lot=lot, state=A) == 3
    assert ledger.total(session, product=product, location_ids=[stockholm.id]) == 12
    assert session.scalar(select(func.count()).select_from(StockBalance).where(StockBalance.lot_id.is_(None))) == 1


def test_a_reservation_is_taken_back_and_shipped_stock_reaches_the_recipient_only_when_confirmed(
    session, clerk, mitt, stockholm, product, make_lot
):
    lot = make_lot("L-1")
    decision = DocumentRef("allocation_decision", 3, "2026-0017")
    ledger.receive(session, clerk, location=mitt, product=product, quantity=100, lot=lot, state=A)
    ledger.reserve(session, clerk, location=mitt, product=product, quantity=60, lot=lot, document=decision)
    ledger.unreserve(session, clerk, location=mitt, product=product, quantity=10, lot=lot, document=decision)
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=R) == 50

    shipment = DocumentRef("shipment", 9, "2026-0017/0180")
    ledger.ship(session, clerk, from_location=mitt, product=product, quantity=50, lot=lot, document=shipment)
    transit = ledger.transit_location(session)
    assert ledger.balance(session, location=transit, product=product, lot=lot, state=T) == 50
    assert ledger.balance(session, location=stockholm, product=product, lot=lot, state=A) == 0

    written = ledger.confirm_delivery(session, clerk, to_location=stockholm, product=product, lot=lot,
                                      accepted=44, rejected=4, missing=2, reason="4 damaged, 2 short",
                                      document=shipment)

    assert [m.kind for m in written] == ["delivery", "delivery_rejection", "delivery_loss"]
    assert ledger.balance(session, location=stockholm, product=product, lot=lot, state=A) == 44
    assert ledger.balance(session, location=stockholm, product=product, lot=lot, state=X) == 4
    assert ledger.balance(session, location=transit, product=product, lot=lot, state=T) == 0
    assert ledger.balance(session, location=mitt, product=product, lot=lot, state=A) == 50
    assert {m.kind for m in ledger.movements(session, document=shipment)} == {
        "dispatch", "delivery", "delivery_rejection", "delivery_loss"
    }
    assert ledger.verify(session) == []


def test_confirming_more_than_is_in_transit_writes_no_part_of_the_line(session, clerk, mitt, stockholm, product):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10, state=A)
    ledger.ship(session, clerk, from_location=mitt, product=product, quantity=10, from_state=A)
    before = snapshot(session)

    with pytest.raises(InsufficientStock):
        ledger.confirm_delivery(session, clerk, to_location=stockholm, product=product, accepted=9, rejected=2,
                                reason="Damaged")
    with pytest.raises(StockError) as no_reason:
        ledger.confirm_delivery(session, clerk, to_location=stockholm, product=product, accepted=8, missing=2)

    assert no_reason.value.field == "reason"
    assert snapshot(session) == before


def test_a_direct_transfer_moves_stock_between_organisations(session, clerk, stockholm, product):
    solna = ledger.location_for_organisation(session, organisation("0184"))
    ledger.receive(session, clerk, location=stockholm, product=product, quantity=30, state=A)

    ledger.transfer(session, clerk, from_location=stockholm, to_location=solna, product=product, quantity=12,
                    document=DocumentRef("transfer", 1))

    assert ledger.balance(session, location=stockholm, product=product) == 18
    assert ledger.balance(session, location=solna, product=product) == 12
    with pytest.raises(StockError):
        ledger.transfer(session, clerk, from_location=solna, to_location=solna, product=product, quantity=1)


def test_an_adjustment_needs_a_reason_and_cannot_take_the_balance_below_zero(session, clerk, mitt, product):
    with pytest.raises(StockError) as no_reason:
        ledger.adjust(session, clerk, location=mitt, product=product, delta=5, reason="")
    assert no_reason.value.field == "reason"

    ledger.adjust(session, clerk, location=mitt, product=product, delta=5, reason="Found a carton")
    ledger.adjust(session, clerk, location=mitt, product=product, delta=-2, reason="Count")
    with pytest.raises(InsufficientStock):
        ledger.adjust(session, clerk, location=mitt, product=product, delta=-4, reason="Count")

    assert ledger.balance(session, location=mitt, product=product) == 3
    kinds = [(m.from_location_id, m.to_location_id, m.quantity) for m in ledger.movements(session, location=mitt)]
    assert kinds == [(mitt.id, None, 2), (None, mitt.id, 5)]


@pytest.mark.parametrize("quantity", [0, -3, 2.5, True, "4"])
def test_a_quantity_must_be_a_whole_number_above_zero(session, clerk, mitt, product, quantity):
    with pytest.raises(StockError) as refused:
        ledger.receive(session, clerk, location=mitt, product=product, quantity=quantity)
    assert refused.value.field == "quantity"
    assert movement_count(session) == 0


def test_goods_in_transit_exist_only_at_the_transit_location(session, clerk, mitt, product):
    transit = ledger.transit_location(session)
    with pytest.raises(StockError):
        ledger.transfer(session, clerk, from_location=mitt, to_location=transit, product=product, quantity=1,
                        from_state=A)
    with pytest.raises(StockError):
        ledger.receive(session, clerk, location=mitt, product=product, quantity=1, state=T)


def test_a_lot_of_another_product_is_refused(session, clerk, mitt, products, make_lot):
    lot = make_lot("L-1", of=products[1])
    with pytest.raises(StockError) as refused:
        ledger.receive(session, clerk, location=mitt, product=products[0], quantity=1, lot=lot)
    assert refused.value.field == "lot_number"


def test_a_lot_is_registered_once_and_keeps_its_expiry_date(session, product, make_lot):
    first = make_lot("L-9", date(2027, 6, 30))
    assert ledger.lot_for(session, product, " L-9 ") is first
    assert ledger.lot_for(session, product, "L-9", expiry_on=date(2027, 6, 30)) is first
    with pytest.raises(StockError) as conflict:
        ledger.lot_for(session, product, "L-9", expiry_on=date(2027, 7, 1))
    assert conflict.value.field == "expiry_on"
    with pytest.raises(StockError):
        ledger.lot_for(session, product, "L-10", expiry_on=date(2027, 1, 1), manufactured_on=date(2027, 2, 1))


def test_an_organisation_gets_one_location_made_on_first_use(session):
    stockholm = organisation("0180")
    first = ledger.location_for_organisation(session, stockholm)
    assert ledger.location_for_organisation(session, stockholm) is first
    assert (first.kind, first.name, first.organisation_id) == ("organisation", stockholm.name, stockholm.id)
    with pytest.raises(StockError):
        ledger.location_for_organisation(session, organisation("SOS"))


def test_the_national_warehouses_are_loaded_once(session):
    first = ledger.ensure_warehouses(session)
    again = ledger.ensure_warehouses(session)
    assert [w.code for w in first] == ["NL-MITT", "NL-SYD"] and again == first
    assert ledger.warehouses(session) == first


def test_lots_are_picked_first_expiry_first_and_expired_ones_passed_over(session, clerk, mitt, product, make_lot):
    expired = make_lot("OLD", date(2026, 1, 31))
    late = make_lot("LATE", date(2029, 1, 31))
    early = make_lot("EARLY", date(2027, 3, 31))
    undated = make_lot("UNDATED", None)
    for lot, quantity in ((expired, 5), (late, 40), (early, 30), (undated, 10), (None, 8)):
        ledger.receive(session, clerk, location=mitt, product=product, quantity=quantity, lot=lot, state=A)

    order = [(item.lot.lot_number if item.lot else None, item.quantity)
             for item in ledger.available_by_lot(session, product=product, location=mitt)]
    assert order == [("OLD", 5), ("EARLY", 30), ("LATE", 40), ("UNDATED", 10), (None, 8)]

    picks = ledger.pick_fefo(session, location=mitt, product=product, quantity=50, usable_on=date(2026, 11, 24))
    assert [(p.lot.lot_number, p.quantity) for p in picks] == [("EARLY", 30), ("LATE", 20)]
    with pytest.raises(InsufficientStock) as short:
        ledger.pick_fefo(session, location=mitt, product=product, quantity=89, usable_on=date(2026, 11, 24))
    assert short.value.available == 88


def test_a_reservation_by_expiry_spans_lots_and_is_all_or_nothing(session, clerk, mitt, product, make_lot):
    early, late = make_lot("EARLY", date(2027, 3, 31)), make_lot("LATE", date(2029, 1, 31))
    ledger.receive(session, clerk, location=mitt, product=product, quantity=30, lot=early, state=A)
    ledger.receive(session, clerk, location=mitt, product=product, quantity=40, lot=late, state=A)

    written = ledger.reserve_fefo(session, clerk, location=mitt, product=product, quantity=45,
                                  usable_on=date(2026, 11, 24))

    assert [(m.lot_id, m.quantity) for m in written] == [(early.id, 30), (late.id, 15)]
    before = snapshot(session)
    with pytest.raises(InsufficientStock):
        ledger.reserve_fefo(session, clerk, location=mitt, product=product, quantity=26, usable_on=None)
    assert snapshot(session) == before


def test_verify_finds_a_balance_changed_behind_the_ledgers_back(session, clerk, mitt, product):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10)
    assert ledger.verify(session) == []

    session.execute(update(StockBalance).values(quantity=StockBalance.quantity + 1))

    [difference] = ledger.verify(session)
    assert (difference.key.location_id, difference.key.state) == (mitt.id, "quarantine")
    assert (difference.recorded, difference.derived) == (11, 10)


def test_the_database_refuses_to_change_or_delete_a_movement(session, clerk, mitt, product, _transaction):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10)
    session.commit()
    for statement in (
        update(StockMovement).values(quantity=1000),
        delete(StockMovement),
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError) as refused:
            session.execute(statement)
        nested.rollback()
        assert "stock_movements is append-only" in str(refused.value)
    assert session.scalar(select(StockMovement.quantity)) == 10


def test_the_database_refuses_a_negative_balance_and_a_second_row_for_one_key(session, clerk, mitt, product):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10)
    session.commit()
    for statement in (
        update(StockBalance).values(quantity=-1),
        text(
            "INSERT INTO stock_balances (location_id, product_id, lot_id, state, quantity, updated_at) "
            "SELECT location_id, product_id, lot_id, state, 1, updated_at FROM stock_balances"
        ),
    ):
        nested = session.begin_nested()
        with pytest.raises(IntegrityError):
            session.execute(statement)
        nested.rollback()


def test_stock_verify_reports_no_difference(runner, session, clerk, mitt, product):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10)
    session.commit()

    result = runner.invoke(args=["stock", "verify"])

    assert result.exit_code == 0, result.output
    assert "Every balance equals the sum of its movements." in result.output


def test_stock_verify_fails_on_a_difference(runner, session, clerk, mitt, product):
    ledger.receive(session, clerk, location=mitt, product=product, quantity=10)
    session.execute(update(StockBalance).values(quantity=3))
    session.commit()

    result = runner.invoke(args=["stock", "verify"])

    assert result.exit_code == 1
    assert "recorded 3, movements give 10" in result.output


def test_stock_warehouses_loads_the_national_warehouses(runner, session):
    result = runner.invoke(args=["stock", "warehouses"])
    assert result.exit_code == 0, result.output
    assert "NL-MITT  Nationellt lager Mitt" in result.output
    assert [w.code for w in ledger.warehouses(session)] == ["NL-MITT", "NL-SYD"]


def test_the_movement_kinds_needing_a_reason_are_refused_without_one_by_the_database(session, clerk, mitt, product):
    session.flush()
    movement = StockMovement(kind=MovementKind.ADJUSTMENT.value, product_id=product.id, quantity=1,
                             to_location_id=mitt.id, to_state="available")
    session.add(movement)
    with pytest.raises(IntegrityError):
        session.flush()
