"""The allocation engine's rules as properties (hypothesis): the pack-by-pack oracle, the exact method, whole
packs, caps and total, no Alabama paradox, order independence, bad input, and the linear programs."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from allocation import engine
from allocation.engine import POLICIES, Claim, allocate, explain
from tests.allocation.test_engine import (
    _fresh_globals_per_request,  # noqa: F401  (pure: no application fixtures)
    continuous_problem,
    max_min_level,
    pack_by_pack,
    sequential_lp,
)
from tests.support import without_shared_transaction  # noqa: F401  (the fixture)

daily_uses = st.one_of(
    st.just(0),
    st.integers(0, 6),
    st.sampled_from([0.1, 0.2, 0.3, 0.5, 2.5]),
    st.floats(0, 20, allow_nan=False, allow_infinity=False),
    st.fractions(0, 10, max_denominator=12),
)
weights = st.one_of(
    st.just(1.0), st.sampled_from([2, 0.5, Fraction(1, 3)]), st.floats(0.1, 5, allow_nan=False)
)


SMALL_NEEDS = st.integers(0, 40)
SMALL_STOCKS = st.integers(0, 80)
POPULATIONS = st.one_of(st.just(0), st.integers(0, 50), st.sampled_from([10, 20]))


@st.composite
def claim_lists(
    draw, *, max_claims=8, need=SMALL_NEEDS, stock=SMALL_STOCKS, population=POPULATIONS, daily=daily_uses
):
    """Claims with ids unique as strings, some ints and some strings (so "10" sorts before "9")."""
    numbers = draw(st.lists(st.integers(0, 30), min_size=0, max_size=max_claims, unique=True))
    return [
        Claim(
            id=draw(st.sampled_from([number, str(number), f"m{number}"])),
            need=draw(need),
            stock=draw(stock),
            daily_use=draw(daily),
            weight=draw(weights),
            population=draw(population),
        )
        for number in numbers
    ]


def _unique_as_strings(claims):
    return len({str(c.id) for c in claims}) == len(claims)


policies = st.sampled_from(POLICIES)
pack_sizes = st.integers(1, 6)
horizons = st.integers(1, 30)


@given(claim_lists(), st.integers(0, 300), pack_sizes, policies, horizons)
def test_every_policy_equals_handing_out_packs_one_by_one(claims, supply, pack_size, policy, horizon):
    assume(_unique_as_strings(claims))
    options = {"pack_size": pack_size, "policy": policy, "horizon_days": horizon}
    assert allocate(supply, claims, **options) == pack_by_pack(supply, claims, **options)


@given(
    claim_lists(max_claims=6, need=st.sampled_from([0, 5, 10, 20]), stock=st.sampled_from([0, 0, 10, 30])),
    st.integers(0, 120),
    st.sampled_from([1, 5]),
    policies,
)
def test_ties_everywhere_still_follow_the_oracle(claims, supply, pack_size, policy):
    assume(_unique_as_strings(claims))
    options = {"pack_size": pack_size, "policy": policy}
    assert allocate(supply, claims, **options) == pack_by_pack(supply, claims, **options)


@given(
    claim_lists(max_claims=20, need=st.integers(0, 5000), stock=st.integers(0, 5000)),
    st.integers(0, 40_000),
    pack_sizes,
    policies,
)
def test_the_exact_method_agrees_with_the_fast_one(claims, supply, pack_size, policy):
    assume(_unique_as_strings(claims))
    problem = engine._Problem.build(supply, claims, pack_size, policy, 21)
    assert problem.hand_out(exact=True) == problem.hand_out()


@given(claim_lists(max_claims=20, need=st.integers(0, 500)), st.integers(0, 5000), pack_sizes, policies)
def test_allocations_are_whole_packs_within_caps_and_add_up_to_the_total(claims, supply, pack_size, policy):
    assume(_unique_as_strings(claims))
    result = allocate(supply, claims, pack_size=pack_size, policy=policy)
    assert list(result) == [c.id for c in claims]
    for claim in claims:
        assert result[claim.id] % pack_size == 0
        assert 0 <= result[claim.id] <= math.ceil(claim.need / pack_size) * pack_size
        if claim.need == 0:
            assert result[claim.id] == 0
    total_need = sum(c.need for c in claims)
    assert sum(result.values()) == pack_size * (min(supply, total_need) // pack_size)


@given(
    claim_lists(max_claims=12, need=st.integers(0, 300)),
    st.integers(0, 2000),
    st.integers(0, 500),
    pack_sizes,
    policies,
)
def test_more_supply_never_gives_anyone_less(claims, supply, extra, pack_size, policy):
    assume(_unique_as_strings(claims))
    before = allocate(supply, claims, pack_size=pack_size, policy=policy)
    after = allocate(supply + extra, claims, pack_size=pack_size, policy=policy)
    assert all(after[i] >= before[i] for i in before)


@given(
    claim_lists(max_claims=12, need=st.integers(0, 300)),
    st.integers(0, 2000),
    pack_sizes,
    policies,
    st.randoms(use_true_random=False),
)
def test_the_order_of_the_claims_does_not_matter(claims, supply, pack_size, policy, random):
    assume(_unique_as_strings(claims))
    shuffled = list(claims)
    random.shuffle(shuffled)
    assert allocate(supply, shuffled, pack_size=pack_size, policy=policy) == allocate(
        supply, claims, pack_size=pack_size, policy=policy
    )


@given(
    claim_lists(
        max_claims=5,
        need=st.integers(0, 6).map(lambda packs: packs * 10**21 + 7),
        stock=st.sampled_from([0, 10**24, 10**24 + 1, 3 * 10**24, 10**400]),
        population=st.sampled_from([0, 10**30, 10**30 + 1, 3]),
    ),
    st.integers(0, 40 * 10**21),
    st.sampled_from([10**21, 10**21 + 1, 2**60]),
    policies,
)
def test_huge_numbers_follow_the_oracle_exactly(claims, supply, pack_size, policy):
    assume(_unique_as_strings(claims))
    options = {"pack_size": pack_size, "policy": policy}
    assert allocate(supply, claims, **options) == pack_by_pack(supply, claims, **options)


@given(claim_lists(max_claims=10, need=st.integers(0, 300)), st.integers(0, 3000), pack_sizes, policies)
def test_the_explanation_agrees_with_the_allocation(claims, supply, pack_size, policy):
    assume(_unique_as_strings(claims))
    result = explain(supply, claims, pack_size=pack_size, policy=policy)
    assert result.allocation == allocate(supply, claims, pack_size=pack_size, policy=policy)
    assert result.total == sum(result.allocation.values()) == result.packs * pack_size
    assert sum(c.continuous_share for c in result.claims) == result.total
    for line in result.claims:
        assert isinstance(line.continuous_share, Fraction)
        assert 0 <= line.continuous_share <= line.cap
        assert line.capped == (line.cap > 0 and line.allocated == line.cap)
        if line.days_before is not None:
            assert line.days_after == line.days_before + Fraction(line.allocated) / line.daily_use


def _continuous_levels(claims, result, policy):
    levels = []
    for claim, line in zip(claims, result.claims):
        if not line.cap:
            continue
        if policy == "days_of_supply":
            levels.append((claim.stock + line.continuous_share) / (Fraction(claim.weight) * line.daily_use))
        else:
            levels.append(
                line.continuous_share / (claim.need if policy == "proportional" else claim.population)
            )
    return [float(level) for level in levels]


# HiGHS drops matrix coefficients below 1e-9, so the LP references get daily uses of a sane size.
lp_claims = claim_lists(
    max_claims=8,
    need=st.integers(1, 300),
    stock=st.integers(0, 300),
    population=st.integers(1, 50),
    daily=st.one_of(st.just(0), st.integers(0, 6), st.floats(0.05, 20)),
)


@settings(max_examples=60, deadline=None)
@given(lp_claims, st.integers(0, 3000), pack_sizes, policies)
def test_the_continuous_level_is_the_max_min_of_a_linear_program(claims, supply, pack_size, policy):
    assume(claims and _unique_as_strings(claims))
    result = explain(supply, claims, pack_size=pack_size, policy=policy)
    problem = continuous_problem(claims, pack_size=pack_size, policy=policy, supply=supply)
    assert min(_continuous_levels(claims, result, policy)) == pytest.approx(
        max_min_level(*problem), rel=1e-6, abs=1e-6
    )


@settings(max_examples=30, deadline=None)
@given(lp_claims, st.integers(0, 3000), pack_sizes, policies)
def test_the_continuous_shares_are_the_lexicographic_max_min_of_sequential_linear_programs(
    claims, supply, pack_size, policy
):
    assume(claims and _unique_as_strings(claims))
    result = explain(supply, claims, pack_size=pack_size, policy=policy)
    problem = continuous_problem(claims, pack_size=pack_size, policy=policy, supply=supply)
    assert sorted(_continuous_levels(claims, result, policy)) == pytest.approx(
        sorted(sequential_lp(*problem)), rel=1e-6, abs=1e-6
    )


bad_fields = st.sampled_from(
    [
        ("need", -1, "zero or more"),
        ("need", 1.5, "whole number"),
        ("stock", -3, "zero or more"),
        ("stock", Fraction(1, 2), "whole number"),
        ("population", -2, "zero or more"),
        ("daily_use", -0.1, "zero or more"),
        ("daily_use", math.nan, "finite"),
        ("daily_use", -math.inf, "finite"),
        ("weight", 0.0, "positive"),
        ("weight", math.inf, "finite"),
        ("weight", "heavy", "a number"),
    ]
)


@given(claim_lists(max_claims=6), bad_fields, st.data())
def test_bad_numbers_are_refused_naming_the_claim_and_the_field(claims, bad, data):
    assume(claims and _unique_as_strings(claims))
    field, value, words = bad
    victim = data.draw(st.sampled_from(claims))
    broken = [Claim(**{**_fields(c), field: value}) if c is victim else c for c in claims]
    with pytest.raises(ValueError, match=rf"claim {victim.id!r}: {field} must be .*{words}") as refused:
        allocate(10, broken, policy=data.draw(policies))
    assert str(victim.id) in str(refused.value)


def _fields(claim):
    return {
        name: getattr(claim, name) for name in ("id", "need", "stock", "daily_use", "weight", "population")
    }
