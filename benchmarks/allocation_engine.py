"""The allocation engine at national scale: 311 claims × 40 products, against sequential linear programs.

Generates 40 products with realistic claims from the 21 regions and 290 municipalities (pack sizes 1–50,
stock 0–100,000, daily use 0–2,000 with some claims reporting no consumption, some no need), times
``allocation.engine.allocate`` for all 40 products together (best and median of ``--repeat`` runs, per
policy; CPU time of this process, which other processes on a shared machine do not inflate, and wall-clock
time), then solves the same continuous problems (days of supply, no pack rounding) as the lexicographic
max-min by a sequence of linear programs with scipy's HiGHS, the reference the tests use, and prints both
times and their ratio. It also checks that the LP's levels agree with the engine's exact continuous shares.

    .venv/bin/python benchmarks/allocation_engine.py
    .venv/bin/python benchmarks/allocation_engine.py --repeat 50 --seed 7

Needs the test extra (scipy). Goal: the engine under 50 ms for all 40 products; the exit code is 0 when the
best run's CPU time meets it. The LPs run once (they take tens of seconds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allocation.engine import POLICIES, Claim, allocate, explain
from tests.allocation.test_engine import continuous_problem, max_min_level, sequential_lp

REGIONS = 21
MUNICIPALITIES = 290
PRODUCTS = 40
GOAL_MS = 50.0


def make_products(seed: int) -> list[tuple[int, list[Claim], int]]:
    """(supply, claims, pack size) for every product."""
    rng = random.Random(seed)
    population = [rng.randint(300_000, 2_400_000) for _ in range(REGIONS)]
    population += [int(rng.lognormvariate(10, 1)) + 2_400 for _ in range(MUNICIPALITIES)]
    products = []
    for _ in range(PRODUCTS):
        pack = rng.choice([1, 1, 5, 10, 20, 25, 50])
        claims = []
        for number in range(REGIONS + MUNICIPALITIES):
            region = number < REGIONS
            if rng.random() < 0.08:
                daily = 0.0  # no consumption reported
            else:
                daily = min(2_000.0, round(rng.lognormvariate(5.5 if region else 2.5, 1.2), 1))
            stock = 0 if rng.random() < 0.1 else min(100_000, int(daily * rng.uniform(0, 50)))
            horizon_use = max(daily, 1.0) * 21 * rng.uniform(0.6, 1.6)
            need = 0 if rng.random() < 0.1 else max(1, int(horizon_use - stock * rng.uniform(0, 1)))
            claims.append(
                Claim(
                    id=f"{number + 1:02d}" if region else f"{number:04d}",
                    need=need,
                    stock=stock,
                    daily_use=daily,
                    weight=rng.choice([1.0] * 19 + [2.0]),
                    population=population[number],
                )
            )
        supply = int(sum(c.need for c in claims) * rng.uniform(0.05, 1.2))
        products.append((supply, claims, pack))
    return products


def time_engine(products, policy: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run over all products."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for supply, claims, pack in products:
            allocate(supply, claims, pack_size=pack, policy=policy)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def time_lp(products) -> tuple[float, float, float, float]:
    """CPU seconds for one max-min LP per product; CPU and wall-clock seconds for the sequential LPs of every
    product; the largest relative level difference between those and the engine's exact continuous shares."""
    single = cpu = wall = worst = 0.0
    for supply, claims, pack in products:
        problem = continuous_problem(claims, pack_size=pack, supply=supply)
        start = time.process_time()
        max_min_level(*problem)
        single += time.process_time() - start
        start, start_cpu = time.perf_counter(), time.process_time()
        levels = sequential_lp(*problem)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        exact = explain(supply, claims, pack_size=pack)
        engine_levels = [
            float((c.stock + line.continuous_share) / (Fraction(c.weight) * line.daily_use))
            for c, line in zip(claims, exact.claims)
            if line.cap
        ]
        worst = max(worst, max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(levels, engine_levels)))
    return single, cpu, wall, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of the engine per policy")
    args = parser.parse_args()

    products = make_products(args.seed)
    claims = sum(len(c) for _, c, _ in products)
    print(f"{PRODUCTS} products × {REGIONS + MUNICIPALITIES} claims = {claims} claims, seed {args.seed}")
    best = {}
    for policy in POLICIES:
        wall, cpu = time_engine(products, policy, args.repeat)
        best[policy] = min(cpu)
        print(
            f"engine {policy:<15} all {PRODUCTS} products: CPU best {min(cpu) * 1000:5.1f} ms, "
            f"median {statistics.median(cpu) * 1000:5.1f} ms; wall best {min(wall) * 1000:5.1f} ms, "
            f"median {statistics.median(wall) * 1000:5.1f} ms ({args.repeat} runs)"
        )
    single_seconds, lp_seconds, lp_wall, worst = time_lp(products)
    engine_ms = best["days_of_supply"] * 1000
    print(f"one max-min LP per product (HiGHS), all {PRODUCTS}: CPU {single_seconds * 1000:8.1f} ms")
    print(
        f"sequential LP (HiGHS), same continuous problems: CPU {lp_seconds * 1000:8.1f} ms, "
        f"wall {lp_wall * 1000:8.1f} ms (largest relative level difference to the engine's exact shares "
        f"{worst:.1e})"
    )
    print(f"ratio sequential LP / engine (days of supply, CPU): {lp_seconds * 1000 / engine_ms:,.0f}×")
    met = engine_ms < GOAL_MS
    print(
        f"goal: engine under {GOAL_MS:.0f} ms CPU for all {PRODUCTS} products: {'met' if met else 'missed'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
