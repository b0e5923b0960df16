"""Redistribution planner speed: a county (20 sources × 29 targets) and the whole country (150 × 161).

Organisations are the municipalities and regions of the reference data (app/organisations/data/*.csv, read
as CSV), at their seats; distances are great-circle kilometres. Each organisation gets a surplus or a
deficit of a product in proportion to its population (a seeded random share of 1-15 % of a per-capita
level), in packs of 50. The county is Västra Götaland (49 municipalities; 20 with a surplus, 29 in
deficit), the country all 311 organisations (150 with a surplus, 161 in deficit).

Prints, per instance: the planner's time (median and best of ``--repeat`` runs, distance calls included,
and how much of it the distance calls alone take),
the same with ``min_transfer`` (and how many transfers below it remain), and scipy's HiGHS LP on the same
problem for comparison (the LP is handed a ready distance matrix, so it is timed without the distance
calls). Last, the worst case of the ``min_transfer`` search: the county with every distance equal. Goals (issue 7): under
100 ms for a county, under 2 s for the country.

    .venv/bin/python benchmarks/redistribution_planner.py --repeat 20
"""
from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_array, vstack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allocation.redistribution import great_circle_km, plan_transfers

DATA = ROOT / "app" / "organisations" / "data"
PACK_SIZE = 50
MIN_TRANSFER = 500


def organisations() -> list[dict]:
    """Municipalities and regions: code, county, population and seat coordinates."""
    with open(DATA / "municipalities.csv", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        found = [{"code": row["municipality_code"], "county": row["municipality_code"][:2],
                  "population": int(row["population"]),
                  "seat": (float(row["latitude"]), float(row["longitude"]))} for row in rows]
    with open(DATA / "counties.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            people = sum(o["population"] for o in found if o["county"] == row["county_code"])
            found.append({"code": f"R{row['county_code']}", "county": row["county_code"],
                          "population": people // 4,  # a region holds stock for its hospitals
                          "seat": (float(row["latitude"]), float(row["longitude"]))})
    return found


def instance(orgs: list[dict], sources: int, seed: int):
    """Split ``orgs`` at random into ``sources`` with a surplus and the rest in deficit."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(orgs)), sources))
    surpluses, deficits = {}, {}
    for index, org in enumerate(orgs):
        amount = int(org["population"] * rng.uniform(0.01, 0.15))
        (surpluses if index in chosen else deficits)[org["code"]] = amount
    seats = {org["code"]: org["seat"] for org in orgs}

    def distance(source, target):
        return great_circle_km(*seats[source], *seats[target])

    return surpluses, deficits, distance


def timed(run, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, min(times) * 1000


def call_all(distance, pairs) -> list[float]:
    return [distance(source, target) for source, target in pairs]


def lp(surpluses: dict, deficits: dict, distance) -> tuple[callable, float]:
    """HiGHS on the LP relaxation (integral: the constraint matrix is totally unimodular)."""
    sources, targets = sorted(surpluses), sorted(deficits)
    supply = [surpluses[s] // PACK_SIZE for s in sources]
    demand = [-(-deficits[t] // PACK_SIZE) for t in targets]
    m, n = len(sources), len(targets)
    km = np.array([[distance(s, t) for t in targets] for s in sources]).ravel()
    pair = np.arange(m * n)
    rows = coo_array((np.ones(m * n), (pair // n, pair)), shape=(m, m * n))
    cols = coo_array((np.ones(m * n), (pair % n, pair)), shape=(n, m * n))
    moved = min(sum(supply), sum(demand))

    def run():
        result = linprog(km, A_ub=vstack([rows, cols]).tocsr(), b_ub=supply + demand,
                         A_eq=np.ones((1, m * n)), b_eq=[moved], method="highs")
        assert result.status == 0, result.message
        return result.fun

    return run, run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    orgs = organisations()
    county = [o for o in orgs if o["county"] == "14" and not o["code"].startswith("R")]
    cases = [("county (Västra Götaland)", county, 20, 100), ("country", orgs, 150, 2000)]
    print(f"{'instance':26} {'size':>9} {'transfers':>9} {'planner ms':>16} "
          f"{'min_transfer ms':>16} {'HiGHS LP ms':>16}  goal")
    met = True
    for name, members, sources, goal_ms in cases:
        surpluses, deficits, distance = instance(members, sources, args.seed)
        plan = plan_transfers(surpluses, deficits, distance, pack_size=PACK_SIZE)
        cost = sum(t.quantity // PACK_SIZE * distance(t.source, t.target) for t in plan)
        solve_lp, lp_cost = lp(surpluses, deficits, distance)
        assert abs(cost - lp_cost) <= 1e-6 * max(1.0, lp_cost), (cost, lp_cost)
        plain = partial(plan_transfers, surpluses, deficits, distance, pack_size=PACK_SIZE)
        median, best = timed(plain, args.repeat)
        small_median, small_best = timed(partial(plain, min_transfer=MIN_TRANSFER), args.repeat)
        lp_median, lp_best = timed(solve_lp, args.repeat)
        pairs = [(s, t) for s in surpluses for t in deficits]
        distances_median, _ = timed(partial(call_all, distance, pairs), args.repeat)
        ok = median < goal_ms
        met &= ok
        print(f"{name:26} {len(surpluses):>3} × {len(deficits):<3} {len(plan):>9} "
              f"{median:>7.1f} (≥{best:5.1f}) {small_median:>7.1f} (≥{small_best:5.1f}) "
              f"{lp_median:>7.1f} (≥{lp_best:5.1f})  < {goal_ms} ms: {'met' if ok else 'missed'}")
        print(f"{'':26} of the planner's time, {distances_median:.1f} ms are the {len(pairs)} distance calls")
        small = sum(t.quantity < MIN_TRANSFER for t in plan_transfers(surpluses, deficits, distance,
                                                                      pack_size=PACK_SIZE,
                                                                      min_transfer=MIN_TRANSFER))
        print(f"{'':26} with min_transfer={MIN_TRANSFER}: {small} transfers below it remain")
    # The worst case of the min_transfer search: every plan costs the same, so every pair is a candidate.
    surpluses, deficits, _ = instance(county, 20, args.seed)
    ties = partial(plan_transfers, surpluses, deficits, lambda source, target: 1.0, pack_size=PACK_SIZE,
                   min_transfer=MIN_TRANSFER)
    ties_median, ties_best = timed(ties, max(1, args.repeat // 4))
    print(f"county with every distance equal, min_transfer={MIN_TRANSFER}: {ties_median:.0f} ms "
          f"(≥{ties_best:.0f}), {sum(t.quantity < MIN_TRANSFER for t in ties())} transfers below it")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
