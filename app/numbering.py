"""Document numbers sequential per series and year (PO-2026-00042), unique and gapless under concurrency.

Each (series, year) has one :class:`DocumentSequence` row. :func:`next_number` locks that row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite lets one writer at a time anyway) and counts it up in the
caller's transaction, so a second officer creating an order at the same moment waits for the first one's
commit and gets the next number; a rolled-back transaction gives its number back. The row of a new year is
created with ``INSERT ... ON CONFLICT DO NOTHING`` so two first numbers of a year cannot collide either.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base


class DocumentSequence(Base):
    """The last number used per series and year (PO-2026-00042); a row lock makes numbers unique and gapless."""

    __tablename__ = "document_sequences"
    __table_args__ = (UniqueConstraint("series", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


# Digits of the running number per series; others get DEFAULT_WIDTH.
SERIES_WIDTH = {"PO": 5, "GR": 5, "SI": 4}
DEFAULT_WIDTH = 5


def format_number(series: str, year: int, value: int) -> str:
    """``format_number("PO", 2026, 42)`` -> ``"PO-2026-00042"``."""
    return f"{series}-{year}-{value:0{SERIES_WIDTH.get(series, DEFAULT_WIDTH)}d}"


def _insert_ignoring_duplicates(session: Session, series: str, year: int):
    dialect = session.get_bind().dialect.name
    values = {"series": series, "year": year, "last_value": 0}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - Samordna runs on SQLite and PostgreSQL
        return insert(DocumentSequence).values(**values)
    return dialect_insert(DocumentSequence).values(**values).on_conflict_do_nothing()


def _locked_value(session: Session, series: str, year: int) -> tuple[int, int] | None:
    row = session.execute(
        select(DocumentSequence.id, DocumentSequence.last_value)
        .where(DocumentSequence.series == series, DocumentSequence.year == year)
        .with_for_update()
    ).first()
    return (row.id, row.last_value) if row else None


def next_value(session: Session, series: str, year: int) -> int:
    """The next running number of ``series`` in ``year`` (1, 2, 3 ...), taken under a row lock. Flush only."""
    locked = _locked_value(session, series, year)
    if locked is None:
        session.execute(_insert_ignoring_duplicates(session, series, year))
        locked = _locked_value(session, series, year)
    sequence_id, last_value = locked
    value = last_value + 1
    # A Core UPDATE on the locked row: the counter is machinery, audited through the document it numbers.
    session.execute(
        update(DocumentSequence)
        .where(DocumentSequence.id == sequence_id)
        .values(last_value=value)
        .execution_options(synchronize_session=False)
    )
    return value


def next_number(session: Session, series: str, year: int) -> str:
    """The next document number of ``series`` ("PO", "SI", "GR") in ``year``: ``"PO-2026-00042"``.

    Unique and without gaps among committed transactions; the caller's transaction holds the sequence row
    locked until it commits or rolls back, so keep the work after it short.
    """
    return format_number(series, year, next_value(session, series, year))
