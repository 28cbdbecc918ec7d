"""Server-rendered SVG charts (pygal), one code path for the pages and the PDF report.

Charts draw only figures that have passed the disclosure module: a hidden figure is a gap, never a bar.
Every chart is shown with its figures as a table (see the templates), so a screen reader gets the same.
No JavaScript is embedded: the page and the PDF show the same still image.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pygal
from django.core.cache import cache
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

from .dashboard_tables import DisplayTable, GovernorTables
from .dashboards import SchoolDashboard

STYLE = Style(
    background="white", plot_background="white", foreground="#1b1b1b", foreground_strong="#1b1b1b",
    foreground_subtle="#6b6b6b", colors=("#1d70b8", "#b58840", "#505a5f", "#d4351c", "#00703c"),
    font_family="Arial, Helvetica, sans-serif", label_font_size=13, major_label_font_size=13,
    legend_font_size=14, title_font_size=16, value_font_size=12,
)
CHART_CACHE_SECONDS = 6 * 60 * 60
BASE = {"style": STYLE, "js": [], "disable_xml_declaration": True, "width": 800, "height": 380,
        "legend_at_bottom": True, "truncate_legend": -1, "print_values": False, "show_y_guides": True}


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: SafeString


def _render(chart: pygal.graph.graph.Graph) -> SafeString:
    """The chart as an image: pygal's SVG carries its own <style> and a <script>, which the page's
    Content-Security-Policy would refuse inline; inside an <img> the SVG is a still picture of its own."""
    svg = chart.render(is_unicode=True).encode()
    return format_html('<img class="chart-image" alt="" src="data:image/svg+xml;base64,{}">',
                       base64.b64encode(svg).decode())


def _cached(kind: str, data: object, draw: Callable[[], SafeString]) -> SafeString:
    """Drawing costs more than the figures (pygal builds its whole configuration per chart), so a chart is
    kept by a digest of exactly what it draws: the same figures give the same picture, new ones a new key."""
    key = "chart:" + hashlib.sha256(repr((kind, data)).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = str(draw())
        cache.set(key, found, CHART_CACHE_SECONDS)
    return mark_safe(found)  # noqa: S308 - our own rendering, cached


def trend_chart(dash: SchoolDashboard, *, national: float | None, hidden: bool) -> Chart:
    data = (tuple(dash.weeks), national, hidden)
    svg = _cached("trend", data, lambda: _trend_svg(dash, national=national, hidden=hidden))
    return Chart("trend", "Attendance by school week", svg)


def _trend_svg(dash: SchoolDashboard, *, national: float | None, hidden: bool) -> SafeString:
    chart = pygal.Line(title="Attendance by school week", y_title="Attendance %", x_label_rotation=0,
                       show_minor_x_labels=False, x_labels_major_every=4, **BASE)
    chart.x_labels = [str(w.number) for w in dash.weeks]
    chart.add("This year", [None if hidden else w.this_year for w in dash.weeks])
    chart.add("Last year", [None if hidden else w.last_year for w in dash.weeks])
    if national is not None:
        chart.add("National, year to date", [national] * len(dash.weeks), stroke_style={"dasharray": "6, 4"},
                  show_dots=False)
    return _render(chart)


def table_bar_chart(table: DisplayTable, *, title: str, column: int = 1, horizontal: bool = True) -> Chart:
    """A bar per row of a disclosed table (the rate column), the total row left out."""
    rows = table.rows[:-1]
    labels = [r.label.split(":")[0].split(" (")[0] for r in rows]  # the table beside it has the full wording
    values = [r.cells[column].number for r in rows]

    def draw() -> SafeString:
        chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(title=title, show_legend=False, **BASE)
        chart.x_labels = labels
        chart.add(title, values)
        return _render(chart)

    return Chart(table.key, title, _cached("bar", (title, labels, values, horizontal), draw))


def days_chart(table: DisplayTable) -> Chart:
    rows = table.rows[:-1]
    mornings = [rows[i].cells[1].number for i in range(0, len(rows), 2)]
    afternoons = [rows[i].cells[1].number for i in range(1, len(rows), 2)]

    def draw() -> SafeString:
        chart = pygal.Bar(title="Absence by day and session", y_title="Absence %", **BASE)
        chart.x_labels = ["Mon", "Tue", "Wed", "Thu", "Fri"]
        chart.add("Morning", mornings)
        chart.add("Afternoon", afternoons)
        return _render(chart)

    return Chart("days", "Absence by day and session", _cached("days", (mornings, afternoons), draw))


def governor_charts(dash: SchoolDashboard, tables: GovernorTables, *, national: float | None) -> list[Chart]:
    hidden = tables.headline.rows[-1].cells[1].hidden
    return [
        trend_chart(dash, national=national, hidden=hidden),
        table_bar_chart(tables.reasons, title="Absence by reason (% of possible sessions)"),
        days_chart(tables.days),
        table_bar_chart(tables.bands, title="Pupils by attendance band (% of pupils)"),
    ]
