"""Fixtures for situation reports: open reporting periods and a helper that builds complete report lines."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from allocation import reporting
from allocation.reporting import LineInput
from app.db import utcnow

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def period(session):
    """The period reports submitted now are on time for (periods opened for the coming week)."""
    reporting.open_periods(session, now=utcnow(), tz=STOCKHOLM)
    session.commit()
    return reporting.current_period(session, utcnow())


@pytest.fixture
def previous_period(session, period):
    """A period that closed before the current one opened (its deadline passed long ago)."""
    from allocation.models import ReportingPeriod

    earlier = ReportingPeriod(
        opens_at=period.opens_at - timedelta(days=7),
        deadline_at=period.opens_at - timedelta(days=4),
        closes_at=period.opens_at,
        horizon_days=21,
    )
    earlier.categories = list(period.categories)
    session.add(earlier)
    session.commit()
    return earlier


def full_lines(period, **overrides) -> list[LineInput]:
    """A plausible line for every category asked; ``overrides`` maps category code to field changes."""
    lines = []
    for category in period.categories:
        values = {"stock": 1000, "consumption_7d": 700, "expected_14d": 300, "stated_need": 800, "justification": ""}
        values.update(overrides.get(category.code, {}))
        lines.append(LineInput(category=category.code, **values))
    return lines
