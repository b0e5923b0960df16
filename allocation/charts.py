"""Trend charts of stock, consumption and days of supply as plain SVG text: pure, no Flask, no JavaScript.

The same SVG works in the browser (``<img src>``) and inside WeasyPrint PDFs, so it uses only presentation
attributes (no CSS, no scripts, no external fonts). Callers pass the words (already translated) and the
formatters for dates and numbers; this module only lays them out and escapes them.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

WIDTH = 720
HEIGHT = 420
LEFT = 76
RIGHT = 24
TOP_PANEL = (76, 236)  # y of the top and bottom edge of the quantities panel
DAYS_PANEL = (276, 386)  # y of the top and bottom edge of the days-of-supply panel
MAX_DATE_LABELS = 6
# Days of supply above this are drawn at the top edge: a year of stock would flatten every shortage to zero.
DAYS_CAP = 120

INK = "#1b1f24"
MUTED = "#5b6470"
GRID = "#d6dbe1"
STOCK_COLOUR = "#0b4f8a"
CONSUMPTION_COLOUR = "#b3261e"
DAYS_COLOUR = "#1e6b35"
RED_BAND = "#fde8e7"
AMBER_BAND = "#fff3d6"
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class TrendPoint:
    """One reported period: stock on hand, consumption in the last seven days and days of supply then.

    ``days_of_supply`` is None when nothing was consumed (the stock lasts indefinitely).
    """

    on: date
    stock: int
    consumption_7d: int
    days_of_supply: Decimal | None


@dataclass(frozen=True)
class ChartText:
    """Every word the chart shows, in the reader's language."""

    title: str
    description: str
    stock: str = "Stock"
    consumption: str = "Consumption per week"
    days: str = "Days of supply"
    quantity_axis: str = "Units"
    days_axis: str = "Days"
    no_data: str = "No reports yet"
    capped: str = "Values above %(cap)s days are drawn at the top edge."


def _iso(day: date) -> str:
    return day.isoformat()


def grouped(number) -> str:
    """A figure grouped by thousands with narrow no-break spaces; one decimal for a Decimal or a fractional float."""
    if isinstance(number, Decimal) or (isinstance(number, float) and not number.is_integer()):
        return f"{number:,.1f}".replace(",", "\u202f")
    return f"{int(number):,}".replace(",", "\u202f")


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at least ``value`` (1 for nothing), so axis ends are round numbers."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value - 1e-9:
            return candidate
    return 10 ** (exponent + 1)


def ticks(maximum: float) -> list[float]:
    """Evenly spaced tick values from 0 to ``maximum`` (a nice ceiling) at round steps: 0, 500, 1 000, …"""
    mantissa = maximum / 10 ** math.floor(math.log10(maximum))
    count = 4 if math.isclose(mantissa, 2) else 5
    return [maximum * i / count for i in range(count + 1)]


def date_tick_indexes(length: int, most: int = MAX_DATE_LABELS) -> list[int]:
    """Indexes of the points whose dates are labelled: the first, the last and evenly spaced between."""
    if length <= most:
        return list(range(length))
    step = (length - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


class Canvas:
    """An SVG drawing collected as text parts; the charts here and in suppliers.charts_production draw on it."""

    def __init__(self):
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(self, x: float, y: float, content: str, *, anchor: str = "start", size: int = 12,
             colour: str = INK, weight: str = "normal", rotate: bool = False) -> None:
        transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-family={quoteattr(FONT)} font-size="{size}" fill="{colour}" '
            f'font-weight="{weight}" text-anchor="{anchor}"{transform}>{escape(content)}</text>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: str = GRID, width: float = 1) -> None:
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="{width}"/>')


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    text: ChartText,
    thresholds: tuple[int, int] | None = None,
    date_label: Callable[[date], str] = _iso,
    number_label: Callable[[object], str] = grouped,
    id_prefix: str = "chart",
) -> str:
    """An SVG document: stock and weekly consumption over time above, days of supply below.

    ``thresholds`` (red, amber) shade the days panel red below ``red`` and amber below ``amber`` days.
    Each series is a ``<g data-series="…">`` holding a polyline (broken where a value is missing) and one
    ``<circle>`` per point with a ``<title>`` giving its date and value, so the numbers can be read.
    """
    ordered = sorted(points, key=lambda p: p.on)
    canvas = Canvas()
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    canvas.add(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}">'
    )
    canvas.add(f'<title id="{title_id}">{escape(text.title)}</title>')
    canvas.add(f'<desc id="{desc_id}">{escape(text.description)}</desc>')
    canvas.add(f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    canvas.text(LEFT, 24, text.title, size=15, weight="bold")
    _legend(canvas, text)
    if not ordered:
        canvas.text(WIDTH / 2, (TOP_PANEL[0] + DAYS_PANEL[1]) / 2, text.no_data, anchor="middle", size=14, colour=MUTED)
        canvas.add("</svg>")
        return "\n".join(canvas.parts)

    x_of = _x_scale(ordered)
    quantity_max = nice_ceiling(max(max(p.stock, p.consumption_7d) for p in ordered))
    known_days = [float(p.days_of_supply) for p in ordered if p.days_of_supply is not None]
    days_max = nice_ceiling(max([min(max(known_days, default=0), DAYS_CAP), *(thresholds or (0, 0))]) * 1.1)
    capped = any(d > days_max for d in known_days)

    _panel(canvas, TOP_PANEL, quantity_max, text.quantity_axis, number_label)
    _panel(canvas, DAYS_PANEL, days_max, text.days_axis, number_label, bands=thresholds)
    _date_axis(canvas, ordered, x_of, date_label)

    def y_in(panel, maximum):
        top, bottom = panel
        return lambda value: bottom - (bottom - top) * min(float(value), maximum) / maximum

    _series(canvas, "stock", text.stock, STOCK_COLOUR, ordered, x_of, lambda p: p.stock,
            y_in(TOP_PANEL, quantity_max), date_label, number_label)
    _series(canvas, "consumption", text.consumption, CONSUMPTION_COLOUR, ordered, x_of, lambda p: p.consumption_7d,
            y_in(TOP_PANEL, quantity_max), date_label, number_label, dashed=True)
    _series(canvas, "days", text.days, DAYS_COLOUR, ordered, x_of, lambda p: p.days_of_supply,
            y_in(DAYS_PANEL, days_max), date_label, number_label)
    if capped:
        canvas.text(WIDTH - RIGHT, DAYS_PANEL[0] - 6, text.capped % {"cap": number_label(int(days_max))},
                    anchor="end", size=10, colour=MUTED)
    canvas.add("</svg>")
    return "\n".join(canvas.parts)


def _legend(canvas: Canvas, text: ChartText) -> None:
    x = LEFT
    for label, colour, dashed in (
        (text.stock, STOCK_COLOUR, False),
        (text.consumption, CONSUMPTION_COLOUR, True),
        (text.days, DAYS_COLOUR, False),
    ):
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        canvas.add(f'<line x1="{x}" y1="44" x2="{x + 24}" y2="44" stroke="{colour}" stroke-width="3"{dash}/>')
        canvas.text(x + 30, 48, label, size=12)
        x += 30 + 7.2 * len(label) + 28


def _x_scale(ordered: Sequence[TrendPoint]) -> Callable[[date], float]:
    first, last = ordered[0].on.toordinal(), ordered[-1].on.toordinal()
    right = WIDTH - RIGHT
    if first == last:
        return lambda day: (LEFT + right) / 2
    return lambda day: LEFT + (right - LEFT) * (day.toordinal() - first) / (last - first)


def _panel(canvas: Canvas, panel, maximum: float, axis_label: str, number_label, bands=None) -> None:
    top, bottom = panel
    right = WIDTH - RIGHT

    def y(value: float) -> float:
        return bottom - (bottom - top) * min(value, maximum) / maximum

    if bands:
        red, amber = bands
        canvas.add(f'<rect x="{LEFT}" y="{y(red):.1f}" width="{right - LEFT}" height="{bottom - y(red):.1f}" fill="{RED_BAND}"/>')
        canvas.add(f'<rect x="{LEFT}" y="{y(amber):.1f}" width="{right - LEFT}" height="{y(red) - y(amber):.1f}" fill="{AMBER_BAND}"/>')
    for value in ticks(maximum):
        canvas.line(LEFT, y(value), right, y(value))
        shown = int(value) if float(value).is_integer() else Decimal(str(value))
        canvas.text(LEFT - 6, y(value) + 4, number_label(shown), anchor="end", size=11, colour=MUTED)
    canvas.line(LEFT, top, LEFT, bottom, colour=MUTED)
    canvas.line(LEFT, bottom, right, bottom, colour=MUTED)
    canvas.text(16, (top + bottom) / 2, axis_label, anchor="middle", size=11, colour=MUTED, rotate=True)


def _date_axis(canvas: Canvas, ordered, x_of, date_label) -> None:
    indexes = date_tick_indexes(len(ordered))
    for index in indexes:
        day = ordered[index].on
        x = x_of(day)
        for _top, bottom in (TOP_PANEL, DAYS_PANEL):
            canvas.line(x, bottom, x, bottom + 4, colour=MUTED)
        # The outermost labels lean inwards so they stay inside the picture.
        anchor = "middle"
        if len(indexes) > 1 and index == indexes[0]:
            anchor = "start"
        elif len(indexes) > 1 and index == indexes[-1]:
            anchor = "end"
        canvas.text(x, DAYS_PANEL[1] + 18, date_label(day), anchor=anchor, size=11, colour=MUTED)


def _series(canvas: Canvas, key: str, label: str, colour: str, ordered, x_of, value_of, y_of,
            date_label, number_label, dashed: bool = False) -> None:
    canvas.add(f'<g data-series="{key}">')
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    run: list[str] = []
    runs: list[list[str]] = []
    for point in ordered:
        value = value_of(point)
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{x_of(point.on):.1f},{y_of(value):.1f}")
    if run:
        runs.append(run)
    for coordinates in runs:
        if len(coordinates) > 1:
            canvas.add(
                f'<polyline points="{" ".join(coordinates)}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
    for point in ordered:
        value = value_of(point)
        if value is None:
            continue
        note = escape(f"{date_label(point.on)}: {label} {number_label(value)}")
        canvas.add(
            f'<circle cx="{x_of(point.on):.1f}" cy="{y_of(value):.1f}" r="3.5" fill="{colour}"><title>{note}</title></circle>'
        )
    canvas.add("</g>")
