"""The compensation ledger: reference prices, booking executed transfers, statements and settlements."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from allocation import compensation
from allocation import services_redistribution as redistribution
from allocation.compensation import CompensationError
from allocation.models_distribution import CompensationEntry
from app.errors import ConflictError, NotFoundError
from app.notifications.models import Notice
from app.timeutil import local_today
from tests.allocation.redistribution_factories import (
    SKU,
    agency_purchase,
    agree,
    execute,
    give,
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
def national(users):
    return users.make("national_coordinator", "SOS")


@pytest.fixture
def agreed(session, users, period, coordinator):
    """An agreed proposal whose two transfers (0114 → 0115: 480, 0114 → 0117: 240) are reserved and planned."""
    stockholm_need(session, users, period)
    proposal = open_proposal(session, coordinator)
    agree(session, coordinator, proposal)
    for transfer in proposal.lines:
        give(session, users, transfer)
    return proposal


def price(session, national, ore: int, valid_from: date | None = None, sku: str = SKU):
    row = compensation.set_price(session, national, product=product(session, sku),
                                 valid_from=valid_from or local_today(), price_ore=ore)
    session.commit()
    return row


def entries(session) -> list[CompensationEntry]:
    return list(session.scalars(select(CompensationEntry).order_by(CompensationEntry.id)))


# --- money as text -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ore", "text"), [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-1001, "-10.01"),
                                           (10**15 + 1, "10000000000000.01")])
def test_ore_are_written_as_kronor_with_two_decimals_exactly(ore, text):
    assert compensation.sek_text(ore) == text


# --- prices ----------------------------------------------------------------------------------------------------------


def test_the_default_price_is_the_quantity_weighted_average_of_the_agencys_placed_purchases_in_sek(session, users):
    agency_purchase(session, users, SKU, [(1000, "12.50")])
    agency_purchase(session, users, SKU, [(3000, "1.10")], currency="EUR", rate="11.2345", status="received")
    agency_purchase(session, users, SKU, [(5000, "99")], status="cancelled")
    agency_purchase(session, users, SKU, [(5000, "99")], status="draft")
    agency_purchase(session, users, SKU, [(5000, "99")], buyer_code="0180")  # a municipality's own purchase
    # (1000 × 12.50 + 3000 × 1.10 × 11.2345) ÷ 4000 = 12.3934625 kr: 1239 öre, rounded half up.
    assert compensation.purchase_average_ore(session, product(session, SKU)) == 1239
    found = compensation.price_for(session, product(session, SKU))
    assert (found.unit_price_ore, found.source) == (1239, "purchases")


def test_the_price_list_overrides_the_purchases_from_its_date(session, users, national):
    agency_purchase(session, users, SKU, [(1000, "12.50")])
    today = local_today()
    price(session, national, 900, today - timedelta(days=10))
    price(session, national, 1100, today + timedelta(days=5))
    item = product(session, SKU)
    assert compensation.price_for(session, item, today).unit_price_ore == 900
    assert compensation.price_for(session, item, today + timedelta(days=5)).unit_price_ore == 1100
    assert compensation.price_for(session, item, today - timedelta(days=11)).unit_price_ore == 1250


def test_setting_a_price_for_the_same_day_again_changes_it(session, national):
    first = price(session, national, 900)
    second = price(session, national, 950)
    assert first.id == second.id and second.price_ore == 950


def test_only_the_national_coordinator_keeps_prices_and_they_must_be_above_zero(session, users, coordinator, national):
    with pytest.raises(CompensationError, match="national coordinator"):
        price(session, coordinator, 900)
    with pytest.raises(CompensationError) as error:
        price(session, national, 0)
    assert error.value.field == "price"


# --- booking ------------------------------------------------------------------------------------------------------------


def test_a_confirmed_transfer_is_booked_receiver_owes_giver_the_accepted_units_at_the_reference_price(
        session, users, national, agreed):
    price(session, national, 1234)
    transfer = line(agreed, "0114", "0115")
    execute(session, users, transfer, accepted=400)
    [entry] = entries(session)
    assert (entry.transfer_id, entry.debtor.municipality_code, entry.creditor.municipality_code) == (
        transfer.id, "0115", "0114")
    assert (entry.quantity, entry.unit_price_ore, entry.amount_ore) == (400, 1234, 493600)
    assert entry.booked_on == local_today() and entry.settlement_id is None
    assert compensation.transfer_compensation(session, transfer) == ("booked", entry)


def test_booking_without_a_listed_price_uses_the_agencys_purchases(session, users, agreed):
    agency_purchase(session, users, SKU, [(1000, "12.345")])
    execute(session, users, line(agreed, "0114", "0117"))
    [entry] = entries(session)
    assert (entry.quantity, entry.unit_price_ore, entry.amount_ore) == (240, 1235, 296400)


def test_booking_waits_without_any_price_and_is_made_when_a_price_is_set(session, users, national, agreed):
    transfer = line(agreed, "0114", "0115")
    result = execute(session, users, transfer)
    assert result.shipment.status == "confirmed"  # the receipt stands
    assert entries(session) == []
    assert compensation.transfer_compensation(session, transfer) == ("waiting_price", None)
    notice = session.scalar(select(Notice).where(Notice.user_id == national.id))
    assert "waits for a reference price" in notice.text
    assert [row.waiting for row in compensation.price_overview(session)] == [1]
    price(session, national, 1000)
    [entry] = entries(session)
    assert (entry.transfer_id, entry.amount_ore) == (transfer.id, 480000)


def test_booking_is_idempotent(session, users, national, agreed):
    price(session, national, 1000)
    transfer = line(agreed, "0114", "0115")
    result = execute(session, users, transfer)
    again = redistribution.on_transfer_confirmed(session, result.shipment)
    also = redistribution.on_transfer_confirmed(session, national, result.shipment)
    assert again is also is entries(session)[0]
    assert session.scalar(select(func.count(CompensationEntry.id))) == 1


def test_nothing_accepted_books_nothing(session, users, national, agreed):
    price(session, national, 1000)
    transfer = line(agreed, "0114", "0115")
    execute(session, users, transfer, accepted=0)
    assert entries(session) == []
    assert compensation.transfer_compensation(session, transfer) == ("nothing_accepted", None)


def test_the_hook_ignores_a_shipment_not_confirmed(session, agreed):
    shipment = redistribution.shipment_of(session, agreed.lines[0])
    assert redistribution.on_transfer_confirmed(session, shipment) is None


# --- statements -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def booked(session, users, national, agreed):
    """Both transfers executed at 12,34 kr: 0115 owes 0114 5 923,20 kr and 0117 owes 0114 2 961,60 kr."""
    price(session, national, 1234)
    for transfer in agreed.lines:
        execute(session, users, transfer)
    return entries(session)


def test_a_statement_lists_what_is_owed_and_receivable_with_totals_and_net(session, users, booked):
    giver = compensation.statement(session, users.make("recipient", "0114"), organisation("0114"))
    assert giver.owed == [] and len(giver.receivable) == 2
    assert (giver.total_receivable, giver.total_owed, giver.net) == (888480, 0, 888480)
    taker = compensation.statement(session, users.make("recipient", "0115"), organisation("0115"))
    assert [e.amount_ore for e in taker.owed] == [592320] and taker.net == -592320
    assert taker.counterparty(taker.owed[0]).municipality_code == "0114"


def test_a_statement_covers_only_entries_booked_in_its_period(session, users, booked):
    viewer = users.make("recipient", "0114")
    today = local_today()
    assert compensation.statement(session, viewer, organisation("0114"), today - timedelta(days=30),
                                  today - timedelta(days=1)).receivable == []
    with pytest.raises(CompensationError) as error:
        compensation.statement(session, viewer, organisation("0114"), today, today - timedelta(days=1))
    assert error.value.field == "end"


def test_a_statement_is_seen_by_the_party_its_county_board_and_national_scope_only(session, users, booked):
    for role, code in (("county_coordinator", "LST-01"), ("auditor", "RK-S"), ("national_coordinator", "SOS")):
        assert compensation.statement(session, users.make(role, code), organisation("0114")).total_receivable
    for role, code in (("recipient", "0115"), ("county_coordinator", "LST-14")):
        with pytest.raises(NotFoundError):
            compensation.statement(session, users.make(role, code), organisation("0114"))


def test_the_statement_csv_has_exact_amounts_and_the_totals(session, users, booked):
    result = compensation.statement(session, users.make("recipient", "0115"), organisation("0115"))
    text = compensation.statement_csv(result)
    assert text.startswith("\ufeff")
    rows = [row.split(";") for row in text.lstrip("\ufeff").splitlines()]
    assert rows[0][:3] == ["Booked on", "Direction", "Counterparty"]
    assert rows[1][1:] == ["Owed", "Upplands Väsby", agreed_reference(booked), SKU, "480", "12.34", "-5923.20", "", ""]
    assert rows[-1][0] == "Net" and rows[-1][-1] == "-5923.20"
    assert rows[-3][-1] == "-5923.20" and rows[-2][-1] == "0.00"


def agreed_reference(booked) -> str:
    return booked[0].transfer.proposal.reference


def test_the_overview_sums_each_organisation_in_scope(session, users, booked):
    rows = {row.organisation.municipality_code: row
            for row in compensation.balances(session, users.make("county_coordinator", "LST-01"))}
    assert rows["0114"].receivable == 888480 and rows["0114"].net == 888480
    assert rows["0115"].owed == 592320 and rows["0117"].unsettled_owed == 296160
    assert compensation.balances(session, users.make("county_coordinator", "LST-14")) == []


# --- settlements ----------------------------------------------------------------------------------------------------------


def test_a_settlement_pays_the_chosen_entries_and_they_cannot_be_settled_twice(session, users, booked):
    payer = users.make("recipient", "0115")
    entry = next(e for e in booked if e.debtor.municipality_code == "0115")
    settlement = compensation.settle(session, payer, entry_ids=[entry.id], paid_on=local_today(),
                                     payment_reference="Faktura 2026-118")
    session.commit()
    assert (settlement.debtor_id, settlement.creditor_id, settlement.amount_ore) == (
        entry.debtor_id, entry.creditor_id, 592320)
    assert entry.settlement_id == settlement.id
    assert compensation.settlement_entries(session, settlement) == [entry]
    with pytest.raises(ConflictError):
        compensation.settle(session, payer, entry_ids=[entry.id], paid_on=local_today())
    statement = compensation.statement(session, payer, organisation("0115"))
    assert statement.unsettled_owed == 0 and statement.total_owed == 592320


def test_a_settlement_is_between_one_debtor_and_one_creditor(session, users, booked):
    with pytest.raises(CompensationError, match="same two organisations"):
        compensation.settle(session, users.make("county_coordinator", "LST-01"),
                            entry_ids=[e.id for e in booked], paid_on=local_today())


def test_a_settlement_needs_a_past_payment_date_and_someone_entitled(session, users, booked):
    entry = booked[0]
    with pytest.raises(CompensationError) as error:
        compensation.settle(session, users.make("recipient", "0114"), entry_ids=[entry.id],
                            paid_on=local_today() + timedelta(days=1))
    assert error.value.field == "paid_on"
    with pytest.raises(CompensationError, match="or their coordinator"):
        compensation.settle(session, users.make("auditor", "0114"), entry_ids=[entry.id], paid_on=local_today())
    with pytest.raises(NotFoundError):
        compensation.settle(session, users.make("recipient", "0120"), entry_ids=[entry.id], paid_on=local_today())
    assert compensation.settle(session, users.make("county_coordinator", "LST-01"), entry_ids=[entry.id],
                               paid_on=local_today()).amount_ore == entry.amount_ore


def test_a_settlement_is_seen_by_its_parties_and_their_county_only(session, users, booked):
    entry = booked[0]
    settlement = compensation.settle(session, users.make("recipient", "0114"), entry_ids=[entry.id],
                                     paid_on=local_today())
    session.commit()
    for role, code in (("recipient", entry.debtor.municipality_code), ("county_coordinator", "LST-01"),
                       ("auditor", "RK-S")):
        assert compensation.get_settlement(session, users.make(role, code), settlement.id) == settlement
    for role, code in (("recipient", "0120"), ("county_coordinator", "LST-14")):
        with pytest.raises(NotFoundError):
            compensation.get_settlement(session, users.make(role, code), settlement.id)
