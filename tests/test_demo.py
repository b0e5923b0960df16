"""`flask demo load` gives one user per role and periods to report into, and can run again."""
from sqlalchemy import func, select

from allocation.demo import FFP2_ALLOCATED
from allocation.models import ReportingPeriod
from app.auth.models import User
from app.demo import DEMO_USERS


def test_demo_load_creates_every_demo_user_and_opens_reporting_periods(runner, session):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    emails = {d.email for d in DEMO_USERS}
    assert session.scalar(select(func.count()).select_from(User).where(User.email.in_(emails))) == len(emails)
    assert session.scalar(select(func.count()).select_from(ReportingPeriod)) >= 2
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "0 created" in again.output and "opened: 0" in again.output


def test_demo_load_creates_the_demo_suppliers_once_with_what_the_registry_and_production_pages_show(
    runner, session, app
):
    from datetime import timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from app.db import utcnow
    from suppliers import capacity, services_production
    from suppliers.demo import PROJECTS, SUPPLIERS
    from suppliers.identifiers import is_valid_organisation_number
    from suppliers.models import Certificate, FollowUpAction, Offer, ProductionProject, Supplier

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "Demo suppliers created: 0" in again.output, again.output

    suppliers = session.scalars(select(Supplier)).all()
    assert len(suppliers) == len(SUPPLIERS) == 8
    assert {s.vetting_status for s in suppliers} >= {"approved", "under_review", "rejected"}
    assert all(is_valid_organisation_number(s.organisation_number) for s in suppliers if s.country == "SE")
    assert {s.country for s in suppliers} >= {"SE", "CN", "DE"}
    assert {s.kind for s in suppliers} == {"manufacturer", "distributor", "broker", "other_holder"}
    assert all(not check.done or check.note for s in suppliers for check in s.vetting_checks)
    assert all(len([c for c in s.vetting_checks if c.done]) == 5 for s in suppliers if s.is_approved)

    tz = ZoneInfo(app.config["SAMORDNA_TIMEZONE"])
    today = utcnow().astimezone(tz).date()
    certificates = session.scalars(select(Certificate)).all()
    assert {c.verification_status for c in certificates} == {"verified", "unverified", "rejected"}
    assert all(c.documents for c in certificates if c.verification_status == "verified")
    expiring = [c.valid_until - today for c in certificates if c.valid_until and c.valid_until < today + timedelta(60)]
    assert expiring == [timedelta(days=30)]

    current = [o for o in session.scalars(select(Offer)).all() if o.is_current_on(today)]
    assert {o.currency for o in current} >= {"SEK", "EUR", "USD", "CNY"}
    masks = {"respirators", "surgical_masks"}
    sek_masks = [o.unit_price for o in current if o.currency == "SEK" and o.product.category.code in masks]
    assert sek_masks and all(Decimal("0.28") <= price <= 15 for price in sek_masks)
    open_actions = select(func.count()).select_from(FollowUpAction).where(FollowUpAction.done_at.is_(None))
    assert session.scalar(open_actions) == 1

    projects = {p.name: p for p in session.scalars(select(ProductionProject)).all()}
    assert len(projects) == len(PROJECTS) == 3
    reasons = {
        name: {r.kind for r in capacity.risk_reasons(services_production.project_facts(p, tz), today)}
        for name, p in projects.items()
    }
    assert reasons == {
        "Vikbara FFP2 från Skövde": {"capacity_shortfall", "high_risk_dependency"},
        "Munskydd typ IIR från Sundsvall": {"milestone_overdue"},
        "Handsprit från Örebro": set(),
    }
    ramp_up = projects["Vikbara FFP2 från Skövde"]
    assert ramp_up.stage == "ramp_up" and len([w for w in ramp_up.capacity_weeks if w.actual_units]) == 8
    assert projects["Munskydd typ IIR från Sundsvall"].stage == "certification_testing"
    assert projects["Handsprit från Örebro"].stage == "full_production"


def test_demo_load_creates_procurement_and_national_stock_once_with_orders_in_every_stage(runner, session, app):
    from zoneinfo import ZoneInfo

    from app.db import utcnow
    from app.stock import ledger
    from app.stock.models import StockState
    from orders.demo import ORDERS
    from orders.models import (
        ExchangeRate,
        GoodsReceipt,
        IncomingSupply,
        InspectionOutcome,
        JointPurchase,
        PurchaseOrder,
    )
    from tests.orders.factories import product

    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert f"Demo procurement created: orders {len(ORDERS)}, joint purchases 1, incoming supplies 1, exchange rates 3" in first.output
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Demo procurement created: orders 0, joint purchases 0, incoming supplies 0, exchange rates 0" in again.output

    assert {r.currency: str(r.sek_per_unit.normalize()) for r in session.scalars(select(ExchangeRate))} == {
        "EUR": "11.45", "USD": "10.52", "CNY": "1.46"
    }
    orders = session.scalars(select(PurchaseOrder)).all()
    assert len(orders) == len(ORDERS)
    assert sorted(o.status for o in orders) == sorted(
        ["draft", "submitted", "sent", "partially_received", "received", "closed"]
    )
    today = utcnow().astimezone(ZoneInfo(app.config["SAMORDNA_TIMEZONE"])).date()
    sent = next(o for o in orders if o.status == "sent")
    assert any(d.due_on < today and d.status == "open" for d in sent.deliveries)  # overdue, nothing received
    submitted = next(o for o in orders if o.status == "submitted")
    assert submitted.submitted_by_id and submitted.approved_by_id is None
    for order in orders:
        if order.approved_by_id:
            assert order.approved_by_id != order.submitted_by_id  # four eyes
    receipts = session.scalars(select(GoodsReceipt)).all()
    assert [r.outcome for r in receipts].count(InspectionOutcome.PENDING) == 1
    assert all(r.inspected_by_id != r.received_by_id for r in receipts if r.outcome == InspectionOutcome.RELEASED)
    assert all(r.lot.expiry_on and r.lot.expiry_on > today for r in receipts)

    national = [w.id for w in ledger.warehouses(session)]
    assert {w.code for w in ledger.warehouses(session)} == {"NL-MITT", "NL-SYD"}
    available = {
        sku: ledger.total(session, product=product(session, sku), state=StockState.AVAILABLE, location_ids=national)
        for sku in ("FFP2-FOLD", "GLV-NIT-M", "IIR-LOOP")
    }
    # The allocation demo (allocation/demo.py) decided part of the respirators: reserved or shipped.
    assert available == {"FFP2-FOLD": 300_000 - FFP2_ALLOCATED, "GLV-NIT-M": 1_200_000, "IIR-LOOP": 400_000}
    assert ledger.total(session, product=product(session, "GLV-NIT-M"), state=StockState.QUARANTINE) == 500_000
    assert ledger.verify(session) == []

    purchase = session.scalar(select(JointPurchase))
    assert purchase.lead_buyer.code == "SOS" and purchase.status == "draft"
    assert {p.organisation.county_code for p in purchase.participants} == {"01"}
    assert len(purchase.participants) == 26 and all(p.quantity > 0 for p in purchase.participants)
    supply = session.scalar(select(IncomingSupply))
    assert supply.kind == "resceu" and supply.status == "open" and supply.expected_on > today


def test_after_demo_load_the_national_stock_page_shows_available_respirators_gloves_and_masks(
    runner, client, auth
):
    from app.demo import DEMO_PASSWORD

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    auth.login("samordnare@samordna.demo", DEMO_PASSWORD)
    page = client.get("/stock/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    ffp2 = f"{300_000 - FFP2_ALLOCATED:,}"
    for sku, available in (("FFP2-FOLD", ffp2), ("GLV-NIT-M", "1,200,000"), ("IIR-LOOP", "400,000")):
        row = html[html.index(f">{sku}<"):]
        row = row[: row.index("</tr>")]
        assert available in row, row


def test_demo_load_creates_reports_a_decided_allocation_with_shipments_and_a_draft_round_once(
    runner, session, client, auth
):
    from allocation import demo, demo_redistribution
    from allocation.models import CurrentNeed
    from allocation.models_distribution import AllocationRound, DeliveryFollowUp, Shipment
    from app.demo import DEMO_PASSWORD
    from app.organisations.models import Organisation
    from app.stock import ledger

    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Demo allocation created: contacts 4, reports 5, rounds 2, shipments dispatched 2, confirmed 1" in first.output
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Demo allocation created: contacts 0, reports 0, rounds 0, shipments dispatched 0, confirmed 0" in again.output

    reported = session.scalars(select(Organisation.municipality_code).join(CurrentNeed.organisation).distinct())
    givers = {giver.code for giver in demo_redistribution.GIVERS}  # allocation/demo_redistribution.py reports too
    assert set(reported) == {report.code for report in demo.REPORTS} | givers
    rounds = {r.title: r for r in session.scalars(select(AllocationRound))}
    assert len(rounds) == 2 and rounds[demo.DRAFT.title].status == "draft" and rounds[demo.DRAFT.title].lines
    decided = rounds[demo.DECIDED.title]
    assert decided.status == "decided" and decided.number and decided.county_code == "01"
    assert sum(line.quantity for line in decided.lines) == demo.FFP2_ALLOCATED
    assert {line.recipient.county_code for line in decided.lines} == {"01"}
    round_shipments = select(Shipment).where(Shipment.round_id == decided.id)  # not the demo's transfers
    by_code = {s.recipient.municipality_code: s for s in session.scalars(round_shipments)}
    assert by_code[demo.DISPATCHED_TO].status == "dispatched"
    short = by_code[demo.CONFIRMED_SHORT]
    assert short.status == "confirmed" and sum(line.missing for line in short.lines) == 400
    assert session.scalar(select(DeliveryFollowUp.status).where(DeliveryFollowUp.shipment_id == short.id)) == "open"
    assert {s.status for code, s in by_code.items() if code not in (demo.DISPATCHED_TO, demo.CONFIRMED_SHORT)} == {
        "planned"
    }
    assert ledger.verify(session) == []

    # The demo recipient in Stockholm has the dispatched shipment to confirm.
    auth.login("mottagare.stockholm@samordna.demo", DEMO_PASSWORD)
    page = client.get("/need/deliveries/")
    assert page.status_code == 200
    assert f"Confirm {by_code[demo.DISPATCHED_TO].number}" in page.get_data(as_text=True)


def test_demo_load_creates_an_agreed_redistribution_with_a_booked_transfer_and_a_national_request_once(
    runner, session, client, auth
):
    from allocation import demo_redistribution as demo
    from allocation.models_distribution import CompensationEntry, NationalRequest, RedistributionProposal
    from allocation.services_redistribution import shipment_of
    from app.demo import DEMO_PASSWORD
    from app.stock import ledger

    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert ("Demo redistribution created: prices 5, contacts 2, reports 2, proposals 1, transfers confirmed 1, "
            "waiting for dispatch 1, requests 1") in first.output
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert ("Demo redistribution created: prices 0, contacts 0, reports 0, proposals 0, transfers confirmed 0, "
            "waiting for dispatch 0, requests 0") in again.output

    proposal = session.scalar(select(RedistributionProposal).where(RedistributionProposal.title == demo.TITLE))
    assert proposal.status == "agreed" and proposal.county_code == "01" and len(proposal.meetings) == 1
    assert {line.source.municipality_code for line in proposal.lines} == {giver.code for giver in demo.GIVERS}
    shipped = {line: shipment_of(session, line) for line in proposal.lines}
    assert sorted(s.status for s in shipped.values() if s is not None) == ["confirmed", "planned"]
    executed = next(line for line, s in shipped.items() if s is not None and s.status == "confirmed")
    entry = session.scalar(select(CompensationEntry))
    assert (entry.transfer_id, entry.debtor_id, entry.creditor_id) == (executed.id, executed.target_id,
                                                                      executed.source_id)
    assert entry.amount_ore == executed.quantity * demo.PRICES[demo.SKU] and entry.settlement_id is None
    request = session.scalar(select(NationalRequest).where(NationalRequest.proposal_id == proposal.id))
    assert request.status == "submitted" and request.county_code == "01" and request.lines
    assert all(line.quantity > 0 and line.organisation.county_code == "01" for line in request.lines)
    assert ledger.verify(session) == []

    # The giver's demo contact sees what the receiver owes it on its statement.
    giver = next(g for g in demo.GIVERS if g.code == executed.source.municipality_code)
    auth.login(giver.email, DEMO_PASSWORD)
    page = client.get("/need/compensation/").get_data(as_text=True)
    kronor, ore = divmod(entry.amount_ore, 100)
    assert proposal.reference in page and executed.target.name in page and f"{kronor:,}.{ore:02d} kr" in page
