"""What remains of a county's registered need after its agreed redistribution: pure, no Flask, no database.

A county coordinator's request for national allocation (``allocation/services_requests.py``) is prefilled
from it. The rules, per organisation and product category:

* The registered need is the stated need of the organisation's current reports, summed over its branches of
  activity. The need is as old as its oldest branch figure (``reported_at``).
* An agreed transfer to the organisation of a product of the category brings its quantity while it is not yet
  confirmed (planned, dispatched or delivered), and what the receiver accepted once confirmed, but only when
  it was confirmed after the need was reported: a report made after the stock arrived already counts it.
* The remaining need is the registered need less what the transfers bring, never below zero. Transfers the
  organisation gives away are not added: a giver gives from stock above its target days of supply.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

Key = tuple[Hashable, Hashable]  # (organisation id, category id)


@dataclass(frozen=True)
class ReportedNeed:
    """One branch's current stated need of one organisation for one category, and when it was reported."""

    organisation_id: Hashable
    category_id: Hashable
    need: int
    reported_at: datetime


@dataclass(frozen=True)
class IncomingTransfer:
    """An agreed transfer to an organisation: the units it brings and, once confirmed, when."""

    organisation_id: Hashable
    category_id: Hashable
    quantity: int
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class RemainingNeed:
    """One organisation's need of one category: registered, brought by redistribution, and what remains."""

    organisation_id: Hashable
    category_id: Hashable
    registered: int
    incoming: int
    reported_at: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.registered - self.incoming)


def _check_quantity(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number, 0 or more (got {value!r})")


def _check_moment(value, what: str) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ValueError(f"{what} must be an aware datetime (got {value!r})")


def remaining_need(needs: Iterable[ReportedNeed], incoming: Iterable[IncomingTransfer]) -> dict[Key, RemainingNeed]:
    """{(organisation id, category id): RemainingNeed} for every key with a reported need or a transfer.

    Raises ValueError for a negative or non-integer need or quantity and for a naive or missing time.
    """
    registered: dict[Key, int] = {}
    reported_at: dict[Key, datetime] = {}
    for row in needs:
        _check_quantity(row.need, "need")
        if row.reported_at is None:
            raise ValueError("reported_at is required")
        _check_moment(row.reported_at, "reported_at")
        key = (row.organisation_id, row.category_id)
        registered[key] = registered.get(key, 0) + row.need
        reported_at[key] = min(reported_at.get(key, row.reported_at), row.reported_at)
    brought: dict[Key, int] = {}
    for transfer in incoming:
        _check_quantity(transfer.quantity, "quantity")
        _check_moment(transfer.confirmed_at, "confirmed_at")
        key = (transfer.organisation_id, transfer.category_id)
        since = reported_at.get(key)
        if transfer.confirmed_at is not None and since is not None and transfer.confirmed_at <= since:
            continue  # the report was made after the stock arrived: it already counts it
        brought[key] = brought.get(key, 0) + transfer.quantity
    return {
        key: RemainingNeed(key[0], key[1], registered.get(key, 0), brought.get(key, 0), reported_at.get(key))
        for key in sorted({*registered, *brought}, key=lambda k: (str(k[0]), str(k[1])))
    }
