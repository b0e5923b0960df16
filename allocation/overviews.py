"""Overviews of registered need: national, county, product and organisation views, trends and forecasts.

Read services only. The overviews sum the current-state table (CurrentNeed) in SQL, grouped by county,
organisation, branch and category, in one query per table, so a page costs a small fixed number of queries
whatever the number of organisations; days of supply and status are computed here from the sums
(Σ stock ÷ (Σ consumption_7d ÷ 7)). Only the one-organisation pages read report history, bounded in time.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session, joinedload

from allocation import need, reporting
from allocation.charts import TrendPoint
from allocation.models import (
    Branch,
    CurrentNeed,
    ReportingPeriod,
    ReportingSettingsCategory,
    SituationReport,
    SituationReportLine,
    SituationReportVersion,
)
from allocation.need import SupplyStatus, Thresholds
from app.auth.access import Scope, scope_of
from app.catalog.models import Product, ProductCategory, UnitOfIssue
from app.organisations.models import County, Organisation, OrganisationKind

DEFAULT_MULTIPLIER = Decimal(1)
MIN_MULTIPLIER = Decimal("0.1")
MAX_MULTIPLIER = Decimal(10)
FORECAST_WEEKS = 12
TREND_WEEKS = 26
TOTAL = "total"  # column key of the all-branches column in the product view


# --- the table model -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """Summed current figures of one or more organisation × branch × category rows."""

    stock: int = 0
    consumption_7d: int = 0
    expected_14d: int = 0
    stated_need: int = 0
    computed_need: int = 0
    lines: int = 0  # how many current-state rows were summed; 0 means nothing reported

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.stock + other.stock,
            self.consumption_7d + other.consumption_7d,
            self.expected_14d + other.expected_14d,
            self.stated_need + other.stated_need,
            self.computed_need + other.computed_need,
            self.lines + other.lines,
        )

    @classmethod
    def total(cls, items: Iterable[Figures]) -> Figures:
        result = cls()
        for item in items:
            result = result + item
        return result


@dataclass(frozen=True)
class Supply:
    """One cell: the figures, days of supply under the scenario and the resulting status."""

    figures: Figures
    days: Decimal | None
    status: SupplyStatus

    @property
    def reported(self) -> bool:
        return self.figures.lines > 0


def supply(figures: Figures | None, *, multiplier: Decimal, thresholds: Thresholds) -> Supply:
    """Days of supply from summed figures (None when nothing is used) and its status; unknown when unreported."""
    if figures is None or figures.lines == 0:
        return Supply(Figures(), None, SupplyStatus.UNKNOWN)
    days = need.days_of_supply(figures.stock, figures.consumption_7d, multiplier=multiplier)
    return Supply(figures, days, need.status_for(days, thresholds))


@dataclass
class Row:
    """A row of an overview table: cells keyed by column (category id, or branch in the product view)."""

    key: str
    label: str
    cells: dict[Any, Supply]
    organisation: Organisation | None = None
    county: County | None = None
    reported: bool | None = None  # reported for the latest due period (None when not known or no period)
    coverage: tuple[int, int] | None = None  # (reported, expected) organisations for the latest due period
    latest_deadline_at: datetime | None = None  # the newest period among the row's current figures


@dataclass(frozen=True)
class Column:
    key: Any
    label: str
    unit: str = ""


@dataclass
class Table:
    """Rows × columns of supply cells with a totals row, as every overview shows and exports it."""

    columns: list[Column]
    rows: list[Row]
    total: Row | None = None


def _totals_row(columns: Sequence[Column], rows: Sequence[Row], label: str, multiplier, thresholds) -> Row:
    cells = {
        column.key: supply(
            Figures.total(row.cells[column.key].figures for row in rows if column.key in row.cells),
            multiplier=multiplier,
            thresholds=thresholds,
        )
        for column in columns
    }
    return Row(key=TOTAL, label=label, cells=cells)


def _figures(row) -> Figures:
    return Figures(
        stock=int(row.stock or 0),
        consumption_7d=int(row.consumption_7d or 0),
        expected_14d=int(row.expected_14d or 0),
        stated_need=int(row.stated_need or 0),
        computed_need=int(row.computed_need or 0),
        lines=int(row.lines or 0),
    )


def _sums():
    return (
        func.sum(CurrentNeed.stock).label("stock"),
        func.sum(CurrentNeed.consumption_7d).label("consumption_7d"),
        func.sum(CurrentNeed.expected_14d).label("expected_14d"),
        func.sum(CurrentNeed.stated_need).label("stated_need"),
        func.sum(CurrentNeed.computed_need).label("computed_need"),
        func.count().label("lines"),
        func.max(CurrentNeed.period_deadline_at).label("latest_deadline_at"),
    )


# --- the scenario multiplier -----------------------------------------------------------------------------

def parse_multiplier(text: str | None) -> tuple[Decimal, str | None]:
    """The scenario multiplier from user input, or the default 1 with a message when it is not acceptable.

    Accepts a decimal comma (Swedish) as well as a point; allowed 0.1–10.
    """
    if text is None or not str(text).strip():
        return DEFAULT_MULTIPLIER, None
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite():
        return DEFAULT_MULTIPLIER, _("Enter a number such as 1.5.")
    if not MIN_MULTIPLIER <= value <= MAX_MULTIPLIER:
        return DEFAULT_MULTIPLIER, _(
            "Enter a multiplier from %(low)s to %(high)s.", low=MIN_MULTIPLIER, high=MAX_MULTIPLIER
        )
    # 2 stays 2 (not 2.0 or 2E+0), 1.50 is shown as 1.5.
    return (Decimal(int(value)) if value == value.to_integral_value() else value.normalize()), None


# --- shared reads ----------------------------------------------------------------------------------------

def reported_categories(session: Session) -> list[ProductCategory]:
    """The categories reports currently ask for, in catalogue order, with products (for the unit) loaded."""
    return list(
        session.scalars(
            select(ProductCategory)
            .join(ReportingSettingsCategory, ReportingSettingsCategory.category_id == ProductCategory.id)
            .where(ReportingSettingsCategory.settings_id == reporting.SETTINGS_ID)
            .options(joinedload(ProductCategory.products))
            .order_by(ProductCategory.sort_order, ProductCategory.id)
        ).unique()
    )


def unit_label(category: ProductCategory) -> str:
    """The category's reporting unit in the reader's language (piece, pair, bottle, …)."""
    return UnitOfIssue(category.reporting_unit).label


def category_columns(categories: Sequence[ProductCategory], locale: str) -> list[Column]:
    return [Column(c.id, c.name_in(locale), unit_label(c)) for c in categories]


@dataclass
class Context:
    """What every overview needs: thresholds, categories, the scenario and the latest due period.

    The categories are read on first use: a page whose tables come from the fragment cache never needs them.
    """

    thresholds: Thresholds
    multiplier: Decimal
    period: ReportingPeriod | None
    locale: str
    session: Session = field(repr=False, compare=False)

    @cached_property
    def categories(self) -> list[ProductCategory]:
        return reported_categories(self.session)


def context(session: Session, *, multiplier: Decimal, now: datetime, locale: str) -> Context:
    settings = reporting.get_settings(session)
    return Context(
        thresholds=reporting.thresholds(settings),
        multiplier=multiplier,
        period=reporting.latest_due_period(session, now),
        locale=locale,
        session=session,
    )


def freshness(session: Session, ctx: Context) -> tuple:
    """A token that changes whenever the national or a county table would show something else.

    The tables read the current state, the reports of the latest due period (who has reported), the
    reporting organisations, the categories asked for (names, units from their products) and the thresholds.
    One query of aggregates covers the data: a report's transaction replaces current-state rows with its new
    lines, whose ids are always the highest, so the newest line id moves on every change the figures see (the
    row count and newest report time come along); a first report for a period adds a report id; an edited
    organisation, category or product gets a newer ``updated_at``. Scanning the current state costs about
    a millisecond at national scale (one row per organisation × branch × category), not the history.
    """
    current = select(
        func.count().label("rows"),
        func.max(CurrentNeed.line_id).label("line_id"),
        func.max(CurrentNeed.reported_at).label("reported_at"),
    ).subquery()
    row = session.execute(
        select(
            current.c.rows,
            current.c.line_id,
            current.c.reported_at,
            *(
                select(aggregate).scalar_subquery()
                for aggregate in (
                    func.max(SituationReport.id),
                    func.count(Organisation.id),
                    func.max(Organisation.updated_at),
                    func.max(ProductCategory.updated_at),
                    func.count(Product.id),
                    func.max(Product.updated_at),
                )
            ),
            select(func.aggregate_strings(cast(ReportingSettingsCategory.category_id, String), ","))
            .where(ReportingSettingsCategory.settings_id == reporting.SETTINGS_ID)
            .scalar_subquery(),
        )
    ).one()
    period = (ctx.period.id, ctx.period.deadline_at) if ctx.period is not None else None
    return (*row, period, ctx.thresholds)


# --- national ----------------------------------------------------------------------------------------------

@dataclass
class NationalOverview:
    context: Context
    counties: Table
    regions: Table


def national_overview(session: Session, ctx: Context) -> NationalOverview:
    """Every county (all its reporting organisations) and every region (its own reports), per category.

    Three queries whatever the number of organisations: the sums per county, kind and category, the
    reporting coverage per county and kind for the latest due period, and the counties with their regions.
    """
    category_ids = [c.id for c in ctx.categories]
    columns = category_columns(ctx.categories, ctx.locale)
    is_region = case((Organisation.kind == OrganisationKind.REGION, True), else_=False).label("is_region")
    sums = session.execute(
        select(CurrentNeed.county_code, is_region, CurrentNeed.category_id, *_sums())
        .join(Organisation, Organisation.id == CurrentNeed.organisation_id)
        .where(CurrentNeed.category_id.in_(category_ids))
        .group_by(CurrentNeed.county_code, is_region, CurrentNeed.category_id)
    ).all()
    county_figures: dict[str, dict[int, Figures]] = defaultdict(lambda: defaultdict(Figures))
    region_figures: dict[str, dict[int, Figures]] = defaultdict(dict)
    latest: dict[tuple[str, bool], datetime] = {}
    for row in sums:
        figures = _figures(row)
        county_figures[row.county_code][row.category_id] += figures
        if row.is_region:
            region_figures[row.county_code][row.category_id] = figures
        key = (row.county_code, bool(row.is_region))
        latest[key] = max(filter(None, (latest.get(key), row.latest_deadline_at)), default=None)

    coverage = _coverage_by_county(session, ctx.period)
    # Each county with its region, in one query (Region Gotland is the region of county 09).
    counties_and_regions = session.execute(
        select(County, Organisation)
        .outerjoin(
            Organisation,
            (Organisation.county_code == County.code) & (Organisation.kind == OrganisationKind.REGION),
        )
        .order_by(County.code)
    ).all()

    def cells(by_category):
        return {
            c.key: supply(by_category.get(c.key), multiplier=ctx.multiplier, thresholds=ctx.thresholds)
            for c in columns
        }

    county_rows, region_rows = [], []
    for county, region in counties_and_regions:
        reported_all = sum(coverage.get((county.code, kind), (0, 0))[0] for kind in (True, False))
        expected_all = sum(coverage.get((county.code, kind), (0, 0))[1] for kind in (True, False))
        county_rows.append(
            Row(
                key=county.code,
                label=county.name,
                cells=cells(county_figures.get(county.code, {})),
                county=county,
                coverage=(reported_all, expected_all) if ctx.period else None,
                latest_deadline_at=max(
                    filter(None, (latest.get((county.code, True)), latest.get((county.code, False)))), default=None
                ),
            )
        )
        if region is not None:
            reported, _expected = coverage.get((county.code, True), (0, 0))
            region_rows.append(
                Row(
                    key=str(region.id),
                    label=region.name,
                    cells=cells(region_figures.get(county.code, {})),
                    organisation=region,
                    county=county,
                    reported=bool(reported) if ctx.period else None,
                    latest_deadline_at=latest.get((county.code, True)),
                )
            )
    county_table = Table(columns, county_rows, _totals_row(columns, county_rows, _("Sweden"), ctx.multiplier, ctx.thresholds))
    region_table = Table(
        columns, region_rows, _totals_row(columns, region_rows, _("All regions"), ctx.multiplier, ctx.thresholds)
    )
    total_reported = sum(r.coverage[0] for r in county_rows if r.coverage)
    total_expected = sum(r.coverage[1] for r in county_rows if r.coverage)
    county_table.total.coverage = (total_reported, total_expected) if ctx.period else None
    return NationalOverview(ctx, county_table, region_table)


def _coverage_by_county(session: Session, period: ReportingPeriod | None) -> dict[tuple[str, bool], tuple[int, int]]:
    """(county, is region) → (organisations that reported for the period, reporting organisations)."""
    if period is None:
        return {}
    reported = (
        select(SituationReport.organisation_id)
        .where(SituationReport.period_id == period.id)
        .distinct()
        .subquery()
    )
    is_region = case((Organisation.kind == OrganisationKind.REGION, True), else_=False).label("is_region")
    rows = session.execute(
        select(Organisation.county_code, is_region, func.count(Organisation.id), func.count(reported.c.organisation_id))
        .outerjoin(reported, reported.c.organisation_id == Organisation.id)
        .where(reporting.reporting_organisations_filter())
        .group_by(Organisation.county_code, is_region)
    ).all()
    return {(code, bool(region)): (int(done), int(expected)) for code, region, expected, done in rows}


# --- county ------------------------------------------------------------------------------------------------

@dataclass
class CountyOverview:
    context: Context
    county: County
    table: Table
    missing: list[Organisation] = field(default_factory=list)


def county_overview(session: Session, county: County, ctx: Context) -> CountyOverview:
    """The county's region and municipalities × category, a county total and who has not reported."""
    columns = category_columns(ctx.categories, ctx.locale)
    organisations = _county_organisations(session, county.code)
    sums = session.execute(
        select(CurrentNeed.organisation_id, CurrentNeed.category_id, *_sums())
        .where(CurrentNeed.county_code == county.code, CurrentNeed.category_id.in_([c.key for c in columns]))
        .group_by(CurrentNeed.organisation_id, CurrentNeed.category_id)
    ).all()
    by_organisation: dict[int, dict[int, Figures]] = defaultdict(dict)
    latest: dict[int, datetime] = {}
    for row in sums:
        by_organisation[row.organisation_id][row.category_id] = _figures(row)
        latest[row.organisation_id] = max(
            filter(None, (latest.get(row.organisation_id), row.latest_deadline_at)), default=None
        )
    missing = (
        reporting.missing_reports(session, ctx.period, Organisation.county_code == county.code)
        if ctx.period is not None
        else []
    )
    missing_ids = {o.id for o in missing}
    rows = [
        Row(
            key=str(o.id),
            label=o.name,
            cells={
                c.key: supply(by_organisation[o.id].get(c.key), multiplier=ctx.multiplier, thresholds=ctx.thresholds)
                for c in columns
            },
            organisation=o,
            county=county,
            reported=(o.id not in missing_ids) if ctx.period is not None else None,
            latest_deadline_at=latest.get(o.id),
        )
        for o in organisations
    ]
    total = _totals_row(columns, rows, _("%(county)s in all", county=county.name), ctx.multiplier, ctx.thresholds)
    if ctx.period is not None:
        total.coverage = (len(rows) - len(missing_ids), len(rows))
    return CountyOverview(ctx, county, Table(columns, rows, total), missing)


def _county_organisations(session: Session, county_code: str) -> list[Organisation]:
    """The county's reporting organisations: the region first, then municipalities by kommunkod."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.county_code == county_code, reporting.reporting_organisations_filter())
            .order_by(
                case((Organisation.kind == OrganisationKind.REGION, 0), else_=1),
                Organisation.municipality_code,
                Organisation.code,
            )
        )
    )


# --- product view ------------------------------------------------------------------------------------------

@dataclass
class CategoryOverview:
    context: Context
    category: ProductCategory
    scope: Scope
    table: Table
    county: County | None = None
    unit: str = ""


def branch_columns() -> list[Column]:
    return [Column(str(branch), branch.label) for branch in Branch] + [Column(TOTAL, _("All branches"))]


def category_overview(session: Session, user, category: ProductCategory, ctx: Context) -> CategoryOverview:
    """One category by branch: counties for national users, the county's organisations for a county board,
    the organisation itself for a region or municipality."""
    scope = scope_of(user)
    columns = branch_columns()
    if scope is Scope.NATIONAL:
        group = CurrentNeed.county_code
        stmt = select(group.label("key"), CurrentNeed.branch, *_sums())
        entities = [(c.code, c.name, c, None) for c in session.scalars(select(County).order_by(County.code))]
        county = None
    else:
        group = CurrentNeed.organisation_id
        stmt = select(group.label("key"), CurrentNeed.branch, *_sums())
        if scope is Scope.COUNTY:
            county = user.organisation.county
            organisations = _county_organisations(session, user.organisation.county_code) if county else []
            stmt = stmt.where(CurrentNeed.county_code == user.organisation.county_code)
        else:
            county = None
            organisations = [user.organisation] if reporting.is_reporting_organisation(user.organisation) else []
            stmt = stmt.where(CurrentNeed.organisation_id == user.organisation_id)
        entities = [(o.id, o.name, county, o) for o in organisations]
    sums = session.execute(
        stmt.where(CurrentNeed.category_id == category.id).group_by(group, CurrentNeed.branch)
    ).all()
    by_key: dict[Any, dict[str, Figures]] = defaultdict(dict)
    latest: dict[Any, datetime] = {}
    for row in sums:
        by_key[row.key][row.branch] = _figures(row)
        latest[row.key] = max(filter(None, (latest.get(row.key), row.latest_deadline_at)), default=None)
    rows = []
    for key, label, county_of_row, organisation in entities:
        by_branch = by_key.get(key, {})
        cells = {
            c.key: supply(by_branch.get(c.key), multiplier=ctx.multiplier, thresholds=ctx.thresholds)
            for c in columns
            if c.key != TOTAL
        }
        cells[TOTAL] = supply(
            Figures.total(by_branch.values()) if by_branch else None,
            multiplier=ctx.multiplier,
            thresholds=ctx.thresholds,
        )
        rows.append(
            Row(
                key=str(key),
                label=label,
                cells=cells,
                organisation=organisation,
                county=county_of_row,
                latest_deadline_at=latest.get(key),
            )
        )
    total = _totals_row(columns, rows, _("In all"), ctx.multiplier, ctx.thresholds)
    return CategoryOverview(ctx, category, scope, Table(columns, rows, total), county, unit_label(category))


# --- one organisation: current figures, forecasts, trends --------------------------------------------------

@dataclass(frozen=True)
class ForecastRow:
    """One branch × category of an organisation (branch None: all its branches) with its forecast."""

    category: ProductCategory
    branch: Branch | None
    supply: Supply
    reported_at: datetime | None
    stockout_on: date | None  # projected stock-out date; None when not within a year


@dataclass
class OrganisationOverview:
    context: Context
    organisation: Organisation
    rows: list[ForecastRow]
    reports: bool  # whether the organisation submits situation reports at all

    @property
    def by_category(self) -> list[tuple[ProductCategory, list[ForecastRow]]]:
        """The rows grouped by category, in catalogue order: each branch, then all branches together."""
        groups: dict[int, tuple[ProductCategory, list[ForecastRow]]] = {}
        for row in self.rows:
            groups.setdefault(row.category.id, (row.category, []))[1].append(row)
        return list(groups.values())


@dataclass(frozen=True)
class _Reported:
    """One latest-version report line of the organisation's history."""

    branch: str
    category_id: int
    period_id: int
    on: date
    stock: int
    consumption_7d: int


def _history(
    session: Session, organisation: Organisation, *, since: datetime, tz: ZoneInfo, category_id: int | None = None
) -> list[_Reported]:
    """The organisation's report lines since ``since`` (by period deadline), latest version of each report.

    One query for one organisation. A period's observation is dated by its latest submission, but never
    after its deadline (a late report describes the period it corrects).
    """
    latest_number = (
        select(SituationReportVersion.report_id, func.max(SituationReportVersion.number).label("number"))
        .join(SituationReport, SituationReport.id == SituationReportVersion.report_id)
        .join(ReportingPeriod, ReportingPeriod.id == SituationReport.period_id)
        .where(SituationReport.organisation_id == organisation.id, ReportingPeriod.deadline_at >= since)
        .group_by(SituationReportVersion.report_id)
        .subquery()
    )
    stmt = (
        select(
            SituationReport.branch,
            SituationReportLine.category_id,
            ReportingPeriod.id.label("period_id"),
            ReportingPeriod.deadline_at,
            SituationReportVersion.submitted_at,
            SituationReportLine.stock,
            SituationReportLine.consumption_7d,
        )
        .select_from(SituationReportLine)
        .join(SituationReportVersion, SituationReportVersion.id == SituationReportLine.version_id)
        .join(
            latest_number,
            (latest_number.c.report_id == SituationReportVersion.report_id)
            & (latest_number.c.number == SituationReportVersion.number),
        )
        .join(SituationReport, SituationReport.id == SituationReportVersion.report_id)
        .join(ReportingPeriod, ReportingPeriod.id == SituationReport.period_id)
    )
    if category_id is not None:
        stmt = stmt.where(SituationReportLine.category_id == category_id)
    return [
        _Reported(
            branch=row.branch,
            category_id=row.category_id,
            period_id=row.period_id,
            on=min(row.deadline_at, row.submitted_at).astimezone(tz).date(),
            stock=row.stock,
            consumption_7d=row.consumption_7d,
        )
        for row in session.execute(stmt)
    ]


def _summed_by_period(lines: Iterable[_Reported]) -> list[tuple[date, int, int]]:
    """(date, Σ stock, Σ consumption) per period over the given lines (several branches add up), oldest first."""
    periods: dict[int, list[_Reported]] = defaultdict(list)
    for line in lines:
        periods[line.period_id].append(line)
    summed = [
        (max(l.on for l in group), sum(l.stock for l in group), sum(l.consumption_7d for l in group))
        for group in periods.values()
    ]
    return sorted(summed)


def observations(lines: Iterable[_Reported]) -> list[need.Observation]:
    return [need.Observation(on, stock, consumption) for on, stock, consumption in _summed_by_period(lines)]


def organisation_overview(
    session: Session, organisation: Organisation, ctx: Context, *, now: datetime, tz: ZoneInfo
) -> OrganisationOverview:
    """Current figures per branch × category and per category over all branches, each with a forecast.

    The forecast (need.projected_stockout) runs on the last ``FORECAST_WEEKS`` weeks of reports, under the
    scenario multiplier; an organisation whose reports are older uses its current figures alone.
    """
    if not reporting.is_reporting_organisation(organisation):
        return OrganisationOverview(ctx, organisation, [], reports=False)
    current = list(
        session.scalars(
            select(CurrentNeed).where(CurrentNeed.organisation_id == organisation.id).order_by(CurrentNeed.branch)
        )
    )
    history = _history(session, organisation, since=now - timedelta(weeks=FORECAST_WEEKS), tz=tz)
    lines_by: dict[tuple[str, int], list[_Reported]] = defaultdict(list)
    for line in history:
        lines_by[(line.branch, line.category_id)].append(line)
    current_by: dict[int, dict[str, CurrentNeed]] = defaultdict(dict)
    for row in current:
        current_by[row.category_id][row.branch] = row

    def forecast(figures: Figures, lines: list[_Reported], fallback_on: date) -> date | None:
        points = observations(lines) or [need.Observation(fallback_on, figures.stock, figures.consumption_7d)]
        return need.projected_stockout(points, multiplier=ctx.multiplier, expected_14d=figures.expected_14d)

    rows: list[ForecastRow] = []
    for category in ctx.categories:
        by_branch = current_by.get(category.id, {})
        for branch in Branch:
            row = by_branch.get(str(branch))
            if row is None:
                continue
            figures = Figures(row.stock, row.consumption_7d, row.expected_14d, row.stated_need, row.computed_need, 1)
            rows.append(
                ForecastRow(
                    category,
                    branch,
                    supply(figures, multiplier=ctx.multiplier, thresholds=ctx.thresholds),
                    row.reported_at,
                    forecast(figures, lines_by.get((str(branch), category.id), []), row.reported_at.astimezone(tz).date()),
                )
            )
        if len(by_branch) > 1:  # one branch is its own total
            figures = Figures.total(
                Figures(r.stock, r.consumption_7d, r.expected_14d, r.stated_need, r.computed_need, 1)
                for r in by_branch.values()
            )
            reported_at = max(r.reported_at for r in by_branch.values())
            all_lines = [l for b in by_branch for l in lines_by.get((b, category.id), [])]
            rows.append(
                ForecastRow(
                    category,
                    None,
                    supply(figures, multiplier=ctx.multiplier, thresholds=ctx.thresholds),
                    reported_at,
                    forecast(figures, all_lines, reported_at.astimezone(tz).date()),
                )
            )
    return OrganisationOverview(ctx, organisation, rows, reports=True)


def trend_points(
    session: Session, organisation: Organisation, category: ProductCategory, *, now: datetime, tz: ZoneInfo,
    weeks: int = TREND_WEEKS,
) -> list[TrendPoint]:
    """The organisation's history in one category (all branches summed per period) for the trend chart."""
    lines = _history(session, organisation, since=now - timedelta(weeks=weeks), tz=tz, category_id=category.id)
    return [
        TrendPoint(on, stock, consumption, need.days_of_supply(stock, consumption))
        for on, stock, consumption in _summed_by_period(lines)
    ]


# --- exports -----------------------------------------------------------------------------------------------

@dataclass
class ExportTable:
    """A flat table for CSV and XLSX: a title, the header row and rows of plain values."""

    title: str
    header: list[str]
    rows: list[list[Any]]


def status_word(status: SupplyStatus) -> str:
    return {
        SupplyStatus.RED: _("Red"),
        SupplyStatus.AMBER: _("Amber"),
        SupplyStatus.GREEN: _("Green"),
        SupplyStatus.UNKNOWN: _("Not reported"),
    }[status]


def _figure_header() -> list[str]:
    return [
        _("Days of supply"),
        _("Status"),
        _("Stock"),
        _("Consumption last 7 days"),
        _("Expected deliveries within 14 days"),
        _("Stated need"),
        _("Computed need"),
    ]


def _figure_values(cell: Supply) -> list[Any]:
    if not cell.reported:
        return [None, status_word(cell.status), None, None, None, None, None]
    f = cell.figures
    return [cell.days, status_word(cell.status), f.stock, f.consumption_7d, f.expected_14d, f.stated_need, f.computed_need]


def _row_lead(row: Row) -> list[Any]:
    if row.organisation is not None:
        code = row.organisation.municipality_code or row.organisation.code
    elif row.county is not None:
        code = row.county.code
    else:
        code = ""
    return [code, row.label]


def national_export(overview: NationalOverview) -> ExportTable:
    header = [_("Table"), _("Code"), _("Name"), _("Category"), _("Unit"), *_figure_header(),
              _("Organisations reported"), _("Organisations expected to report")]
    rows = []
    for label, table in ((_("Counties"), overview.counties), (_("Regions"), overview.regions)):
        for row in [*table.rows, table.total]:
            if row.coverage is not None:
                reported, expected = row.coverage
            elif row.reported is not None:
                reported, expected = int(row.reported), 1
            else:
                reported = expected = None
            for column in table.columns:
                rows.append(
                    [label, *_row_lead(row), column.label, column.unit, *_figure_values(row.cells[column.key]),
                     reported, expected]
                )
    return ExportTable(_("Registered need in Sweden"), header, rows)


def county_export(overview: CountyOverview) -> ExportTable:
    header = [_("Code"), _("Name"), _("Category"), _("Unit"), *_figure_header(), _("Reported for the latest period")]
    rows = []
    for row in [*overview.table.rows, overview.table.total]:
        reported = None if row.reported is None else (_("Yes") if row.reported else _("No"))
        for column in overview.table.columns:
            rows.append([*_row_lead(row), column.label, column.unit, *_figure_values(row.cells[column.key]), reported])
    return ExportTable(_("Registered need in %(county)s", county=overview.county.name), header, rows)


def category_export(overview: CategoryOverview, category_name: str) -> ExportTable:
    header = [_("Code"), _("Name"), _("Branch"), _("Unit"), *_figure_header()]
    unit = unit_label(overview.category)
    rows = []
    for row in [*overview.table.rows, overview.table.total]:
        for column in overview.table.columns:
            rows.append([*_row_lead(row), column.label, unit, *_figure_values(row.cells[column.key])])
    return ExportTable(category_name, header, rows)


def organisation_export(overview: OrganisationOverview, locale: str) -> ExportTable:
    header = [_("Category"), _("Unit"), _("Branch"), *_figure_header(), _("Reported at"), _("Projected stock-out")]
    rows = [
        [
            r.category.name_in(locale),
            unit_label(r.category),
            r.branch.label if r.branch is not None else _("All branches"),
            *_figure_values(r.supply),
            r.reported_at,
            r.stockout_on,
        ]
        for r in overview.rows
    ]
    return ExportTable(overview.organisation.name, header, rows)
