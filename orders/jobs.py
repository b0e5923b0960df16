"""Scheduled procurement jobs: overdue deliveries to the responsible officer, stock nearing its expiry date to
the national coordinators.

Each notice goes out once. An overdue delivery records it in ``ScheduledDelivery.overdue_notified_at``; a
notice recorded on or before the present due date was about an earlier date (the order was amended), so the
delivery is due a notice again when the new date passes. An expiring lot has no column of its own: the
notice itself is the record. Its link ends in ``#expiring-lot-<id>``, and a coordinator who already holds a
notice with that ending is not told again (a coordinator appointed later is told of the lots still
expiring). "Today" is the date in SAMORDNA_TIMEZONE (Europe/Stockholm).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User, UserRole
from app.auth.roles import Role
from app.db import utcnow
from app.notifications.models import Notice
from app.notifications.services import in_language_of, notify, page_link
from app.scheduling.registry import register_job
from app.stock.models import LocationKind, Lot, StockBalance, StockLocation, StockState
from app.timeutil import local_date, when
from orders.models import DeliveryStatus, PurchaseOrder, PurchaseOrderLine, ScheduledDelivery
from orders.services_receiving import RECEIVABLE_ORDER_STATES

EXPIRY_HORIZON_DAYS = 90
# States of stock still to be used; rejected stock is on its way out anyway.
USABLE_STATES = (StockState.AVAILABLE, StockState.QUARANTINE, StockState.RESERVED)
# Office hours, local time, as the supplier jobs: the first run of the day sends, later runs catch up.
OFFICE_HOURS = "7-17"


def _moment(now: datetime | None, today: date | None) -> tuple[datetime, date]:
    now = now or utcnow()
    return now, today or local_date(now)


# --- overdue deliveries -------------------------------------------------------------------------------------


def overdue_notice_due(delivery: ScheduledDelivery, today: date) -> bool:
    """Whether the responsible officer is still to be told that nothing of the delivery has arrived."""
    if delivery.status != DeliveryStatus.OPEN or delivery.due_on >= today:
        return False
    notified = delivery.overdue_notified_at
    return notified is None or local_date(notified) <= delivery.due_on


def notify_overdue_deliveries(session: Session, now: datetime | None = None, today: date | None = None) -> str:
    """Tell each order's responsible officer of its scheduled deliveries past their due date with nothing
    received, once per delivery; only sent and confirmed orders' deliveries are expected. An inactive officer
    is skipped (and told nothing) until the order is given to someone else. Flushes only."""
    now, today = _moment(now, today)
    deliveries = session.scalars(
        select(ScheduledDelivery)
        .join(ScheduledDelivery.order)
        .where(
            ScheduledDelivery.status == DeliveryStatus.OPEN.value,
            ScheduledDelivery.due_on < today,
            PurchaseOrder.status.in_([s.value for s in RECEIVABLE_ORDER_STATES]),
        )
        .options(
            selectinload(ScheduledDelivery.order).selectinload(PurchaseOrder.supplier),
            selectinload(ScheduledDelivery.order).selectinload(PurchaseOrder.responsible),
            selectinload(ScheduledDelivery.line).selectinload(PurchaseOrderLine.product),
            selectinload(ScheduledDelivery.destination),
        )
        .order_by(ScheduledDelivery.due_on, ScheduledDelivery.id)
    ).all()
    told = skipped = 0
    for delivery in deliveries:
        if not overdue_notice_due(delivery, today):
            continue
        order = delivery.order
        officer = order.responsible
        if not officer.active:
            skipped += 1
            continue
        with in_language_of(officer):
            names = {
                "number": order.number,
                "supplier": order.supplier.legal_name,
                "product": delivery.line.product.name_in(str(get_locale())),
                "quantity": delivery.quantity,
                "due": when(delivery.due_on),
                "destination": delivery.destination.name,
            }
            subject = _("Delivery overdue: %(number)s from %(supplier)s, due %(due)s", **names)
            body = _(
                "Nothing has been received of the delivery of %(quantity)s units of %(product)s on order "
                "%(number)s from %(supplier)s, due %(due)s at %(destination)s. Ask the supplier when it comes, "
                "and amend the order if the date has moved.",
                **names,
            )
        notify(session, officer, subject, body, link=page_link("orders.receive", delivery_id=delivery.id))
        delivery.overdue_notified_at = now
        told += 1
    session.flush()
    summary = _("Told responsible officers of %(num)s overdue deliveries.", num=told)
    if skipped:
        summary += " " + _(
            "%(num)s with an inactive responsible officer were skipped; give the orders to someone else.",
            num=skipped,
        )
    return summary


# --- expiring stock -----------------------------------------------------------------------------------------

LOT_ANCHOR = "expiring-lot-{id}"


def _active_coordinators(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.NATIONAL_COORDINATOR.value, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _already_told(session: Session, user: User, lot: Lot) -> bool:
    marker = "#" + LOT_ANCHOR.format(id=lot.id)
    return session.scalar(
        select(Notice.id).where(Notice.user_id == user.id, Notice.link.endswith(marker, autoescape=True)).limit(1)
    ) is not None


def expiring_national_stock(session: Session, today: date) -> dict[Lot, dict[StockLocation, int]]:
    """Units of usable stock in the national warehouses per lot expiring from today to 90 days ahead, by
    warehouse."""
    rows = session.execute(
        select(Lot, StockLocation, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .join(StockLocation, StockLocation.id == StockBalance.location_id)
        .where(
            Lot.expiry_on.between(today, today + timedelta(days=EXPIRY_HORIZON_DAYS)),
            StockLocation.kind == LocationKind.WAREHOUSE.value,
            StockBalance.state.in_([s.value for s in USABLE_STATES]),
            StockBalance.quantity > 0,
        )
        .options(selectinload(Lot.product))
        .order_by(Lot.expiry_on, Lot.id, StockLocation.code)
    ).all()
    found: dict[Lot, dict[StockLocation, int]] = defaultdict(lambda: defaultdict(int))
    for lot, location, quantity in rows:
        found[lot][location] += quantity
    return found


def warn_expiring_stock(session: Session, now: datetime | None = None, today: date | None = None) -> str:
    """Tell every active national coordinator of each lot in national stock that expires within 90 days, once
    per lot and coordinator. Flushes only."""
    now, today = _moment(now, today)
    expiring = expiring_national_stock(session, today)
    coordinators = _active_coordinators(session) if expiring else []
    notices = lots = 0
    for lot, by_location in expiring.items():
        recipients = [user for user in coordinators if not _already_told(session, user, lot)]
        if not recipients:
            continue
        total = sum(by_location.values())
        days = (lot.expiry_on - today).days
        link = page_link("stock.product", product_id=lot.product_id, _anchor=LOT_ANCHOR.format(id=lot.id))
        for user in recipients:
            with in_language_of(user):
                names = {
                    "lot": lot.lot_number,
                    "product": lot.product.name_in(str(get_locale())),
                    "sku": lot.product.sku,
                    "expiry": when(lot.expiry_on),
                    "total": total,
                    "where": ", ".join(f"{location.name} {quantity}" for location, quantity in by_location.items()),
                }
                if days == 0:
                    subject = _("Stock expires today: %(sku)s lot %(lot)s", **names)
                else:
                    subject = ngettext(
                        "Stock expires in %(num)d day: %(sku)s lot %(lot)s",
                        "Stock expires in %(num)d days: %(sku)s lot %(lot)s",
                        days,
                        **names,
                    )
                body = _(
                    "%(total)s units of %(product)s, lot %(lot)s, in national stock expire on %(expiry)s "
                    "(%(where)s). Allocate them first, or plan their use before they expire.",
                    **names,
                )
            notify(session, user, subject, body, link=link)
            notices += 1
        lots += 1
    session.flush()
    return _("%(notices)s notices about %(lots)s lots expiring within 90 days.", notices=notices, lots=lots)


def register() -> None:
    """Register the procurement jobs; called from orders.init_app."""
    register_job(
        "orders.notify_overdue_deliveries",
        notify_overdue_deliveries,
        trigger="cron",
        hour=OFFICE_HOURS,
        minute=15,
        description=_l("Tell responsible officers of deliveries past their due date with nothing received"),
    )
    register_job(
        "orders.warn_expiring_stock",
        warn_expiring_stock,
        trigger="cron",
        hour=OFFICE_HOURS,
        minute=20,
        description=_l("Warn national coordinators of national stock expiring within 90 days"),
    )
