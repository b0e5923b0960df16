"""Supplies that arrive without a purchase order: rescEU stockpile allocations and donations.

The agency's purchasing registers what is expected (source, reference, product, quantity, expected date and
destination); the goods are then received against the supply like a scheduled delivery (services_receiving),
into quarantine at the destination, and inspected before release. Services take the session and the acting
user and flush; the caller commits. Registering and changing needs the same right as EU joint procurement
(:func:`orders.services_eu.ensure_manager`): the agency's purchasing desk handles both.

Who sees a supply: national users all of them; a county board, region or municipality those delivered to an
organisation in its scope (national warehouses are the agency's).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from app.auth.access import Scope, organisation_scope_filter, scope_of
from app.catalog.models import Product
from app.errors import NotFoundError
from app.organisations.models import Organisation
from app.stock.models import StockLocation
from orders.models import DeliveryStatus, GoodsReceipt, IncomingSupply, IncomingSupplyKind
from orders.services_eu import (
    MAX_TEXT,
    EuProcurementError,
    Problems,
    Rejected,
    check_length,
    check_quantity,
    destination_for,
    ensure_manager,
    free_text,
    one_line,
)


@dataclass(frozen=True)
class SupplyData:
    """An incoming supply as the form gives it; ``destination`` is an ``orders.services_eu.destination_for`` key."""

    kind: str | None
    source: str | None
    product_id: int | None
    quantity: int | None
    expected_on: date | None
    destination: str | None
    reference: str | None = None
    notes: str | None = None


def visible_supplies(user) -> ColumnElement[bool]:
    """A WHERE clause on IncomingSupply limiting rows to those ``user`` may see (see the module docstring)."""
    if scope_of(user) is Scope.NATIONAL:
        return true()
    in_scope = select(Organisation.id).where(organisation_scope_filter(user))
    return IncomingSupply.destination_id.in_(
        select(StockLocation.id).where(StockLocation.organisation_id.in_(in_scope))
    )


def get_supply(session: Session, user, supply_id: int) -> IncomingSupply:
    """The supply; NotFoundError (404) when there is none or ``user`` may not see it."""
    supply = session.scalar(select(IncomingSupply).where(IncomingSupply.id == supply_id, visible_supplies(user)))
    if supply is None:
        raise NotFoundError(_("There is no such incoming supply."))
    return supply


def received_quantity(session: Session, supply: IncomingSupply) -> int:
    """Units received against the supply so far."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(GoodsReceipt.quantity), 0)).where(GoodsReceipt.incoming_supply_id == supply.id)
        )
    )


def _checked(session: Session, data: SupplyData, supply: IncomingSupply | None) -> tuple[dict, Problems]:
    problems = Problems()
    if data.kind not in set(IncomingSupplyKind):
        problems.add(_("Choose whether this is a rescEU allocation or a donation."), "kind")
    source, reference, notes = one_line(data.source), one_line(data.reference), free_text(data.notes)
    if source is None:
        problems.add(_("Name the source: the donor, or the EU decision for a rescEU allocation."), "source")
    check_length(problems, source, 200, "source")
    check_length(problems, reference, 120, "reference")
    check_length(problems, notes, MAX_TEXT, "notes")
    product = session.get(Product, data.product_id) if data.product_id is not None else None
    if product is None:
        problems.add(_("Choose a product from the catalogue."), "product_id")
    if check_quantity(problems, data.quantity, "quantity") and supply is not None:
        received = received_quantity(session, supply)
        if data.quantity < received:
            problems.add(
                _("%(received)s units are already received; the quantity cannot be lower.", received=received),
                "quantity",
            )
    if data.expected_on is None:
        problems.add(_("Enter the date the goods are expected."), "expected_on")
    destination = destination_for(session, data.destination)
    if destination is None:
        problems.add(_("Choose where the goods go: a national warehouse, a region or a municipality."), "destination")
    if supply is not None and supply.receipts:
        if product is not None and product.id != supply.product_id:
            problems.add(_("Goods are already received; the product cannot change."), "product_id")
        if destination is not None and destination.id != supply.destination_id:
            problems.add(_("Goods are already received; the destination cannot change."), "destination")
    values = {
        "kind": data.kind,
        "source": source,
        "reference": reference,
        "notes": notes,
        "product": product,
        "quantity": data.quantity,
        "expected_on": data.expected_on,
        "destination_id": destination.id if destination is not None else None,
    }
    return values, problems


def register_supply(session: Session, user, data: SupplyData) -> IncomingSupply:
    """Register an expected rescEU allocation or donation. Flushes.

    Raises NotAllowed (see ``ensure_manager``) and Rejected for a missing kind, source, product, quantity,
    expected date or destination.
    """
    ensure_manager(user)
    values, problems = _checked(session, data, None)
    problems.raise_any()
    supply = IncomingSupply(**values, created_by_id=user.id, status=DeliveryStatus.OPEN.value)
    session.add(supply)
    session.flush()
    return supply


def update_supply(session: Session, user, supply: IncomingSupply, data: SupplyData) -> IncomingSupply:
    """Change what is expected. Flushes.

    Raises NotAllowed; Rejected for a cancelled or fully received supply, a quantity below what is received,
    and a new product or destination once goods were received against it; and as :func:`register_supply`.
    """
    ensure_manager(user)
    if supply.status in (DeliveryStatus.CANCELLED.value, DeliveryStatus.RECEIVED.value):
        raise Rejected([EuProcurementError(_("A cancelled or fully received supply cannot change."), field=None)])
    values, problems = _checked(session, data, supply)
    problems.raise_any()
    for name, value in values.items():
        setattr(supply, name, value)
    if supply.status == DeliveryStatus.PARTIALLY_RECEIVED.value and received_quantity(session, supply) >= supply.quantity:
        supply.status = DeliveryStatus.RECEIVED.value
    session.flush()
    return supply


def cancel_supply(session: Session, user, supply: IncomingSupply, reason: str | None) -> IncomingSupply:
    """Cancel a supply that will not come; the reason is kept in its notes. Flushes.

    Raises NotAllowed, and Rejected without a reason, when goods were already received against it, or when
    it is already cancelled.
    """
    ensure_manager(user)
    reason = free_text(reason)
    if supply.status == DeliveryStatus.CANCELLED.value:
        raise Rejected([EuProcurementError(_("The supply is already cancelled."), field=None)])
    if supply.receipts:
        raise Rejected([EuProcurementError(_("Goods are already received against this supply."), field=None)])
    if reason is None:
        raise Rejected([EuProcurementError(_("Say why the supply is cancelled."), field="reason")])
    problems = Problems()
    check_length(problems, reason, 1000, "reason")
    problems.raise_any()
    supply.status = DeliveryStatus.CANCELLED.value
    supply.notes = "\n\n".join(part for part in (supply.notes, _("Cancelled: %(reason)s", reason=reason)) if part)
    session.flush()
    return supply
