"""The job worker: its scheduler puts every registered job in the persistent store, and only one runs."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text

from app.scheduling.locks import WORKER_LOCK, exclusive_lock
from app.scheduling.registry import JOBS
from app.scheduling.worker import JOBSTORE_TABLE, build_scheduler

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def noop(session):
    return "nothing to do"


def _stored(url: str) -> dict[str, dict]:
    """Job id → the job's state as APScheduler pickled it in the store."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT id, job_state FROM {JOBSTORE_TABLE}")).all()
    finally:
        engine.dispose()
    return {job_id: pickle.loads(state) for job_id, state in rows}


def _set_next_run(url: str, job_id: str, when: datetime) -> None:
    """What the store holds after the worker was down over a job's run time."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            state = pickle.loads(
                connection.execute(
                    text(f"SELECT job_state FROM {JOBSTORE_TABLE} WHERE id = :id"), {"id": job_id}
                )
                .scalar_one()
            )
            state["next_run_time"] = when
            connection.execute(
                text(f"UPDATE {JOBSTORE_TABLE} SET job_state = :state, next_run_time = :next WHERE id = :id"),
                {"state": pickle.dumps(state), "next": when.timestamp(), "id": job_id},
            )
    finally:
        engine.dispose()


def _start_and_stop(app, url):
    scheduler = build_scheduler(app, url=url, scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown()


def test_starting_the_scheduler_puts_every_registered_job_in_the_store_with_a_next_run(
    app, scratch_jobs, jobstore_url
):
    scratch_jobs("test.every_ten_minutes", noop, minutes=10)
    scratch_jobs("test.nightly", noop, trigger="cron", hour=3, minute=15)
    before = datetime.now(UTC)

    _start_and_stop(app, jobstore_url)

    stored = _stored(jobstore_url)
    assert set(stored) == set(JOBS)
    for job_id, state in stored.items():
        assert state["func"] == "app.scheduling.runner:run_scheduled"
        assert state["args"] == (job_id,)
        assert state["coalesce"] is True and state["max_instances"] == 1
        assert state["next_run_time"] > before
    assert stored["test.every_ten_minutes"]["next_run_time"] <= before + timedelta(minutes=10, seconds=5)
    nightly = stored["test.nightly"]["next_run_time"]
    assert str(nightly.tzinfo) == "Europe/Stockholm" and (nightly.hour, nightly.minute) == (3, 15)
    assert nightly - before <= timedelta(days=1)


def test_jobs_no_longer_registered_are_removed_from_the_store(app, scratch_jobs, jobstore_url):
    scratch_jobs("test.retired", noop)
    _start_and_stop(app, jobstore_url)
    assert "test.retired" in _stored(jobstore_url)

    del JOBS["test.retired"]
    _start_and_stop(app, jobstore_url)

    assert "test.retired" not in _stored(jobstore_url)
    assert set(_stored(jobstore_url)) == set(JOBS)


def test_a_run_missed_while_the_worker_was_down_is_kept_for_the_next_start(app, scratch_jobs, jobstore_url):
    scratch_jobs("test.nightly", noop, trigger="cron", hour=3, minute=15)
    _start_and_stop(app, jobstore_url)
    missed = datetime.now(UTC) - timedelta(minutes=20)
    _set_next_run(jobstore_url, "test.nightly", missed)

    restarted = build_scheduler(app, url=jobstore_url, scheduler_class=BackgroundScheduler)
    pending = {job.id: job for job in restarted.get_jobs()}

    assert pending["test.nightly"].next_run_time == missed


def test_a_changed_schedule_starts_afresh(app, scratch_jobs, jobstore_url):
    scratch_jobs("test.nightly", noop, trigger="cron", hour=3, minute=15)
    _start_and_stop(app, jobstore_url)
    _set_next_run(jobstore_url, "test.nightly", datetime.now(UTC) - timedelta(minutes=20))

    scratch_jobs("test.nightly", noop, trigger="cron", hour=4, minute=0)
    _start_and_stop(app, jobstore_url)

    next_run = _stored(jobstore_url)["test.nightly"]["next_run_time"]
    assert (next_run.hour, next_run.minute) == (4, 0)
    assert next_run > datetime.now(UTC)


def test_a_second_worker_refuses_to_start_with_a_clear_message(app, runner):
    with exclusive_lock(app, WORKER_LOCK):
        result = runner.invoke(args=["jobs", "run"])

    assert result.exit_code == 1
    assert "Another job worker is already running" in result.output
    assert "every job would run twice" in result.output


def test_the_worker_runs_until_sigterm_then_stops_cleanly_and_frees_its_lock(tmp_path):
    instance = tmp_path / "instance"
    database = f"sqlite:///{tmp_path / 'worker.db'}"
    script = (
        "from app import create_app\n"
        "from app.scheduling.worker import run_worker\n"
        f"app = create_app({{'INSTANCE_PATH': {str(instance)!r}, 'SQLALCHEMY_DATABASE_URI': {database!r},"
        " 'SECRET_KEY': 'worker-test'})\n"
        "run_worker(app)\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("DATABASE_URL", None)
    with subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as worker:
        try:
            stored = _wait_for_store(database, worker)
            assert stored, "the worker put no jobs in the store"
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    assert worker.returncode == 0, output.decode()
    assert b"stopping the job worker" in output
    lock_app = SimpleNamespace(
        config={"SQLALCHEMY_DATABASE_URI": database, "SCHEDULER_LOCK_FILE": str(instance / "scheduler.lock")}
    )
    with exclusive_lock(lock_app, WORKER_LOCK):
        pass


def _wait_for_store(database: str, worker, timeout: float = 30) -> dict:
    engine = create_engine(database)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert worker.poll() is None, worker.stdout.read().decode()
            with engine.connect() as connection:
                exists = connection.execute(
                    text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
                    {"name": JOBSTORE_TABLE},
                ).first()
                if exists:
                    query = text(f"SELECT id, next_run_time FROM {JOBSTORE_TABLE}")
                    rows = dict(connection.execute(query).all())
                    if rows:
                        return rows
            time.sleep(0.2)
    finally:
        engine.dispose()
    pytest.fail("the worker did not schedule its jobs in time")


def test_a_stop_signal_that_arrives_while_the_worker_is_still_starting_is_not_lost(tmp_path, monkeypatch):
    from app import create_app
    from app.scheduling import worker as worker_module

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'worker.db'}",
            "SECRET_KEY": "worker-test",
        }
    )
    real_build = worker_module.build_scheduler

    def build_that_is_signalled_while_starting(*args, **kwargs):
        scheduler = real_build(*args, **kwargs)
        real_start = scheduler.start

        def start(*start_args, **start_kwargs):
            os.kill(os.getpid(), signal.SIGTERM)  # before the scheduler runs its first job
            return real_start(*start_args, **start_kwargs)

        scheduler.start = start
        return scheduler

    def hung(signum, frame):
        raise AssertionError("the worker ignored SIGTERM received while starting")

    monkeypatch.setattr(worker_module, "build_scheduler", build_that_is_signalled_while_starting)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        worker_module.run_worker(app)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()


class _LockThatEnds:
    """A held lock that is lost at its second check, as an advisory lock is when PostgreSQL restarts."""

    def __init__(self):
        self.checks = 0

    def still_held(self) -> bool:
        self.checks += 1
        return self.checks < 2


def test_a_worker_that_loses_its_lock_stops_its_scheduler_and_says_so(app, monkeypatch, jobstore_url):
    from contextlib import contextmanager

    from app.scheduling import worker
    from app.scheduling.locks import LockLost

    lock = _LockThatEnds()
    stopped = []

    @contextmanager
    def held(app, name):
        yield lock

    original_shutdown = BackgroundScheduler.shutdown

    def shutdown(self, wait=True):
        stopped.append(wait)
        original_shutdown(self, wait=wait)

    monkeypatch.setattr(worker, "exclusive_lock", held)
    monkeypatch.setattr(worker, "jobstore_url", lambda app: jobstore_url)
    monkeypatch.setattr(BackgroundScheduler, "shutdown", shutdown)
    monkeypatch.setitem(app.config, "SCHEDULER_LOCK_CHECK_SECONDS", 0.05)

    # Were the lost lock not noticed, the worker would run on: a SIGTERM ends it then, and the test fails.
    import threading

    backstop = threading.Timer(10, os.kill, (os.getpid(), signal.SIGTERM))
    backstop.start()
    try:
        with pytest.raises(LockLost):
            worker.run_worker(app)
    finally:
        backstop.cancel()
    assert lock.checks == 2
    assert stopped == [True]  # running jobs were let finish


def test_the_command_explains_a_lost_lock(app, runner, monkeypatch):
    from app.scheduling import worker
    from app.scheduling.locks import LockLost

    def lose(app):
        raise LockLost("scheduler")

    monkeypatch.setattr(worker, "run_worker", lose)
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 1
    assert "lost its lock" in result.output and "Start it again" in result.output
