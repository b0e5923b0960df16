"""The jobs page, each job's run history, and running a job by hand."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_datetime, format_decimal, format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import require
from app.auth.roles import Permission
from app.extensions import db
from app.listing import Column, Filter, Listing
from app.scheduling import bp, runner, services
from app.scheduling.models import JobOutcome, JobRun
from app.scheduling.registry import JOBS, JobSpec


def format_duration(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 0.1:
        return _("under 0.1 s")
    if seconds < 60:
        return _("%(seconds)s s", seconds=format_decimal(round(seconds, 1), format="0.0"))
    return format_timedelta(duration, threshold=1.5, format="short")


def format_when(moment) -> str:
    return format_datetime(moment, "short") if moment is not None else ""


def triggered_by_label(run: JobRun) -> str:
    return _("Schedule") if run.scheduled else run.triggered_by


def history_listing(spec: JobSpec) -> Listing:
    return Listing(
        select(JobRun).where(JobRun.job_id == spec.id),
        columns=[
            Column("started", _l("Started"), lambda r: format_when(r.started_at), sort=JobRun.started_at),
            Column("finished", _l("Finished"), lambda r: format_when(r.finished_at), sort=JobRun.finished_at),
            Column("duration", _l("Duration"), lambda r: format_duration(r.duration)),
            Column("outcome", _l("Outcome"), lambda r: r.job_outcome.label, sort=JobRun.outcome),
            Column("triggered_by", _l("Started by"), triggered_by_label, sort=JobRun.triggered_by),
            Column("summary", _l("Summary or error"), lambda r: r.summary or ""),
        ],
        search=[JobRun.summary, JobRun.triggered_by],
        filters=[
            Filter(
                "outcome",
                _l("Outcome"),
                [(outcome.value, outcome.label) for outcome in JobOutcome],
                lambda stmt, value: stmt.where(JobRun.outcome == value),
            ),
        ],
        default_sort="started",
        default_dir="desc",
        csv_name=f"job-runs-{spec.id}",
    )


def _spec_or_404(job_id: str) -> JobSpec:
    spec = JOBS.get(job_id)
    if spec is None:
        abort(404)
    return spec


@bp.route("/")
@require(Permission.VIEW_JOBS)
def index():
    return render_template("scheduling/index.html", jobs=services.job_overview(db.session))


@bp.route("/<job_id>")
@require(Permission.VIEW_JOBS)
def history(job_id: str):
    spec = _spec_or_404(job_id)
    status = services.job_status(db.session, spec)
    return history_listing(spec).respond(
        lambda page: render_template("scheduling/history.html", job=status, page=page)
    )


@bp.route("/<job_id>/run", methods=["POST"])
@require(Permission.RUN_JOBS)
def run_now(job_id: str):
    spec = _spec_or_404(job_id)
    triggered_by = current_user.email
    # The job runs in a session of its own. End this request's read transaction first (and touch no row
    # until the job is done): on SQLite the read lock would keep the job from committing.
    db.session.commit()
    try:
        run = runner.run_job(current_app._get_current_object(), spec.id, triggered_by=triggered_by)
    except runner.JobAlreadyRunning as error:
        flash(str(error.message), "error")
    else:
        if run.job_outcome is JobOutcome.SUCCEEDED:
            message = _("The job %(job)s succeeded. %(summary)s", job=spec.id, summary=run.summary or "")
            flash(message, "success")
        else:
            flash(_("The job %(job)s failed: %(error)s", job=spec.id, error=run.summary), "error")
    return redirect(url_for("scheduling.history", job_id=spec.id))


@bp.context_processor
def formatting():
    return {
        "format_when": format_when,
        "format_duration": format_duration,
        "triggered_by_label": triggered_by_label,
    }
