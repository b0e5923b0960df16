"""Document numbers: sequential per series and year, and unique when officers create orders at the same moment."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.numbering import DocumentSequence, format_number, next_number, next_value
from tests.support import own_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def test_numbers_follow_each_other_per_series_and_year(session):
    assert next_number(session, "PO", 2031) == "PO-2031-00001"
    assert next_number(session, "PO", 2031) == "PO-2031-00002"
    assert next_number(session, "PO", 2032) == "PO-2032-00001"
    assert next_number(session, "GR", 2031) == "GR-2031-00001"
    assert next_number(session, "SI", 2031) == "SI-2031-0001"
    assert (
        session.scalar(
            select(DocumentSequence.last_value).where(
                DocumentSequence.series == "PO", DocumentSequence.year == 2031
            )
        )
        == 2
    )


def test_a_rolled_back_number_is_given_again(session):
    with session.begin_nested() as attempt:
        assert next_value(session, "PO", 2033) == 1
        attempt.rollback()
    assert next_value(session, "PO", 2033) == 1


def test_the_running_number_is_padded_to_the_series_width():
    assert format_number("PO", 2026, 42) == "PO-2026-00042"
    assert format_number("PO", 2026, 123456) == "PO-2026-123456"


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="row locks need PostgreSQL; set TEST_DATABASE_URL to a PostgreSQL database to run it",
)
def test_officers_numbering_at_the_same_moment_get_unique_gapless_numbers(tmp_path):
    """Eight threads, each its own connection, all take numbers at once for a year nobody has numbered yet
    (so they also race to create the year's row); every number is taken once and none is skipped."""
    threads, per_thread = 8, 5
    with own_database(tmp_path, "numbering") as url:
        engine = create_engine(url, pool_size=threads, max_overflow=0)
        try:
            DocumentSequence.__table__.create(engine)
            start = threading.Barrier(threads)
            taken: list[str] = []
            errors: list[BaseException] = []
            lock = threading.Lock()

            def officer() -> None:
                try:
                    start.wait(timeout=30)
                    for _ in range(per_thread):
                        with Session(engine) as session, session.begin():
                            number = next_number(session, "PO", 2026)
                        with lock:
                            taken.append(number)
                except BaseException as error:  # noqa: BLE001 - reported below
                    errors.append(error)

            workers = [threading.Thread(target=officer) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(60)
            assert errors == []
            assert sorted(taken) == [f"PO-2026-{n:05d}" for n in range(1, threads * per_thread + 1)]
            with Session(engine) as session:
                assert session.scalars(select(DocumentSequence.last_value)).all() == [threads * per_thread]
        finally:
            engine.dispose()
