"""Template helpers for the absence pages: the nav links shown by permission."""

from __future__ import annotations

from typing import Any

from django import template

from attendance_portal.permissions import PERMISSIONS

register = template.Library()


@register.inclusion_tag("absence/_nav_links.html", takes_context=True)
def absence_nav(context: dict[str, Any]) -> dict[str, Any]:
    roles = context.get("current_roles") or frozenset()
    school = context.get("current_school")
    return {
        "school": school,
        "follow_up": bool(roles & PERMISSIONS["follow_up_absence"]),
        "decide": bool(roles & PERMISSIONS["decide_leave"]),
    }


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def absence_counts(context: dict[str, Any]) -> dict[str, int]:
    """Four count queries for the school home page, whatever the school's size."""
    from ..selectors import follow_up_counts

    school = context.get("current_school")
    return follow_up_counts(school=school) if school else {}
