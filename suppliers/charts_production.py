"""The national capacity chart, planned against actual units per week, as plain SVG text: pure, no Flask.

It follows allocation/charts.py (and reuses its canvas, scales and colours): presentation attributes only,
no CSS, scripts or external fonts, so the same SVG works inline in a page and inside a WeasyPrint PDF.
Callers pass the words (already translated) and the label formatters; this module lays out and escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from allocation.charts import (
    GRID,
    MUTED,
    STOCK_COLOUR,
    Canvas,
    date_tick_indexes,
    grouped,
    nice_ceiling,
    ticks,
)
from suppliers.capacity import WeekTotal, iso_week_label

WIDTH = 720
HEIGHT = 360
LEFT = 76
RIGHT = 24
PANEL = (76, 296)  # y of the top and bottom edge of the bars
MAX_WEEK_LABELS = 9

PLANNED_FILL = "#c9dcef"
ACTUAL_COLOUR = STOCK_COLOUR
SHORT_COLOUR = "#b3261e"
CURRENT_FILL = "#f3f5f7"


@dataclass(frozen=True)
class CapacityChartText:
    """Every word the chart shows, in the reader's language."""

    title: str
    description: str
    planned: str = "Planned"
    actual: str = "Actual"
    short: str = "Actual more than 20 % below plan"
    axis: str = "Units per week"
    current: str = "This week"
    no_data: str = "No capacity planned or reported in these weeks"


def capacity_chart(
    totals: Sequence[WeekTotal],
    *,
    text: CapacityChartText,
    current_week: date | None = None,
    week_label: Callable[[date], str] = iso_week_label,
    number_label: Callable[[object], str] = grouped,
    id_prefix: str = "capacity",
) -> str:
    """An SVG document: one slot per week, a wide light bar for the plan and a narrow bar for the output.

    A week whose output is more than 20 % below plan has its bar in red. Each series is a
    ``<g data-series="planned|actual">`` whose bars (``<rect data-week="2026-W48">``) carry a ``<title>``
    with the week and the figure, so the numbers can be read without the table.
    """
    ordered = sorted(totals, key=lambda t: t.week_start)
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
    values = [v for t in ordered for v in (t.planned, t.actual) if v is not None]
    if not values:
        canvas.text(WIDTH / 2, sum(PANEL) / 2, text.no_data, anchor="middle", size=14, colour=MUTED)
        canvas.add("</svg>")
        return "\n".join(canvas.parts)

    maximum = nice_ceiling(max(values))
    top, bottom = PANEL
    slot = (WIDTH - RIGHT - LEFT) / len(ordered)

    def y(value: float) -> float:
        return bottom - (bottom - top) * min(float(value), maximum) / maximum

    def x(index: int) -> float:
        return LEFT + slot * index

    for index, total in enumerate(ordered):
        if total.week_start == current_week:
            canvas.add(
                f'<rect x="{x(index):.1f}" y="{top}" width="{slot:.1f}" height="{bottom - top}" fill="{CURRENT_FILL}">'
                f"<title>{escape(text.current)}</title></rect>"
            )
            canvas.text(x(index) + slot / 2, top - 6, text.current, anchor="middle", size=10, colour=MUTED)
    for value in ticks(maximum):
        canvas.line(LEFT, y(value), WIDTH - RIGHT, y(value), colour=GRID)
        canvas.text(LEFT - 6, y(value) + 4, number_label(int(value)), anchor="end", size=11, colour=MUTED)
    canvas.line(LEFT, top, LEFT, bottom, colour=MUTED)
    canvas.line(LEFT, bottom, WIDTH - RIGHT, bottom, colour=MUTED)
    canvas.text(16, (top + bottom) / 2, text.axis, anchor="middle", size=11, colour=MUTED, rotate=True)

    def bars(key: str, label: str, width_share: float, value_of, colour_of) -> None:
        canvas.add(f'<g data-series="{key}">')
        for index, total in enumerate(ordered):
            value = value_of(total)
            if value is None:
                continue
            width = slot * width_share
            left = x(index) + (slot - width) / 2
            note = escape(f"{week_label(total.week_start)}: {label} {number_label(value)}")
            canvas.add(
                f'<rect data-week="{iso_week_label(total.week_start)}" x="{left:.1f}" y="{y(value):.1f}" '
                f'width="{width:.1f}" height="{bottom - y(value):.1f}" fill="{colour_of(total)}">'
                f"<title>{note}</title></rect>"
            )
        canvas.add("</g>")

    bars("planned", text.planned, 0.8, lambda t: t.planned, lambda t: PLANNED_FILL)
    bars(
        "actual",
        text.actual,
        0.4,
        lambda t: t.actual,
        lambda t: SHORT_COLOUR if t.falls_short else ACTUAL_COLOUR,
    )

    for index in date_tick_indexes(len(ordered), MAX_WEEK_LABELS):
        centre = x(index) + slot / 2
        canvas.line(centre, bottom, centre, bottom + 4, colour=MUTED)
        canvas.text(
            centre, bottom + 18, week_label(ordered[index].week_start), anchor="middle", size=11, colour=MUTED
        )
    canvas.add("</svg>")
    return "\n".join(canvas.parts)


def _legend(canvas: Canvas, text: CapacityChartText) -> None:
    left = LEFT
    for label, colour, height in (
        (text.planned, PLANNED_FILL, 12),
        (text.actual, ACTUAL_COLOUR, 12),
        (text.short, SHORT_COLOUR, 12),
    ):
        canvas.add(
            f'<rect x="{left}" y="{44 - height / 2 - 2:.1f}" width="16" height="{height}" fill="{colour}"/>'
        )
        canvas.text(left + 22, 48, label, size=12)
        left += 22 + 7.2 * len(label) + 24
