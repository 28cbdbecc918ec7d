"""Building registers for the statistics tests: marks for consecutive school sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django_scopes import scopes_disabled

from attendance_portal.models import School
from registers import codes as code_table
from registers.calendar import calendar_for
from registers.models import Enrolment, Mark
from reporting.models import CATEGORY_FIELDS, AttendanceSummary
from tests import factories as f


def enrol(school: School, *, upn: str | None = None, admitted: dt.date = dt.date(2024, 9, 1),
          **pupil: object) -> Enrolment:
    extra = {"upn": upn} if upn else {}
    return f.EnrolmentFactory(pupil__school=school, admission_date=admitted, **{f"pupil__{k}": v for k, v in
                                                                                 {**extra, **pupil}.items()})


def school_sessions(school: School, start: dt.date, count: int | None = None,
                    end: dt.date | None = None) -> list[tuple[dt.date, str]]:
    with scopes_disabled():
        calendar = calendar_for(school=school)
    found = [s for s in calendar.sessions if s[0] >= start and (end is None or s[0] <= end)]
    return found[:count] if count is not None else found


def record(enrolment: Enrolment, sessions: Iterable[tuple[dt.date, str]], codes: str | list[str]) -> list[Mark]:
    """One mark per session; `codes` is a list, or a string of one-letter codes ('.' means present)."""
    sessions = list(sessions)
    listed = list(codes) if isinstance(codes, str) else codes
    if len(listed) == 1:
        listed = listed * len(sessions)
    marks = []
    for (day, session), code in zip(sessions, listed, strict=True):
        if code == ".":
            code = code_table.present_code(session)
        marks.append(Mark(school_id=enrolment.school_id, pupil_id=enrolment.pupil_id, enrolment=enrolment,
                          date=day, session=session, code=code,
                          minutes_late=5 if code in code_table.LATE else None))
    with scopes_disabled():  # test data, for whichever school the enrolment is in
        return Mark.objects.bulk_create(marks)


def summary_rows(school: School) -> list[tuple[object, ...]]:
    """Every summary row of the school, in a fixed order, to compare whole tables."""
    with scopes_disabled():
        return sorted(AttendanceSummary.objects.filter(school=school).values_list(
            "enrolment_id", "start", "end", *CATEGORY_FIELDS, "minutes_late"), key=str)
