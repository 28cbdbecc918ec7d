"""Reading the access log: the headteacher's page and the API share one query."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from attendance_portal.models import Membership, School, User
from registers.models import Pupil

from .models import AccessRecord


def access_log(
    *, school: School, user_id: int | None = None, pupil_id: int | None = None, pupil_query: str = "",
    on_or_after: dt.date | None = None, on_or_before: dt.date | None = None,
) -> QuerySet[AccessRecord]:
    """The school's access records, newest first, narrowed by person, pupil and dates (Europe/London days)."""
    found = AccessRecord.objects.filter(school=school).select_related("pupil")
    if user_id is not None:
        found = found.filter(user_id=user_id)
    if pupil_id is not None:
        found = found.filter(pupil_id=pupil_id)
    if pupil_query:
        words = pupil_query.split()
        match = Q(upn__iexact=pupil_query.strip())
        name = Q()
        for word in words:
            name &= Q(forename__icontains=word) | Q(surname__icontains=word)
        pupils = Pupil.objects.filter(school=school).filter(match | name).values("pk")
        found = found.filter(pupil_id__in=pupils)
    if on_or_after is not None:
        found = found.filter(at__date__gte=on_or_after)
    if on_or_before is not None:
        found = found.filter(at__date__lte=on_or_before)
    return found.order_by("-at", "-pk")


def access_log_people(*, school: School) -> list[User]:
    """People to filter by: the school's staff, directly or through its trust, by name."""
    where = Q(school_id=school.pk)
    if school.trust_id:
        where |= Q(trust_id=school.trust_id)
    ids = Membership.objects.filter(where).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("last_name", "first_name", "username"))
