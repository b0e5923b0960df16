"""Lists with search, filters, sorting, pagination and CSV export, shared by every list page.

A view describes its list once (columns, which are searchable, sortable and filterable) and gets back
either a page of rows for the template or the whole filtered list as CSV (``?format=csv``).
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request
from sqlalchemy import Select, func, inspect, or_, select

from app.extensions import db


@dataclass(frozen=True)
class Column:
    """One column of a list: its key in the URL, its heading, how to read the cell, how to sort by it."""

    key: str
    label: Any
    value: Callable[[Any], Any]
    sort: Any = None  # a SQL expression; None means not sortable
    link: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class Filter:
    """A select filter: URL key, label, choices (value, label) and how it narrows the query."""

    key: str
    label: Any
    choices: Sequence[tuple[str, Any]]
    apply: Callable[[Select, str], Select]


@dataclass
class Page:
    rows: list
    total: int
    page: int
    per_page: int
    columns: Sequence[Column]
    filters: Sequence[Filter]
    args: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)

    def url_args(self, **changes) -> dict:
        merged = {k: v for k, v in self.args.items() if v not in (None, "")}
        merged.update({k: v for k, v in changes.items()})
        return {k: v for k, v in merged.items() if v not in (None, "")}


class Listing:
    """A list page's query: base statement, searchable columns, sortable columns and filters."""

    def __init__(
        self,
        statement: Select,
        *,
        columns: Sequence[Column],
        search: Sequence[Any] = (),
        filters: Sequence[Filter] = (),
        default_sort: str | None = None,
        default_dir: str = "asc",
        csv_name: str = "export",
    ):
        self.statement = statement
        self.columns = columns
        self.search = search
        self.filters = filters
        self.default_sort = default_sort or columns[0].key
        self.default_dir = default_dir
        self.csv_name = csv_name

    def _query(self, args) -> tuple[Select, dict]:
        stmt = self.statement
        chosen: dict[str, str] = {}
        q = (args.get("q") or "").strip()
        if q and self.search:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(or_(*(func.lower(col).like(pattern) for col in self.search)))
        chosen["q"] = q
        for flt in self.filters:
            value = args.get(flt.key, "")
            if value and value in {c[0] for c in flt.choices}:
                stmt = flt.apply(stmt, value)
                chosen[flt.key] = value
        sortable = {c.key: c.sort for c in self.columns if c.sort is not None}
        sort = args.get("sort", self.default_sort)
        if sort not in sortable:
            sort = self.default_sort
        direction = args.get("dir") if args.get("dir") in ("asc", "desc") else self.default_dir
        if sort in sortable:
            expr = sortable[sort]
            stmt = stmt.order_by(expr.desc() if direction == "desc" else expr.asc())
        # The primary key breaks ties (in the same direction), so rows with equal sort values never move
        # between pages and a log sorted newest first keeps same-instant rows newest first too.
        entity = stmt.column_descriptions[0].get("entity") if stmt.column_descriptions else None
        if entity is not None:
            keys = inspect(entity).primary_key
            stmt = stmt.order_by(*(key.desc() if direction == "desc" else key.asc() for key in keys))
        chosen["sort"], chosen["dir"] = sort, direction
        return stmt, chosen

    def page(self, per_page: int = 50) -> Page:
        args = request.args
        stmt, chosen = self._query(args)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        try:
            page = max(1, int(args.get("page", 1)))
        except ValueError:
            page = 1
        page = min(page, max(1, math.ceil((total or 0) / per_page)))
        rows = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
        chosen["page"] = page
        return Page(rows, total or 0, page, per_page, self.columns, self.filters, chosen)

    def csv_response(self) -> Response:
        stmt, _ = self._query(request.args)
        buffer = io.StringIO()
        # A BOM makes Excel, which most county boards open CSV files in, read UTF-8 (å, ä, ö) correctly.
        buffer.write("\ufeff")
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow([str(c.label) for c in self.columns])
        for row in db.session.scalars(stmt).unique():
            writer.writerow([_csv_cell(c.value(row)) for c in self.columns])
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{self.csv_name}.csv"'},
        )

    def respond(self, render: Callable[[Page], Any], per_page: int = 50):
        """The view's whole job: CSV when asked for, otherwise the rendered page."""
        if request.args.get("format") == "csv":
            return self.csv_response()
        return render(self.page(per_page))


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # Cells starting with these are run as formulas by spreadsheet programs (CSV injection).
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
        return True
    except ValueError:
        return False
