"""`flask demo load` gives one user per role and periods to report into, and can run again."""
from sqlalchemy import func, select

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
    assert available == {"FFP2-FOLD": 300_000, "GLV-NIT-M": 1_200_000, "IIR-LOOP": 400_000}
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
    for sku, available in (("FFP2-FOLD", "300,000"), ("GLV-NIT-M", "1,200,000"), ("IIR-LOOP", "400,000")):
        row = html[html.index(f">{sku}<"):]
        row = row[: row.index("</tr>")]
        assert available in row, row
