"""Lists with search, filters, sorting, pagination and CSV/XLSX export, shared by every list page.

A view describes its list once (columns, which are searchable, sortable and filterable) and gets back
either a page of rows for the template or the whole filtered list as CSV (``?format=csv``) or as an Excel
workbook (``?format=xlsx``).
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy import Select, func, inspect, or_, select

from app.extensions import db
from app.timeutil import local_timezone

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = "=+-@\t\r"
XLSX_CELL_LIMIT = 32767  # characters Excel holds in one cell


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
    """A list page's query: base statement, searchable columns, sortable columns and filters.

    Each ``search`` entry is a column (matched case-insensitively by substring) or a function taking the
    search text and giving a WHERE condition, for searches a plain LIKE cannot do (related rows, numbers
    written with or without dashes).
    """

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
            stmt = stmt.where(or_(*(_search_condition(term, q, pattern) for term in self.search)))
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

    def xlsx_response(self) -> Response:
        """The whole filtered, sorted list as an Excel workbook: numbers stay numbers, times are local."""
        stmt, _ = self._query(request.args)
        header = [str(c.label) for c in self.columns]
        rows = ([c.value(row) for c in self.columns] for row in db.session.scalars(stmt).unique())
        tz = local_timezone()
        return Response(
            xlsx_bytes(self.csv_name, header, rows, tz),
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": f'attachment; filename="{self.csv_name}.xlsx"'},
        )

    def export_response(self, fmt: str) -> Response:
        """``fmt`` is one of EXPORT_FORMATS."""
        return self.xlsx_response() if fmt == "xlsx" else self.csv_response()

    def respond(self, render: Callable[[Page], Any], per_page: int = 50):
        """The view's whole job: CSV or XLSX when asked for, otherwise the rendered page."""
        fmt = request.args.get("format")
        if fmt in EXPORT_FORMATS:
            return self.export_response(fmt)
        return render(self.page(per_page))


def _search_condition(term, q: str, pattern: str):
    if callable(term) and not hasattr(term, "__clause_element__"):
        return term(q)
    return func.lower(term).like(pattern)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # Cells starting with these are run as formulas by spreadsheet programs (CSV injection).
    if text and text[0] in FORMULA_STARTS and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
        return True
    except ValueError:
        return False


def xlsx_bytes(title: str, header: Sequence[str], rows, tz: ZoneInfo) -> bytes:
    """A one-sheet workbook: a bold header row, then the rows.

    Text is always written as a text cell, never as a formula, so "=HYPERLINK(…)" in a supplier's name
    stays text (formula injection); characters a workbook cannot hold are dropped. Aware times are shown
    in ``tz`` (spreadsheets have no time zones).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Samordna")
    bold = Font(bold=True)
    cells = []
    for label in header:
        cell = _xlsx_text(sheet, label)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value, tz) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value, tz: ZoneInfo):
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    if isinstance(value, (datetime, date)):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(tz).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
        return cell
    if hasattr(value, "label") and not isinstance(value, str):
        value = value.label
    return _xlsx_text(sheet, value)


def _xlsx_text(sheet, value) -> WriteOnlyCell:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:XLSX_CELL_LIMIT]
    cell = WriteOnlyCell(sheet, value=text)
    # openpyxl would store text starting with "=" as a formula; a string cell is never evaluated, and the
    # quote prefix keeps Excel from turning it into one when someone edits the cell.
    cell.data_type = "s"
    if text and text[0] in FORMULA_STARTS:
        cell.quotePrefix = True
    return cell
