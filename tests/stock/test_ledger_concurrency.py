"""Concurrent movements on PostgreSQL: threads with connections of their own take the same stock at the same
moment; the row locks let none over-draw it, none lose a unit, and opposite transfers never deadlock.

Runs on a database of its own, ``<test database>_stock_race`` (see race_application in tests/support.py).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.catalog.models import Product
from app.extensions import db
from app.stock import ledger
from app.stock.ledger import InsufficientStock
from app.stock.models import StockLocation, StockMovement, StockState
from tests.support import (
    POSTGRES_ONLY,
    in_threads,
    race_app_fixture,
    without_shared_transaction,  # noqa: F401  (the fixture)
)

pytestmark = POSTGRES_ONLY

THREADS = 8


race_app = race_app_fixture("stock_race", threads=THREADS)


def setup_stock(app, *lines: tuple[str, str | None, date | None, int]) -> tuple[int, int, int]:
    """A fresh product's stock at NL-MITT and NL-SYD: (warehouse code, lot number, expiry, units) per line.
    Returns the product's, NL-MITT's and NL-SYD's ids."""
    with app.app_context():
        session = db.session
        session.info["actor"] = "test-setup"
        # Each test takes a product nobody has touched, so the tests do not depend on their order.
        used = select(StockMovement.product_id)
        product = session.scalar(select(Product).where(Product.id.not_in(used)).order_by(Product.id))
        for code, lot_number, expiry_on, quantity in lines:
            lot = ledger.lot_for(session, product, lot_number, expiry_on=expiry_on) if lot_number else None
            ledger.receive(session, None, location=ledger.location_by_code(session, code), product=product,
                           quantity=quantity, lot=lot, state=StockState.AVAILABLE)
        session.commit()
        warehouse_ids = [ledger.location_by_code(session, code).id for code in ("NL-MITT", "NL-SYD")]
        ids = (product.id, *warehouse_ids)
        session.remove()
        return ids


def objects(product_id: int, *location_ids: int) -> tuple:
    """The product and locations, loaded in the current thread's session."""
    return db.session.get(Product, product_id), *(db.session.get(StockLocation, i) for i in location_ids)


def test_threads_taking_the_same_units_never_over_draw_and_never_lose_one(race_app):
    initial, take, attempts = 100, 3, 10  # 8 threads ask for 240 units of 100
    product_id, mitt_id, _syd_id = setup_stock(race_app, ("NL-MITT", None, None, initial))

    def work(number: int) -> int:
        taken = 0
        for _ in range(attempts):
            product, mitt = objects(product_id, mitt_id)
            try:
                ledger.consume(db.session, None, location=mitt, product=product, quantity=take)
                db.session.commit()
                taken += take
            except InsufficientStock:
                db.session.rollback()
        return taken

    taken = sum(in_threads(race_app, work, THREADS))

    with race_app.app_context():
        product, mitt = objects(product_id, mitt_id)
        remaining = ledger.balance(db.session, location=mitt, product=product)
        consumed = db.session.scalar(
            select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
                StockMovement.product_id == product_id, StockMovement.kind == "consumption"
            )
        )
        assert remaining >= 0
        assert taken + remaining == initial
        assert consumed == taken
        assert remaining < take  # everything that could be taken was taken
        assert ledger.verify(db.session) == []
        db.session.remove()


def test_two_coordinators_reserving_by_expiry_at_once_never_reserve_a_unit_twice(race_app):
    product_id, mitt_id, _syd_id = setup_stock(
        race_app,
        ("NL-MITT", "EARLY", date(2027, 3, 31), 55),
        ("NL-MITT", "LATE", date(2029, 1, 31), 45),
    )

    def work(number: int) -> int:
        reserved = 0
        for _ in range(6):
            product, mitt = objects(product_id, mitt_id)
            try:
                ledger.reserve_fefo(db.session, None, location=mitt, product=product, quantity=7,
                                    usable_on=date(2026, 11, 24))
                db.session.commit()
                reserved += 7
            except InsufficientStock:
                db.session.rollback()
        return reserved

    reserved = sum(in_threads(race_app, work, THREADS))

    with race_app.app_context():
        [product] = objects(product_id)
        held = {
            state: ledger.total(db.session, product=product, state=state, location_ids=[mitt_id])
            for state in (StockState.AVAILABLE, StockState.RESERVED)
        }
        assert held[StockState.RESERVED] == reserved
        assert held[StockState.AVAILABLE] + reserved == 100
        assert held[StockState.AVAILABLE] < 7
        assert ledger.verify(db.session) == []
        db.session.remove()


def test_opposite_transfers_at_the_same_moment_neither_deadlock_nor_lose_units(race_app):
    product_id, mitt_id, syd_id = setup_stock(race_app, ("NL-MITT", None, None, 50), ("NL-SYD", None, None, 50))

    def work(number: int) -> int:
        moved = 0
        for _ in range(15):
            product, mitt, syd = objects(product_id, mitt_id, syd_id)
            giver, receiver = (mitt, syd) if number % 2 == 0 else (syd, mitt)
            try:
                ledger.transfer(db.session, None, from_location=giver, to_location=receiver, product=product,
                                quantity=2)
                db.session.commit()
                moved += 1
            except InsufficientStock:
                db.session.rollback()
        return moved

    moved = sum(in_threads(race_app, work, THREADS))

    with race_app.app_context():
        product, mitt, syd = objects(product_id, mitt_id, syd_id)
        balances = [ledger.balance(db.session, location=place, product=product) for place in (mitt, syd)]
        assert sum(balances) == 100 and min(balances) >= 0
        assert moved > 0
        assert ledger.verify(db.session) == []
        db.session.remove()
