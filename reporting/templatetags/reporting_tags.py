"""The governors' dashboard link in the school navigation, for roles that may see it."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from attendance_portal.permissions import PERMISSIONS

register = template.Library()


@register.simple_tag(takes_context=True)
def reporting_nav(context: Any) -> str:
    school = context.get("current_school")
    roles = context.get("current_roles") or frozenset()
    if school is None or not roles & PERMISSIONS["view_dashboard"]:
        return ""
    return format_html('<a href="{}">Governors\' dashboard</a>', reverse("governors:dashboard", args=[school.slug]))
