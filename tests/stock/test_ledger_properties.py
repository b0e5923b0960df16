"""Property-based tests of the ledger: whatever sequence of operations users make, every balance equals the
sum of its movements and is never negative, and a refused operation changes nothing.

A hypothesis state machine drives the real ledger on the test database beside a plain dict model of the
balances; each example runs in a savepoint that is rolled back afterwards.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.stock import ledger
from app.stock.ledger import InsufficientStock
from app.stock.models import StockMovement, StockState
from tests.conftest import organisation

Q, A, R, X, T = (
    StockState.QUARANTINE,
    StockState.AVAILABLE,
    StockState.RESERVED,
    StockState.REJECTED,
    StockState.IN_TRANSIT,
)
HELD = (Q, A, R, X)

quantities = st.integers(min_value=1, max_value=60)
places = st.integers(min_value=0, max_value=3)  # two warehouses, two municipalities
goods = st.integers(min_value=0, max_value=1)  # two products
lots = st.sampled_from([None, 0, 1])  # no lot, or one of the product's two lots


def ledger_machine(session, user, locations, transit, products, product_lots):
    by_id = {location.id: location for location in [*locations, transit]}
    by_id.update({("product", product.id): product for product in products})
    by_id.update({("lot", lot.id): lot for pair in product_lots for lot in pair})

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.savepoint = session.begin_nested()
            self.model: dict[tuple, int] = defaultdict(int)

        def teardown(self):
            self.savepoint.rollback()

        # --- helpers -----------------------------------------------------------------------------------

        def key(self, location, product, lot, state):
            return (location.id, product.id, lot.id if lot is not None else None, str(state))

        def target(self, place, good, lot_index):
            product = products[good]
            lot = product_lots[good][lot_index] if lot_index is not None else None
            return locations[place], product, lot

        def attempt(self, call, moves):
            """Run ``call``; the model says whether it must succeed (then apply ``moves``: (from key, to key,
            quantity)) or be refused as insufficient (then nothing may change)."""
            needs: dict[tuple, int] = defaultdict(int)
            for source, _target, quantity in moves:
                if source is not None:
                    needs[source] += quantity
            enough = all(self.model[source] >= quantity for source, quantity in needs.items())
            before = (self.movement_count(), ledger.recorded_balances(session))
            try:
                call()
            except InsufficientStock:
                assert not enough, "refused although the stock was there"
                assert (self.movement_count(), ledger.recorded_balances(session)) == before
                return
            assert enough, "took stock that was not there"
            for source, target, quantity in moves:
                if source is not None:
                    self.model[source] -= quantity
                if target is not None:
                    self.model[target] += quantity

        def movement_count(self) -> int:
            session.flush()
            return session.scalar(select(func.count()).select_from(StockMovement))

        def source(self, data, states):
            """Where to take stock from: mostly a balance that holds some (so operations succeed as well as
            fail), sometimes any; the quantity sometimes more than is there. Returns location, product, lot,
            state and quantity."""
            held = sorted(
                (key for key, quantity in self.model.items() if quantity > 0 and key[3] in states),
                key=lambda k: (k[0], k[1], k[2] or 0, k[3]),
            )
            if held and data.draw(st.integers(0, 9), label="pick held") > 0:
                location_id, product_id, lot_id, state = data.draw(st.sampled_from(held), label="balance")
                there = self.model[(location_id, product_id, lot_id, state)]
                too_much = data.draw(st.integers(0, 4), label="too much") == 0
                quantity = data.draw(st.integers(there + 1, there + 3) if too_much else st.integers(1, there),
                                     label="quantity")
                return (by_id[location_id], by_id[("product", product_id)],
                        by_id[("lot", lot_id)] if lot_id is not None else None, StockState(state), quantity)
            location, product, lot = self.target(data.draw(places), data.draw(goods), data.draw(lots))
            return location, product, lot, StockState(data.draw(st.sampled_from(states))), data.draw(quantities)

        @initialize(data=st.data())
        def opening_stock(self, data):
            # Some stock from the start, so that taking operations succeed from the first steps too.
            for _ in range(data.draw(st.integers(1, 6), label="opening lines")):
                self.receive(data.draw(places), data.draw(goods), data.draw(lots), data.draw(quantities),
                             data.draw(st.sampled_from([Q, A])))

        @rule(place=places, good=goods, lot=lots, quantity=quantities, state=st.sampled_from([Q, A]))
        def receive(self, place, good, lot, quantity, state):
            location, product, lot = self.target(place, good, lot)
            self.attempt(
                lambda: ledger.receive(session, user, location=location, product=product, quantity=quantity,
                                       lot=lot, state=state),
                [(None, self.key(location, product, lot, state), quantity)],
            )

        @rule(data=st.data())
        def release(self, data):
            location, product, lot, _state, quantity = self.source(data, [Q])
            self.attempt(
                lambda: ledger.release(session, user, location=location, product=product, quantity=quantity,
                                       lot=lot),
                [(self.key(location, product, lot, Q), self.key(location, product, lot, A), quantity)],
            )

        @rule(data=st.data())
        def reject(self, data):
            location, product, lot, state, quantity = self.source(data, [Q, A])
            self.attempt(
                lambda: ledger.reject(session, user, location=location, product=product, quantity=quantity,
                                      lot=lot, from_state=state, reason="Failed the sample test"),
                [(self.key(location, product, lot, state), self.key(location, product, lot, X), quantity)],
            )

        @rule(data=st.data())
        def dispose(self, data):
            location, product, lot, _state, quantity = self.source(data, [X])
            self.attempt(
                lambda: ledger.dispose(session, user, location=location, product=product, quantity=quantity,
                                       lot=lot),
                [(self.key(location, product, lot, X), None, quantity)],
            )

        @rule(data=st.data())
        def reserve_or_cancel(self, data):
            location, product, lot, state, quantity = self.source(data, [A, R])
            operation, target = (ledger.unreserve, A) if state == R else (ledger.reserve, R)
            self.attempt(
                lambda: operation(session, user, location=location, product=product, quantity=quantity, lot=lot),
                [(self.key(location, product, lot, state), self.key(location, product, lot, target), quantity)],
            )

        @rule(data=st.data())
        def ship(self, data):
            location, product, lot, state, quantity = self.source(data, [R, A])
            self.attempt(
                lambda: ledger.ship(session, user, from_location=location, product=product, quantity=quantity,
                                    lot=lot, from_state=state),
                [(self.key(location, product, lot, state), self.key(transit, product, lot, T), quantity)],
            )

        @rule(data=st.data(), place=places)
        def confirm_delivery(self, data, place):
            # What is in transit (or, now and then, any product and lot, which transit may not hold).
            _location, product, lot, _state, shipped = self.source(data, [T])
            place_location = locations[place]
            accepted = data.draw(st.integers(0, shipped), label="accepted")
            rejected = data.draw(st.integers(0, shipped - accepted), label="rejected")
            missing = shipped - accepted - rejected
            source = self.key(transit, product, lot, T)
            moves = [
                (source, self.key(place_location, product, lot, A), accepted),
                (source, self.key(place_location, product, lot, X), rejected),
                (source, None, missing),
            ]
            self.attempt(
                lambda: ledger.confirm_delivery(session, user, to_location=place_location, product=product,
                                                lot=lot, accepted=accepted, rejected=rejected, missing=missing,
                                                reason="Short and damaged"),
                [move for move in moves if move[2]],
            )

        @rule(data=st.data(), receiver=places, change_state=st.booleans())
        def transfer(self, data, receiver, change_state):
            origin, product, lot, state, quantity = self.source(data, HELD)
            destination = locations[receiver]
            to_state = data.draw(st.sampled_from(HELD), label="to state") if change_state else state
            if destination is origin and to_state == state:
                return
            self.attempt(
                lambda: ledger.transfer(session, user, from_location=origin, to_location=destination,
                                        product=product, quantity=quantity, lot=lot, from_state=state,
                                        to_state=to_state),
                [(self.key(origin, product, lot, state), self.key(destination, product, lot, to_state), quantity)],
            )

        @rule(data=st.data(), remove=st.booleans())
        def adjust(self, data, remove):
            location, product, lot, state, quantity = self.source(data, HELD)
            key = self.key(location, product, lot, state)
            delta = -quantity if remove else quantity
            self.attempt(
                lambda: ledger.adjust(session, user, location=location, product=product, delta=delta,
                                      reason="Stocktaking", lot=lot, state=state),
                [(key, None, quantity)] if remove else [(None, key, quantity)],
            )

        # --- invariants --------------------------------------------------------------------------------

        @invariant()
        def balances_equal_their_movements_and_the_model(self):
            expected = {key: quantity for key, quantity in self.model.items() if quantity}
            recorded = {key: quantity for key, quantity in ledger.recorded_balances(session).items() if quantity}
            derived = {key: quantity for key, quantity in ledger.derived_balances(session).items() if quantity}
            assert recorded == expected
            assert derived == expected
            assert ledger.verify(session) == []

        @invariant()
        def no_balance_is_negative(self):
            assert all(quantity >= 0 for quantity in ledger.recorded_balances(session).values())
            assert all(quantity >= 0 for quantity in self.model.values())

    return LedgerMachine


def test_any_sequence_of_operations_keeps_every_balance_equal_to_its_movements_and_never_negative(
    session, clerk, warehouses, products
):
    locations = [
        *warehouses,
        ledger.location_for_organisation(session, organisation("0180")),
        ledger.location_for_organisation(session, organisation("1480")),
    ]
    transit = ledger.transit_location(session)
    product_lots = [
        [ledger.lot_for(session, product, f"LOT-{product.id}-{n}", expiry_on=date(2028, n + 1, 1)) for n in (0, 1)]
        for product in products[:2]
    ]
    session.flush()
    machine = ledger_machine(session, clerk, locations, transit, products[:2], product_lots)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
