"""Marking registers: building a register, saving it, late arrivals, unexpected closures, the board.

Everything here reads with a fixed number of queries however many pupils a group has, and every
write goes through `registers.services.marks_save`, which keeps versions, reasons and the audit trail.
Times are decided in Europe/London: a register opens at a wall-clock time in the school, whatever
the UTC offset is that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from attendance_portal.models import School, User
from attendance_portal.tenancy import Prepared, model_columns, school_objects, school_rows

from . import codes
from .calendar import NO_YEAR, academic_year_for, session_closures
from .models import Enrolment, Mark, MarkEvent, Pupil, RegistrationGroup, Session, SessionTimes
from .selectors import registration_groups
from .services import (
    MarkConflict,
    MarkEntry,
    MarkValidationError,
    ReadAlready,
    SaveResult,
    mark_unchanged,
    marks_save,
    minutes_late_problem,
)

LONDON = ZoneInfo("Europe/London")
# Recorded as the reason when the person who took a register corrects it before it closes.
CORRECTED_BEFORE_CLOSE = "Corrected by the person who took the register, before it closed"
# The office board flags a register still incomplete this long after it opened.
OVERDUE_AFTER = dt.timedelta(minutes=5)


def local_now() -> dt.datetime:
    return timezone.now().astimezone(LONDON)


def local_today() -> dt.date:
    return local_now().date()


def at_london(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=LONDON)


def _enrolments_on(day: dt.date) -> QuerySet[Enrolment]:
    """The enrolments of the outer query's pupil that cover `day`, earliest admission first."""
    return Enrolment.objects.filter(Enrolment.covering(day), pupil=OuterRef("pk")).order_by("admission_date", "pk")


def _enrolled_on(day: dt.date) -> Exists:
    return Exists(_enrolments_on(day))


def pupils_enrolled(*, school: School, day: dt.date) -> QuerySet[Pupil]:
    """Pupils on the admission register on `day` (one query when evaluated)."""
    return Pupil.objects.filter(school=school).filter(_enrolled_on(day))


# --- one register -----------------------------------------------------------------------------


@dataclass
class RegisterRow:
    pupil: Pupil
    mark: Mark | None
    # What the form shows: the saved value, or what was typed when a save was refused.
    code: str = ""
    minutes: str = ""
    note: str = ""
    error: str = ""
    conflict: MarkConflict | None = None
    # This person may not change the saved mark here (it stays shown, and the page says why).
    locked: bool = False
    # The stage of the pupil's open attendance case ("" for none): the flag teachers and office staff see.
    case_stage: str = ""

    @property
    def prefilled(self) -> bool:
        """A known absence entered before the day (a parent's report, granted leave), waiting for the register."""
        return self.mark is not None and timezone.localtime(self.mark.recorded_at).date() < self.mark.date

    @property
    def initials(self) -> str:
        return (self.pupil.forename[:1] + self.pupil.surname[:1]).upper()

    @property
    def version(self) -> str:
        return str(self.mark.version) if self.mark else ""


@dataclass
class Register:
    group: RegistrationGroup
    day: dt.date
    session: str
    rows: list[RegisterRow]
    times: SessionTimes | None
    closed_reason: str = ""
    valid_codes: list[codes.Code] = field(default_factory=list)
    # When the register closes (Europe/London); until then whoever took a mark may correct it.
    closes_at: dt.datetime | None = None
    # Before the day only known absences may be entered (codes.code_may_be_entered_ahead).
    ahead: bool = False
    # The codes this person may enter at this school; None means every code.
    allowed: frozenset[str] | None = None
    # Each pupil's enrolment covering the day, read with the pupils (the save reads it from here).
    enrolment_of: dict[int, int] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.closes_at is None or local_now() <= self.closes_at

    @property
    def editable_rows(self) -> int:
        return sum(1 for r in self.rows if not r.locked)

    @property
    def marked(self) -> int:
        return sum(1 for r in self.rows if r.mark is not None)

    @property
    def complete(self) -> bool:
        return bool(self.rows) and self.marked == len(self.rows)

    @property
    def present_code(self) -> str:
        return codes.present_code(self.session)

    @property
    def window(self) -> tuple[dt.time, dt.time] | None:
        return self.times.window(self.session) if self.times else None

    def row_for(self, pupil_id: int) -> RegisterRow | None:
        """The pupil's row: a save looks up every row it is sent, so the rows are indexed once by pupil (and
        again should the list of rows be replaced or change length)."""
        index = self.__dict__.get("_rows_by_pupil")
        if index is None or index[0] is not self.rows or index[1] != len(self.rows):
            index = self.__dict__["_rows_by_pupil"] = (self.rows, len(self.rows),
                                                      {row.pupil.pk: row for row in self.rows})
        return index[2].get(pupil_id)


def register_page_state(register: Register) -> dict[int, tuple[bool, bool]]:
    """What a save can change about a row beyond its mark: whether it is locked, whether it is pre-filled."""
    return {row.pupil.pk: (row.locked, row.prefilled) for row in register.rows}


def register_shows_stored(*, register: Register, before: dict[int, tuple[bool, bool]],
                          submitted: RegisterInput, data: dict[str, str]) -> bool:
    """After a save and `register_marks_refresh`: does the page that sent `data` already show every mark as
    stored? Then only versions, counts and links need updating; otherwise the register must be drawn again
    (someone else marked a row meanwhile, a row locked or stopped being pre-filled, a value was tidied)."""
    for row in register.rows:
        pid = row.pupil.pk
        if before.get(pid) != (row.locked, row.prefilled):
            return False
        if row.locked:
            # A locked row sends no fields, only the version it showed.
            if (data.get(f"version_{pid}") or "") != row.version:
                return False
        elif submitted.typed.get(pid, ("", "", "")) != (row.code, row.minutes, row.note):
            return False
    return True


def register_codes(*, day: dt.date, session: str, allowed: frozenset[str] | None, ahead: bool) -> list[codes.Code]:
    """The codes offered in a register: valid that day, fitting the session, allowed for the person, and
    (before the day) only those that may be entered ahead."""
    return [c for c in codes.codes_valid_on(day)
            if codes.code_fits_session(c.code, session) and (allowed is None or c.code in allowed)
            and (not ahead or codes.code_may_be_entered_ahead(c.code))]


_PUPIL_FIELDS, _PUPIL_COLUMNS = model_columns(Pupil, "p")
_MARK_FIELDS, _MARK_COLUMNS = model_columns(Mark, "m")
# The register's pupils, each with the enrolment covering the day (as `pupils_enrolled` and `_enrolments_on`
# say: admitted by the day and not left before it, the earliest such) and the session's mark, in one
# statement written out: on the morning's hottest page, building and compiling it through the ORM took
# longer than running it. tests/registers/test_register_read.py holds it to the ORM's definition. Each
# lateral read ends in LIMIT 1 (at most one row matches) so the planner keeps it a lookup per pupil on the
# unique (school, pupil, date, session) index, rather than rescanning the school's marks for every pupil
# when its statistics are stale (a register's marks are all written in the minutes before it is read).
# Both reads are prepared once per database session (planning this one took longer than running it).
REGISTER_SQL = Prepared("register_pupils", f"""
SELECT {_PUPIL_COLUMNS}, en.id, {_MARK_COLUMNS}
  FROM {Pupil._meta.db_table} p
  JOIN LATERAL (SELECT e.id FROM {Enrolment._meta.db_table} e
                 WHERE e.school_id = p.school_id AND e.pupil_id = p.id AND {Enrolment.covering_sql("e", "%(day)s")}
                 ORDER BY e.admission_date, e.id LIMIT 1) en ON true
  LEFT JOIN LATERAL (SELECT * FROM {Mark._meta.db_table} m
                      WHERE m.school_id = p.school_id AND m.pupil_id = p.id AND m.date = %(day)s
                        AND m.session = %(session)s LIMIT 1) m ON true
 WHERE p.school_id = %(school)s AND p.registration_group_id = %(group)s
 ORDER BY p.surname, p.forename, p.id""")  # noqa: S608 - table and column names only
MARKS_SQL = Prepared("register_marks", f"""
SELECT {_MARK_COLUMNS} FROM {Mark._meta.db_table} m
 WHERE m.school_id = %(school)s AND m.date = %(day)s AND m.session = %(session)s AND m.pupil_id = ANY(%(pupils)s)""")  # noqa: S608 - names only


def _mark_from(values: Sequence[object]) -> Mark | None:
    return None if values[0] is None else Mark.from_db(connection.alias, _MARK_FIELDS, values)


def register_build(*, school: School, group: RegistrationGroup, day: dt.date, session: str,
                   allowed: frozenset[str] | None = None) -> Register:
    """Every pupil of the group on the admission register that day, with their enrolment and mark. Three
    queries, each written in SQL: the pupils with their enrolments and marks, the register times, the day's
    closures."""
    read = school_rows(school_id=school.pk, sql=REGISTER_SQL,
                       params={"school": school.pk, "group": group.pk, "day": day, "session": session})
    size = len(_PUPIL_FIELDS)
    rows, enrolment_of = [], {}
    for values in read:
        pupil = Pupil.from_db(connection.alias, _PUPIL_FIELDS, values[:size])
        enrolment_of[pupil.pk] = values[size]
        rows.append(_row_with(RegisterRow(pupil=pupil, mark=None), _mark_from(values[size + 1:])))
    times = next(iter(school_objects(SessionTimes, school_id=school.pk, where="t.year_group = %(year)s",
                                     params={"year": group.year_group}, prepared="register_times")), None)
    closed = session_closures(school=school, start=day, end=day).get((day, session), "")
    close = times.window(session)[1] if times else dt.time(23, 59)
    ahead = day > local_today()
    return Register(group=group, day=day, session=session, rows=rows, times=times, closed_reason=closed,
                    valid_codes=register_codes(day=day, session=session, allowed=allowed, ahead=ahead),
                    closes_at=at_london(day, close), ahead=ahead, allowed=allowed, enrolment_of=enrolment_of)


def _row_with(row: RegisterRow, mark: Mark | None) -> RegisterRow:
    """The row showing its saved mark as stored now (the form's values, no message, unlocked)."""
    row.mark = mark
    row.code = mark.code if mark else ""
    row.minutes = "" if mark is None or mark.minutes_late is None else str(mark.minutes_late)
    row.note = mark.note if mark else ""
    row.error, row.conflict, row.locked = "", None, False
    return row


def _rows_marks_set(*, school: School, day: dt.date, session: str, rows: list[RegisterRow]) -> None:
    """Each row's saved mark as stored now, and the form showing it. One query."""
    read = school_rows(school_id=school.pk, sql=MARKS_SQL, params={
        "school": school.pk, "day": day, "session": session, "pupils": [r.pupil.pk for r in rows]})
    marks = {mark.pupil_id: mark for mark in map(_mark_from, read) if mark is not None}
    for row in rows:
        _row_with(row, marks.get(row.pupil.pk))


def register_marks_refresh(*, school: School, register: Register) -> None:
    """After a save: the register's marks as stored now, in one query. The pupils, times and codes of a
    register do not change in the time it takes to save it, so they are not read again."""
    _rows_marks_set(school=school, day=register.day, session=register.session, rows=register.rows)


def _may_correct(mark: Mark | None, user: User, *, is_open: bool) -> bool:
    """Until the register closes (`Register.is_open`), the person who saved a mark may correct it (audited
    like any change)."""
    return mark is not None and is_open and mark.recorded_by_id == user.pk


def register_lock_rows(*, register: Register, user: User, may_amend: bool) -> None:
    """Mark the rows this person cannot change: a saved mark they may neither amend nor still correct, or a
    code their role does not enter (a pre-filled leave code stays as the office recorded it)."""
    is_open = register.is_open  # the clock, read once for the register rather than once a row
    for row in register.rows:
        if row.mark is None or may_amend:
            continue
        outside = register.allowed is not None and row.mark.code not in register.allowed
        row.locked = outside or not _may_correct(row.mark, user, is_open=is_open)


@dataclass
class RegisterInput:
    """A register as submitted: the entries to save, and problems found before saving."""

    entries: list[MarkEntry] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    typed: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # pupil -> (code, minutes, note)


def _parse_int(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


def register_parse_form(*, register: Register, data: dict[str, str], fill_present: bool = False) -> RegisterInput:
    """Read the POST field contract: code_/minutes_/note_/version_<pupil_id> for each pupil shown.

    A blank code leaves the pupil as they are (a saved mark is never removed from a register).
    `fill_present` is the no-JavaScript "mark all unmarked present" button.
    """
    out = RegisterInput()
    valid = {c.code for c in register.valid_codes}
    for row in register.rows:
        pid = row.pupil.pk
        code = (data.get(f"code_{pid}") or "").strip()
        code = code if code in ("/", "\\") else code.upper()
        minutes_text = (data.get(f"minutes_{pid}") or "").strip()
        note = (data.get(f"note_{pid}") or "").strip()
        if not code and fill_present and row.mark is None:
            code = register.present_code
        out.typed[pid] = (code, minutes_text, note)
        if not code:
            if minutes_text or (note and row.mark is None):
                out.errors[pid] = "Choose a code before giving minutes late or a note."
            continue
        try:
            minutes = _parse_int(minutes_text)
        except ValueError:
            out.errors[pid] = "Minutes late must be a whole number, such as 7."
            continue
        try:
            version = _parse_int(data.get(f"version_{pid}") or "")
        except ValueError:
            out.errors[pid] = "This row was not sent correctly. Reload the register and try again."
            continue
        if row.locked:
            if row.mark is not None and (code, minutes) != (row.mark.code, row.mark.minutes_late):
                out.errors[pid] = ("You cannot change a saved mark here once the register has closed. "
                                   "Ask the office to amend it.")
            continue
        if code not in valid:
            out.errors[pid] = _code_refusal(register, code)
            continue
        out.entries.append(MarkEntry(pupil_id=pid, date=register.day, session=register.session, code=code,
                                     minutes_late=minutes, note=note, expected_version=version))
    return out


def _code_refusal(register: Register, code: str) -> str:
    """Why a code typed into this register cannot be used, in the page's words."""
    if not codes.code_valid_on(code, register.day) or code in codes.NOT_ENTERED_BY_HAND:
        return f"'{code}' is not a code that can be used on {register.day:%d %B %Y}."
    if not codes.code_fits_session(code, register.session):
        return f"'{code}' is not the present code for the {register.session} session; use '{register.present_code}'."
    if register.ahead and not codes.code_may_be_entered_ahead(code):
        return f"Attendance is taken on the day: '{code}' cannot be entered before {register.day:%d %B %Y}."
    return f"Your role does not enter '{code}'. Record N and the office will give the reason."


@dataclass
class RegisterOutcome:
    result: SaveResult | None = None
    errors: dict[int, str] = field(default_factory=dict)
    message: str = ""  # a problem with the register as a whole
    skipped: int = 0  # rows someone else changed that this person did not touch

    @property
    def ok(self) -> bool:
        return not self.errors and not self.message


def _untouched_stale(register: Register, entries: list[MarkEntry]) -> set[int]:
    """Pupils whose row is out of date but was sent back exactly as it was shown.

    Saving a register sends every row, so a row changed by someone else since the page was drawn
    would otherwise be a conflict for a person who never touched it. One query, only when needed.
    """
    stale = {}
    for e in entries:
        row = register.row_for(e.pupil_id)
        mark = row.mark if row else None
        if mark is not None and e.expected_version is not None and e.expected_version != mark.version:
            stale[(mark.pk, e.expected_version)] = e
    if not stale:
        return set()
    shown = MarkEvent.objects.filter(
        school_id=register.group.school_id, pgh_obj_id__in={k[0] for k in stale},
        version__in={k[1] for k in stale},
    ).values_list("pgh_obj_id", "version", "code", "minutes_late", "note")
    out = set()
    for obj_id, version, code, minutes, note in shown:
        entry = stale.get((obj_id, version))
        if entry is not None and (entry.code, entry.minutes_late, entry.note) == (code, minutes, note):
            out.add(entry.pupil_id)
    return out


def register_read(register: Register) -> ReadAlready:
    """What building the register read, for `marks_save` not to read it again in the same request."""
    day, session = register.day, register.session
    return ReadAlready(
        day=day, enrolment_of=register.enrolment_of,
        closed={(day, session): register.closed_reason} if register.closed_reason else {},
        marks={(row.pupil.pk, day, session): row.mark for row in register.rows if row.mark is not None})


def register_save(
    *, school: School, register: Register, entries: list[MarkEntry], by: User, reason: str, may_amend: bool,
    source: str = "register",
) -> RegisterOutcome:
    """Save one register in one transaction with the page's rules.

    Pupils must belong to this register; changing a saved code needs `may_amend` and a reason;
    a validation problem anywhere means nothing is written; stale rows come back as conflicts.
    """
    out = RegisterOutcome()
    if register.closed_reason:
        out.message = (f"There is no {register.session} session on {register.day:%A %d %B %Y} "
                       f"({register.closed_reason}).")
        return out
    reason = reason.strip()
    skip = _untouched_stale(register, entries)
    todo = []
    needs_reason = False
    corrections = 0
    for e in entries:
        row = register.row_for(e.pupil_id)
        if row is None:
            out.errors[e.pupil_id] = "This pupil is not on this register on this date."
            continue
        if e.pupil_id in skip:
            out.skipped += 1
            continue
        mark = row.mark
        changes_code = mark is not None and (mark.code, mark.minutes_late) != (e.code, e.minutes_late)
        if mark is None or changes_code:
            # What a person enters: a code their role enters here, and minutes with L and U.
            refused = register.allowed is not None and e.code in codes.CODES and e.code not in register.allowed
            problem = _code_refusal(register, e.code) if refused else minutes_late_problem(e.code, e.minutes_late)
            if problem:
                out.errors[e.pupil_id] = problem
                continue
        # A note change on a saved mark is an amendment like any other.
        changed = mark is not None and not mark_unchanged(mark, e)
        current = changed and e.expected_version == mark.version  # type: ignore[union-attr]  # changed means a saved mark
        if current and not reason and _may_correct(mark, by, is_open=register.is_open):
            corrections += 1
        elif current:
            if not may_amend:
                out.errors[e.pupil_id] = "Your role cannot change a saved mark. Ask the office to amend it."
                continue
            if not reason:
                out.errors[e.pupil_id] = "Give a reason below to change this saved mark."
                needs_reason = True
                continue
        todo.append(e)
    if out.errors:
        if needs_reason:
            out.message = "A reason is needed to change saved marks. Nothing was saved."
        return out
    if corrections and not reason:
        reason = CORRECTED_BEFORE_CLOSE
    try:
        out.result = marks_save(school=school, entries=todo, by=by, reason=reason, source=source,
                                read=register_read(register))
    except MarkValidationError as exc:
        for err in exc.errors:
            out.errors[err.entry.pupil_id] = err.message
    return out


# --- late arrivals ----------------------------------------------------------------------------


class LateArrivalError(Exception):
    pass


@dataclass(frozen=True)
class LateArrival:
    day: dt.date
    session: str
    code: str
    minutes_late: int
    arrived: dt.datetime  # Europe/London
    result: SaveResult


def late_arrival_decide(*, times: SessionTimes, arrived: dt.datetime) -> tuple[str, str, int]:
    """(session, code, minutes late) for an arrival at a local wall-clock time.

    The session is the afternoon from the moment the afternoon register opens, otherwise the
    morning. Arriving up to and including the close time is L, after it U. Minutes late count from
    the register's OPEN time, the moment the pupil was first expected.
    """
    local = arrived.astimezone(LONDON)
    day, now = local.date(), local.time().replace(tzinfo=None)
    session = Session.PM if now >= times.pm_open else Session.AM
    opens, closes = times.window(session)
    if now < opens:
        raise LateArrivalError(
            f"Arrived at {now:%H:%M}, before the register opened at {opens:%H:%M}: not late. Mark them present."
        )
    code = "L" if now <= closes else "U"
    minutes = int((dt.datetime.combine(day, now) - dt.datetime.combine(day, opens)).total_seconds() // 60)
    return session, code, minutes


def late_arrival_record(*, school: School, pupil: Pupil, arrived: dt.datetime, by: User,
                        may_amend: bool) -> LateArrival:
    """Record L or U with minutes late for a pupil signed in at reception, amending any earlier mark."""
    local = arrived.astimezone(LONDON)
    times = SessionTimes.objects.filter(school=school, year_group=pupil.year_group).first()
    if times is None:
        raise LateArrivalError(f"No register times are set for Year {pupil.year_group}; set them up first.")
    session, code, minutes = late_arrival_decide(times=times, arrived=local)
    day = local.date()
    current = Mark.objects.filter(school=school, pupil=pupil, date=day, session=session).first()
    if current is not None and current.code in codes.PRESENT - codes.LATE:
        raise LateArrivalError(
            f"{pupil.full_name} is already marked present ({current.code}) for {session}; amend the mark instead."
        )
    if current is not None and not may_amend and (current.code, current.minutes_late) != (code, minutes):
        raise LateArrivalError("Your role cannot change a saved mark. Ask the office to sign the pupil in.")
    entry = MarkEntry(pupil_id=pupil.pk, date=day, session=session, code=code, minutes_late=minutes,
                      note=current.note if current else "",
                      expected_version=current.version if current else None)
    try:
        result = marks_save(school=school, entries=[entry], by=by, source="late_arrival",
                            reason=f"Signed in late at reception at {local:%H:%M}")
    except MarkValidationError as exc:
        raise LateArrivalError(exc.errors[0].message) from exc
    if result.conflicts:
        c = result.conflicts[0]
        raise LateArrivalError(
            f"Someone changed this mark at the same moment (now {c.current_code or 'blank'}). Check and try again."
        )
    return LateArrival(day=day, session=session, code=code, minutes_late=minutes, arrived=local, result=result)


# --- whole-school unexpected closure ----------------------------------------------------------


@dataclass(frozen=True)
class ClosurePlan:
    pupils: int
    already_marked: int
    already_closed: int


def closure_problem(*, school: School, day: dt.date, session: str, today: dt.date | None = None) -> str:
    """Why an unexpected closure (Y4) cannot be recorded for this session, or "" when it can.

    Y4 records a closure that happened: today or a past school session of the current academic year.
    """
    today = today or local_today()
    if not codes.code_valid_on(codes.UNEXPECTED_CLOSURE, day):
        return f"Y4 cannot be used before 19 August 2024 ({day:%d %B %Y})."
    if day > today:
        return (f"{day:%A %d %B %Y} has not happened yet. An unexpected closure is recorded on the day or "
                "afterwards; a planned closure is set up in the school calendar.")
    year = academic_year_for(school=school, day=today)
    if year is None:  # the September gap: last year is not carried forward as the current one
        return NO_YEAR.format(day=today)
    if not year.start <= day <= year.end:
        return "An unexpected closure can only be recorded for a day in the current academic year."
    reason = session_closures(school=school, start=day, end=day).get((day, session))
    if reason:
        return f"{day:%A %d %B %Y} {session} is not a school session ({reason}), so there is nothing to close."
    return ""


def closure_plan(*, school: School, day: dt.date, session: str) -> ClosurePlan:
    pupils = pupils_enrolled(school=school, day=day).count()
    marks = Mark.objects.filter(school=school, date=day, session=session).aggregate(
        n=Count("id"), y4=Count("id", filter=Q(code=codes.UNEXPECTED_CLOSURE)))
    return ClosurePlan(pupils=pupils, already_marked=marks["n"], already_closed=marks["y4"])


def closure_record_unexpected(*, school: School, day: dt.date, session: str, reason: str, by: User) -> SaveResult:
    """Y4 for every pupil on roll for one session, amending marks already taken, with one reason.

    Raises MarkValidationError (nothing written) if the session is not a school session.
    """
    pupils = list(pupils_enrolled(school=school, day=day).values_list("pk", flat=True))
    current = {m.pupil_id: m for m in Mark.objects.filter(school=school, date=day, session=session)}
    entries = [
        MarkEntry(pupil_id=pid, date=day, session=session, code=codes.UNEXPECTED_CLOSURE,
                  note=current[pid].note if pid in current else "",
                  expected_version=current[pid].version if pid in current else None)
        for pid in pupils
    ]
    return marks_save(school=school, entries=entries, by=by, reason=reason.strip(), source="unexpected_closure")


# --- registers of a day: the index and the office board ---------------------------------------


@dataclass
class RegisterStatus:
    group: RegistrationGroup
    session: str
    enrolled: int
    marked: int
    closed_reason: str = ""
    opens: dt.time | None = None
    last_marked_by: str = ""
    last_marked_at: dt.datetime | None = None
    overdue: bool = False

    @property
    def state(self) -> str:
        if self.closed_reason:
            return "closed"
        if self.enrolled == 0:
            return "empty"
        if self.marked == 0:
            return "not_started"
        return "complete" if self.marked >= self.enrolled else "in_progress"

    @property
    def state_label(self) -> str:
        return {"closed": "No session", "empty": "No pupils", "not_started": "Not started",
                "in_progress": "In progress", "complete": "Complete"}[self.state]


# Each group's register of a day, from its marks: how many, when last changed and by whom (the person who saved
# the latest of them; none for an import). One pass over the day's marks, prepared once per session: the office
# board is polled all morning.
DAY_PROGRESS_SQL = Prepared("day_progress", f"""
SELECT c.group_id, c.session, c.n, c.last, u.first_name, u.last_name, u.username
  FROM (SELECT p.registration_group_id AS group_id, m.session, count(*) AS n, max(m.updated_at) AS last,
               (array_agg(m.recorded_by_id ORDER BY m.updated_at DESC))[1] AS by_id
          FROM {Mark._meta.db_table} m JOIN {Pupil._meta.db_table} p ON p.id = m.pupil_id
         WHERE m.school_id = %(school)s AND m.date = %(day)s AND p.registration_group_id IS NOT NULL
         GROUP BY 1, 2) c
  LEFT JOIN {User._meta.db_table} u ON u.id = c.by_id""")  # noqa: S608 - table names only


def register_statuses(*, school: School, day: dt.date, now: dt.datetime | None = None) -> list[RegisterStatus]:
    """Every registration group × AM/PM for a day with its progress. Five queries, whatever the size."""
    now = (now or timezone.now()).astimezone(LONDON)
    groups = registration_groups(school=school)
    enrolled = dict(
        pupils_enrolled(school=school, day=day).filter(registration_group__isnull=False)
        .values_list("registration_group").annotate(n=Count("id")).values_list("registration_group", "n")
    )
    progress = {(group_id, session): (n, last, User.name_from(*person) or "import or system")
                for group_id, session, n, last, *person in school_rows(
                    school_id=school.pk, sql=DAY_PROGRESS_SQL, params={"school": school.pk, "day": day})}
    times = {t.year_group: t for t in SessionTimes.objects.filter(school=school)}
    closed = session_closures(school=school, start=day, end=day)
    out = []
    for g in groups:
        for session in Session.values:
            n, last, by = progress.get((g.pk, session), (0, None, ""))
            t = times.get(g.year_group)
            status = RegisterStatus(
                group=g, session=session, enrolled=enrolled.get(g.pk, 0), marked=n,
                closed_reason=closed.get((day, session), ""), opens=t.window(session)[0] if t else None,
                last_marked_by=by, last_marked_at=last,
            )
            if status.opens and status.state in ("not_started", "in_progress"):
                status.overdue = now >= at_london(day, status.opens) + OVERDUE_AFTER
            out.append(status)
    return out
