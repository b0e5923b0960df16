"""Redistribution planner (omfördelning): whole-pack transfers from surplus to deficit, least distance.

Pure: NumPy and OR-Tools' min-cost-flow solver only, nothing from Flask, SQLAlchemy or the app. The county
and national services turn situation reports into surpluses and deficits, call ``plan_transfers`` and store
the proposal.
"""
from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius

# Distances are handed to the solver as integers: the largest becomes about 2**21 units (a finer grid makes
# cost scaling slower for no useful precision). The product of the total flow and a unit cost must stay well
# inside int64, hence the cap on the number of packs.
_COST_RESOLUTION = 2**21
_MAX_TOTAL_PACKS = 2**40
# Work limits of the min_transfer search (see ``plan_transfers``): candidate exchanges examined by the local
# search, then CP-SAT's deterministic time (its own unit; on this 2-core machine one unit took 2-4 s).
_EXCHANGE_LIMIT = 5_000
_SEARCH_LIMIT = 0.5
# Beyond this many zero-reduced-cost transfer pairs (hundreds of equal distances) the exact search takes
# seconds and seldom improves on the local search, so it is not tried.
_EXACT_PAIR_LIMIT = 1_000


@dataclass(frozen=True)
class Transfer:
    """One proposed transfer: ``quantity`` units, in whole packs, from ``source`` to ``target``."""

    source: Hashable
    target: Hashable
    quantity: int


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given as WGS84 latitude and longitude in degrees.

    Haversine formula on a sphere of the mean Earth radius (6371.0088 km); it is within about 0.5 % of the
    distance on the ellipsoid, far closer than a town's seat coordinates are to where the stock really is.

    Raises ValueError when a coordinate is not a finite number or a latitude lies outside -90..90.
    """
    try:  # comparisons rather than isinstance checks: this runs once per pair of organisations
        valid = -90 <= lat1 <= 90 and -90 <= lat2 <= 90 and math.isfinite(lon1) and math.isfinite(lon2)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError("coordinates must be finite numbers of degrees, latitudes between -90 and 90; "
                         f"got ({lat1!r}, {lon1!r}), ({lat2!r}, {lon2!r})")
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def plan_transfers(
    surpluses: Mapping[Hashable, int],
    deficits: Mapping[Hashable, int],
    distance: Callable[[Hashable, Hashable], float],
    *,
    pack_size: int = 1,
    min_transfer: int = 0,
) -> list[Transfer]:
    """Propose transfers that cover as much deficit as possible from the surpluses, over the least distance.

    Quantities move in whole packs of ``pack_size`` units: a source gives at most ``surplus // pack_size``
    packs (it never breaks a pack nor dips below its target stock) and a target receives at most
    ``ceil(deficit / pack_size)`` packs (the last pack may round its deficit up). Among the plans that move
    the most packs possible, min(packs offered, packs needed), the plan minimises the sum of quantity ×
    ``distance(source, target)``. ``distance`` is called once for every source and target that have at least
    one pack, in a fixed order.

    Method. This is a transportation problem, solved exactly as a min-cost flow: a dummy target takes the
    packs nobody needs (or a dummy source stands for the need nobody can cover) at no cost, so the problem
    is balanced and every plan that meets it moves the most packs possible; OR-Tools' ``SimpleMinCostFlow``
    (cost scaling, push-relabel) solves it. The solver takes integer costs, so distances are rounded to a
    power-of-two grid on which the largest distance is about 2**21 steps: for seats in Sweden (at most
    ~1,600 km apart) a step is under a metre, within a county a few decimetres. The plan is exactly
    optimal for the rounded distances; for the given ones its cost exceeds the optimum by at most one step
    per pack moved.

    Basic solution. A push-relabel optimum may use more pairs than needed. Every cycle among the pairs used
    costs nothing at the optimum (else shifting flow around it would be cheaper), so shifting flow around
    it until a pair drops out keeps the cost; repeating this leaves a forest: at most sources + targets - 1
    transfers, a vertex of the transportation polytope (with ``min_transfer`` possibly not a vertex, see
    below, but still a forest).

    ``min_transfer`` (units, default 0): among plans of equal, optimal cost, those without transfers smaller
    than ``min_transfer`` are preferred. The pairs an optimal plan may use are exactly those of zero reduced
    cost under optimal node potentials (complementary slackness; the potentials are shortest-path distances
    in the optimum's residual network, computed in integers, so the test is exact), so moving flow around a
    cycle of such pairs keeps the cost. From the basic optimum the planner searches locally, counting small
    transfers and accepting only changes that lower the count (so it ends):
    - an exchange adds an unused zero-reduced-cost pair to the forest and shifts flow around the cycle it
      closes, either until a pair drops out (a simplex pivot; trees of the forest are first joined by unused
      pairs carrying nothing, as a simplex basis is) or, when the cycle passes through the dummy, only as far
      as brings a small transfer up to ``min_transfer`` or another down to it. That leaves a cycle through
      the dummy, i.e. some organisation keeps part of its surplus or has part of its need uncovered instead
      of another, which is no cycle among the transfers: they still form a forest;
    - it makes the best exchange that lowers the count, or failing that two exchanges that together do;
    - failing that, it re-solves over the zero-reduced-cost pairs with small transfers charged 2 a pack and
      new pairs 1, makes the result basic, and keeps it if it has fewer small transfers.
    This local search is quick but can get stuck (in about 4 of 1,000 tiny instances with many ties). When
    small transfers remain, an integer program settles it exactly: the amounts on the zero-reduced-cost
    pairs, subject to the supplies and demands (every such plan has the optimal cost), each transfer large
    or small, and the transfers a forest; minimise the small ones. OR-Tools' CP-SAT solves it, starting
    from the local search's plan, which it replaces only by one with fewer small transfers. It is exact
    when the solver proves its optimum within the work limit (0.5 of its deterministic time units, about
    1-2 s here), which on distances between real seats it does in milliseconds: the country with
    ``min_transfer`` 500 takes about 0.2 s in all. It is skipped above 1,000 zero-reduced-cost pairs,
    i.e. hundreds of exactly equal distances, where it takes seconds and seldom finds better.
    Why a forest first: a plan with a cycle may avoid a small transfer that every forest needs (11 + 11
    packs to 10 + 12, all equally far, ``min_transfer`` 5: each source sending 5 and 6 has no small one, but
    is a cycle; every forest has one of 1 pack). The plan stays basic, as promised, with the small one.

    The result is deterministic: ids are sorted (they must be comparable with each other) and the plan does
    not depend on the mappings' order. Transfers are listed by source, then target.

    Raises ValueError for an amount that is not a whole number or is negative, a ``pack_size`` that is not
    a positive whole number, a negative or non-integer ``min_transfer``, an id present in both mappings,
    ids that cannot be sorted, or a distance that is not a finite, non-negative number.
    """
    pack_size = _whole_number("pack_size", pack_size, minimum=1)
    min_transfer = _whole_number("min_transfer", min_transfer, minimum=0)
    offered = {key: _whole_number(f"surplus of {key!r}", value, minimum=0) // pack_size
               for key, value in surpluses.items()}
    needed = {key: -(-_whole_number(f"deficit of {key!r}", value, minimum=0) // pack_size)
              for key, value in deficits.items()}
    both = [key for key in offered if key in needed]
    if both:
        raise ValueError(f"ids cannot have both a surplus and a deficit: {', '.join(map(repr, both))}")
    sources = _sorted_ids([key for key, packs in offered.items() if packs], "surpluses")
    targets = _sorted_ids([key for key, packs in needed.items() if packs], "deficits")
    if not sources or not targets:
        return []
    supply = np.array([offered[key] for key in sources], dtype=np.int64)
    demand = np.array([needed[key] for key in targets], dtype=np.int64)
    if max(int(supply.sum()), int(demand.sum())) > _MAX_TOTAL_PACKS:
        raise ValueError(f"more than {_MAX_TOTAL_PACKS} packs in total; use a larger pack_size")
    km = _distance_matrix(distance, sources, targets)

    problem = _Balanced.build(supply, demand, km)
    flow = problem.solve()
    smallest = -(-min_transfer // pack_size)  # fewer packs than this is a small transfer
    _make_basic(problem, flow, smallest)
    if smallest > 1 and _small_count(problem, flow, smallest):
        # Every optimal plan uses only pairs of zero reduced cost under any optimal potentials: found once here,
        # they bound both searches, whatever optimal plan each starts from.
        tight = _zero_reduced_cost(problem, flow)
        _avoid_small_transfers(problem, flow, tight, smallest)
        if _small_count(problem, flow, smallest):
            _fewest_small_transfers(problem, flow, tight, smallest)
    rows, cols = np.nonzero(flow[: len(sources), : len(targets)])
    return [Transfer(sources[i], targets[j], int(flow[i, j]) * pack_size) for i, j in zip(rows, cols)]


def _whole_number(name: str, value, *, minimum: int) -> int:
    # ValueError, not TypeError, for a wrong type too: the planner's contract is ValueError for bad input.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")  # noqa: TRY004
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def _sorted_ids(ids: list, name: str) -> list:
    try:
        return sorted(ids)
    except TypeError:
        message = f"the ids in {name} must be comparable with each other (the plan is sorted by them)"
        raise ValueError(message) from None


def _distance_matrix(distance, sources: list, targets: list) -> np.ndarray:
    values = [distance(source, target) for source in sources for target in targets]
    if not all(type(value) is float or type(value) is int for value in values):  # fast path: plain numbers
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                source, target = sources[index // len(targets)], targets[index % len(targets)]
                raise ValueError(  # noqa: TRY004 (see _whole_number)
                    f"distance({source!r}, {target!r}) returned {value!r}, not a number")
    try:
        km = np.array(values, dtype=np.float64)
    except OverflowError:  # an int beyond float range: infinite, and refused below
        km = np.array([_float_or_infinity(value) for value in values])
    km = km.reshape(len(sources), len(targets))
    bad = np.flatnonzero(~np.isfinite(km) | (km < 0))
    if bad.size:
        index = int(bad[0])
        source, target = sources[index // len(targets)], targets[index % len(targets)]
        raise ValueError(f"distance({source!r}, {target!r}) returned {values[index]!r}; "
                         "distances must be finite and not negative")
    return km


def _float_or_infinity(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


@dataclass
class _Balanced:
    """The transportation problem made balanced: rows are sources, columns targets, one of them a dummy.

    ``cost`` holds the integer unit costs (zero towards the dummy); ``real`` marks the pairs that are
    transfers between organisations.
    """

    supply: np.ndarray
    demand: np.ndarray
    cost: np.ndarray
    real: np.ndarray

    @classmethod
    def build(cls, supply: np.ndarray, demand: np.ndarray, km: np.ndarray) -> _Balanced:
        moved = min(int(supply.sum()), int(demand.sum()))
        largest = float(km.max())
        if largest > 0:
            limit = min(_COST_RESOLUTION, 2**61 // moved)
            # A power of two, so that scaling itself is exact: largest * 2**exponent < limit.
            exponent = math.floor(math.log2(limit)) - math.frexp(largest)[1]
            cost = np.rint(np.ldexp(km, exponent)).astype(np.int64)
        else:
            cost = np.zeros(km.shape, dtype=np.int64)
        real = np.ones(km.shape, dtype=bool)
        excess = int(supply.sum()) - int(demand.sum())
        if excess > 0:  # a dummy target keeps what nobody needs
            demand = np.append(demand, excess)
            cost = np.hstack([cost, np.zeros((len(supply), 1), dtype=np.int64)])
            real = np.hstack([real, np.zeros((len(supply), 1), dtype=bool)])
        elif excess < 0:  # a dummy source stands for the need nobody can cover
            supply = np.append(supply, -excess)
            cost = np.vstack([cost, np.zeros((1, len(demand)), dtype=np.int64)])
            real = np.vstack([real, np.zeros((1, len(demand)), dtype=bool)])
        return cls(supply, demand, cost, real)

    def solve(self, cost: np.ndarray | None = None, allowed: np.ndarray | None = None) -> np.ndarray:
        """An optimal flow for ``cost`` (default: the distances) over the ``allowed`` pairs (default: all)."""
        cost = self.cost if cost is None else cost
        rows, cols = cost.shape
        pairs = np.flatnonzero(np.ones(cost.size, dtype=bool) if allowed is None else allowed.ravel())
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(
            pairs // cols,
            rows + pairs % cols,
            np.minimum(self.supply[:, None], self.demand[None, :]).ravel()[pairs],
            cost.ravel()[pairs],
        )
        solver.set_nodes_supplies(np.arange(rows + cols), np.concatenate([self.supply, -self.demand]))
        status = solver.solve()
        if status != solver.OPTIMAL:
            raise RuntimeError(f"the min-cost-flow solver failed: {status!r}")
        flow = np.zeros(cost.size, dtype=np.int64)
        flow[pairs] = solver.flows(np.arange(pairs.size))
        return flow.reshape(rows, cols)


# Nodes of the support graph: row i is node i, column j is node rows + j. A cycle is a list of
# (row, column, sign): pushing t units along it adds sign * t to the flow on each pair.

def _walk(nodes: list[int], rows: int) -> list[tuple[int, int, int]]:
    """The pairs along a path of nodes with their signs: leaving a row sends more, leaving a column less."""
    arcs = []
    for u, v in itertools.pairwise(nodes):
        arcs.append((u, v - rows, 1) if u < rows else (v, u - rows, -1))
    return arcs


def _choose_push(problem: _Balanced, flow: np.ndarray, cycle, smallest: int):
    """The cheaper direction around a cycle (ties: fewer small transfers after) and how far to push."""
    change = sum(sign * int(problem.cost[i, j]) for i, j, sign in cycle)
    options = []
    for direction in (1, -1):
        amount = min(int(flow[i, j]) for i, j, sign in cycle if sign * direction < 0)
        after = _small_count_change(problem, flow, cycle, direction * amount, smallest)
        options.append((direction * change * amount, after, direction, amount))
    return min(options)


def _small_count_change(problem: _Balanced, flow: np.ndarray, cycle, amount: int, smallest: int) -> int:
    def small(i, j, packs) -> int:
        return int(bool(problem.real[i, j]) and 0 < packs < smallest)

    return sum(small(i, j, flow[i, j] + sign * amount) - small(i, j, flow[i, j]) for i, j, sign in cycle)


def _push(flow: np.ndarray, cycle, amount: int) -> None:
    for i, j, sign in cycle:
        flow[i, j] += sign * amount


class _Components:
    """Union-find over the nodes of the support graph."""

    def __init__(self, nodes: int):
        self.root = list(range(nodes))

    def find(self, node: int) -> int:
        while self.root[node] != node:
            self.root[node] = self.root[self.root[node]]
            node = self.root[node]
        return node

    def join(self, a: int, b: int) -> bool:
        """Join the components of a and b; False if they were one already."""
        a, b = self.find(a), self.find(b)
        self.root[a] = b
        return a != b


def _make_basic(problem: _Balanced, flow: np.ndarray, smallest: int) -> None:
    """Cancel the cycles among the pairs used (each costs nothing at the optimum) until they form a forest."""
    rows, cols = flow.shape
    components = _Components(rows + cols)
    adjacent: list[set[int]] = [set() for _ in range(rows + cols)]
    closing = []
    for i, j in zip(*(index.tolist() for index in np.nonzero(flow))):
        if components.join(i, rows + j):
            adjacent[i].add(rows + j)
            adjacent[rows + j].add(i)
        else:
            closing.append((i, j))
    for i, j in closing:
        path = _forest_path(adjacent, rows + j, i)
        if path is not None:
            cycle = [(i, j, 1), *_walk(path, rows)]
            _, _, direction, amount = _choose_push(problem, flow, cycle, smallest)
            _push(flow, cycle, direction * amount)
            for a, b, _ in cycle[1:]:
                if flow[a, b] == 0:
                    adjacent[a].discard(rows + b)
                    adjacent[rows + b].discard(a)
        if flow[i, j]:
            adjacent[i].add(rows + j)
            adjacent[rows + j].add(i)


def _forest_path(adjacent: list[set[int]], start: int, goal: int) -> list[int] | None:
    previous = {start: start}
    frontier = [start]
    while frontier and goal not in previous:
        following = []
        for node in frontier:
            for neighbour in sorted(adjacent[node]):
                if neighbour not in previous:
                    previous[neighbour] = node
                    following.append(neighbour)
        frontier = following
    if goal not in previous:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


def _zero_reduced_cost(problem: _Balanced, flow: np.ndarray) -> np.ndarray:
    """The pairs an optimal plan may use: zero reduced cost under optimal potentials.

    Potentials are shortest-path distances in the residual network of the optimal flow (every pair
    forward, used pairs backward at minus their cost) from a virtual root joined to every node at no
    cost; Bellman-Ford, vectorised, in integers.
    """
    cost = problem.cost
    rows, cols = cost.shape
    used = flow > 0
    source_potential = np.zeros(rows, dtype=np.int64)
    target_potential = np.zeros(cols, dtype=np.int64)
    unreachable = np.iinfo(np.int64).max // 4
    for _ in range(rows + cols + 1):
        targets = np.minimum(target_potential, (source_potential[:, None] + cost).min(axis=0))
        backwards = np.where(used, targets[None, :] - cost, unreachable).min(axis=1)
        sources = np.minimum(source_potential, backwards)
        if np.array_equal(sources, source_potential) and np.array_equal(targets, target_potential):
            break
        source_potential, target_potential = sources, targets
    else:
        raise RuntimeError("the flow is not optimal: its residual network has a negative cycle")
    reduced = cost + source_potential[:, None] - target_potential[None, :]
    return reduced == 0


class _RootedForest:
    """The pairs a plan uses, less ``loose`` ones, as rooted trees: parents, depths and pre-order intervals.

    Trees that unused ``tight`` pairs could join are joined by them (carrying nothing, as the degenerate
    pairs of a simplex basis), so that exchanges can also route flow between them: in row-major order, or
    ``dummy_first``, which gives cycles through the dummy, where partial shifts are allowed.
    """

    def __init__(self, flow: np.ndarray, loose: np.ndarray, tight: np.ndarray, real: np.ndarray,
                 dummy_first: bool):
        rows, cols = flow.shape
        self.rows = rows
        nodes = rows + cols
        adjacent: list[list[int]] = [[] for _ in range(nodes)]
        components = _Components(nodes)
        used = (flow > 0) & ~loose
        self.pairs = np.zeros(flow.shape, dtype=bool)
        unused = tight & (flow == 0)
        joining = (unused & ~real, unused & real) if dummy_first else (unused,)
        for pairs in (used, *joining):
            for i, j in zip(*(index.tolist() for index in np.nonzero(pairs))):
                if components.join(i, rows + j):
                    self.pairs[i, j] = True
                    adjacent[i].append(rows + j)
                    adjacent[rows + j].append(i)
        self.parent = [-1] * nodes
        self.depth = [0] * nodes
        self.component = np.full(nodes, -1)
        self.entered = np.zeros(nodes, dtype=np.int64)
        self.left = np.zeros(nodes, dtype=np.int64)
        clock = 0
        for start in range(nodes):
            if self.component[start] >= 0:
                continue
            self.component[start] = start
            stack = [(start, iter(adjacent[start]))]
            self.entered[start] = clock
            clock += 1
            while stack:
                node, neighbours = stack[-1]
                child = next(neighbours, None)
                if child is None:
                    self.left[node] = clock
                    stack.pop()
                elif child != self.parent[node]:
                    self.parent[child], self.depth[child] = node, self.depth[node] + 1
                    self.component[child] = start
                    self.entered[child] = clock
                    clock += 1
                    stack.append((child, iter(adjacent[child])))

    def below(self, i: int, j: int) -> np.ndarray:
        """Which nodes lie on the far side of pair (i, j) from the root of its tree."""
        child = i if self.parent[i] == self.rows + j else self.rows + j
        return (self.entered >= self.entered[child]) & (self.entered < self.left[child])

    def path(self, start: int, goal: int) -> list[int]:
        up, down = [start], [goal]
        while self.depth[up[-1]] > self.depth[down[-1]]:
            up.append(self.parent[up[-1]])
        while self.depth[down[-1]] > self.depth[up[-1]]:
            down.append(self.parent[down[-1]])
        while up[-1] != down[-1]:
            up.append(self.parent[up[-1]])
            down.append(self.parent[down[-1]])
        return up + down[-2::-1]


def _avoid_small_transfers(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, smallest: int) -> None:
    """Equal-cost changes that lower the number of transfers of fewer than ``smallest`` packs (see above)."""
    loose = np.zeros(flow.shape, dtype=bool)
    budget = [_EXCHANGE_LIMIT]
    while budget[0] > 0 and _small_count(problem, flow, smallest):
        if any(_improve(problem, flow, tight, loose, smallest, budget, dummy_first)
               for dummy_first in (False, True)):
            continue
        if not _reroute(problem, flow, tight, smallest):
            return
        loose[...] = False


def _small_count(problem: _Balanced, flow: np.ndarray, smallest: int) -> int:
    return int((problem.real & (flow > 0) & (flow < smallest)).sum())


def _improve(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, loose: np.ndarray, smallest: int,
             budget: list[int], dummy_first: bool) -> bool:
    """Make the best exchange that removes a small transfer; failing that, two exchanges that together do."""
    def exchanges(flow, loose):
        forest = _RootedForest(flow, loose, tight, problem.real, dummy_first)
        return _exchanges(problem, flow, tight, forest, smallest, budget)

    moves = sorted(exchanges(flow, loose), key=lambda move: move[0])
    if moves and moves[0][0][0] < 0:
        _exchange(problem, flow, loose, moves[0])
        return True
    for move in moves:
        if move[0][0] > 0 or budget[0] <= 0:
            break
        trial_flow, trial_loose = flow.copy(), loose.copy()
        _exchange(problem, trial_flow, trial_loose, move)
        following = min(exchanges(trial_flow, trial_loose), key=lambda move: move[0], default=None)
        if following is not None and following[0][0] < 0:
            _exchange(problem, trial_flow, trial_loose, following)
            flow[...], loose[...] = trial_flow, trial_loose
            return True
    return False


def _exchanges(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, forest: _RootedForest, smallest: int,
               budget: list[int]):
    """The equal-cost exchanges through a small transfer: (key, cycle, amount), key as in ``_shifts``.

    An exchange adds an unused zero-reduced-cost pair and shifts flow around the cycle it closes with the
    forest: all the way (a pivot: a pair drops out), or, when the cycle passes through the dummy, only as far
    as brings a small transfer up to ``smallest`` or another down to ``smallest`` or nothing. Such a partial
    shift leaves a cycle through the dummy, which is no cycle among the transfers; one of its pairs with
    the dummy is then left out of the forest (``loose``) so that later cycles stay well defined.
    """
    rows = flow.shape[0]
    starts, ends = np.nonzero(tight & (flow == 0) & ~forest.pairs)
    ends = ends + rows
    within = forest.component[starts] == forest.component[ends]
    starts, ends = starts[within], ends[within]
    seen = set()
    for i, j in zip(*np.nonzero(problem.real & (flow > 0) & (flow < smallest))):
        side = forest.below(int(i), int(j))
        crossing = side[starts] != side[ends]
        for a, b in zip(starts[crossing].tolist(), (ends[crossing] - rows).tolist()):
            if budget[0] <= 0:
                return
            if (a, b) in seen:
                continue
            seen.add((a, b))
            budget[0] -= 1
            cycle = [(a, b, 1), *_walk(forest.path(rows + b, a), rows)]
            for key, amount in _shifts(problem, flow, cycle, smallest):
                yield key, cycle, amount


def _exchange(problem: _Balanced, flow: np.ndarray, loose: np.ndarray, move) -> None:
    (_, partial, _), cycle, amount = move
    _push(flow, cycle, amount)
    if partial:
        loose[next((x, y) for x, y, _ in cycle if not problem.real[x, y])] = True


def _shifts(problem: _Balanced, flow: np.ndarray, cycle, smallest: int):
    """Candidate amounts to shift around ``cycle``, keyed by (change in small transfers, partial?, amount)."""
    full = min(int(flow[i, j]) for i, j, sign in cycle if sign < 0)
    amounts = {full}
    if not all(problem.real[i, j] for i, j, _ in cycle):
        for i, j, sign in cycle:
            if problem.real[i, j]:
                amounts.add(smallest - int(flow[i, j]) if sign > 0 else int(flow[i, j]) - smallest)
    for amount in sorted(amounts):
        if 0 < amount <= full:
            change = _small_count_change(problem, flow, cycle, amount, smallest)
            yield (change, amount != full, amount), amount


def _reroute(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, smallest: int) -> bool:
    """Re-solve over the zero-reduced-cost pairs, charging for small transfers; keep it if it has fewer.

    Small transfers cost 2 a pack, new pairs 1, the rest nothing: a global move where single exchanges
    are stuck; the result is made basic again and kept only if it has fewer small transfers.
    """
    small = problem.real & (flow > 0) & (flow < smallest)
    penalty = np.where(small, 2, np.where(problem.real & (flow == 0), 1, 0)).astype(np.int64)
    candidate = problem.solve(penalty, tight)
    _make_basic(problem, candidate, smallest)
    if _small_count(problem, candidate, smallest) >= _small_count(problem, flow, smallest):
        return False
    flow[...] = candidate
    return True


def _fewest_small_transfers(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, smallest: int) -> None:
    """Replace ``flow`` by an optimal forest plan with fewer small transfers, if there is one (see above)."""
    from ortools.sat.python import cp_model  # about 0.4 s to import: only when small transfers remain

    if int((tight & problem.real).sum()) > _EXACT_PAIR_LIMIT:
        return
    model, amount, small = _small_transfer_model(problem, flow, tight, smallest)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # a single worker searches deterministically
    solver.parameters.max_deterministic_time = _SEARCH_LIMIT
    status = solver.solve(model)
    # Without a solution (the limit came first) or without a better one, the starting plan stays.
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.value(small) < _small_count(
            problem, flow, smallest):
        for (i, j), packs in amount.items():
            flow[i, j] = solver.value(packs)


def _small_transfer_model(problem: _Balanced, flow: np.ndarray, tight: np.ndarray, smallest: int):
    """The integer program: (model, packs per zero-reduced-cost pair, number of small transfers).

    Every plan over zero-reduced-cost pairs that meets the supplies and demands is optimal (complementary
    slackness), so these are the only constraints on the amounts. A transfer is large (at least
    ``smallest`` packs) or small, and is oriented one way or the other between its source and target; at
    most one transfer is oriented into each node, and a node's level rises along the orientation. Such an
    orientation exists exactly when the transfers form a forest: root each tree anywhere and orient away
    from the root; conversely, a cycle of k transfers through k nodes would have to enter each of them,
    so it would be a directed cycle, along which levels cannot rise. ``flow`` is the hint.
    """
    from ortools.sat.python import cp_model

    rows, cols = flow.shape
    model = cp_model.CpModel()
    amount = {}
    leaving: list[list] = [[] for _ in range(rows)]
    arriving: list[list] = [[] for _ in range(cols)]
    for i, j in zip(*(index.tolist() for index in np.nonzero(tight))):
        amount[i, j] = model.new_int_var(0, min(int(problem.supply[i]), int(problem.demand[j])), "")
        model.add_hint(amount[i, j], int(flow[i, j]))
        leaving[i].append(amount[i, j])
        arriving[j].append(amount[i, j])
    for i, packs in enumerate(leaving):
        model.add(sum(packs) == int(problem.supply[i]))
    for j, packs in enumerate(arriving):
        model.add(sum(packs) == int(problem.demand[j]))

    # The starting plan's forest of transfers, rooted: its depths and parents hint at levels and orientation.
    nothing = np.zeros(flow.shape, dtype=bool)
    hinted = _RootedForest(np.where(problem.real, flow, 0), nothing, nothing, problem.real, dummy_first=False)
    level = [model.new_int_var(0, rows + cols - 1, "") for _ in range(rows + cols)]
    for node, depth in enumerate(hinted.depth):
        model.add_hint(level[node], depth)
    entering: list[list] = [[] for _ in range(rows + cols)]
    small_ones = []
    for (i, j), packs in amount.items():
        if not problem.real[i, j]:
            continue  # packs kept or need left uncovered: no transfer
        large, small = model.new_bool_var(""), model.new_bool_var("")
        model.add(packs >= smallest * large + small)
        model.add(packs <= int(problem.supply[i]) * large + (smallest - 1) * small)
        forward, backward = model.new_bool_var(""), model.new_bool_var("")  # source to target, and back
        model.add(forward + backward == large + small)
        model.add(level[rows + j] >= level[i] + 1).only_enforce_if(forward)
        model.add(level[i] >= level[rows + j] + 1).only_enforce_if(backward)
        entering[rows + j].append(forward)
        entering[i].append(backward)
        hint = int(flow[i, j])
        model.add_hint(large, hint >= smallest)
        model.add_hint(small, 0 < hint < smallest)
        model.add_hint(forward, hint > 0 and hinted.parent[rows + j] == i)
        model.add_hint(backward, hint > 0 and hinted.parent[i] == rows + j)
        small_ones.append(small)
    for arcs in entering:
        if len(arcs) > 1:
            model.add_at_most_one(arcs)
    count = model.new_int_var(0, len(small_ones), "")
    model.add(count == sum(small_ones))
    model.minimize(count)
    return model, amount, count

