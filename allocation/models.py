"""Registered need: reporting settings and periods, situation reports with versions, the current state."""
from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.catalog.models import ProductCategory
from app.db import Base, utcnow
from app.organisations.models import Organisation


class Branch(StrEnum):
    """Branch of activity (verksamhetsområde) a report covers."""

    HEALTHCARE = "healthcare"  # hälso- och sjukvård
    SOCIAL_SERVICES = "social_services"  # socialtjänst: äldreomsorg, hemtjänst
    LSS = "lss"  # stöd och service till vissa funktionshindrade

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {
            Branch.HEALTHCARE: _("Healthcare"),
            Branch.SOCIAL_SERVICES: _("Social services"),
            Branch.LSS: _("Disability support (LSS)"),
        }[self]


class Channel(StrEnum):
    FORM = "form"
    FILE = "file"
    API = "api"


def _in(enum) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


class ReportingSettings(Base):
    """The national coordinator's reporting rules; one row (id 1).

    ``deadline_weekdays`` lists ISO weekdays (1 = Monday) as a comma-separated string: "2,4" is Tuesday and
    Thursday. Deadlines are local time in SAMORDNA_TIMEZONE.
    """

    __tablename__ = "reporting_settings"
    __table_args__ = (
        CheckConstraint("red_days > 0 AND amber_days > red_days", name="thresholds_ordered"),
        CheckConstraint("horizon_days > 0", name="horizon_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_weekdays: Mapped[str] = mapped_column(String(20), default="2,4")
    deadline_time: Mapped[time] = mapped_column(Time, default=time(12, 0))
    open_days_ahead: Mapped[int] = mapped_column(Integer, default=7)
    horizon_days: Mapped[int] = mapped_column(Integer, default=21)
    red_days: Mapped[int] = mapped_column(Integer, default=7)
    amber_days: Mapped[int] = mapped_column(Integer, default=14)
    need_max_age_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    categories: Mapped[list[ProductCategory]] = relationship(
        secondary="reporting_settings_categories", order_by="ProductCategory.sort_order"
    )

    @property
    def weekdays(self) -> list[int]:
        return sorted(int(part) for part in self.deadline_weekdays.split(",") if part.strip())


class ReportingSettingsCategory(Base):
    __tablename__ = "reporting_settings_categories"

    settings_id: Mapped[int] = mapped_column(ForeignKey("reporting_settings.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), primary_key=True)


class ReportingPeriod(Base):
    """One reporting round: reports are due at ``deadline_at``; late ones are taken until ``closes_at``."""

    __tablename__ = "reporting_periods"
    __table_args__ = (
        CheckConstraint("opens_at < deadline_at AND deadline_at <= closes_at", name="times_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opens_at: Mapped[datetime]
    deadline_at: Mapped[datetime] = mapped_column(unique=True)
    closes_at: Mapped[datetime]
    horizon_days: Mapped[int] = mapped_column(Integer)
    closed_manually_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    categories: Mapped[list[ProductCategory]] = relationship(
        secondary="reporting_period_categories", order_by="ProductCategory.sort_order", lazy="selectin"
    )

    def is_open(self, now: datetime) -> bool:
        return self.closed_manually_at is None and self.opens_at <= now < self.closes_at

    def is_late(self, at: datetime) -> bool:
        return at > self.deadline_at


class ReportingPeriodCategory(Base):
    """The categories asked for in a period, fixed when it opens so later setting changes don't rewrite it."""

    __tablename__ = "reporting_period_categories"

    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_periods.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), primary_key=True)


class SituationReport(Base):
    """An organisation's situation report (lägesbild) for one period and branch; its content is in versions."""

    __tablename__ = "situation_reports"
    __table_args__ = (
        UniqueConstraint("organisation_id", "period_id", "branch", name="uq_situation_reports_org_period_branch"),
        CheckConstraint(f"branch IN ({_in(Branch)})", name="branch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_periods.id"), index=True)
    branch: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    period: Mapped[ReportingPeriod] = relationship(lazy="joined")
    versions: Mapped[list[SituationReportVersion]] = relationship(
        back_populates="report", order_by="SituationReportVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> SituationReportVersion | None:
        return self.versions[-1] if self.versions else None


class SituationReportVersion(Base):
    """One submission or correction of a report. Versions are never changed; a correction adds one."""

    __tablename__ = "situation_report_versions"
    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_situation_report_versions_report_number"),
        UniqueConstraint("organisation_id", "idempotency_key", name="uq_situation_report_versions_idempotency"),
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("situation_reports.id"), index=True)
    # Repeated from the report so the idempotency key is unique per organisation in the database itself.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    channel: Mapped[str] = mapped_column(String(10))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[SituationReport] = relationship(back_populates="versions")
    submitted_by: Mapped[User | None] = relationship()
    lines: Mapped[list[SituationReportLine]] = relationship(
        back_populates="version", cascade="all, delete-orphan", lazy="selectin"
    )


class SituationReportLine(Base):
    """Stock, last week's consumption, expected deliveries and stated need for one category."""

    __tablename__ = "situation_report_lines"
    __table_args__ = (
        UniqueConstraint("version_id", "category_id", name="uq_situation_report_lines_version_category"),
        CheckConstraint(
            "stock >= 0 AND consumption_7d >= 0 AND expected_14d >= 0 AND stated_need >= 0 AND computed_need >= 0",
            name="quantities_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("situation_report_versions.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"))
    stock: Mapped[int] = mapped_column(Integer)
    consumption_7d: Mapped[int] = mapped_column(Integer)
    expected_14d: Mapped[int] = mapped_column(Integer)
    stated_need: Mapped[int] = mapped_column(Integer)
    # Kept as computed at submission, with the horizon then in force, so history reads as it was shown.
    computed_need: Mapped[int] = mapped_column(Integer)
    justification: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[SituationReportVersion] = relationship(back_populates="lines")
    category: Mapped[ProductCategory] = relationship(lazy="joined")


class CurrentNeed(Base):
    """The latest reported figures per organisation, branch and category, kept by each report's transaction.

    Overviews and allocation read this table instead of searching the whole history on every request.
    """

    __tablename__ = "current_needs"
    __table_args__ = (
        Index("ix_current_needs_category_reported", "category_id", "reported_at"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(20), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), primary_key=True)
    county_code: Mapped[str | None] = mapped_column(String(2), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_periods.id"))
    period_deadline_at: Mapped[datetime]
    line_id: Mapped[int] = mapped_column(ForeignKey("situation_report_lines.id"))
    reported_at: Mapped[datetime]
    stock: Mapped[int] = mapped_column(Integer)
    consumption_7d: Mapped[int] = mapped_column(Integer)
    expected_14d: Mapped[int] = mapped_column(Integer)
    stated_need: Mapped[int] = mapped_column(Integer)
    computed_need: Mapped[int] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    category: Mapped[ProductCategory] = relationship(lazy="joined")


class ApiToken(Base):
    """A per-organisation API token. Only a SHA-256 hash is stored; the token is shown once when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ReminderSent(Base):
    """A reminder already sent, so a job that runs again does not send it twice."""

    __tablename__ = "reminders_sent"

    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_periods.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # before_deadline | at_deadline | missing_list
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
