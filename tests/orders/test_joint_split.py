"""The joint purchase arithmetic as properties (hypothesis): need aggregated per participant, and cost shares
that add up exactly, follow the weights, and do not depend on the order participants are listed in."""
from __future__ import annotations

import ast
import itertools
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import joint
from orders.joint import (
    BY_POPULATION,
    BY_QUANTITY,
    EQUAL,
    PPM,
    NeedFigure,
    SplitError,
    Taker,
    aggregate_need,
    amounts_ore,
    cost_shares_ppm,
    largest_remainder,
    split_weights,
)
from tests.support import without_shared_transaction  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def _fresh_globals_per_request():
    yield


# Weights keyed by organisation id; at least one positive so there is something to split by.
weights = st.dictionaries(st.integers(1, 400), st.integers(0, 10**9), min_size=1, max_size=40).filter(
    lambda w: sum(w.values()) > 0
)
totals = st.one_of(st.just(PPM), st.integers(0, 10**13))
takers = st.dictionaries(
    st.integers(1, 400),
    st.builds(Taker, quantity=st.integers(0, 10**7), population=st.integers(1, 2_500_000)),
    min_size=1,
    max_size=30,
).filter(lambda t: any(taker.quantity > 0 for taker in t.values()))


def _shuffled(mapping: dict, seed: int) -> dict:
    items = list(mapping.items())
    random.Random(seed).shuffle(items)
    return dict(items)


# --- the largest remainder split -------------------------------------------------------------------------------


@given(totals, weights)
def test_the_parts_always_add_up_to_the_whole_exactly(total, weights):
    assert sum(largest_remainder(total, weights).values()) == total


@given(totals, weights)
def test_each_part_is_its_exact_quota_rounded_down_or_up(total, weights):
    whole = sum(weights.values())
    for key, part in largest_remainder(total, weights).items():
        quota = Fraction(total * weights[key], whole)
        assert quota - 1 < part < quota + 1
        assert part in (quota.__floor__(), quota.__ceil__())


@given(totals, weights, st.integers())
def test_the_split_does_not_depend_on_the_order_participants_are_listed_in(total, weights, seed):
    assert largest_remainder(total, _shuffled(weights, seed)) == largest_remainder(total, weights)


@given(totals, weights)
def test_a_larger_weight_never_gets_a_smaller_part(total, weights):
    parts = largest_remainder(total, weights)
    ranked = sorted(weights, key=weights.get)
    for smaller, larger in itertools.pairwise(ranked):
        if weights[larger] > weights[smaller]:
            assert parts[larger] >= parts[smaller]


@given(totals, weights)
def test_a_zero_weight_gets_nothing(total, weights):
    parts = largest_remainder(total, weights)
    assert all(parts[key] == 0 for key, weight in weights.items() if weight == 0)


@given(st.integers(0, 10**12), st.integers(1, 50))
def test_equal_weights_share_within_one_unit(total, count):
    parts = largest_remainder(total, {key: 1 for key in range(count)}).values()
    assert max(parts) - min(parts) <= 1


def test_ties_go_to_the_smaller_key_so_three_equal_thirds_give_the_extra_unit_to_the_first():
    assert largest_remainder(PPM, {7: 1, 3: 1, 5: 1}) == {7: 333_333, 3: 333_334, 5: 333_333}


def test_proportional_weights_split_exactly_when_they_divide_the_whole():
    assert largest_remainder(PPM, {1: 1, 2: 3}) == {1: 250_000, 2: 750_000}


def test_nothing_to_split_by_is_refused_unless_there_is_nothing_to_split():
    with pytest.raises(SplitError):
        largest_remainder(100, {1: 0, 2: 0})
    assert largest_remainder(0, {1: 0, 2: 0}) == {1: 0, 2: 0}
    with pytest.raises(SplitError):
        largest_remainder(100, {1: -1, 2: 3})
    with pytest.raises(SplitError):
        largest_remainder(-1, {1: 1})


# --- cost shares and amounts -----------------------------------------------------------------------------------


@given(st.sampled_from([BY_QUANTITY, EQUAL, BY_POPULATION]), takers, st.integers())
def test_cost_shares_add_up_to_a_million_parts_whatever_the_order(method, takers, seed):
    shares = cost_shares_ppm(method, takers)
    assert sum(shares.values()) == PPM
    assert cost_shares_ppm(method, _shuffled(takers, seed)) == shares


@given(st.sampled_from([BY_QUANTITY, EQUAL, BY_POPULATION]), takers)
def test_a_participant_that_dropped_out_pays_nothing(method, takers):
    shares = cost_shares_ppm(method, takers)
    assert all(shares[key] == 0 for key, taker in takers.items() if taker.quantity == 0)


@given(takers)
def test_by_quantity_the_shares_follow_the_quantities_taken(takers):
    shares = cost_shares_ppm(BY_QUANTITY, takers)
    total = sum(t.quantity for t in takers.values())
    for key, taker in takers.items():
        assert abs(Fraction(shares[key]) - Fraction(PPM * taker.quantity, total)) < 1


@given(takers)
def test_by_population_the_shares_follow_the_populations_of_those_taking_part(takers):
    shares = cost_shares_ppm(BY_POPULATION, takers)
    taking = {k: t for k, t in takers.items() if t.quantity > 0}
    population = sum(t.population for t in taking.values())
    for key, taker in taking.items():
        assert abs(Fraction(shares[key]) - Fraction(PPM * taker.population, population)) < 1


@given(st.sampled_from([BY_QUANTITY, EQUAL, BY_POPULATION]), takers, st.integers(0, 10**13), st.integers())
def test_amounts_in_ore_add_up_to_the_order_value_whatever_the_order(method, takers, value, seed):
    shares = cost_shares_ppm(method, takers)
    quantities = {key: taker.quantity for key, taker in takers.items()}
    amounts = amounts_ore(method, value, quantities, shares)
    assert sum(amounts.values()) == value
    assert amounts_ore(method, value, _shuffled(quantities, seed), _shuffled(shares, seed)) == amounts
    assert all(amounts[key] == 0 for key, taker in takers.items() if taker.quantity == 0)


@given(takers, st.integers(0, 10**13))
def test_by_quantity_each_amount_is_within_an_ore_of_its_exact_part(takers, value):
    quantities = {key: taker.quantity for key, taker in takers.items()}
    amounts = amounts_ore(BY_QUANTITY, value, quantities, cost_shares_ppm(BY_QUANTITY, takers))
    total = sum(quantities.values())
    for key, quantity in quantities.items():
        assert abs(Fraction(amounts[key]) - Fraction(value * quantity, total)) < 1


def test_by_population_the_amounts_follow_the_shares_fixed_at_ordering():
    assert amounts_ore(BY_POPULATION, 1000, {1: 5, 2: 5}, {1: 250_000, 2: 750_000}) == {1: 250, 2: 750}


def test_a_split_by_population_names_those_whose_population_is_unknown():
    with pytest.raises(SplitError) as caught:
        split_weights(BY_POPULATION, {1: Taker(10, 5000), 2: Taker(5, None), 3: Taker(0, None)})
    assert caught.value.keys == (2,)


def test_nobody_taking_anything_cannot_be_split():
    with pytest.raises(SplitError):
        cost_shares_ppm(EQUAL, {1: Taker(0), 2: Taker(0)})


def test_the_split_methods_are_the_models_cost_split_values():
    from orders.models import CostSplit

    assert set(joint.SPLIT_METHODS) == {member.value for member in CostSplit}


# --- aggregated need -------------------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))
figures = st.lists(
    st.builds(NeedFigure, organisation_id=st.integers(1, 12), branch=st.sampled_from(["healthcare", "social_services", "lss"]),
              need=st.integers(0, 10**6), reported_at=moments),
    max_size=30,
    unique_by=lambda f: (f.organisation_id, f.branch),
)


@given(st.lists(st.integers(1, 15), unique=True, min_size=1, max_size=15), figures)
@settings(max_examples=200)
def test_each_participants_need_is_the_sum_of_its_branches_and_none_without_a_report(ids, figures):
    result = aggregate_need(ids, figures)
    assert [item.organisation_id for item in result] == ids
    for item in result:
        own = [f for f in figures if f.organisation_id == item.organisation_id]
        if own:
            assert item.need == sum(f.need for f in own)
            assert item.first_reported_at == min(f.reported_at for f in own)
            assert item.last_reported_at == max(f.reported_at for f in own)
        else:
            assert item.need is None and not item.has_report
    assert sum(item.need or 0 for item in result) == sum(f.need for f in figures if f.organisation_id in ids)


def test_a_reported_need_of_zero_is_a_report_not_a_missing_one():
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    first, second = aggregate_need([1, 2], [NeedFigure(1, "healthcare", 0, at)])
    assert first.need == 0 and first.has_report
    assert second.need is None and not second.has_report


def test_the_report_times_span_the_branches():
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    (item,) = aggregate_need([1], [NeedFigure(1, "lss", 5, at), NeedFigure(1, "healthcare", 7, at + timedelta(days=2))])
    assert (item.need, item.first_reported_at, item.last_reported_at, item.branches) == (
        12, at, at + timedelta(days=2), ("healthcare", "lss"))


def test_the_arithmetic_imports_nothing_from_flask_sqlalchemy_or_the_application():
    tree = ast.parse(Path(joint.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in ("flask", "flask_babel", "sqlalchemy", "app", "orders")}
