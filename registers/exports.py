"""Exports of the attendance register in the onboarding file formats (`marks.csv`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from attendance_portal import csvsafe
from attendance_portal.models import School

from .imports import MARK_COLUMNS
from .models import Mark

if TYPE_CHECKING:
    from _typeshed import SupportsWrite


def marks_export_csv(*, school: School, start: dt.date, end: dt.date, out: SupportsWrite[str]) -> int:
    """Write the school's marks from start to end as marks.csv, sorted by upn, date, session.

    The output loads back with `load_school` unchanged. Streams from a server-side cursor, so a
    whole school's history does not sit in memory. Returns the number of marks written.
    """
    writer = csvsafe.writer(out, lineterminator="\n")
    writer.writerow(MARK_COLUMNS)
    rows = (
        Mark.objects.filter(school=school, date__range=(start, end))
        .order_by("pupil__upn", "date", "session")
        .values_list("pupil__upn", "date", "session", "code", "minutes_late")
    )
    count = 0
    for upn, day, session, code, minutes_late in rows.iterator(chunk_size=5000):
        writer.writerow((upn, day.isoformat(), session, code, "" if minutes_late is None else minutes_late))
        count += 1
    return count
