"""Template helpers: the letters nav, a pupil's letters on staff pages, a child's letters for a parent."""

from __future__ import annotations

from typing import Any

from django import template

from attendance_portal.permissions import PERMISSIONS

from .. import selectors

register = template.Library()


@register.inclusion_tag("letters/_nav_links.html", takes_context=True)
def letters_nav(context: dict[str, Any]) -> dict[str, Any]:
    roles = context.get("current_roles") or frozenset()
    return {"school": context.get("current_school"), "send": bool(roles & PERMISSIONS["send_letters"])}


@register.inclusion_tag("letters/_pupil_letters.html", takes_context=True)
def pupil_letters(context: dict[str, Any], pupil: Any) -> dict[str, Any]:
    roles = context.get("current_roles") or frozenset()
    school = context.get("current_school")
    allowed = bool(roles & PERMISSIONS["send_letters"])
    letters = list(selectors.letters_for_pupil(school=school, pupil_id=pupil.pk)[:30]) if allowed and school else []
    return {"letters": letters, "allowed": allowed, "school": school}


@register.inclusion_tag("letters/_parent_letters.html", takes_context=True)
def parent_letters(context: dict[str, Any], child: Any) -> dict[str, Any]:
    user = context["request"].user
    return {"letters": selectors.parent_letters(user=user, pupil=child), "child": child}
