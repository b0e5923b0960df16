"""The nightly pruning of login attempts (app.auth.jobs)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.auth.jobs import LOGIN_ATTEMPT_RETENTION, prune_login_attempts, register
from app.auth.models import LoginAttempt
from app.extensions import db
from app.scheduling.models import JobRun
from app.scheduling.registry import JOBS

NOW = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)


def _attempt(email: str, age: timedelta) -> LoginAttempt:
    return LoginAttempt(email=email, succeeded=False, remote_addr="192.0.2.7", attempted_at=NOW - age)


def _emails(prefix: str) -> set[str]:
    return set(db.session.scalars(select(LoginAttempt.email).where(LoginAttempt.email.like(f"{prefix}%"))))


def test_only_login_attempts_older_than_ninety_days_are_deleted(app, session):
    session.add_all(
        [
            _attempt("prune-old@example.test", timedelta(days=400)),
            _attempt("prune-just-over@example.test", LOGIN_ATTEMPT_RETENTION + timedelta(minutes=1)),
            _attempt("prune-just-under@example.test", LOGIN_ATTEMPT_RETENTION - timedelta(minutes=1)),
            _attempt("prune-recent@example.test", timedelta(minutes=3)),
        ]
    )
    session.commit()

    summary = prune_login_attempts(session, now=NOW)
    session.commit()

    assert summary == "Deleted 2 login attempts older than 90 days."
    assert _emails("prune-") == {"prune-just-under@example.test", "prune-recent@example.test"}


def test_the_pruning_is_registered_to_run_daily_at_a_quarter_past_three(app):
    register(app)

    spec = JOBS["auth.prune_login_attempts"]
    assert spec.func is prune_login_attempts
    assert (spec.trigger, spec.trigger_args) == ("cron", {"hour": 3, "minute": 15})


def test_the_pruning_runs_from_the_command_line_and_is_recorded(app, runner, session):
    register(app)
    session.add(_attempt("prune-cli-old@example.test", timedelta(days=3650)))
    session.commit()

    result = runner.invoke(args=["jobs", "run-now", "auth.prune_login_attempts"])

    assert result.exit_code == 0, result.output
    assert "auth.prune_login_attempts succeeded" in result.output
    db.session.expire_all()
    assert _emails("prune-cli-") == set()
    run = db.session.scalars(
        select(JobRun).where(JobRun.job_id == "auth.prune_login_attempts").order_by(JobRun.id.desc())
    ).first()
    assert run.outcome == "succeeded" and run.triggered_by.startswith("cli:")
