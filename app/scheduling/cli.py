"""`flask jobs …`: the job worker, the list of jobs, and running one job by hand."""
from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.config import babel_locale
from app.extensions import db
from app.scheduling import runner, services
from app.scheduling.locks import LockHeld, LockLost, lock_file
from app.scheduling.models import JobOutcome
from app.timeutil import local_timezone


@click.group("jobs")
def jobs_cli():
    """Scheduled jobs: run the worker, list jobs, run one now."""


@jobs_cli.command("run")
@with_appcontext
def run_worker_command():
    """Run the job worker in the foreground until stopped (SIGTERM or Ctrl-C). Only one may run at a time."""
    from app.scheduling.worker import run_worker

    app = current_app._get_current_object()
    try:
        run_worker(app)
    except LockHeld as held:
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            where = "another database session holds the scheduler's PostgreSQL advisory lock"
        else:
            where = f"{held.holder or 'another process'} holds the lock file {lock_file(app, held.name)}"
        raise click.ClickException(
            f"Another job worker is already running: {where}. "
            "Not starting a second one, or every job would run twice."
        ) from None
    except LockLost:
        raise click.ClickException(
            "The job worker lost its lock on the database (was PostgreSQL restarted?) and stopped, so that no job "
            "runs twice alongside another worker. Start it again: it takes the lock if no other worker has it."
        ) from None


@jobs_cli.command("list")
@with_appcontext
def list_jobs():
    """List the registered jobs with their schedule, next run and last outcome."""
    zone = local_timezone()
    with force_locale(babel_locale("en")):
        jobs = services.job_overview(db.session)
        rows = [
            (
                job.id,
                job.schedule,
                _when(job.next_run_at, zone) if job.scheduled else "not scheduled yet",
                (
                    f"{job.last_run.outcome} {_when(job.last_run.started_at, zone)}"
                    if job.last_run
                    else "never run"
                )
                + (" (overdue)" if job.overdue else ""),
            )
            for job in jobs
        ]
    if not rows:
        click.echo("No jobs are registered.")
        return
    header = ("JOB", "SCHEDULE", "NEXT RUN", "LAST RUN")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _when(moment, zone) -> str:
    if moment is None:
        return "paused"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@jobs_cli.command("run-now")
@click.argument("job_id")
@with_appcontext
def run_now(job_id):
    """Run JOB_ID once now, in this process, and record the run. Exits non-zero when the job fails."""
    try:
        run = runner.run_job(current_app._get_current_object(), job_id, triggered_by=f"cli:{_login()}")
    except runner.UnknownJob:
        from app.scheduling.registry import JOBS

        raise click.BadParameter(
            f"no job {job_id!r}; registered: {', '.join(sorted(JOBS)) or 'none'}", param_hint="JOB_ID"
        ) from None
    except runner.JobAlreadyRunning:
        raise click.ClickException(f"{job_id} is already running; try again when it has finished.") from None
    seconds = run.duration.total_seconds()
    if run.job_outcome is JobOutcome.FAILED:
        raise click.ClickException(f"{job_id} failed after {seconds:.1f} s: {run.summary}")
    click.echo(f"{job_id} succeeded in {seconds:.1f} s" + (f": {run.summary}" if run.summary else ""))


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid, as in some containers
        return "unknown"
