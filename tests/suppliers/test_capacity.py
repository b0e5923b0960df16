"""The pure capacity rules and the capacity chart: ISO weeks, weekly totals, risk; no Flask, no database."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suppliers import capacity
from suppliers.capacity import (
    DependencyFacts,
    MilestoneFacts,
    ProjectFacts,
    RiskKind,
    WeekFigures,
    WeekTotal,
    at_risk_first,
    default_range,
    falls_short,
    iso_week_label,
    latest_actual_week,
    monday_of,
    national_totals,
    parse_iso_week,
    risk_reasons,
    weekly_totals,
    weeks_in,
)
from suppliers.charts_production import CapacityChartText, capacity_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
TODAY = date(2026, 11, 25)  # a Wednesday in 2026-W48
THIS_WEEK = date(2026, 11, 23)


def project(
    pid=1, category="respirators", weeks=(), milestones=(), dependencies=(), ended_on=None, name=None
):
    return ProjectFacts(
        pid,
        name or f"Project {pid}",
        category,
        tuple(weeks),
        tuple(milestones),
        tuple(dependencies),
        ended_on,
    )


# --- ISO weeks ------------------------------------------------------------------------------------------------


def test_an_iso_week_is_read_as_its_monday_in_the_usual_spellings():
    assert parse_iso_week("2026-W48") == date(2026, 11, 23)
    assert parse_iso_week("2026W48") == date(2026, 11, 23)
    assert parse_iso_week(" 2026-w7 ") == date(2026, 2, 9)


def test_week_one_may_start_in_the_previous_calendar_year():
    assert parse_iso_week("2026-W01") == date(2025, 12, 29)
    assert iso_week_label(date(2025, 12, 31)) == "2026-W01"


@pytest.mark.parametrize(
    "text", ["", "2026", "2026-48", "W48", "2026-W00", "2026-W54", "2025-W53", "26-W10", "x"]
)
def test_anything_but_a_real_iso_week_is_refused(text):
    with pytest.raises(ValueError):
        parse_iso_week(text)


def test_a_year_with_53_weeks_has_a_week_53():
    assert parse_iso_week("2026-W53") == date(2026, 12, 28)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_the_label_of_any_day_reads_back_as_the_monday_of_its_week(day):
    monday = parse_iso_week(iso_week_label(day))
    assert monday == monday_of(day)
    assert monday.weekday() == 0 and 0 <= (day - monday).days < 7


def test_weeks_in_a_range_include_both_ends_and_the_default_range_is_eight_back_and_eight_ahead():
    assert weeks_in(date(2026, 11, 25), date(2026, 12, 9)) == [
        date(2026, 11, 23),
        date(2026, 11, 30),
        date(2026, 12, 7),
    ]
    assert weeks_in(date(2026, 12, 9), date(2026, 11, 25)) == []
    first, last = default_range(TODAY)
    assert (first, last) == (THIS_WEEK - timedelta(weeks=8), THIS_WEEK + timedelta(weeks=8))
    assert len(weeks_in(first, last)) == 17


# --- more than 20 % below plan ----------------------------------------------------------------------------------


def test_exactly_twenty_percent_below_plan_is_not_a_shortfall_but_one_unit_more_is():
    assert not falls_short(1000, 800)
    assert falls_short(1000, 799)
    assert not falls_short(1000, 1200)


def test_without_a_plan_or_an_actual_figure_nothing_falls_short():
    assert not falls_short(None, 0)
    assert not falls_short(0, 0)
    assert not falls_short(1000, None)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_a_shortfall_is_exactly_an_actual_below_four_fifths_of_the_plan(planned, actual):
    assert falls_short(planned, actual) == (Fraction(actual, planned) < Fraction(4, 5))


# --- weekly totals --------------------------------------------------------------------------------------------


def test_weekly_totals_add_up_projects_of_a_category_and_count_who_reported():
    first, last = THIS_WEEK - timedelta(weeks=1), THIS_WEEK
    a = project(1, weeks=[WeekFigures(first, 1000, 900), WeekFigures(THIS_WEEK, 1000, None)])
    b = project(2, weeks=[WeekFigures(first, 500, 100)])
    c = project(3, category="gloves", weeks=[WeekFigures(THIS_WEEK, None, 40)])

    totals = weekly_totals([a, b, c], first, last)

    assert totals["respirators"] == [
        WeekTotal(first, planned=1500, actual=1000, planning=2, reporting=2),
        WeekTotal(THIS_WEEK, planned=1000, actual=None, planning=1, reporting=0),
    ]
    assert totals["gloves"] == [
        WeekTotal(first),
        WeekTotal(THIS_WEEK, planned=None, actual=40, planning=0, reporting=1),
    ]
    assert totals["respirators"][0].falls_short  # 1000 made against 1500 planned
    assert totals["respirators"][0].difference == -500


def test_weeks_outside_the_range_are_left_out_and_a_category_without_figures_still_appears():
    far = THIS_WEEK + timedelta(weeks=30)
    totals = weekly_totals(
        [project(1, category="visors", weeks=[WeekFigures(far, 100, None)])], THIS_WEEK, THIS_WEEK
    )
    assert totals == {"visors": [WeekTotal(THIS_WEEK)]}


def test_an_ended_project_keeps_its_output_but_its_plan_after_the_end_stops_counting():
    ended = project(
        1,
        weeks=[WeekFigures(THIS_WEEK, 100, 90), WeekFigures(THIS_WEEK + timedelta(weeks=1), 100, None)],
        ended_on=TODAY,
    )
    totals = weekly_totals([ended], THIS_WEEK, THIS_WEEK + timedelta(weeks=1))["respirators"]
    assert totals[0] == WeekTotal(THIS_WEEK, planned=100, actual=90, planning=1, reporting=1)
    assert totals[1] == WeekTotal(THIS_WEEK + timedelta(weeks=1))


week_offsets = st.integers(min_value=-6, max_value=6)
figure = st.one_of(st.none(), st.integers(min_value=0, max_value=10**7))
projects_strategy = st.lists(
    st.tuples(
        st.sampled_from(["respirators", "gloves", "gowns"]),
        st.dictionaries(week_offsets, st.tuples(figure, figure), max_size=8),
        st.one_of(st.none(), week_offsets),
    ),
    max_size=8,
)


def _facts(drawn) -> list[ProjectFacts]:
    return [
        project(
            i,
            category=category,
            weeks=[WeekFigures(THIS_WEEK + timedelta(weeks=o), p, a) for o, (p, a) in weeks.items()],
            ended_on=None if end is None else THIS_WEEK + timedelta(weeks=end, days=2),
        )
        for i, (category, weeks, end) in enumerate(drawn)
    ]


@given(projects_strategy, week_offsets, week_offsets)
def test_the_totals_equal_the_sum_of_the_projects_figures_in_the_range(drawn, a, b):
    facts = _facts(drawn)
    first, last = THIS_WEEK + timedelta(weeks=min(a, b)), THIS_WEEK + timedelta(weeks=max(a, b))
    totals = weekly_totals(facts, first, last)
    in_range = [(p, w) for p in facts for w in p.weeks if first <= w.week_start <= last]

    planned = sum(t.planned or 0 for ts in totals.values() for t in ts)
    actual = sum(t.actual or 0 for ts in totals.values() for t in ts)
    assert planned == sum(p.counted_plan(w) or 0 for p, w in in_range)
    assert actual == sum(w.actual or 0 for _p, w in in_range)
    assert set(totals) == {p.category for p in facts}
    assert all(len(ts) == len(weeks_in(first, last)) for ts in totals.values())
    national = national_totals(totals)
    assert sum(t.planned or 0 for t in national) == planned
    assert sum(t.reporting for t in national) == sum(1 for _p, w in in_range if w.actual is not None)


@given(projects_strategy, st.randoms(use_true_random=False))
def test_the_order_of_the_projects_does_not_change_the_totals(drawn, random):
    facts = _facts(drawn)
    shuffled = list(facts)
    random.shuffle(shuffled)
    first, last = THIS_WEEK - timedelta(weeks=6), THIS_WEEK + timedelta(weeks=6)
    assert weekly_totals(facts, first, last) == weekly_totals(shuffled, first, last)


# --- risk -----------------------------------------------------------------------------------------------------


def test_a_milestone_planned_before_today_and_not_reached_makes_a_project_at_risk():
    facts = project(
        milestones=[
            MilestoneFacts("Prototype approved", TODAY - timedelta(days=1)),
            MilestoneFacts("Due today", TODAY),
            MilestoneFacts("Reached late", TODAY - timedelta(days=9), actual_on=TODAY - timedelta(days=2)),
        ]
    )
    [reason] = risk_reasons(facts, TODAY)
    assert (reason.kind, reason.subject, reason.on) == (
        RiskKind.MILESTONE_OVERDUE,
        "Prototype approved",
        TODAY - timedelta(days=1),
    )


def test_the_latest_week_with_an_actual_figure_decides_a_capacity_shortfall():
    last_week = THIS_WEEK - timedelta(weeks=1)
    short_then_recovered = project(
        weeks=[
            WeekFigures(last_week - timedelta(weeks=1), 1000, 100),
            WeekFigures(last_week, 1000, 950),
            WeekFigures(THIS_WEEK, 1000, None),
        ]
    )
    recovered_then_short = project(
        weeks=[WeekFigures(last_week - timedelta(weeks=1), 1000, 950), WeekFigures(last_week, 1000, 790)]
    )

    assert risk_reasons(short_then_recovered, TODAY) == []
    [reason] = risk_reasons(recovered_then_short, TODAY)
    assert (reason.kind, reason.on, reason.planned, reason.actual) == (
        RiskKind.CAPACITY_SHORTFALL,
        last_week,
        1000,
        790,
    )


def test_a_week_that_has_not_begun_is_not_the_latest_week_and_an_unplanned_week_cannot_fall_short():
    future = project(
        weeks=[WeekFigures(THIS_WEEK, 1000, 1000), WeekFigures(THIS_WEEK + timedelta(weeks=1), 1000, 0)]
    )
    unplanned = project(weeks=[WeekFigures(THIS_WEEK, None, 5)])
    assert latest_actual_week(future.weeks, TODAY).week_start == THIS_WEEK
    assert risk_reasons(future, TODAY) == [] and risk_reasons(unplanned, TODAY) == []


def test_a_high_risk_dependency_makes_a_project_at_risk_but_a_medium_one_does_not():
    facts = project(
        dependencies=[DependencyFacts("Meltblown nonwoven", "high"), DependencyFacts("Elastic", "medium")]
    )
    assert [(r.kind, r.subject) for r in risk_reasons(facts, TODAY)] == [
        (RiskKind.HIGH_RISK_DEPENDENCY, "Meltblown nonwoven")
    ]


def test_an_ended_project_is_never_at_risk():
    facts = project(
        milestones=[MilestoneFacts("Never reached", TODAY - timedelta(days=30))],
        dependencies=[DependencyFacts("Nose wire", "high")],
        ended_on=TODAY - timedelta(days=3),
    )
    assert risk_reasons(facts, TODAY) == []


def test_projects_at_risk_come_first_with_their_reasons_and_the_rest_keep_their_order():
    calm_a, calm_b = project(1, name="A"), project(3, name="C")
    risky = project(2, name="B", dependencies=[DependencyFacts("Meltblown", "high")])
    assessed = at_risk_first([calm_a, risky, calm_b], TODAY)
    assert [a.project.name for a in assessed] == ["B", "A", "C"]
    assert [a.at_risk for a in assessed] == [True, False, False]


def test_the_capacity_rules_import_nothing_from_flask_sqlalchemy_or_the_app():
    for module in (capacity.__file__, Path(capacity.__file__).with_name("charts_production.py")):
        tree = ast.parse(Path(module).read_text())
        imported = {
            n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }
        imported |= {
            a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not imported & {"flask", "flask_babel", "sqlalchemy", "app", "wtforms"}, module


# --- the chart ------------------------------------------------------------------------------------------------

TEXT = CapacityChartText(title="Domestic capacity: respirators", description="Eight weeks")


def test_the_chart_is_accessible_svg_with_one_bar_per_figure():
    totals = [
        WeekTotal(THIS_WEEK - timedelta(weeks=1), 1000, 700),
        WeekTotal(THIS_WEEK, 1000, None),
        WeekTotal(THIS_WEEK + timedelta(weeks=1)),
    ]
    svg = ET.fromstring(capacity_chart(totals, text=TEXT, current_week=THIS_WEEK))
    assert svg.get("role") == "img"
    title, desc = svg.find("svg:title", NS), svg.find("svg:desc", NS)
    assert (title.text, desc.text) == ("Domestic capacity: respirators", "Eight weeks")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    planned = svg.find("svg:g[@data-series='planned']", NS).findall("svg:rect", NS)
    actual = svg.find("svg:g[@data-series='actual']", NS).findall("svg:rect", NS)
    assert [r.get("data-week") for r in planned] == ["2026-W47", "2026-W48"]
    assert [r.get("data-week") for r in actual] == ["2026-W47"]
    assert actual[0].find("svg:title", NS).text == "2026-W47: Actual 700"
    assert actual[0].get("fill") == "#b3261e", "more than 20 % below plan is drawn in red"


def test_a_chart_without_figures_says_so_and_text_is_escaped():
    nasty = CapacityChartText(title="<script>alert(1)</script> & Co", description="a < b")
    source = capacity_chart([WeekTotal(THIS_WEEK)], text=nasty)
    svg = ET.fromstring(source)
    assert "<script>" not in source
    assert svg.find("svg:title", NS).text == "<script>alert(1)</script> & Co"
    assert "No capacity planned or reported in these weeks" in [
        t.text for t in svg.iter(f"{{{NS['svg']}}}text")
    ]
