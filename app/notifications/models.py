"""The outbox of e-mail messages to users and the in-app notices they see in Samordna."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for the delivery job
    SENT = "sent"  # accepted by the SMTP server
    FAILED = "failed"  # the last attempt failed; retried until MAX_ATTEMPTS
    HELD = "held"  # no mail server configured: kept here for administrators to read or retry later

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def tone(self) -> str:
        return STATUS_TONES[self]


STATUS_LABELS = {
    OutboxStatus.QUEUED: _l("Queued"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.FAILED: _l("Failed"),
    OutboxStatus.HELD: _l("Held"),
}
STATUS_TONES = {
    OutboxStatus.QUEUED: "neutral",
    OutboxStatus.SENT: "green",
    OutboxStatus.FAILED: "red",
    OutboxStatus.HELD: "amber",
}


class OutboxMessage(Base):
    """One e-mail to one address, kept after sending so administrators can see what went out and when."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'held')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The recipient's account; None for an address that has none (or whose account was deleted).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.QUEUED.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    recipient: Mapped[User | None] = relationship()

    @property
    def status_enum(self) -> OutboxStatus:
        return OutboxStatus(self.status)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status} to {self.to_address}>"


class Notice(Base):
    """An in-app notice for one user, shown on their notices page until they mark it read."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def __repr__(self) -> str:
        return f"<Notice {self.id} for user {self.user_id}>"
