"""The reporting links in the school navigation (governors' dashboard, census return), for roles that may see them."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape as esc
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from attendance_portal.permissions import PERMISSIONS
from reporting.disclosure import hidden_reason

register = template.Library()


@register.simple_tag(takes_context=True)
def reporting_nav(context: Any) -> str:
    school = context.get("current_school")
    roles = context.get("current_roles") or frozenset()
    if school is None:
        return ""
    links = []
    if roles & PERMISSIONS["view_dashboard"]:
        links.append(format_html('<a href="{}">Governors\' dashboard</a>',
                                 reverse("governors:dashboard", args=[school.slug])))
    if roles & PERMISSIONS["export_census"]:
        links.append(format_html('<a href="{}">Census return</a>', reverse("reporting:census", args=[school.slug])))
    return format_html_join("", "{}", ((link,) for link in links))


def _cells(cells: Any) -> str:
    """A row's cells, each escaped (a trust's page has thousands: plain strings, not format_html per cell)."""
    return "".join(f'<td class="num hidden-figure" title="{esc(hidden_reason(c.threshold))}">{esc(c)}</td>'
                   if c.hidden else f'<td class="num">{esc(c)}</td>' for c in cells)


def _row(row: Any, total: bool) -> str:
    label = f'<a href="{esc(row.link)}">{esc(row.label)}</a>' if row.link else esc(row.label)
    total_class = ' class="total"' if total else ""
    return f'<tr{total_class}><th scope="row">{label}</th>\n    {_cells(row.cells)}</tr>\n'


@register.simple_tag
def dash_table(table: Any, first_header: str = "Group", rows: Any = None, total: Any = None) -> str:
    """A disclosed table with its caption and note. Built in Python: a trust's page has a thousand cells,
    and the template engine spent more on them than the figures cost. `rows` (sorted) and `total` replace
    the table's own rows when given."""
    body = rows or table.rows
    last = len(body) - 1
    parts = [_row(row, n == last and not rows and table.has_total) for n, row in enumerate(body)]
    if rows and total:
        parts.append(_row(total, True))
    headers = format_html_join("", '<th scope="col" class="num">{}</th>', ((h,) for h in table.headers))
    note = format_html('<details class="how"><summary>How is this calculated?</summary><p>{}</p></details>',
                       table.note) if table.note else ""
    return format_html(
        '<div class="table-wrap">\n<table class="data dash">\n  <caption>{}</caption>\n  <thead><tr><th scope="col">'
        '{}</th>{}</tr></thead>\n  <tbody>\n  {}  </tbody>\n</table>\n</div>\n{}', table.title, first_header,
        headers, mark_safe("".join(parts)), note)  # noqa: S308 - each part is escaped by format_html
