"""The allocation engine: shares released stock among claims in whole packs, exactly, fairly and explainably.

Pure Python and NumPy: no Flask, no SQLAlchemy, nothing from ``app``. Services turn situation reports into
:class:`Claim` values, call :func:`allocate` (or :func:`explain` for the coordinator's preview) and write the
result back.

The rules (issue 6), for ``supply`` units, claims and a pack size ``p``:

* Every allocation is a whole number of packs; a claim's *cap* is its need rounded up to a whole pack.
* The total handed out is ``p × floor(min(supply, total need) / p)``, where *total need* is the sum of the
  claims' registered needs (not of their caps): the nation never ships more than was asked for in total, and
  only a claim's last pack may overshoot its own need. The total never exceeds the sum of the caps, so the
  packs can always all be placed.
* ``days_of_supply`` (the default): the result equals handing out packs one at a time, each to the claim with
  the lowest level ``(stock + allocated) / (weight × daily_use)``, ties to the smaller id (ids compared as
  strings), a claim at its cap taking no more. A claim without consumption uses ``need / horizon_days`` as its
  daily use; a claim without need gets nothing.
* ``proportional`` and ``population``: Sainte-Laguë, packs one at a time to the largest
  ``basis / (2 × packs + 1)`` where the basis is the need or the population; same caps, total and ties. A
  claim whose basis is zero comes after every other (its quotient is zero), so it only receives packs when all
  others are at their caps, smallest id first.

How it is computed, not pack by pack: every pack ``k`` (1-based) of claim ``i`` has a level
``(base_i + (k - 1) × step) / rate_i`` (days of supply: base = stock, step = pack size,
rate = weight × daily use; Sainte-Laguë: base = 1, step = 2, rate = basis, which orders packs by increasing
``(2k - 1) / basis``, i.e. by decreasing quotient). Handing out packs one by one takes the packs in increasing
order of (level, id), and each claim's levels increase with ``k``, so the result is the set of the ``m``
smallest keys. Two continuous water-filling levels bracket the ``m``-th smallest level: ``λ_A`` where
``Σ clamp((λ·rate - base)/step + 1, 0, cap)`` reaches ``m`` and ``λ_B`` where ``Σ clamp((λ·rate - base)/step,
0, cap)`` does. Every pack below ``λ_A`` is certainly handed out, at least ``m`` packs lie at or below
``λ_B``, and at most about two per claim lie between them; only those last packs are ranked. NumPy floats find
the bracket and rank the last packs; rigorous error bounds decide when a float comparison is safe, and
every comparison that is not (ties, near-ties) is redone exactly with integers and fractions. If the floats
cannot be trusted (numbers beyond 2**50, extreme rates) the same method runs entirely in exact arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from operator import attrgetter

import numpy as np

POLICIES = ("days_of_supply", "proportional", "population")

# Float arithmetic is trusted only inside these bounds (every integer involved is then exact as a float).
_SMALL = 2**50
_RATE_RANGE = (1e-250, 1e250)
# Bounds on float error: each level or count below is a handful of roundings of 2**-53; 64 of them is ample.
_REL = 64 * 2.0**-53
_ABS = 1e-290
_BRACKET_WIDEN = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One recipient's claim on a product: need, stock and daily use in whole items (daily use may be
    fractional), a weight (2 means twice the days of supply) and the population for the fallback policy."""

    id: Hashable
    need: int
    stock: int
    daily_use: float
    weight: float = 1.0
    population: int = 0


@dataclass(frozen=True, slots=True)
class ClaimExplanation:
    """How one claim fared: what it had, the exact continuous share it deserves without pack rounding, and
    what it got. ``level`` is the policy's level after the allocation: days of supply divided by the weight
    for ``days_of_supply``, units per unit of need (or per inhabitant) for the Sainte-Laguë policies."""

    id: Hashable
    need: int
    cap: int
    stock: int
    daily_use: Fraction  # effective: the reported consumption, else need ÷ horizon days
    allocated: int
    packs: int
    days_before: Fraction | None  # stock ÷ daily use; None without consumption and need
    days_after: Fraction | None
    continuous_share: Fraction
    level: Fraction | None
    capped: bool  # received its whole cap


@dataclass(frozen=True, slots=True)
class Explanation:
    """The allocation with its reasons: per claim (in the order given) and totals.

    ``continuous_level`` is the water level of the continuous solution: the policy's level that every claim
    neither capped nor already above it reaches (None when no claim can be ranked by level).
    ``threshold_level`` is where the last pack went: for ``days_of_supply`` the level (days ÷ weight) of the
    claim that took it, before taking it; for the Sainte-Laguë policies the smallest quotient
    ``basis / (2k - 1)`` that won a pack. None when no pack was handed out by level."""

    policy: str
    pack_size: int
    horizon_days: int
    supply: int
    total_need: int
    total_cap: int
    total: int
    packs: int
    remaining: int  # supply left undistributed
    unmet_need: int  # total need not covered
    continuous_level: Fraction | None
    threshold_level: Fraction | None
    claims: tuple[ClaimExplanation, ...]
    allocation: dict


def allocate(
    supply: int,
    claims: Sequence[Claim],
    *,
    pack_size: int = 1,
    policy: str = "days_of_supply",
    horizon_days: int = 21,
) -> Mapping[Hashable, int]:
    """Share ``supply`` units among ``claims`` by the rules in the module docstring.

    Returns a dict mapping every claim's id (in the order given) to the units it receives, a multiple of
    ``pack_size``. Raises ValueError, naming the claim and field, for negative or non-whole numbers, a daily
    use or weight that is not a finite number, a weight that is not positive, a pack size or horizon that is
    not a positive whole number, duplicate ids (compared as strings) and an unknown policy."""
    problem = _Problem.build(supply, claims, pack_size, policy, horizon_days)
    return problem.allocation(problem.hand_out())


def explain(
    supply: int,
    claims: Sequence[Claim],
    *,
    pack_size: int = 1,
    policy: str = "days_of_supply",
    horizon_days: int = 21,
) -> Explanation:
    """:func:`allocate`'s result with its explanation in exact fractions. Raises as :func:`allocate`."""
    problem = _Problem.build(supply, claims, pack_size, policy, horizon_days)
    return problem.explain(problem.hand_out())


# ---------------------------------------------------------------------------------------------------------
# Input


def _name(claim_id) -> str:
    return f"claim {claim_id!r}"


def _whole(value, what: str, *, positive: bool = False) -> int:
    """``value`` as an int if it is a whole number (≥ 0, or > 0 when ``positive``), else ValueError."""
    whole_type = isinstance(value, Integral) and not isinstance(value, bool)
    if whole_type or (
        isinstance(value, float | Fraction | Decimal) and _finite(value) and value == int(value)
    ):
        number = int(value)
    else:
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if number < 0 or (positive and number == 0):
        raise ValueError(f"{what} must be {'positive' if positive else 'zero or more'}, got {value!r}")
    return number


def _finite(value) -> bool:
    return not isinstance(value, float | Decimal) or math.isfinite(value)


def _real(value, what: str, *, positive: bool) -> int | float | Fraction:
    """``value`` as an int, float or Fraction (all exact) if it is a finite real number, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise ValueError(f"{what} must be a number, got {value!r}")  # noqa: TRY004  (bad input: ValueError)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what} must be a finite number, got {value!r}")
        value = Fraction(value)
    elif isinstance(value, Integral):
        value = int(value)
    elif not isinstance(value, int | float | Fraction):
        value = float(value)  # e.g. numpy.float32: exact as a float
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{what} must be {'positive' if positive else 'zero or more'}, got {value!r}")
    return value


def _ratio(value: float | Fraction) -> tuple[int, int]:
    if isinstance(value, int):
        return value, 1
    return value.as_integer_ratio()


_INT_TYPE = frozenset({int})
_FAST_TYPES = frozenset({int, float})


def _whole_column(claims, ids, field: str) -> list[int]:
    """One whole-number field of every claim, checked; plain ints take a quick path."""
    values = list(map(attrgetter(field), claims))
    if set(map(type, values)) <= _INT_TYPE and (not values or min(values) >= 0):
        return values
    return [_whole(v, f"{_name(i)}: {field}") for i, v in zip(ids, values)]


def _real_column(claims, ids, field: str, *, positive: bool) -> tuple[list, np.ndarray | None]:
    values = list(map(attrgetter(field), claims))
    if set(map(type, values)) <= _FAST_TYPES:
        try:
            floats = np.array(values, dtype=float)
        except OverflowError:
            floats = None
        if (
            floats is not None
            and np.isfinite(floats).all()
            and (floats > 0 if positive else floats >= 0).all()
        ):
            return values, floats
    checked = [_real(v, f"{_name(i)}: {field}", positive=positive) for i, v in zip(ids, values)]
    return checked, None


@dataclass
class _Problem:
    """Validated input and the pack arithmetic shared by :func:`allocate` and :func:`explain`."""

    supply: int
    pack: int
    policy: str
    horizon: int
    ids: list
    keys: list[str]
    needs: list[int]
    stocks: list[int]
    dailies: list  # int | float | Fraction, exact
    weights: list
    populations: list[int]
    daily_floats: np.ndarray | None
    weight_floats: np.ndarray | None

    @classmethod
    def build(cls, supply, claims, pack_size, policy, horizon_days) -> _Problem:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
        supply = _whole(supply, "supply")
        pack = _whole(pack_size, "pack size", positive=True)
        horizon = _whole(horizon_days, "horizon days", positive=True)
        claims = list(claims)
        for claim in claims:
            if not isinstance(claim, Claim):
                raise TypeError(f"claims must be Claim values, got {claim!r}")
        ids = list(map(attrgetter("id"), claims))
        keys = [str(i) for i in ids]
        if len(set(keys)) != len(keys):
            seen: dict[str, Hashable] = {}
            for claim_id, key in zip(ids, keys):
                if key in seen:
                    raise ValueError(
                        f"duplicate claim id {claim_id!r} "
                        f"(ids are compared as strings; {seen[key]!r} came first)"
                    )
                seen[key] = claim_id
        dailies, daily_floats = _real_column(claims, ids, "daily_use", positive=False)
        weights, weight_floats = _real_column(claims, ids, "weight", positive=True)
        return cls(
            supply=supply,
            pack=pack,
            policy=policy,
            horizon=horizon,
            ids=ids,
            keys=keys,
            needs=_whole_column(claims, ids, "need"),
            stocks=_whole_column(claims, ids, "stock"),
            dailies=dailies,
            weights=weights,
            populations=_whole_column(claims, ids, "population"),
            daily_floats=daily_floats,
            weight_floats=weight_floats,
        )

    # -- the rules --------------------------------------------------------------------------------------

    @property
    def total_need(self) -> int:
        return sum(self.needs)

    @property
    def caps(self) -> list[int]:
        """Caps in packs: need rounded up to a whole pack."""
        pack = self.pack
        return [-(-need // pack) for need in self.needs]

    @property
    def packs_to_hand_out(self) -> int:
        return min(self.supply, self.total_need) // self.pack

    def effective_daily(self, i: int) -> int | float | Fraction:
        daily = self.dailies[i]
        return daily if daily > 0 else Fraction(self.needs[i], self.horizon)

    def basis(self, i: int) -> int:
        return self.needs[i] if self.policy == "proportional" else self.populations[i]

    def exact_rate(self, i: int) -> tuple[int, int]:
        """The claim's rate as (numerator, denominator), not reduced."""
        if self.policy != "days_of_supply":
            return self.basis(i), 1
        wn, wd = _ratio(self.weights[i])
        daily = self.dailies[i]
        dn, dd = _ratio(daily) if daily > 0 else (self.needs[i], self.horizon)
        return wn * dn, wd * dd

    def hand_out(self, *, exact: bool = False) -> list[int]:
        """Packs per claim. ``exact`` forces the all-exact computation (tests compare both)."""
        caps = self.caps
        m = self.packs_to_hand_out
        packs = [0] * len(caps)
        if m == 0:
            return packs
        if self.policy == "days_of_supply":
            ranked = [i for i, cap in enumerate(caps) if cap > 0]
            last = []
        else:
            basis = self.needs if self.policy == "proportional" else self.populations
            ranked = [i for i, cap in enumerate(caps) if cap > 0 and basis[i] > 0]
            last = sorted(
                (i for i, cap in enumerate(caps) if cap > 0 and basis[i] == 0), key=self.keys.__getitem__
            )
        ranked_caps = [caps[i] for i in ranked]
        ranked_packs = sum(ranked_caps)
        if m >= ranked_packs:
            for i in ranked:
                packs[i] = caps[i]
            m -= ranked_packs
            for i in last:  # quotient zero: by id, each to its cap
                packs[i] = min(caps[i], m)
                m -= packs[i]
            return packs
        ladder = _Ladder(self, ranked, ranked_caps)
        counts = None if exact else ladder.select_fast(m)
        counts = ladder.select_exact(m) if counts is None else counts.tolist()
        for i, count in zip(ranked, counts):
            packs[i] = count
        return packs

    def allocation(self, packs: list[int]) -> dict:
        pack = self.pack
        return dict(zip(self.ids, packs if pack == 1 else [count * pack for count in packs]))

    # -- explanation ------------------------------------------------------------------------------------

    def explain(self, packs: list[int]) -> Explanation:
        days_policy = self.policy == "days_of_supply"
        n = len(self.ids)
        caps = [c * self.pack for c in self.caps]
        total = sum(packs) * self.pack
        rates = [Fraction(*self.exact_rate(i)) for i in range(n)]
        bases = [self.stocks[i] if days_policy else 0 for i in range(n)]
        shares, water = _continuous(
            [i for i in range(n) if caps[i] and rates[i]],
            [i for i in sorted(range(n), key=self.keys.__getitem__) if caps[i] and not rates[i]],
            bases,
            rates,
            caps,
            total,
        )
        threshold = None
        if days_policy:
            for i in range(n):
                if packs[i]:
                    pack_level = (self.stocks[i] + (packs[i] - 1) * self.pack) / rates[i]
                    threshold = pack_level if threshold is None else max(threshold, pack_level)
        else:
            quotients = [Fraction(self.basis(i), 2 * packs[i] - 1) for i in range(n) if packs[i] and rates[i]]
            threshold = min(quotients, default=None)
        lines = []
        for i in range(n):
            allocated = packs[i] * self.pack
            daily = Fraction(self.effective_daily(i))
            if days_policy:
                level = (self.stocks[i] + allocated) / rates[i] if rates[i] else None
            else:
                level = Fraction(allocated, self.basis(i)) if self.basis(i) else None
            lines.append(
                ClaimExplanation(
                    id=self.ids[i],
                    need=self.needs[i],
                    cap=caps[i],
                    stock=self.stocks[i],
                    daily_use=daily,
                    allocated=allocated,
                    packs=packs[i],
                    days_before=self.stocks[i] / daily if daily else None,
                    days_after=(self.stocks[i] + allocated) / daily if daily else None,
                    continuous_share=shares[i],
                    level=level,
                    capped=caps[i] > 0 and allocated == caps[i],
                )
            )
        return Explanation(
            policy=self.policy,
            pack_size=self.pack,
            horizon_days=self.horizon,
            supply=self.supply,
            total_need=self.total_need,
            total_cap=sum(caps),
            total=total,
            packs=sum(packs),
            remaining=self.supply - total,
            unmet_need=self.total_need - total,
            continuous_level=water,
            threshold_level=threshold,
            claims=tuple(lines),
            allocation=self.allocation(packs),
        )


def _continuous(ranked, last, bases, rates, caps, total) -> tuple[list[Fraction], Fraction | None]:
    """The continuous (unrounded) water-filling shares that sum to ``total`` and the water level."""
    shares = [Fraction(0)] * len(caps)
    if not ranked:
        water = None
        left = total
    else:
        ranked_total = sum(caps[i] for i in ranked)
        water = _waterfill_exact(
            [bases[i] for i in ranked],
            [rates[i] for i in ranked],
            [caps[i] for i in ranked],
            min(total, ranked_total),
        )
        for i in ranked:
            shares[i] = min(max(water * rates[i] - bases[i], Fraction(0)), Fraction(caps[i]))
        left = total - min(total, ranked_total)
    for i in last:
        shares[i] = Fraction(min(caps[i], left))
        left -= shares[i]
    return shares, water


# ---------------------------------------------------------------------------------------------------------
# Selection of the m smallest pack levels


class _Ladder:
    """The ranked claims' packs as ascending levels ``(base + (k - 1) × step) / rate``, k = 1 … cap."""

    def __init__(self, problem: _Problem, ranked: list[int], caps: list[int]):
        self.problem = problem
        self.ranked = ranked
        self.keys = [problem.keys[i] for i in ranked]
        self.caps = caps
        if problem.policy == "days_of_supply":
            self.bases = [problem.stocks[i] for i in ranked]
            self.step = problem.pack
        else:
            self.bases = [1] * len(ranked)
            self.step = 2
        self._rates: dict[int, tuple[int, int]] = {}

    def rate(self, j: int) -> tuple[int, int]:
        if j not in self._rates:
            self._rates[j] = self.problem.exact_rate(self.ranked[j])
        return self._rates[j]

    def level(self, j: int, k: int) -> Fraction:
        """Exact level of pack ``k`` (1-based) of ranked claim ``j``."""
        a, g = self.rate(j)
        return Fraction((self.bases[j] + (k - 1) * self.step) * g, a)

    def count(self, j: int, lam: Fraction | float, *, strict: bool) -> int:
        """Exactly how many packs of claim ``j`` lie below ``lam`` (strict) or at or below it."""
        p, q = lam.as_integer_ratio()
        a, g = self.rate(j)
        num = p * a - self.bases[j] * q * g
        den = q * g * self.step
        count = -(-num // den) if strict else num // den + 1
        return min(max(count, 0), self.caps[j])

    # -- floats, checked --------------------------------------------------------------------------------

    def _floats(self):
        """Float arrays (bases, caps, rates), or None when floats cannot be trusted for this problem."""
        problem = self.problem
        ranked = self.ranked
        if self.step >= _SMALL or max(self.bases) >= _SMALL or max(self.caps) * self.step >= _SMALL:
            return None
        if problem.policy == "days_of_supply":
            if problem.daily_floats is None or problem.weight_floats is None:
                return None
            idx = np.array(ranked)
            daily = problem.daily_floats[idx]
            missing = daily == 0
            if missing.any():
                needs = np.array([problem.needs[i] for i in ranked], dtype=float)
                daily = np.where(missing, needs / problem.horizon, daily)
            rates = problem.weight_floats[idx] * daily
        else:
            basis = [problem.basis(i) for i in ranked]
            if max(basis) >= _SMALL:
                return None
            rates = np.array(basis, dtype=float)
        low, high = _RATE_RANGE
        if not ((rates >= low) & (rates <= high)).all():
            return None
        return np.array(self.bases, dtype=float), np.array(self.caps, dtype=np.int64), rates

    def _count_fast(self, floats, lam: float, *, strict: bool) -> np.ndarray:
        bases, caps, rates = floats
        step = float(self.step)
        with np.errstate(all="ignore"):
            reach = lam * rates
            x = (reach - bases) / step
            err = _REL * (reach + bases) / step + _ABS
            if strict:
                low, high = np.ceil(x - err), np.ceil(x + err)
            else:
                low, high = np.floor(x - err) + 1, np.floor(x + err) + 1
            low = np.clip(low, 0, caps)
            high = np.clip(high, 0, caps)
            unsure = (low != high) | ~np.isfinite(x)
        counts = np.where(unsure, 0, low).astype(np.int64)
        for j in np.flatnonzero(unsure):
            counts[j] = self.count(int(j), lam, strict=strict)
        return counts

    def select_fast(self, m: int) -> np.ndarray | None:
        """Packs per ranked claim with floats where provably safe; None when the exact method must decide."""
        floats = self._floats()
        if floats is None:
            return None
        bases, caps, rates = floats
        step = float(self.step)
        units = caps * step
        lam_a = _waterfill_float(bases - step, rates, units, m * step)
        lam_b = _waterfill_float(bases, rates, units, m * step)
        if not (math.isfinite(lam_a) and math.isfinite(lam_b)):
            return None
        lam_lo = max(lam_a * (1 - _BRACKET_WIDEN), 0.0)
        lam_hi = lam_b * (1 + _BRACKET_WIDEN) + _ABS
        low = self._count_fast(floats, lam_lo, strict=True)
        high = self._count_fast(floats, lam_hi, strict=False)
        below = int(low.sum())
        wanted = m - below
        if wanted < 0 or m > int(high.sum()):
            return None  # the float bracket missed; cannot happen unless the estimate was far off
        if wanted == 0:
            return low
        sizes = high - low
        span = int(sizes.sum())
        if wanted == span:
            return high
        if span > 4 * len(sizes) + 64:
            return None  # very dense ladders: let the exact method narrow the bracket
        owner = np.repeat(np.arange(len(sizes)), sizes)
        starts = np.cumsum(sizes) - sizes
        k = low[owner] + 1 + (np.arange(span) - starts[owner])  # 1-based pack index
        levels = (bases[owner] + (k - 1) * step) / rates[owner]
        order = np.argsort(levels, kind="stable")
        ranked_levels = levels[order]
        # Adjacent sorted levels whose error intervals do not touch are certainly in this order.
        apart = ranked_levels[:-1] * (1 + _REL) + _ABS < ranked_levels[1:] * (1 - _REL) - _ABS
        if apart[wanted - 1]:
            chosen = order[:wanted]
        else:
            cuts = np.flatnonzero(apart) + 1
            left = int(cuts[cuts <= wanted - 1].max(initial=0))
            right = int(cuts[cuts >= wanted + 1].min(initial=span))
            group = sorted(
                (int(c) for c in order[left:right]),
                key=lambda c: (self.level(int(owner[c]), int(k[c])), self.keys[int(owner[c])]),
            )
            chosen = np.concatenate((order[:left], np.array(group[: wanted - left], dtype=np.int64)))
        return low + np.bincount(owner[chosen], minlength=len(sizes))

    # -- exact ------------------------------------------------------------------------------------------

    def select_exact(self, m: int) -> list[int]:
        """Packs per ranked claim, all in exact arithmetic (the same bracket, no floats)."""
        n = len(self.ranked)
        step = self.step
        rates = [Fraction(*self.rate(j)) for j in range(n)]
        units = [c * step for c in self.caps]
        lam_a = max(_waterfill_exact([b - step for b in self.bases], rates, units, m * step), Fraction(0))
        lam_b = _waterfill_exact(self.bases, rates, units, m * step)
        low = [self.count(j, lam_a, strict=True) for j in range(n)]
        high = [self.count(j, lam_b, strict=False) for j in range(n)]
        wanted = m - sum(low)
        assert 0 <= wanted <= sum(high) - sum(low), "bracket must hold the m-th pack"
        candidates = sorted(
            (self.level(j, k), self.keys[j], j) for j in range(n) for k in range(low[j] + 1, high[j] + 1)
        )
        for _, _, j in candidates[:wanted]:
            low[j] += 1
        return low


def _waterfill_float(bases: np.ndarray, rates: np.ndarray, units: np.ndarray, target: float) -> float:
    """Estimate the smallest λ ≥ 0 with Σ clamp(λ·rate - base, 0, units) ≥ target (0 ≤ target < Σ units)."""
    with np.errstate(all="ignore"):
        positions = np.concatenate((bases / rates, (bases + units) / rates))
        slopes = np.concatenate((rates, -rates))
        order = np.argsort(positions, kind="stable")
        positions = positions[order]
        slope = np.cumsum(slopes[order])
        filled = np.concatenate(([0.0], np.cumsum(np.diff(positions) * slope[:-1])))
        j = int(np.searchsorted(filled, target, side="left"))
        if j == 0:
            lam = positions[0]
        elif j >= len(positions) or slope[j - 1] <= 0:
            lam = positions[min(j, len(positions) - 1)]
        else:
            lam = positions[j - 1] + (target - filled[j - 1]) / slope[j - 1]
    return max(float(lam), 0.0)


def _waterfill_exact(bases, rates, units, target) -> Fraction:
    """The smallest λ with Σ clamp(λ·rate - base, 0, units) ≥ target, exactly (the first breakpoint when the
    target is zero). Requires 0 ≤ target ≤ Σ units and positive rates."""
    events = []
    for base, rate, cap in zip(bases, rates, units):
        events.append((Fraction(base) / rate, rate))
        events.append((Fraction(base + cap) / rate, -rate))
    events.sort(key=lambda event: event[0])
    filled = Fraction(0)
    slope = Fraction(0)
    previous = events[0][0]
    if target <= 0:
        return previous
    for position, change in events:
        if slope > 0:
            reached = filled + slope * (position - previous)
            if reached >= target:
                return previous + (target - filled) / slope
            filled = reached
        previous = position
        slope += change
    return previous
