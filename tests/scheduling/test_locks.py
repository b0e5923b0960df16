"""Only one job worker at a time: the scheduler lock refuses a second holder, in-process or not."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from app.scheduling.locks import WORKER_LOCK, LockHeld, advisory_key, exclusive_lock, lock_file

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def sqlite_app(tmp_path):
    """Just what the lock reads from an app: a SQLite database and the lock file beside it."""
    return SimpleNamespace(
        config={
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'samordna.db'}",
            "SCHEDULER_LOCK_FILE": str(tmp_path / "instance" / "scheduler.lock"),
        }
    )


def test_on_sqlite_a_second_holder_of_the_worker_lock_is_refused(sqlite_app):
    with exclusive_lock(sqlite_app, WORKER_LOCK):
        with pytest.raises(LockHeld) as held, exclusive_lock(sqlite_app, WORKER_LOCK):
            pytest.fail("two holders of the worker lock")
        assert held.value.holder == f"process {os.getpid()}"
    assert lock_file(sqlite_app, WORKER_LOCK).exists()


def test_on_sqlite_the_worker_lock_is_free_again_once_released(sqlite_app):
    with exclusive_lock(sqlite_app, WORKER_LOCK):
        pass
    with exclusive_lock(sqlite_app, WORKER_LOCK):
        pass


def test_on_sqlite_a_lock_held_by_another_process_is_refused(sqlite_app):
    path = lock_file(sqlite_app, WORKER_LOCK)
    path.parent.mkdir(parents=True)
    script = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, b'4242')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(LockHeld) as held, exclusive_lock(sqlite_app, WORKER_LOCK):
                pytest.fail("the lock was taken from another process")
            assert held.value.holder == "process 4242"
        finally:
            holder.stdin.close()
            holder.wait(10)
    # The kernel released the dead holder's lock.
    with exclusive_lock(sqlite_app, WORKER_LOCK):
        pass


def test_on_sqlite_each_job_has_a_lock_of_its_own(sqlite_app):
    with (
        exclusive_lock(sqlite_app, WORKER_LOCK),
        exclusive_lock(sqlite_app, "job.auth.prune_login_attempts"),
        exclusive_lock(sqlite_app, "job.notifications.deliver_outbox"),
    ):
        pass
    assert lock_file(sqlite_app, "job.a.b").name == "scheduler.lock.job.a.b"


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="the advisory lock is PostgreSQL's; set TEST_DATABASE_URL to a PostgreSQL database to run it",
)
def test_on_postgresql_a_second_holder_of_the_advisory_lock_is_refused(app):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with exclusive_lock(app, WORKER_LOCK):
        with pytest.raises(LockHeld), exclusive_lock(app, WORKER_LOCK):
            pytest.fail("two holders of the advisory lock")
        # Another lock name is another key.
        with exclusive_lock(app, "job.auth.prune_login_attempts"):
            pass
    with exclusive_lock(app, WORKER_LOCK):
        pass


def test_a_file_lock_is_held_for_as_long_as_its_block_runs(sqlite_app):
    with exclusive_lock(sqlite_app, WORKER_LOCK) as lock:
        assert lock.still_held()


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="the advisory lock is PostgreSQL's; set TEST_DATABASE_URL to a PostgreSQL database to run it",
)
def test_on_postgresql_a_lock_whose_connection_ends_is_no_longer_held(app):
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with exclusive_lock(app, WORKER_LOCK) as lock:
            assert lock.still_held()
            # As a database restart does: the server ends the holder's session.
            unsigned = advisory_key(WORKER_LOCK) % 2**64  # pg_locks shows it as two unsigned 32-bit halves
            with other.begin() as connection:
                ended = connection.scalar(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid <> pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1"
                ), {"high": unsigned >> 32, "low": unsigned % 2**32})
            assert ended == 1
            assert not lock.still_held()
            # Meanwhile another worker may take it.
            with exclusive_lock(app, WORKER_LOCK) as second:
                assert second.still_held()
        # Leaving the block whose connection is gone raises nothing.
    finally:
        other.dispose()
