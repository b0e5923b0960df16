"""Demo allocation for `flask demo load`: situation reports of five municipalities of Stockholm county, a decided
allocation of FFP2 respirators to the county by days of supply with its shipments, and a draft round of
surgical masks.

The decision's shipments show every step a user meets: Stockholm's (0180) is dispatched, for the demo recipient
mottagare.stockholm@samordna.demo to confirm; Tyresö's is dispatched and confirmed with a short delivery, which
opens a follow-up for the national coordinator; the rest wait, planned, to be dispatched.

Everything goes through the services: the reports as each municipality's reporter (Stockholm's is the demo
reporter; the other four get a demo contact who reports and receives), the rounds and the dispatches as the
demo national coordinator, the confirmation as Tyresö's contact. It needs the demo users, the catalogue and the
national stock of orders/demo.py (released FFP2, masks and gloves). A report is skipped when its municipality
has one in the current period, a round when one has its title: loading twice creates nothing new.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import reporting
from allocation import services_rounds as rounds
from allocation import services_shipments as shipments
from allocation.models import Branch, Channel, SituationReport
from allocation.models_distribution import (
    AllocationPolicy,
    AllocationRound,
    DiscrepancyReason,
    RecipientScope,
    Shipment,
)
from app.auth.models import User
from app.auth.roles import Role
from app.auth.services import create_user
from app.catalog.models import Product
from app.db import utcnow
from app.demo import DEMO_PASSWORD
from app.organisations.models import Organisation
from app.stock import ledger
from app.stock.models import StockLocation

COORDINATOR = "samordnare@samordna.demo"  # opens, decides and dispatches
STOCKHOLM_REPORTER = "rapportor.stockholm@samordna.demo"
COUNTY = "01"
BRANCH = Branch.SOCIAL_SERVICES
JUSTIFICATION = "Äldreomsorg och hemtjänst, egen regi och privata utförare; behovet räcker till 45 dagars lager."


@dataclass(frozen=True)
class Figures:
    """One category of a report: stock on hand, use last week, expected from own orders, stated need."""

    stock: int
    consumption_7d: int
    stated_need: int
    expected_14d: int = 0


@dataclass(frozen=True)
class DemoReport:
    code: str  # kommunkod
    reporter: str  # e-mail of the reporting user
    figures: dict[str, Figures]  # by category code; a category left out: a little stock, no use, no need


@dataclass(frozen=True)
class DemoContact:
    """A municipality's demo contact who reports and receives (the demo's one user per role is Stockholm's)."""

    code: str
    email: str
    name: str


CONTACTS = (
    DemoContact("0182", "kontakt.nacka@samordna.demo", "Karin Lund"),
    DemoContact("0138", "kontakt.tyreso@samordna.demo", "Tove Ek"),
    DemoContact("0114", "kontakt.upplandsvasby@samordna.demo", "Omar Haddad"),
    DemoContact("0186", "kontakt.lidingo@samordna.demo", "Sofia Berg"),
)

# Days of supply of respirators: Tyresö 4, Stockholm 6, Upplands Väsby 7, Nacka 15, Lidingö 25.
REPORTS = (
    DemoReport("0180", STOCKHOLM_REPORTER, {
        "respirators": Figures(18_000, 21_000, 60_000),
        "surgical_masks": Figures(40_000, 35_000, 90_000, expected_14d=20_000),
        "gloves": Figures(150_000, 140_000, 300_000),
    }),
    DemoReport("0182", "kontakt.nacka@samordna.demo", {
        "respirators": Figures(9_000, 4_200, 12_000),
        "surgical_masks": Figures(12_000, 7_000, 15_000),
        "gloves": Figures(60_000, 28_000, 40_000),
    }),
    DemoReport("0138", "kontakt.tyreso@samordna.demo", {
        "respirators": Figures(1_200, 2_100, 8_000),
        "surgical_masks": Figures(3_000, 3_500, 9_000),
        "gloves": Figures(8_000, 14_000, 30_000),
    }),
    DemoReport("0114", "kontakt.upplandsvasby@samordna.demo", {
        "respirators": Figures(2_500, 2_450, 9_000),
        "surgical_masks": Figures(6_000, 4_200, 8_000),
        "gloves": Figures(20_000, 17_500, 35_000),
    }),
    DemoReport("0186", "kontakt.lidingo@samordna.demo", {
        "respirators": Figures(5_000, 1_400, 3_000),
        "surgical_masks": Figures(9_000, 2_800, 4_000),
        "gloves": Figures(30_000, 10_500, 10_000),
    }),
)
OTHER_CATEGORY = Figures(500, 0, 0)


@dataclass(frozen=True)
class DemoRound:
    title: str  # identifies the round: loading again finds it by its title
    sku: str
    quantity: int
    policy: str
    notes: str
    pack_size: int | None = None  # None: the product's carton


DECIDED = DemoRound(
    "FFP2 från nationella lagret till Stockholms läns kommuner",
    "FFP2-FOLD",
    40_000,
    AllocationPolicy.DAYS_OF_SUPPLY.value,
    "Fördelning efter lägesbilden: kommunerna med kortast tid kvar på lagret får först.",
)
DRAFT = DemoRound(
    "Munskydd typ IIR till Stockholms län",
    "IIR-LOOP",
    60_000,
    AllocationPolicy.PROPORTIONAL.value,
    "Utkast inför nästa veckas beslut; väntar på regionens lägesbild.",
)
FFP2_ALLOCATED = DECIDED.quantity  # the county needs more than this: all of it is decided and reserved

DISPATCHED_TO = "0180"  # for the demo recipient to confirm
CONFIRMED_SHORT = "0138"
CARRIER = "PostNord TPL"
MISSING_CARTONS = 1
SHORT_COMMENT = "En kartong saknades vid ankomsten; chauffören har kvitterat avvikelsen på fraktsedeln."
RECEIVED_BY = "Ahmed Karimi, förrådet Tyresö"


@dataclass
class DemoAllocation:
    """What one load created."""

    contacts: int = 0
    reports: int = 0
    rounds: int = 0
    dispatched: int = 0
    confirmed: int = 0

    def summary(self) -> str:
        return (
            f"contacts {self.contacts}, reports {self.reports}, rounds {self.rounds}, shipments dispatched "
            f"{self.dispatched}, confirmed {self.confirmed}"
        )


def load_demo_allocation(session: Session, *, today: date, tz: ZoneInfo) -> DemoAllocation:
    """Create what is missing of the demo's reports and allocation. Flushes only; returns what it created.
    ``today`` and ``tz`` are the demo loaders' common arguments: reports and decisions are made now.

    Raises LookupError when the demo users, the catalogue, an open reporting period or the national stock of
    the procurement demo are missing.
    """
    coordinator = _user(session, COORDINATOR)
    created = DemoAllocation()
    created.contacts = _contacts(session, DEMO_PASSWORD)
    created.reports = _reports(session)
    if _round(session, DECIDED.title) is None:
        decided = _open(session, coordinator, DECIDED)
        rounds.decide_round(session, coordinator, decided)
        created.rounds += 1
        created.dispatched, created.confirmed = _ship(session, coordinator, decided)
    if _round(session, DRAFT.title) is None:
        _open(session, coordinator, DRAFT)
        created.rounds += 1
    return created


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"Create the demo users first; missing: {email}")
    return user


def _organisation(session: Session, code: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.municipality_code == code))


def _contacts(session: Session, password: str) -> int:
    created = 0
    for contact in CONTACTS:
        if session.scalar(select(User.id).where(User.email == contact.email)) is not None:
            continue
        create_user(session, email=contact.email, name=contact.name, password=password,
                    organisation=_organisation(session, contact.code),
                    roles=[str(Role.REPORTER), str(Role.RECIPIENT)])
        created += 1
    return created


# --- situation reports -------------------------------------------------------------------------------------------


def _reports(session: Session) -> int:
    """Each municipality's report in the current period, unless it has one there already."""
    now = utcnow()
    period = reporting.current_period(session, now)
    if period is None:
        raise LookupError("No reporting period is open: open one first (flask demo load opens them).")
    created = 0
    for demo in REPORTS:
        organisation = _organisation(session, demo.code)
        reported = select(SituationReport.id).where(
            SituationReport.organisation_id == organisation.id, SituationReport.period_id == period.id
        )
        if session.scalar(reported) is not None:
            continue
        lines = [
            reporting.LineInput(category=category.code, justification=JUSTIFICATION,
                                **asdict(demo.figures.get(category.code, OTHER_CATEGORY)))
            for category in period.categories
        ]
        reporting.submit_report(session, organisation=organisation, period=period, branch=BRANCH.value,
                                lines=lines, channel=Channel.FORM, user=_user(session, demo.reporter),
                                confirm_spikes=True, now=now)
        created += 1
    return created


# --- rounds and shipments ------------------------------------------------------------------------------------------


def _round(session: Session, title: str) -> AllocationRound | None:
    return session.scalar(select(AllocationRound).where(AllocationRound.title == title))


def _holding(session: Session, product: Product, quantity: int) -> StockLocation:
    """The first national warehouse holding ``quantity`` of ``product`` released and unreserved."""
    for warehouse in ledger.warehouses(session):
        if rounds.available_stock(session, warehouse).get(product.id, 0) >= quantity:
            return warehouse
    raise LookupError(f"No national warehouse holds {quantity} units of {product.sku}: load the demo procurement first.")


def _open(session: Session, coordinator: User, demo: DemoRound) -> AllocationRound:
    product = session.scalar(select(Product).where(Product.sku == demo.sku))
    if product is None:
        raise LookupError(f"The catalogue has no product {demo.sku}: load it first (flask catalog load).")
    return rounds.open_round(
        session,
        coordinator,
        settings=rounds.RoundSettings(demo.title, policy=demo.policy, notes=demo.notes),
        source_location=_holding(session, product, demo.quantity),
        recipient_scope=RecipientScope.COUNTY.value,
        county_code=COUNTY,
        products=[rounds.ProductInput(product, demo.quantity, demo.pack_size)],
    )


def _shipment_to(session: Session, round_: AllocationRound, code: str) -> Shipment | None:
    organisation = _organisation(session, code)
    return session.scalar(
        select(Shipment).where(Shipment.round_id == round_.id, Shipment.recipient_id == organisation.id)
    )


def _ship(session: Session, coordinator: User, round_: AllocationRound) -> tuple[int, int]:
    """Dispatch Stockholm's and Tyresö's shipments; Tyresö's contact confirms a carton short. Returns how many
    were dispatched and confirmed (a municipality the decision gave nothing has no shipment)."""
    dispatched = confirmed = 0
    for code in (DISPATCHED_TO, CONFIRMED_SHORT):
        shipment = _shipment_to(session, round_, code)
        if shipment is None:
            continue
        shipments.dispatch(session, coordinator, shipment, carrier=CARRIER,
                           tracking_reference=f"TPL-{round_.number}-{code}")
        dispatched += 1
    short = _shipment_to(session, round_, CONFIRMED_SHORT)
    if short is not None:
        contact = next(c for c in CONTACTS if c.code == CONFIRMED_SHORT)
        shipments.confirm(session, _user(session, contact.email), short, received_by_name=RECEIVED_BY,
                          lines=_short_by_cartons(short))
        confirmed += 1
    return dispatched, confirmed


def _short_by_cartons(shipment: Shipment) -> list[shipments.LineConfirmation]:
    """Everything accepted but ``MISSING_CARTONS`` cartons missing from the largest line."""
    largest = max(shipment.lines, key=lambda line: (line.quantity, -line.id))
    confirmations = []
    for line in shipment.lines:
        missing = min(line.quantity, MISSING_CARTONS * line.product.pack_size) if line is largest else 0
        confirmations.append(shipments.LineConfirmation(
            line_id=line.id, accepted=line.quantity - missing, missing=missing,
            reason=DiscrepancyReason.SHORT.value if missing else None, comment=SHORT_COMMENT if missing else None,
        ))
    return confirmations
