"""Situation reports by file: the template to download and the CSV or XLSX upload."""
from __future__ import annotations

from datetime import datetime

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy import select
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from allocation import bp, imports, need, reporting
from allocation.models import Branch, Channel, ReportingPeriod, SituationReport, SituationReportVersion
from allocation.reporting import ConfirmationRequired, ReportError, ReportInvalid
from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import UnitOfIssue
from app.catalog.services import reporting_units
from app.db import utcnow
from app.errors import ConflictError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.organisations.models import Organisation, OrganisationKind
from app.timeutil import local_timezone

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(FlaskForm):
    """The upload form: shape only; the file's content is checked by allocation.imports and the service."""

    file = FileField(
        _l("Report file (CSV or XLSX)"),
        validators=[
            FileRequired(_l("Choose the file to upload.")),
            FileSize(
                imports.MAX_FILE_BYTES,
                message=_l("The file is larger than 1 MB. A report has one row per category; upload only that."),
            ),
        ],
    )
    # Named as the service names it, so a closed period is reported beside this field.
    period = SelectField(
        _l("Reporting period"),
        coerce=int,
        validate_choice=False,  # a period that closed while the page was open gets the service's message
        validators=[InputRequired(_l("Choose a reporting period."))],
    )
    branch = SelectField(_l("Branch of activity"), validators=[InputRequired(_l("Choose a branch of activity."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])
    confirm_spikes = BooleanField(_l("I have checked unusual numbers"))


class TemplateForm(FlaskForm):
    """Which template to download: a GET form, so no CSRF token; ids differ from the upload form's."""

    class Meta:
        csrf = False

    period_id = SelectField(_l("Reporting period"), coerce=int, id="template-period", validate_choice=False)
    branch = SelectField(_l("Branch of activity"), id="template-branch")
    prefill = BooleanField(_l("Fill in the figures from our latest report"), id="template-prefill", default=True)


def _period_label(period: ReportingPeriod, now: datetime) -> str:
    deadline = format_datetime(period.deadline_at, "EEE d MMM yyyy HH:mm")
    if period.is_late(now):
        return _("Deadline %(deadline)s (passed: the report will be marked late)", deadline=deadline)
    return _("Deadline %(deadline)s", deadline=deadline)


def _branch_choices() -> list[tuple[str, str]]:
    return [(branch.value, branch.label) for branch in Branch]


def _default_branch(organisation: Organisation) -> str:
    """Regions report mostly healthcare, municipalities mostly social services."""
    if organisation.kind == OrganisationKind.MUNICIPALITY:
        return Branch.SOCIAL_SERVICES.value
    return Branch.HEALTHCARE.value


def _organisation_codes(organisation: Organisation) -> list[str]:
    return [code for code in (organisation.code, organisation.municipality_code) if code]


def _report_url(version: SituationReportVersion) -> str:
    """The report page when it exists, else back to this form."""
    if "allocation.report" in current_app.view_functions:
        return url_for("allocation.report", report_id=version.report_id)
    return url_for("allocation.import_report")


@bp.route("/import", methods=["GET", "POST"])
@require(Permission.SUBMIT_REPORTS)
def import_report():
    organisation = current_user.organisation
    now = utcnow()
    periods = reporting.periods_accepting(db.session, now)
    form = ImportForm()
    form.period.choices = [(p.id, _period_label(p, now)) for p in periods]
    form.branch.choices = _branch_choices()
    if not form.is_submitted():
        chosen = request.args.get("period_id", type=int)
        current = reporting.current_period(db.session, now)
        form.period.data = chosen if chosen in {p.id for p in periods} else (current.id if current else None)
        branch = request.args.get("branch")
        form.branch.data = branch if branch in {b.value for b in Branch} else _default_branch(organisation)
    problems: list[imports.RowProblem] = []
    if form.validate_on_submit():
        submitted, problems = _submit_file(form, organisation, now)
        if submitted is not None:
            db.session.commit()
            version = submitted.version
            flash(_("The report was received from the file as version %(number)s.", number=version.number), "success")
            if version.late:
                flash(_("It arrived after the deadline and is marked late."), "info")
            return redirect(_report_url(version))
        # The service raises before it writes; rolling back makes sure nothing of a refused file remains.
        db.session.rollback()
    template_form = TemplateForm(formdata=None, period_id=form.period.data, branch=form.branch.data)
    template_form.period_id.choices = form.period.choices
    template_form.branch.choices = form.branch.choices
    status = 422 if problems else form_status(form)
    return render_template(
        "allocation/import.html",
        form=form,
        template_form=template_form,
        problems=problems,
        organisation=organisation,
        periods=periods,
        required_columns=imports.REQUIRED_COLUMNS,
    ), status


def _submit_file(
    form: ImportForm, organisation: Organisation, now: datetime
) -> tuple[reporting.Submitted | None, list[imports.RowProblem]]:
    """Read the uploaded file and submit it; a refusal comes back as problems by row or errors on the form."""
    period = db.session.get(ReportingPeriod, form.period.data)
    if period is None:
        form.period.errors.append(_("Choose a reporting period."))
        return None, []
    upload = form.file.data
    parsed = imports.parse_report(
        upload.read(imports.MAX_FILE_BYTES + 1),
        upload.filename or "",
        categories=[category.code for category in period.categories],
        organisation_codes=_organisation_codes(organisation),
    )
    if not parsed.ok:
        return None, parsed.problems
    try:
        submitted = reporting.submit_report(
            db.session,
            organisation=organisation,
            period=period,
            branch=form.branch.data,
            lines=parsed.lines,
            channel=Channel.FILE,
            user=current_user._get_current_object(),
            confirm_spikes=form.confirm_spikes.data,
            comment=form.comment.data or "",
            now=now,
        )
    except ConfirmationRequired as error:
        form.confirm_spikes.errors.append(
            _("Some numbers are unusual. Check them, tick this box and upload the file again.")
        )
        return None, imports.problems_from_service(error.problems, parsed.rows)
    except ReportInvalid as error:
        return None, imports.problems_from_service(error.problems, parsed.rows)
    except (ReportError, ConflictError) as error:
        apply_domain_error(form, error)
        return None, []
    return submitted, []


@bp.route("/import/template.<any(csv, xlsx):fmt>")
@require(Permission.SUBMIT_REPORTS)
def import_template(fmt: str):
    """The template for the user's organisation, a period and a branch; ``prefill`` fills in the last report."""
    organisation = current_user.organisation
    period_id = request.args.get("period_id", type=int)
    if period_id is not None:
        period = db.session.get(ReportingPeriod, period_id) or abort(404)
    else:
        period = reporting.current_period(db.session, utcnow())
        if period is None:
            flash(_("No reporting period is open now, so there is no template to fill in."), "error")
            return redirect(url_for("allocation.import_report"))
    branch = request.args.get("branch")
    branch = Branch(branch if branch in {b.value for b in Branch} else _default_branch(organisation))
    previous = _previous_version(organisation, period, branch) if request.args.get("prefill") else None
    rows = _template_rows(period, previous)
    local_deadline = period.deadline_at.astimezone(local_timezone())
    name = f"situation-report-{organisation.code}-{local_deadline:%Y-%m-%d}-{branch.value}.{fmt}"
    if fmt == "csv":
        body, mimetype = imports.template_csv(rows, organisation.code), "text/csv; charset=utf-8"
    else:
        body = imports.template_xlsx(
            rows,
            organisation.code,
            sheet_title=_("Report"),
            info_title=_("Information"),
            info=_template_info(organisation, period, branch, previous),
            number_prompt=_("A whole number, 0 or more."),
            number_error=_("Enter a whole number, 0 or more, without decimals."),
            column_help=_column_help(period),
        )
        mimetype = XLSX_MIMETYPE
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _previous_version(organisation: Organisation, period: ReportingPeriod, branch: Branch):
    """This period's report when there is one (a correction starts from it), else the latest before it."""
    this_period = db.session.scalar(
        select(SituationReport).where(
            SituationReport.organisation_id == organisation.id,
            SituationReport.period_id == period.id,
            SituationReport.branch == branch.value,
        )
    )
    if this_period is not None and this_period.latest is not None:
        return this_period.latest
    return reporting.latest_version(db.session, organisation.id, branch.value, before_deadline=period.deadline_at)


def _template_rows(period: ReportingPeriod, previous: SituationReportVersion | None) -> list[imports.TemplateRow]:
    locale = str(get_locale() or "sv")
    earlier = {line.category_id: line for line in previous.lines} if previous is not None else {}
    rows = []
    units = reporting_units(db.session, [category.id for category in period.categories])
    for category in period.categories:
        line = earlier.get(category.id)
        figures = (
            {
                "stock": line.stock,
                "consumption_7d": line.consumption_7d,
                "expected_14d": line.expected_14d,
                "stated_need": line.stated_need,
                "justification": line.justification,
            }
            if line is not None
            else {}
        )
        rows.append(
            imports.TemplateRow(
                code=category.code,
                name=category.name_in(locale),
                unit=UnitOfIssue(units[category.id]).label,
                **figures,
            )
        )
    return rows


def _template_info(
    organisation: Organisation, period: ReportingPeriod, branch: Branch, previous: SituationReportVersion | None
) -> list[tuple[str, str]]:
    def swedish_time(moment: datetime) -> str:
        return _("%(time)s Swedish time", time=format_datetime(moment, "yyyy-MM-dd HH:mm"))

    if previous is not None:
        source = _(
            "Your report for the period due %(deadline)s, version %(number)s",
            deadline=format_datetime(previous.report.period.deadline_at, "yyyy-MM-dd HH:mm"),
            number=previous.number,
        )
    else:
        source = _("Nothing: the figures are left empty")
    return [
        (_("Situation report (lägesbild)"), ""),
        (_("Organisation"), organisation.name),
        (_("Organisation code"), organisation.code),
        (_("Branch of activity"), branch.label),
        (_("Deadline"), swedish_time(period.deadline_at)),
        (_("Late reports accepted until"), swedish_time(period.closes_at)),
        (_("Planning horizon (days)"), str(period.horizon_days)),
        (_("Figures filled in from"), source),
        (_("Upload the file at"), url_for("allocation.import_report", _external=True)),
        ("", ""),
        (_("Column"), _("What to enter")),
        *_column_help(period).items(),
        ("", ""),
        (_("Whole numbers only, 0 when there is none. Do not use formulas."), ""),
    ]


def _column_help(period: ReportingPeriod) -> dict[str, str]:
    """What each column of the template means, for the information sheet and the header comments."""
    return {
        "category": _("The category code. Do not change it."),
        "category_name": _("The category's name, for reading only."),
        "unit": _("The unit every quantity on the row is counted in."),
        "stock": _("Stock on hand now."),
        "consumption_7d": _("Consumption during the last 7 days."),
        "expected_14d": _("Deliveries expected from your own orders within 14 days."),
        "stated_need": _(
            "Your need for the next %(days)s days, beyond stock and expected deliveries.", days=period.horizon_days
        ),
        "justification": _(
            "Required when your stated need differs from the computed need by more than %(percent)s %%.",
            percent=int(need.JUSTIFICATION_THRESHOLD * 100),
        ),
        "organisation": _("Your organisation code. Do not change it."),
    }
