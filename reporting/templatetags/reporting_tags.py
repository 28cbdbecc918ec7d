"""The reporting links in the school navigation (governors' dashboard, census return), for roles that may see them."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from attendance_portal.permissions import PERMISSIONS

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
