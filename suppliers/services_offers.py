"""Suppliers' offers (offerter): recording, changing and withdrawing them, and comparing one product's offers.

Services take the session and the acting user, check the rules and flush; the caller commits. Each raises
before it writes, so a refused request leaves the database as it was.

Prices are exact Decimals in the offer's own currency. Prices in different currencies are never ranked
against each other as they stand: the comparison converts them to SEK only with reference rates the agency
configures (``SAMORDNA_REFERENCE_RATES``), and says which rate it used; without a rate a price is shown and
sorted in its own currency only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.roles import Permission
from app.catalog.models import Product
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import DomainError
from suppliers.models import CURRENCIES, INCOTERMS, Offer, Supplier, SupplierProduct
from suppliers.services_certificates import (
    CertificateState,
    Rejected,
    ensure_permission,
    model_state,
)

PRICE_DECIMALS = 4
MAX_PRICE = Decimal("9999999999.9999")  # Numeric(14, 4)
MAX_QUANTITY = 1_000_000_000
MAX_LEAD_TIME_DAYS = 730
MAX_PLACE = 120


class OfferError(DomainError):
    """An offer breaks a rule."""


@dataclass(frozen=True)
class OfferData:
    """An offer as the purchasing officer records it (the price an exact Decimal). None is a missing value."""

    product_id: int | None
    unit_price: Decimal | None
    currency: str | None
    minimum_order_quantity: int | None
    lead_time_days: int | None
    valid_from: date | None
    valid_until: date | None
    supplier_product_id: int | None = None
    capacity_per_week: int | None = None
    incoterm: str | None = None
    incoterm_place: str | None = None
    notes: str | None = None


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _price_problem(price) -> str | None:
    if price is None:
        return _("Enter the price per unit.")
    try:
        price = Decimal(price)
    except (InvalidOperation, TypeError, ValueError):
        return _("Enter the price as a number, e.g. 4.25.")
    if not price.is_finite() or price <= 0:
        return _("The price must be above 0.")
    if price > MAX_PRICE:
        return _("The price is too large.")
    if price != price.quantize(Decimal(1).scaleb(-PRICE_DECIMALS)):
        return _("Give the price with at most %(n)s decimals.", n=PRICE_DECIMALS)
    return None


def offer_problems(data: OfferData) -> list[DomainError]:
    """Every rule an offer breaks on its own (pure: no database)."""
    problems: list[DomainError] = []

    def problem(message: str, field: str) -> None:
        problems.append(OfferError(message, field=field))

    if data.product_id is None:
        problem(_("Choose a product from the catalogue."), "product_id")
    price = _price_problem(data.unit_price)
    if price:
        problem(price, "unit_price")
    if data.currency not in CURRENCIES:
        problem(_("Choose a currency."), "currency")
    moq = data.minimum_order_quantity
    if not _whole(moq) or not 1 <= moq <= MAX_QUANTITY:
        problem(
            _("The minimum order quantity is a whole number of units, at least 1."), "minimum_order_quantity"
        )
    lead = data.lead_time_days
    if not _whole(lead) or not 0 <= lead <= MAX_LEAD_TIME_DAYS:
        problem(
            _("The lead time is a whole number of days from 0 to %(max)s.", max=MAX_LEAD_TIME_DAYS),
            "lead_time_days",
        )
    capacity = data.capacity_per_week
    if capacity is not None and (not _whole(capacity) or not 1 <= capacity <= MAX_QUANTITY):
        problem(_("The capacity is a whole number of units per week above 0, or empty."), "capacity_per_week")
    if data.valid_from is None:
        problem(_("Enter the date the offer is valid from."), "valid_from")
    if data.valid_until is None:
        problem(_("Enter the date the offer is valid until."), "valid_until")
    elif data.valid_from is not None and data.valid_until < data.valid_from:
        problem(_("The offer cannot end before it starts."), "valid_until")
    if data.incoterm and data.incoterm not in INCOTERMS:
        problem(_("Choose one of the Incoterms 2020 rules."), "incoterm")
    elif data.incoterm and not data.incoterm_place:
        problem(
            _("Name the place the Incoterms rule refers to, e.g. FCA Shanghai or DAP Göteborg."),
            "incoterm_place",
        )
    elif data.incoterm_place and not data.incoterm:
        problem(_("Choose the Incoterms rule the place belongs to."), "incoterm")
    if data.incoterm_place and len(data.incoterm_place) > MAX_PLACE:
        problem(_("At most %(n)s characters.", n=MAX_PLACE), "incoterm_place")
    return problems


def _normalised(data: OfferData) -> OfferData:
    def clean(value):
        return (value or "").strip() or None

    return OfferData(
        product_id=data.product_id,
        unit_price=data.unit_price,
        currency=clean(data.currency and data.currency.upper()),
        minimum_order_quantity=data.minimum_order_quantity,
        lead_time_days=data.lead_time_days,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        supplier_product_id=data.supplier_product_id,
        capacity_per_week=data.capacity_per_week,
        incoterm=clean(data.incoterm and data.incoterm.upper()),
        incoterm_place=clean(data.incoterm_place),
        notes=clean(data.notes),
    )


def _ensure_manages_offers(user) -> None:
    ensure_permission(user, Permission.MANAGE_OFFERS, _("Your role cannot record or change offers."))


def _checked(
    session: Session, user, supplier: Supplier, data: OfferData, own: Offer | None
) -> tuple[OfferData, Product | None, SupplierProduct | None]:
    _ensure_manages_offers(user)
    data = _normalised(data)
    problems = offer_problems(data)
    product = session.get(Product, data.product_id) if data.product_id is not None else None
    if data.product_id is not None and product is None:
        problems.append(OfferError(_("Choose a product from the catalogue."), field="product_id"))
    elif product is not None and not product.active and (own is None or own.product_id != product.id):
        problems.append(
            OfferError(_("The product is no longer active in the catalogue."), field="product_id")
        )
    model = None
    if data.supplier_product_id is not None:
        model = session.get(SupplierProduct, data.supplier_product_id)
        if model is None or model.supplier_id != supplier.id:
            problems.append(
                OfferError(_("Choose one of this supplier's models."), field="supplier_product_id")
            )
        elif product is not None and model.product_id != product.id:
            problems.append(
                OfferError(_("The model is registered for another product."), field="supplier_product_id")
            )
    if problems:
        raise Rejected(problems)
    return data, product, model


def _apply(offer: Offer, data: OfferData, product: Product, model: SupplierProduct | None) -> None:
    offer.product = product
    offer.supplier_product = model
    offer.unit_price = Decimal(data.unit_price).quantize(Decimal(1).scaleb(-PRICE_DECIMALS))
    offer.currency = data.currency
    offer.minimum_order_quantity = data.minimum_order_quantity
    offer.lead_time_days = data.lead_time_days
    offer.capacity_per_week = data.capacity_per_week
    offer.valid_from = data.valid_from
    offer.valid_until = data.valid_until
    offer.incoterm = data.incoterm
    offer.incoterm_place = data.incoterm_place
    offer.notes = data.notes


def create_offer(session: Session, user, supplier: Supplier, data: OfferData) -> Offer:
    """Record a supplier's offer of a catalogue product. Flushes; the caller commits.

    Raises NotAllowed without MANAGE_OFFERS and Rejected (one error per field) for an unknown or inactive
    product, a model of another supplier or product, a price that is not above 0 or has more than four
    decimals, an unknown currency or Incoterms rule, a rule without its named place, a minimum order below 1,
    a negative lead time, a capacity not above 0, or a validity that ends before it starts.
    """
    data, product, model = _checked(session, user, supplier, data, None)
    offer = Offer(supplier=supplier, created_by=user)
    _apply(offer, data, product, model)
    session.add(offer)
    session.flush()
    return offer


def update_offer(session: Session, user, offer: Offer, data: OfferData) -> Offer:
    """Change an offer that is not withdrawn. Flushes. Raises as :func:`create_offer`, and Rejected for a
    withdrawn offer."""
    _ensure_manages_offers(user)
    if offer.withdrawn_at is not None:
        raise Rejected([OfferError(_("The offer is withdrawn and can no longer be changed."))])
    data, product, model = _checked(session, user, offer.supplier, data, offer)
    _apply(offer, data, product, model)
    session.flush()
    return offer


def withdraw_offer(
    session: Session, user, offer: Offer, reason: str | None, *, now: datetime | None = None
) -> Offer:
    """Withdraw an offer with the reason (the supplier took it back, it was sold elsewhere …). Flushes.

    Raises NotAllowed without MANAGE_OFFERS and Rejected for a missing reason or an offer already withdrawn.
    """
    _ensure_manages_offers(user)
    reason = (reason or "").strip()
    if offer.withdrawn_at is not None:
        raise Rejected([OfferError(_("The offer is already withdrawn."))])
    if not reason:
        raise Rejected([OfferError(_("Say why the offer is withdrawn."), field="reason")])
    offer.withdrawn_at = now or utcnow()
    offer.withdrawn_reason = reason
    session.flush()
    return offer


class OfferState(LabelledEnum):
    CURRENT = "current"
    UPCOMING = "upcoming"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.CURRENT: _l("Current"),
            cls.UPCOMING: _l("Not yet valid"),
            cls.EXPIRED: _l("Expired"),
            cls.WITHDRAWN: _l("Withdrawn"),
        }

    @property
    def tone(self) -> str:
        return {self.CURRENT: "green", self.UPCOMING: "amber"}.get(self, "neutral")


def offer_state(offer: Offer, today: date) -> OfferState:
    if offer.withdrawn_at is not None:
        return OfferState.WITHDRAWN
    if offer.valid_until < today:
        return OfferState.EXPIRED
    if offer.valid_from > today:
        return OfferState.UPCOMING
    return OfferState.CURRENT


def offer_state_clause(state: str, today: date):
    """A WHERE clause for offers in ``state`` on ``today``."""
    not_withdrawn = Offer.withdrawn_at.is_(None)
    return {
        OfferState.CURRENT: not_withdrawn & (Offer.valid_from <= today) & (Offer.valid_until >= today),
        OfferState.UPCOMING: not_withdrawn & (Offer.valid_from > today),
        OfferState.EXPIRED: not_withdrawn & (Offer.valid_until < today),
        OfferState.WITHDRAWN: Offer.withdrawn_at.is_not(None),
    }[OfferState(state)]


# --- comparing a product's offers ---------------------------------------------------------------------------


def parse_reference_rates(value) -> dict[str, Decimal]:
    """SEK per unit of each currency from config: a mapping, or text like ``"EUR=11.45, USD=10.52"``.

    Unknown currencies, malformed entries and rates not above 0 are left out; SEK is always 1.
    """
    pairs: list[tuple[str, object]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = [tuple(part.split("=", 1)) for part in str(value or "").split(",") if "=" in part]
    rates: dict[str, Decimal] = {}
    for currency, rate in pairs:
        code = str(currency).strip().upper()
        try:
            number = Decimal(str(rate).strip())
        except InvalidOperation:
            continue
        if code in CURRENCIES and number.is_finite() and number > 0:
            rates[code] = number
    rates["SEK"] = Decimal(1)
    return rates


@dataclass(frozen=True)
class ComparedOffer:
    """One row of a product's comparison: the offer and what it is worth next to the others."""

    offer: Offer
    pack_price: Decimal
    unit_price_sek: Decimal | None  # at the configured reference rate; None without one
    pack_price_sek: Decimal | None
    supplier_approved: bool
    certificate: (
        CertificateState | None
    )  # the offered model's best conformity certificate; None: none or no model


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def compare_offers(
    session: Session, product: Product, today: date, rates: Mapping[str, Decimal] | None = None
) -> list[ComparedOffer]:
    """The product's current offers (not withdrawn, valid today) side by side, cheapest first within each
    currency (in SEK order when every currency has a reference rate)."""
    offers = session.scalars(
        select(Offer)
        .where(Offer.product_id == product.id, offer_state_clause(OfferState.CURRENT, today))
        .options(
            selectinload(Offer.supplier),
            selectinload(Offer.supplier_product).selectinload(SupplierProduct.certificates),
        )
    ).all()
    rates = rates or {"SEK": Decimal(1)}
    rows = []
    for offer in offers:
        rate = rates.get(offer.currency)
        pack_price = offer.unit_price * product.pack_size
        rows.append(
            ComparedOffer(
                offer=offer,
                pack_price=pack_price,
                unit_price_sek=_money(offer.unit_price * rate) if rate is not None else None,
                pack_price_sek=_money(pack_price * rate) if rate is not None else None,
                supplier_approved=offer.supplier.is_approved,
                certificate=model_state(offer.supplier_product, today),
            )
        )
    default = "price_sek" if rows and all(row.unit_price_sek is not None for row in rows) else "price"
    return sort_compared(rows, default)


SORT_KEYS = (
    "supplier",
    "status",
    "certificate",
    "price",
    "price_sek",
    "moq",
    "lead_time",
    "capacity",
    "valid_until",
)
_STATE_RANK = list(CertificateState)
# What each column sorts by; None sorts last whichever the direction (no capacity stated, no rate, no model).
_SORT_VALUES = {
    "supplier": lambda r: r.offer.supplier.legal_name.lower(),
    "status": lambda r: (not r.supplier_approved, r.offer.supplier.legal_name.lower()),
    "certificate": lambda r: _STATE_RANK.index(r.certificate) if r.certificate else None,
    # Within one currency only: currencies are grouped, never ranked against each other.
    "price": lambda r: (r.offer.currency, r.offer.unit_price),
    "price_sek": lambda r: r.unit_price_sek,
    "moq": lambda r: r.offer.minimum_order_quantity,
    "lead_time": lambda r: r.offer.lead_time_days,
    "capacity": lambda r: r.offer.capacity_per_week,
    "valid_until": lambda r: r.offer.valid_until,
}


def sort_compared(rows: Sequence[ComparedOffer], key: str, descending: bool = False) -> list[ComparedOffer]:
    """Rows in the order of ``key`` (one of SORT_KEYS; unknown keys sort by price), rows without a value
    for it last and in price order."""
    value = _SORT_VALUES.get(key, _SORT_VALUES["price"])
    by_price = _SORT_VALUES["price"]
    known = [row for row in rows if value(row) is not None]
    unknown = [row for row in rows if value(row) is None]
    known.sort(key=lambda r: (value(r), r.offer.id), reverse=descending)
    unknown.sort(key=lambda r: (by_price(r), r.offer.id))
    return known + unknown
