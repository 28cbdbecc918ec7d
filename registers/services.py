"""Writes to the attendance register. Every change to a mark goes through `marks_save`.

The register is a legal record, so:
* a whole register (or an import batch) is validated first and, if any entry is invalid, nothing
  is written;
* each mark carries a version; a write names the version it was based on, and a write based on a
  stale version is returned as a conflict with the current value, never applied over it;
* changing a saved mark needs a reason; the database copies every insert and update into the
  append-only `MarkEvent` table together with the person's name, position and the reason;
* the work is a fixed number of SQL statements however many pupils are in the batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.db import connection, transaction
from django.utils import timezone

from attendance_portal.models import School, User

from . import codes
from .calendar import session_closures
from .models import Enrolment, Mark, Session

MAX_MINUTES_LATE = 300
MAX_NOTE = 300


@dataclass(frozen=True)
class MarkEntry:
    pupil_id: int
    date: dt.date
    session: str
    code: str
    minutes_late: int | None = None
    note: str = ""
    # The version the writer saw; None means "I saw no mark for this session".
    expected_version: int | None = None

    @property
    def key(self) -> tuple[int, dt.date, str]:
        return (self.pupil_id, self.date, self.session)


@dataclass(frozen=True)
class MarkConflict:
    entry: MarkEntry
    current_code: str | None
    current_minutes_late: int | None
    current_version: int | None


@dataclass(frozen=True)
class ReadAlready:
    """What a caller read moments ago in the same request about the marks it is saving (a register page
    it has just built), so `marks_save` does not read it again: the enrolment each pupil is on that day,
    the day's closed sessions, and the marks stored for those pupils' sessions. One date only. A value
    changed since is still never written over: the insert skips a row someone else inserted and the update
    names the version it read, so such a row comes back as a conflict."""

    day: dt.date
    enrolment_of: Mapping[int, int]  # pupil -> the enrolment covering `day`
    closed: Mapping[tuple[dt.date, str], str]
    marks: Mapping[tuple[int, dt.date, str], Mark]

    def covers(self, entries: Sequence[MarkEntry]) -> bool:
        """Whether every entry falls on the day that was read (otherwise it is all read again)."""
        return all(e.date == self.day for e in entries)


@dataclass
class SaveResult:
    created: int = 0
    amended: int = 0
    unchanged: int = 0
    conflicts: list[MarkConflict] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.amended


@dataclass(frozen=True)
class EntryError:
    index: int
    entry: MarkEntry
    message: str


class MarkValidationError(Exception):
    """The batch was refused; nothing was written."""

    def __init__(self, errors: list[EntryError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors[:5]))


def _entry_problem(entry: MarkEntry, today: dt.date) -> str | None:
    code = codes.CODES.get(entry.code)
    if entry.session not in Session.values:
        return f"Session must be AM or PM, not '{entry.session}'."
    if code is None:
        return f"'{entry.code}' is not an attendance code."
    if entry.code in codes.NOT_ENTERED_BY_HAND:
        return "'#' comes from the school calendar and cannot be entered in a register."
    if not code.valid_on(entry.date):
        return f"Code '{entry.code}' is not valid on {entry.date:%d %B %Y}."
    if not codes.code_fits_session(entry.code, entry.session):
        return (f"'{entry.code}' is the {'afternoon' if entry.session == 'AM' else 'morning'} present code; "
                f"use '{codes.present_code(entry.session)}' in the {entry.session} session.")
    if entry.minutes_late is not None:
        if entry.code not in codes.LATE:
            return f"Minutes late can only be given with L or U, not '{entry.code}'."
        if not 0 <= entry.minutes_late <= MAX_MINUTES_LATE:
            return f"Minutes late must be between 0 and {MAX_MINUTES_LATE}."
    if len(entry.note) > MAX_NOTE:
        return f"Notes are limited to {MAX_NOTE} characters."
    if entry.date > today and not codes.code_may_be_entered_ahead(entry.code):
        return f"Attendance cannot be recorded for {entry.date:%d %B %Y}, which has not happened yet."
    return None


def minutes_late_problem(code: str, minutes_late: int | None) -> str | None:
    """A person entering L or U gives the minutes late; minutes go only with L or U.

    Imports and older records may carry L without minutes, so `marks_save` does not demand them; the
    pages where people enter codes (the register, an amendment) do.
    """
    if code in codes.LATE and minutes_late is None:
        return f"Give the minutes late with {code}."
    if minutes_late is not None and code not in codes.LATE:
        return "Minutes late can only be given with L or U."
    return None


def _enrolment_index(school: School, pupil_ids: Iterable[int]) -> dict[int, list[Enrolment]]:
    index: dict[int, list[Enrolment]] = {}
    for enrolment in Enrolment.objects.filter(school=school, pupil_id__in=set(pupil_ids)):
        index.setdefault(enrolment.pupil_id, []).append(enrolment)
    return index


def marks_validate(
    *, school: School, entries: Sequence[MarkEntry], read: ReadAlready | None = None
) -> tuple[list[EntryError], dict[tuple[int, dt.date, str], int]]:
    """Check every entry; return the errors and, for valid entries, the enrolment each falls in."""
    errors: list[EntryError] = []
    today = timezone.localdate()
    enrolment_for: dict[tuple[int, dt.date, str], int] = {}
    seen: set[tuple[int, dt.date, str]] = set()
    dates = {e.date for e in entries}
    known = read if read is not None and read.covers(entries) else None
    closed: Mapping[tuple[dt.date, str], str] = {}
    enrolments: dict[int, list[Enrolment]] = {}
    if known is not None:
        closed = known.closed
    elif dates:
        closed = session_closures(school=school, start=min(dates), end=max(dates))
        enrolments = _enrolment_index(school, (e.pupil_id for e in entries))
    for i, entry in enumerate(entries):
        problem = _entry_problem(entry, today)
        if problem is None and entry.key in seen:
            problem = "This pupil's session appears twice."
        if problem is None:
            reason = closed.get((entry.date, entry.session))
            if reason:
                problem = f"{entry.date:%a %d %B %Y} {entry.session} is not a school session ({reason})."
        if problem is None:
            if known is not None:
                covering_id = known.enrolment_of.get(entry.pupil_id)
            else:
                covering = [en for en in enrolments.get(entry.pupil_id, []) if en.covers(entry.date)]
                covering_id = covering[0].pk if covering else None
            if covering_id is None:
                problem = f"The pupil is not on the admission register on {entry.date:%d %B %Y}."
            else:
                enrolment_for[entry.key] = covering_id
        seen.add(entry.key)
        if problem:
            errors.append(EntryError(i, entry, problem))
    return errors, enrolment_for


def marks_save(
    *,
    school: School,
    entries: Sequence[MarkEntry],
    by: User | None,
    reason: str = "",
    source: str = "register",
    read: ReadAlready | None = None,
) -> SaveResult:
    """Record or amend marks for one school in one transaction.

    Raises MarkValidationError (nothing written) when any entry is invalid, or when a saved mark
    would change without a reason. Stale versions come back as conflicts; the rest is applied.
    `read` is what the caller has just read for these marks (see ReadAlready).
    """
    result = SaveResult()
    if not entries:
        return result
    errors, enrolment_for = marks_validate(school=school, entries=entries, read=read)
    if errors:
        raise MarkValidationError(errors)

    existing = read.marks if read is not None and read.covers(entries) else _existing_marks(school, entries)
    inserts: list[MarkEntry] = []
    updates: list[tuple[Mark, MarkEntry]] = []
    for i, entry in enumerate(entries):
        mark = existing.get(entry.key)
        if mark is None:
            if entry.expected_version is not None:
                result.conflicts.append(MarkConflict(entry, None, None, None))
            else:
                inserts.append(entry)
        elif mark_unchanged(mark, entry):
            result.unchanged += 1  # a repeated submission changes nothing
        elif entry.expected_version != mark.version:
            result.conflicts.append(MarkConflict(entry, mark.code, mark.minutes_late, mark.version))
        else:
            if not reason.strip():  # code, minutes late or note: every change to a saved mark is an amendment
                errors.append(EntryError(i, entry, "A reason is required to change a saved mark."))
            updates.append((mark, entry))
    if errors:
        raise MarkValidationError(errors)

    context = {
        "user": by.pk if by else None,
        "name": by.display_name() if by else "system",
        "position": (by.position if by else "") or "",
        "reason": reason.strip(),
        "source": source,
    }
    with transaction.atomic(), pghistory.context(**context):
        inserted = _insert(school, inserts, enrolment_for, by)
        updated = _update(school, updates, by)
        lost = [e for e in inserts if e.key not in inserted] + [e for m, e in updates if m.pk not in updated]
    result.created = len(inserted)
    result.amended = len(updated)
    if lost:
        # Someone else wrote these between our read and our write: report their value.
        now = _existing_marks(school, lost)
        for entry in lost:
            cur = now.get(entry.key)
            result.conflicts.append(
                MarkConflict(entry, cur.code if cur else None, cur.minutes_late if cur else None,
                             cur.version if cur else None)
            )
    return result


def mark_unchanged(mark: Mark, entry: MarkEntry) -> bool:
    """Whether saving `entry` would leave the saved mark as it is; anything else is an amendment."""
    return (mark.code, mark.minutes_late, mark.note) == (entry.code, entry.minutes_late, entry.note)


def _existing_marks(school: School, entries: Sequence[MarkEntry]) -> dict[tuple[int, dt.date, str], Mark]:
    keys = {e.key for e in entries}
    found = Mark.objects.filter(
        school=school, pupil_id__in={k[0] for k in keys}, date__in={k[1] for k in keys}
    ).only("id", "pupil_id", "date", "session", "code", "minutes_late", "note", "version")
    return {(m.pupil_id, m.date, m.session): m for m in found if (m.pupil_id, m.date, m.session) in keys}


_INSERT = """
INSERT INTO registers_mark
    (school_id, pupil_id, enrolment_id, date, session, code, minutes_late, note, version,
     recorded_by_id, recorded_at, updated_at)
SELECT %s, v.pupil_id, v.enrolment_id, v.date, v.session, v.code, v.minutes_late, v.note, 1, %s, now(), now()
  FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::text[], %s::text[], %s::int[], %s::text[])
       AS v(pupil_id, enrolment_id, date, session, code, minutes_late, note)
ON CONFLICT (school_id, pupil_id, date, session) DO NOTHING
RETURNING pupil_id, date, session
"""

_UPDATE = """
UPDATE registers_mark AS m
   SET code = v.code, minutes_late = v.minutes_late, note = v.note, version = m.version + 1,
       recorded_by_id = %s, updated_at = now()
  FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::int[], %s::text[])
       AS v(id, expected, code, minutes_late, note)
 WHERE m.id = v.id AND m.version = v.expected AND m.school_id = %s
RETURNING m.id
"""


def _insert(
    school: School, entries: list[MarkEntry], enrolment_for: dict[Any, int], by: User | None
) -> set[tuple[int, dt.date, str]]:
    if not entries:
        return set()
    params = [
        school.pk,
        by.pk if by else None,
        [e.pupil_id for e in entries],
        [enrolment_for[e.key] for e in entries],
        [e.date for e in entries],
        [e.session for e in entries],
        [e.code for e in entries],
        [e.minutes_late for e in entries],
        [e.note for e in entries],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        return {(row[0], row[1], row[2]) for row in cursor.fetchall()}


def _update(school: School, updates: list[tuple[Mark, MarkEntry]], by: User | None) -> set[int]:
    if not updates:
        return set()
    params = [
        by.pk if by else None,
        [m.pk for m, _ in updates],
        [m.version for m, _ in updates],
        [e.code for _, e in updates],
        [e.minutes_late for _, e in updates],
        [e.note for _, e in updates],
        school.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE, params)
        return {row[0] for row in cursor.fetchall()}
