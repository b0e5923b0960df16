"""Situation reports by file: templates, CSV and XLSX uploads, and files refused as a whole with row messages."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta

import openpyxl
import pytest
from flask import url_for
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from allocation import imports, reporting
from allocation.models import Channel, CurrentNeed, SituationReportVersion
from allocation.reporting import MAX_QUANTITY
from allocation.views_imports import XLSX_MIMETYPE
from tests.allocation.conftest import STOCKHOLM, full_lines
from tests.conftest import organisation

COLUMNS = ["category", "stock", "consumption_7d", "expected_14d", "stated_need", "justification"]


# --- helpers ---------------------------------------------------------------------------------------------

def _rows(period, **overrides) -> list[list]:
    """A plausible row per category asked, in COLUMNS order; ``overrides`` maps category code to changes."""
    return [
        [line.category, line.stock, line.consumption_7d, line.expected_14d, line.stated_need, line.justification]
        for line in full_lines(period, **overrides)
    ]


def _csv(rows, header=COLUMNS, separator=";", bom=True, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding)


def _xlsx(rows, header=COLUMNS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(client, period, content: bytes, filename="report.csv", branch="healthcare", **fields):
    data = {"file": FileStorage(io.BytesIO(content), filename), "period": str(period.id), "branch": branch, **fields}
    # Encoded here: the test client spools a large body to a temporary file it never closes.
    boundary, body = encode_multipart(data)
    return client.post("/need/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _problems(response) -> list[tuple[str, str, str]]:
    """The (row, column, message) table of a refused upload."""
    page = response.get_data(as_text=True)
    table = re.search(r'<table class="list problems">(.*?)</table>', page, re.DOTALL)
    assert table, "the page shows no problem table"
    cells = re.findall(r"<tr><td class=\"num\">(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1))
    return [tuple(html.unescape(cell) for cell in row) for row in cells]


def _versions(session) -> int:
    return session.scalar(select(func.count()).select_from(SituationReportVersion))


def _current_needs(session) -> list[tuple]:
    return [
        (row.organisation_id, row.branch, row.category_id, row.stock, row.consumption_7d, row.line_id)
        for row in session.scalars(select(CurrentNeed).order_by(CurrentNeed.category_id))
    ]


def _expected_location(app, version) -> str:
    with app.test_request_context():
        if "allocation.report" in app.view_functions:
            return url_for("allocation.report", report_id=version.report_id)
        return url_for("allocation.import_report")


@pytest.fixture
def reporter(users, auth):
    user = users.make("reporter", "0180")
    auth.login(user)
    return user


@pytest.fixture
def reported(session, reporter, period):
    """An earlier report for the same period and branch, so the current state has figures to keep."""
    reporting.submit_report(
        session, organisation=organisation("0180"), period=period, branch="healthcare",
        lines=full_lines(period), channel=Channel.FORM, user=reporter,
    )
    session.commit()
    return _current_needs(session)


# --- accepted files --------------------------------------------------------------------------------------

@pytest.mark.parametrize("separator", [";", ","])
def test_a_valid_csv_with_either_separator_creates_a_file_version(app, session, client, reporter, period, separator):
    code = period.categories[0].code
    content = _csv(_rows(period, **{code: {"stock": 1100}}), separator=separator, bom=separator == ";")
    response = _upload(client, period, content, comment="From our stock system")
    assert response.status_code == 302
    version = session.scalar(select(SituationReportVersion).order_by(SituationReportVersion.id.desc()))
    assert version.channel == "file" and version.submitted_by_id == reporter.id
    assert version.comment == "From our stock system"
    assert len(version.lines) == len(period.categories)
    assert response.headers["Location"] == _expected_location(app, version)
    current = session.scalar(
        select(CurrentNeed).where(
            CurrentNeed.organisation_id == organisation("0180").id, CurrentNeed.category_id == period.categories[0].id
        )
    )
    assert current.stock == 1100


def test_a_valid_xlsx_creates_a_file_version(session, client, reporter, period):
    response = _upload(client, period, _xlsx(_rows(period)), filename="report.xlsx", branch="lss")
    assert response.status_code == 302
    version = session.scalar(select(SituationReportVersion).order_by(SituationReportVersion.id.desc()))
    assert (version.channel, version.report.branch) == ("file", "lss")
    assert {line.stock for line in version.lines} == {1000}


def test_a_csv_saved_by_older_swedish_excel_in_windows_1252_is_read(session, client, reporter, period):
    code = period.categories[0].code
    rows = _rows(period, **{code: {"stated_need": 5000, "justification": "Utbrott på äldreboende"}})
    response = _upload(client, period, _csv(rows, bom=False, encoding="cp1252"))
    assert response.status_code == 302
    version = session.scalar(select(SituationReportVersion).order_by(SituationReportVersion.id.desc()))
    assert {line.justification for line in version.lines} == {"", "Utbrott på äldreboende"}


def test_a_second_upload_is_a_correction_with_a_new_version(session, client, reporter, period, reported):
    assert _upload(client, period, _csv(_rows(period))).status_code == 302
    numbers = session.scalars(select(SituationReportVersion.number).order_by(SituationReportVersion.number)).all()
    assert numbers == [1, 2]


# --- templates -------------------------------------------------------------------------------------------

def test_the_csv_template_is_utf8_with_bom_and_semicolons_and_lists_every_category(client, reporter, period):
    response = client.get(f"/need/import/template.csv?period_id={period.id}&branch=lss")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "0180" in response.headers["Content-Disposition"] and "lss" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(imports.COLUMNS)
    assert [row[0] for row in rows[1:]] == [c.code for c in period.categories]
    assert {row[-1] for row in rows[1:]} == {"0180"}
    assert all(row[3:8] == ["", "", "", "", ""] for row in rows[1:])


def test_a_filled_in_csv_template_is_accepted(session, client, reporter, period):
    raw = client.get(f"/need/import/template.csv?period_id={period.id}&branch=healthcare").get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    for row in rows[1:]:
        row[3:7] = ["1 000", "700", "300", "800"]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(rows)
    response = _upload(client, period, ("\ufeff" + buffer.getvalue()).encode(), filename="template.csv")
    assert response.status_code == 302
    assert _versions(session) == 1


def test_the_xlsx_template_has_a_frozen_header_validation_and_an_information_sheet(client, reporter, period):
    response = client.get(f"/need/import/template.xlsx?period_id={period.id}&branch=social_services")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIMETYPE
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet, info = workbook.worksheets
    assert [cell.value for cell in sheet[1]] == list(imports.COLUMNS)
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [c.code for c in period.categories]
    assert sheet.freeze_panes == "B2"
    assert sheet["E1"].value == "consumption_7d" and "last 7 days" in sheet["E1"].comment.text
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["C"].width
    (validation,) = sheet.data_validations.dataValidation
    assert validation.type == "whole" and validation.formula1 == "0"
    assert "D2" in validation.sqref and "G2" in validation.sqref
    facts = {row[0]: row[1] for row in info.iter_rows(values_only=True)}
    assert facts["Organisation"] == organisation("0180").name
    assert facts["Branch of activity"] == "Social services"
    assert facts["Planning horizon (days)"] == str(period.horizon_days)
    stockholm = period.deadline_at.astimezone(STOCKHOLM)
    assert facts["Deadline"] == f"{stockholm:%Y-%m-%d %H:%M} Swedish time"


def test_a_filled_in_xlsx_template_is_accepted(session, client, reporter, period):
    raw = client.get(f"/need/import/template.xlsx?period_id={period.id}&branch=healthcare").get_data()
    workbook = openpyxl.load_workbook(io.BytesIO(raw))
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        for cell, value in zip(row[3:7], (1000, 700, 300, 800), strict=True):
            cell.value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = _upload(client, period, buffer.getvalue(), filename="template.xlsx")
    assert response.status_code == 302
    version = session.scalar(select(SituationReportVersion))
    assert version.channel == "file" and len(version.lines) == len(period.categories)


def test_the_template_can_be_prefilled_from_the_latest_report(client, reporter, period, reported):
    raw = client.get(f"/need/import/template.csv?period_id={period.id}&branch=healthcare&prefill=y").get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert {tuple(row[3:7]) for row in rows[1:]} == {("1000", "700", "300", "800")}
    empty = client.get(f"/need/import/template.csv?period_id={period.id}&branch=lss&prefill=y").get_data()
    assert {tuple(row[3:7]) for row in list(csv.reader(io.StringIO(empty.decode("utf-8-sig")), delimiter=";"))[1:]} == {
        ("", "", "", "")
    }


def test_a_template_for_an_unknown_period_is_not_found(client, reporter, period):
    assert client.get("/need/import/template.csv?period_id=999999").status_code == 404


def test_the_upload_page_offers_the_open_periods_and_both_templates(client, reporter, period):
    page = client.get("/need/import").get_data(as_text=True)
    assert f'<option selected value="{period.id}">' in page
    assert "/need/import/template.xlsx" in page and "/need/import/template.csv" in page
    assert 'enctype="multipart/form-data"' in page


# --- refused files ---------------------------------------------------------------------------------------

def _first(period) -> str:
    return period.categories[0].code


BAD_CSV = {
    "unknown category": (
        lambda p: _rows(p) + [["visors", 1, 1, 1, 1, ""]],
        lambda p: (str(len(p.categories) + 2), "category", "visors is not a category asked for in this period."),
    ),
    "duplicate category": (
        lambda p: _rows(p) + [[_first(p), 1, 1, 1, 1, ""]],
        lambda p: (str(len(p.categories) + 2), "category", f"{_first(p)} is already reported on row 2."),
    ),
    "empty cell": (
        lambda p: _rows(p, **{_first(p): {"expected_14d": ""}}),
        lambda p: ("2", "expected_14d", "Enter a number (0 if there is none)."),
    ),
    "decimal": (
        lambda p: _rows(p, **{_first(p): {"stock": "12.5"}}),
        lambda p: ("2", "stock", "Enter a whole number, without decimals."),
    ),
    "swedish decimal": (
        lambda p: _rows(p, **{_first(p): {"stock": "12,5"}}),
        lambda p: ("2", "stock", "Enter a whole number, without decimals."),
    ),
    "letters": (
        lambda p: _rows(p, **{_first(p): {"consumption_7d": "abc"}}),
        lambda p: ("2", "consumption_7d", "Enter a whole number, without letters or other characters."),
    ),
    "negative": (
        lambda p: _rows(p, **{_first(p): {"stated_need": -5}}),
        lambda p: ("2", "stated_need", "The number cannot be negative."),
    ),
    "too large": (
        lambda p: _rows(p, **{_first(p): {"stock": MAX_QUANTITY + 1}}),
        lambda p: ("2", "stock", "The number is too large."),
    ),
    "too many cells": (
        lambda p: [row + (["extra"] if i == 1 else []) for i, row in enumerate(_rows(p))],
        lambda p: ("3", "G", "This cell is outside the columns of the header row."),
    ),
    "empty category": (
        lambda p: _rows(p) + [["", 1, 1, 1, 1, ""]],
        lambda p: (str(len(p.categories) + 2), "category", "Enter the category code."),
    ),
    "stated need without justification (found by the service)": (
        lambda p: _rows(p, **{_first(p): {"stated_need": 5000}}),
        lambda p: ("2", "justification", None),
    ),
    "missing category (found by the service)": (
        lambda p: _rows(p)[1:],
        lambda p: ("—", "category", None),
    ),
}


@pytest.mark.parametrize("kind", list(BAD_CSV))
def test_a_file_with_a_bad_row_is_refused_whole_with_its_row_and_column(session, client, period, reported, kind):
    rows, expected = BAD_CSV[kind]
    versions = _versions(session)
    response = _upload(client, period, _csv(rows(period)))
    assert response.status_code == 422
    row, column, message = expected(period)
    found = [(r, c) for r, c, _m in _problems(response)]
    assert (row, column) in found
    if message is not None:
        assert (row, column, message) in _problems(response)
    assert "nothing was saved" in response.get_data(as_text=True)
    assert _versions(session) == versions
    assert _current_needs(session) == reported


def test_every_bad_row_is_listed_at_once(session, client, period, reporter):
    code = _first(period)
    rows = _rows(period, **{code: {"stock": "x", "stated_need": "-1"}})
    rows[1][2] = "1.5"
    response = _upload(client, period, _csv(rows))
    assert response.status_code == 422
    assert [(r, c) for r, c, _m in _problems(response)] == [("2", "stock"), ("2", "stated_need"), ("3", "consumption_7d")]
    assert _versions(session) == 0


def test_a_missing_or_unknown_column_is_named(session, client, period, reporter):
    header = ["category", "stok", "consumption_7d", "expected_14d", "stated_need"]
    response = _upload(client, period, _csv([row[:5] for row in _rows(period)], header=header))
    assert response.status_code == 422
    problems = {(r, c) for r, c, _m in _problems(response)}
    assert {("1", "stok"), ("1", "stock")} <= problems
    assert _versions(session) == 0


XLSX_CELLS = {
    "formula": ("=1+2", "Formulas are not accepted: replace the formula with its value."),
    "error value": ("#DIV/0!", "The cell holds an error (#DIV/0!)."),
    "date": (datetime(2024, 5, 14), "Enter a number, not a date or time."),
    "decimal": (12.5, "Enter a whole number, without decimals."),
    "text": ("many", "Enter a whole number, without letters or other characters."),
}


@pytest.mark.parametrize("kind", list(XLSX_CELLS))
def test_an_xlsx_cell_that_is_not_a_whole_number_is_refused(session, client, period, reported, kind):
    value, message = XLSX_CELLS[kind]
    rows = _rows(period)
    rows[2][1] = value
    response = _upload(client, period, _xlsx(rows), filename="report.xlsx")
    assert response.status_code == 422
    assert _problems(response) == [("4", "stock", message)]
    assert _current_needs(session) == reported


def test_whole_numbers_typed_as_floats_or_with_thousands_spaces_are_accepted(session, client, period, reporter):
    rows = _rows(period)
    rows[0][1], rows[1][1] = 1000.0, "1 000"
    assert _upload(client, period, _xlsx(rows), filename="report.xlsx").status_code == 302


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "report.csv", "The file is empty."),
        (b"category;stock;consumption_7d;expected_14d;stated_need\r\n", "report.csv",
         "The file has no report rows under the header."),
        (None, "report.xlsx", "The file is named .xlsx but is not an Excel workbook."),
        (b"%PDF-1.7\n\x00\x01\x02binary", "report.pdf", "Upload a CSV or XLSX file (this one is .pdf)."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "report", "The file is neither a CSV file nor an XLSX workbook."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "report.xls", None),
        (b"PK\x03\x04not really a zip", "report.xlsx", "The workbook is damaged and cannot be read."),
    ],
    ids=["empty", "header only", "text named xlsx", "pdf", "binary", "old xls", "broken zip"],
)
def test_a_file_that_is_not_a_report_is_refused(session, client, period, reporter, content, filename, message):
    if content is None:
        content = _csv(_rows(period))  # a perfectly good CSV, but named .xlsx
    response = _upload(client, period, content, filename=filename)
    assert response.status_code == 422
    ((row, column, found),) = _problems(response)
    assert (row, column) == ("—", "—")
    if message is not None:
        assert found == message
    assert _versions(session) == 0


def test_a_workbook_that_is_another_kind_of_zip_is_refused(session, client, period, reporter):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")
    response = _upload(client, period, buffer.getvalue(), filename="report.xlsx")
    assert response.status_code == 422
    assert _problems(response) == [("—", "—", "The file is a zip archive but not an Excel workbook (.xlsx).")]


def test_a_file_over_one_megabyte_is_refused_beside_the_field(session, client, period, reporter):
    content = _csv(_rows(period)) + b"\r\n" * (1024 * 1024)
    response = _upload(client, period, content)
    assert response.status_code == 422
    assert "larger than 1 MB" in response.get_data(as_text=True)
    assert _versions(session) == 0


def test_a_file_for_another_organisation_is_refused(session, client, period, reporter):
    header = [*COLUMNS, "organisation"]
    rows = [[*row, "1480"] for row in _rows(period)]
    response = _upload(client, period, _csv(rows, header=header))
    assert response.status_code == 422
    assert ("2", "organisation") in [(r, c) for r, c, _m in _problems(response)]
    assert _versions(session) == 0


def test_a_kommunkod_that_lost_its_leading_zero_in_excel_still_matches(session, client, period, reporter):
    header = [*COLUMNS, "organisation"]
    rows = [[*row, 180] for row in _rows(period)]
    assert _upload(client, period, _xlsx(rows, header=header), filename="report.xlsx").status_code == 302


def test_a_closed_period_is_refused(session, client, reporter, previous_period):
    response = _upload(client, previous_period, _csv(_rows(previous_period)))
    assert response.status_code == 422
    assert "This reporting period is closed" in response.get_data(as_text=True)
    assert _versions(session) == 0


def test_the_form_without_a_file_or_period_is_shown_again_with_messages(client, reporter, period):
    response = client.post("/need/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose the file to upload." in page and "Choose a reporting period." in page


# --- consumption spikes ----------------------------------------------------------------------------------

def test_a_tenfold_consumption_needs_the_confirmation_box(session, client, reporter, period, previous_period):
    reporting.submit_report(
        session, organisation=organisation("0180"), period=previous_period, branch="healthcare",
        lines=full_lines(previous_period), channel=Channel.FORM, user=reporter,
        now=previous_period.deadline_at - timedelta(hours=1),
    )
    session.commit()
    code = _first(period)
    # 7001 a week is ten times 700 and more; stock and need raised with it so no justification is asked.
    content = _csv(_rows(period, **{code: {"consumption_7d": 7001, "stock": 21003, "expected_14d": 0, "stated_need": 0}}))
    refused = _upload(client, period, content)
    assert refused.status_code == 422
    ((row, column, message),) = _problems(refused)
    assert (row, column) == ("2", "consumption_7d") and "ten times" in message
    assert "tick this box" in refused.get_data(as_text=True)
    assert _versions(session) == 1
    accepted = _upload(client, period, content, confirm_spikes="y")
    assert accepted.status_code == 302
    assert _versions(session) == 2


# --- who may ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "home"), [("county_coordinator", "LST-01"), ("auditor", "RK-S"), ("auditor", "0180")])
def test_roles_that_do_not_report_may_neither_upload_nor_download(session, users, auth, client, period, role, home):
    auth.login(users.make(role, home))
    assert client.get("/need/import").status_code == 403
    assert _upload(client, period, _csv(_rows(period))).status_code == 403
    assert client.get(f"/need/import/template.xlsx?period_id={period.id}").status_code == 403
    assert _versions(session) == 0


def test_the_template_is_always_for_the_users_own_organisation(client, users, auth, period):
    auth.login(users.make("reporter", "REG-01"))
    raw = client.get(f"/need/import/template.csv?period_id={period.id}").get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert {row[-1] for row in rows[1:]} == {"REG-01"}


# --- the parser on its own -------------------------------------------------------------------------------

def test_the_separator_is_sniffed_from_the_header_row():
    for separator in (";", ",", "\t"):
        content = _csv([["respirators", "1", "2", "3", "4", "a, b; c"]], separator=separator)
        parsed = imports.parse_report(content, "x.csv", categories=["respirators"])
        assert parsed.ok, parsed.problems
        assert parsed.lines[0].justification == "a, b; c"


def test_excels_separator_hint_line_is_honoured_and_not_counted_as_a_row():
    content = b"sep=,\r\n" + _csv([["respirators", "1", "x", "3", "4", ""]], separator=",", bom=False)
    parsed = imports.parse_report(content, "x.csv", categories=["respirators"])
    assert parsed.problems == [
        imports.RowProblem(2, "consumption_7d", "Enter a whole number, without letters or other characters.")
    ]


@given(st.one_of(st.binary(max_size=400), st.text(alphabet="ab;,\t\r\n\"'=-.0123456789 ", max_size=400).map(str.encode)))
def test_any_upload_gives_lines_or_problems_and_never_an_exception(data):
    header = b"category;stock;consumption_7d;expected_14d;stated_need\n"
    for content in (data, header + data):
        for name in ("x.csv", "x.xlsx", "x"):
            parsed = imports.parse_report(content, name, categories=["a", "b"])
            assert parsed.ok == bool(parsed.lines) != bool(parsed.problems)
            assert all(line.category in ("a", "b") for line in parsed.lines)


def test_whole_number_accepts_integers_and_explains_everything_else():
    assert imports.whole_number(" 12 500 ") == (12500, None)
    assert imports.whole_number(7.0) == (7, None)
    assert imports.whole_number("\u22125")[1] == "The number cannot be negative."
    assert imports.whole_number(True)[1] == "Enter a whole number."
    assert imports.whole_number("1e3")[1] == "Enter a whole number, without letters or other characters."


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused_in_the_csv_template_and_read_back():
    row = imports.TemplateRow("respirators", "Respirators", "piece", 1, 2, 3, 4, "=HYPERLINK(\"x\")")
    content = imports.template_csv([row], "0180")
    assert b"'=HYPERLINK" in content
    parsed = imports.parse_report(content, "t.csv", categories=["respirators"], organisation_codes=["0180"])
    assert parsed.lines[0].justification == '=HYPERLINK("x")'


def test_column_letters_follow_the_spreadsheet_convention():
    assert [imports.column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]

