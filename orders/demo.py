"""Demo procurement and stock for `flask demo load`: exchange rates, purchase orders in every stage of their
life, goods received into the national warehouses (released, and some still in quarantine), a draft joint
purchase for Stockholm county's municipalities and an expected rescEU allocation; dated relative to today.

Everything goes through the services as the demo purchasing officer (drafts, submits, sends, receives), the
purchasing lead (approves, inspects) and the national coordinator (approves above 10 MSEK), so the demo obeys
the rules of the pages: four eyes on approval and release, approved suppliers only, the ledger for every unit.
The approval rules are not seeded: while none are saved, orders/approval.py applies the defaults.

It needs the demo users, the catalogue and the demo suppliers (suppliers/demo.py), found by organisationsnummer
(or, abroad, registration number). Each order, joint purchase and incoming supply is known by its notes, title
or reference: one that exists is left as it is, so loading twice creates nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.catalog.models import Product, ProductCategory
from app.organisations.models import Organisation
from app.organisations.services import population_of
from app.stock import ledger
from app.stock.models import StockLocation
from orders import services_incoming as incoming
from orders import services_joint as joint
from orders import services_orders as orders
from orders import services_receiving as receiving
from orders.approval import DEFAULT_LIMIT_ORE
from orders.models import IncomingSupply, JointPurchase, OrderStatus, PurchaseOrder
from orders.services_eu import LOCATION_KEY
from orders.services_orders import DeliveryInput, OrderLineInput
from orders.services_receiving import Decision, InspectionData, ReceiptData, SampleResult
from suppliers import demo as supplier_demo
from suppliers.models import Offer, Supplier

OFFICER = supplier_demo.OFFICER  # inkopare@samordna.demo drafts, submits, sends and receives
LEAD = supplier_demo.LEAD  # inkopschef@samordna.demo approves and inspects
COORDINATOR = "samordnare@samordna.demo"  # approves above the purchasing lead's limit

# SEK per unit (Riksbanken's mid rates as entered by purchasing), valid from RATES_FROM days ago.
RATES = (("EUR", "11.45"), ("USD", "10.52"), ("CNY", "1.46"))
RATES_FROM = -60
SHELF_LIFE_DAYS = 5 * 365  # respirators, masks and gloves: five years from manufacture, about


@dataclass(frozen=True)
class DemoDelivery:
    due: int  # days from today
    quantity: int
    warehouse: str = "NL-MITT"


@dataclass(frozen=True)
class DemoReceipt:
    delivery: int  # index of the order's delivery, in the order given
    quantity: int
    lot: str
    received: int  # days from today
    made: int  # manufactured, days from today
    release: bool = True  # False: left in quarantine, awaiting inspection


@dataclass(frozen=True)
class DemoOrder:
    notes: str  # identifies the order: loading again finds it by these notes
    supplier: str  # legal name of a demo supplier
    sku: str
    quantity: int
    unit_price: str
    currency: str
    ordered: int  # days from today
    deliveries: tuple[DemoDelivery, ...]
    state: OrderStatus
    incoterm: str | None = None
    incoterm_place: str | None = None
    payment_terms: str = "30 dagar netto"
    confirmation: str | None = None  # the supplier's order confirmation number, once confirmed
    receipts: tuple[DemoReceipt, ...] = ()
    from_offer: bool = False  # linked to the supplier's current offer of the product


ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder(
        "FFP3 till regionernas intensivvård. Väntar på leverantörens besked om den andra delleveransen innan "
        "ordern skickas för godkännande.",
        "Rheinland Medizinbedarf GmbH",
        "FFP3-FOLD",
        150_000,
        "1.15",
        "EUR",
        ordered=0,
        deliveries=(DemoDelivery(14, 75_000, "NL-SYD"), DemoDelivery(28, 75_000, "NL-SYD")),
        state=OrderStatus.DRAFT,
        incoterm="DAP",
        incoterm_place="Jönköping",
        from_offer=True,
    ),
    DemoOrder(
        "Två miljoner FFP2 till det nationella lagret i fyra veckoleveranser, volympris 6,50 kr. Över 10 MSEK: "
        "godkänns av nationell samordnare.",
        "Västgöta Skyddsprodukter AB",
        "FFP2-FOLD",
        2_000_000,
        "6.50",
        "SEK",
        ordered=-1,
        deliveries=tuple(DemoDelivery(due, 500_000) for due in (14, 21, 28, 35)),
        state=OrderStatus.SUBMITTED,
        incoterm="FCA",
        incoterm_place="Skövde",
    ),
    DemoOrder(
        "Handsprit till kommunernas äldreomsorg. Första delleveransen har inte kommit och leverantören har inte "
        "bekräftat ordern: påminnelse skickad.",
        "Bergslagens Kemi AB",
        "HANDDES-500",
        24_000,
        "39.50",
        "SEK",
        ordered=-21,
        deliveries=(DemoDelivery(-6, 12_000), DemoDelivery(8, 12_000)),
        state=OrderStatus.SENT,
        incoterm="DAP",
        incoterm_place="Nationellt lager Mitt",
    ),
    DemoOrder(
        "Fyra miljoner nitrilhandskar i två delleveranser. Första delleveransen kom i två omgångar; 300 000 "
        "står kvar som restorder.",
        "Nordisk Vårdlogistik AB",
        "GLV-NIT-M",
        4_000_000,
        "0.45",
        "SEK",
        ordered=-35,
        deliveries=(DemoDelivery(-14, 2_000_000), DemoDelivery(14, 2_000_000, "NL-SYD")),
        state=OrderStatus.CONFIRMED,
        incoterm="DAP",
        incoterm_place="Göteborg",
        confirmation="NVL-OC-26-04418",
        receipts=(
            DemoReceipt(0, 1_200_000, "SGI-2603-1187", received=-13, made=-120),
            DemoReceipt(0, 500_000, "SGI-2604-0213", received=-2, made=-75, release=False),
        ),
    ),
    DemoOrder(
        "FFP2 från svensk tillverkning till de nationella lagren, två delleveranser.",
        "Västgöta Skyddsprodukter AB",
        "FFP2-FOLD",
        300_000,
        "6.90",
        "SEK",
        ordered=-49,
        deliveries=(DemoDelivery(-35, 150_000), DemoDelivery(-21, 150_000, "NL-SYD")),
        state=OrderStatus.CONFIRMED,
        incoterm="EXW",
        incoterm_place="Skövde",
        confirmation="VGS-2026-0311",
        receipts=(
            DemoReceipt(0, 150_000, "VGS-2603-0412", received=-34, made=-45),
            DemoReceipt(1, 150_000, "VGS-2604-0107", received=-21, made=-30),
        ),
    ),
    DemoOrder(
        "Munskydd typ IIR till regionerna, en leverans. Mottagen, kontrollerad och stängd.",
        "Nordisk Vårdlogistik AB",
        "IIR-LOOP",
        400_000,
        "1.20",
        "SEK",
        ordered=-42,
        deliveries=(DemoDelivery(-28, 400_000),),
        state=OrderStatus.CLOSED,
        incoterm="DAP",
        incoterm_place="Göteborg",
        confirmation="NVL-OC-26-03972",
        receipts=(DemoReceipt(0, 400_000, "HMT-2602-5531", received=-27, made=-90),),
    ),
)

JOINT_TITLE = "FFP2 till Stockholms läns kommuner"
JOINT_NOTES = (
    "Samordnat inköp för länets kommuner inför hösten; kostnaden fördelas efter den mängd varje kommun tar."
)
JOINT_COUNTY = "01"
# Without registered need in the register, each municipality takes about five respirators per hundred
# inhabitants (a month's use in elderly care and home care), in whole thousands.
RESPIRATORS_PER_INHABITANT = Decimal("0.05")

RESCEU_REFERENCE = "ECHO/rescEU/2026/SE/0031"


@dataclass
class DemoProcurement:
    """What one load created."""

    rates: int = 0
    orders: int = 0
    joint_purchases: int = 0
    incoming_supplies: int = 0

    def summary(self) -> str:
        return (
            f"orders {self.orders}, joint purchases {self.joint_purchases}, incoming supplies "
            f"{self.incoming_supplies}, exchange rates {self.rates}"
        )


@dataclass
class _Context:
    session: Session
    officer: User
    lead: User
    coordinator: User
    today: date
    tz: ZoneInfo
    products: dict[str, Product] = field(default_factory=dict)

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def moment(self, offset: int, hour: int = 10) -> datetime:
        return datetime.combine(self.day(offset), time(hour), tzinfo=self.tz)

    def product(self, sku: str) -> Product:
        if sku not in self.products:
            product = self.session.scalar(select(Product).where(Product.sku == sku))
            if product is None:
                raise LookupError(f"The catalogue has no product {sku}: load it first (flask catalog load).")
            self.products[sku] = product
        return self.products[sku]

    def warehouse(self, code: str) -> StockLocation:
        return ledger.location_by_code(self.session, code)


def load_demo_procurement(session: Session, *, today: date, tz: ZoneInfo) -> DemoProcurement:
    """Create what is missing of the demo's procurement and stock. Flushes only; returns what it created.

    Raises LookupError when the demo users, the catalogue or the demo suppliers are missing.
    """
    emails = (OFFICER, LEAD, COORDINATOR)
    users = {user.email: user for user in session.scalars(select(User).where(User.email.in_(emails)))}
    missing = set(emails) - set(users)
    if missing:
        raise LookupError(f"Create the demo users first; missing: {', '.join(sorted(missing))}")
    context = _Context(session, users[OFFICER], users[LEAD], users[COORDINATOR], today, tz)
    ledger.ensure_warehouses(session)
    created = DemoProcurement(rates=_rates(context))
    for demo in ORDERS:
        if session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.notes == demo.notes)) is None:
            _order(context, demo)
            created.orders += 1
    if session.scalar(select(JointPurchase.id).where(JointPurchase.title == JOINT_TITLE)) is None:
        _joint_purchase(context)
        created.joint_purchases += 1
    if session.scalar(select(IncomingSupply.id).where(IncomingSupply.reference == RESCEU_REFERENCE)) is None:
        _resceu(context)
        created.incoming_supplies += 1
    return created


# --- exchange rates ----------------------------------------------------------------------------------------------


def _rates(context: _Context) -> int:
    """A rate per foreign currency from before the earliest demo order, unless one is recorded by then."""
    valid_on = context.day(RATES_FROM)
    created = 0
    for currency, rate in RATES:
        try:
            orders.rate_on(context.session, currency, valid_on)
        except orders.OrderError:
            orders.record_exchange_rate(
                context.session, context.lead, currency=currency, valid_on=valid_on, sek_per_unit=Decimal(rate)
            )
            created += 1
    return created


# --- purchase orders ---------------------------------------------------------------------------------------------


def _supplier(session: Session, legal_name: str) -> Supplier:
    """A demo supplier by its organisationsnummer, or its registration number abroad."""
    demo = next((s for s in supplier_demo.SUPPLIERS if s.legal_name == legal_name), None)
    if demo is None:
        raise LookupError(f"{legal_name} is not one of the demo suppliers (suppliers/demo.py).")
    if demo.organisation_number:
        number = supplier_demo.organisation_number(demo.organisation_number)
        found = session.scalar(select(Supplier).where(Supplier.organisation_number == number))
    else:
        found = session.scalar(
            select(Supplier).where(
                Supplier.country == demo.country,
                Supplier.foreign_registration_number == demo.foreign_registration_number,
            )
        )
    if found is None:
        raise LookupError(f"Load the demo suppliers first: {legal_name} is missing.")
    return found


def _current_offer(context: _Context, supplier: Supplier, product: Product, day: date) -> Offer | None:
    offers = context.session.scalars(
        select(Offer).where(Offer.supplier_id == supplier.id, Offer.product_id == product.id)
    )
    return next((offer for offer in offers if offer.is_current_on(day)), None)


def _order(context: _Context, demo: DemoOrder) -> PurchaseOrder:
    """The order created and walked through its life to ``demo.state`` by the services, then dated back."""
    session, officer = context.session, context.officer
    supplier = _supplier(session, demo.supplier)
    product = context.product(demo.sku)
    ordered_on = context.day(demo.ordered)
    order = orders.create_order(
        session,
        officer,
        supplier=supplier,
        buyer=officer.organisation,
        currency=demo.currency,
        order_date=ordered_on,
        lines=[OrderLineInput(product=product, quantity=demo.quantity, unit_price=Decimal(demo.unit_price))],
        deliveries=[
            DeliveryInput(line_number=1, due_on=context.day(d.due), quantity=d.quantity,
                          destination=context.warehouse(d.warehouse))
            for d in demo.deliveries
        ],
        incoterm=demo.incoterm,
        incoterm_place=demo.incoterm_place,
        payment_terms=demo.payment_terms,
        offer=_current_offer(context, supplier, product, ordered_on) if demo.from_offer else None,
        notes=demo.notes,
    )
    if demo.state != OrderStatus.DRAFT:
        orders.submit_order(session, officer, order)
    if demo.state not in (OrderStatus.DRAFT, OrderStatus.SUBMITTED):
        big = orders.order_value_ore(order) > DEFAULT_LIMIT_ORE
        orders.approve_order(session, context.coordinator if big else context.lead, order)
        orders.send_order(session, officer, order)
        if demo.confirmation:
            orders.confirm_order(session, officer, order, demo.confirmation)
    for receipt in demo.receipts:
        _receipt(context, order, receipt)
    if demo.state == OrderStatus.CLOSED:
        orders.close_order(session, officer, order)
    _date_back(context, order, demo.ordered)
    return order


def _receipt(context: _Context, order: PurchaseOrder, demo: DemoReceipt) -> None:
    """Received by the officer into quarantine; released by the lead (four eyes) against a usable certificate."""
    session = context.session
    delivery = sorted(order.deliveries, key=lambda d: (d.due_on, d.id))[demo.delivery]
    receipt = receiving.receive_delivery(
        session,
        context.officer,
        delivery,
        ReceiptData(
            quantity=demo.quantity,
            lot_number=demo.lot,
            received_on=context.day(demo.received),
            expiry_on=context.day(demo.made + SHELF_LIFE_DAYS),
            manufactured_on=context.day(demo.made),
            notes="Leveransen stämde mot följesedeln; pallarna oskadade.",
        ),
        today=context.today,
    )
    receipt.created_at = context.moment(demo.received, 9)
    if not demo.release:
        return
    usable = [
        c for c in receiving.certificates_for(session, receipt)
        if receiving.is_usable_certificate(c, receipt.received_on)
    ]
    receiving.inspect(
        session,
        context.lead,
        receipt,
        InspectionData(
            decision=Decision.RELEASE.value,
            documents_checked=True,
            sample_result=SampleResult.PASSED.value,
            certificate_id=usable[0].id if usable else None,
            notes="Märkning (tillverkare, modell, lot, CE) kontrollerad mot intyget; stickprov godkänt.",
        ),
    )
    receipt.inspected_at = context.moment(demo.received + 1, 14)


def _date_back(context: _Context, order: PurchaseOrder, ordered: int) -> None:
    """Give the steps the days they would have happened on: drafted on the order date, submitted then,
    approved and sent the day after, confirmed two days later."""
    order.created_at = context.moment(ordered, 9)
    for version in order.versions:
        version.created_at = context.moment(ordered, 9)
    steps = {"submitted_at": (0, 11), "approved_at": (1, 9), "sent_at": (1, 10), "confirmed_at": (3, 15)}
    for name, (days, hour) in steps.items():
        if getattr(order, name) is not None:
            setattr(order, name, context.moment(min(ordered + days, 0), hour))
    context.session.flush()


# --- the joint purchase and the rescEU allocation ------------------------------------------------------------


def _joint_purchase(context: _Context) -> JointPurchase:
    """A draft joint purchase of FFP2 for Stockholm county's municipalities, led by the agency; the
    quantities come from the register when it has need, otherwise from each municipality's population."""
    session = context.session
    category = session.scalar(select(ProductCategory).where(ProductCategory.code == "respirators"))
    municipalities = joint.recipient_organisations(
        session, joint.Recipients.COUNTY_MUNICIPALITIES.value, county_code=JOINT_COUNTY
    )
    has_need = any(row.has_report for row in joint.read_need(session, category=category, organisations=municipalities))
    purchase = joint.start_joint_purchase(
        session,
        context.officer,
        joint.JointPurchaseInput(
            title=JOINT_TITLE,
            category=category,
            product=context.product("FFP2-FOLD"),
            recipients=joint.Recipients.COUNTY_MUNICIPALITIES.value,
            county_code=JOINT_COUNTY,
            from_register=has_need,
            notes=JOINT_NOTES,
        ),
    )
    if not has_need:
        joint.update_joint_purchase(
            session,
            context.officer,
            purchase,
            title=purchase.title,
            cost_split=purchase.cost_split,
            notes=purchase.notes,
            quantities={p.organisation_id: _by_population(session, p.organisation) for p in purchase.participants},
        )
    return purchase


def _by_population(session: Session, organisation: Organisation) -> int:
    population = population_of(session, organisation) or 0
    return max(1_000, int(population * RESPIRATORS_PER_INHABITANT) // 1_000 * 1_000)


def _resceu(context: _Context) -> IncomingSupply:
    """Isolation gowns allocated to Sweden from the rescEU stockpile, expected at the southern warehouse."""
    return incoming.register_supply(
        context.session,
        context.officer,
        incoming.SupplyData(
            kind="resceu",
            source="rescEU-lagret, Europeiska kommissionen (DG ECHO)",
            reference=RESCEU_REFERENCE,
            product_id=context.product("GOWN-ISO").id,
            quantity=80_000,
            expected_on=context.day(5),
            destination=f"{LOCATION_KEY}{context.warehouse('NL-SYD').id}",
            notes="Tilldelning efter Sveriges begäran genom EU:s civilskyddsmekanism; levereras på 40 pallar.",
        ),
    )
