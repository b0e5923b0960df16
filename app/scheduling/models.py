"""The record of every run of a scheduled job, scheduled or started by hand."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

SUMMARY_MAX_LENGTH = 2000
TRIGGERED_BY_MAX_LENGTH = 254
SCHEDULE = "schedule"  # triggered_by of a run the worker started; manual runs name the person


class JobOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self])

    @property
    def tone(self) -> str:
        return "green" if self is JobOutcome.SUCCEEDED else "red"


OUTCOME_LABELS = {JobOutcome.SUCCEEDED: _l("Succeeded"), JobOutcome.FAILED: _l("Failed")}


class JobRun(Base):
    """One finished run of a job: when, how long, how it ended, and who or what started it."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint(f"outcome IN ('{JobOutcome.SUCCEEDED}', '{JobOutcome.FAILED}')", name="outcome"),
        Index("ix_job_runs_job_id_started_at", "job_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    # The job's summary on success, the error on failure; cut to SUMMARY_MAX_LENGTH characters.
    summary: Mapped[str | None] = mapped_column(Text)
    # "schedule", or the e-mail address (web) or "cli:<login>" (command line) of whoever ran it by hand.
    triggered_by: Mapped[str] = mapped_column(String(TRIGGERED_BY_MAX_LENGTH))

    @property
    def job_outcome(self) -> JobOutcome:
        return JobOutcome(self.outcome)

    @property
    def duration(self) -> timedelta:
        return self.finished_at - self.started_at

    @property
    def scheduled(self) -> bool:
        return self.triggered_by == SCHEDULE

    def __repr__(self) -> str:
        return f"<JobRun {self.job_id} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}>"
