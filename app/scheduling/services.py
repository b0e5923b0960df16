"""What the jobs page shows: each registered job's schedule in words, next run and last run."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import Column, Float, LargeBinary, MetaData, Table, Unicode, func, inspect, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.scheduling.models import JobRun
from app.scheduling.registry import JOBS, JobSpec
from app.scheduling.worker import JOBSTORE_TABLE

# APScheduler's own table, described here only to read it; kept off Base.metadata so neither create_all nor
# the migrations ever create or drop it.
jobstore_table = Table(
    JOBSTORE_TABLE,
    MetaData(),
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25)),
    Column("job_state", LargeBinary),
)

# A next run this far in the past means no worker is processing the store.
OVERDUE_AFTER = timedelta(minutes=5)

DAY_NAMES = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}


@dataclass(frozen=True)
class JobStatus:
    spec: JobSpec
    schedule: str
    scheduled: bool  # the worker has put the job in the store
    next_run_at: datetime | None  # None when not scheduled yet, or paused
    last_run: JobRun | None
    overdue: bool

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def description(self) -> str:
        return str(self.spec.description)


def stored_next_runs(session: Session) -> dict[str, datetime | None]:
    """Next run time (aware UTC) of every job in the job store, by job id; None for a paused job.

    Empty when the store's table does not exist yet: APScheduler creates it when a worker first starts.
    """
    if not inspect(session.connection()).has_table(JOBSTORE_TABLE):
        return {}
    rows = session.execute(select(jobstore_table.c.id, jobstore_table.c.next_run_time))
    return {
        job_id: None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
        for job_id, timestamp in rows
    }


def last_runs(session: Session) -> dict[str, JobRun]:
    """The latest finished run of each job that has run."""
    latest = select(func.max(JobRun.id)).group_by(JobRun.job_id)
    return {run.job_id: run for run in session.scalars(select(JobRun).where(JobRun.id.in_(latest)))}


def job_overview(session: Session, now: datetime | None = None) -> list[JobStatus]:
    """Every registered job, by id, with its schedule, next run (from the job store) and last run."""
    now = now or utcnow()
    next_runs = stored_next_runs(session)
    latest = last_runs(session)
    specs = sorted(JOBS.values(), key=lambda spec: spec.id)
    return [_status(spec, next_runs, latest.get(spec.id), now) for spec in specs]


def job_status(session: Session, spec: JobSpec, now: datetime | None = None) -> JobStatus:
    last_run = session.scalar(
        select(JobRun).where(JobRun.job_id == spec.id).order_by(JobRun.id.desc()).limit(1)
    )
    return _status(spec, stored_next_runs(session), last_run, now or utcnow())


def _status(spec: JobSpec, next_runs: dict, last_run: JobRun | None, now: datetime) -> JobStatus:
    next_run_at = next_runs.get(spec.id)
    return JobStatus(
        spec=spec,
        schedule=describe_trigger(spec),
        scheduled=spec.id in next_runs,
        next_run_at=next_run_at,
        last_run=last_run,
        overdue=next_run_at is not None and next_run_at < now - OVERDUE_AFTER,
    )


def describe_trigger(spec: JobSpec) -> str:
    """The schedule in words: "Every 5 minutes", "Daily at 03:15", "Every Monday at 07:00"."""
    args = {k: v for k, v in spec.trigger_args.items() if k not in ("start_date", "end_date", "jitter")}
    if spec.trigger == "interval":
        return _("Every %(period)s", period=_period(args))
    time = _clock(args.get("hour"), args.get("minute", 0), args.get("second", 0))
    # APScheduler sets the fields below the least significant one given to their minimum: hour=3 is 03:00.
    fields = set(args) - {"second"}
    if time and "hour" in fields:
        if fields <= {"hour", "minute"}:
            return _("Daily at %(time)s", time=time)
        days = _days(args["day_of_week"]) if "day_of_week" in fields else None
        if days and fields <= {"day_of_week", "hour", "minute"}:
            return _("Every %(days)s at %(time)s", days=days, time=time)
        if "day" in fields and fields <= {"day", "hour", "minute"} and _int(args["day"]) is not None:
            return _("Monthly on day %(day)s at %(time)s", day=_int(args["day"]), time=time)
    if fields == {"minute"} and _int(args["minute"]) is not None and _int(args.get("second", 0)) == 0:
        return _("Every hour at %(minute)s minutes past", minute=_int(args["minute"]))
    return _("Cron schedule: %(fields)s", fields=", ".join(f"{k}={v}" for k, v in sorted(args.items())))


def _period(args: dict) -> str:
    # One literal ngettext call per unit, so the extractor finds every message.
    words = {
        "weeks": lambda n: ngettext("%(num)d week", "%(num)d weeks", n),
        "days": lambda n: ngettext("%(num)d day", "%(num)d days", n),
        "hours": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
        "minutes": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
        "seconds": lambda n: ngettext("%(num)d second", "%(num)d seconds", n),
    }
    return " ".join(word(int(args[unit])) for unit, word in words.items() if args.get(unit))


def _int(value) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _clock(hour, minute, second) -> str | None:
    hour, minute, second = _int(hour), _int(minute), _int(second)
    if hour is None or minute is None or second is None:
        return None
    return f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")


def _days(day_of_week) -> str | None:
    names = [part.strip().lower() for part in str(day_of_week).split(",")]
    if names == ["mon-fri"]:
        return _("weekday")
    if all(name in DAY_NAMES for name in names):
        return ", ".join(str(DAY_NAMES[name]) for name in names)
    return None
