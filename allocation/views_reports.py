"""Situation reports on the web: the report form, reports and their history, reporting settings and periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from babel.dates import get_day_names
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload
from wtforms import Form

from allocation import bp, need, reporting
from allocation.forms import ChooseReportForm, ReportForm, SettingsForm, report_form
from allocation.models import (
    ApiToken,
    Branch,
    Channel,
    ReportingPeriod,
    SituationReport,
    SituationReportLine,
    SituationReportVersion,
)
from allocation.need import SupplyStatus, Thresholds
from allocation.reporting import LineInput, Problem
from app.auth.access import (
    Scope,
    can_see_organisation,
    ensure_visible,
    has_permission,
    organisation_scope_filter,
    require,
    scope_of,
)
from app.auth.roles import Permission
from app.catalog.models import ProductCategory, UnitOfIssue
from app.catalog.services import reporting_units
from app.db import utcnow
from app.errors import ConflictError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County, Organisation, OrganisationKind
from app.timeutil import local_timezone

PERIOD_CHOICES = 26  # a quarter of twice-weekly periods in the list filter
LINE_FIELDS = ("stock", "consumption_7d", "expected_14d", "stated_need", "justification")
CHANGE_FIELDS = {
    "stock": _l("Stock on hand"),
    "consumption_7d": _l("Used in the last 7 days"),
    "expected_14d": _l("Expected within 14 days"),
    "stated_need": _l("Stated need"),
    "justification": _l("Justification"),
}
CHANNEL_LABELS = {Channel.FORM: _l("Web form"), Channel.FILE: _l("File upload"), Channel.API: _l("API")}
STATUS_TONES = {
    SupplyStatus.RED: "red",
    SupplyStatus.AMBER: "amber",
    SupplyStatus.GREEN: "green",
    SupplyStatus.UNKNOWN: "neutral",
}


def when(moment: datetime | None) -> str:
    """A moment in Stockholm time (the app's time zone), weekday first: deadlines fall on weekdays."""
    return format_datetime(moment, "EEE d MMM yyyy HH:mm") if moment is not None else ""


def _locale() -> str:
    return str(get_locale() or "sv")


def _unit_label(unit: str) -> str:
    try:
        return UnitOfIssue(unit).label
    except ValueError:
        return unit


def _period_label(period: ReportingPeriod, now: datetime) -> str:
    if period.is_late(now):
        return _(
            "Deadline %(deadline)s (passed: the report will be marked late)",
            deadline=when(period.deadline_at),
        )
    return _("Deadline %(deadline)s", deadline=when(period.deadline_at))


def register_navigation() -> None:
    register_nav("allocation.reports", _l("Situation reports"), Permission.VIEW_NEED, order=30)
    register_nav("allocation.settings", _l("Reporting settings"), Permission.MANAGE_REPORTING, order=85)


# --- presenting a report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    """One report line as shown: the figures, days of supply and the status they give."""

    category: ProductCategory
    unit: str
    line: SituationReportLine
    days: Decimal | None
    status: SupplyStatus
    status_label: str

    @property
    def tone(self) -> str:
        return STATUS_TONES[self.status]

    @property
    def days_text(self) -> str:
        return format_decimal(self.days, "#,##0.0") if self.days is not None else "—"


def status_label(status: SupplyStatus, days: Decimal | None, thresholds: Thresholds) -> str:
    if days is None:
        return _("Nothing used")
    return {
        SupplyStatus.RED: _("Red: under %(days)s days", days=thresholds.red),
        SupplyStatus.AMBER: _("Amber: under %(days)s days", days=thresholds.amber),
        SupplyStatus.GREEN: _("Green: %(days)s days or more", days=thresholds.amber),
        SupplyStatus.UNKNOWN: _("Not reported"),
    }[status]


def line_views(version: SituationReportVersion, thresholds: Thresholds) -> list[LineView]:
    views = []
    units = reporting_units(db.session, [line.category_id for line in version.lines])  # one query, not one each
    for line in sorted(version.lines, key=lambda line: (line.category.sort_order, line.category.code)):
        days = need.days_of_supply(line.stock, line.consumption_7d)
        status = need.status_for(days, thresholds)
        views.append(
            LineView(
                line.category,
                _unit_label(units[line.category_id]),
                line,
                days,
                status,
                status_label(status, days, thresholds),
            )
        )
    return views


@dataclass(frozen=True)
class Change:
    """A figure that differs from the previous version; None on one side when the category was not in it."""

    category: ProductCategory
    field: str
    label: Any
    before: Any
    after: Any


def changes_between(previous: SituationReportVersion | None, current: SituationReportVersion) -> list[Change]:
    """What the current version changed from the previous one, category by category (none for a first one)."""
    if previous is None:
        return []
    before = {line.category_id: line for line in previous.lines}
    after = {line.category_id: line for line in current.lines}
    categories = {line.category_id: line.category for line in [*previous.lines, *current.lines]}
    changes = []
    for category_id in sorted(categories, key=lambda i: (categories[i].sort_order, categories[i].code)):
        old, new = before.get(category_id), after.get(category_id)
        for name, label in CHANGE_FIELDS.items():
            old_value = getattr(old, name) if old is not None else None
            new_value = getattr(new, name) if new is not None else None
            if old_value != new_value:
                changes.append(Change(categories[category_id], name, label, old_value, new_value))
    return changes


@dataclass(frozen=True)
class VersionView:
    version: SituationReportVersion
    submitted_by: str
    channel: Any
    changes: list[Change]


def version_views(report: SituationReport) -> list[VersionView]:
    """Every version, newest first, with who sent it and what it changed from the one before."""
    token_ids = {v.api_token_id for v in report.versions if v.api_token_id is not None}
    tokens = (
        {t.id: t for t in db.session.scalars(select(ApiToken).where(ApiToken.id.in_(token_ids)))}
        if token_ids
        else {}
    )
    views = []
    previous = None
    for version in report.versions:
        if version.submitted_by is not None:
            by = version.submitted_by.name
        elif version.api_token_id in tokens:
            by = _("API token %(name)s", name=tokens[version.api_token_id].name)
        else:
            by = ""
        views.append(
            VersionView(
                version,
                by,
                CHANNEL_LABELS.get(Channel(version.channel), version.channel),
                changes_between(previous, version),
            )
        )
        previous = version
    return list(reversed(views))


def _visible_report(report_id: int) -> SituationReport:
    report = db.session.get(SituationReport, report_id)
    if report is None:
        abort(404)
    ensure_visible(current_user, report.organisation)
    return report


def _may_correct(report: SituationReport, now: datetime) -> bool:
    return (
        has_permission(current_user, Permission.SUBMIT_REPORTS)
        and current_user.organisation_id == report.organisation_id
        and report.period.is_open(now)
    )


def _thresholds() -> Thresholds:
    return reporting.thresholds(reporting.get_settings(db.session))


# --- the list of reports ---------------------------------------------------------------------------------


def _late_reports():
    """Reports whose first version came in after the deadline."""
    return select(SituationReportVersion.report_id).where(
        SituationReportVersion.number == 1, SituationReportVersion.late.is_(True)
    )


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def report_listing(user) -> Listing:
    periods = list(
        db.session.scalars(
            select(ReportingPeriod).order_by(ReportingPeriod.deadline_at.desc()).limit(PERIOD_CHOICES)
        )
    )
    asked = _period_by_id(request.args.get("period"))  # an older period linked from the periods page
    if asked is not None and asked not in periods:
        periods.append(asked)
    filters = [
        Filter(
            "period",
            _l("Period"),
            [(str(p.id), when(p.deadline_at)) for p in periods],
            lambda stmt, value: stmt.where(SituationReport.period_id == int(value)),
        ),
        Filter(
            "branch",
            _l("Branch"),
            [(b.value, b.label) for b in Branch],
            lambda stmt, value: stmt.where(SituationReport.branch == value),
        ),
        Filter(
            "late",
            _l("Late"),
            [("yes", _l("Late")), ("no", _l("On time"))],
            lambda stmt, value: stmt.where(
                SituationReport.id.in_(_late_reports())
                if value == "yes"
                else SituationReport.id.not_in(_late_reports())
            ),
        ),
    ]
    # Linked from an organisation's need page: narrow the list to that organisation when the user may see it.
    wanted = request.args.get("organisation", "")
    organisation = db.session.get(Organisation, int(wanted)) if wanted.isdigit() else None
    if organisation is not None and can_see_organisation(user, organisation):
        filters.append(
            Filter(
                "organisation",
                _l("Organisation"),
                [(str(organisation.id), organisation.name)],
                lambda stmt, value: stmt.where(SituationReport.organisation_id == int(value)),
            )
        )
    if scope_of(user) is Scope.NATIONAL:
        counties = db.session.scalars(select(County).order_by(County.code)).all()
        filters.append(
            Filter(
                "county",
                _l("County"),
                [(c.code, f"{c.code} {c.name}") for c in counties],
                lambda stmt, value: stmt.where(Organisation.county_code == value),
            )
        )
    return Listing(
        select(SituationReport)
        .join(SituationReport.organisation)
        .join(SituationReport.period)
        .where(organisation_scope_filter(user))
        .options(
            contains_eager(SituationReport.organisation),
            contains_eager(SituationReport.period),
            # The list shows each version's number and time, never the lines.
            selectinload(SituationReport.versions).lazyload(SituationReportVersion.lines),
        ),
        columns=[
            Column(
                "deadline",
                _l("Deadline"),
                lambda r: when(r.period.deadline_at),
                sort=ReportingPeriod.deadline_at,
                link=lambda r: url_for("allocation.report", report_id=r.id),
            ),
            Column("organisation", _l("Organisation"), lambda r: r.organisation.name, sort=Organisation.name),
            Column("branch", _l("Branch"), lambda r: Branch(r.branch).label, sort=SituationReport.branch),
            Column("version", _l("Version"), lambda r: r.latest.number if r.latest else None),
            Column(
                "submitted", _l("Last submitted"), lambda r: when(r.latest.submitted_at) if r.latest else ""
            ),
            Column("late", _l("Late"), lambda r: _yes_no(bool(r.versions) and r.versions[0].late)),
        ],
        search=[Organisation.name, Organisation.code, Organisation.municipality_code],
        filters=filters,
        default_sort="deadline",
        default_dir="desc",
        csv_name="situation-reports",
    )


@dataclass(frozen=True)
class DueReport:
    """A report the user's organisation can send or correct now: a period taking reports and a branch."""

    period: ReportingPeriod
    branch: Branch
    report: SituationReport | None


def _due_reports(now: datetime) -> list[DueReport]:
    periods = reporting.periods_accepting(db.session, now)
    if not periods:
        return []
    existing = {
        (r.period_id, r.branch): r
        for r in db.session.scalars(
            select(SituationReport).where(
                SituationReport.organisation_id == current_user.organisation_id,
                SituationReport.period_id.in_([p.id for p in periods]),
            )
        )
    }
    return [
        DueReport(p, b, existing.get((p.id, b.value)))
        for p in sorted(periods, key=lambda p: p.deadline_at)
        for b in Branch
    ]


@bp.route("/reports/")
@require(Permission.VIEW_NEED)
def reports():
    now = utcnow()
    reporter = has_permission(current_user, Permission.SUBMIT_REPORTS)
    due = _due_reports(now) if reporter else []
    return report_listing(current_user).respond(
        lambda page: render_template(
            "allocation/report_index.html", page=page, due=due, reporter=reporter, now=now, when=when
        )
    )


# --- the form --------------------------------------------------------------------------------------------


def _period_by_id(value) -> ReportingPeriod | None:
    try:
        return db.session.get(ReportingPeriod, int(value))
    except (TypeError, ValueError):
        return None


def _choose_form(formdata, now: datetime, accepting: list[ReportingPeriod]) -> ChooseReportForm:
    """Period and branch; defaults (the current period) only when nothing was chosen yet."""
    periods = sorted(accepting, key=lambda p: p.deadline_at)
    if request.method == "POST":
        # A period that closed while the form was being filled in: the service says so beside the figures,
        # which the reporter keeps, instead of the form starting over.
        posted = _period_by_id(request.form.get("period_id"))
        if posted is not None and posted not in periods:
            periods.append(posted)
    choices = [(str(p.id), _period_label(p, now)) for p in periods]
    if formdata is not None:
        return ChooseReportForm(formdata, periods=choices)
    current = reporting.current_period(db.session, now)
    defaults = {
        "period_id": str(current.id) if current is not None else "",
        "branch": _default_branch(current_user.organisation),
    }
    return ChooseReportForm(periods=choices, data=defaults)


def _default_branch(organisation: Organisation) -> str:
    """Regions report mostly healthcare, municipalities mostly social services."""
    if organisation.kind == OrganisationKind.MUNICIPALITY:
        return Branch.SOCIAL_SERVICES.value
    return Branch.HEALTHCARE.value


def _prefill(period: ReportingPeriod, branch: Branch, source: SituationReportVersion | None) -> dict:
    """The form's starting values: the source version's figures for the categories the period asks for."""
    previous = {line.category_id: line for line in source.lines} if source is not None else {}
    lines = {}
    for category in period.categories:
        line = previous.get(category.id)
        lines[category.code] = {name: getattr(line, name) for name in LINE_FIELDS} if line is not None else {}
    return {
        "period_id": str(period.id),
        "branch": branch.value,
        "idempotency_key": f"form-{uuid4().hex}",
        "lines": lines,
        "comment": "",
    }


def _add_error(field, message: str) -> None:
    field.errors = [*field.errors, message]


def show_problems(form: ReportForm, problems: list[Problem]) -> None:
    """Put each problem beside the field of its line, or above the form when it names no field there."""
    lines = form.lines.form
    for problem in problems:
        if problem.category in lines and problem.field in LINE_FIELDS:
            _add_error(lines[problem.category].form[problem.field], problem.message)
        else:
            form.form_errors.append(problem.message)


def _line_inputs(form: ReportForm, categories: list[ProductCategory]) -> list[LineInput]:
    inputs = []
    for category in categories:
        line = form.lines.form[category.code].form
        inputs.append(
            LineInput(
                category=category.code,
                stock=line.stock.data,
                consumption_7d=line.consumption_7d.data,
                expected_14d=line.expected_14d.data,
                stated_need=line.stated_need.data,
                justification=line.justification.data or "",
            )
        )
    return inputs


@dataclass(frozen=True)
class FigureInput:
    """One input of a report line as ``figure_field`` (macros/forms.html) shows it, read off its WTForms field.

    The form has five per category; rendering each through WTForms' widgets was most of the page's time.
    """

    id: str
    name: str
    label: str
    value: str
    errors: Sequence[str]
    required: bool
    rows: int | None  # a textarea this many rows high; a number input when None
    maxlength: int | None


def figure_inputs(line: Form, labels: dict[str, str]) -> dict[str, FigureInput]:
    """A line's inputs by field name; ``labels`` carries each label from line to line, translated once."""
    inputs = {}
    for field in line:
        name = field.short_name
        if name not in labels:
            labels[name] = str(field.label.text)
        inputs[name] = FigureInput(
            id=field.id,
            name=field.name,
            label=labels[name],
            value=field._value(),  # what was typed, when it was posted: shown back beside its error
            errors=field.errors,
            required=bool(field.flags.required),
            rows=(field.render_kw or {}).get("rows"),
            maxlength=field.flags.maxlength,
        )
    return inputs


def _submitted_message(version: SituationReportVersion, created: bool) -> tuple[str, str]:
    if not created:
        return (
            _(
                "This form was already sent as version %(number)s; nothing new was saved. To change the report, "
                "correct it.",
                number=version.number,
            ),
            "info",
        )
    message = _("Report submitted (version %(number)s).", number=version.number)
    if version.late:
        message = " ".join(
            [
                message,
                _(
                    "It is marked late: the deadline was %(deadline)s.",
                    deadline=when(version.report.period.deadline_at),
                ),
            ]
        )
    return message, "success"


@bp.route("/reports/new", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def new_report():
    """Choose the period and branch, then fill in (or correct) the report for them."""
    organisation = current_user.organisation
    now = utcnow()
    accepting = reporting.periods_accepting(db.session, now)
    if request.method == "GET" and "period_id" not in request.args:
        choose = _choose_form(None, now, accepting)
        return render_template("allocation/report_choose.html", choose=choose, accepting=accepting)
    choose = _choose_form(request.form if request.method == "POST" else request.args, now, accepting)
    if not choose.validate():
        return render_template("allocation/report_choose.html", choose=choose, accepting=accepting), 422
    period = _period_by_id(choose.period_id.data)
    branch = Branch(choose.branch.data)

    report = db.session.scalar(
        select(SituationReport).where(
            SituationReport.organisation_id == organisation.id,
            SituationReport.period_id == period.id,
            SituationReport.branch == branch.value,
        )
    )
    current = report.latest if report is not None else None
    prefilled_from = current or reporting.latest_version(
        db.session, organisation.id, branch.value, before_deadline=period.deadline_at
    )
    categories = list(period.categories)
    if request.method == "POST":
        form = report_form(categories, period.horizon_days)
    else:
        form = report_form(categories, period.horizon_days, data=_prefill(period, branch, prefilled_from))
    ask_confirmation = bool(form.confirm_spikes.data)
    if form.validate_on_submit():
        try:
            submitted = reporting.submit_report(
                db.session,
                organisation=organisation,
                period=period,
                branch=branch.value,
                lines=_line_inputs(form, categories),
                channel=Channel.FORM,
                user=current_user,
                idempotency_key=form.idempotency_key.data or None,
                confirm_spikes=bool(form.confirm_spikes.data),
                comment=form.comment.data or "",
                now=now,
            )
        except reporting.ConfirmationRequired as spikes:
            db.session.rollback()
            show_problems(form, spikes.problems)
            ask_confirmation = True
        except reporting.ReportInvalid as invalid:
            db.session.rollback()
            show_problems(form, invalid.problems)
        except (reporting.ReportError, ConflictError) as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            message, category = _submitted_message(submitted.version, submitted.created)
            flash(message, category)
            return redirect(url_for("allocation.report", report_id=submitted.version.report_id))
    units = reporting_units(db.session, [category.id for category in categories])
    labels: dict[str, str] = {}
    rows = [
        (category, _unit_label(units[category.id]), figure_inputs(form.lines.form[category.code].form, labels))
        for category in categories
    ]
    return render_template(
        "allocation/report_form.html",
        form=form,
        rows=rows,
        period=period,
        branch=branch,
        organisation=organisation,
        current=current,
        prefilled_from=prefilled_from,
        ask_confirmation=ask_confirmation,
        late=period.is_late(now),
        when=when,
    ), form_status(form)


# --- a report and its history ----------------------------------------------------------------------------


@bp.route("/reports/<int:report_id>")
@require(Permission.VIEW_NEED)
def report(report_id: int):
    report = _visible_report(report_id)
    now = utcnow()
    latest = report.latest
    thresholds = _thresholds()
    return render_template(
        "allocation/report_detail.html",
        report=report,
        branch=Branch(report.branch),
        latest=latest,
        lines=line_views(latest, thresholds) if latest is not None else [],
        versions=version_views(report),
        may_correct=_may_correct(report, now),
        when=when,
    )


@bp.route("/reports/<int:report_id>/versions/<int:version_id>")
@require(Permission.VIEW_NEED)
def report_version(report_id: int, version_id: int):
    report = _visible_report(report_id)
    versions = {view.version.id: view for view in version_views(report)}
    view = versions.get(version_id)
    if view is None:
        abort(404)
    return render_template(
        "allocation/report_version.html",
        report=report,
        branch=Branch(report.branch),
        view=view,
        lines=line_views(view.version, _thresholds()),
        when=when,
    )


# --- reporting settings ----------------------------------------------------------------------------------


def _settings_form(settings) -> SettingsForm:
    if request.method == "POST":
        form = SettingsForm()
    else:
        form = SettingsForm(
            data={
                "deadline_weekdays": settings.weekdays,
                "deadline_time": settings.deadline_time,
                "open_days_ahead": settings.open_days_ahead,
                "horizon_days": settings.horizon_days,
                "red_days": settings.red_days,
                "amber_days": settings.amber_days,
                "need_max_age_days": settings.need_max_age_days,
                "category_ids": [c.id for c in settings.categories],
            }
        )
    day_names = get_day_names("wide", locale=_locale())
    form.deadline_weekdays.choices = [(day, day_names[day - 1].capitalize()) for day in range(1, 8)]
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    form.category_ids.choices = [(c.id, c.name_in(_locale())) for c in categories]
    return form


def _settings_data(form: SettingsForm) -> reporting.SettingsData:
    return reporting.SettingsData(
        deadline_weekdays=form.deadline_weekdays.data or [],
        deadline_time=form.deadline_time.data,
        open_days_ahead=form.open_days_ahead.data,
        horizon_days=form.horizon_days.data,
        red_days=form.red_days.data,
        amber_days=form.amber_days.data,
        need_max_age_days=form.need_max_age_days.data,
        category_ids=form.category_ids.data or [],
    )


@bp.route("/settings", methods=["GET", "POST"])
@require(Permission.MANAGE_REPORTING)
def settings():
    current = reporting.get_settings(db.session)
    form = _settings_form(current)
    if form.validate_on_submit():
        try:
            reporting.update_settings(db.session, current_user, _settings_data(form))
        except reporting.SettingsInvalid as invalid:
            db.session.rollback()
            for error in invalid.errors:
                apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The reporting settings are saved. They apply to periods opened from now on."), "success")
            return redirect(url_for("allocation.settings"))
    elif form.errors:
        # Say what else is wrong too (red not below amber, …), beside the fields that are well formed.
        for error in reporting.settings_problems(_settings_data(form)):
            if not form[error.field].errors:
                apply_domain_error(form, error)
    return render_template("allocation/settings.html", form=form), form_status(form)


# --- reporting periods -----------------------------------------------------------------------------------


def period_state(period: ReportingPeriod, now: datetime) -> tuple[str, str]:
    """A period's state in words and the badge tone for it."""
    if period.closed_manually_at is not None:
        return _("Closed early"), "neutral"
    if now < period.opens_at:
        return _("Upcoming"), "neutral"
    if now >= period.closes_at:
        return _("Closed"), "neutral"
    if period.is_late(now):
        return _("Taking late reports"), "amber"
    return _("Open for reports"), "green"


def period_listing() -> Listing:
    return Listing(
        select(ReportingPeriod),
        columns=[
            Column(
                "deadline", _l("Deadline"), lambda p: when(p.deadline_at), sort=ReportingPeriod.deadline_at
            ),
            Column("opens", _l("Opens"), lambda p: when(p.opens_at), sort=ReportingPeriod.opens_at),
            Column("closes", _l("Closes"), lambda p: when(p.closes_at), sort=ReportingPeriod.closes_at),
        ],
        default_sort="deadline",
        default_dir="desc",
    )


@bp.route("/periods")
@require(Permission.VIEW_NEED)
def periods():
    page = period_listing().page(per_page=25)
    scope = organisation_scope_filter(current_user)
    return render_template(
        "allocation/periods.html",
        page=page,
        received=reporting.organisations_reported(db.session, [p.id for p in page.rows], scope),
        expected=reporting.reporting_organisation_count(db.session, scope),
        now=utcnow(),
        state=period_state,
        locale=_locale(),
        when=when,
        manage=has_permission(current_user, Permission.MANAGE_REPORTING),
    )


@bp.route("/periods/<int:period_id>/close", methods=["POST"])
@require(Permission.MANAGE_REPORTING)
def close_period(period_id: int):
    period = db.session.get(ReportingPeriod, period_id)
    if period is None:
        abort(404)
    try:
        reporting.close_period(db.session, current_user, period)
    except reporting.ReportError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _(
                "The period due %(deadline)s is closed; it takes no more reports.",
                deadline=when(period.deadline_at),
            ),
            "success",
        )
    return redirect(url_for("allocation.periods"))


@bp.route("/periods/open", methods=["POST"])
@require(Permission.MANAGE_REPORTING)
def open_periods():
    created = reporting.open_periods(
        db.session, now=utcnow(), tz=local_timezone()
    )
    db.session.commit()
    if created:
        flash(
            ngettext("%(num)d reporting period opened.", "%(num)d reporting periods opened.", len(created)),
            "success",
        )
    else:
        flash(_("Every period due within the coming days is already open."), "info")
    return redirect(url_for("allocation.periods"))
