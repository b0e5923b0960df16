"""Samordna's clock as people read it: the agency's time zone (Europe/Stockholm) and its calendar dates.

The database holds aware UTC (:func:`app.db.utcnow`); what is "today", what is due or expired, and the dates
written in notices are local (SAMORDNA_TIMEZONE).
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date

from app.db import utcnow


def local_timezone() -> ZoneInfo:
    """Samordna's time zone (SAMORDNA_TIMEZONE, Europe/Stockholm)."""
    return ZoneInfo(current_app.config["SAMORDNA_TIMEZONE"])


def local_date(moment: datetime) -> date:
    """The calendar date of an aware moment in Samordna's time zone (Europe/Stockholm)."""
    return moment.astimezone(local_timezone()).date()


def local_today() -> date:
    """Today in the agency's time zone, which decides what is due, valid or expired."""
    return local_date(utcnow())


def when(day: date) -> str:
    """A date as notices write it: the current locale's medium format ("2 Mar 2026")."""
    return format_date(day, "medium")
