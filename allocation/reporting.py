"""Situation reports (lägesbild): settings, periods, submission and the register of current need.

Services flush; the caller commits once. Every rule broken raises a DomainError subclass; a report with
several problems raises ReportInvalid carrying all of them, each naming its category and field.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload, lazyload

from allocation import need, schedule
from allocation.models import (
    ApiToken,
    Branch,
    Channel,
    CurrentNeed,
    ReportingPeriod,
    ReportingSettings,
    SituationReport,
    SituationReportLine,
    SituationReportVersion,
)
from app.auth.access import can_see_organisation
from app.auth.roles import Permission, permissions_of
from app.catalog.models import ProductCategory
from app.db import utcnow
from app.errors import ConflictError, DomainError, NotFoundError
from app.organisations.models import Organisation, OrganisationKind

SETTINGS_ID = 1
QUANTITY_FIELDS = ("stock", "consumption_7d", "expected_14d", "stated_need")
MAX_QUANTITY = 2_000_000_000  # fits a 32-bit integer column; no organisation holds more of anything


class ReportError(DomainError):
    """A report that cannot be accepted as a whole (closed period, wrong organisation, …)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one line: the category code (None for the whole report), field and message."""

    category: str | None
    field: str
    message: str


class ReportInvalid(ReportError):
    def __init__(self, problems: Sequence[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


class ConfirmationRequired(ReportError):
    """The report looks mistyped (a consumption spike); resubmit with confirmation to accept it."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class LineInput:
    """What a reporter states for one category, before validation."""

    category: str  # ProductCategory.code
    stock: int
    consumption_7d: int
    expected_14d: int
    stated_need: int
    justification: str = ""


@dataclass
class Submitted:
    version: SituationReportVersion
    created: bool  # False when an idempotency key matched an earlier submission
    warnings: list[Problem] = field(default_factory=list)


# --- settings and periods ---------------------------------------------------------------------------------

def get_settings(session: Session) -> ReportingSettings:
    """The reporting settings, created with the defaults (all categories, Tue and Thu 12:00) on first use."""
    settings = session.get(ReportingSettings, SETTINGS_ID)
    if settings is None:
        settings = ReportingSettings(id=SETTINGS_ID)
        settings.categories = list(session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)))
        session.add(settings)
        session.flush()
    return settings


def thresholds(settings: ReportingSettings) -> need.Thresholds:
    return need.Thresholds(red=settings.red_days, amber=settings.amber_days)


def open_periods(session: Session, *, now: datetime, tz: ZoneInfo) -> list[ReportingPeriod]:
    """Create every period whose deadline falls within the next ``open_days_ahead`` days. Idempotent.

    A period opens at the previous deadline, is due at its deadline and takes late reports until the next
    deadline, when it closes. The categories asked for are fixed at creation.
    """
    settings = get_settings(session)
    weekdays, at = settings.weekdays, settings.deadline_time
    horizon = now + timedelta(days=settings.open_days_ahead)
    existing = set(
        session.scalars(select(ReportingPeriod.deadline_at).where(ReportingPeriod.deadline_at > now))
    )
    created = []
    for deadline in schedule.deadlines_between(weekdays, at, tz, now, horizon):
        if deadline in existing:
            continue
        period = ReportingPeriod(
            opens_at=schedule.previous_deadline(weekdays, at, tz, deadline),
            deadline_at=deadline,
            closes_at=schedule.next_deadline(weekdays, at, tz, deadline),
            horizon_days=settings.horizon_days,
        )
        period.categories = list(settings.categories)
        session.add(period)
        created.append(period)
    session.flush()
    return created


def periods_accepting(session: Session, now: datetime) -> list[ReportingPeriod]:
    """Periods a report can be submitted to now: the current one and any still taking late reports."""
    return list(
        session.scalars(
            select(ReportingPeriod)
            .where(
                ReportingPeriod.opens_at <= now,
                ReportingPeriod.closes_at > now,
                ReportingPeriod.closed_manually_at.is_(None),
            )
            .order_by(ReportingPeriod.deadline_at.desc())
            # With their categories (the report form lists them) in this query, not a second one.
            .options(joinedload(ReportingPeriod.categories))
        ).unique()
    )


def current_period(session: Session, now: datetime) -> ReportingPeriod | None:
    """The period whose deadline is next (reports submitted now are on time for it), else the latest open."""
    periods = periods_accepting(session, now)
    on_time = [p for p in periods if p.deadline_at >= now]
    if on_time:
        return min(on_time, key=lambda p: p.deadline_at)
    return periods[0] if periods else None


def latest_due_period(session: Session, now: datetime) -> ReportingPeriod | None:
    """The most recent period whose deadline has passed: the one that missing reports are counted against."""
    return session.scalar(
        select(ReportingPeriod)
        .where(ReportingPeriod.deadline_at <= now)
        .order_by(ReportingPeriod.deadline_at.desc())
        .limit(1)  # without it the ORM loads every past period and their categories to return the first
    )


# --- who reports -----------------------------------------------------------------------------------------

def is_reporting_organisation(organisation: Organisation) -> bool:
    """Regions and municipalities report (Region Gotland once, for both roles)."""
    return organisation.kind in (OrganisationKind.REGION, OrganisationKind.MUNICIPALITY)


def reporting_organisations_filter():
    return Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.MUNICIPALITY])


# --- reading ---------------------------------------------------------------------------------------------

def latest_version(
    session: Session, organisation_id: int, branch: str, *, before_deadline: datetime | None = None
) -> SituationReportVersion | None:
    """The newest version of the organisation's latest report in a branch (optionally before a period)."""
    stmt = (
        select(SituationReportVersion)
        .join(SituationReport)
        .join(ReportingPeriod)
        .where(SituationReport.organisation_id == organisation_id, SituationReport.branch == branch)
        .order_by(ReportingPeriod.deadline_at.desc(), SituationReportVersion.number.desc())
        .limit(1)
        # The report form names the period it was filled in from: the report and period come from the joins
        # already made instead of a query each (the period's categories, which it does not show, not at all).
        .options(
            contains_eager(SituationReportVersion.report)
            .contains_eager(SituationReport.period)
            .lazyload(ReportingPeriod.categories)
        )
    )
    if before_deadline is not None:
        stmt = stmt.where(ReportingPeriod.deadline_at < before_deadline)
    return session.scalar(stmt)


def registered_need(
    session: Session,
    *,
    category_id: int | None = None,
    organisation_ids: Sequence[int] | None = None,
    branch: str | None = None,
    max_age_days: int | None = None,
    now: datetime | None = None,
) -> list[CurrentNeed]:
    """The current registered need: latest reported figures per organisation, branch and category.

    Only reports newer than ``max_age_days`` (default: the settings' need_max_age_days) count; older ones
    are stale and would allocate by a situation that no longer holds. Used by allocation.
    """
    now = now or utcnow()
    if max_age_days is None:
        max_age_days = get_settings(session).need_max_age_days
    stmt = select(CurrentNeed).where(CurrentNeed.reported_at >= now - timedelta(days=max_age_days))
    if category_id is not None:
        stmt = stmt.where(CurrentNeed.category_id == category_id)
    if organisation_ids is not None:
        stmt = stmt.where(CurrentNeed.organisation_id.in_(list(organisation_ids)))
    if branch is not None:
        stmt = stmt.where(CurrentNeed.branch == branch)
    return list(session.scalars(stmt.order_by(CurrentNeed.organisation_id, CurrentNeed.branch, CurrentNeed.category_id)))


# --- submitting ------------------------------------------------------------------------------------------

def _check_may_submit(user, token: ApiToken | None, organisation: Organisation) -> None:
    if not is_reporting_organisation(organisation):
        raise ReportError(_("Only regions and municipalities submit situation reports."), field="organisation")
    if token is not None:
        if not token.active or token.organisation_id != organisation.id:
            raise NotFoundError(_("No such organisation for this API token."))
        return
    if user is None or not can_see_organisation(user, organisation):
        raise NotFoundError(_("No such organisation."))
    if Permission.SUBMIT_REPORTS not in permissions_of(user.roles):
        raise ReportError(_("Your role cannot submit situation reports."))


def _validate_lines(
    lines: Sequence[LineInput], period: ReportingPeriod
) -> tuple[list[tuple[ProductCategory, LineInput, int]], list[Problem]]:
    asked = {c.code: c for c in period.categories}
    problems: list[Problem] = []
    seen: set[str] = set()
    accepted = []
    for line in lines:
        category = asked.get(line.category)
        if category is None:
            problems.append(Problem(line.category, "category", _("%(code)s is not a category asked for in this period.", code=line.category)))
            continue
        if line.category in seen:
            problems.append(Problem(line.category, "category", _("%(code)s is reported twice.", code=line.category)))
            continue
        seen.add(line.category)
        bad = False
        for name in QUANTITY_FIELDS:
            value = getattr(line, name)
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(Problem(line.category, name, _("Enter a whole number.")))
                bad = True
            elif value < 0:
                problems.append(Problem(line.category, name, _("The number cannot be negative.")))
                bad = True
            elif value > MAX_QUANTITY:
                problems.append(Problem(line.category, name, _("The number is too large.")))
                bad = True
        if bad:
            continue
        computed = need.computed_need(
            line.stock, line.consumption_7d, line.expected_14d, horizon_days=period.horizon_days
        )
        if need.needs_justification(line.stated_need, computed) and not line.justification.strip():
            problems.append(
                Problem(
                    line.category,
                    "justification",
                    _(
                        "The stated need differs from the computed need (%(computed)s) by more than 25 %%; "
                        "explain why.",
                        computed=computed,
                    ),
                )
            )
            continue
        accepted.append((category, line, computed))
    for code, asked_category in asked.items():
        if code not in seen and not any(p.category == code for p in problems):
            name = asked_category.name_in(str(get_locale() or "sv"))
            problems.append(Problem(code, "category", _("%(name)s is missing from the report.", name=name)))
    return accepted, problems


def _spikes(session: Session, organisation: Organisation, branch: str, period: ReportingPeriod, accepted) -> list[Problem]:
    previous = latest_version(session, organisation.id, branch, before_deadline=period.deadline_at)
    if previous is None:
        return []
    earlier = {line.category_id: line.consumption_7d for line in previous.lines}
    problems = []
    for category, line, _computed in accepted:
        before = earlier.get(category.id)
        if need.is_consumption_spike(line.consumption_7d, before):
            problems.append(
                Problem(
                    category.code,
                    "consumption_7d",
                    _(
                        "The consumption is more than ten times the previous report's (%(before)s). "
                        "Check the number and confirm it.",
                        before=before,
                    ),
                )
            )
    return problems


def submit_report(
    session: Session,
    *,
    organisation: Organisation,
    period: ReportingPeriod,
    branch: str,
    lines: Sequence[LineInput],
    channel: Channel,
    user=None,
    token: ApiToken | None = None,
    idempotency_key: str | None = None,
    confirm_spikes: bool = False,
    comment: str = "",
    now: datetime | None = None,
) -> Submitted:
    """Record a situation report, or a correction of one, as a new version, and update the current state.

    Raises NotFoundError for an organisation outside the user's scope or the token's organisation,
    ReportError for a closed period, a non-reporting organisation or a role that cannot report,
    ReportInvalid listing every bad line, ConfirmationRequired for consumption spikes not confirmed.
    A repeated idempotency key returns the earlier version with created=False and writes nothing.
    """
    now = now or utcnow()
    _check_may_submit(user, token, organisation)
    if idempotency_key:
        earlier = session.scalar(
            select(SituationReportVersion).where(
                SituationReportVersion.organisation_id == organisation.id,
                SituationReportVersion.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            return Submitted(earlier, created=False)
    try:
        branch = Branch(branch)
    except ValueError:
        raise ReportInvalid([Problem(None, "branch", _("Choose a branch of activity."))]) from None
    if not period.is_open(now):
        if now < period.opens_at:
            raise ReportError(_("This reporting period has not opened yet."), field="period")
        raise ReportError(_("This reporting period is closed; report in the current period."), field="period")
    accepted, problems = _validate_lines(lines, period)
    if problems:
        raise ReportInvalid(problems)
    spikes = _spikes(session, organisation, branch, period, accepted)
    if spikes and not confirm_spikes:
        raise ConfirmationRequired(spikes)

    report = session.scalar(
        select(SituationReport).where(
            SituationReport.organisation_id == organisation.id,
            SituationReport.period_id == period.id,
            SituationReport.branch == branch,
        )
    )
    if report is None:
        report = SituationReport(organisation=organisation, period=period, branch=str(branch))
        session.add(report)
        session.flush()
    number = (session.scalar(
        select(func.max(SituationReportVersion.number)).where(SituationReportVersion.report_id == report.id)
    ) or 0) + 1
    version = SituationReportVersion(
        report=report,
        organisation_id=organisation.id,
        number=number,
        submitted_at=now,
        submitted_by_id=user.id if user is not None else None,
        api_token_id=token.id if token is not None else None,
        channel=str(channel),
        late=period.is_late(now),
        idempotency_key=idempotency_key or None,
        comment=comment.strip(),
    )
    version.lines = [
        SituationReportLine(
            category_id=category.id,
            stock=line.stock,
            consumption_7d=line.consumption_7d,
            expected_14d=line.expected_14d,
            stated_need=line.stated_need,
            computed_need=computed,
            justification=line.justification.strip(),
        )
        for category, line, computed in accepted
    ]
    session.add(version)
    try:
        # A savepoint: two submissions racing for the same version number or idempotency key collide here.
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ConflictError(_("Another submission of this report arrived at the same moment; try again.")) from None
    _update_current(session, organisation, report, version, period)
    return Submitted(version, created=True, warnings=spikes)


def _update_current(
    session: Session, organisation: Organisation, report: SituationReport, version: SituationReportVersion,
    period: ReportingPeriod,
) -> None:
    """Make this version the current state unless a report for a later period is already there."""
    existing = {
        row.category_id: row
        for row in session.scalars(
            select(CurrentNeed)
            .where(CurrentNeed.organisation_id == organisation.id, CurrentNeed.branch == report.branch)
            # Row locks serialise two corrections of the same report; eager joins cannot be locked in PostgreSQL.
            .options(lazyload("*"))
            .with_for_update()
        )
    }
    for line in version.lines:
        row = existing.get(line.category_id)
        if row is not None and row.period_deadline_at > period.deadline_at:
            continue  # a late correction of an older period does not overwrite newer figures
        values = {
            "county_code": organisation.county_code,
            "period_id": period.id,
            "period_deadline_at": period.deadline_at,
            "line_id": line.id,
            "reported_at": version.submitted_at,
            "stock": line.stock,
            "consumption_7d": line.consumption_7d,
            "expected_14d": line.expected_14d,
            "stated_need": line.stated_need,
            "computed_need": line.computed_need,
        }
        if row is None:
            session.add(
                CurrentNeed(organisation_id=organisation.id, branch=report.branch, category_id=line.category_id, **values)
            )
        else:
            for key, value in values.items():
                setattr(row, key, value)
    session.flush()


def missing_reports(session: Session, period: ReportingPeriod, organisation_filter=None) -> list[Organisation]:
    """Reporting organisations with no report at all for the period (any branch)."""
    reported = select(SituationReport.organisation_id).where(SituationReport.period_id == period.id)
    stmt = select(Organisation).where(reporting_organisations_filter(), Organisation.id.not_in(reported))
    if organisation_filter is not None:
        stmt = stmt.where(organisation_filter)
    return list(session.scalars(stmt.order_by(Organisation.county_code, Organisation.code)))


__all__ = [
    "Branch",
    "Channel",
    "ConfirmationRequired",
    "LineInput",
    "Problem",
    "ReportError",
    "ReportInvalid",
    "Submitted",
    "current_period",
    "get_settings",
    "latest_version",
    "missing_reports",
    "open_periods",
    "periods_accepting",
    "registered_need",
    "submit_report",
]


# --- reporting settings, early closing and reporting coverage (settings and periods pages) ---------------

MAX_OPEN_DAYS_AHEAD = 60
MAX_SETTING_DAYS = 365


class ReportingNotAllowed(ReportError):
    """The acting user's roles do not include managing reporting."""

    status_code = 403


class SettingsInvalid(ReportError):
    """One or more reporting settings break the rules; ``errors`` holds one ReportError per field."""

    def __init__(self, errors: Sequence[ReportError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = list(errors)


@dataclass(frozen=True)
class SettingsData:
    """What the national coordinator asks for, before the rules are checked. None is a missing value."""

    deadline_weekdays: Sequence[int]
    deadline_time: time | None
    open_days_ahead: int | None
    horizon_days: int | None
    red_days: int | None
    amber_days: int | None
    need_max_age_days: int | None
    category_ids: Sequence[int]


def _check_manages_reporting(user) -> None:
    if user is None or Permission.MANAGE_REPORTING not in permissions_of(getattr(user, "roles", ())):
        raise ReportingNotAllowed(_("Your role cannot change how situation reports are collected."))


def settings_problems(data: SettingsData) -> list[ReportError]:
    """Every rule the settings break, one error per field (pure: no database)."""
    problems: list[ReportError] = []

    def days(name: str, value: int | None, low: int, high: int) -> bool:
        if value is None or isinstance(value, bool) or not isinstance(value, int):
            problems.append(ReportError(_("Enter a whole number of days."), field=name))
        elif not low <= value <= high:
            problems.append(
                ReportError(_("Enter a number from %(low)s to %(high)s.", low=low, high=high), field=name)
            )
        else:
            return True
        return False

    if not data.deadline_weekdays:
        problems.append(ReportError(_("Choose at least one deadline day."), field="deadline_weekdays"))
    elif any(day not in range(1, 8) for day in data.deadline_weekdays):
        problems.append(ReportError(_("Choose days from Monday to Sunday."), field="deadline_weekdays"))
    if data.deadline_time is None:
        problems.append(ReportError(_("Enter the deadline time as HH:MM, e.g. 12:00."), field="deadline_time"))
    days("open_days_ahead", data.open_days_ahead, 1, MAX_OPEN_DAYS_AHEAD)
    days("horizon_days", data.horizon_days, 1, MAX_SETTING_DAYS)
    red_ok = days("red_days", data.red_days, 1, MAX_SETTING_DAYS)
    amber_ok = days("amber_days", data.amber_days, 1, MAX_SETTING_DAYS)
    if red_ok and amber_ok and data.amber_days <= data.red_days:
        problems.append(
            ReportError(
                _("The amber threshold must be more days than the red one (%(red)s).", red=data.red_days),
                field="amber_days",
            )
        )
    days("need_max_age_days", data.need_max_age_days, 1, MAX_SETTING_DAYS)
    if not data.category_ids:
        problems.append(ReportError(_("Choose at least one product category to ask for."), field="category_ids"))
    return problems


def update_settings(session: Session, user, data: SettingsData) -> ReportingSettings:
    """Change the reporting rules. Flushes; the caller commits.

    Periods already opened keep their deadline, horizon and categories; the changes apply to periods opened
    from now on. Raises ReportingNotAllowed for a user who may not manage reporting and SettingsInvalid (one
    error per field) for no deadline day, a missing time, a number of days out of range, red thresholds not
    below amber ones, or no or unknown categories. Nothing changes when it raises.
    """
    _check_manages_reporting(user)
    problems = settings_problems(data)
    wanted = set(data.category_ids)
    categories = list(
        session.scalars(
            select(ProductCategory).where(ProductCategory.id.in_(wanted)).order_by(ProductCategory.sort_order)
        )
    ) if wanted else []
    if wanted and len(categories) != len(wanted):
        problems.append(ReportError(_("Choose categories from the catalogue."), field="category_ids"))
    if problems:
        raise SettingsInvalid(problems)
    settings = get_settings(session)
    settings.deadline_weekdays = ",".join(str(day) for day in sorted(set(data.deadline_weekdays)))
    settings.deadline_time = data.deadline_time
    settings.open_days_ahead = data.open_days_ahead
    settings.horizon_days = data.horizon_days
    settings.red_days = data.red_days
    settings.amber_days = data.amber_days
    settings.need_max_age_days = data.need_max_age_days
    settings.categories = categories
    session.flush()
    return settings


def close_period(session: Session, user, period: ReportingPeriod, *, now: datetime | None = None) -> ReportingPeriod:
    """Close a period before its time: from now on it takes no reports, not even late ones. Flushes.

    Raises ReportingNotAllowed for a user who may not manage reporting and ReportError (field ``period``)
    for a period that is already closed.
    """
    _check_manages_reporting(user)
    now = now or utcnow()
    if period.closed_manually_at is not None or now >= period.closes_at:
        raise ReportError(_("This reporting period is already closed."), field="period")
    period.closed_manually_at = now
    session.flush()
    return period


def organisations_reported(
    session: Session, period_ids: Sequence[int], organisation_filter=None
) -> dict[int, int]:
    """How many organisations (optionally only those matching a filter) reported in each period, any branch."""
    if not period_ids:
        return {}
    stmt = (
        select(SituationReport.period_id, func.count(func.distinct(SituationReport.organisation_id)))
        .join(Organisation, Organisation.id == SituationReport.organisation_id)
        .where(SituationReport.period_id.in_(list(period_ids)))
        .group_by(SituationReport.period_id)
    )
    if organisation_filter is not None:
        stmt = stmt.where(organisation_filter)
    return {period_id: count for period_id, count in session.execute(stmt)}


def reporting_organisation_count(session: Session, organisation_filter=None) -> int:
    """How many organisations (optionally only those matching a filter) are expected to report."""
    stmt = select(func.count()).select_from(Organisation).where(reporting_organisations_filter())
    if organisation_filter is not None:
        stmt = stmt.where(organisation_filter)
    return session.scalar(stmt) or 0
