"""An allocation round's claims and the lines its decision is made of: pure, no Flask, no database.

The services (``allocation/services_rounds.py``) read the registered need, the recipients in scope and any
national requests included, hand them here as plain values, and store what comes back as AllocationLines.

The rules:

* A recipient's claim on a product is the current registered need of the category the product meets, summed
  over its branches of activity: need (the stated need), stock, and daily use (last week's consumption ÷ 7,
  exactly). Only claims with need take part.
* A line of a national request included in the round replaces the organisation's registered need for that
  category (it is what redistribution in the county left uncovered); stock and daily use still come from the
  registered need.
* The population fallback is the ``population`` policy: every recipient in scope takes part; one without a
  current report claims its population share of the supply (supply × its population ÷ the population of
  all recipients in scope, rounded up to a whole pack) and, having reported no daily use, is shown without.
* Two-level rounds: a county board's claim is the sum of its county's claims (need, stock, daily use and
  population); the board passes what it receives on in a second-level round of its own.
* Products meeting the same category are shared out one after the other, in the round's order: a later
  product sees each recipient's need less, and its stock more, by what the earlier ones gave it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from fractions import Fraction

from allocation import engine
from allocation.need import daily_use as weekly_daily_use

# Widths of the text columns the exact figures are kept in (allocation_lines).
FIGURE_WIDTH = 40
SHARE_WIDTH = 80


@dataclass(frozen=True)
class NeedRow:
    """One branch's current registered need of one organisation, for the category a product meets."""

    organisation_id: int
    stock: int
    consumption_7d: int
    need: int


@dataclass(frozen=True)
class Candidate:
    """A region or municipality in the round's scope; ``board_id`` is its county board in two-level rounds."""

    organisation_id: int
    population: int = 0
    board_id: int | None = None


@dataclass(frozen=True)
class RequestedNeed:
    """A national request line: the organisation's remaining need of the category."""

    organisation_id: int
    quantity: int
    line_id: int


@dataclass(frozen=True)
class RoundClaim:
    """A recipient's claim as the round sees it. ``daily_use`` None: no current report (population share)."""

    recipient_id: int
    need: int
    stock: int
    daily_use: Fraction | None
    population: int = 0
    request_line_id: int | None = None

    @property
    def reported(self) -> bool:
        return self.daily_use is not None

    def engine_claim(self) -> engine.Claim:
        return engine.Claim(
            id=self.recipient_id,
            need=self.need,
            stock=self.stock,
            daily_use=self.daily_use or Fraction(0),
            population=self.population,
        )


@dataclass(frozen=True)
class ProductSpec:
    """A product to share out: its key, the category whose need it meets, the units and the pack size."""

    key: Hashable
    category: Hashable
    supply: int
    pack_size: int


@dataclass(frozen=True)
class LineFigures:
    """One recipient's line for one product: the claim as the engine saw it and the engine's explanation."""

    claim: RoundClaim
    days_before: Fraction | None
    days_after: Fraction | None
    continuous_share: Fraction
    level: Fraction | None
    capped: bool
    quantity: int


@dataclass(frozen=True)
class ProductResult:
    spec: ProductSpec
    explanation: engine.Explanation
    lines: tuple[LineFigures, ...]


def _round_up(quantity: Fraction, pack_size: int) -> int:
    packs = -(-quantity.numerator // (quantity.denominator * pack_size))
    return packs * pack_size


def organisation_claims(
    candidates: Sequence[Candidate],
    rows: Sequence[NeedRow],
    requests: Sequence[RequestedNeed] = (),
    *,
    population_fallback: bool = False,
    supply: int = 0,
    pack_size: int = 1,
) -> list[RoundClaim]:
    """Each candidate's claim on one category, in the candidates' order; those without need left out.

    Registered need outside the candidates (another county, a stale organisation) is ignored."""
    known = {candidate.organisation_id for candidate in candidates}
    summed: dict[int, list[int]] = {}
    for row in rows:
        if row.organisation_id in known:
            figures = summed.setdefault(row.organisation_id, [0, 0, 0])
            figures[0] += row.need
            figures[1] += row.stock
            figures[2] += row.consumption_7d
    requested = {r.organisation_id: r for r in requests if r.organisation_id in known}
    total_population = sum(candidate.population for candidate in candidates)
    claims = []
    for candidate in candidates:
        organisation_id = candidate.organisation_id
        request = requested.get(organisation_id)
        figures = summed.get(organisation_id)
        if figures is not None or request is not None:
            need, stock, consumption = figures or (0, 0, 0)
            claim = RoundClaim(
                recipient_id=organisation_id,
                need=request.quantity if request is not None else need,
                stock=stock,
                daily_use=weekly_daily_use(consumption),
                population=candidate.population,
                request_line_id=request.line_id if request is not None else None,
            )
        elif population_fallback and total_population:
            share = Fraction(supply * candidate.population, total_population)
            claim = RoundClaim(
                recipient_id=organisation_id,
                need=_round_up(share, pack_size),
                stock=0,
                daily_use=None,
                population=candidate.population,
            )
        else:
            continue
        if claim.need > 0:
            claims.append(claim)
    return claims


def board_claims(claims: Sequence[RoundClaim], candidates: Sequence[Candidate]) -> list[RoundClaim]:
    """The county boards' claims: each the sum of its county's claims, in the order boards first appear."""
    board_of = {candidate.organisation_id: candidate.board_id for candidate in candidates}
    grouped: dict[int, list[RoundClaim]] = defaultdict(list)
    for claim in claims:
        board_id = board_of.get(claim.recipient_id)
        if board_id is not None:
            grouped[board_id].append(claim)
    boards = []
    for board_id, members in grouped.items():
        reported = [m.daily_use for m in members if m.daily_use is not None]
        boards.append(
            RoundClaim(
                recipient_id=board_id,
                need=sum(m.need for m in members),
                stock=sum(m.stock for m in members),
                daily_use=sum(reported, Fraction(0)) if reported else None,
                population=sum(m.population for m in members),
            )
        )
    return boards


def allocate_products(
    products: Sequence[ProductSpec],
    claims_by_category: Mapping[Hashable, Sequence[RoundClaim]],
    *,
    policy: str,
    horizon_days: int,
) -> list[ProductResult]:
    """Run the engine for each product in order. Raises ValueError as :func:`allocation.engine.explain`."""
    given: dict[Hashable, dict[int, int]] = defaultdict(dict)
    results = []
    for spec in products:
        earlier = given[spec.category]
        claims = [
            replace(claim, need=max(0, claim.need - earlier.get(claim.recipient_id, 0)),
                    stock=claim.stock + earlier.get(claim.recipient_id, 0))
            for claim in claims_by_category.get(spec.category, ())
        ]
        explanation = engine.explain(
            spec.supply,
            [claim.engine_claim() for claim in claims],
            pack_size=spec.pack_size,
            policy=policy,
            horizon_days=horizon_days,
        )
        lines = []
        for claim, explained in zip(claims, explanation.claims, strict=True):
            reported = claim.reported
            lines.append(
                LineFigures(
                    claim=claim,
                    days_before=explained.days_before if reported else None,
                    days_after=explained.days_after if reported else None,
                    continuous_share=explained.continuous_share,
                    level=explained.level,
                    capped=explained.capped,
                    quantity=explained.allocated,
                )
            )
            if explained.allocated:
                earlier[claim.recipient_id] = earlier.get(claim.recipient_id, 0) + explained.allocated
        results.append(ProductResult(spec, explanation, tuple(lines)))
    return results


# --- exact figures as text ------------------------------------------------------------------------------------


def fraction_text(value: Fraction | None, width: int = FIGURE_WIDTH) -> str | None:
    """An exact figure as text ("12", "85/7"); a decimal with as many places as fit when the fraction is wider
    than the column (never for the figures a round produces in practice)."""
    if value is None:
        return None
    text = str(value)
    if len(text) <= width:
        return text
    whole = len(str(abs(value.numerator) // value.denominator))
    with localcontext() as context:
        context.prec = width
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if whole + 3 <= width:
        return f"{decimal:.{width - whole - 3}f}"
    return f"{decimal:.{width - 9}e}"


def parse_fraction(text: str | None) -> Fraction | None:
    """The figure :func:`fraction_text` wrote; None for none (and for the empty daily use of no report)."""
    if text is None or text == "":
        return None
    return Fraction(text)
