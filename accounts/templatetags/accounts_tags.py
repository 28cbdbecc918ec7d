from __future__ import annotations

from typing import Any

from django import template

from attendance_portal.permissions import can

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: dict[str, Any], action: str) -> bool:
    """Whether the signed-in person may do `action` in the current school."""
    request = context.get("request")
    school = getattr(request, "school", None)
    return bool(request is not None and school is not None and can(request.user, action, school))
