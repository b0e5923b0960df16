"""The allocation engine by example, with the references the property tests and the benchmark share: a plain
pack-by-pack oracle and linear programs solved by scipy's HiGHS."""

from __future__ import annotations

import ast
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from allocation import engine
from allocation.engine import Claim, allocate, explain
from tests.support import without_shared_transaction  # noqa: F401  (the fixture)

ENGINE_SOURCE = Path(engine.__file__)


@pytest.fixture(autouse=True)
def _fresh_globals_per_request():
    yield


# ---------------------------------------------------------------------------------------------------------
# References


def pack_by_pack(supply, claims, *, pack_size=1, policy="days_of_supply", horizon_days=21) -> dict:
    """The rules of issue 6 read literally: one pack at a time to the lowest level (days of supply) or the
    largest quotient (Sainte-Laguë), ties to the smaller id as a string, nobody beyond their cap."""
    total = pack_size * (min(supply, sum(c.need for c in claims)) // pack_size)
    cap = {c.id: -(-c.need // pack_size) * pack_size for c in claims}
    given = {c.id: 0 for c in claims}

    def priority(claim):
        if policy == "days_of_supply":
            daily = Fraction(claim.daily_use) if claim.daily_use > 0 else Fraction(claim.need, horizon_days)
            return Fraction(claim.stock + given[claim.id]) / (Fraction(claim.weight) * daily), str(claim.id)
        basis = claim.need if policy == "proportional" else claim.population
        return -Fraction(basis, 2 * (given[claim.id] // pack_size) + 1), str(claim.id)

    for _ in range(total // pack_size):
        taker = min((c for c in claims if given[c.id] < cap[c.id]), key=priority)
        given[taker.id] += pack_size
    return given


def continuous_problem(claims, *, pack_size=1, policy="days_of_supply", horizon_days=21, supply=None):
    """(bases, rates, caps, total) of the continuous problem for the claims that can be ranked by level:
    level_i = (base_i + a_i) / rate_i with 0 ≤ a_i ≤ cap_i and Σ a_i = total (the engine's total)."""
    total = pack_size * (min(supply, sum(c.need for c in claims)) // pack_size)
    bases, rates, caps = [], [], []
    for c in claims:
        cap = -(-c.need // pack_size) * pack_size
        if not cap:
            continue
        if policy == "days_of_supply":
            daily = float(c.daily_use) if c.daily_use > 0 else c.need / horizon_days
            bases.append(float(c.stock))
            rates.append(float(c.weight) * daily)
        else:
            bases.append(0.0)
            rates.append(float(c.need if policy == "proportional" else c.population))
        caps.append(float(cap))
    return np.array(bases), np.array(rates), np.array(caps), float(total)


def _max_min_lp(bases, rates, caps, total, fixed):
    """Maximise t with t ≤ level_i for the claims not in ``fixed`` (index → allocation), Σ a = total."""
    n = len(bases)
    free = [i for i in range(n) if i not in fixed]
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    a_ub = np.zeros((len(free), n + 1))
    for row, i in enumerate(free):
        a_ub[row, i] = -1.0
        a_ub[row, -1] = rates[i]
    a_eq = np.ones((1, n + 1))
    a_eq[0, -1] = 0.0
    bounds = [(fixed[i], fixed[i]) if i in fixed else (0.0, caps[i]) for i in range(n)] + [(None, None)]
    result = linprog(
        cost, A_ub=a_ub, b_ub=bases[free], A_eq=a_eq, b_eq=[total], bounds=bounds, method="highs"
    )
    assert result.status == 0, result.message
    return free, result


def max_min_level(bases, rates, caps, total) -> float:
    """The largest minimum level, by one linear program (HiGHS)."""
    _, result = _max_min_lp(bases, rates, caps, total, {})
    return -result.fun


def sequential_lp(bases, rates, caps, total) -> np.ndarray:
    """The continuous lexicographic max-min levels by a sequence of linear programs (HiGHS): maximise the
    minimum level, fix the claims whose constraint has a positive dual (they cannot rise in any optimum),
    repeat until every claim is fixed or the total is spent (then the rest keep their stock)."""
    n = len(bases)
    fixed: dict[int, float] = {}
    while len(fixed) < n:
        free, result = _max_min_lp(bases, rates, caps, total, fixed)
        level = -result.fun
        allocations = result.x[:n]
        blocking = [i for i, dual in zip(free, result.ineqlin.marginals) if dual < -1e-9]
        if not blocking:  # degenerate duals: fix the tight ones
            blocking = [
                i for i in free if rates[i] * level - allocations[i] >= bases[i] - 1e-9 * (1 + bases[i])
            ]
        for i in blocking:
            fixed[i] = float(allocations[i])
        if total - sum(fixed.values()) <= 1e-9 * max(total, 1.0):
            for i in range(n):
                fixed.setdefault(i, 0.0)
    return np.array([(bases[i] + fixed[i]) / rates[i] for i in range(n)])


def claims_of(*rows, **common) -> list[Claim]:
    """Claims from (id, need, stock, daily_use) rows."""
    return [Claim(id=i, need=need, stock=stock, daily_use=daily, **common) for i, need, stock, daily in rows]


# ---------------------------------------------------------------------------------------------------------
# Days of supply


def test_packs_go_first_to_the_claim_with_the_fewest_days_of_supply():
    # a has 2 days, b 10 days; 8 units lift a to 10 days (a: 10 + 40 = 50 over 5 a day = 10 days, a tie
    # that the smaller id wins), then they alternate.
    claims = claims_of(("a", 100, 10, 5), ("b", 100, 50, 5))
    assert allocate(40, claims) == {"a": 40, "b": 0}
    assert allocate(41, claims) == {"a": 41, "b": 0}
    assert allocate(42, claims) == {"a": 41, "b": 1}
    assert allocate(42, claims) == pack_by_pack(42, claims)


def test_a_claim_without_consumption_uses_its_need_over_the_horizon_as_daily_use():
    # b reports no consumption but needs 210 over 21 days: 10 a day, 0 days of supply like a.
    claims = claims_of(("a", 210, 0, 10), ("b", 210, 0, 0))
    assert allocate(100, claims) == {"a": 50, "b": 50}
    assert allocate(100, claims, horizon_days=42) == {"a": 67, "b": 33}  # b now uses 5 a day
    assert allocate(100, claims, horizon_days=42) == pack_by_pack(100, claims, horizon_days=42)


def test_a_claim_with_no_need_gets_nothing_even_with_no_stock():
    claims = claims_of(("a", 0, 0, 50), ("b", 30, 100, 1))
    assert allocate(1000, claims) == {"a": 0, "b": 30}


def test_a_weight_of_two_means_twice_the_days():
    claims = [
        Claim(id="double", need=1000, stock=0, daily_use=10, weight=2),
        Claim(id="single", need=1000, stock=0, daily_use=10),
    ]
    result = allocate(300, claims)
    assert result == {"double": 200, "single": 100}  # 20 days against 10
    assert result == pack_by_pack(300, claims)


def test_every_allocation_is_whole_packs_and_a_cap_is_the_need_rounded_up_to_a_pack():
    claims = claims_of(("a", 7, 0, 1), ("b", 100, 0, 1))
    result = allocate(1000, claims, pack_size=5)
    assert result == {"a": 10, "b": 95}  # a's cap is two packs; b gets what the total allows
    assert all(units % 5 == 0 for units in result.values())


def test_the_total_is_whole_packs_of_the_smaller_of_supply_and_the_summed_needs():
    # Total need is 7 + 100 = 107 (the needs, not the caps 10 + 100): 21 packs of 5 = 105, not 22 packs.
    claims = claims_of(("a", 7, 0, 1), ("b", 100, 0, 1))
    assert sum(allocate(1000, claims, pack_size=5).values()) == 105
    assert sum(allocate(104, claims, pack_size=5).values()) == 100
    assert sum(allocate(4, claims, pack_size=5).values()) == 0
    # Even unlimited supply does not fill both caps when that would exceed the total need.
    assert allocate(10**6, claims_of(("a", 5, 0, 1), ("b", 5, 0, 1)), pack_size=10) == {"a": 10, "b": 0}


def test_ties_go_to_the_smaller_id_compared_as_strings():
    claims = claims_of((9, 10, 0, 1), (10, 10, 0, 1))  # "10" < "9"
    assert allocate(1, claims) == {9: 0, 10: 1}
    assert allocate(1, list(reversed(claims))) == {10: 1, 9: 0}


def test_levels_closer_than_float_precision_are_ranked_exactly():
    # b's daily use is one unit in the last place above a's: b has (a hair) fewer days and must go first,
    # although a wins every tie. The same with a and b swapped in the data.
    slightly_more = float(np.nextafter(0.1, 1.0))
    claims = claims_of(("a", 10, 1000, 0.1), ("b", 10, 1000, slightly_more))
    assert allocate(1, claims) == {"a": 0, "b": 1}
    claims = claims_of(("a", 10, 1000, slightly_more), ("b", 10, 1000, 0.1))
    assert allocate(1, claims) == {"a": 1, "b": 0}
    # A tie floats cannot see: 3 / (3/10) is exactly 10, as is a's 10 / 1, and a wins it.
    claims = claims_of(("a", 10, 10, 1), ("b", 10, 3, Fraction(3, 10)))
    assert allocate(1, claims) == {"a": 1, "b": 0}
    assert allocate(3, claims) == pack_by_pack(3, claims)


def test_huge_numbers_are_allocated_exactly():
    big = 10**30
    claims = [
        Claim(id="a", need=5 * big, stock=big, daily_use=float(big)),
        Claim(id="b", need=5 * big, stock=big + 1, daily_use=float(big)),
        Claim(id="c", need=5 * big, stock=3 * big, daily_use=Fraction(big, 3)),
    ]
    for supply in (0, big, 3 * big, 7 * big + 5, 20 * big):
        assert allocate(supply, claims, pack_size=big) == pack_by_pack(supply, claims, pack_size=big)
    enormous = 10**400  # beyond any float
    claims = claims_of(("a", enormous, enormous, enormous), ("b", enormous, enormous - 1, enormous))
    assert allocate(2 * enormous, claims, pack_size=enormous // 2) == {"a": enormous, "b": enormous}
    assert allocate(enormous // 2, claims, pack_size=enormous // 2) == {"a": 0, "b": enormous // 2}


def test_the_fast_method_hands_out_only_the_last_packs_one_by_one():
    # A million packs: pack by pack would take seconds; the threshold method answers at once.
    claims = [Claim(id=f"{i:03d}", need=100_000, stock=i * 1000, daily_use=1 + i % 7) for i in range(300)]
    result = allocate(10**6, claims)
    assert sum(result.values()) == 10**6
    problem = engine._Problem.build(10**6, claims, 1, "days_of_supply", 21)
    assert problem.allocation(problem.hand_out(exact=True)) == result


# ---------------------------------------------------------------------------------------------------------
# Sainte-Laguë


def test_proportional_apportions_like_the_riksdags_seats():
    # The textbook Sainte-Laguë example: 100,000, 80,000, 30,000 and 20,000 votes, 8 seats -> 3, 3, 1, 1.
    claims = claims_of(("A", 100_000, 0, 0), ("B", 80_000, 0, 0), ("C", 30_000, 0, 0), ("D", 20_000, 0, 0))
    assert allocate(8, claims, policy="proportional") == {"A": 3, "B": 3, "C": 1, "D": 1}
    assert allocate(8, claims, policy="proportional") == pack_by_pack(8, claims, policy="proportional")


def test_proportional_respects_caps_packs_and_ties():
    # Needs 3, 5, 5 in packs of 2: caps 4, 6, 6; total need 13, so 6 packs. Quotients: b and c 5, a 3,
    # b and c 5/3, then a three-way tie at 1 (a's second pack, b's and c's third) that a wins.
    claims = claims_of(("a", 3, 0, 0), ("b", 5, 0, 0), ("c", 5, 0, 0))
    assert allocate(100, claims, policy="proportional", pack_size=2) == {"a": 4, "b": 4, "c": 4}
    assert allocate(2, claims, policy="proportional", pack_size=2) == {"a": 0, "b": 2, "c": 0}


def test_population_shares_by_inhabitants_within_the_needs():
    claims = [
        Claim(id="big", need=1000, stock=0, daily_use=0, population=300_000),
        Claim(id="small", need=1000, stock=0, daily_use=0, population=100_000),
        Claim(id="sated", need=0, stock=0, daily_use=0, population=900_000),
    ]
    assert allocate(400, claims, policy="population") == {"big": 300, "small": 100, "sated": 0}


def test_a_claim_without_population_only_gets_what_the_others_cannot_take():
    claims = [
        Claim(id="b", need=10, stock=0, daily_use=0, population=0),
        Claim(id="a", need=10, stock=0, daily_use=0, population=0),
        Claim(id="c", need=10, stock=0, daily_use=0, population=5),
    ]
    assert allocate(15, claims, policy="population") == {"b": 0, "a": 5, "c": 10}
    assert allocate(25, claims, policy="population") == pack_by_pack(25, claims, policy="population")


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"need": -1}, r"claim 'b': need must be zero or more"),
        ({"stock": -5}, r"claim 'b': stock must be zero or more"),
        ({"need": 2.5}, r"claim 'b': need must be a whole number"),
        ({"stock": "12"}, r"claim 'b': stock must be a whole number"),
        ({"population": -1}, r"claim 'b': population must be zero or more"),
        ({"daily_use": -0.5}, r"claim 'b': daily_use must be zero or more"),
        ({"daily_use": float("nan")}, r"claim 'b': daily_use must be a finite number"),
        ({"daily_use": float("inf")}, r"claim 'b': daily_use must be a finite number"),
        ({"weight": 0}, r"claim 'b': weight must be positive"),
        ({"weight": -1.0}, r"claim 'b': weight must be positive"),
        ({"id": "a"}, r"duplicate claim id 'a'"),
    ],
)
def test_a_bad_claim_is_refused_naming_the_claim_and_the_field(change, message):
    fields = {"id": "b", "need": 10, "stock": 0, "daily_use": 1.0} | change
    claims = [Claim(id="a", need=10, stock=0, daily_use=1.0), Claim(**fields)]
    with pytest.raises(ValueError, match=message):
        allocate(10, claims)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"supply": -1}, "supply must be zero or more"),
        ({"supply": 10.5}, "supply must be a whole number"),
        ({"pack_size": 0}, "pack size must be positive"),
        ({"pack_size": -5}, "pack size must be positive"),
        ({"horizon_days": 0}, "horizon days must be positive"),
        ({"policy": "alphabetical"}, "unknown policy 'alphabetical'"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    arguments = {"supply": 10} | arguments
    with pytest.raises(ValueError, match=message):
        allocate(arguments.pop("supply"), claims_of(("a", 10, 0, 1)), **arguments)


def test_ids_that_read_the_same_as_strings_are_duplicates():
    with pytest.raises(ValueError, match="duplicate claim id '1'.*1 came first"):
        allocate(10, claims_of((1, 10, 0, 1), ("1", 10, 0, 1)))


def test_whole_numbers_in_other_types_are_accepted():
    from decimal import Decimal

    claims = [Claim(id="a", need=10.0, stock=Fraction(4), daily_use=Decimal("0.5"), weight=Fraction(3, 2))]
    assert allocate(Decimal(7), claims) == {"a": 7}


# ---------------------------------------------------------------------------------------------------------
# Explanation


def test_the_explanation_gives_days_before_and_after_the_exact_share_and_caps():
    claims = claims_of(("a", 30, 10, 5), ("b", 100, 50, 5), ("c", 0, 7, 0))
    result = explain(100, claims, pack_size=10)
    a, b, c = result.claims
    assert result.allocation == allocate(100, claims, pack_size=10) == {"a": 30, "b": 70, "c": 0}
    assert (a.days_before, a.days_after, a.cap, a.capped) == (2, 8, 30, True)
    assert (b.days_before, b.days_after, b.capped) == (10, 24, False)
    # Continuously a fills to its cap (8 days) and b takes the rest: 70 units, 24 days.
    assert (a.continuous_share, b.continuous_share, c.continuous_share) == (30, 70, 0)
    assert result.continuous_level == 24 and isinstance(result.continuous_level, Fraction)
    assert (c.days_before, c.level, c.capped) == (None, None, False)
    assert (result.total, result.packs, result.remaining, result.unmet_need) == (100, 10, 0, 30)
    assert (result.total_need, result.total_cap) == (130, 130)
    assert result.threshold_level == Fraction(110, 5)  # b took the last pack at 22 days


def test_the_continuous_share_is_exact_and_not_rounded_to_packs():
    claims = claims_of(("a", 100, 0, 1), ("b", 100, 0, 2))
    result = explain(10, claims, pack_size=5)
    assert [c.continuous_share for c in result.claims] == [Fraction(10, 3), Fraction(20, 3)]
    assert result.continuous_level == Fraction(10, 3)
    assert [c.allocated for c in result.claims] == [5, 5]


def test_the_explanation_of_a_sainte_lague_policy_shares_in_proportion():
    claims = claims_of(("A", 100_000, 0, 0), ("B", 80_000, 0, 0), ("C", 30_000, 0, 0), ("D", 20_000, 0, 0))
    result = explain(8, claims, policy="proportional")
    assert [c.continuous_share for c in result.claims] == [Fraction(8 * v, 230) for v in (100, 80, 30, 20)]
    assert result.threshold_level == 16_000  # B's third seat: 80,000 / 5
    assert [c.level for c in result.claims] == [
        Fraction(3, 100_000),
        Fraction(3, 80_000),
        Fraction(1, 30_000),
        Fraction(1, 20_000),
    ]


def test_the_continuous_level_matches_the_linear_program():
    claims = claims_of(("a", 300, 10, 5), ("b", 100, 50, 5), ("c", 40, 0, 2.5), ("d", 500, 900, 3))
    for supply in (0, 50, 200, 440, 1000):
        result = explain(supply, claims)
        problem = continuous_problem(claims, supply=supply)
        levels = [(c.stock + c.continuous_share) / (c.daily_use * 1) for c in result.claims]
        assert float(min(levels)) == pytest.approx(max_min_level(*problem), rel=1e-7, abs=1e-7)
        assert sorted(map(float, levels)) == pytest.approx(
            sorted(sequential_lp(*problem)), rel=1e-7, abs=1e-7
        )


# ---------------------------------------------------------------------------------------------------------
# Purity


def test_the_engine_imports_nothing_from_flask_sqlalchemy_or_the_app():
    imported = set()
    for node in ast.walk(ast.parse(ENGINE_SOURCE.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add("." if node.level else node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "collections",
        "dataclasses",
        "decimal",
        "fractions",
        "math",
        "numbers",
        "operator",
        "numpy",
    }
    # Loaded on its own (not through the allocation package, whose __init__ needs Flask), it pulls in none.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('engine_alone', {str(ENGINE_SOURCE)!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['engine_alone'] = module\n"
        "spec.loader.exec_module(module)\n"
        "claims = [module.Claim(id='a', need=5, stock=0, daily_use=1)]\n"
        "assert module.allocate(3, claims) == {'a': 3}\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'app', 'allocation', 'werkzeug', 'flask_babel'}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
