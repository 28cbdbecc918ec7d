"""The casework rules written once: which concern starts which statutory clock and when it falls due,
how far the evidence of an action reaches back, the priority order of the queue, and how a ladder's
escalation counts school weeks."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

from registers.calendar import SchoolCalendar
from reporting.models import SignalKind

from .models import ClockKind

K = SignalKind

# A concern of this kind starts a clock due this many calendar days after the run that found it.
CLOCK_FOR_KIND: dict[str, tuple[ClockKind, int]] = {
    K.CONTINUOUS_UNAUTHORISED_10_DAYS: (ClockKind.LA_NOTIFICATION, 0),  # by the 10th day (R12; S001, S003)
    K.ILLNESS_15_DAYS: (ClockKind.SICKNESS_RETURN, 5),  # R13
    K.CONTINUOUS_ABSENCE_20_DAYS: (ClockKind.JOINT_ENQUIRIES, 5),  # R11(i): enquiries first, never deletion
}
# For pupils with a social worker these concerns mean unexplained absence to pass on (R14).
SOCIAL_WORKER_KINDS = frozenset({K.N_CODE_OVERDUE, K.CONTINUOUS_UNAUTHORISED_10_DAYS, K.CONTINUOUS_ABSENCE_20_DAYS})
CLOCK_NEAR_DAYS = 3  # a clock this close to its due day is shown as near

# Concerns that open a case at the first stage of a ladder none of whose stages names an entry condition.
DEFAULT_OPENING_KINDS = (K.PERSISTENT_ABSENCE, K.SEVERE_ABSENCE, K.BELOW_THRESHOLD)
# A case has improved when every concern of its pupil has ended, these apart (they are not casework alone).
IMPROVED_IGNORES = (K.AT_RISK,)
# How a proposal to move a case on to a later stage begins (its next action, until a person moves it).
MOVE_PREFIX = "Move on to "

# Queue priority: severe first, statutory next, then persistent and the rest.
KIND_PRIORITY: dict[str, int] = {
    K.SEVERE_ABSENCE: 100, K.CONTINUOUS_ABSENCE_20_DAYS: 90, K.CONTINUOUS_UNAUTHORISED_10_DAYS: 85,
    K.PENALTY_THRESHOLD: 70, K.PERSISTENT_ABSENCE: 60, K.ILLNESS_15_DAYS: 50, K.N_CODE_OVERDUE: 45,
    K.BELOW_THRESHOLD: 40, K.AT_RISK: 30, K.PUNCTUALITY: 20,
}

# Absence shares that a context review reports as illness or medical.
ILLNESS_CODES = frozenset({"I", "M"})
# An action's evidence: the pupil's absence and late sessions over this many school weeks before it.
EVIDENCE_WEEKS = 10


def evidence_start(calendar: SchoolCalendar, day: dt.date) -> dt.date:
    weeks = calendar.recent_school_weeks(day, EVIDENCE_WEEKS)
    return weeks[0] if weeks else day - dt.timedelta(weeks=EVIDENCE_WEEKS)


def escalation_cutoff(calendar: SchoolCalendar, on: dt.date, weeks: int) -> dt.date | None:
    """A case at a stage since a day before this one has spent `weeks` school weeks there by `on`: the
    inverse of `SchoolCalendar.school_weeks_after` (calendar.school_weeks_after(since, weeks) <= on exactly when
    since < the day returned), within the school's calendar. None when no stage can be that old yet."""
    mondays = calendar.week_mondays
    ended = bisect_right(mondays, on - dt.timedelta(days=4))  # school weeks whose Friday is on or before `on`
    at = ended - weeks
    return mondays[at] if 0 <= at < len(mondays) else None
