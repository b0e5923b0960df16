"""Demo redistribution for `flask demo load`: a reference price list, an agreed county proposal of FFP2 respirators
in Stockholm county with its logistics meeting, one transfer executed and booked for compensation, one waiting for
dispatch, and the county's request for national allocation of the need that remains.

Solna and Sundbyberg report respirators well above 21 days of supply (each gets a demo contact who reports,
dispatches and receives); the allocation demo's municipalities (allocation/demo.py) are short of them. The demo
county coordinator generates the proposal from those reports (the planner decides who gives whom), records the
meeting and agrees it. The givers of the two largest transfers register their stock on hand as an opening
balance, which reserves each transfer and plans its shipment; the largest is dispatched and its receiver confirms
it in full, which books the compensation at the price list's price (unsettled); the other waits to be dispatched.
Any further transfer waits for its giver's stock. Last, the coordinator requests national allocation of the county's
remaining need of respirators, following the proposal.

Everything goes through the services. Loading twice creates nothing new: a price is set only for a product
without one, a report only where the municipality has none in the current period, the proposal only when none has
its title, the request only when none follows the proposal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import compensation, reporting
from allocation import services_redistribution as redistribution
from allocation import services_requests as requests
from allocation import services_shipments as shipments
from allocation.models import Branch, Channel, SituationReport
from allocation.models_distribution import NationalRequest, RedistributionProposal, ReferencePrice, Transfer
from app.auth.models import User, UserRole
from app.auth.roles import Role
from app.auth.services import create_user
from app.catalog.models import Product
from app.db import utcnow
from app.demo import DEMO_PASSWORD
from app.organisations.models import Organisation

NATIONAL_COORDINATOR = "samordnare@samordna.demo"  # keeps the price list
COUNTY_COORDINATOR = "lan.stockholm@samordna.demo"  # proposes, meets, agrees and requests
COUNTY = "01"
SKU = "FFP2-FOLD"
CATEGORY = "respirators"
TARGET_DAYS = 21
TITLE = "FFP2 från Solna och Sundbyberg till kommuner med underskott"
# Reference prices in öre a unit, within what the agency paid in 2020 (0.28–15 kr a mask, 0.23–2 kr a glove).
PRICES = {"FFP2-FOLD": 6_85, "FFP2-CUP": 8_37, "FFP3-FOLD": 12_90, "IIR-LOOP": 95, "GLV-NIT-M": 48}


@dataclass(frozen=True)
class Giver:
    """A municipality with respirators well above the target: its demo contact and its report's figures."""

    code: str  # kommunkod
    email: str
    name: str
    stock: int
    consumption_7d: int


# Solna keeps 8,400 of 24,000 (21 days at 400 a day), Sundbyberg 4,200 of 10,000: 15,600 and 5,800 to give.
GIVERS = (
    Giver("0184", "kontakt.solna@samordna.demo", "Elin Sandberg", 24_000, 2_800),
    Giver("0183", "kontakt.sundbyberg@samordna.demo", "Jonas Wik", 10_000, 1_400),
)
OTHER_CATEGORY = {"stock": 500, "consumption_7d": 0, "expected_14d": 0, "stated_need": 0}
JUSTIFICATION = "Lager inköpt före krisen för äldreomsorgen; förbrukningen är låg."
MEETING = {
    "participants": "Länsstyrelsen i Stockholms län; Solna, Sundbyberg, Stockholm, Nacka, Tyresö, Upplands Väsby, "
                    "Lidingö",
    "decisions": "Förslaget godkänns utan ändringar. Givarna registrerar sitt lager och skickar inom två dagar.",
    "minutes": "Solna och Sundbyberg har andningsskydd för mer än 21 dagar. Resten av länets behov begärs nationellt.",
}
CARRIER = "PostNord TPL"
RECEIVED_BY = "Förrådet, mottagningen"
REQUEST_JUSTIFICATION = (
    "Omfördelningen inom länet (logistikberedningen i dag) täcker bara en del av behovet av andningsskydd: "
    "Solna och Sundbyberg har gett det de har över 21 dagars lager. Resten begärs nationellt."
)


@dataclass
class DemoRedistribution:
    """What one load created."""

    prices: int = 0
    contacts: int = 0
    reports: int = 0
    proposals: int = 0
    confirmed: int = 0
    planned: int = 0
    requests: int = 0

    def summary(self) -> str:
        return (
            f"prices {self.prices}, contacts {self.contacts}, reports {self.reports}, proposals {self.proposals}, "
            f"transfers confirmed {self.confirmed}, waiting for dispatch {self.planned}, requests {self.requests}"
        )


def load_demo_redistribution(session: Session, *, today: date, tz: ZoneInfo) -> DemoRedistribution:
    """Create what is missing of the demo's redistribution. Flushes only; returns what it created. ``today`` and
    ``tz`` are the demo loaders' common arguments (``tz`` is unused: the services date things themselves).

    Raises LookupError when the demo users, the catalogue or an open reporting period are missing, and when the
    planner finds fewer than two transfers (the allocation demo's reports are the deficits).
    """
    created = DemoRedistribution()
    created.prices = _prices(session, _user(session, NATIONAL_COORDINATOR), today)
    created.contacts = _contacts(session)
    created.reports = _reports(session)
    coordinator = _user(session, COUNTY_COORDINATOR)
    proposal = session.scalar(select(RedistributionProposal).where(RedistributionProposal.title == TITLE))
    if proposal is None:
        proposal = _agreed_proposal(session, coordinator, today)
        created.proposals = 1
        created.confirmed, created.planned = _execute(session, proposal)
    if session.scalar(select(NationalRequest.id).where(NationalRequest.proposal_id == proposal.id)) is None:
        created.requests = _request(session, coordinator, proposal)
    return created


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"Create the demo users first; missing: {email}")
    return user


def _product(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise LookupError(f"The catalogue has no product {sku}: load it first (flask catalog load).")
    return product


def _prices(session: Session, keeper: User, today: date) -> int:
    """The price list from the first of the month, for the products that have no price yet."""
    created = 0
    for sku, price_ore in PRICES.items():
        product = _product(session, sku)
        if session.scalar(select(ReferencePrice.id).where(ReferencePrice.product_id == product.id).limit(1)):
            continue
        compensation.set_price(session, keeper, product=product, valid_from=today.replace(day=1), price_ore=price_ore)
        created += 1
    return created


def _organisation(session: Session, code: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.municipality_code == code))


def _contacts(session: Session) -> int:
    created = 0
    for giver in GIVERS:
        if session.scalar(select(User.id).where(User.email == giver.email)) is None:
            create_user(session, email=giver.email, name=giver.name, password=DEMO_PASSWORD,
                        organisation=_organisation(session, giver.code),
                        roles=[str(Role.REPORTER), str(Role.RECIPIENT)])
            created += 1
    return created


def _reports(session: Session) -> int:
    """Each giver's report in the current period (respirators above the target, a little of the rest), unless
    it has one there already."""
    now = utcnow()
    period = reporting.current_period(session, now)
    if period is None:
        raise LookupError("No reporting period is open: open one first (flask demo load opens them).")
    created = 0
    for giver in GIVERS:
        organisation = _organisation(session, giver.code)
        if session.scalar(select(SituationReport.id).where(SituationReport.organisation_id == organisation.id,
                                                           SituationReport.period_id == period.id)) is not None:
            continue
        respirators = {"stock": giver.stock, "consumption_7d": giver.consumption_7d, "expected_14d": 0,
                       "stated_need": 0}
        lines = [
            reporting.LineInput(category=category.code, justification=JUSTIFICATION,
                                **(respirators if category.code == CATEGORY else OTHER_CATEGORY))
            for category in period.categories
        ]
        reporting.submit_report(session, organisation=organisation, period=period, branch=Branch.SOCIAL_SERVICES.value,
                                lines=lines, channel=Channel.FORM, user=_user(session, giver.email),
                                confirm_spikes=True, now=now)
        created += 1
    return created


def _agreed_proposal(session: Session, coordinator: User, today: date) -> RedistributionProposal:
    settings = redistribution.ProposalSettings(TITLE, [_product(session, SKU)], TARGET_DAYS)
    proposal = redistribution.open_proposal(session, coordinator, settings)
    if len([line for line in proposal.lines if line.quantity > 0]) < 2:
        raise LookupError("The planner found fewer than two transfers: load the allocation demo's reports first.")
    redistribution.record_meeting(session, coordinator, proposal, held_on=today, **MEETING)
    redistribution.agree(session, coordinator, proposal)
    return proposal


def _staff(session: Session, organisation: Organisation, role: Role) -> User:
    """The organisation's first active user with ``role`` (its demo contact or demo recipient)."""
    user = session.scalar(
        select(User).where(User.organisation_id == organisation.id, User.active.is_(True),
                           User.role_rows.any(UserRole.role == str(role))).order_by(User.id)
    )
    if user is None:
        raise LookupError(f"{organisation.name} has no demo user with the role {role}.")
    return user


def _execute(session: Session, proposal: RedistributionProposal) -> tuple[int, int]:
    """The two largest transfers' givers register their stock on hand, which plans the shipments; the largest is
    dispatched and confirmed in full by its receiver. Returns (confirmed, waiting for dispatch)."""
    first, second = sorted(
        (line for line in proposal.lines if line.quantity > 0),
        key=lambda line: (-line.quantity, line.source.name, line.target.name),
    )[:2]
    for transfer in (first, second):
        _provide(session, transfer)
    shipment = redistribution.shipment_of(session, first)
    shipments.dispatch(session, _staff(session, first.source, Role.RECIPIENT), shipment, carrier=CARRIER,
                       tracking_reference=f"TPL-{proposal.reference}")
    shipments.confirm(
        session, _staff(session, first.target, Role.RECIPIENT), shipment, received_by_name=RECEIVED_BY,
        lines=[shipments.LineConfirmation(line_id=line.id, accepted=line.quantity) for line in shipment.lines],
    )
    return 1, 1


def _provide(session: Session, transfer: Transfer) -> None:
    """The giver's contact registers what the ledger lacks for the transfer as its opening balance."""
    lacking = max(0, transfer.quantity - redistribution.available_to_give(session, transfer))
    redistribution.provide_stock(session, _staff(session, transfer.source, Role.RECIPIENT), transfer,
                                 opening_balance=lacking)


def _request(session: Session, coordinator: User, proposal: RedistributionProposal) -> int:
    """The county's request for national allocation of its remaining need of respirators; 0 when none remains."""
    category_id = _product(session, SKU).category_id
    lines = [
        requests.LineInput(row.organisation.id, row.category.id, row.figures.remaining)
        for row in requests.remaining_need_rows(session, COUNTY, [category_id])
        if row.figures.remaining > 0
    ]
    if not lines:
        return 0
    requests.create_request(session, coordinator, lines=lines, justification=REQUEST_JUSTIFICATION, proposal=proposal)
    return 1
