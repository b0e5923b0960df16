"""Factories for the shipment tests: released stock in lots, decided rounds with their stock reserved as the
rounds service reserves it, and agreed transfers. All flush, never commit."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from allocation import services_shipments as shipments
from allocation.models_distribution import (
    AllocationLine,
    AllocationRound,
    RecipientScope,
    RedistributionProposal,
    RoundProduct,
    RoundStatus,
    Transfer,
)
from app.catalog.models import Product
from app.db import utcnow
from app.numbering import next_number, next_value
from app.stock import ledger
from app.stock.models import StockLocation, StockState
from app.timeutil import local_today
from tests.conftest import organisation


def product(session, sku: str = "FFP2-CUP") -> Product:
    return session.scalar(select(Product).where(Product.sku == sku))


def warehouse(session, code: str = "NL-MITT") -> StockLocation:
    ledger.ensure_warehouses(session)
    return ledger.location_by_code(session, code)


def location_of(session, code: str) -> StockLocation:
    return ledger.location_for_organisation(session, organisation(code))


def in_days(days: int) -> date:
    return local_today() + timedelta(days=days)


def stock(session, user, location: StockLocation, lots: dict[str, tuple[int, int | None]], sku: str = "FFP2-CUP"):
    """Released stock at ``location``: {lot number: (units, expiry in days from today or None)}."""
    item = product(session, sku)
    for lot_number, (units, expires_in) in lots.items():
        lot = ledger.lot_for(session, item, lot_number,
                             expiry_on=in_days(expires_in) if expires_in is not None else None)
        ledger.receive(session, user, location=location, product=item, quantity=units, lot=lot,
                       state=StockState.AVAILABLE)
    session.flush()


def draft_round(session, coordinator, shares: dict[str, dict[str, int]], *, source: StockLocation | None = None,
                scope: str = RecipientScope.ALL.value) -> AllocationRound:
    """A draft round of ``coordinator``'s organisation giving ``shares`` ({recipient code: {sku: units}})."""
    round_ = AllocationRound(
        title="Test decision", status=RoundStatus.DRAFT.value, recipient_scope=scope,
        decided_by_organisation=coordinator.organisation, source_location=source or warehouse(session),
        created_by_id=coordinator.id,
    )
    session.add(round_)
    for code, by_sku in shares.items():
        for sku, units in by_sku.items():
            round_.lines.append(AllocationLine(
                product=product(session, sku), recipient=organisation(code), need=units, stock=0, daily_use="1",
                computed_quantity=units, quantity=units,
            ))
    for sku, units in _totals(round_).items():
        item = product(session, sku)
        round_.products.append(RoundProduct(product=item, need_category_id=item.category_id, quantity=units,
                                            pack_size=1))
    session.flush()
    return round_


def _totals(round_: AllocationRound) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in round_.lines:
        totals[line.product.sku] = totals.get(line.product.sku, 0) + line.quantity
    return totals


def decided_round(session, coordinator, shares: dict[str, dict[str, int]], *, source: StockLocation | None = None,
                  scope: str = RecipientScope.ALL.value, usable_on: date | None = None) -> AllocationRound:
    """A decided round giving ``shares``, its stock reserved at its source first expiry first out under the
    decision's document, as services_rounds.decide_round does."""
    round_ = draft_round(session, coordinator, shares, source=source, scope=scope)
    today = local_today()
    round_.status = RoundStatus.DECIDED.value
    round_.number = f"{today.year}-{next_value(session, 'AB', today.year):04d}"
    round_.decided_on, round_.decided_by_id, round_.decided_at = today, coordinator.id, utcnow()
    session.flush()
    document = ledger.DocumentRef(shipments.DECISION_DOCUMENT, round_.id, round_.number)
    for sku, units in _totals(round_).items():
        ledger.reserve_fefo(session, coordinator, location=round_.source_location, product=product(session, sku),
                            quantity=units, usable_on=usable_on or today + timedelta(days=1), document=document)
    session.flush()
    return round_


def agreed_transfer(session, coordinator, giver: str, receiver: str, units: int, *, sku: str = "FFP2-CUP",
                    county_code: str | None = "01", national: bool = False) -> Transfer:
    """A transfer of ``units`` from ``giver`` to ``receiver`` in an agreed proposal (a county's by default)."""
    proposal = RedistributionProposal(
        reference=next_number(session, "OF", local_today().year), is_national_decision=national,
        county_code=None if national else county_code, title="Test redistribution", status="agreed",
        created_by_id=coordinator.id,
    )
    transfer = Transfer(product=product(session, sku), source=organisation(giver), target=organisation(receiver),
                        planned_quantity=units, quantity=units)
    proposal.lines.append(transfer)
    session.add(proposal)
    session.flush()
    return transfer
