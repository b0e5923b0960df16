"""Joint purchases' arithmetic (samordnat inköp): need aggregated per participant and the exact cost split.

Pure: plain dataclasses and functions, no Flask, no database. Shares are whole parts of a whole (parts per
million of the cost, öre of the order value) given by the largest remainder method, so they always add up
exactly; ties go by the larger weight, then by the participant's key, never by the order they are listed in.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

PPM = 1_000_000  # a whole cost in parts per million

# How the cost is shared (the values of orders.models.CostSplit).
BY_QUANTITY = "by_quantity"
EQUAL = "equal"
BY_POPULATION = "by_population"
SPLIT_METHODS = (BY_QUANTITY, EQUAL, BY_POPULATION)

K = TypeVar("K", bound=Hashable)


class SplitError(ValueError):
    """The cost cannot be split: nobody takes anything, a population is unknown, or a weight is negative.

    ``keys`` names the participants concerned (e.g. those with no population).
    """

    def __init__(self, reason: str, keys: Sequence = ()):
        super().__init__(reason)
        self.reason = reason
        self.keys = tuple(keys)


# --- registered need ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedFigure:
    """One current register row: an organisation's stated need in one branch of activity, and when it was reported."""

    organisation_id: int
    branch: str
    need: int
    reported_at: datetime


@dataclass(frozen=True)
class ParticipantNeed:
    """An organisation's need summed over its branches; ``need`` is None when it has no current report."""

    organisation_id: int
    need: int | None
    first_reported_at: datetime | None = None
    last_reported_at: datetime | None = None
    branches: tuple[str, ...] = ()

    @property
    def has_report(self) -> bool:
        return self.need is not None


def aggregate_need(organisation_ids: Sequence[int], figures: Iterable[NeedFigure]) -> list[ParticipantNeed]:
    """The need to buy per organisation, in the order of ``organisation_ids``.

    Each organisation's figures (one per branch) are summed; the oldest and newest report times say how
    current the sum is. An organisation without figures has need None (no current report), which is not the
    same as a reported need of 0. Figures of organisations not asked for are ignored.
    """
    wanted = set(organisation_ids)
    grouped: dict[int, list[NeedFigure]] = {}
    for figure in figures:
        if figure.need < 0:
            raise ValueError("a registered need is never negative")
        if figure.organisation_id in wanted:
            grouped.setdefault(figure.organisation_id, []).append(figure)
    result = []
    for organisation_id in organisation_ids:
        rows = grouped.get(organisation_id)
        if not rows:
            result.append(ParticipantNeed(organisation_id, None))
            continue
        times = [row.reported_at for row in rows]
        result.append(
            ParticipantNeed(
                organisation_id,
                sum(row.need for row in rows),
                min(times),
                max(times),
                tuple(sorted({row.branch for row in rows})),
            )
        )
    return result


# --- the split -----------------------------------------------------------------------------------------------------


def largest_remainder(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split the whole number ``total`` between the keys in proportion to their whole, non-negative weights.

    Each part is its exact quota ``total × weight ÷ sum of weights`` rounded down or up, and the parts add up
    to ``total`` exactly: the units left after rounding down go to the largest remainders (ties: the larger
    weight, then the smaller key). A zero weight gets 0. Raises SplitError when ``total`` or a weight is
    negative, or when every weight is 0 and there is something to split.
    """
    if total < 0:
        raise SplitError("negative total")
    negative = [key for key, weight in weights.items() if weight < 0]
    if negative:
        raise SplitError("negative weight", negative)
    whole = sum(weights.values())
    if whole == 0:
        if total == 0:
            return {key: 0 for key in weights}
        raise SplitError("nothing to split by", list(weights))
    parts = {key: total * weight // whole for key, weight in weights.items()}
    left = total - sum(parts.values())
    # The remainder of each quota, as the numerator over ``whole``: exact integers, no floats.
    ranked = sorted(weights, key=lambda key: (-(total * weights[key] % whole), -weights[key], key))
    for key in ranked[:left]:
        parts[key] += 1
    return parts


@dataclass(frozen=True)
class Taker:
    """What the split needs to know of a participant: the quantity it takes and its population (if known)."""

    quantity: int
    population: int | None = None


def split_weights(method: str, takers: Mapping[K, Taker]) -> dict[K, int]:
    """Each participant's weight under ``method``; a participant taking 0 (dropped out) weighs nothing.

    By quantity: the quantity taken; equal: 1 each; by population: its population. Raises SplitError when
    the method is unknown, nobody takes anything, or a taker's population is unknown.
    """
    if method not in SPLIT_METHODS:
        raise SplitError("unknown method")
    negative = [key for key, taker in takers.items() if taker.quantity < 0]
    if negative:
        raise SplitError("negative quantity", negative)
    taking = {key: taker for key, taker in takers.items() if taker.quantity > 0}
    if not taking:
        raise SplitError("nobody takes anything")
    if method == BY_POPULATION:
        unknown = [key for key, taker in taking.items() if taker.population is None]
        if unknown:
            raise SplitError("population unknown", unknown)
    weights: dict[K, int] = {}
    for key, taker in takers.items():
        if taker.quantity <= 0:
            weights[key] = 0
        elif method == BY_QUANTITY:
            weights[key] = taker.quantity
        elif method == EQUAL:
            weights[key] = 1
        else:
            weights[key] = taker.population
    if sum(weights.values()) == 0:
        raise SplitError("population unknown", list(taking))  # every taker's population is 0
    return weights


def cost_shares_ppm(method: str, takers: Mapping[K, Taker]) -> dict[K, int]:
    """Each participant's share of the cost in parts per million; the shares add up to exactly 1 000 000."""
    return largest_remainder(PPM, split_weights(method, takers))


def amounts_ore(method: str, total_ore: int, quantities: Mapping[K, int], shares_ppm: Mapping[K, int]) -> dict[K, int]:
    """The order value in öre per participant; the amounts add up to exactly ``total_ore``.

    By quantity and in equal shares the value is split by the quantities taken themselves, so each amount is
    within an öre of its exact part (a share rounded to a millionth would be off by up to half a millionth of
    the value). By population it is split by the shares in parts per million fixed at ordering, because
    populations change and the fixed shares are what was agreed.
    """
    if method == BY_POPULATION:
        return largest_remainder(total_ore, shares_ppm)
    return largest_remainder(total_ore, split_weights(method, {key: Taker(q) for key, q in quantities.items()}))
