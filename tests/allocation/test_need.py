"""Need arithmetic: days of supply, computed need, status, justification, spikes and forecasts."""
from datetime import UTC, date, time, timedelta
from datetime import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation import need, schedule
from allocation.need import Observation, SupplyStatus, Thresholds

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_days_of_supply_is_stock_over_daily_use():
    assert need.days_of_supply(700, 700) == Decimal("7.0")
    assert need.days_of_supply(1000, 70) == Decimal("100.0")
    assert need.days_of_supply(10, 7, multiplier=2) == Decimal("5.0")


def test_nothing_consumed_means_no_days_of_supply_figure_and_green():
    assert need.days_of_supply(500, 0) is None
    assert need.status_for(None) is SupplyStatus.GREEN


def test_computed_need_covers_the_horizon_net_of_stock_and_expected_deliveries():
    # 700 a week is 100 a day; 21 days is 2100, less 500 in stock and 300 expected.
    assert need.computed_need(500, 700, 300) == 1300
    assert need.computed_need(5000, 700, 0) == 0  # never below zero
    assert need.computed_need(0, 10, 0, horizon_days=21) == 30  # 10/7*21 = 30 exactly
    assert need.computed_need(0, 1, 0, horizon_days=1) == 1  # rounded up to a whole unit


def test_status_is_red_under_seven_days_amber_under_fourteen_green_otherwise():
    assert need.status_for(Decimal("6.9")) is SupplyStatus.RED
    assert need.status_for(Decimal(7)) is SupplyStatus.AMBER
    assert need.status_for(Decimal("13.9")) is SupplyStatus.AMBER
    assert need.status_for(Decimal(14)) is SupplyStatus.GREEN
    assert need.status_for(Decimal(9), Thresholds(red=10, amber=20)) is SupplyStatus.RED


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError):
        Thresholds(red=14, amber=7)


def test_an_organisation_is_as_red_as_its_worst_line():
    assert need.worst_status([SupplyStatus.GREEN, SupplyStatus.RED]) is SupplyStatus.RED
    assert need.worst_status([SupplyStatus.GREEN, SupplyStatus.AMBER]) is SupplyStatus.AMBER
    assert need.worst_status([]) is SupplyStatus.UNKNOWN


def test_a_stated_need_more_than_a_quarter_off_needs_a_justification():
    assert not need.needs_justification(125, 100)
    assert need.needs_justification(126, 100)
    assert need.needs_justification(74, 100)
    assert not need.needs_justification(0, 0)
    assert need.needs_justification(1, 0)


def test_a_tenfold_consumption_asks_for_confirmation():
    assert need.is_consumption_spike(1001, 100)
    assert not need.is_consumption_spike(1000, 100)
    assert not need.is_consumption_spike(5000, None)
    assert not need.is_consumption_spike(5000, 0)


def test_stock_runs_out_when_steady_use_exhausts_it():
    history = [Observation(date(2026, 3, 2), 1000, 700)]  # 100 a day
    assert need.projected_stockout(history) == date(2026, 3, 12)  # after 10 days 0 left, day 11 below zero
    assert need.projected_stockout(history, multiplier=2) == date(2026, 3, 7)


def test_rising_consumption_brings_the_stockout_forward():
    steady = [Observation(date(2026, 3, 1) + timedelta(days=7 * i), 2000, 700) for i in range(3)]
    rising = [Observation(date(2026, 3, 1) + timedelta(days=7 * i), 2000, 700 + 350 * i) for i in range(3)]
    assert need.consumption_trend(rising) > 0
    assert need.projected_stockout(rising) < need.projected_stockout(steady)


def test_no_use_means_no_stockout():
    assert need.projected_stockout([Observation(date(2026, 3, 1), 10, 0)]) is None
    assert need.projected_stockout([]) is None


@given(
    stock=st.integers(0, 10**7), consumption=st.integers(0, 10**7), expected=st.integers(0, 10**7),
    horizon=st.integers(1, 120),
)
def test_computed_need_with_the_stock_it_adds_covers_the_horizon(stock, consumption, expected, horizon):
    computed = need.computed_need(stock, consumption, expected, horizon_days=horizon)
    assert computed >= 0
    assert stock + expected + computed >= need.daily_use(consumption) * horizon


def test_deadlines_fall_on_tuesday_and_thursday_at_noon_stockholm_time_across_dst():
    start = dt(2026, 3, 23, tzinfo=UTC)  # a Monday; summer time begins on Sunday 29 March
    found = schedule.deadlines_between([2, 4], time(12), STOCKHOLM, start, start + timedelta(days=14))
    local = [d.astimezone(STOCKHOLM) for d in found]
    assert [d.isoweekday() for d in local] == [2, 4, 2, 4]
    assert all(d.hour == 12 and d.minute == 0 for d in local)
    assert found[0].hour == 11 and found[2].hour == 10  # UTC offset +1 before, +2 after the change


def test_previous_and_next_deadlines():
    thursday_noon = dt(2026, 3, 26, 11, 0, tzinfo=UTC)
    assert schedule.previous_deadline([2, 4], time(12), STOCKHOLM, thursday_noon).date() == date(2026, 3, 24)
    assert schedule.next_deadline([2, 4], time(12), STOCKHOLM, thursday_noon).date() == date(2026, 3, 31)
