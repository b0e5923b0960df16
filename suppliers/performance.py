"""Supplier performance on the overview page: on-time delivery, quantity accuracy and rejection rate.

The measures come from goods receipts (orders/services_receiving.py), one :class:`DeliveryOutcome` per
scheduled delivery of the supplier's orders that has received goods and is either received in full or past
its due date (a delivery still arriving within its time is not judged yet). A delivery is on time when all
of it arrived by the due date; its quantity is accurate when exactly the scheduled quantity arrived; the
rejection rate is the share of received units whose receipt was rejected at inspection. A delivery past its
due date with nothing received counts nowhere here: the overdue-delivery job tells the responsible officer.

:func:`performance_from` and :func:`outcome_of` are pure; :func:`supplier_performance` reads the database.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from app.timeutil import local_today
from orders.models import (
    DeliveryStatus,
    GoodsReceipt,
    InspectionOutcome,
    OrderStatus,
    PurchaseOrder,
    ScheduledDelivery,
)


@dataclass(frozen=True)
class DeliveryOutcome:
    """One received delivery: when it was promised and came, how much was ordered, received and rejected."""

    promised_on: date
    received_on: date
    ordered_quantity: int
    received_quantity: int
    rejected_quantity: int = 0


@dataclass(frozen=True)
class SupplierPerformance:
    """Shares as Decimal fractions (0–1); all None while no delivery has been received."""

    deliveries: int = 0
    on_time_rate: Decimal | None = None  # deliveries on or before the promised day
    quantity_accuracy: Decimal | None = None  # deliveries with exactly the ordered quantity
    rejection_rate: Decimal | None = None  # rejected units of all received units
    recent_rejections: tuple = ()  # the latest rejected goods receipts, newest first, with their reasons

    @property
    def has_deliveries(self) -> bool:
        return self.deliveries > 0


def performance_from(outcomes: Iterable[DeliveryOutcome]) -> SupplierPerformance:
    """The measures over the given deliveries (pure; no database)."""
    outcomes = list(outcomes)
    if not outcomes:
        return SupplierPerformance()
    count = len(outcomes)
    on_time = sum(1 for o in outcomes if o.received_on <= o.promised_on)
    exact = sum(1 for o in outcomes if o.received_quantity == o.ordered_quantity)
    received = sum(o.received_quantity for o in outcomes)
    rejected = sum(o.rejected_quantity for o in outcomes)
    return SupplierPerformance(
        deliveries=count,
        on_time_rate=Decimal(on_time) / count,
        quantity_accuracy=Decimal(exact) / count,
        rejection_rate=(Decimal(rejected) / received) if received else None,
    )


def outcome_of(*, due_on: date, scheduled: int, received: int, rejected: int, last_received_on: date,
               today: date) -> DeliveryOutcome | None:
    """The outcome of one scheduled delivery with receipts, or None while it is incomplete and not yet due.

    An incomplete delivery past its due date counts as received today: late, and short of the schedule.
    """
    if received >= scheduled:
        return DeliveryOutcome(due_on, last_received_on, scheduled, received, rejected)
    if due_on < today:
        return DeliveryOutcome(due_on, max(today, last_received_on), scheduled, received, rejected)
    return None


RECENT_REJECTIONS = 10


def supplier_performance(session, supplier, today: date | None = None) -> SupplierPerformance:
    """The supplier's performance from the goods receipts of its orders, and its latest rejections."""
    today = today or local_today()
    rejected = case((GoodsReceipt.outcome == InspectionOutcome.REJECTED.value, GoodsReceipt.quantity), else_=0)
    rows = session.execute(
        select(
            ScheduledDelivery.due_on,
            ScheduledDelivery.quantity,
            func.sum(GoodsReceipt.quantity),
            func.sum(rejected),
            func.max(GoodsReceipt.received_on),
        )
        .join(GoodsReceipt, GoodsReceipt.scheduled_delivery_id == ScheduledDelivery.id)
        .join(PurchaseOrder, PurchaseOrder.id == ScheduledDelivery.order_id)
        .where(
            PurchaseOrder.supplier_id == supplier.id,
            PurchaseOrder.status != OrderStatus.CANCELLED.value,
            ScheduledDelivery.status != DeliveryStatus.CANCELLED.value,
        )
        .group_by(ScheduledDelivery.id, ScheduledDelivery.due_on, ScheduledDelivery.quantity)
    ).all()
    outcomes = [
        outcome_of(due_on=due_on, scheduled=scheduled, received=int(received), rejected=int(rejected_units),
                   last_received_on=last, today=today)
        for due_on, scheduled, received, rejected_units, last in rows
    ]
    rejections = session.scalars(
        select(GoodsReceipt)
        .join(ScheduledDelivery, ScheduledDelivery.id == GoodsReceipt.scheduled_delivery_id)
        .join(PurchaseOrder, PurchaseOrder.id == ScheduledDelivery.order_id)
        .where(PurchaseOrder.supplier_id == supplier.id, GoodsReceipt.outcome == InspectionOutcome.REJECTED.value)
        .options(selectinload(GoodsReceipt.product), selectinload(GoodsReceipt.lot))
        .order_by(GoodsReceipt.inspected_at.desc(), GoodsReceipt.id.desc())
        .limit(RECENT_REJECTIONS)
    ).all()
    performance = performance_from(outcome for outcome in outcomes if outcome is not None)
    return replace(performance, recent_rejections=tuple(rejections))
