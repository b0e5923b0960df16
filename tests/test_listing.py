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
