"""The job worker: one APScheduler per installation, its jobs kept in the application's database.

`flask jobs run` calls :func:`run_worker`. The web app never starts a scheduler: with several web workers
each would run every job. The worker holds the scheduler lock for its whole life, so a second worker
refuses to start; the job store (table ``apscheduler_jobs``, created by APScheduler itself, not by our
migrations) keeps each job's next run time across restarts.
"""
from __future__ import annotations

import logging
import pickle
import signal
import threading
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import select

from app.scheduling import runner
from app.scheduling.locks import WORKER_LOCK, LockLost, exclusive_lock
from app.scheduling.registry import JOBS

logger = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
# Jobs are mostly database work and each runs at most once at a time; a few threads cover them all.
WORKER_THREADS = 4
# How often the worker checks that it still holds its lock (seconds; the app setting
# SCHEDULER_LOCK_CHECK_SECONDS overrides it).
LOCK_CHECK_SECONDS = 30


@dataclass(frozen=True)
class StoredJob:
    name: str
    next_run_time: datetime | None


def jobstore_url(app: Flask) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def build_scheduler(
    app: Flask, *, url: str | None = None, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    """A scheduler (not yet started) with every registered job, its store in the app's database.

    Jobs in the store that are no longer registered are removed. A registered job whose trigger is
    unchanged keeps the next run time it had in the store, so a run missed while the worker was down is
    made up once (coalesced) on start, within the job's misfire grace time; a changed trigger starts afresh.
    ``url`` points the store at another database (tests use a file of their own).
    """
    store = SQLAlchemyJobStore(
        url=url or jobstore_url(app), tablename=JOBSTORE_TABLE, engine_options={"pool_pre_ping": True}
    )
    timezone = ZoneInfo(app.config["SAMORDNA_TIMEZONE"])
    scheduler = scheduler_class(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(WORKER_THREADS)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone,
    )
    stored = _prune_store(store, set(JOBS))
    for spec in sorted(JOBS.values(), key=lambda s: s.id):
        trigger = spec.build_trigger(timezone)
        name = f"{spec.id} {trigger}"
        options = {}
        previous = stored.get(spec.id)
        if previous is not None and previous.name == name and previous.next_run_time is not None:
            options["next_run_time"] = previous.next_run_time
        scheduler.add_job(
            runner.RUN_SCHEDULED,
            trigger=trigger,
            args=[spec.id],
            id=spec.id,
            name=name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace_time,
            **options,
        )
    runner.bind_app(app)
    return scheduler


def _prune_store(store: SQLAlchemyJobStore, registered: set[str]) -> dict[str, StoredJob]:
    """Delete jobs no longer registered; return what the store holds for the others."""
    store.jobs_t.create(store.engine, checkfirst=True)
    table = store.jobs_t
    kept: dict[str, StoredJob] = {}
    with store.engine.begin() as connection:
        stale = []
        for job_id, state in connection.execute(select(table.c.id, table.c.job_state)):
            if job_id not in registered:
                stale.append(job_id)
                continue
            try:
                # Our own table, written by our own worker: the state APScheduler pickled there.
                job_state = pickle.loads(state)
                kept[job_id] = StoredJob(job_state["name"], job_state["next_run_time"])
            except Exception:
                logger.warning("job %s: stored state unreadable; scheduling it afresh", job_id, exc_info=True)
        if stale:
            connection.execute(table.delete().where(table.c.id.in_(stale)))
            logger.info("removed jobs no longer registered from the job store: %s", ", ".join(sorted(stale)))
    return kept


def run_worker(app: Flask) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT, holding the worker lock.

    Raises LockHeld at once when another worker holds it. On a signal the scheduler stops taking jobs,
    lets running ones finish (and record their runs), then the lock is released.

    The lock is checked every LOCK_CHECK_SECONDS. On PostgreSQL it ends with its connection: when the
    database restarts, a second worker could start and every job would run twice. So a worker that finds
    its lock gone stops the same way and raises LockLost; its supervisor starts it again, and it then takes
    the lock or, if another worker has it, refuses to start.
    """
    check_every = float(app.config.get("SCHEDULER_LOCK_CHECK_SECONDS", LOCK_CHECK_SECONDS))
    with exclusive_lock(app, WORKER_LOCK) as lock:
        # The scheduler runs in its own thread; the signal handler only records the request, so a signal that
        # arrives while the scheduler is still starting (adding its jobs) is not lost.
        scheduler = build_scheduler(app, scheduler_class=BackgroundScheduler)
        stop_requested = threading.Event()
        received: list[int] = []

        def stop(signum, frame):
            received.append(signum)
            stop_requested.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            logger.info("job worker started with %d jobs: %s", len(JOBS), ", ".join(sorted(JOBS)))
            scheduler.start()
            while not stop_requested.wait(timeout=check_every):
                if not lock.still_held():
                    logger.error("the job worker lost its lock (was the database restarted?): stopping, so that "
                                 "no job runs twice alongside another worker")
                    break
            else:
                logger.info("%s received: stopping the job worker", signal.Signals(received[0]).name)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if scheduler.state != STATE_STOPPED:
                scheduler.shutdown(wait=True)
        if not stop_requested.is_set():
            raise LockLost(WORKER_LOCK)
        logger.info("job worker stopped")
