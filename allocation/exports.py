"""CSV and XLSX files of the overview tables (ExportTable): a header row, then the rows as plain values.

CSV follows the list pages' convention (semicolons and a BOM, which Excel reads as UTF-8); XLSX keeps
numbers as numbers. Text that a spreadsheet would run as a formula is neutralised in both.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from allocation.overviews import ExportTable

FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = "=+-@\t\r"
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _plain(value: Any, tz: ZoneInfo) -> Any:
    """Aware times become local times without a zone (spreadsheets have none); the rest is kept."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None, microsecond=0)
    return value


def _safe_text(text: str) -> str:
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def csv_text(table: ExportTable, tz: ZoneInfo) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([_safe_text(str(h)) for h in table.header])
    for row in table.rows:
        writer.writerow([_csv_cell(_plain(value, tz)) for value in row])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return _safe_text(str(value))


def xlsx_bytes(table: ExportTable, tz: ZoneInfo) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(table.title))
    bold = Font(bold=True)
    header = []
    for label in table.header:
        cell = WriteOnlyCell(sheet, value=str(label))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, _plain(value, tz)) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value: Any):
    if isinstance(value, str):
        # Always a string cell: openpyxl would otherwise store "=…" as a formula.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    if isinstance(value, (datetime, date)):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
        return cell
    return value


def _sheet_title(title: str) -> str:
    return SHEET_TITLE_FORBIDDEN.sub(" ", title).strip()[:31] or "Samordna"


def filename(basename: str, on: date, extension: str) -> str:
    """``need-county-01-2024-05-01.csv``: ASCII only, so every browser saves it under that name."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", basename).strip("-") or "export"
    return f"{safe}-{on.isoformat()}.{extension}"


def export_response(table: ExportTable, fmt: str, *, basename: str, today: date, tz: ZoneInfo) -> Response:
    """The table as a CSV or XLSX download named with ``basename`` and the date."""
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(table, tz), XLSX_MIMETYPE
    else:
        body, mimetype = csv_text(table, tz), "text/csv"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(basename, today, fmt)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
