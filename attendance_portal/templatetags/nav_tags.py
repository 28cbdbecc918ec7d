"""The school's navigation bar, drawn once per process for each school and set of roles.

Every link in it is decided by the viewer's roles at the school (`attendance_portal.permissions.PERMISSIONS`)
and addressed by the school's slug, so the same school, slug and roles always draw the same bar. Drawing it
meant a dozen includes, permission checks and URL reversals on every page, the register's included; it is
kept instead (a few hundred bars at most for a process serving every school, emptied past that).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

NAV_TEMPLATE = "home/_nav.html"
KEPT = 2048
_drawn: dict[tuple[int, str, frozenset[str]], str] = {}


@register.simple_tag(takes_context=True)
def school_nav(context: Any) -> SafeString:
    """The links of the school's navigation bar for the viewer's roles there."""
    school = context["current_school"]
    key = (school.pk, school.slug, frozenset(context.get("current_roles") or ()))
    html = _drawn.get(key)
    if html is None:
        if len(_drawn) >= KEPT:
            _drawn.clear()
        html = _drawn[key] = get_template(NAV_TEMPLATE).render(context.flatten(), context.get("request"))
    return mark_safe(html)  # noqa: S308 - drawn by the template engine, which escaped it
