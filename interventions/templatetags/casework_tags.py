"""The open-case flag: what office staff and class teachers may see of casework (flag and stage only)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from attendance_portal.permissions import can

from ..selectors import case_flags

register = template.Library()


@register.simple_tag(takes_context=True)
def case_flag(context: dict[str, Any], pupil: Any) -> str:
    """A badge naming the stage of the pupil's open case; a link to it for those who work cases."""
    request = context.get("request")
    school = getattr(request, "school", None)
    if school is None or pupil is None:
        return ""
    stage = case_flags(school=school, pupil_ids=[pupil.pk]).get(pupil.pk)
    if stage is None:
        return ""
    if can(request.user, "work_cases", school):  # type: ignore[union-attr]  # the school came from the request, so it is set
        from interventions.models import Case

        case = Case.objects.filter(school=school, pupil=pupil).exclude(status=Case.Status.CLOSED).first()
        if case is not None:
            from django.urls import reverse

            return format_html('<a class="badge warn" href="{}">Attendance case: {}</a>',
                               reverse("interventions:case", args=[school.slug, case.pk]), stage)
    return format_html('<span class="badge warn">Attendance case: {}</span>', stage)
