"""CSV and XLSX exports of the overviews carry the same numbers as the pages."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from allocation import exports
from allocation.overviews import ExportTable
from app.timeutil import local_today
from tests.allocation import test_overviews
from tests.allocation.test_overviews import login_as
from tests.conftest import organisation

reported = test_overviews.reported  # the fixture: reports in counties 01 and 14

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def csv_rows(response) -> list[dict]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_rows(response) -> list[dict]:
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_the_county_overview_exports_the_same_numbers_as_csv_and_xlsx(client, auth, users, reported):
    login_as(auth, users, "county_coordinator", "LST-01")
    category = reported.categories[0].name_en
    as_csv = client.get("/need/overview/county/01?format=csv")
    assert as_csv.mimetype == "text/csv"
    assert f'filename="need-county-01-{local_today().isoformat()}.csv"' in as_csv.headers["Content-Disposition"]
    rows = csv_rows(as_csv)
    stockholm = next(r for r in rows if r["Name"] == "Stockholm" and r["Category"] == category)
    assert stockholm["Code"] == "0180"
    assert (stockholm["Days of supply"], stockholm["Status"], stockholm["Stock"]) == ("10.0", "Amber", "1000")
    assert stockholm["Consumption last 7 days"] == "700" and stockholm["Reported for the latest period"] == "Yes"
    total = next(r for r in rows if r["Name"] == "Stockholms län in all" and r["Category"] == category)
    assert (total["Days of supply"], total["Stock"]) == ("20.0", "4000")
    assert not any(r["Name"] == "Göteborg" for r in rows)
    vallentuna = next(r for r in rows if r["Name"] == "Vallentuna" and r["Category"] == category)
    assert (vallentuna["Status"], vallentuna["Stock"], vallentuna["Reported for the latest period"]) == ("Not reported", "", "No")

    as_xlsx = client.get("/need/overview/county/01?format=xlsx")
    assert as_xlsx.mimetype == exports.XLSX_MIMETYPE
    assert f'filename="need-county-01-{local_today().isoformat()}.xlsx"' in as_xlsx.headers["Content-Disposition"]
    book = xlsx_rows(as_xlsx)
    assert len(book) == len(rows)
    same = next(r for r in book if r["Name"] == "Stockholm" and r["Category"] == category)
    assert same["Days of supply"] == 10.0 and same["Stock"] == 1000 and isinstance(same["Stock"], int)
    assert same["Status"] == "Amber"


def test_the_national_export_has_every_county_and_region_and_the_scenario_in_its_name(client, auth, users, reported):
    login_as(auth, users, "national_coordinator", "SOS")
    response = client.get("/need/overview/national?format=xlsx&scenario=2")
    assert f'filename="need-sweden-scenario-2-{local_today().isoformat()}.xlsx"' in response.headers["Content-Disposition"]
    rows = xlsx_rows(response)
    category = reported.categories[0].name_en
    counties = [r for r in rows if r["Table"] == "Counties" and r["Category"] == category]
    regions = [r for r in rows if r["Table"] == "Regions" and r["Category"] == category]
    assert len(counties) == 22 and len(regions) == 22  # 21 and the total
    stockholm = next(r for r in counties if r["Code"] == "01")
    assert stockholm["Days of supply"] == 10.0  # 20 days at double consumption
    assert stockholm["Organisations reported"] == 2
    goteborg = next(r for r in counties if r["Code"] == "14")
    assert goteborg["Days of supply"] == 0.5 and goteborg["Status"] == "Red"
    sweden = next(r for r in counties if r["Name"] == "Sweden")
    assert sweden["Stock"] == 4100 and sweden["Organisations reported"] == 3


def test_the_product_and_organisation_views_export_too(client, auth, users, reported):
    login_as(auth, users, "national_coordinator", "SOS")
    category = reported.categories[0]
    rows = csv_rows(client.get(f"/need/overview/category/{category.id}?format=csv"))
    stockholm = next(r for r in rows if r["Code"] == "01" and r["Branch"] == "Healthcare")
    assert stockholm["Stock"] == "4000" and stockholm["Days of supply"] == "20.0"
    response = client.get(f"/need/overview/organisation/{organisation('0180').id}?format=xlsx")
    book = xlsx_rows(response)
    line = next(r for r in book if r["Category"] == category.name_en and r["Branch"] == "Healthcare")
    assert line["Stock"] == 1000 and line["Days of supply"] == 10.0
    assert isinstance(line["Reported at"], datetime) and line["Projected stock-out"] is not None


def test_text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_stay_numbers():
    table = ExportTable(
        "Need: [test]/*?",
        ["Name", "Value", "At"],
        [["=HYPERLINK(\"http://x\")", Decimal("1.5"), datetime(2020, 3, 3, 11, 0, tzinfo=UTC)], ["+1", 7, None]],
    )
    text = exports.csv_text(table, STOCKHOLM)
    assert "'=HYPERLINK" in text and "'+1" in text
    assert ";1.5;2020-03-03 12:00" in text  # local time
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(table, STOCKHOLM))).active
    assert sheet.title == "Need   test"
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("=HYPERLINK")
    assert sheet["B2"].value == 1.5 and sheet["B3"].value == 7
    assert sheet["C2"].value == datetime(2020, 3, 3, 12, 0)


@pytest.mark.parametrize(
    ("base", "expected"), [("need-county-01", "need-county-01"), ("need/åäö ..", "need")]
)
def test_export_filenames_are_ascii_and_dated(base, expected):
    from datetime import date

    assert exports.filename(base, date(2020, 3, 3), "csv") == f"{expected}-2020-03-03.csv"
