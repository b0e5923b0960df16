"""Need arithmetic for situation reports (lägesbild): pure functions, no Flask, no database.

Quantities are whole units of the category's unit of issue. Daily use is the last seven days' consumption
divided by seven; days of supply is stock divided by daily use (infinite when nothing is used).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

CONSUMPTION_DAYS = 7
DEFAULT_HORIZON_DAYS = 21
DEFAULT_RED_DAYS = 7
DEFAULT_AMBER_DAYS = 14
JUSTIFICATION_THRESHOLD = Decimal("0.25")
SPIKE_FACTOR = 10


class SupplyStatus(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Thresholds:
    """Days of supply below ``red`` is red, below ``amber`` amber, otherwise green."""

    red: int = DEFAULT_RED_DAYS
    amber: int = DEFAULT_AMBER_DAYS

    def __post_init__(self):
        if not 0 < self.red < self.amber:
            raise ValueError("thresholds must satisfy 0 < red < amber")


def daily_use(consumption_7d: int, *, multiplier: Decimal | float = 1) -> Fraction:
    """Average daily use over the reported week, scaled by a scenario multiplier (e.g. 1.5 in a second wave).

    Exact (a Fraction): a week's 10 units are 10/7 a day, and 21 days of it must be 30, not 30.000…1.
    """
    return Fraction(consumption_7d) * Fraction(str(multiplier)) / CONSUMPTION_DAYS


def days_of_supply(stock: int, consumption_7d: int, *, multiplier: Decimal | float = 1) -> Decimal | None:
    """Stock ÷ daily use, to one decimal; None when nothing is consumed (the stock lasts indefinitely)."""
    use = daily_use(consumption_7d, multiplier=multiplier)
    if use <= 0:
        return None
    days = Fraction(stock) / use
    return (Decimal(days.numerator) / Decimal(days.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def computed_need(
    stock: int, consumption_7d: int, expected_14d: int, *, horizon_days: int = DEFAULT_HORIZON_DAYS,
    multiplier: Decimal | float = 1,
) -> int:
    """Daily use × horizon − stock − expected deliveries, rounded up to whole units, never below zero."""
    need = daily_use(consumption_7d, multiplier=multiplier) * horizon_days - stock - expected_14d
    return max(0, math.ceil(need))


def status_for(days: Decimal | None, thresholds: Thresholds = Thresholds()) -> SupplyStatus:
    if days is None:
        return SupplyStatus.GREEN
    if days < thresholds.red:
        return SupplyStatus.RED
    if days < thresholds.amber:
        return SupplyStatus.AMBER
    return SupplyStatus.GREEN


def worst_status(statuses: Sequence[SupplyStatus]) -> SupplyStatus:
    """An organisation is as red as its worst line; no lines at all is unknown."""
    for status in (SupplyStatus.RED, SupplyStatus.AMBER, SupplyStatus.GREEN):
        if status in statuses:
            return status
    return SupplyStatus.UNKNOWN


def needs_justification(stated: int, computed: int, threshold: Decimal = JUSTIFICATION_THRESHOLD) -> bool:
    """A stated need more than 25 % away from the computed one must be explained.

    Against a computed need of zero any stated need above zero is a departure that needs a reason.
    """
    if computed == 0:
        return stated > 0
    return abs(Decimal(stated - computed)) / Decimal(computed) > threshold


def is_consumption_spike(consumption_7d: int, previous_7d: int | None, factor: int = SPIKE_FACTOR) -> bool:
    """More than ten times the previous period's consumption is likely a typing error: ask to confirm."""
    if previous_7d is None or previous_7d <= 0:
        return False
    return consumption_7d > factor * previous_7d


@dataclass(frozen=True)
class Observation:
    """One reported point of an organisation's history in one category."""

    on: date
    stock: int
    consumption_7d: int


def consumption_trend(history: Sequence[Observation]) -> Fraction:
    """Change in daily use per day, by least squares over the reported history (0 with under two points)."""
    points = [(o.on.toordinal(), daily_use(o.consumption_7d)) for o in history]
    if len(points) < 2:
        return Fraction(0)
    n = len(points)
    mean_x = Fraction(sum(x for x, _ in points), n)
    mean_y = sum((y for _, y in points), Fraction(0)) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return Fraction(0)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx


def projected_stockout(
    history: Sequence[Observation], *, multiplier: Decimal | float = 1, expected_14d: int = 0,
    max_days: int = 365,
) -> date | None:
    """The day the latest stock is used up at the recent, trending daily use; None if not within max_days.

    Daily use starts from the latest report, grows (or shrinks, never below zero) by the least-squares trend
    of the history, and is scaled by the scenario multiplier. Expected deliveries arrive evenly over the
    next 14 days.
    """
    if not history:
        return None
    ordered = sorted(history, key=lambda o: o.on)
    latest = ordered[-1]
    slope = consumption_trend(ordered)
    scale = Fraction(str(multiplier))
    use = daily_use(latest.consumption_7d)
    remaining = Fraction(latest.stock)
    delivery_per_day = Fraction(expected_14d, 14)
    for day in range(1, max_days + 1):
        today_use = max(Fraction(0), use + slope * day) * scale
        remaining -= today_use
        if day <= 14:
            remaining += delivery_per_day
        if remaining <= 0 and today_use > 0:
            return latest.on + timedelta(days=day)
    return None
