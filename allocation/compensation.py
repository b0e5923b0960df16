"""The compensation ledger (ersättning) for executed transfers: reference prices, bookings, statements and
settlements.

Services flush only; the caller commits once.

* Each executed transfer, once its receiver has confirmed it, is valued at a reference price per unit and
  booked as one :class:`CompensationEntry`: the receiver (debtor) owes the giver (creditor)
  ``amount_ore = accepted quantity × unit_price_ore`` exactly. Only accepted units are paid for: rejected or
  missing ones are the follow-up's business.
* The reference price is the price list's (:class:`ReferencePrice`, kept by the national coordinator) in force
  on the day of booking: the one with the latest ``valid_from`` on or before it. Without one, the default is the
  average unit price in SEK of the agency's placed purchase orders of the product (approved or further, not
  cancelled): Σ quantity × unit price × exchange rate ÷ Σ quantity, rounded half up to whole öre.
* Without either the booking waits: the confirmation stands, nothing is booked, and the national coordinators
  are told. Setting a price books every waiting transfer of that product (:func:`book_pending`), dated the day
  it is booked.
* A settlement (reglering) records that a debtor paid a creditor the sum of chosen unsettled entries between
  the two; the entries point at it and cannot be settled again.
* Amounts are whole öre (int) throughout; kronor are formatted from them without floating point.
* Who sees what: national scope every entry; a county board the entries where an organisation of its county is
  a party; a region or municipality its own (as debtor or creditor).
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session, selectinload

from allocation.models_distribution import (
    CompensationEntry,
    ReferencePrice,
    Settlement,
    Shipment,
    ShipmentStatus,
    Transfer,
)
from app.auth.access import Scope, can_see_organisation, has_permission, scope_of
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.catalog.models import Product
from app.errors import ConflictError, DomainError, NotFoundError
from app.notifications.services import in_language_of, page_link
from app.organisations.models import Organisation, OrganisationKind
from app.timeutil import local_today

# Purchase orders whose prices count towards the default reference price: placed with the supplier (approved
# or further). Drafts and orders awaiting approval are not purchases yet; cancelled ones never were.
PLACED_ORDER_STATUSES = ("approved", "sent", "confirmed", "partially_received", "received", "closed")
MAX_PRICE_ORE = 10**12  # ten billion kronor a unit: anything above is a typing error
MAX_REFERENCE = 120
# Roles whose holders record a settlement for their own organisation when it is a party.
SETTLING_ROLES = frozenset({Role.RECIPIENT, Role.REPORTER, Role.PURCHASING_OFFICER, Role.PURCHASING_LEAD})


class CompensationError(DomainError):
    """A price, booking, statement or settlement that breaks a rule; ``field`` names the form field."""


# --- money as text (pure) -------------------------------------------------------------------------------------


def sek_text(ore: int) -> str:
    """Whole öre as kronor with two decimals and a point, for files: ``123456`` -> ``"1234.56"``, exactly."""
    sign = "-" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_sek(ore: int | None) -> str:
    """Whole öre as kronor in the reader's number format (``1 234,56 kr``); "—" for none."""
    from orders.approval import format_sek as formatted

    return formatted(ore)


# --- reference prices ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """A unit price in öre and where it comes from: the price list (from ``valid_from``) or the purchases."""

    unit_price_ore: int
    source: str  # "price_list" or "purchases"
    valid_from: date | None = None

    @property
    def label(self) -> str:
        if self.source == "price_list":
            return _("Price list from %(day)s", day=self.valid_from.isoformat())
        return _("Average of the agency's purchases")


def purchase_average_ore(session: Session, product: Product) -> int | None:
    """The average unit price in whole öre of the agency's placed purchase orders of ``product``; None if none."""
    from orders.models import PurchaseOrder, PurchaseOrderLine

    rows = session.execute(
        select(PurchaseOrderLine.quantity, PurchaseOrderLine.unit_price, PurchaseOrder.exchange_rate)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .join(Organisation, Organisation.id == PurchaseOrder.buyer_id)
        .where(
            PurchaseOrderLine.product_id == product.id,
            Organisation.kind == OrganisationKind.AGENCY.value,
            PurchaseOrder.status.in_(PLACED_ORDER_STATUSES),
        )
    ).all()
    units = sum(quantity for quantity, _price, _rate in rows)
    if not units:
        return None
    total = sum((Decimal(quantity) * Decimal(price) * Decimal(rate) for quantity, price, rate in rows), Decimal(0))
    average = int((total * 100 / units).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return average or None  # under half an öre a unit is no price


def listed_price(session: Session, product: Product, on: date) -> ReferencePrice | None:
    """The price list's row for ``product`` in force on ``on``: the latest ``valid_from`` on or before it."""
    return session.scalar(
        select(ReferencePrice)
        .where(ReferencePrice.product_id == product.id, ReferencePrice.valid_from <= on)
        .order_by(ReferencePrice.valid_from.desc())
        .limit(1)
    )


def price_for(session: Session, product: Product, on: date | None = None) -> Price | None:
    """The reference price of ``product`` on ``on`` (today): the price list's, else the purchases' average."""
    on = on or local_today()
    listed = listed_price(session, product, on)
    if listed is not None:
        return Price(listed.price_ore, "price_list", listed.valid_from)
    average = purchase_average_ore(session, product)
    return Price(average, "purchases") if average is not None else None


def set_price(session: Session, user, *, product: Product, valid_from: date, price_ore: int) -> ReferencePrice:
    """Put ``price_ore`` a unit on the price list for ``product`` from ``valid_from`` (replacing the price of
    that very day, if any), then book the transfers that were waiting for a price. Flush only.

    Raises CompensationError unless the user may manage prices, for a price that is not a whole number of öre
    above 0 or is absurdly high, and for a missing date.
    """
    if not has_permission(user, Permission.MANAGE_PRICES):
        raise CompensationError(_("Only the national coordinator keeps the reference prices."))
    if product is None:
        raise CompensationError(_("Choose a product."), field="product_id")
    if valid_from is None:
        raise CompensationError(_("Enter the date the price applies from."), field="valid_from")
    if isinstance(price_ore, bool) or not isinstance(price_ore, int) or price_ore <= 0:
        raise CompensationError(_("Enter a price above 0 kr."), field="price")
    if price_ore > MAX_PRICE_ORE:
        raise CompensationError(_("The price is too high; check it."), field="price")
    row = session.scalar(
        select(ReferencePrice).where(ReferencePrice.product_id == product.id, ReferencePrice.valid_from == valid_from)
    )
    if row is None:
        row = ReferencePrice(product_id=product.id, valid_from=valid_from)
        session.add(row)
    row.price_ore = price_ore
    row.set_by_id = user.id
    session.flush()
    book_pending(session, user, product=product)
    return row


def price_history(session: Session) -> list[ReferencePrice]:
    return list(
        session.scalars(
            select(ReferencePrice).join(Product).order_by(Product.sku, ReferencePrice.valid_from.desc())
        )
    )


@dataclass(frozen=True)
class PriceRow:
    """One product on the price list page: its price today and its source, and transfers awaiting a price."""

    product: Product
    price: Price | None
    purchases_average_ore: int | None
    waiting: int


def price_overview(session: Session) -> list[PriceRow]:
    """Every product on the price list or in a redistribution, by SKU."""
    ids = set(session.scalars(select(ReferencePrice.product_id)))
    ids |= set(session.scalars(select(Transfer.product_id)))
    if not ids:
        return []
    waiting: dict[int, int] = defaultdict(int)
    for transfer, _accepted in pending_bookings(session):
        waiting[transfer.product_id] += 1
    today = local_today()
    products = session.scalars(select(Product).where(Product.id.in_(ids)).order_by(Product.sku))
    return [
        PriceRow(product, price_for(session, product, today), purchase_average_ore(session, product),
                 waiting.get(product.id, 0))
        for product in products
    ]


# --- booking --------------------------------------------------------------------------------------------------------


def accepted_quantity(session: Session, transfer: Transfer) -> int | None:
    """Units the receiver accepted on the transfer's confirmed shipment; None while it is not confirmed."""
    shipment = session.scalar(
        select(Shipment)
        .where(Shipment.transfer_id == transfer.id, Shipment.status == ShipmentStatus.CONFIRMED.value)
        .options(selectinload(Shipment.lines))
        .limit(1)
    )
    if shipment is None:
        return None
    return sum(line.accepted or 0 for line in shipment.lines)


def entry_for(session: Session, transfer: Transfer) -> CompensationEntry | None:
    return session.scalar(select(CompensationEntry).where(CompensationEntry.transfer_id == transfer.id))


def book(session: Session, user, transfer: Transfer, accepted: int, *, on: date | None = None,
         tell_when_waiting: bool = True) -> CompensationEntry | None:
    """Book the compensation for ``accepted`` units of an executed transfer: the receiver owes the giver their
    value at the reference price of ``on`` (today). Idempotent: a transfer already booked keeps its entry.

    Returns None, booking nothing, when nothing was accepted or there is no price yet (the national
    coordinators are then told, unless ``tell_when_waiting`` is False). Flush only.
    """
    existing = entry_for(session, transfer)
    if existing is not None or accepted <= 0:
        return existing
    on = on or local_today()
    price = price_for(session, transfer.product, on)
    if price is None:
        if tell_when_waiting:
            _tell_price_missing(session, user, transfer)
        return None
    entry = CompensationEntry(
        transfer_id=transfer.id,
        debtor_id=transfer.target_id,
        creditor_id=transfer.source_id,
        product_id=transfer.product_id,
        quantity=accepted,
        unit_price_ore=price.unit_price_ore,
        amount_ore=accepted * price.unit_price_ore,
        booked_on=on,
    )
    session.add(entry)
    session.flush()
    return entry


def pending_bookings(session: Session, product: Product | None = None) -> list[tuple[Transfer, int]]:
    """Executed transfers not booked yet, with the units accepted: they wait for a reference price."""
    stmt = (
        select(Transfer)
        .join(Shipment, Shipment.transfer_id == Transfer.id)
        .outerjoin(CompensationEntry, CompensationEntry.transfer_id == Transfer.id)
        .where(Shipment.status == ShipmentStatus.CONFIRMED.value, CompensationEntry.id.is_(None))
        .order_by(Transfer.id)
    )
    if product is not None:
        stmt = stmt.where(Transfer.product_id == product.id)
    waiting = []
    for transfer in session.scalars(stmt).unique():
        accepted = accepted_quantity(session, transfer)
        if accepted:
            waiting.append((transfer, accepted))
    return waiting


def book_pending(session: Session, user, *, product: Product | None = None) -> list[CompensationEntry]:
    """Book every executed transfer (of ``product``) that waited for a price and now has one. Flush only."""
    booked = []
    for transfer, accepted in pending_bookings(session, product):
        entry = book(session, user, transfer, accepted, tell_when_waiting=False)
        if entry is not None:
            booked.append(entry)
    return booked


def _tell_price_missing(session: Session, user, transfer: Transfer) -> None:
    from app.notifications.services import notify

    keepers = session.scalars(
        select(User)
        .join(UserRole)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(UserRole.role == Role.NATIONAL_COORDINATOR.value, User.active.is_(True),
               Organisation.kind == OrganisationKind.AGENCY.value)
        .distinct()
        .order_by(User.id)
    ).all()
    link = page_link("allocation.prices")
    for person in keepers:
        if user is not None and person.id == getattr(user, "id", None):
            continue
        with in_language_of(person):
            notify(
                session, person,
                _("A transfer of %(sku)s waits for a reference price", sku=transfer.product.sku),
                _("%(giver)s gave %(receiver)s %(sku)s (%(reference)s) and the receipt is confirmed, but the product "
                  "has no reference price and the agency has no purchases of it. Set a price on the price list; the "
                  "compensation is booked then.", giver=transfer.source.name, receiver=transfer.target.name,
                  sku=transfer.product.sku, reference=transfer.proposal.reference),
                link,
            )


# --- who sees what --------------------------------------------------------------------------------------------------


def _party_clause(user, debtor_column, creditor_column) -> ColumnElement[bool]:
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    if scope is Scope.COUNTY:
        county = user.organisation.county_code
        in_county = select(Organisation.id).where(Organisation.county_code == county)
        return or_(debtor_column.in_(in_county), creditor_column.in_(in_county))
    return or_(debtor_column == user.organisation_id, creditor_column == user.organisation_id)


def entry_visibility_clause(user) -> ColumnElement[bool]:
    """A WHERE clause on CompensationEntry: the entries ``user`` may read."""
    return _party_clause(user, CompensationEntry.debtor_id, CompensationEntry.creditor_id)


def settlement_visibility_clause(user) -> ColumnElement[bool]:
    return _party_clause(user, Settlement.debtor_id, Settlement.creditor_id)


def get_settlement(session: Session, user, settlement_id: int) -> Settlement:
    """The settlement if ``user`` may read it. Raises NotFoundError otherwise (and for none)."""
    found = session.scalar(
        select(Settlement).where(Settlement.id == settlement_id, settlement_visibility_clause(user))
    )
    if found is None:
        raise NotFoundError(_("No such settlement."))
    return found


def settlement_entries(session: Session, settlement: Settlement) -> list[CompensationEntry]:
    return list(
        session.scalars(
            select(CompensationEntry).where(CompensationEntry.settlement_id == settlement.id)
            .order_by(CompensationEntry.booked_on, CompensationEntry.id)
        )
    )


# --- statements -------------------------------------------------------------------------------------------------------


@dataclass
class Statement:
    """One organisation's compensation in a period: what it owes (as receiver) and what it is owed (as giver)."""

    organisation: Organisation
    start: date
    end: date
    owed: list[CompensationEntry] = field(default_factory=list)
    receivable: list[CompensationEntry] = field(default_factory=list)

    @property
    def total_owed(self) -> int:
        return sum(entry.amount_ore for entry in self.owed)

    @property
    def total_receivable(self) -> int:
        return sum(entry.amount_ore for entry in self.receivable)

    @property
    def net(self) -> int:
        """Positive: the organisation is owed more than it owes."""
        return self.total_receivable - self.total_owed

    @property
    def unsettled_owed(self) -> int:
        return sum(entry.amount_ore for entry in self.owed if entry.settlement_id is None)

    @property
    def unsettled_receivable(self) -> int:
        return sum(entry.amount_ore for entry in self.receivable if entry.settlement_id is None)

    def counterparty(self, entry: CompensationEntry) -> Organisation:
        return entry.creditor if entry.debtor_id == self.organisation.id else entry.debtor

    def unsettled_by_counterparty(self) -> list[tuple[Organisation, Organisation, list[CompensationEntry]]]:
        """[(debtor, creditor, unsettled entries)] per pair the organisation is part of, by counterparty name."""
        pairs: dict[tuple[int, int], list[CompensationEntry]] = defaultdict(list)
        for entry in [*self.owed, *self.receivable]:
            if entry.settlement_id is None:
                pairs[(entry.debtor_id, entry.creditor_id)].append(entry)
        grouped = [(entries[0].debtor, entries[0].creditor, entries) for entries in pairs.values()]
        return sorted(grouped, key=lambda item: self.counterparty(item[2][0]).name)


def check_period(start: date | None, end: date | None) -> tuple[date, date]:
    """The period from–to, both included; defaults: 1 January of this year to today. Raises CompensationError
    for an end before the start."""
    today = local_today()
    start = start or date(today.year, 1, 1)
    end = end or today
    if end < start:
        raise CompensationError(_("The period ends before it starts."), field="end")
    return start, end


def statement(session: Session, user, organisation: Organisation, start: date | None = None,
              end: date | None = None) -> Statement:
    """``organisation``'s statement for the period (booking dates from ``start`` to ``end``, both included).

    Raises NotFoundError for an organisation outside the user's scope, CompensationError for a bad period.
    """
    if not can_see_organisation(user, organisation):
        raise NotFoundError(_("No such organisation."))
    start, end = check_period(start, end)
    entries = session.scalars(
        select(CompensationEntry)
        .where(
            or_(CompensationEntry.debtor_id == organisation.id, CompensationEntry.creditor_id == organisation.id),
            CompensationEntry.booked_on >= start,
            CompensationEntry.booked_on <= end,
        )
        .options(selectinload(CompensationEntry.transfer).selectinload(Transfer.proposal))
        .order_by(CompensationEntry.booked_on, CompensationEntry.id)
    ).all()
    result = Statement(organisation, start, end)
    for entry in entries:
        (result.owed if entry.debtor_id == organisation.id else result.receivable).append(entry)
    return result


@dataclass(frozen=True)
class BalanceRow:
    """One organisation's totals in a period, for the coordinators' overview."""

    organisation: Organisation
    owed: int
    receivable: int
    unsettled_owed: int
    unsettled_receivable: int

    @property
    def net(self) -> int:
        return self.receivable - self.owed


def balances(session: Session, user, start: date | None = None, end: date | None = None) -> list[BalanceRow]:
    """Every organisation in the user's scope that is a party to an entry in the period, with its totals."""
    start, end = check_period(start, end)
    entries = session.scalars(
        select(CompensationEntry).where(
            entry_visibility_clause(user), CompensationEntry.booked_on >= start, CompensationEntry.booked_on <= end
        )
    ).all()
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    organisations: dict[int, Organisation] = {}
    for entry in entries:
        unsettled = entry.settlement_id is None
        for party, owes in ((entry.debtor, True), (entry.creditor, False)):
            if not can_see_organisation(user, party):
                continue
            organisations[party.id] = party
            row = totals[party.id]
            row[0 if owes else 1] += entry.amount_ore
            if unsettled:
                row[2 if owes else 3] += entry.amount_ore
    rows = [BalanceRow(organisations[key], *values) for key, values in totals.items()]
    return sorted(rows, key=lambda row: (row.organisation.county_code or "", row.organisation.name))


def statement_csv(result: Statement) -> str:
    """The statement as CSV (semicolons, UTF-8 with BOM, as Excel in Sweden reads it): one row per entry, amounts
    in kronor with two decimals (signed: negative owed), then the totals and the net."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([
        _("Booked on"), _("Direction"), _("Counterparty"), _("Redistribution"), _("Product"), _("Quantity"),
        _("Unit price (SEK)"), _("Amount (SEK)"), _("Settled on"), _("Payment reference"),
    ])
    for direction, entries, sign in ((_("Owed"), result.owed, -1), (_("Receivable"), result.receivable, 1)):
        for entry in entries:
            settlement = entry.settlement
            writer.writerow([
                entry.booked_on.isoformat(), direction, _cell(result.counterparty(entry).name),
                entry.transfer.proposal.reference, entry.product.sku, entry.quantity, sek_text(entry.unit_price_ore),
                sek_text(sign * entry.amount_ore), settlement.paid_on.isoformat() if settlement else "",
                _cell(settlement.payment_reference or "") if settlement else "",
            ])
    writer.writerow([])
    writer.writerow([_("Total owed"), "", "", "", "", "", "", sek_text(-result.total_owed)])
    writer.writerow([_("Total receivable"), "", "", "", "", "", "", sek_text(result.total_receivable)])
    writer.writerow([_("Net"), "", "", "", "", "", "", sek_text(result.net)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    # Text starting like a formula would be run by a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def statement_filename(result: Statement, extension: str) -> str:
    code = result.organisation.municipality_code or result.organisation.code
    return f"ersattning-{code}-{result.start.isoformat()}-{result.end.isoformat()}.{extension}"


# --- settlements ---------------------------------------------------------------------------------------------------


def may_settle(user, debtor: Organisation, creditor: Organisation) -> bool:
    """A party's own staff (not read-only roles), or a coordinator with redistribution rights over both."""
    both_in_scope = can_see_organisation(user, debtor) and can_see_organisation(user, creditor)
    if has_permission(user, Permission.MANAGE_REDISTRIBUTION) and both_in_scope:
        return True
    own = user.organisation_id in (debtor.id, creditor.id)
    return own and any(Role(role) in SETTLING_ROLES for role in user.roles)


def settle(session: Session, user, *, entry_ids: Sequence[int], paid_on: date | None,
           payment_reference: str = "") -> Settlement:
    """Record that the debtor paid the creditor the chosen unsettled entries between the two. Flush only.

    The amount is their sum, exactly. Raises CompensationError when no entry is chosen, the entries are not all
    between the same debtor and creditor, the payment date is missing or in the future, the reference too
    long, or the user may not settle for these parties; NotFoundError for entries the user cannot see;
    ConflictError when one of them was settled meanwhile.
    """
    ids = sorted({int(entry_id) for entry_id in entry_ids})
    if not ids:
        raise CompensationError(_("Choose the entries that were paid."), field="entry_ids")
    if paid_on is None:
        raise CompensationError(_("Enter the date of payment."), field="paid_on")
    if paid_on > local_today():
        raise CompensationError(_("The payment date cannot be in the future."), field="paid_on")
    payment_reference = (payment_reference or "").strip()
    if len(payment_reference) > MAX_REFERENCE:
        raise CompensationError(_("At most %(n)s characters.", n=MAX_REFERENCE), field="payment_reference")
    # Lock the entries: two people settling the same entries at once cannot both succeed.
    entries = session.scalars(
        select(CompensationEntry)
        .where(CompensationEntry.id.in_(ids), entry_visibility_clause(user))
        .order_by(CompensationEntry.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if len(entries) != len(ids):
        raise NotFoundError(_("No such compensation entry."))
    pairs = {(entry.debtor_id, entry.creditor_id) for entry in entries}
    if len(pairs) != 1:
        raise CompensationError(_("A settlement is between one debtor and one creditor: choose entries between "
                                  "the same two organisations."), field="entry_ids")
    if any(entry.settlement_id is not None for entry in entries):
        raise ConflictError(_("An entry chosen is already settled."))
    debtor, creditor = entries[0].debtor, entries[0].creditor
    if not may_settle(user, debtor, creditor):
        raise CompensationError(_("Only %(debtor)s, %(creditor)s or their coordinator records this payment.",
                                  debtor=debtor.name, creditor=creditor.name))
    settlement = Settlement(
        debtor_id=debtor.id,
        creditor_id=creditor.id,
        amount_ore=sum(entry.amount_ore for entry in entries),
        paid_on=paid_on,
        payment_reference=payment_reference or None,
        recorded_by_id=user.id,
    )
    session.add(settlement)
    session.flush()
    for entry in entries:
        entry.settlement_id = settlement.id
    session.flush()
    return settlement


# --- the transfer's side ----------------------------------------------------------------------------------------------


def transfer_compensation(session: Session, transfer: Transfer) -> tuple[str, CompensationEntry | None]:
    """Where a transfer stands in the ledger: ("booked", entry), ("waiting_price", None) when executed and
    unpriced, ("nothing_accepted", None), or ("not_executed", None)."""
    entry = entry_for(session, transfer)
    if entry is not None:
        return "booked", entry
    accepted = accepted_quantity(session, transfer)
    if accepted is None:
        return "not_executed", None
    return ("waiting_price" if accepted else "nothing_accepted"), None
