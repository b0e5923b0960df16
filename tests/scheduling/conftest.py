"""Fixtures for the scheduling tests: pages in English, jobs registered for one test only."""
from __future__ import annotations

import pytest

from app.scheduling.registry import JOBS, register_job


@pytest.fixture(autouse=True)
def english(app, monkeypatch):
    # The locale selector falls back to this setting; a Swedish catalogue must not change what tests read.
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")


@pytest.fixture
def scratch_jobs():
    """register_job for this test only: the registry is as it was afterwards."""
    before = dict(JOBS)

    def register(job_id, func, trigger="interval", **kwargs):
        if trigger == "interval" and not kwargs:
            kwargs["minutes"] = 10
        return register_job(job_id, func, trigger=trigger, **kwargs)

    yield register
    JOBS.clear()
    JOBS.update(before)


@pytest.fixture
def jobstore_url(tmp_path):
    """A job store of the test's own: the scheduler's engine would neither see nor roll back with the test's
    transaction, and on SQLite the test database file is shared by every test."""
    return f"sqlite:///{tmp_path / 'jobstore.db'}"
