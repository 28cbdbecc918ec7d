"""The national attendance codes: one table, checked against spec/attendance-codes.csv by a test.

Semantics follow the 2024 regulations and DfE's statistical model: possible sessions are every
code except D, X, Q, Y1–Y7, Z, # (and legacy Y); attendance is present + approved educational
activity; G, N, O and U count toward the penalty-notice threshold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    PRESENT = "present"
    APPROVED_EDUCATIONAL_ACTIVITY = "approved_educational_activity"
    NOT_COUNTED = "not_counted"
    AUTHORISED_LEAVE_OF_ABSENCE = "authorised_leave_of_absence"
    AUTHORISED_OTHER = "authorised_other"
    UNABLE_TO_ATTEND = "unable_to_attend"
    UNAUTHORISED = "unauthorised"
    ADMINISTRATIVE = "administrative"


class AbsenceType(StrEnum):
    NONE = ""
    AUTHORISED = "authorised"
    UNAUTHORISED = "unauthorised"


@dataclass(frozen=True)
class Code:
    code: str
    meaning: str
    category: Category
    possible_session: bool
    counts_as_attendance: bool
    absence_type: AbsenceType
    penalty_threshold: bool
    late: bool
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)

    @property
    def is_absence(self) -> bool:
        return self.absence_type != AbsenceType.NONE

    @property
    def how_counted(self) -> str:
        """How the code counts in attendance figures, in plain words (printed beside a register for readers
        outside the school, such as a local authority or a court)."""
        if not self.possible_session:
            counted = "Not a possible session: counted neither as attendance nor as absence"
        elif self.counts_as_attendance:
            counted = ("Counts as attendance" if self.category == Category.PRESENT
                       else "Counts as attendance at an approved educational activity away from the school")
        elif self.absence_type == AbsenceType.AUTHORISED:
            counted = "Authorised absence"
        else:
            counted = "Unauthorised absence"
        if self.penalty_threshold:
            counted += "; counts toward the penalty-notice threshold"
        if self.valid_to is not None:
            counted += f"; in use until {self.valid_to:%-d %B %Y}"
        return counted


_2024 = dt.date(2024, 8, 19)
_A, _U, _0 = AbsenceType.AUTHORISED, AbsenceType.UNAUTHORISED, AbsenceType.NONE
C = Category

CODES: dict[str, Code] = {
    c.code: c
    for c in [
        Code("/", "Present at morning registration", C.PRESENT, True, True, _0, False, False),
        Code("\\", "Present at afternoon registration", C.PRESENT, True, True, _0, False, False),
        Code("L", "Arrived late before the register closed", C.PRESENT, True, True, _0, False, True),
        Code("K", "Attending education provision arranged by the local authority",
             C.APPROVED_EDUCATIONAL_ACTIVITY, True, True, _0, False, False, _2024),
        Code("V", "Attending an educational visit or trip", C.APPROVED_EDUCATIONAL_ACTIVITY,
             True, True, _0, False, False),
        Code("P", "Participating in an approved supervised sporting activity",
             C.APPROVED_EDUCATIONAL_ACTIVITY, True, True, _0, False, False),
        Code("W", "Attending approved work experience", C.APPROVED_EDUCATIONAL_ACTIVITY,
             True, True, _0, False, False),
        Code("B", "Attending any other approved educational activity", C.APPROVED_EDUCATIONAL_ACTIVITY,
             True, True, _0, False, False),
        Code("D", "Dual registered - attending a session at another setting where also registered",
             C.NOT_COUNTED, False, False, _0, False, False),
        Code("C1", "Leave of absence: regulated performance or regulated employment abroad",
             C.AUTHORISED_LEAVE_OF_ABSENCE, True, False, _A, False, False, _2024),
        Code("M", "Leave of absence: medical or dental appointment", C.AUTHORISED_LEAVE_OF_ABSENCE,
             True, False, _A, False, False),
        Code("J1", "Leave of absence: interview", C.AUTHORISED_LEAVE_OF_ABSENCE,
             True, False, _A, False, False, _2024),
        Code("S", "Leave of absence: study leave", C.AUTHORISED_LEAVE_OF_ABSENCE, True, False, _A, False, False),
        Code("X", "Non-compulsory school age pupil not required to be in school", C.NOT_COUNTED,
             False, False, _0, False, False),
        Code("C2", "Leave of absence: temporary part-time timetable", C.AUTHORISED_LEAVE_OF_ABSENCE,
             True, False, _A, False, False, _2024),
        Code("C", "Leave of absence: exceptional circumstances", C.AUTHORISED_LEAVE_OF_ABSENCE,
             True, False, _A, False, False),
        Code("T", "Parent travelling for occupational purposes", C.AUTHORISED_OTHER, True, False, _A, False, False),
        Code("R", "Religious observance", C.AUTHORISED_OTHER, True, False, _A, False, False),
        Code("I", "Illness (not medical or dental appointment)", C.AUTHORISED_OTHER, True, False, _A, False, False),
        Code("E", "Suspended or excluded and no alternative provision made", C.AUTHORISED_OTHER,
             True, False, _A, False, False),
        Code("Q", "Unable to attend: lack of access arrangements", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y1", "Unable to attend: transport not available", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y2", "Unable to attend: widespread disruption to travel", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y3", "Unable to attend: part of school premises closed", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y4", "Unable to attend: whole school site unexpectedly closed", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y5", "Unable to attend: criminal justice detention", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y6", "Unable to attend: public health guidance or law", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("Y7", "Unable to attend: any other unavoidable cause", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, _2024),
        Code("G", "Holiday not granted by the school", C.UNAUTHORISED, True, False, _U, True, False),
        Code("N", "Reason for absence not yet established", C.UNAUTHORISED, True, False, _U, True, False),
        Code("O", "Absent in other or unknown circumstances", C.UNAUTHORISED, True, False, _U, True, False),
        Code("U", "Arrived after the register closed", C.UNAUTHORISED, True, False, _U, True, True),
        Code("Z", "Prospective pupil not on admission register", C.ADMINISTRATIVE, False, False, _0, False, False),
        Code("#", "Planned whole-school closure", C.ADMINISTRATIVE, False, False, _0, False, False),
        Code("H", "Legacy: agreed family holiday (authorised)", C.AUTHORISED_OTHER, True, False, _A, False, False,
             None, dt.date(2024, 8, 18)),
        Code("F", "Legacy: agreed extended family holiday (authorised)", C.AUTHORISED_OTHER,
             True, False, _A, False, False, None, dt.date(2013, 8, 31)),
        Code("J", "Legacy: interview (approved educational activity)", C.APPROVED_EDUCATIONAL_ACTIVITY,
             True, True, _0, False, False, None, dt.date(2024, 8, 18)),
        Code("Y", "Legacy: unable to attend due to exceptional circumstances", C.UNABLE_TO_ATTEND,
             False, False, _0, False, False, None, dt.date(2024, 8, 18)),
    ]
}

# Single codes the product's own rules name; every module says them through these names.
ILLNESS = "I"
MEDICAL_APPOINTMENT = "M"
RELIGIOUS_OBSERVANCE = "R"
TRAVELLER = "T"
SUSPENDED = "E"
LEAVE_EXCEPTIONAL = "C"
HOLIDAY_NOT_AGREED = "G"
NOT_ESTABLISHED = "N"
OTHER_UNAUTHORISED = "O"
LATE_BEFORE_CLOSE = "L"
LATE_AFTER_CLOSE = "U"
UNEXPECTED_CLOSURE = "Y4"
assert all(code in CODES for code in (  # noqa: S101 - a typo here must stop the import
    ILLNESS, MEDICAL_APPOINTMENT, RELIGIOUS_OBSERVANCE, TRAVELLER, SUSPENDED, LEAVE_EXCEPTIONAL,
    HOLIDAY_NOT_AGREED, NOT_ESTABLISHED, OTHER_UNAUTHORISED, LATE_BEFORE_CLOSE, LATE_AFTER_CLOSE,
    UNEXPECTED_CLOSURE))

# Code sets the statistics and signals are written against (SQL uses these as IN-lists).
POSSIBLE = frozenset(c.code for c in CODES.values() if c.possible_session)
PRESENT = frozenset({"/", "\\", "L"})
# Present on time: nine marks in ten. Every other mark is kept in a partial index for the signals.
ON_TIME = frozenset({"/", "\\"})
APPROVED_EDUCATIONAL_ACTIVITY = frozenset(
    c.code for c in CODES.values() if c.category == Category.APPROVED_EDUCATIONAL_ACTIVITY
)
ATTENDANCE = frozenset(c.code for c in CODES.values() if c.counts_as_attendance)
AUTHORISED = frozenset(c.code for c in CODES.values() if c.absence_type == AbsenceType.AUTHORISED)
UNAUTHORISED = frozenset(c.code for c in CODES.values() if c.absence_type == AbsenceType.UNAUTHORISED)
PENALTY_THRESHOLD = frozenset(c.code for c in CODES.values() if c.penalty_threshold)
LATE = frozenset(c.code for c in CODES.values() if c.late)
ONLY_WITH_MINUTES_LATE = LATE
CLOSURE = "#"
# Codes a person enters by hand; "#" comes from the calendar, not from a register.
NOT_ENTERED_BY_HAND = frozenset({CLOSURE})
# What a class teacher enters unless the school configures otherwise: present, late and N ("reason not yet
# established"); the office assigns the reasons.
TEACHER_DEFAULT = PRESENT | {"N"}


def code_valid_on(code: str, day: dt.date) -> bool:
    entry = CODES.get(code)
    return entry is not None and entry.valid_on(day)


def codes_valid_on(day: dt.date) -> list[Code]:
    return [c for c in CODES.values() if c.valid_on(day) and c.code not in NOT_ENTERED_BY_HAND]


def present_code(session: str) -> str:
    return "/" if session == "AM" else "\\"


def code_fits_session(code: str, session: str) -> bool:
    """'/' is the morning's present code and '\\' the afternoon's; every other code fits either session."""
    return code not in ON_TIME or code == present_code(session)


def code_may_be_entered_ahead(code: str) -> bool:
    """Known absences (reported illness, granted leave, a closure) may be pre-filled in a future register;
    attendance and lateness are recorded on the day."""
    entry = CODES.get(code)
    return entry is not None and not (entry.counts_as_attendance or entry.late)


# R7: an N must be replaced within the policy's number of school days (5 nationally). The mark's own day
# does not count; the last day to replace it is the limit-th school day after it, and it is overdue from
# the next school day on. An N recorded on Friday 5 September with a limit of 5 may be replaced up to
# Friday 12 September and is overdue on Monday 15 September (later when an INSET day is in the way).
# Every reader (the office's aged-N list, the nightly signals, casework) asks these two functions.
def n_overdue_before(school_days: Sequence[dt.date], limit: int) -> dt.date | None:
    """Given the school days up to and including the day in question (sorted), N marks dated before the
    returned day are overdue on it; None when none can be."""
    if limit < 1 or len(school_days) <= limit:
        return None
    return school_days[-(limit + 1)]


def n_overdue_from(school_days: Sequence[dt.date], marked: dt.date, limit: int) -> dt.date | None:
    """The first school day on which an N recorded on `marked` is overdue (None if the calendar ends first)."""
    later = [day for day in school_days if day > marked]
    return later[limit] if limit >= 0 and len(later) > limit else None
