"""Situation reports as files: reading CSV and XLSX uploads and writing the templates to fill in.

No Flask request and no database here: the view hands over the file's bytes and what the period asks for,
and gets back report lines (with the row each came from) or every problem found, each with its row and
column as the user sees them in a spreadsheet program (the header is row 1). A file with any problem is
refused as a whole.
"""
from __future__ import annotations

import csv
import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

from flask_babel import gettext as _
from openpyxl.utils.exceptions import InvalidFileException

from allocation.reporting import MAX_QUANTITY, QUANTITY_FIELDS, LineInput, Problem

MAX_FILE_BYTES = 1024 * 1024
# A workbook is a zip of XML; its unpacked size is bounded so a small upload cannot unpack into gigabytes.
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024
MAX_DATA_ROWS = 500  # a report has one row per category: a few dozen at most
MAX_SHEET_ROWS = 2000  # rows read before giving up, blank ones included
MAX_COLUMNS = 40
MAX_JUSTIFICATION = 2000

# Column names are stable machine names, the same in every language, so a file filled in Swedish Excel
# reads back the same way. Only "category" and the four numbers are required.
COLUMNS = (
    "category",
    "category_name",
    "unit",
    *QUANTITY_FIELDS,
    "justification",
    "organisation",
)
REQUIRED_COLUMNS = ("category", *QUANTITY_FIELDS)
SEPARATORS = (";", ",", "\t")


class FileKind(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class RowProblem:
    """One problem: the row and column as shown in a spreadsheet program (None for the whole file)."""

    row: int | None
    column: str | None
    message: str


@dataclass
class ParsedReport:
    kind: FileKind | None
    lines: list[LineInput] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # category code → the row it came from
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Cell:
    """A cell as read from either format: its value, or that it held a formula or an error."""

    value: object = None
    formula: bool = False
    error: str | None = None

    @property
    def blank(self) -> bool:
        return not self.formula and self.error is None and (
            self.value is None or (isinstance(self.value, str) and not self.value.strip())
        )


class _Refused(Exception):
    """The file as a whole cannot be read; the message says why."""


# What openpyxl, zipfile, zlib and the XML parsers raise for a damaged or hand-made package, as found by
# feeding them corrupted workbooks (ParseError and lxml's XMLSyntaxError are SyntaxErrors).
_BROKEN = (
    InvalidFileException, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError,
    NotImplementedError, RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError, SyntaxError,
    OSError,
)


# --- reading ---------------------------------------------------------------------------------------------

def parse_report(
    data: bytes,
    filename: str = "",
    *,
    categories: Collection[str],
    organisation_codes: Collection[str] = (),
) -> ParsedReport:
    """Read a report file into lines, or collect every problem with its row and column.

    ``categories`` are the codes the period asks for (matched without regard to case); ``organisation_codes``
    are the codes the report's organisation is known by: a file whose organisation column names another
    organisation is refused. The file type is decided by content; an extension that says otherwise is an
    error. Rules that need the database (missing categories, justification, spikes) are left to the service.
    """
    try:
        kind = detect_kind(data, filename)
        rows = _xlsx_rows(data) if kind is FileKind.XLSX else _csv_rows(data)
        result = ParsedReport(kind)
        _read_rows(rows, result, categories, organisation_codes)
    except _Refused as refused:
        return ParsedReport(None, problems=[RowProblem(None, None, str(refused))])
    if not result.problems and not result.lines:
        result.problems.append(RowProblem(None, None, _("The file has no report rows under the header.")))
    if result.problems:
        result.lines, result.rows = [], {}
    return result


def detect_kind(data: bytes, filename: str = "") -> FileKind:
    """CSV or XLSX by content; raises _Refused for anything else or an extension that contradicts it."""
    if not data or not data.strip():
        raise _Refused(_("The file is empty."))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Refused(
            _("This is an old Excel file (.xls) or a password-protected workbook. Save it as .xlsx without a "
              "password, or as CSV.")
        )
    kind = FileKind.XLSX if data.startswith(b"PK\x03\x04") else FileKind.CSV
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in ("xlsx", "xlsm") and kind is not FileKind.XLSX:
        raise _Refused(_("The file is named .%(ext)s but is not an Excel workbook.", ext=extension))
    if extension in ("csv", "txt") and kind is not FileKind.CSV:
        raise _Refused(_("The file is named .%(ext)s but is not a text file.", ext=extension))
    if extension and extension not in ("xlsx", "xlsm", "csv", "txt"):
        raise _Refused(_("Upload a CSV or XLSX file (this one is .%(ext)s).", ext=extension))
    return kind


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[_Cell]]]:
    text = _decode(data)
    hinted = re.match(r"sep=(.)\r?\n", text)
    if hinted:
        # Excel's own hint line, which it hides when it opens the file: rows are counted without it.
        separator, text = hinted.group(1), text[hinted.end():]
    else:
        first = next((line for line in text.splitlines() if line.strip()), "")
        separator = max(SEPARATORS, key=first.count) if any(s in first for s in SEPARATORS) else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    # Rows are numbered by record, as a spreadsheet program shows them (a quoted line break stays in its cell).
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _Refused(_("Row %(row)s cannot be read as CSV (%(error)s).", row=number + 1, error=str(error))) from None
        number += 1
        yield number, [_Cell(value) for value in record]


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes), else Windows-1252, Excel's older CSV."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise _Refused(_("The file is neither a CSV file nor an XLSX workbook.")) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise _Refused(_("The file is neither a CSV file nor an XLSX workbook."))
    return text


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[_Cell]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except _BROKEN:
        raise _Refused(_("The workbook is damaged and cannot be read.")) from None
    if "xl/workbook.xml" not in names:
        raise _Refused(_("The file is a zip archive but not an Excel workbook (.xlsx)."))
    if unpacked > MAX_UNZIPPED_BYTES:
        raise _Refused(_("The workbook is too large when unpacked."))
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (extensions, styles); they do not matter for the values.
            warnings.simplefilter("ignore")
            # data_only=False: a formula cell then reads as its formula, so it can be refused; cached results
            # may be stale or missing (a workbook saved by a program that does not calculate).
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except _BROKEN:
        raise _Refused(_("The workbook is damaged and cannot be read.")) from None
    try:
        if not workbook.worksheets:
            raise _Refused(_("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for number, cells in enumerate(
                    sheet.iter_rows(min_row=1, max_row=MAX_SHEET_ROWS + 1, max_col=MAX_COLUMNS + 1), start=1
                ):
                    yield number, [_xlsx_cell(cell) for cell in cells]
            except _BROKEN:
                raise _Refused(_("The workbook is damaged and cannot be read.")) from None
    finally:
        workbook.close()


def _xlsx_cell(cell) -> _Cell:
    data_type = getattr(cell, "data_type", None)
    value = cell.value
    if data_type == "f":
        return _Cell(value, formula=True)
    if data_type == "e":
        return _Cell(value, error=str(value))
    return _Cell(value)


def _read_rows(
    rows: Iterable[tuple[int, list[_Cell]]],
    result: ParsedReport,
    categories: Collection[str],
    organisation_codes: Collection[str],
) -> None:
    asked = {code.lower(): code for code in categories}
    own = {_organisation_key(code) for code in organisation_codes if code}
    header: list[str | None] | None = None
    data_rows = 0
    for number, cells in rows:
        if all(cell.blank for cell in cells):
            continue
        if number > MAX_SHEET_ROWS:
            result.problems.append(
                RowProblem(number, None, _("The file has more than %(n)s rows.", n=MAX_SHEET_ROWS))
            )
            return
        if header is None:
            header = _read_header(number, cells, result)
            if result.problems:
                return
            continue
        data_rows += 1
        if data_rows > MAX_DATA_ROWS:
            result.problems.append(
                RowProblem(number, None, _("A report has at most %(n)s rows.", n=MAX_DATA_ROWS))
            )
            return
        _read_line(number, cells, header, result, asked, own)
    if header is None:
        result.problems.append(RowProblem(None, None, _("The file is empty.")))


def _read_header(number: int, cells: Sequence[_Cell], result: ParsedReport) -> list[str | None]:
    names: list[str | None] = []
    for index, cell in enumerate(cells):
        if cell.blank:
            names.append(None)
            continue
        if cell.formula or cell.error is not None or not isinstance(cell.value, str):
            result.problems.append(
                RowProblem(number, column_letter(index), _("The header row holds column names only."))
            )
            names.append(None)
            continue
        name = cell.value.strip().lstrip("\ufeff").strip().lower()
        if name not in COLUMNS:
            result.problems.append(
                RowProblem(
                    number,
                    cell.value.strip(),
                    _("Unknown column. The columns are: %(columns)s.", columns=", ".join(COLUMNS)),
                )
            )
            names.append(None)
        elif name in names:
            result.problems.append(RowProblem(number, name, _("The column appears twice.")))
            names.append(None)
        else:
            names.append(name)
    for name in REQUIRED_COLUMNS:
        if name not in names:
            result.problems.append(RowProblem(number, name, _("The column is missing from the header row.")))
    return names


def _read_line(
    number: int,
    cells: Sequence[_Cell],
    header: Sequence[str | None],
    result: ParsedReport,
    asked: dict[str, str],
    own: set[str],
) -> None:
    problems = result.problems
    before = len(problems)
    values: dict[str, _Cell] = {}
    for index, cell in enumerate(cells):
        name = header[index] if index < len(header) else None
        if name is not None:
            values[name] = cell
        elif not cell.blank:
            problems.append(
                RowProblem(number, column_letter(index), _("This cell is outside the columns of the header row."))
            )

    def text_of(name: str) -> str | None:
        cell = values.get(name, _Cell())
        if cell.formula:
            problems.append(RowProblem(number, name, _("Formulas are not accepted: replace the formula with its value.")))
            return None
        if cell.error is not None:
            problems.append(RowProblem(number, name, _("The cell holds an error (%(error)s).", error=cell.error)))
            return None
        if cell.value is None:
            return ""
        if isinstance(cell.value, float) and cell.value.is_integer():
            return str(int(cell.value))
        return _undefuse(str(cell.value).strip())

    organisation = text_of("organisation")
    if organisation and _organisation_key(organisation) not in own:
        problems.append(
            RowProblem(
                number,
                "organisation",
                _("The file is for organisation %(code)s, not the one you report for.", code=organisation),
            )
        )
    code = text_of("category")
    if code == "":
        problems.append(RowProblem(number, "category", _("Enter the category code.")))
        code = None
    elif code is not None:
        canonical = asked.get(code.lower())
        if canonical is None:
            problems.append(
                RowProblem(number, "category", _("%(code)s is not a category asked for in this period.", code=code))
            )
        elif canonical in result.rows:
            problems.append(
                RowProblem(
                    number,
                    "category",
                    _("%(code)s is already reported on row %(row)s.", code=canonical, row=result.rows[canonical]),
                )
            )
        code = canonical
    quantities: dict[str, int] = {}
    for name in QUANTITY_FIELDS:
        cell = values.get(name, _Cell())
        if cell.formula or cell.error is not None:
            text_of(name)
            continue
        quantity, message = whole_number(cell.value)
        if message is not None:
            problems.append(RowProblem(number, name, message))
        else:
            quantities[name] = quantity
    justification = text_of("justification") or ""
    if len(justification) > MAX_JUSTIFICATION:
        problems.append(
            RowProblem(number, "justification", _("Keep the justification under %(n)s characters.", n=MAX_JUSTIFICATION))
        )
    if code is not None and code not in result.rows:
        # Remembered even for a bad row, so a second row for the category is reported as a duplicate.
        result.rows[code] = number
    if len(problems) == before:
        result.lines.append(LineInput(category=code, justification=justification, **quantities))


def whole_number(value) -> tuple[int | None, str | None]:
    """A cell's value as a quantity, or the message saying why it is not one.

    Text may use spaces as thousands separators ("12 500", as Swedish Excel writes) and the Unicode minus;
    decimals, letters, dates and negative numbers are refused.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, _("Enter a number (0 if there is none).")
    if isinstance(value, bool):
        return None, _("Enter a whole number.")
    if isinstance(value, (datetime, date, time)):
        return None, _("Enter a number, not a date or time.")
    if isinstance(value, float):
        if not value.is_integer():
            return None, _("Enter a whole number, without decimals.")
        value = int(value)
    if isinstance(value, str):
        text = re.sub(r"[\s\u00a0\u202f\u2009]", "", value).replace("\u2212", "-")
        if not re.fullmatch(r"[+-]?\d+", text):
            if re.fullmatch(r"[+-]?\d*[.,]\d+", text):
                return None, _("Enter a whole number, without decimals.")
            return None, _("Enter a whole number, without letters or other characters.")
        value = int(text)
    if not isinstance(value, int):
        return None, _("Enter a whole number.")
    if value < 0:
        return None, _("The number cannot be negative.")
    if value > MAX_QUANTITY:
        return None, _("The number is too large.")
    return value, None


def _organisation_key(code: str) -> str:
    """Codes compare without case; a kommunkod that lost its leading zero in Excel (180) still matches 0180."""
    text = code.strip().upper()
    return text.zfill(4) if text.isdigit() else text


def column_letter(index: int) -> str:
    """The spreadsheet column letter for a 0-based index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def problems_from_service(problems: Sequence[Problem], rows: dict[str, int]) -> list[RowProblem]:
    """The service's problems (by category code) as problems by row, for a file that parsed cleanly."""
    return sort_problems(
        [RowProblem(rows.get(p.category) if p.category else None, p.field, p.message) for p in problems]
    )


def sort_problems(problems: Iterable[RowProblem]) -> list[RowProblem]:
    order = {name: index for index, name in enumerate(COLUMNS)}
    return sorted(problems, key=lambda p: (p.row or 0, order.get(p.column or "", len(order)), p.column or ""))


# --- writing templates -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateRow:
    """One category asked for, with the figures to prefill (None leaves the cell empty)."""

    code: str
    name: str
    unit: str
    stock: int | None = None
    consumption_7d: int | None = None
    expected_14d: int | None = None
    stated_need: int | None = None
    justification: str = ""

    def cells(self, organisation_code: str) -> list:
        return [
            self.code,
            self.name,
            self.unit,
            self.stock,
            self.consumption_7d,
            self.expected_14d,
            self.stated_need,
            self.justification,
            organisation_code,
        ]


def template_csv(rows: Sequence[TemplateRow], organisation_code: str) -> bytes:
    """The template as CSV for Swedish Excel: UTF-8 with a BOM (so å, ä, ö survive) and ";" between cells."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else _defuse(str(value)) for value in row.cells(organisation_code)])
    return buffer.getvalue().encode("utf-8")


def template_xlsx(
    rows: Sequence[TemplateRow],
    organisation_code: str,
    *,
    info_title: str,
    info: Sequence[tuple[str, str]],
    sheet_title: str,
    number_prompt: str,
    number_error: str,
    column_help: Mapping[str, str] | None = None,
) -> bytes:
    """The template as a workbook: the report sheet first (frozen header, widths, whole-number validation on
    the number columns, ``column_help`` as comments on the header cells), then an information sheet of
    (label, value) pairs naming organisation, period etc.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title)
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row.cells(organisation_code))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEF1F4")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        if column_help and cell.value in column_help:
            cell.comment = Comment(column_help[cell.value], "Samordna", width=260, height=90)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            # Text typed by people (justification) is never a formula, whatever it starts with.
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "B2"
    widths = {
        "category": 18, "category_name": 36, "unit": 10, "justification": 48, "organisation": 14,
    }
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 16)
    for index, name in enumerate(COLUMNS, start=1):
        if name == "justification":
            for cell in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell[0].alignment = Alignment(wrap_text=True, vertical="top")
    first = get_column_letter(COLUMNS.index(QUANTITY_FIELDS[0]) + 1)
    last = get_column_letter(COLUMNS.index(QUANTITY_FIELDS[-1]) + 1)
    validation = DataValidation(
        type="whole",
        operator="between",
        formula1="0",
        formula2=str(MAX_QUANTITY),
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        error=number_error,
        prompt=number_prompt,
    )
    validation.add(f"{first}2:{last}{max(len(rows) + 1, 2) + 50}")
    sheet.add_data_validation(validation)

    about = workbook.create_sheet(_sheet_title(info_title))
    for label, value in info:
        about.append([label, value])
        about.cell(row=about.max_row, column=2).data_type = "s"
    for cell in about["A"]:
        cell.font = bold
    about.column_dimensions["A"].width = 34
    about.column_dimensions["B"].width = 80
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(text: str) -> str:
    # Excel limits sheet names to 31 characters and forbids a few.
    return re.sub(r"[\[\]:*?/\\]", " ", text)[:31] or "Sheet"


def _defuse(text: str) -> str:
    """Prefix text a spreadsheet program would run as a formula (CSV injection) with an apostrophe."""
    if text and text[0] in "=+-@\t\r" and not re.fullmatch(r"[+-]?\d+", text):
        return "'" + text
    return text


def _undefuse(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text
