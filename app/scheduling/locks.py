"""Cross-process locks that keep one job worker alive at a time and each job from running twice at once.

On PostgreSQL a session-level advisory lock held on a dedicated connection: PostgreSQL releases it when the
holder's connection ends, however the process dies. On SQLite (one machine by nature) an exclusive
``flock`` on a file beside ``SCHEDULER_LOCK_FILE``: the kernel releases it when the process dies. Both are
tried without waiting: a holder elsewhere means :class:`LockHeld` at once.

An advisory lock ends with its connection, and so with a database restart, while the holder runs on: the
lock a block holds tells whether it still holds it (:meth:`HeldLock.still_held`), so that the long-lived job
worker can notice and stop rather than run alongside a second worker that took the lock meanwhile.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

WORKER_LOCK = "scheduler"


class LockHeld(Exception):
    """Someone else holds the lock. ``holder`` says who, when the lock tells (a process id on SQLite)."""

    def __init__(self, name: str, holder: str = ""):
        super().__init__(f"lock {name!r} is held{f' by {holder}' if holder else ''}")
        self.name = name
        self.holder = holder


class LockLost(Exception):
    """A lock held for a while has ended under its holder (its database connection was lost)."""

    def __init__(self, name: str):
        super().__init__(f"lock {name!r} was lost")
        self.name = name


class HeldLock:
    """A lock that a block holds. A file lock lasts as long as the process holds it open."""

    def __init__(self, name: str):
        self.name = name

    def still_held(self) -> bool:
        return True


class _HeldAdvisoryLock(HeldLock):
    def __init__(self, name: str, connection: Connection, key: int):
        super().__init__(name)
        self.connection = connection
        self.key = key

    def still_held(self) -> bool:
        """Whether this connection still holds the lock; False once the connection (or the server) is gone."""
        # pg_locks shows a 64-bit advisory key as two unsigned 32-bit halves, objsubid 1.
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        try:
            return bool(self.connection.scalar(
                text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                     " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"),
                {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF},
            ))
        except SQLAlchemyError:  # the connection was lost (and SQLAlchemy then refuses to use it)
            return False


def advisory_key(name: str) -> int:
    """A stable signed 64-bit PostgreSQL advisory lock key for a lock name."""
    digest = hashlib.blake2b(f"samordna:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


SCHEDULER_LOCK_KEY = advisory_key(WORKER_LOCK)


def lock_file(app, name: str) -> Path:
    """The SQLite lock file for ``name``: SCHEDULER_LOCK_FILE itself for the worker, siblings for jobs."""
    base = Path(app.config["SCHEDULER_LOCK_FILE"])
    return base if name == WORKER_LOCK else base.with_name(f"{base.name}.{name}")


@contextmanager
def exclusive_lock(app, name: str) -> Iterator[HeldLock]:
    """Hold the lock called ``name`` for the block. Raises LockHeld when another holder has it."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        with _advisory_lock(url, name) as held:
            yield held
    else:
        with _file_lock(lock_file(app, name), name):
            yield HeldLock(name)


@contextmanager
def _advisory_lock(url, name: str) -> Iterator[HeldLock]:
    # Its own engine without a pool: a pooled connection could outlive the block and keep the lock.
    engine = create_engine(url, poolclass=NullPool)
    try:
        # Autocommit: no transaction stays open (idle in transaction) for the life of a worker.
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = advisory_key(name)
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                raise LockHeld(name, "another PostgreSQL session")
            try:
                yield _HeldAdvisoryLock(name, connection, key)
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                except SQLAlchemyError:
                    pass  # the connection is gone, and the lock went with it
        finally:
            connection.close()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path, name: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            # flock, not lockf: flock locks belong to the open file, so two holders in one process conflict
            # too (a web worker's threads), where POSIX record locks would let the same process in twice.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            raise LockHeld(name, f"process {holder}" if holder else "") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            # The file stays: deleting a lock file lets a waiter lock an unlinked inode while a newcomer
            # creates and locks a fresh one.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
