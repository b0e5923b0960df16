"""Data for allocation round tests: registered need through real situation reports, released stock through
the ledger, and rounds opened through the service."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from allocation import reporting
from allocation import services_rounds as rounds
from allocation.models import Channel
from allocation.models_distribution import Shipment, ShipmentLine
from allocation.reporting import LineInput
from app.catalog.models import Product, ProductCategory
from app.stock import ledger
from app.stock.models import StockState
from tests.conftest import organisation

DEFAULT_LINE = {"stock": 1000, "consumption_7d": 0, "expected_14d": 0, "stated_need": 0}


def product(session, sku: str) -> Product:
    return session.scalar(select(Product).where(Product.sku == sku))


def category(session, code: str) -> ProductCategory:
    return session.scalar(select(ProductCategory).where(ProductCategory.code == code))


def report(session, users, period, code: str, *, stock: int, consumption_7d: int, need: int,
           category_code: str = "respirators", branch: str | None = None) -> None:
    """A situation report from organisation ``code``: these figures for one category, none needed for the rest."""
    organisation_ = organisation(code)
    reporter = users.make("reporter", code)
    branch = branch or ("healthcare" if organisation_.kind == "region" else "social_services")
    lines = []
    for each in period.categories:
        values = dict(DEFAULT_LINE)
        if each.code == category_code:
            values = {"stock": stock, "consumption_7d": consumption_7d, "expected_14d": 0, "stated_need": need}
        lines.append(LineInput(category=each.code, justification="Test figures", **values))
    reporting.submit_report(session, organisation=organisation_, period=period, branch=branch, lines=lines,
                            channel=Channel.FORM, user=reporter)
    session.commit()


def release(session, sku: str, quantity: int, *, warehouse: str = "NL-MITT", lot: str | None = None,
            expiry_on: date | None = None):
    """``quantity`` units of ``sku`` available at a national warehouse; returns the warehouse."""
    ledger.ensure_warehouses(session)
    location = ledger.location_by_code(session, warehouse)
    item = product(session, sku)
    lot_row = ledger.lot_for(session, item, lot, expiry_on=expiry_on) if lot else None
    ledger.receive(session, None, location=location, product=item, quantity=quantity, lot=lot_row,
                   state=StockState.AVAILABLE)
    session.commit()
    return location


def open_county_round(session, coordinator, *, sku: str = "FFP2-CUP", quantity: int = 200, pack_size: int = 10,
                      county: str = "01", policy: str = "days_of_supply", **extra):
    """A draft round of ``quantity`` units of ``sku`` from NL-MITT to a county's region and municipalities."""
    return rounds.open_round(
        session,
        coordinator,
        settings=rounds.RoundSettings("FFP2 to Stockholm county", policy=policy, horizon_days=21),
        source_location=ledger.location_by_code(session, "NL-MITT"),
        recipient_scope=extra.pop("recipient_scope", "county"),
        county_code=county,
        products=extra.pop("products", None) or [rounds.ProductInput(product(session, sku), quantity, pack_size)],
        **extra,
    )


def deliver(session, round_, code: str) -> Shipment:
    """The decided round's shipment to organisation ``code`` dispatched, delivered and confirmed in full: the
    reserved stock moves through transit into the organisation's available stock. Uses the planned shipment
    when the round has one, else records one."""
    recipient = organisation(code)
    to_location = ledger.location_for_organisation(session, recipient)
    shipment = session.scalar(
        select(Shipment).where(Shipment.round_id == round_.id, Shipment.recipient_id == recipient.id)
    )
    if shipment is None:
        shipment = Shipment(number=f"LS-TEST-{round_.id}-{recipient.id}", round_id=round_.id,
                            recipient_id=recipient.id, from_location_id=round_.source_location_id,
                            to_location_id=to_location.id)
        session.add(shipment)
    shipment.lines.clear()
    for line in round_.lines:
        if line.recipient_id == recipient.id and line.quantity:
            ledger.ship(session, None, from_location=round_.source_location, product=line.product,
                        quantity=line.quantity)
            ledger.confirm_delivery(session, None, to_location=to_location, product=line.product,
                                    accepted=line.quantity)
            shipment.lines.append(ShipmentLine(product_id=line.product_id, quantity=line.quantity,
                                               accepted=line.quantity, rejected=0, missing=0))
    shipment.status = "confirmed"
    session.commit()
    return shipment
