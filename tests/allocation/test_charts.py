"""The trend chart: well-formed SVG with one marker per point, escaped text, usable inside a PDF."""
from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

from allocation.charts import ChartText, TrendPoint, date_tick_indexes, nice_ceiling, ticks, trend_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
TEXT = ChartText(title="Respirators at Stockholm", description="Two months of reports")


def points(count: int, *, start=date(2020, 3, 3)) -> list[TrendPoint]:
    return [
        TrendPoint(start + timedelta(days=3 * i), 1000 - 50 * i, 140 + 10 * i, Decimal(1000 - 50 * i) / ((140 + 10 * i) / Decimal(7)))
        for i in range(count)
    ]


def series(svg, key):
    return svg.find(f"svg:g[@data-series='{key}']", NS)


def test_the_chart_is_well_formed_svg_with_one_marker_per_point_in_each_series():
    svg = ET.fromstring(trend_chart(points(9), text=TEXT, thresholds=(7, 14)))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    for key in ("stock", "consumption", "days"):
        group = series(svg, key)
        assert len(group.findall("svg:circle", NS)) == 9
        assert len(group.find("svg:polyline", NS).get("points").split()) == 9


def test_the_chart_is_titled_and_described_for_screen_readers():
    svg = ET.fromstring(trend_chart(points(3), text=TEXT))
    assert svg.get("role") == "img"
    title, desc = svg.find("svg:title", NS), svg.find("svg:desc", NS)
    assert title.text == "Respirators at Stockholm" and desc.text == "Two months of reports"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_the_axes_carry_dates_and_the_legend_names_each_series():
    labels = [t.text for t in ET.fromstring(trend_chart(points(3), text=TEXT)).iter("{http://www.w3.org/2000/svg}text")]
    assert {"2020-03-03", "2020-03-06", "2020-03-09"} <= set(labels)
    assert {"Stock", "Consumption per week", "Days of supply", "Units", "Days"} <= set(labels)


def test_text_is_escaped():
    nasty = ChartText(title='<script>alert("x")</script> & Co', description="a < b", stock="Lager & förråd")
    source = trend_chart(points(2), text=nasty)
    svg = ET.fromstring(source)
    assert svg.find("svg:title", NS).text == '<script>alert("x")</script> & Co'
    assert "<script>" not in source
    assert not list(svg.iter("{http://www.w3.org/2000/svg}script"))


def test_days_without_consumption_break_the_days_line_but_not_the_others():
    data = points(5)
    data[2] = TrendPoint(data[2].on, 900, 0, None)
    svg = ET.fromstring(trend_chart(data, text=TEXT))
    assert len(series(svg, "days").findall("svg:circle", NS)) == 4
    assert len(series(svg, "days").findall("svg:polyline", NS)) == 2
    assert len(series(svg, "stock").findall("svg:circle", NS)) == 5


def test_no_points_shows_a_message_and_one_point_is_drawn_in_the_middle():
    empty = ET.fromstring(trend_chart([], text=TEXT))
    assert "No reports yet" in [t.text for t in empty.iter("{http://www.w3.org/2000/svg}text")]
    single = ET.fromstring(trend_chart(points(1), text=TEXT))
    circle = series(single, "stock").find("svg:circle", NS)
    assert float(circle.get("cx")) == (76 + 720 - 24) / 2


def test_points_come_out_in_date_order_whatever_order_they_come_in():
    data = points(4)
    svg = ET.fromstring(trend_chart(list(reversed(data)), text=TEXT))
    xs = [float(c.get("cx")) for c in series(svg, "stock").findall("svg:circle", NS)]
    assert xs == sorted(xs)


def test_very_long_supply_is_drawn_at_the_top_edge_with_a_note():
    data = [TrendPoint(date(2020, 3, 3), 100000, 7, Decimal(100000)), TrendPoint(date(2020, 3, 6), 10, 7, Decimal(10))]
    source = trend_chart(data, text=TEXT, thresholds=(7, 14), number_label=str)
    assert "Values above 200 days are drawn at the top edge." in source


def test_axis_ends_are_round_numbers_and_date_labels_are_few():
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 7, 11, 240, 1001)] == [1, 1, 1, 5, 10, 20, 250, 2000]
    assert ticks(50000) == [0, 10000, 20000, 30000, 40000, 50000]
    assert ticks(2000) == [0, 500, 1000, 1500, 2000]
    assert ticks(250) == [0, 50, 100, 150, 200, 250]
    assert ticks(1) == [0, 0.2, 0.4, 0.6, 0.8, 1]
    assert date_tick_indexes(3) == [0, 1, 2]
    indexes = date_tick_indexes(52)
    assert indexes[0] == 0 and indexes[-1] == 51 and len(indexes) == 6


def test_the_chart_renders_inside_a_pdf():
    from pypdf import PdfReader
    from weasyprint import HTML

    svg = trend_chart(points(6), text=TEXT, thresholds=(7, 14))
    data_uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    inline = HTML(string=f"<html><body>{svg}</body></html>").write_pdf()
    as_image = HTML(string=f'<html><body><img src="{data_uri}"></body></html>').write_pdf()
    for pdf in (inline, as_image):
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "Respirators at Stockholm" in text and "Days of supply" in text
