"""Registering jobs: mistakes fail when the app starts, and each schedule reads in words."""
from __future__ import annotations

import pytest

from app.scheduling.registry import JOBS, register_job
from app.scheduling.services import describe_trigger


def tidy(session):
    return "tidied"


def other(session):
    return "other"


@pytest.fixture
def registry():
    before = dict(JOBS)
    yield JOBS
    JOBS.clear()
    JOBS.update(before)


def test_a_job_is_registered_with_its_trigger_description_and_grace_time(registry):
    spec = register_job("test.tidy", tidy, trigger="cron", hour=3, minute=15, description="Tidy up")

    assert registry["test.tidy"] is spec
    assert (spec.trigger, spec.trigger_args) == ("cron", {"hour": 3, "minute": 15})
    assert spec.description == "Tidy up"
    assert spec.misfire_grace_time == 3600


def test_registering_the_same_job_again_is_harmless(registry):
    register_job("test.tidy", tidy, trigger="interval", minutes=5)
    spec = register_job("test.tidy", tidy, trigger="interval", minutes=10)

    assert registry["test.tidy"] is spec and spec.trigger_args == {"minutes": 10}


def test_an_id_already_taken_by_another_function_is_refused(registry):
    register_job("test.tidy", tidy, trigger="interval", minutes=5)

    with pytest.raises(ValueError, match="already registered"):
        register_job("test.tidy", other, trigger="interval", minutes=5)
    assert registry["test.tidy"].func is tidy


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trigger": "date"}, "unknown trigger"),
        ({"trigger": "interval"}, "an interval needs"),
        ({"trigger": "interval", "minutes": 0}, "an interval needs"),
        ({"trigger": "cron", "hour": 25}, "invalid cron trigger"),
        ({"trigger": "cron", "hours": 3}, "invalid cron trigger"),
        ({"trigger": "interval", "minutes": 5, "misfire_grace_time": 0}, "misfire_grace_time"),
    ],
    ids=["unknown trigger", "interval without length", "interval of zero", "hour 25", "misspelt", "no grace"],
)
def test_a_schedule_apscheduler_would_refuse_is_refused_at_registration(registry, kwargs, message):
    with pytest.raises(ValueError, match=message):
        register_job("test.tidy", tidy, **kwargs)
    assert "test.tidy" not in registry


@pytest.mark.parametrize("job_id", ["", "Tidy", "test tidy", "test..tidy", ".tidy", "tidy/../x", "t" * 101])
def test_malformed_job_ids_are_refused(registry, job_id):
    with pytest.raises(ValueError, match="job id"):
        register_job(job_id, tidy, trigger="interval", minutes=5)


def test_a_function_that_cannot_be_called_is_refused(registry):
    with pytest.raises(TypeError, match="not callable"):
        register_job("test.tidy", "app.auth.jobs:prune_login_attempts", trigger="interval", minutes=5)


@pytest.mark.parametrize(
    ("trigger", "args", "words"),
    [
        ("interval", {"minutes": 1}, "Every 1 minute"),
        ("interval", {"minutes": 15}, "Every 15 minutes"),
        ("interval", {"hours": 1, "minutes": 30}, "Every 1 hour 30 minutes"),
        ("interval", {"days": 7}, "Every 7 days"),
        ("cron", {"hour": 3, "minute": 15}, "Daily at 03:15"),
        ("cron", {"hour": 7}, "Daily at 07:00"),
        ("cron", {"day_of_week": "mon", "hour": 7, "minute": 0}, "Every Monday at 07:00"),
        ("cron", {"day_of_week": "mon,wed,fri", "hour": 8}, "Every Monday, Wednesday, Friday at 08:00"),
        ("cron", {"day_of_week": "mon-fri", "hour": 8, "minute": 30}, "Every weekday at 08:30"),
        ("cron", {"day": 1, "hour": 6, "minute": 0}, "Monthly on day 1 at 06:00"),
        ("cron", {"minute": 5}, "Every hour at 5 minutes past"),
        ("cron", {"hour": "*/2", "minute": 0}, "Cron schedule: hour=*/2, minute=0"),
    ],
)
def test_the_schedule_reads_in_words(app, registry, trigger, args, words):
    spec = register_job("test.tidy", tidy, trigger=trigger, **args)

    with app.app_context():
        assert describe_trigger(spec) == words
