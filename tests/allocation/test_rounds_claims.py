"""The round's claims and lines as pure functions: no app, no database."""
from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest

from allocation.round_claims import (
    Candidate,
    NeedRow,
    ProductSpec,
    RequestedNeed,
    RoundClaim,
    allocate_products,
    board_claims,
    fraction_text,
    organisation_claims,
    parse_fraction,
)

STOCKHOLM, SOLNA, UPPSALA = 1, 2, 3
CANDIDATES = [Candidate(STOCKHOLM, 1000), Candidate(SOLNA, 500), Candidate(UPPSALA, 1500)]


def test_a_claim_sums_the_organisations_branches_and_uses_a_seventh_of_the_weeks_consumption():
    rows = [NeedRow(STOCKHOLM, stock=70, consumption_7d=49, need=120), NeedRow(STOCKHOLM, 30, 21, 80)]

    [claim] = organisation_claims(CANDIDATES, rows)

    assert claim == RoundClaim(STOCKHOLM, need=200, stock=100, daily_use=Fraction(10), population=1000)
    assert claim.reported


def test_organisations_without_need_or_outside_the_scope_make_no_claim():
    rows = [NeedRow(STOCKHOLM, 10, 7, 0), NeedRow(99, 0, 70, 500), NeedRow(SOLNA, 0, 7, 30)]

    claims = organisation_claims(CANDIDATES, rows)

    assert [c.recipient_id for c in claims] == [SOLNA]


def test_a_national_request_line_replaces_the_registered_need_but_keeps_stock_and_use():
    rows = [NeedRow(SOLNA, stock=40, consumption_7d=14, need=300)]
    requests = [RequestedNeed(SOLNA, quantity=120, line_id=7), RequestedNeed(UPPSALA, quantity=50, line_id=8)]

    claims = organisation_claims(CANDIDATES, rows, requests)

    assert claims == [
        RoundClaim(SOLNA, need=120, stock=40, daily_use=Fraction(2), population=500, request_line_id=7),
        RoundClaim(UPPSALA, need=50, stock=0, daily_use=Fraction(0), population=1500, request_line_id=8),
    ]


def test_the_population_fallback_gives_unreported_recipients_their_population_share_in_whole_packs():
    rows = [NeedRow(STOCKHOLM, 0, 70, 90)]

    claims = organisation_claims(CANDIDATES, rows, population_fallback=True, supply=1000, pack_size=40)

    by_id = {c.recipient_id: c for c in claims}
    assert by_id[STOCKHOLM].need == 90 and by_id[STOCKHOLM].reported
    # 1000 × 500 / 3000 = 166.7 -> 5 packs of 40; 1000 × 1500 / 3000 = 500 -> 13 packs
    assert by_id[SOLNA].need == 200 and not by_id[SOLNA].reported
    assert by_id[UPPSALA].need == 520 and by_id[UPPSALA].daily_use is None


def test_without_the_fallback_unreported_recipients_make_no_claim():
    assert organisation_claims(CANDIDATES, [], supply=1000) == []


def test_a_county_boards_claim_is_the_sum_of_its_countys_claims():
    candidates = [Candidate(STOCKHOLM, 1000, board_id=10), Candidate(SOLNA, 500, board_id=10),
                  Candidate(UPPSALA, 1500, board_id=30)]
    claims = [
        RoundClaim(STOCKHOLM, 100, 50, Fraction(5), 1000),
        RoundClaim(SOLNA, 40, 10, Fraction(3, 7), 500),
        RoundClaim(UPPSALA, 70, 0, None, 1500),
    ]

    boards = board_claims(claims, candidates)

    assert boards == [
        RoundClaim(10, need=140, stock=60, daily_use=Fraction(38, 7), population=1500),
        RoundClaim(30, need=70, stock=0, daily_use=None, population=1500),
    ]


def test_the_engines_result_and_explanation_become_the_lines():
    claims = [
        RoundClaim(STOCKHOLM, need=200, stock=70, daily_use=Fraction(10)),
        RoundClaim(SOLNA, need=100, stock=0, daily_use=Fraction(5)),
        RoundClaim(UPPSALA, need=100, stock=200, daily_use=Fraction(10)),
    ]

    [result] = allocate_products([ProductSpec("FFP2", "respirators", 200, 10)], {"respirators": claims},
                                 policy="days_of_supply", horizon_days=21)

    lines = {line.claim.recipient_id: line for line in result.lines}
    assert {k: line.quantity for k, line in lines.items()} == {STOCKHOLM: 110, SOLNA: 90, UPPSALA: 0}
    assert (lines[SOLNA].days_before, lines[SOLNA].days_after) == (0, 18)
    assert lines[STOCKHOLM].continuous_share == 110
    assert not any(line.capped for line in result.lines)
    assert result.explanation.total == 200


def test_products_meeting_the_same_category_are_shared_out_in_turn():
    claims = [RoundClaim(STOCKHOLM, need=100, stock=0, daily_use=Fraction(10)),
              RoundClaim(SOLNA, need=100, stock=0, daily_use=Fraction(10))]
    products = [ProductSpec("FFP2-CUP", "respirators", 100, 10), ProductSpec("FFP2-FOLD", "respirators", 200, 10)]

    first, second = allocate_products(products, {"respirators": claims}, policy="days_of_supply", horizon_days=21)

    assert [line.quantity for line in first.lines] == [50, 50]
    # The second product sees 50 units less need and 50 more stock each, and covers the rest.
    assert [(line.claim.need, line.claim.stock) for line in second.lines] == [(50, 50), (50, 50)]
    assert [line.quantity for line in second.lines] == [50, 50]
    assert second.explanation.remaining == 100


def test_an_unreported_claim_is_explained_without_days_of_supply():
    claims = [RoundClaim(STOCKHOLM, need=80, stock=0, daily_use=None, population=10)]

    [result] = allocate_products([ProductSpec(1, 1, 100, 10)], {1: claims}, policy="population", horizon_days=21)

    [line] = result.lines
    assert line.quantity == 80 and line.capped
    assert line.days_before is None and line.days_after is None


def test_a_bad_pack_size_is_refused_by_the_engine():
    with pytest.raises(ValueError, match="pack size"):
        allocate_products([ProductSpec(1, 1, 100, 0)], {1: []}, policy="days_of_supply", horizon_days=21)


@pytest.mark.parametrize("value", [Fraction(0), Fraction(85, 7), Fraction(-3, 2), Fraction(10**30, 7)])
def test_exact_figures_read_back_as_written(value):
    assert parse_fraction(fraction_text(value)) == value


def test_a_figure_too_wide_for_its_column_is_kept_as_a_decimal_that_fits():
    value = Fraction(10**45 + 1, 3)

    text = fraction_text(value, 40)

    assert len(text) <= 40
    assert abs(parse_fraction(text) - value) / value < Fraction(1, 10**10)


def test_no_figure_and_no_report_read_back_as_none():
    assert fraction_text(None) is None
    assert parse_fraction(None) is None and parse_fraction("") is None


def test_the_pure_module_imports_nothing_from_flask_sqlalchemy_or_the_app():
    import allocation.round_claims as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("flask", "flask_babel", "sqlalchemy", "app")}
