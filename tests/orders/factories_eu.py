"""Factories for EU joint procurement and incoming-supply tests: rows made directly (flushed, never committed).

Defaults: tender SANTE/C3/2020/015 (published 2026-02-02, closing 2026-02-20, awarded 2026-02-27), lot 1 of
FFP2-CUP with 1 000 000 units declared, framework contract valid 2026-03-01 – 2027-02-28, contractors approved
at 0.45 EUR per unit with a maximum of 50 000 each, and a rescEU allocation of 20 000 FFP2-CUP to NL-MITT.
"""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from orders.models import FrameworkContract, FrameworkContractor, IncomingSupply, Tender, TenderLot
from tests.orders.factories import product, warehouse
from tests.suppliers.factories import make_approved_supplier

_serial = itertools.count(1)


def make_tender(session, **overrides) -> Tender:
    serial = next(_serial)
    values = {
        "reference": f"SANTE/C3/2020/{serial:03d}",
        "name": "Personal protective equipment: eye and respiratory protection",
        "description": "Joint procurement under the JPA, call of 17 March.",
        "published_on": date(2026, 2, 2),
        "closing_on": date(2026, 2, 20),
        "awarded_on": date(2026, 2, 27),
        **overrides,
    }
    tender = Tender(**values)
    session.add(tender)
    session.flush()
    return tender


def make_lot(session, tender: Tender | None = None, *, sku: str | None = "FFP2-CUP", **overrides) -> TenderLot:
    tender = tender or make_tender(session)
    catalogue = product(session, sku or "FFP2-CUP")
    values = {
        "number": max((lot.number for lot in tender.lots), default=0) + 1,
        "title": "Respirators FFP2",
        "category_id": catalogue.category_id,
        "product": catalogue if sku else None,
        "specification": "EN 149:2001+A1:2009, FFP2 NR",
        "declared_quantity": 1_000_000,
        **overrides,
    }
    lot = TenderLot(tender=tender, **values)
    session.add(lot)
    session.flush()
    return lot


def make_framework(session, lot: TenderLot | None = None, **overrides) -> FrameworkContract:
    lot = lot or make_lot(session)
    values = {
        "reference": f"FWC-SANTE-2020-{next(_serial):04d}",
        "signed_on": date(2026, 2, 27),
        "valid_from": date(2026, 3, 1),
        "valid_until": date(2027, 2, 28),
        **overrides,
    }
    framework = FrameworkContract(lot=lot, **values)
    session.add(framework)
    session.flush()
    return framework


def make_contractor(session, framework: FrameworkContract | None = None, *, supplier=None, **overrides) -> FrameworkContractor:
    framework = framework or make_framework(session)
    values = {
        "rank": max((c.rank for c in framework.contractors), default=0) + 1,
        "max_quantity": 50_000,
        "unit_price": Decimal("0.45"),
        "currency": "EUR",
        **overrides,
    }
    contractor = FrameworkContractor(
        framework_contract=framework, supplier=supplier or make_approved_supplier(session, country="DE"), **values
    )
    session.add(contractor)
    session.flush()
    return contractor


def make_supply(session, created_by, *, destination=None, **overrides) -> IncomingSupply:
    values = {
        "kind": "resceu",
        "source": "rescEU allocation decision C(2026) 1234",
        "reference": f"RESCEU-{next(_serial)}",
        "product": product(session),
        "quantity": 20_000,
        "expected_on": date(2026, 3, 20),
        "status": "open",
        **overrides,
    }
    supply = IncomingSupply(destination=destination or warehouse(session), created_by_id=created_by.id, **values)
    session.add(supply)
    session.flush()
    return supply
