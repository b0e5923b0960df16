"""The shared list helper: CSV export is safe to open in a spreadsheet."""
from app.listing import _csv_cell


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused():
    assert _csv_cell("=HYPERLINK(\"http://evil\")") == "'=HYPERLINK(\"http://evil\")"
    assert _csv_cell("+46 8 555") == "'+46 8 555"
    assert _csv_cell("@SUM(A1)") == "'@SUM(A1)"


def test_numbers_and_plain_text_are_left_as_they_are():
    assert _csv_cell(-12) == "-12"
    assert _csv_cell("-3.5") == "-3.5"
    assert _csv_cell("Göteborg") == "Göteborg"
    assert _csv_cell(None) == ""


# --- XLSX export ----------------------------------------------------------------------------------------------

def _workbook_rows(data: bytes) -> list[tuple]:
    import io

    from openpyxl import load_workbook

    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def test_xlsx_text_that_a_spreadsheet_would_run_as_a_formula_stays_text():
    import io
    from zoneinfo import ZoneInfo

    from openpyxl import load_workbook

    from app.listing import xlsx_bytes

    data = xlsx_bytes("Test", ["Name"], [['=HYPERLINK("http://evil","x")'], ["+46 8 555"], ["@SUM(A1)"]],
                      ZoneInfo("Europe/Stockholm"))
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://evil","x")', "+46 8 555", "@SUM(A1)"]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_xlsx_keeps_numbers_as_numbers_and_shows_times_in_the_local_zone():
    from datetime import UTC, date, datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from app.listing import xlsx_bytes

    rows = _workbook_rows(xlsx_bytes(
        "Test",
        ["n", "d", "when", "day", "none", "text"],
        [[12, Decimal("0.28"), datetime(2020, 4, 1, 10, 0, tzinfo=UTC), date(2020, 4, 1), None, "Göteborg"]],
        ZoneInfo("Europe/Stockholm"),
    ))
    assert rows[0] == ("n", "d", "when", "day", "none", "text")
    assert rows[1] == (12, 0.28, datetime(2020, 4, 1, 12, 0), datetime(2020, 4, 1), None, "Göteborg")


def test_xlsx_drops_characters_a_workbook_cannot_hold():
    from zoneinfo import ZoneInfo

    from app.listing import xlsx_bytes

    rows = _workbook_rows(xlsx_bytes("Test:[1]", ["Name"], [["Acme\x0b AB\x00"]], ZoneInfo("UTC")))
    assert rows[1] == ("Acme AB",)


def test_every_list_answers_format_xlsx_with_the_filtered_rows(client, users, auth):
    auth.login(users.make("national_coordinator"))
    response = client.get("/organisations/?county=14&kind=municipality&sort=name&format=xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="organisations.xlsx"' in response.headers["Content-Disposition"]
    rows = _workbook_rows(response.data)
    assert rows[0][:2] == ("Code", "Name")
    assert len(rows) == 1 + 49  # Västra Götaland's 49 municipalities
    assert rows[1][1] == "Ale" and all(str(row[0]).startswith("14") for row in rows[1:])
    assert isinstance(rows[1][5], int)  # population stays a number
    page = client.get("/organisations/").get_data(as_text=True)
    assert "format=xlsx" in page and "Export XLSX" in page
