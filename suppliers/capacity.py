"""Domestic production capacity: ISO weeks, weekly totals per product category and the risk rules. Pure.

Plain dataclasses in, plain dataclasses out: no Flask, no SQLAlchemy, no app imports. The service layer
(``suppliers.services_production``) turns rows into :class:`ProjectFacts` and back into pages.

The rules, as the national capacity overview applies them:

* A week is an ISO 8601 week, written ``2026-W48`` and stored as its Monday.
* A project's planned units count in the weekly totals of its category; once the project has ended, its plan
  for the weeks after the week it ended no longer counts (what it actually made still does).
* A week's total actual output is the sum of the actual figures recorded for it, or None when no project
  recorded one; ``reporting`` says how many projects did, so a half-reported week can be told apart.
* A project is at risk, with one reason per finding, when it has not ended and
  - a milestone is overdue: it has no actual date and its planned date is before today;
  - its capacity falls short: in the latest week up to the current one with an actual figure, that figure
    is more than 20 % below the week's plan (actual < 80 % of planned; exactly 80 % is not at risk; a week
    without a plan, or planned at 0, cannot fall short);
  - it depends on a raw material whose risk level is high.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

WEEK = timedelta(weeks=1)
# "More than 20 % below plan": actual / planned < 4 / 5, compared in whole numbers.
SHORTFALL_NUMERATOR, SHORTFALL_DENOMINATOR = 4, 5
DEFAULT_WEEKS_BACK = 8
DEFAULT_WEEKS_AHEAD = 8
MAX_RANGE_WEEKS = 104  # two years: the longest range a plan or an overview takes at once
HIGH_RISK = "high"

_ISO_WEEK = re.compile(r"^\s*(\d{4})\s*-?\s*[Ww]\s*(\d{1,2})\s*$")


# --- ISO weeks ------------------------------------------------------------------------------------------------


def monday_of(day: date) -> date:
    """The Monday that starts ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def parse_iso_week(text: str) -> date:
    """The Monday of the ISO week written ``2026-W48`` (also ``2026W48``, ``2026-w7``).

    Raises ValueError for anything else, including week 53 of a year that has only 52 weeks.
    """
    match = _ISO_WEEK.match(text or "")
    if not match:
        raise ValueError(f"not an ISO week: {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    return date.fromisocalendar(year, week, 1)


def iso_week_label(day: date) -> str:
    """``2026-W48`` for any day of that ISO week."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_in(first: date, last: date) -> list[date]:
    """The Mondays from ``first``'s week to ``last``'s week, both included (empty when last is earlier)."""
    start, end = monday_of(first), monday_of(last)
    count = (end - start).days // 7 + 1
    return [start + i * WEEK for i in range(max(0, count))]


def default_range(today: date) -> tuple[date, date]:
    """The overview's default: eight weeks back and eight weeks ahead of the current week."""
    current = monday_of(today)
    return current - DEFAULT_WEEKS_BACK * WEEK, current + DEFAULT_WEEKS_AHEAD * WEEK


def falls_short(planned: int | None, actual: int | None) -> bool:
    """Whether ``actual`` is more than 20 % below ``planned`` (never without both, nor with a plan of 0)."""
    if planned is None or actual is None or planned <= 0:
        return False
    return actual * SHORTFALL_DENOMINATOR < planned * SHORTFALL_NUMERATOR


# --- the facts ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigures:
    """One project's plan and output in one ISO week (``week_start`` is the Monday); None = not entered."""

    week_start: date
    planned: int | None = None
    actual: int | None = None


@dataclass(frozen=True)
class MilestoneFacts:
    name: str
    planned_on: date
    actual_on: date | None = None

    def is_overdue_on(self, day: date) -> bool:
        return self.actual_on is None and self.planned_on < day


@dataclass(frozen=True)
class DependencyFacts:
    material: str
    risk_level: str  # low, medium or high


@dataclass(frozen=True)
class ProjectFacts:
    """What the capacity rules need to know about one production project.

    ``category`` is any key for the product category (the services use the category's code);
    ``ended_on`` is the day the project ended, None while it runs.
    """

    project_id: int
    name: str
    category: str
    weeks: tuple[WeekFigures, ...] = ()
    milestones: tuple[MilestoneFacts, ...] = ()
    dependencies: tuple[DependencyFacts, ...] = ()
    ended_on: date | None = None

    @property
    def has_ended(self) -> bool:
        return self.ended_on is not None

    def counted_plan(self, week: WeekFigures) -> int | None:
        """The planned units of ``week`` that still count: none after the week the project ended."""
        if self.ended_on is not None and week.week_start > monday_of(self.ended_on):
            return None
        return week.planned


# --- weekly totals --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekTotal:
    """A category's planned and actual units in one week, summed over its projects.

    ``planned``/``actual`` are None when no project entered a figure; ``planning``/``reporting`` count the
    projects that did.
    """

    week_start: date
    planned: int | None = None
    actual: int | None = None
    planning: int = 0
    reporting: int = 0

    @property
    def falls_short(self) -> bool:
        return falls_short(self.planned, self.actual)

    @property
    def difference(self) -> int | None:
        """Actual minus planned, when both are known."""
        if self.planned is None or self.actual is None:
            return None
        return self.actual - self.planned


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return value if total is None else total + value


def weekly_totals(projects: Iterable[ProjectFacts], first: date, last: date) -> dict[str, list[WeekTotal]]:
    """Per category of ``projects``: one WeekTotal for every week from ``first`` to ``last``.

    Every category that has a project appears, even one with no figures in the range (its weeks are empty),
    so the overview can show that a category has projects but no plan yet.
    """
    weeks = weeks_in(first, last)
    wanted = set(weeks)
    sums: dict[str, dict[date, WeekTotal]] = {}
    for project in projects:
        per_week = sums.setdefault(project.category, {})
        for figures in project.weeks:
            if figures.week_start not in wanted:
                continue
            planned, actual = project.counted_plan(figures), figures.actual
            if planned is None and actual is None:
                continue
            before = per_week.get(figures.week_start, WeekTotal(figures.week_start))
            per_week[figures.week_start] = WeekTotal(
                figures.week_start,
                planned=_add(before.planned, planned),
                actual=_add(before.actual, actual),
                planning=before.planning + (planned is not None),
                reporting=before.reporting + (actual is not None),
            )
    return {
        category: [per_week.get(week, WeekTotal(week)) for week in weeks]
        for category, per_week in sums.items()
    }


def national_totals(per_category: dict[str, list[WeekTotal]]) -> list[WeekTotal]:
    """The week-by-week sum over categories (each category list covering the same weeks)."""
    by_week: dict[date, WeekTotal] = {}
    for totals in per_category.values():
        for total in totals:
            before = by_week.get(total.week_start, WeekTotal(total.week_start))
            by_week[total.week_start] = WeekTotal(
                total.week_start,
                planned=_add(before.planned, total.planned),
                actual=_add(before.actual, total.actual),
                planning=before.planning + total.planning,
                reporting=before.reporting + total.reporting,
            )
    return [by_week[week] for week in sorted(by_week)]


# --- risk -----------------------------------------------------------------------------------------------------


class RiskKind(StrEnum):
    MILESTONE_OVERDUE = "milestone_overdue"
    CAPACITY_SHORTFALL = "capacity_shortfall"
    HIGH_RISK_DEPENDENCY = "high_risk_dependency"


@dataclass(frozen=True)
class RiskReason:
    """Why a project is at risk. ``subject`` names the milestone or material; ``on`` is the milestone's
    planned date or the short week's Monday; ``planned``/``actual`` are the short week's figures."""

    kind: RiskKind
    subject: str | None = None
    on: date | None = None
    planned: int | None = None
    actual: int | None = None


def latest_actual_week(weeks: Iterable[WeekFigures], today: date) -> WeekFigures | None:
    """The latest of a project's ``weeks``, up to the current one, with an actual figure."""
    current = monday_of(today)
    recorded = [w for w in weeks if w.actual is not None and w.week_start <= current]
    return max(recorded, key=lambda w: w.week_start, default=None)


def risk_reasons(project: ProjectFacts, today: date) -> list[RiskReason]:
    """Every reason ``project`` is at risk on ``today`` (empty when it is not, and always once it has ended)."""
    if project.has_ended:
        return []
    reasons = [
        RiskReason(RiskKind.MILESTONE_OVERDUE, subject=m.name, on=m.planned_on)
        for m in sorted(project.milestones, key=lambda m: (m.planned_on, m.name))
        if m.is_overdue_on(today)
    ]
    latest = latest_actual_week(project.weeks, today)
    if latest is not None and falls_short(latest.planned, latest.actual):
        reasons.append(
            RiskReason(
                RiskKind.CAPACITY_SHORTFALL,
                on=latest.week_start,
                planned=latest.planned,
                actual=latest.actual,
            )
        )
    reasons.extend(
        RiskReason(RiskKind.HIGH_RISK_DEPENDENCY, subject=d.material)
        for d in project.dependencies
        if d.risk_level == HIGH_RISK
    )
    return reasons


@dataclass(frozen=True)
class Assessment:
    project: ProjectFacts
    reasons: list[RiskReason] = field(default_factory=list)

    @property
    def at_risk(self) -> bool:
        return bool(self.reasons)


def at_risk_first(projects: Sequence[ProjectFacts], today: date) -> list[Assessment]:
    """Every project with its risk reasons, those at risk first; otherwise in the order given."""
    assessed = [Assessment(project, risk_reasons(project, today)) for project in projects]
    return sorted(assessed, key=lambda a: not a.at_risk)
