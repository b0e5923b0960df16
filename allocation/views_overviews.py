"""Overviews of registered need: national, county, product and organisation pages, trend charts and exports.

Every overview answers ``?format=csv`` and ``?format=xlsx`` with the table it shows, and takes a scenario
multiplier ``?scenario=1.5`` (consumption × 1.5) for days of supply and forecasts.
"""
from __future__ import annotations

from typing import NamedTuple

from babel import Locale
from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import Form, StringField

from allocation import bp, charts, exports, overview_cache, overviews, reporting
from allocation.need import SupplyStatus
from app.auth.access import Scope, ensure_visible, require, scope_of
from app.auth.roles import Permission
from app.catalog.models import ProductCategory
from app.db import utcnow
from app.extensions import db
from app.forms import form_status
from app.main import register_nav
from app.organisations.models import County, Organisation
from app.timeutil import local_timezone, local_today

register_nav("allocation.overview", _l("Overview"), Permission.VIEW_NEED, order=25)


class ScenarioForm(Form):
    """The scenario multiplier, read from the query string (a GET form: it changes nothing)."""

    scenario = StringField(_l("Consumption multiplier (scenario)"))


def _scenario() -> tuple[ScenarioForm, object]:
    form = ScenarioForm(request.args)
    multiplier, error = overviews.parse_multiplier(form.scenario.data)
    if error:
        form.scenario.errors = [error]
    return form, multiplier


def _locale() -> str:
    return str(get_locale() or "sv")


def _context(multiplier) -> overviews.Context:
    return overviews.context(db.session, multiplier=multiplier, now=utcnow(), locale=_locale())


def scenario_args(multiplier) -> dict:
    """The query arguments that carry the scenario on to drill-down links (none for the default)."""
    return {} if multiplier == overviews.DEFAULT_MULTIPLIER else {"scenario": str(multiplier)}


def _respond(form, multiplier, render, export, basename: str):
    """The page, or its table as CSV or XLSX when ``?format=`` asks for it."""
    fmt = request.args.get("format")
    if fmt in exports.FORMATS:
        if multiplier != overviews.DEFAULT_MULTIPLIER:
            basename = f"{basename}-scenario-{str(multiplier).replace('.', '_')}"
        today = local_today()
        return exports.export_response(export(), fmt, basename=basename, today=today, tz=local_timezone())
    return render(), form_status(form)


class Cell(NamedTuple):
    """The strings of one supply cell, formatted in Python so the template only places them."""

    reported: bool
    tone: str  # the badge colour: the status, or neutral when nothing is reported
    days: str
    title: str
    stock: str
    need: str
    status: str


class CellFormat:
    """The words and numbers of overview cells, translated once per language rather than once per cell.

    A national overview has hundreds of cells with several numbers each; Babel's general number formatting
    per number would cost more than the page's queries, so the locale's separators are looked up once and
    each cell's strings are built here in one call (see ``cell_format``).
    """

    def __init__(self, locale: str):
        symbols = Locale.parse(locale).number_symbols
        symbols = symbols.get("latn", symbols)  # Babel 2.14+ keys the symbols by numbering system
        self._separators = str.maketrans({",": symbols["group"], ".": symbols["decimal"]})
        self._days = _("%(days)s d")
        self._no_use = _("no use")
        self._stock = _("Stock %(n)s")
        self._need = _("Need %(n)s")
        self._title = _("%(status)s: stock %(stock)s, consumption %(consumption)s in 7 days, stated need %(need)s")
        self._status = {status: overviews.status_word(status) for status in SupplyStatus}
        self._unreported = Cell(False, "neutral", "—", "", "", "", self._status[SupplyStatus.UNKNOWN])

    def number(self, value: int) -> str:
        return f"{value:,}".translate(self._separators)

    def days_number(self, days) -> str:
        return f"{days:,.1f}".translate(self._separators)

    def days(self, cell: overviews.Supply) -> str:
        return self._no_use if cell.days is None else self._days % {"days": self.days_number(cell.days)}

    def status(self, status: SupplyStatus) -> str:
        return self._status[status]

    def cell(self, cell: overviews.Supply) -> Cell:
        if not cell.reported:
            return self._unreported
        f = cell.figures
        stock = self.number(f.stock)
        need = self.number(f.stated_need)
        status = self._status[cell.status]
        title = self._title % {
            "status": status, "stock": stock, "consumption": self.number(f.consumption_7d), "need": need
        }
        return Cell(True, str(cell.status), self.days(cell), title, self._stock % {"n": stock},
                    self._need % {"n": need}, status)

    def cells(self, row: overviews.Row, columns) -> list[Cell]:
        """The row's cells in column order: one call per table row from the template."""
        return [self.cell(row.cells[column.key]) for column in columns]


def cell_format(locale: str) -> CellFormat:
    """The cell formatter of a language, built on its first use in this process (translations are fixed)."""
    fmt = _cell_formats.get(locale)
    if fmt is None:
        fmt = _cell_formats[locale] = CellFormat(locale)
    return fmt


_cell_formats: dict[str, CellFormat] = {}


def _common(form, multiplier, ctx) -> dict:
    return {
        "fmt": cell_format(ctx.locale),
        "form": form,
        "multiplier": multiplier,
        "keep": scenario_args(multiplier),
        "ctx": ctx,
        "scope": scope_of(current_user),
        "thresholds": ctx.thresholds,
        "unit_label": overviews.unit_label,
    }


def format_days(days) -> str:
    """Days of supply always with one decimal (10.0, not 10), in the reader's number format."""
    return format_decimal(days, format="#,##0.0")


@bp.route("/overview")
@require(Permission.VIEW_NEED)
def overview():
    """Send each user to the overview of their scope: Sweden, their county, or their own organisation."""
    _form, multiplier = _scenario()
    keep = scenario_args(multiplier)
    scope = scope_of(current_user)
    if scope is Scope.NATIONAL:
        return redirect(url_for(".overview_national", **keep))
    if scope is Scope.COUNTY:
        if current_user.organisation.county_code is None:
            abort(404)
        return redirect(url_for(".overview_county", county_code=current_user.organisation.county_code, **keep))
    return redirect(url_for(".overview_organisation", organisation_id=current_user.organisation_id, **keep))


@bp.route("/overview/national")
@require(Permission.VIEW_NEED)
def overview_national():
    form, multiplier = _scenario()
    if scope_of(current_user) is not Scope.NATIONAL:
        # Not a secret page, but not this user's: their own overview is where the menu leads.
        return redirect(url_for(".overview", **scenario_args(multiplier)))
    ctx = _context(multiplier)
    return _respond(
        form,
        multiplier,
        lambda: render_template(
            "allocation/overview_national.html",
            tables=tables(
                "allocation/overview_national_tables.html",
                ("national",),
                ctx,
                lambda: overviews.national_overview(db.session, ctx),
            ),
            **_common(form, multiplier, ctx),
        ),
        lambda: overviews.national_export(overviews.national_overview(db.session, ctx)),
        "need-sweden",
    )


@bp.route("/overview/county/<string(length=2):county_code>")
@require(Permission.VIEW_NEED)
def overview_county(county_code: str):
    form, multiplier = _scenario()
    county = db.session.get(County, county_code)
    scope = scope_of(current_user)
    own_county = current_user.organisation.county_code
    if county is None or (scope is not Scope.NATIONAL and own_county != county_code):
        abort(404)
    if scope is Scope.OWN:
        return redirect(url_for(".overview_organisation", organisation_id=current_user.organisation_id,
                                **scenario_args(multiplier)))
    ctx = _context(multiplier)
    return _respond(
        form,
        multiplier,
        lambda: render_template(
            "allocation/overview_county.html",
            county=county,
            tables=tables(
                "allocation/overview_county_tables.html",
                ("county", county.code),
                ctx,
                lambda: overviews.county_overview(db.session, county, ctx),
            ),
            **_common(form, multiplier, ctx),
        ),
        lambda: overviews.county_export(overviews.county_overview(db.session, county, ctx)),
        f"need-county-{county.code}",
    )


def tables(template: str, scope_key: tuple, ctx: overviews.Context, build) -> Markup:
    """An overview's tables as HTML, from this worker's cache while nothing they show has changed.

    ``build`` computes the overview (the template's ``overview``). The template is rendered without the
    request's context, so it cannot show anything of the user or session and the result can be shared by
    every reader with the same view: the key holds the scope (national, or the county), the reader's kind
    of scope, language, scenario, time zone and URL prefix; the freshness token holds what the figures,
    colours and dates depend on (``overviews.freshness``, the latest due period, the thresholds) and today's
    date.
    """

    def render() -> Markup:
        html = current_app.jinja_env.get_template(template).render(
            overview=build(), keep=scenario_args(ctx.multiplier), fmt=cell_format(ctx.locale), period=ctx.period
        )
        return Markup(html)

    if not overview_cache.enabled():
        return render()
    tz = local_timezone()
    key = (*scope_key, str(scope_of(current_user)), ctx.locale, str(ctx.multiplier), str(tz), request.script_root)
    token = (overviews.freshness(db.session, ctx), utcnow().astimezone(tz).date())
    return overview_cache.fragments().get(key, token, render)


@bp.route("/overview/category/<int:category_id>")
@require(Permission.VIEW_NEED)
def overview_category(category_id: int):
    form, multiplier = _scenario()
    category = db.session.get(ProductCategory, category_id)
    if category is None:
        abort(404)
    ctx = _context(multiplier)
    result = overviews.category_overview(db.session, current_user, category, ctx)
    name = category.name_in(_locale())
    return _respond(
        form,
        multiplier,
        lambda: render_template("allocation/overview_category.html", overview=result, **_common(form, multiplier, ctx)),
        lambda: overviews.category_export(result, name),
        f"need-{category.code}",
    )


@bp.route("/overview/organisation/<int:organisation_id>")
@require(Permission.VIEW_NEED)
def overview_organisation(organisation_id: int):
    form, multiplier = _scenario()
    organisation = ensure_visible(current_user, db.session.get(Organisation, organisation_id))
    ctx = _context(multiplier)
    result = overviews.organisation_overview(db.session, organisation, ctx, now=utcnow(), tz=local_timezone())
    return _respond(
        form,
        multiplier,
        lambda: render_template(
            "allocation/overview_organisation.html", overview=result, **_common(form, multiplier, ctx)
        ),
        lambda: overviews.organisation_export(result, _locale()),
        f"need-{organisation.municipality_code or organisation.code}",
    )


@bp.route("/overview/organisation/<int:organisation_id>/trend/<int:category_id>.svg")
@require(Permission.VIEW_NEED)
def overview_trend(organisation_id: int, category_id: int):
    """Stock, weekly consumption and days of supply over time, as an SVG image (also usable in PDFs)."""
    organisation = ensure_visible(current_user, db.session.get(Organisation, organisation_id))
    category = db.session.get(ProductCategory, category_id)
    if category is None:
        abort(404)
    points = overviews.trend_points(db.session, organisation, category, now=utcnow(), tz=local_timezone())
    thresholds = reporting.thresholds(reporting.get_settings(db.session))
    svg = charts.trend_chart(
        points,
        text=chart_text(organisation, category, points),
        thresholds=(thresholds.red, thresholds.amber),
        date_label=lambda day: format_date(day, "d MMM"),
        number_label=format_decimal,
    )
    response = Response(svg, mimetype="image/svg+xml")
    # An image, never a document that runs anything, even when opened on its own.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def chart_text(organisation: Organisation, category: ProductCategory, points) -> charts.ChartText:
    unit = overviews.unit_label(category)
    title = _("%(category)s at %(organisation)s", category=category.name_in(_locale()), organisation=organisation.name)
    if points:
        latest = points[-1]
        days = (
            _("%(days)s days of supply", days=format_days(latest.days_of_supply))
            if latest.days_of_supply is not None
            else _("no consumption")
        )
        description = _(
            "%(count)s reports from %(first)s to %(last)s. Latest: stock %(stock)s, consumption %(consumption)s "
            "in 7 days (%(unit)s), %(days)s.",
            count=len(points),
            first=format_date(points[0].on, "long"),
            last=format_date(latest.on, "long"),
            stock=format_decimal(latest.stock),
            consumption=format_decimal(latest.consumption_7d),
            unit=unit,
            days=days,
        )
    else:
        description = _("No situation reports in this category yet.")
    return charts.ChartText(
        title=title,
        description=description,
        stock=_("Stock"),
        consumption=_("Consumption per week"),
        days=_("Days of supply"),
        quantity_axis=_("Units (%(unit)s)", unit=unit),
        days_axis=_("Days"),
        no_data=_("No reports yet"),
        # Left unformatted here: the chart fills in the number.
        capped=_("Values above %(cap)s days are drawn at the top edge."),
    )
