"""Building a letter's merge data: plain JSON, frozen on the letter when it is requested.

Figures are the academic year to date as at the letter's date, read set-based from the statistics
summaries for every pupil of a request at once. Dates are written out the British way here, once, so
a letter reads the same whenever it is re-rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from attendance_portal.models import School, User
from registers import codes
from registers.calendar import SchoolCalendar, calendar_for
from registers.models import Enrolment, Guardian, Pupil
from reporting.figures import Figures
from reporting.selectors import enrolment_figures

from .models import Letterhead, RecipientDetails

# The days-missed table (Meadowside's "% → days and sessions missed over a year"): one place.
ATTENDANCE_BANDS = (100, 97, 94, 90, 85, 80)
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "meeting": frozenset({"date", "time", "place", "with"}),
    "leave": frozenset({"first_date", "last_date", "reason"}),
    "deadline": frozenset(),
}
SESSION_NAMES = {"AM": "Morning", "PM": "Afternoon"}

SessionRef = tuple[dt.date, str, str]


def long_date(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def short_date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def extra_check(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Extra merge data from the caller, limited to the known fields; ValueError names the unknown ones."""
    clean: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if key not in EXTRA_FIELDS:
            raise ValueError(f"'{key}' is not extra merge data a letter can carry (use {', '.join(EXTRA_FIELDS)}).")
        parts = EXTRA_FIELDS[key]
        if not parts:
            clean[key] = long_date(value) if isinstance(value, dt.date) else str(value)
            continue
        if not isinstance(value, Mapping) or set(value) - parts:
            raise ValueError(f"'{key}' takes only {', '.join(sorted(parts))}.")
        clean[key] = {p: long_date(v) if isinstance(v, dt.date) else str(v) for p, v in value.items()}
    return clean


def sessions_check(sessions: Iterable[Sequence[Any]] | None) -> list[SessionRef]:
    found: list[SessionRef] = []
    for item in sessions or []:
        if len(item) != 3:
            raise ValueError("Each session is (date, 'AM' or 'PM', code).")
        day, session, code = item
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        if not isinstance(day, dt.date) or session not in SESSION_NAMES or code not in codes.CODES:
            raise ValueError(f"Not a session: {item!r}.")
        found.append((day, session, code))
    return sorted(set(found))


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    school_days: int


def period_for(calendar: SchoolCalendar, on: dt.date) -> Period | None:
    year = calendar.year_for(on)
    if year is None:
        return None
    school_days = sum(1 for day in calendar.days if year.start <= day <= year.end)
    return Period(year.start, min(on, year.end), school_days)


def pupil_figures(*, school: School, pupil_ids: Iterable[int], period: Period | None,
                  calendar: SchoolCalendar) -> dict[int, Figures]:
    """Year-to-date figures for these pupils, in one statement over the summaries."""
    wanted = set(pupil_ids)
    if period is None or not wanted:
        return {}
    pupil_of = dict(Enrolment.objects.filter(school=school, pupil_id__in=wanted).values_list("pk", "pupil_id"))
    found: dict[int, Figures] = {}
    for row in enrolment_figures(school=school, start=period.start, end=period.end, calendar=calendar):
        pupil_id = pupil_of.get(row.enrolment_id)
        if pupil_id is not None:
            found[pupil_id] = found.get(pupil_id, Figures()) + row.figures
    return found


def bands(school_days: int) -> list[dict[str, int]]:
    days = school_days or 190
    return [{"percent": p, "days": round(days * (100 - p) / 100), "sessions": round(days * (100 - p) / 50)}
            for p in ATTENDANCE_BANDS]


FIGURE_KEYS = ("attendance_percent", "absence_percent", "possible_sessions", "sessions_attended", "sessions_missed",
               "days_missed", "authorised_sessions", "unauthorised_sessions", "illness_sessions", "late_sessions",
               "minutes_late")


def _figures(found: Figures | None) -> dict[str, Any]:
    if found is None or not found.possible:
        return dict.fromkeys(FIGURE_KEYS, "")
    days = found.days_missed
    return {
        "attendance_percent": f"{found.attendance_rate:.1f}",
        "absence_percent": f"{found.absence_rate:.1f}",
        "possible_sessions": found.possible,
        "sessions_attended": found.attendance,
        "sessions_missed": found.absence,
        "days_missed": f"{days:g}",
        "authorised_sessions": found.authorised,
        "unauthorised_sessions": found.unauthorised,
        "illness_sessions": found.illness,
        "late_sessions": found.late_sessions,
        "minutes_late": found.minutes_late,
    }


def address_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Shared:
    """What every letter of one request shares: read once."""

    school: dict[str, Any]
    letter_date: dt.date
    period: Period | None
    calendar: SchoolCalendar


def shared_for(*, school: School, on: dt.date) -> Shared:
    head = Letterhead.objects.filter(school=school).first() or Letterhead(school=school)
    calendar = calendar_for(school=school)
    return Shared(
        school={"name": school.name, "address": ", ".join(address_lines(head.address)), "phone": head.phone,
                "email": head.email, "headteacher": head.headteacher, "attendance_lead": head.attendance_lead,
                "attendance_lead_role": head.attendance_lead_role,
                "address_lines": address_lines(head.address), "logo": head.logo.name if head.logo else ""},
        letter_date=on, period=period_for(calendar, on), calendar=calendar)


def recipient_details(*, school: School, guardian_ids: Iterable[int]) -> dict[int, RecipientDetails]:
    found = RecipientDetails.objects.filter(school=school, guardian_id__in=list(guardian_ids))
    return {d.guardian_id: d for d in found}


def merge_data_build(*, shared: Shared, pupil: Pupil, guardian: Guardian | None,
                     figures: Figures | None, sessions: list[SessionRef], extra: Mapping[str, Any],
                     officer: User) -> dict[str, Any]:
    """One recipient's frozen merge data (JSON)."""
    name = f"{guardian.forename} {guardian.surname}".strip() if guardian else ""
    address = guardian.address_lines if guardian else []
    period = shared.period
    data: dict[str, Any] = {
        "school": shared.school,
        "pupil": {"name": pupil.full_name, "forename": pupil.forename, "surname": pupil.surname,
                  "year_group": pupil.get_year_group_display(),
                  "registration_group": pupil.registration_group.name if pupil.registration_group else "",
                  "date_of_birth": long_date(pupil.date_of_birth)},
        "parent": {"name": name, "address": ", ".join(address), "address_lines": address,
                   "salutation": f"Dear {name}" if name else "Dear Parent or Carer"},
        "letter_date": long_date(shared.letter_date),
        "period": {"start": long_date(period.start) if period else "", "end": long_date(period.end) if period else ""},
        "figures": _figures(figures),
        "sessions": [{"date": short_date(d), "iso": d.isoformat(), "session": SESSION_NAMES[s], "code": c,
                      "meaning": codes.CODES[c].meaning} for d, s, c in sessions],
        "sessions_count": len(sessions),
        "attendance_bands": bands(period.school_days if period else 0),
        "meeting": {"date": "", "time": "", "place": "", "with": ""},
        "leave": {"first_date": "", "last_date": "", "reason": ""},
        "deadline": "",
        "officer": {"name": officer.display_name(), "role": officer.position},
    }
    for key, value in extra.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return data
