"""Surplus, deficit and the county's transfer plan (allocation/surplus.py): pure, no fixtures."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from allocation.surplus import (
    UNKNOWN_DISTANCE_KM,
    PlannedTransfer,
    Position,
    ProductPlan,
    plan_products,
    seat_distance,
    surplus_and_deficit,
    surplus_of,
)


def flat(a, b) -> float:
    return 1.0


def test_surplus_is_the_stock_above_the_target_days_of_supply_at_last_weeks_consumption():
    # 70 a week is 10 a day: 21 days keep 210 of 500.
    assert surplus_of(500, 70, target_days=21) == 290
    assert surplus_of(200, 70, target_days=21) == 0


def test_a_fractional_daily_use_keeps_the_target_rounded_up_to_a_whole_unit():
    # 10 a week is 10/7 a day; 21 days keep exactly 30, and 20 days keep ceil(28.57) = 29.
    assert surplus_of(100, 10, target_days=21) == 70
    assert surplus_of(100, 10, target_days=20) == 71


def test_nothing_consumed_makes_every_unit_surplus():
    assert surplus_of(40, 0) == 40


def test_branches_are_summed_and_givers_and_receivers_are_netted():
    positions = [
        Position("A", stock=300, consumption_7d=70, need=0),  # healthcare: 90 above 21 days
        Position("A", stock=0, consumption_7d=0, need=40),  # elderly care needs 40: A still gives 50
        Position("B", stock=10, consumption_7d=70, need=100),
        Position("C", stock=210, consumption_7d=70, need=0),  # exactly 21 days: neither
        Position("D", stock=100, consumption_7d=0, need=100),  # surplus equals need: neither
    ]
    surpluses, deficits = surplus_and_deficit(positions, target_days=21)
    assert surpluses == {"A": 50}
    assert deficits == {"B": 100}


def test_the_target_days_change_what_counts_as_surplus():
    positions = [Position("A", 300, 70, 0)]
    assert surplus_and_deficit(positions, target_days=21)[0] == {"A": 90}
    assert surplus_and_deficit(positions, target_days=7)[0] == {"A": 230}
    assert surplus_and_deficit(positions, target_days=30)[0] == {}


@pytest.mark.parametrize("target_days", [0, -1, 1.5, True])
def test_a_target_that_is_not_a_positive_whole_number_of_days_is_refused(target_days):
    with pytest.raises(ValueError, match="target_days"):
        surplus_and_deficit([], target_days=target_days)


def test_negative_figures_are_refused():
    with pytest.raises(ValueError, match="stock"):
        surplus_and_deficit([Position("A", -1, 0, 0)])


def test_seat_distance_is_the_great_circle_distance_and_unknown_seats_are_far():
    distance = seat_distance({"Sthlm": (59.3293, 18.0686), "Gbg": (57.7089, 11.9746), "None": None})
    assert 390 < distance("Sthlm", "Gbg") < 400
    assert distance("Sthlm", "None") == UNKNOWN_DISTANCE_KM


def test_a_scarce_surplus_goes_to_the_nearest_receiver_in_whole_packs():
    positions = {"resp": [Position("giver", 310, 70, 0), Position("near", 0, 70, 95), Position("far", 0, 70, 95)]}
    distances = {("giver", "near"): 10.0, ("giver", "far"): 300.0}
    planned = plan_products([ProductPlan("FFP2", "resp", pack_size=20)], positions,
                            lambda a, b: distances[(a, b)])
    # 310 less 21 days of 10 a day leaves 100: five packs, the nearer receiver's whole need rounded up.
    assert planned == [PlannedTransfer("FFP2", "giver", "near", 100)]


def test_a_receivers_need_is_rounded_up_to_whole_packs():
    positions = {"resp": [Position("giver", 1000, 70, 0), Position("near", 0, 70, 95), Position("far", 0, 70, 95)]}
    distances = {("giver", "near"): 10.0, ("giver", "far"): 300.0}
    planned = plan_products([ProductPlan("FFP2", "resp", pack_size=20)], positions,
                            lambda a, b: distances[(a, b)])
    # The giver offers 790 (39 packs); each receiver takes at most ceil(95 / 20) = 5 packs.
    assert planned == [PlannedTransfer("FFP2", "giver", "far", 100), PlannedTransfer("FFP2", "giver", "near", 100)]


def test_products_of_one_category_are_planned_in_turn_without_counting_a_surplus_twice():
    positions = {"resp": [Position("giver", 300, 0, 0), Position("taker", 0, 0, 500)]}
    planned = plan_products([ProductPlan("FFP2", "resp", 100), ProductPlan("FFP3", "resp", 50)], positions, flat)
    assert planned == [PlannedTransfer("FFP2", "giver", "taker", 300)]


def test_a_later_product_of_the_same_category_covers_what_the_first_could_not():
    positions = {"resp": [Position("giver", 330, 0, 0), Position("taker", 0, 0, 500)]}
    planned = plan_products([ProductPlan("FFP2", "resp", 100), ProductPlan("FFP3", "resp", 10)], positions, flat)
    # FFP2 moves 3 packs of 100; the 30 units left over go as 3 packs of 10 of FFP3.
    assert planned == [PlannedTransfer("FFP2", "giver", "taker", 300), PlannedTransfer("FFP3", "giver", "taker", 30)]


def test_products_of_different_categories_do_not_share_figures():
    positions = {"resp": [Position("a", 100, 0, 0), Position("b", 0, 0, 100)],
                 "gloves": [Position("b", 100, 0, 0), Position("a", 0, 0, 100)]}
    planned = plan_products([ProductPlan("FFP2", "resp"), ProductPlan("GLOVE", "gloves")], positions, flat)
    assert planned == [PlannedTransfer("FFP2", "a", "b", 100), PlannedTransfer("GLOVE", "b", "a", 100)]


def test_nobody_in_deficit_gives_an_empty_plan():
    assert plan_products([ProductPlan("FFP2", "resp")], {"resp": [Position("a", 100, 0, 0)]}, flat) == []


def test_a_product_given_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        plan_products([ProductPlan("FFP2", "resp"), ProductPlan("FFP2", "resp")], {}, flat)


def test_the_pure_module_imports_nothing_from_flask_sqlalchemy_or_the_app():
    import allocation.surplus as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("flask", "flask_babel", "sqlalchemy", "app")}
