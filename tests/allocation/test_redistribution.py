"""The redistribution planner: least-distance transfers in whole packs, checked against other solvers."""
from __future__ import annotations

import ast
import math
import random
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from allocation.redistribution import Transfer, great_circle_km, plan_transfers

MODULE = Path(__file__).resolve().parents[2] / "allocation" / "redistribution.py"


@pytest.fixture(autouse=True, scope="module")
def _cp_sat_loaded():
    # The planner imports CP-SAT on first need (about 0.4 s); were that inside a hypothesis example, it would
    # overrun the example's deadline on whichever example happened to come first.
    import ortools.sat.python.cp_model  # noqa: F401
# Distances are rounded to a grid on which the largest is 2**20..2**21 steps (see plan_transfers).
GRID = 2.0**-20


@st.composite
def instances(draw, integer_distances: bool = False, max_side: int = 6, max_amount: int = 60):
    """Surpluses, deficits, a distance table and a pack size; integer distances make many ties."""
    sources = [f"s{i}" for i in range(draw(st.integers(1, max_side)))]
    targets = [f"t{j}" for j in range(draw(st.integers(1, max_side)))]
    amounts = st.integers(0, max_amount)
    values = (st.integers(0, 9) if integer_distances
              else st.floats(0, 1000, allow_nan=False, allow_infinity=False, allow_subnormal=False))
    return {
        "surpluses": {s: draw(amounts) for s in sources},
        "deficits": {t: draw(amounts) for t in targets},
        "km": {(s, t): draw(values) for s in sources for t in targets},
        "pack_size": draw(st.integers(1, 7)),
    }


def plan(case, **options) -> list[Transfer]:
    return plan_transfers(case["surpluses"], case["deficits"], lambda s, t: case["km"][s, t],
                          pack_size=case["pack_size"], **options)


def packs(case):
    """Packs each source can give and each target can take."""
    size = case["pack_size"]
    return ({s: q // size for s, q in case["surpluses"].items()},
            {t: -(-q // size) for t, q in case["deficits"].items()})


def cost_in_packs(case, transfers) -> float:
    return sum(t.quantity // case["pack_size"] * case["km"][t.source, t.target] for t in transfers)


def highs_optimum(case) -> float:
    """The least cost of moving the most packs, by scipy's HiGHS on the LP (integral: totally unimodular)."""
    give, take = packs(case)
    sources, targets = list(give), list(take)
    m, n = len(sources), len(targets)
    moved = min(sum(give.values()), sum(take.values()))
    if moved == 0:
        return 0.0
    bounds = np.zeros((m + n, m * n))
    for i in range(m):
        bounds[i, i * n:(i + 1) * n] = 1
    for j in range(n):
        bounds[m + j, j::n] = 1
    result = linprog([case["km"][s, t] for s in sources for t in targets], A_ub=bounds,
                     b_ub=[give[s] for s in sources] + [take[t] for t in targets],
                     A_eq=np.ones((1, m * n)), b_eq=[moved], method="highs")
    assert result.status == 0, result.message
    return result.fun


def networkx_optimum(case) -> tuple[int, int]:
    """(packs moved, cost) of networkx's maximum flow of least cost; needs integer distances."""
    give, take = packs(case)
    graph = nx.DiGraph()
    for s, count in give.items():
        graph.add_edge("from", s, capacity=count, weight=0)
        for t in take:
            graph.add_edge(s, t, weight=case["km"][s, t])
    for t, count in take.items():
        graph.add_edge(t, "to", capacity=count, weight=0)
    flow = nx.max_flow_min_cost(graph, "from", "to")
    return sum(flow["from"].values()), nx.cost_of_flow(graph, flow)


def is_forest(transfers) -> bool:
    graph = nx.Graph()
    graph.add_edges_from((("source", t.source), ("target", t.target)) for t in transfers)
    return graph.number_of_edges() == 0 or nx.is_forest(graph)


def small(transfers, min_transfer: int) -> int:
    return sum(1 for t in transfers if t.quantity < min_transfer)


# Optimality, packs and the shape of the plan

@given(instances())
def test_a_plan_moves_the_most_packs_at_the_least_distance_that_highs_finds(case):
    transfers = plan(case)
    give, take = packs(case)
    most = min(sum(give.values()), sum(take.values()))
    assert sum(t.quantity for t in transfers) == case["pack_size"] * most
    largest = max(case["km"].values())
    moved = sum(t.quantity // case["pack_size"] for t in transfers)
    assert cost_in_packs(case, transfers) == pytest.approx(highs_optimum(case), rel=1e-9,
                                                           abs=moved * largest * GRID + 1e-9)


@given(instances(integer_distances=True))
def test_with_whole_kilometres_the_cost_equals_networkx_min_cost_flow_exactly(case):
    transfers = plan(case)
    moved, cost = networkx_optimum(case)
    assert sum(t.quantity for t in transfers) == moved * case["pack_size"]
    assert cost_in_packs(case, transfers) == cost


@given(instances(integer_distances=True))
def test_transfers_are_whole_packs_within_what_each_side_can_give_and_take(case):
    transfers = plan(case)
    give, take = packs(case)
    size = case["pack_size"]
    assert all(t.quantity > 0 and t.quantity % size == 0 for t in transfers)
    for source, count in give.items():
        assert sum(t.quantity for t in transfers if t.source == source) <= count * size
    for target, count in take.items():
        assert sum(t.quantity for t in transfers if t.target == target) <= count * size
    assert len({(t.source, t.target) for t in transfers}) == len(transfers)


def test_a_source_never_breaks_a_pack_and_a_target_may_receive_its_last_pack_whole():
    transfers = plan_transfers({"a": 99}, {"b": 91}, lambda s, t: 1.0, pack_size=10)
    assert transfers == [Transfer("a", "b", 90)]
    transfers = plan_transfers({"a": 200}, {"b": 91}, lambda s, t: 1.0, pack_size=10)
    assert transfers == [Transfer("a", "b", 100)]
    assert plan_transfers({"a": 9}, {"b": 50}, lambda s, t: 1.0, pack_size=10) == []


def test_the_nearest_surplus_serves_a_deficit_first():
    seats = {"near": 10.0, "far": 500.0, "need": 0.0}
    transfers = plan_transfers({"near": 30, "far": 100}, {"need": 50}, lambda s, t: abs(seats[s] - seats[t]))
    assert transfers == [Transfer("far", "need", 20), Transfer("near", "need", 30)]


def test_moving_the_most_packs_comes_before_distance():
    # Sending b's packs to y is dearer than to x, but x alone cannot take them all.
    km = {("a", "x"): 1, ("a", "y"): 100, ("b", "x"): 1, ("b", "y"): 100}
    transfers = plan_transfers({"a": 5, "b": 5}, {"x": 4, "y": 6}, lambda s, t: km[s, t])
    assert sum(t.quantity for t in transfers) == 10


@given(instances(integer_distances=True, max_amount=30))
def test_a_plan_is_basic_its_transfers_form_a_forest(case):
    for min_transfer in (0, 2 * case["pack_size"] + 1):
        transfers = plan(case, min_transfer=min_transfer)
        assert len(transfers) <= len(case["surpluses"]) + len(case["deficits"]) - 1
        assert is_forest(transfers)


def test_when_every_distance_is_equal_the_plan_is_still_a_forest():
    rng = random.Random(5)
    surpluses = {f"s{i}": rng.randint(1, 500) for i in range(40)}
    deficits = {f"t{j}": rng.randint(1, 500) for j in range(45)}
    transfers = plan_transfers(surpluses, deficits, lambda s, t: 7.0, pack_size=3)
    assert len(transfers) <= 40 + 45 - 1
    assert is_forest(transfers)


def test_nothing_to_give_or_nothing_needed_plans_nothing():
    assert plan_transfers({}, {"b": 5}, lambda s, t: 1.0) == []
    assert plan_transfers({"a": 5}, {}, lambda s, t: 1.0) == []
    assert plan_transfers({"a": 0}, {"b": 0}, lambda s, t: 1.0) == []


def test_distance_is_only_asked_for_organisations_with_a_pack_to_give_or_take():
    asked = []

    def distance(source, target):
        asked.append((source, target))
        return 1.0

    plan_transfers({"a": 20, "tiny": 9}, {"b": 20, "none": 0}, distance, pack_size=10)
    assert asked == [("a", "b")]


# min_transfer

def test_a_small_transfer_from_an_organisation_at_the_same_seat_is_avoided():
    # The region and its seat municipality share coordinates; the region alone can cover the need.
    seats = {"region": (59.3293, 18.0686), "municipality": (59.3293, 18.0686), "need": (57.7089, 11.9746)}

    def distance(source, target):
        return great_circle_km(*seats[source], *seats[target])

    transfers = plan_transfers({"region": 1000, "municipality": 20}, {"need": 510}, distance,
                               pack_size=10, min_transfer=100)
    assert transfers == [Transfer("region", "need", 510)]


def test_two_co_located_sources_split_a_need_so_that_neither_sends_a_small_transfer():
    # 5 + 2 would leave a transfer of 2 packs; 4 + 3 costs the same and has none below 3.
    transfers = plan_transfers({"a": 5, "b": 5}, {"x": 7}, lambda s, t: 3.0, min_transfer=3)
    assert sorted(t.quantity for t in transfers) == [3, 4]


def test_an_equal_cost_exchange_replaces_a_small_transfer():
    # Everything in one place: {a→x 2, a→y 8, b→x 5} and {a→x 7, a→y 3, b→y 5} cost the same.
    transfers = plan_transfers({"a": 10, "b": 5}, {"x": 7, "y": 8}, lambda s, t: 0, min_transfer=3)
    assert small(transfers, 3) == 0
    assert sum(t.quantity for t in transfers) == 15


def test_an_unavoidable_small_transfer_is_still_made():
    # Moving the most packs comes first: the only pack there is goes, however small.
    assert plan_transfers({"a": 2}, {"b": 9}, lambda s, t: 1.0, min_transfer=5) == [Transfer("a", "b", 2)]
    # ... and so does distance: the small transfer from nearby beats a large one from far away.
    km = {("near", "b"): 1.0, ("far", "b"): 50.0}
    transfers = plan_transfers({"near": 2, "far": 100}, {"b": 9}, lambda s, t: km[s, t], min_transfer=5)
    assert transfers == [Transfer("far", "b", 7), Transfer("near", "b", 2)]


@given(instances(integer_distances=True, max_side=5, max_amount=25), st.integers(0, 12))
def test_min_transfer_keeps_the_cost_and_never_adds_small_transfers(case, min_transfer):
    plain = plan(case)
    preferred = plan(case, min_transfer=min_transfer)
    assert sum(t.quantity for t in preferred) == sum(t.quantity for t in plain)
    assert cost_in_packs(case, preferred) == cost_in_packs(case, plain)
    assert small(preferred, min_transfer) <= small(plain, min_transfer)
    assert is_forest(preferred)


def fewest_small_transfers(case, min_transfer: int) -> tuple[float, int]:
    """(cost, small transfers) of the best plan by brute force: every whole-pack plan that moves the most
    packs and whose transfers form a forest; least cost first, then fewest transfers below ``min_transfer``."""
    give, take = packs(case)
    sources, targets = list(give), list(take)
    moved = min(sum(give.values()), sum(take.values()))
    size = case["pack_size"]
    best = None

    def splits(total, room):
        if not room:
            if total == 0:
                yield ()
            return
        for first in range(min(total, room[0]) + 1):
            for rest in splits(total - first, room[1:]):
                yield (first, *rest)

    def place(index, room, transfers):
        nonlocal best
        if index == len(sources):
            if sum(t.quantity for t in transfers) == moved * size and is_forest(transfers):
                key = (cost_in_packs(case, transfers), small(transfers, min_transfer))
                best = key if best is None or key < best else best
            return
        source = sources[index]
        for sent in range(give[source] + 1):
            for split in splits(sent, [room[t] for t in targets]):
                place(index + 1, {t: room[t] - x for t, x in zip(targets, split)},
                      transfers + [Transfer(source, t, x * size) for t, x in zip(targets, split) if x])

    place(0, dict(take), [])
    return best


def tiny_tie_instance(seed: int):
    """2-3 sources, 2-4 targets, up to 5 packs each, distances 0 or 1: many plans of equal cost."""
    rng = random.Random(seed)
    case = {"surpluses": {f"s{i}": rng.randint(0, 5) for i in range(rng.randint(2, 3))},
            "deficits": {f"t{j}": rng.randint(0, 5) for j in range(rng.randint(2, 4))},
            "pack_size": 1}
    case["km"] = {(s, t): rng.choice([0, 0, 1]) for s in case["surpluses"] for t in case["deficits"]}
    return case, rng.randint(2, 4)


@pytest.mark.parametrize(("surpluses", "deficits", "km", "min_transfer"), [
    # Instances on which the local search alone stopped with one small transfer too many.
    ({"s0": 5, "s1": 6, "s2": 1}, {"t0": 2, "t1": 4}, {"t0": [0, 1, 1], "t1": [2, 2, 2]}, 3),
    ({"s0": 2, "s1": 3}, {"t0": 0, "t1": 5, "t2": 4, "t3": 1}, {"t0": [1, 1], "t1": [0, 0], "t2": [0, 0],
                                                               "t3": [0, 0]}, 2),
    ({"s0": 5, "s1": 3, "s2": 2}, {"t0": 2, "t1": 4, "t2": 3}, {"t0": [0, 0, 0], "t1": [1, 1, 1],
                                                               "t2": [0, 0, 0]}, 3),
    ({"s0": 4, "s1": 5}, {"t0": 5, "t1": 4, "t2": 3, "t3": 1}, {"t0": [0, 0], "t1": [0, 0], "t2": [0, 1],
                                                               "t3": [0, 0]}, 2),
    ({"s0": 3, "s1": 5, "s2": 5}, {"t0": 3, "t1": 5}, {"t0": [1, 1, 0], "t1": [0, 0, 0]}, 3),
])
def test_where_exchanges_get_stuck_the_plan_still_has_the_fewest_small_transfers(surpluses, deficits, km,
                                                                                 min_transfer):
    case = {"surpluses": surpluses, "deficits": deficits, "pack_size": 1,
            "km": {(s, t): km[t][index] for index, s in enumerate(surpluses) for t in deficits}}
    transfers = plan(case, min_transfer=min_transfer)
    assert (cost_in_packs(case, transfers), small(transfers, min_transfer)) == fewest_small_transfers(
        case, min_transfer)
    assert is_forest(transfers)


@pytest.mark.parametrize("seed", range(150))
def test_min_transfer_leaves_the_fewest_small_transfers_that_brute_force_finds(seed):
    case, min_transfer = tiny_tie_instance(seed)
    transfers = plan(case, min_transfer=min_transfer)
    assert (cost_in_packs(case, transfers), small(transfers, min_transfer)) == fewest_small_transfers(
        case, min_transfer)
    assert is_forest(transfers)


def test_the_plan_stays_a_forest_even_where_only_a_cycle_avoids_a_small_transfer():
    # Sending 5 and 6 from each source has no transfer under 5 but is a cycle; every forest has one of 1.
    transfers = plan_transfers({"a": 11, "b": 11}, {"x": 10, "y": 12}, lambda s, t: 1.0, min_transfer=5)
    assert is_forest(transfers)
    assert sorted(t.quantity for t in transfers) == [1, 10, 11]


# Determinism

@given(instances(integer_distances=True), st.randoms(use_true_random=False), st.integers(0, 10))
def test_the_plan_does_not_depend_on_the_order_of_the_mappings(case, rng, min_transfer):
    shuffled = dict(case)
    for side in ("surpluses", "deficits"):
        items = list(case[side].items())
        rng.shuffle(items)
        shuffled[side] = dict(items)
    transfers = plan(case, min_transfer=min_transfer)
    assert plan(shuffled, min_transfer=min_transfer) == transfers
    assert transfers == sorted(transfers, key=lambda t: (t.source, t.target))


def test_ids_may_be_any_comparable_values():
    transfers = plan_transfers({(2, "b"): 4, (1, "a"): 4}, {7: 3, 3: 3}, lambda s, t: s[0] * t)
    assert [(t.source, t.target) for t in transfers] == sorted((t.source, t.target) for t in transfers)
    assert sum(t.quantity for t in transfers) == 6


def test_a_transfer_is_immutable():
    transfer = Transfer("a", "b", 5)
    with pytest.raises(FrozenInstanceError):
        transfer.quantity = 6


# Bad input

def one_km(source, target):
    return 1.0


@pytest.mark.parametrize(("surpluses", "deficits", "options", "message"), [
    ({"a": -1}, {"b": 5}, {}, "surplus of 'a' must be at least 0"),
    ({"a": 5}, {"b": -3}, {}, "deficit of 'b' must be at least 0"),
    ({"a": 5.0}, {"b": 5}, {}, "surplus of 'a' must be a whole number"),
    ({"a": 5}, {"b": "5"}, {}, "deficit of 'b' must be a whole number"),
    ({"a": True}, {"b": 5}, {}, "surplus of 'a' must be a whole number"),
    ({"a": 5}, {"b": 5}, {"pack_size": 0}, "pack_size must be at least 1"),
    ({"a": 5}, {"b": 5}, {"pack_size": -2}, "pack_size must be at least 1"),
    ({"a": 5}, {"b": 5}, {"pack_size": 2.5}, "pack_size must be a whole number"),
    ({"a": 5}, {"b": 5}, {"min_transfer": -1}, "min_transfer must be at least 0"),
    ({"a": 5}, {"b": 5}, {"min_transfer": 1.5}, "min_transfer must be a whole number"),
    ({"a": 5, "b": 1}, {"b": 5}, {}, "both a surplus and a deficit: 'b'"),
    ({"a": 5, 1: 5}, {"b": 5}, {}, "must be comparable"),
])
def test_bad_amounts_and_options_are_refused(surpluses, deficits, options, message):
    with pytest.raises(ValueError, match=message):
        plan_transfers(surpluses, deficits, one_km, **options)


@pytest.mark.parametrize("value", [-0.5, math.nan, math.inf, -math.inf, None, "3", True, 10**400],
                         ids=["negative", "nan", "inf", "-inf", "None", "str", "bool", "huge int"])
def test_a_distance_that_is_not_a_finite_non_negative_number_is_refused(value):
    km = {("a", "x"): 1.0, ("a", "y"): value}
    with pytest.raises(ValueError, match=r"distance\('a', 'y'\) returned"):
        plan_transfers({"a": 5}, {"x": 2, "y": 2}, lambda s, t: km[s, t])


# Great-circle distance

@pytest.mark.parametrize(("first", "second", "km"), [
    ((59.3293, 18.0686), (57.7089, 11.9746), 397),  # Stockholm–Göteborg, about 398 km
    ((59.3293, 18.0686), (55.6050, 13.0038), 513),  # Stockholm–Malmö
    ((55.6050, 13.0038), (67.8558, 20.2253), 1400),  # Malmö–Kiruna
])
def test_great_circle_distances_between_swedish_seats_match_the_known_figures(first, second, km):
    assert great_circle_km(*first, *second) == pytest.approx(km, rel=0.01)
    assert great_circle_km(*second, *first) == pytest.approx(great_circle_km(*first, *second))


def test_great_circle_distance_follows_the_mean_earth_radius():
    radius = 6371.0088
    assert great_circle_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * radius)
    assert great_circle_km(0, 0, 0, 180) == pytest.approx(math.pi * radius)
    assert great_circle_km(0, 0, 0, 1) == pytest.approx(111.19508, abs=1e-4)
    assert great_circle_km(59.3293, 18.0686, 59.3293, 18.0686) == 0
    assert great_circle_km(0, 179.5, 0, -179.5) == pytest.approx(great_circle_km(0, 0, 0, 1))


@pytest.mark.parametrize("coordinates", [(91, 0, 0, 0), (0, 0, -90.5, 0), (math.nan, 0, 0, 0),
                                         (0, math.inf, 0, 0), (0, 0, 0, "18"), (None, 0, 0, 0)])
def test_impossible_coordinates_are_refused(coordinates):
    with pytest.raises(ValueError, match="coordinates"):
        great_circle_km(*coordinates)


# Purity

def test_the_planner_imports_nothing_from_flask_sqlalchemy_or_the_app():
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "collections", "dataclasses", "itertools", "math", "numbers", "numpy",
                        "ortools"}
    # Loaded on its own (not through the allocation package, whose blueprint needs Flask):
    check = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('redistribution', {str(MODULE)!r})\n"
        "module = sys.modules['redistribution'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.plan_transfers({'a': 3}, {'b': 2}, lambda s, t: 1.0)\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'app', 'allocation', 'werkzeug', 'pandas'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
