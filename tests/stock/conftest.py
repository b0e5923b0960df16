"""Fixtures for the stock ledger: the national warehouses, products and lots, and an acting user."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.catalog.models import Product
from app.stock import ledger
from tests.conftest import organisation


@pytest.fixture
def warehouses(session):
    locations = ledger.ensure_warehouses(session)
    session.flush()
    return locations


@pytest.fixture
def mitt(warehouses):
    return warehouses[0]


@pytest.fixture
def syd(warehouses):
    return warehouses[1]


@pytest.fixture
def products(session):
    return list(session.scalars(select(Product).order_by(Product.id).limit(3)))


@pytest.fixture
def product(products):
    return products[0]


@pytest.fixture
def clerk(session, users):
    """The national coordinator, who books movements in these tests.

    Asks for ``session`` first: the session fixture pushes an app context of its own, and a user made in
    another context would belong to another session on the same connection.
    """
    return users.make("national_coordinator")


@pytest.fixture
def stockholm(session):
    """Stockholms stad's own stock location."""
    return ledger.location_for_organisation(session, organisation("0180"))


@pytest.fixture
def make_lot(session, product):
    def make(number: str, expiry_on: date | None = date(2028, 1, 31), of: Product | None = None):
        return ledger.lot_for(session, of or product, number, expiry_on=expiry_on)

    return make
