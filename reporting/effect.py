# ruff: noqa: S608 - SQL is assembled only from this package's constants; values are bound parameters.
"""Does it work? Attendance before and after each kind of intervention, for governors (aggregates only).

The casework apps (interventions, letters, penalties) register *action readers* here, as they register
their counts with `reporting.casework`: a reader answers the school's actions dated in the period as
`Action`s (kind, pupil, day). For each action this module takes two windows from the school calendar:

- before: the EFFECT_WEEKS school weeks before the week of the action, and the days of that week before it;
- after: from the action's day to the end of the EFFECT_WEEKS-th school week starting with its week.

An action counts only once all of its after-window has passed (as of the page's day), and both windows are
kept inside the action's school year. Attendance in each window is summed over the kind's actions from the
statistics engine's summaries in one statement (possible and absent sessions, as every other figure), so a
kind's figure is "attendance of the pupils concerned, in the weeks before, against the weeks after". Two
letters of one kind to two parents of a pupil on one day are one action. A kind with fewer pupils than the
disclosure threshold shows no figures.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connection

from attendance_portal.models import School
from registers.calendar import SchoolCalendar, Year, calendar_for, monday
from registers.models import Enrolment

from . import disclosure as d
from .dashboard_tables import DisplayTable, Row
from .dashboards import Counts
from .forecasts import ABSENT_BITS, POSSIBLE_BITS
from .summaries import TABLE

EFFECT_WEEKS = 4


@dataclass(frozen=True)
class Action:
    """One intervention: its kind (key and label), the pupil and the day."""

    kind: str
    label: str
    pupil_id: int
    on: dt.date


ActionReader = Callable[..., Sequence[Action]]
ACTION_READERS: dict[str, ActionReader] = {}


def action_reader_register(name: str, reader: ActionReader) -> None:
    """Called by a casework app when it is loaded. `reader(school=School, start=date, end=date)`."""
    ACTION_READERS[name] = reader


NOTE = (f"For each kind of action dated in the period: the attendance of the pupils concerned in the "
        f"{EFFECT_WEEKS} school weeks before the week of the action (and the days of that week before it), "
        f"against the {EFFECT_WEEKS} school weeks from the action's day. An action is counted once those "
        f"{EFFECT_WEEKS} weeks have passed; two letters of one kind to a pupil's parents on one day are one "
        "action. Possible and absent sessions come from the same figures as the rest of this page. A kind "
        "with fewer pupils than the threshold shows no figures. A change after an action is not proof that the "
        "action caused it: attendance also changes with the season and with illness.")

EFFECT_SQL = f"""
    SELECT a.kind, count(*) AS actions, count(DISTINCT a.pupil_id) AS pupils,
           sum(bit_count({POSSIBLE_BITS} & a.before))::bigint AS poss_before,
           sum(bit_count({ABSENT_BITS} & a.before))::bigint AS absent_before,
           sum(bit_count({POSSIBLE_BITS} & a.after))::bigint AS poss_after,
           sum(bit_count({ABSENT_BITS} & a.after))::bigint AS absent_after
      FROM unnest(%(kind)s::text[], %(pupil)s::bigint[], %(day)s::date[], %(year)s::date[], %(before)s::varbit[],
                  %(after)s::varbit[]) AS a(kind, pupil_id, day, year, before, after)
      JOIN registers_enrolment e ON e.pupil_id = a.pupil_id AND e.school_id = %(school)s
           AND {Enrolment.covering_sql("e", "a.day")}
      JOIN {TABLE} s ON s.enrolment_id = e.id AND s.school_id = %(school)s AND s.start = a.year
     GROUP BY a.kind"""


@dataclass(frozen=True)
class Effect:
    kind: str
    label: str
    actions: int
    pupils: int
    poss_before: int
    absent_before: int
    poss_after: int
    absent_after: int

    @property
    def before(self) -> float | None:
        return Counts(poss=self.poss_before, absent=self.absent_before).attendance_rate

    @property
    def after(self) -> float | None:
        return Counts(poss=self.poss_after, absent=self.absent_after).attendance_rate


def action_windows(*, calendar: SchoolCalendar, on: dt.date, as_of: dt.date) -> tuple[Year, str, str] | None:
    """The action's school year and its before and after masks; None while its after-window is still running
    or when either window has no school session."""
    year = calendar.year_for(on)
    if year is None:
        return None
    mondays = calendar.week_mondays
    position = bisect_left(mondays, monday(on))
    before, after = mondays[max(0, position - EFFECT_WEEKS):position], mondays[position:position + EFFECT_WEEKS]
    if len(after) < EFFECT_WEEKS or after[-1] + dt.timedelta(days=6) > as_of:
        return None
    first = before[0] if before else monday(on)
    before_mask = year.range_mask(max(first, year.start), on - dt.timedelta(days=1)) if on > year.start else None
    after_mask = year.range_mask(on, min(after[-1] + dt.timedelta(days=6), year.end))
    if not before_mask or not after_mask:
        return None
    return year, before_mask, after_mask


def casework_effects(*, school: School, start: dt.date, end: dt.date, as_of: dt.date,
                     calendar: SchoolCalendar | None = None) -> list[Effect]:
    """Each kind's attendance before and after, for the actions in the period: one statement."""
    actions = sorted({a for name in sorted(ACTION_READERS)
                      for a in ACTION_READERS[name](school=school, start=start, end=end)},
                     key=lambda a: (a.kind, a.pupil_id, a.on))
    labels = {a.kind: a.label for a in actions}
    calendar = calendar or calendar_for(school=school)
    rows = []
    for a in actions:
        windows = action_windows(calendar=calendar, on=a.on, as_of=as_of)
        if windows is not None:
            rows.append((a, *windows))
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(EFFECT_SQL, {
            "school": school.pk, "kind": [a.kind for a, *_ in rows], "pupil": [a.pupil_id for a, *_ in rows],
            "day": [a.on for a, *_ in rows], "year": [y.start for _, y, _, _ in rows],
            "before": [b for *_, b, _ in rows], "after": [x for *_, x in rows]})
        found = {kind: Effect(kind, labels[kind], *map(int, values)) for kind, *values in cursor.fetchall()}
    order = list(dict.fromkeys(a.kind for a in actions))
    return [found[k] for k in order if k in found]


HEADERS = ["Actions", "Pupils", f"Attendance, {EFFECT_WEEKS} school weeks before",
           f"Attendance, {EFFECT_WEEKS} school weeks after", "Change (points)"]


def effect_table(effects: Sequence[Effect], *, threshold: int) -> DisplayTable:
    """The effects as a governors' table: a kind's figures only from at least `threshold` pupils. There is
    no total row (the kinds overlap: one pupil can have a letter and a meeting)."""
    rows = []
    for e in effects:
        small = e.pupils < threshold
        if small:
            cells = [d.Cell(None, True, threshold) for _ in range(2)] + \
                    [d.Cell(None, True, threshold, percent=True) for _ in range(3)]
        else:
            change = round(e.after - e.before, 2) if e.after is not None and e.before is not None else None
            cells = [d.Cell(e.actions, threshold=threshold), d.Cell(e.pupils, threshold=threshold),
                     d.Cell(e.before, threshold=threshold, percent=True),
                     d.Cell(e.after, threshold=threshold, percent=True),
                     d.Cell(change, threshold=threshold, percent=True)]
        rows.append(Row(e.label, cells))
    return DisplayTable("casework_effect", "Attendance before and after each kind of action", HEADERS, rows,
                        NOTE, has_total=False)
