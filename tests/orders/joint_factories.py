"""Helpers for the joint purchase tests: registered need through real situation reports, and joint purchases
started through the service. All flush, never commit."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from allocation import reporting
from allocation.models import Channel, CurrentNeed
from allocation.reporting import LineInput
from app.catalog.models import ProductCategory
from app.db import utcnow
from orders import services_joint as services
from tests.conftest import organisation
from tests.orders.factories import make_user

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def open_period(session):
    """The period reports submitted now are on time for."""
    reporting.open_periods(session, now=utcnow(), tz=STOCKHOLM)
    session.flush()
    return reporting.current_period(session, utcnow())


def category(session, code: str = "respirators") -> ProductCategory:
    return session.scalar(select(ProductCategory).where(ProductCategory.code == code))


def report_need(session, period, code: str, need: int, *, category_code: str = "respirators",
                branch: str = "healthcare", age_days: int | None = None):
    """A situation report by ``code``'s reporter stating ``need`` of the category (and 0 of the others).

    ``age_days`` backdates the register's figures, as if reported that many days ago.
    """
    reporter = make_user(session, "reporter", code)
    lines = [
        LineInput(category=c.code, stock=1000, consumption_7d=700, expected_14d=300,
                  stated_need=need if c.code == category_code else 800, justification="Joint purchase test")
        for c in period.categories
    ]
    result = reporting.submit_report(session, organisation=organisation(code), period=period, branch=branch,
                                     lines=lines, channel=Channel.FORM, user=reporter)
    if age_days is not None:
        session.execute(
            update(CurrentNeed)
            .where(CurrentNeed.organisation_id == organisation(code).id, CurrentNeed.branch == branch)
            .values(reported_at=utcnow() - timedelta(days=age_days))
            .execution_options(synchronize_session=False)
        )
        session.expire_all()
    return result


def start(session, officer, *, recipients: str = "county", county_code: str | None = "03", title: str = "FFP2 för länet",
          category_code: str = "respirators", product=None, cost_split: str = "by_quantity", from_register: bool = True,
          organisation_ids=(), notes=None):
    """A draft joint purchase started by ``officer`` through the service."""
    return services.start_joint_purchase(
        session,
        officer,
        services.JointPurchaseInput(
            title=title,
            category=category(session, category_code),
            recipients=recipients,
            product=product,
            county_code=county_code,
            organisation_ids=organisation_ids,
            cost_split=cost_split,
            from_register=from_register,
            notes=notes,
        ),
    )


def participant(purchase, code: str):
    """The purchase's participant for an organisation code or kommunkod."""
    org = organisation(code)
    return next(p for p in purchase.participants if p.organisation_id == org.id)
