"""Surplus and deficit for redistribution (omfördelning), and the county's transfer plan: pure, no Flask, no ORM.

The services (``allocation/services_redistribution.py``) read the registered need of the county's region and
municipalities, hand it here as plain values, and store what comes back as Transfer rows.

The rules:

* An organisation's position in a category is its latest reported figures summed over its branches of
  activity: stock on hand, last week's consumption and the stated need.
* Surplus: the stock above ``target_days`` days of supply, i.e. stock − ⌈daily use × target_days⌉ where daily
  use is the week's consumption ÷ 7, exactly. Expected deliveries do not count: they are not on the shelf.
  Nothing consumed means every unit is above the target (days of supply are infinite).
* Deficit: the registered (stated) need.
* An organisation with both gives from its surplus to itself first: the two are netted, so it is either a giver
  or a receiver (or neither), never both.
* Products meeting the same category are planned one after the other, in the order given: a later product sees
  each giver's surplus less, and each receiver's deficit less, by what the earlier ones moved.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from allocation.need import daily_use
from allocation.redistribution import great_circle_km, plan_transfers

DEFAULT_TARGET_DAYS = 21
# Distance used for an organisation whose seat has no coordinates: farther than any two seats in Sweden, so
# the planner prefers every known pair, but finite (the planner needs a number).
UNKNOWN_DISTANCE_KM = 2500.0


@dataclass(frozen=True)
class Position:
    """One branch's latest reported figures of one organisation in one category."""

    organisation_id: Hashable
    stock: int
    consumption_7d: int
    need: int


@dataclass(frozen=True)
class ProductPlan:
    """A product to redistribute: its key, the category whose figures it moves, and its pack size."""

    key: Hashable
    category: Hashable
    pack_size: int = 1


@dataclass(frozen=True)
class PlannedTransfer:
    product: Hashable
    source: Hashable
    target: Hashable
    quantity: int


def _whole(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}; got {value!r}")
    return value


def surplus_of(stock: int, consumption_7d: int, *, target_days: int = DEFAULT_TARGET_DAYS) -> int:
    """Units of ``stock`` above ``target_days`` days of supply at the week's consumption, never below 0."""
    keep = math.ceil(daily_use(consumption_7d) * Fraction(target_days))
    return max(0, stock - keep)


def surplus_and_deficit(
    positions: Sequence[Position], *, target_days: int = DEFAULT_TARGET_DAYS
) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
    """({organisation: surplus}, {organisation: deficit}) from the positions of one category; organisations
    with neither are left out, and none is in both.

    Raises ValueError for a target that is not a positive whole number of days and for figures that are not
    whole numbers of 0 or more.
    """
    _whole("target_days", target_days, 1)
    summed: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0, 0])
    for position in positions:
        figures = summed[position.organisation_id]
        for index, name in enumerate(("stock", "consumption_7d", "need")):
            figures[index] += _whole(name, getattr(position, name), 0)
    surpluses, deficits = {}, {}
    for organisation_id, (stock, consumption, need) in summed.items():
        net = surplus_of(stock, consumption, target_days=target_days) - need
        if net > 0:
            surpluses[organisation_id] = net
        elif net < 0:
            deficits[organisation_id] = -net
    return surpluses, deficits


def seat_distance(
    seats: Mapping[Hashable, tuple[float, float] | None], *, unknown_km: float = UNKNOWN_DISTANCE_KM
) -> Callable[[Hashable, Hashable], float]:
    """distance(a, b): the great-circle distance in km between two organisations' seats (latitude, longitude);
    ``unknown_km`` when either has no coordinates."""

    def distance(a: Hashable, b: Hashable) -> float:
        first, second = seats.get(a), seats.get(b)
        if first is None or second is None:
            return unknown_km
        return great_circle_km(first[0], first[1], second[0], second[1])

    return distance


def plan_products(
    products: Sequence[ProductPlan],
    positions: Mapping[Hashable, Sequence[Position]],
    distance: Callable[[Hashable, Hashable], float],
    *,
    target_days: int = DEFAULT_TARGET_DAYS,
    min_transfer: int = 0,
) -> list[PlannedTransfer]:
    """Transfers for each product in turn, from its category's positions (``positions[category]``), by
    :func:`allocation.redistribution.plan_transfers` (whole packs, most units moved, least distance).

    Raises ValueError for a product given twice, and as :func:`surplus_and_deficit` and ``plan_transfers``.
    """
    _whole("min_transfer", min_transfer, 0)
    keys = [product.key for product in products]
    if len(set(keys)) != len(keys):
        raise ValueError("a product is given twice")
    moved_out: dict[Hashable, dict[Hashable, int]] = defaultdict(lambda: defaultdict(int))
    moved_in: dict[Hashable, dict[Hashable, int]] = defaultdict(lambda: defaultdict(int))
    planned: list[PlannedTransfer] = []
    for product in products:
        surpluses, deficits = surplus_and_deficit(positions.get(product.category, ()), target_days=target_days)
        given, received = moved_out[product.category], moved_in[product.category]
        surpluses = {k: v - given[k] for k, v in surpluses.items() if v - given[k] > 0}
        deficits = {k: v - received[k] for k, v in deficits.items() if v - received[k] > 0}
        for transfer in plan_transfers(surpluses, deficits, distance, pack_size=product.pack_size,
                                       min_transfer=min_transfer):
            given[transfer.source] += transfer.quantity
            received[transfer.target] += transfer.quantity
            planned.append(PlannedTransfer(product.key, transfer.source, transfer.target, transfer.quantity))
    return planned
