"""Data for tests of requests for national allocation: agreed redistribution and requests sent through the
service (registered need and released stock come from tests/allocation/rounds_factories.py)."""
from __future__ import annotations

from datetime import datetime
from itertools import count

from allocation import services_requests as requests
from allocation.models_distribution import RedistributionProposal, Shipment, ShipmentLine, Transfer
from app.stock import ledger
from tests.allocation.rounds_factories import category, product
from tests.conftest import organisation

_numbers = count(1)


def transfer(session, creator, source: str, target: str, quantity: int, *, sku: str = "FFP2-CUP",
             status: str = "agreed", county: str = "01", confirmed_at: datetime | None = None,
             accepted: int | None = None) -> Transfer:
    """A county proposal (agreed unless ``status`` says otherwise) with one transfer; with ``confirmed_at`` its
    shipment is confirmed then with ``accepted`` units (all of them unless given)."""
    number = next(_numbers)
    proposal = RedistributionProposal(reference=f"OF-TEST-{number:04d}", county_code=county, title=f"Test {number}",
                                      status=status, created_by_id=creator.id)
    line = Transfer(product=product(session, sku), source=organisation(source), target=organisation(target),
                    planned_quantity=quantity, quantity=quantity)
    proposal.lines.append(line)
    session.add(proposal)
    session.flush()
    if confirmed_at is not None:
        accepted = quantity if accepted is None else accepted
        shipment = Shipment(
            number=f"LS-TEST-T{number}", transfer_id=line.id, recipient_id=line.target_id,
            from_location_id=ledger.location_for_organisation(session, line.source).id,
            to_location_id=ledger.location_for_organisation(session, line.target).id,
            status="confirmed", confirmed_at=confirmed_at,
        )
        shipment.lines.append(ShipmentLine(product_id=line.product_id, quantity=quantity, accepted=accepted,
                                           rejected=0, missing=quantity - accepted))
        session.add(shipment)
    session.commit()
    return line


def send(session, board, quantities: dict[str, int], *, category_code: str = "respirators",
         justification: str = "Redistribution in the county fell short", proposal=None):
    """A request from ``board``'s county: ``quantities`` by organisation code (kommunkod) for one category."""
    category_id = category(session, category_code).id
    lines = [requests.LineInput(organisation(code).id, category_id, quantity) for code, quantity in quantities.items()]
    sent = requests.create_request(session, board, lines=lines, justification=justification, proposal=proposal)
    session.commit()
    return sent
