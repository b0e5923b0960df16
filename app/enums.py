"""Enumerations with translated labels, and the SQL CHECK lists built from them."""
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class LabelledEnum(StrEnum):
    """A StrEnum whose members have a translated label; each subclass defines ``_labels()``."""

    @property
    def label(self) -> str:
        return str(type(self)._labels()[self])

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


def sql_in(values: Iterable[str]) -> str:
    """The quoted, comma-separated list for a ``CHECK (column IN (...))`` constraint."""
    return ", ".join(f"'{value}'" for value in values)
