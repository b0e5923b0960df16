"""Reporting deadlines from the cadence: pure functions, no Flask, no database."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def deadlines_between(
    weekdays: Sequence[int], at: time, tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """Every deadline (aware UTC) with start < deadline <= end, on the ISO weekdays at local time ``at``.

    Local wall-clock time is kept across daylight-saving changes: 12:00 stays 12:00 in Stockholm.
    """
    if not weekdays:
        return []
    result = []
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if day.isoweekday() in weekdays:
            local = datetime.combine(day, at, tzinfo=tz)
            moment = local.astimezone(UTC)
            if start < moment <= end:
                result.append(moment)
        day += timedelta(days=1)
    return result


def previous_deadline(weekdays: Sequence[int], at: time, tz: ZoneInfo, before: datetime) -> datetime:
    """The last deadline strictly before ``before``."""
    found = deadlines_between(weekdays, at, tz, before - timedelta(days=8), before - timedelta(microseconds=1))
    if not found:
        raise ValueError("no reporting weekdays configured")
    return found[-1]


def next_deadline(weekdays: Sequence[int], at: time, tz: ZoneInfo, after: datetime) -> datetime:
    """The first deadline strictly after ``after``."""
    found = deadlines_between(weekdays, at, tz, after, after + timedelta(days=8))
    if not found:
        raise ValueError("no reporting weekdays configured")
    return found[0]
