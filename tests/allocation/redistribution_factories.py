"""Data for redistribution and compensation tests: registered need through real situation reports, proposals
opened and agreed through the services, transfers given and executed through the shipments helper's flow."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from allocation import services_redistribution as redistribution
from allocation import services_shipments as shipments
from allocation.models_distribution import Transfer
from app.timeutil import local_today
from tests.allocation.rounds_factories import product, report

SKU = "FFP2-CUP"  # respirators, 240 to a pack


def stockholm_need(session, users, period, *, category_code: str = "respirators") -> None:
    """Upplands Väsby (0114) holds 3 000 at 100 a day: 900 above 21 days, three packs of 240. Vallentuna (0115)
    needs 480 and Österåker (0117) 240."""
    report(session, users, period, "0114", stock=3000, consumption_7d=700, need=0, category_code=category_code)
    report(session, users, period, "0115", stock=0, consumption_7d=350, need=480, category_code=category_code)
    report(session, users, period, "0117", stock=100, consumption_7d=350, need=240, category_code=category_code)


def open_proposal(session, coordinator, *skus: str, target_days: int = 21, min_transfer: int = 0,
                  title: str = "Andningsskydd i Stockholms län"):
    settings = redistribution.ProposalSettings(title, [product(session, sku) for sku in (skus or (SKU,))],
                                               target_days, min_transfer)
    proposal = redistribution.open_proposal(session, coordinator, settings)
    session.commit()
    return proposal


def hold_meeting(session, coordinator, proposal, *, held_on: date | None = None):
    meeting = redistribution.record_meeting(
        session, coordinator, proposal, held_on=held_on or local_today(),
        participants="Länsstyrelsen, Upplands Väsby, Vallentuna, Österåker", decisions="Förslaget godkänt.",
    )
    session.commit()
    return meeting


def agree(session, coordinator, proposal):
    """The meeting recorded and the proposal agreed."""
    hold_meeting(session, coordinator, proposal)
    result = redistribution.agree(session, coordinator, proposal)
    session.commit()
    return result


def line(proposal, giver: str, receiver: str) -> Transfer:
    """The proposal's line from one kommunkod to another."""
    return next(t for t in proposal.lines
                if (t.source.municipality_code, t.target.municipality_code) == (giver, receiver))


def give(session, users, transfer: Transfer, opening_balance: int | None = None):
    """The giver's recipient registers the stock on hand (the transfer's quantity by default) and reserves it."""
    staff = users.make("recipient", transfer.source.municipality_code or transfer.source.code)
    shipment = redistribution.provide_stock(
        session, staff, transfer, opening_balance=transfer.quantity if opening_balance is None else opening_balance
    )
    session.commit()
    return shipment


def execute(session, users, transfer: Transfer, *, accepted: int | None = None):
    """The giver dispatches the transfer's shipment and the receiver confirms it (short by what is not accepted)."""
    shipment = redistribution.shipment_of(session, transfer)
    sender = users.make("recipient", transfer.source.municipality_code or transfer.source.code)
    receiver = users.make("recipient", transfer.target.municipality_code or transfer.target.code)
    shipments.dispatch(session, sender, shipment, carrier="Schenker", tracking_reference="123")
    session.commit()
    confirmations = []
    left = transfer.quantity if accepted is None else accepted
    for shipment_line in shipment.lines:
        take = min(left, shipment_line.quantity)
        left -= take
        short = shipment_line.quantity - take
        confirmations.append(shipments.LineConfirmation(
            shipment_line.id, accepted=take, missing=short, reason="short" if short else None,
            comment="Saknades vid leverans" if short else None,
        ))
    result = shipments.confirm(session, receiver, shipment, received_by_name="Kim Mottagare", lines=confirmations)
    session.commit()
    return result


def agency_purchase(session, users, sku: str, lines, *, status: str = "sent", currency: str = "SEK",
                    rate: str = "1", buyer_code: str = "SOS"):
    """A purchase order of ``sku`` by the agency (or ``buyer_code``): ``lines`` are (quantity, unit price)."""
    from app.numbering import next_number
    from orders.models import PurchaseOrder, PurchaseOrderLine
    from tests.conftest import organisation
    from tests.suppliers.factories import make_approved_supplier

    order = PurchaseOrder(
        number=next_number(session, "PO", 2026), supplier=make_approved_supplier(session),
        buyer=organisation(buyer_code), status=status, order_date=date(2026, 3, 2), currency=currency,
        exchange_rate=Decimal(rate), responsible_id=users.make("purchasing_officer", buyer_code).id,
    )
    for number, (quantity, price) in enumerate(lines, start=1):
        order.lines.append(PurchaseOrderLine(line_number=number, product_id=product(session, sku).id,
                                             quantity=quantity, unit_price=Decimal(price)))
    session.add(order)
    session.commit()
    return order
