"""The onboarding import: a school's calendar, pupils, admission register and mark history from three files.

`school_import` is the one engine behind `manage.py load_school` and the office upload page. It runs in
three steps so that a bad file never leaves half a school behind:

1. parse every file with no database access, collecting every problem with its file and line;
2. inside one transaction (holding an advisory lock for the school), compare the files with what the
   school already has and check every mark against the calendar and the admission register that
   *will* exist after the import;
3. only if nothing was wrong, write — calendar, pupils and enrolments in bulk, then marks through
   `registers.services.marks_save` in chunks (source "import", reason "imported").

Any problem raises `ImportRejected` and the transaction rolls back, so nothing is written. Rows that
already hold the same values are left alone, which makes re-importing the same files a no-op; a later
marks file turns each changed mark into an amendment with the reason "imported".
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import json.decoder
import json.scanner
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_scopes import scope

from attendance_portal.models import School, Trust, User
from attendance_portal.permissions import can
from attendance_portal.planner import planner_statistics_refresh
from attendance_portal.queueing import task_send

from . import codes
from .calendar import closure_reasons, session_closed
from .calendar_services import closure_sessions, marked_sessions, year_overlapping
from .models import (
    YEAR_GROUPS,
    AcademicYear,
    Closure,
    Enrolment,
    ImportBatch,
    Mark,
    Pupil,
    RegistrationGroup,
    SessionTimes,
    Term,
    session_times_errors,
)
from .services import MAX_MINUTES_LATE, MarkEntry, MarkValidationError, marks_save
from .upn import upn_error

logger = logging.getLogger(__name__)

SCHOOL_JSON = "school.json"
PUPILS_CSV = "pupils.csv"
MARKS_CSV = "marks.csv"
FILE_NAMES = (SCHOOL_JSON, PUPILS_CSV, MARKS_CSV)

MAX_REPORTED_PROBLEMS = 200
MARKS_CHUNK = 10_000
BULK_LOAD_ROWS = 5_000  # marks written by one import after which the planner is told the new sizes
IMPORT_REASON = "imported"
IMPORT_SOURCE = "import"

PUPIL_COLUMNS = ("upn", "forename", "surname", "date_of_birth", "year_group", "registration_group",
                 "admission_date", "leaving_date")
PUPIL_FLAG_COLUMNS = {"fsm": "fsm", "eal": "eal", "cla": "looked_after", "cin": "child_in_need"}
PUPIL_OPTIONAL_COLUMNS = ("sen", *PUPIL_FLAG_COLUMNS)
# Every optional column is a cohort characteristic: only importers allowed to see sensitive data may write them.
SENSITIVE_PUPIL_COLUMNS = PUPIL_OPTIONAL_COLUMNS
SENSITIVE_PUPIL_FIELDS = frozenset({"sen", *PUPIL_FLAG_COLUMNS.values()})
MARK_COLUMNS = ("upn", "date", "session", "code", "minutes_late")

# A distinct advisory-lock namespace so two imports into one school queue up instead of interleaving.
_LOCK_NAMESPACE = 0x494D50  # "IMP"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")
_URN_RE = re.compile(r"^\d{6}$")


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class ImportProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


class ImportRejected(Exception):
    """The import was refused; nothing was written. `problems` holds at most 200, `total` counts all."""

    def __init__(self, problems: list[ImportProblem], total: int) -> None:
        self.problems = problems
        self.total = total
        super().__init__(f"{total} problem(s); nothing was imported")

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        if self.total > len(self.problems):
            out.append(f"… and {self.total - len(self.problems)} more problem(s) not listed.")
        return out


class _Problems:
    """Collects problems, keeping the first 200 but counting all of them."""

    def __init__(self) -> None:
        self.items: list[ImportProblem] = []
        self.total = 0

    def add(self, file: str, line: int | None, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED_PROBLEMS:
            self.items.append(ImportProblem(file, line, message))

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportRejected(self.items, self.total)


# --------------------------------------------------------------------------- input


@dataclass
class ImportFiles:
    """Raw bytes of the three files; `school_json` may be missing when importing into an existing school."""

    school_json: bytes | None = None
    pupils_csv: bytes | None = None
    marks_csv: bytes | None = None

    @classmethod
    def from_directory(cls, directory: Path) -> ImportFiles:
        def read(name: str) -> bytes | None:
            path = directory / name
            return path.read_bytes() if path.is_file() else None

        return cls(read(SCHOOL_JSON), read(PUPILS_CSV), read(MARKS_CSV))


@dataclass
class ImportSummary:
    school: School
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def describe(self) -> str:
        c = self.counts
        parts = [
            f"pupils {c.get('pupils_created', 0)} created, {c.get('pupils_updated', 0)} updated",
            f"characteristics of {c.get('characteristics_updated', 0)} pupil(s) updated",
            f"admissions {c.get('enrolments_created', 0)} created, {c.get('enrolments_updated', 0)} updated",
            f"marks {c.get('marks_created', 0)} created, {c.get('marks_amended', 0)} amended, "
            f"{c.get('marks_unchanged', 0)} unchanged, {c.get('closed_sessions_skipped', 0)} closure (#) skipped",
            f"calendar {c.get('calendar_created', 0)} created, {c.get('calendar_updated', 0)} updated",
        ]
        return "; ".join(parts)


Progress = Callable[[int], None]


# --------------------------------------------------------------------------- parsed records


@dataclass
class _TrustSpec:
    line: int
    name: str
    slug: str


@dataclass
class _SchoolSpec:
    line: int
    name: str
    slug: str
    urn: str
    phase: str
    local_authority: str


@dataclass
class _TimesSpec:
    line: int
    year_group: str
    am_open: dt.time
    am_close: dt.time
    pm_open: dt.time
    pm_close: dt.time


@dataclass
class _TermSpec:
    line: int
    name: str
    start: dt.date
    end: dt.date


@dataclass
class _ClosureSpec:
    line: int
    date: dt.date
    session: str
    reason: str


@dataclass
class _YearSpec:
    line: int
    start: dt.date
    end: dt.date
    terms: list[_TermSpec]
    closures: list[_ClosureSpec]

    @property
    def name(self) -> str:
        return f"{self.start.year}/{(self.start.year + 1) % 100:02d}"


@dataclass
class _SchoolFile:
    trust: _TrustSpec | None
    school: _SchoolSpec | None
    times: list[_TimesSpec]
    years: list[_YearSpec]


@dataclass(slots=True)
class _PupilRow:
    line: int
    upn: str
    forename: str
    surname: str
    date_of_birth: dt.date
    year_group: str
    group: str
    admission: dt.date
    leaving: dt.date | None
    extra: dict[str, Any]  # only the optional columns the file has


@dataclass(slots=True)
class _MarkRow:
    line: int
    upn: str
    date: dt.date
    session: str
    code: str
    minutes_late: int | None


# --------------------------------------------------------------------------- small parsers


@functools.lru_cache(maxsize=8192)
def _date(value: str) -> dt.date | None:
    if not _DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _time(value: Any) -> dt.time | None:
    if not isinstance(value, str) or not _TIME_RE.match(value.strip()):
        return None
    hours, minutes = value.strip().split(":")
    try:
        return dt.time(int(hours), int(minutes))
    except ValueError:
        return None


def _decode(name: str, data: bytes, problems: _Problems) -> str | None:
    # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8" files.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(name, line, "The file is not UTF-8 text. Save it again as UTF-8 (in Excel: 'CSV UTF-8').")
        return None


def _csv_rows(
    name: str, data: bytes, required: tuple[str, ...], optional: tuple[str, ...], problems: _Problems
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header (lower-cased) and the data rows as (line, {column: stripped value}).

    Column order is free; a missing or unknown column is a problem (an unknown one is usually a typo
    that would otherwise drop data silently).
    """
    empty: Iterator[tuple[int, dict[str, str]]] = iter(())
    text = _decode(name, data, problems)
    if text is None:
        return [], empty
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(name, 1, f"The header row could not be read ({exc}).")
        return [], empty
    if header is None or not any(h.strip() for h in header):
        problems.add(name, 1, f"The file is empty. The first line must be the header row: {','.join(required)}.")
        return [], empty
    columns = [h.strip().lower() for h in header]
    bad = False
    for column in sorted({c for c in columns if columns.count(c) > 1}):
        problems.add(name, 1, f"Column '{column}' appears more than once in the header row.")
        bad = True
    missing = [c for c in required if c not in columns]
    if missing:
        problems.add(name, 1, f"The header row is missing column(s): {', '.join(missing)}. "
                               f"Required: {', '.join(required)}.")
        bad = True
    unknown = [c for c in columns if c not in required and c not in optional]
    if unknown:
        allowed = ", ".join((*required, *optional))
        problems.add(name, 1, f"Unknown column(s) in the header row: {', '.join(repr(c) for c in unknown)}. "
                               f"Allowed: {allowed}.")
        bad = True
    if bad:
        return columns, empty

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        width = len(columns)
        try:
            for row in reader:
                line = reader.line_num
                if not row or not any(v.strip() for v in row):
                    continue  # blank lines (often a trailing one) carry nothing
                if len(row) != width:
                    problems.add(name, line, f"Expected {width} values (one per header column), found {len(row)}.")
                    continue
                yield line, dict(zip(columns, (v.strip() for v in row), strict=True))
        except csv.Error as exc:
            problems.add(name, reader.line_num, f"This line could not be read as CSV ({exc}).")

    return columns, rows()


# --------------------------------------------------------------------------- school.json


class _LineDict(dict):
    """A JSON object that remembers the line it started on, so problems can name it."""

    line = 1


def _json_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> tuple[_LineDict, int]:
        text, end = s_and_end
        obj, after = json.decoder.JSONObject(s_and_end, *args, **kwargs)  # type: ignore[attr-defined]  # the pure-Python object parser, which typeshed leaves out
        found = _LineDict(obj)
        found.line = text.count("\n", 0, end) + 1
        return found, after

    decoder.parse_object = parse_object  # type: ignore[attr-defined]  # the pure-Python decoder's hook, which typeshed leaves out
    # The C scanner ignores parse_object; the pure-Python one honours it (school.json is small).
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]  # the pure-Python scanner, which typeshed leaves out
    return decoder


class _JsonReader:
    def __init__(self, problems: _Problems) -> None:
        self.problems = problems

    def problem(self, obj: Any, message: str) -> None:
        self.problems.add(SCHOOL_JSON, getattr(obj, "line", None), message)

    def obj(self, value: Any, what: str, parent: Any, keys: set[str]) -> _LineDict | None:
        if not isinstance(value, dict):
            self.problem(parent, f"{what} must be an object {{...}}.")
            return None
        unknown = sorted(set(value) - keys)
        if unknown:
            self.problem(value, f"Unknown key(s) in {what}: {', '.join(unknown)}. Allowed: {', '.join(sorted(keys))}.")
        return value  # type: ignore[return-value]  # a _LineDict: the decoder makes every object one

    def text(self, obj: dict[str, Any], key: str, what: str, *, max_length: int, required: bool = True) -> str:
        value = obj.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.problem(obj, f'{what} "{key}" must be text.')
            return ""
        value = value.strip()
        if required and not value:
            self.problem(obj, f'{what} needs "{key}".')
        elif len(value) > max_length:
            self.problem(obj, f'{what} "{key}" is longer than {max_length} characters.')
        return value

    def slug(self, obj: dict[str, Any], what: str) -> str:
        value = self.text(obj, "slug", what, max_length=60)
        if value:
            try:
                validate_slug(value)
            except ValidationError:
                self.problem(obj, f'{what} "slug" may contain only letters, numbers, hyphens and underscores.')
        return value

    def date(self, obj: dict[str, Any], key: str, what: str) -> dt.date | None:
        value = obj.get(key)
        parsed = _date(value.strip()) if isinstance(value, str) else None
        if parsed is None:
            self.problem(obj, f'{what} "{key}" must be a date written YYYY-MM-DD, not {json.dumps(value)}.')
        return parsed

    def items(self, obj: dict[str, Any], key: str, what: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            self.problem(obj, f'"{key}" in {what} must be a list [...].')
            return []
        return value


def _parse_school_json(data: bytes, problems: _Problems) -> _SchoolFile | None:
    text = _decode(SCHOOL_JSON, data, problems)
    if text is None:
        return None
    try:
        root = _json_decoder().decode(text)
    except json.JSONDecodeError as exc:
        problems.add(SCHOOL_JSON, exc.lineno, f"This is not valid JSON ({exc.msg}, column {exc.colno}).")
        return None
    r = _JsonReader(problems)
    top = r.obj(root, "the file", None, {"trust", "school", "session_times", "academic_years"})
    if top is None:
        return None

    trust = None
    if top.get("trust") is not None:
        t = r.obj(top["trust"], '"trust"', top, {"name", "slug"})
        if t is not None:
            trust = _TrustSpec(t.line, r.text(t, "name", '"trust"', max_length=200), r.slug(t, '"trust"'))

    school = None
    s = None
    if top.get("school") is not None:
        s = r.obj(top["school"], '"school"', top, {"name", "slug", "urn", "phase", "local_authority"})
    if s is not None:
        urn = r.text(s, "urn", '"school"', max_length=8, required=False)
        if urn and not _URN_RE.match(urn):
            r.problem(s, f'"school" "urn" must be six digits, not "{urn}".')
        phase = r.text(s, "phase", '"school"', max_length=20, required=False) or School.Phase.PRIMARY
        if phase not in School.Phase.values:
            r.problem(s, f'"school" "phase" must be one of {", ".join(School.Phase.values)}, not "{phase}".')
        school = _SchoolSpec(
            s.line, r.text(s, "name", '"school"', max_length=200), r.slug(s, '"school"'), urn, phase,
            r.text(s, "local_authority", '"school"', max_length=120, required=False),
        )

    times: list[_TimesSpec] = []
    seen_groups: dict[str, int] = {}
    for entry in r.items(top, "session_times", "the file"):
        e = r.obj(entry, "a session_times entry", top, {"year_groups", "am", "pm"})
        if e is None:
            continue
        groups = e.get("year_groups")
        if not isinstance(groups, list) or not groups:
            r.problem(e, '"year_groups" must be a list of year groups, e.g. ["7", "8"].')
            groups = []
        windows = []
        for key, label in (("am", "morning"), ("pm", "afternoon")):
            pair = e.get(key)
            parsed = [_time(v) for v in pair] if isinstance(pair, list) and len(pair) == 2 else [None]
            if None in parsed:
                r.problem(e, f'"{key}" must be the {label} register\'s open and close times, e.g. ["08:45", "09:00"].')
            windows.append(parsed)
        for group in groups:
            label = str(group).strip().upper()
            if label not in YEAR_GROUPS:
                r.problem(e, f"'{group}' is not a year group (use N1, N2, R or 1 to 14).")
                continue
            if label in seen_groups:
                r.problem(e, f"Register times for year group {label} are given twice (also line {seen_groups[label]}).")
                continue
            seen_groups[label] = e.line
            if None in windows[0] or None in windows[1]:
                continue
            (am_open, am_close), (pm_open, pm_close) = windows
            errors = session_times_errors(am_open, am_close, pm_open, pm_close)  # type: ignore[arg-type]  # no None: windows with one were skipped above
            for message in errors:
                r.problem(e, f"Year group {label}: {message}")
            if not errors:
                times.append(_TimesSpec(e.line, label, am_open, am_close, pm_open, pm_close))  # type: ignore[arg-type]  # no None: windows with one were skipped above

    years: list[_YearSpec] = []
    for entry in r.items(top, "academic_years", "the file"):
        y = r.obj(entry, "an academic_years entry", top, {"start", "end", "terms", "closures", "name"})
        if y is None:
            continue
        start, end = r.date(y, "start", "The academic year"), r.date(y, "end", "The academic year")
        if start and end and end <= start:
            r.problem(y, "The academic year must end after it starts.")
            continue
        if start and end and (end - start).days > 366:
            r.problem(y, "An academic year can be at most one year long.")
            continue
        year = _YearSpec(y.line, start or dt.date.min, end or dt.date.min, [], [])
        names: set[str] = set()
        for item in r.items(y, "terms", "an academic year"):
            t = r.obj(item, "a term", y, {"name", "start", "end"})
            if t is None:
                continue
            name = r.text(t, "name", "The term", max_length=60)
            t_start, t_end = r.date(t, "start", "The term"), r.date(t, "end", "The term")
            if not (name and t_start and t_end and start and end):
                continue
            if t_end < t_start:
                r.problem(t, f"Term '{name}' ends before it starts.")
            elif t_start < start or t_end > end:
                r.problem(t, f"Term '{name}' must lie inside its academic year ({start} to {end}).")
            elif name.lower() in names:
                r.problem(t, f"Term '{name}' is listed twice in this academic year.")
            else:
                names.add(name.lower())
                year.terms.append(_TermSpec(t.line, name, t_start, t_end))
        ordered = sorted(year.terms, key=lambda term: term.start)
        for before, after in itertools.pairwise(ordered):
            if after.start <= before.end:
                r.problem(after, f"Term '{after.name}' overlaps term '{before.name}'.")
        seen_closures: set[tuple[dt.date, str]] = set()
        for item in r.items(y, "closures", "an academic year"):
            c = r.obj(item, "a closure", y, {"date", "session", "reason"})
            if c is None:
                continue
            day = r.date(c, "date", "The closure")
            session = str(c.get("session", "BOTH")).strip().upper()
            reason = r.text(c, "reason", "The closure", max_length=200)
            if session not in Closure.Which.values:
                r.problem(c, f"Closure session must be AM, PM or BOTH, not '{c.get('session')}'.")
                continue
            if not (day and reason and start and end):
                continue
            if not start <= day <= end:
                r.problem(c, f"The closure on {day} is outside its academic year ({start} to {end}).")
            elif (day, session) in seen_closures:
                r.problem(c, f"The closure on {day} ({session}) is listed twice.")
            else:
                seen_closures.add((day, session))
                year.closures.append(_ClosureSpec(c.line, day, session, reason))
        if start and end:
            years.append(year)
    ordered_years = sorted(years, key=lambda item: item.start)
    for earlier, later in itertools.pairwise(ordered_years):
        if later.start <= earlier.end:
            problems.add(SCHOOL_JSON, later.line, f"Academic year {later.name} overlaps academic year {earlier.name}.")
    return _SchoolFile(trust, school, times, years)


# --------------------------------------------------------------------------- pupils.csv


def _parse_pupils(data: bytes, problems: _Problems, *, write_sensitive: bool) -> tuple[list[_PupilRow], set[str]]:
    """Valid rows, and the UPNs of rows that were rejected (their marks are not reported again).

    Without `write_sensitive` a file carrying any cohort-characteristic column is refused as a whole: those
    values may only be written (or probed through the summary) by people allowed to see them.
    """
    columns, rows = _csv_rows(PUPILS_CSV, data, PUPIL_COLUMNS, PUPIL_OPTIONAL_COLUMNS, problems)
    optional = [c for c in PUPIL_OPTIONAL_COLUMNS if c in columns]
    refused = [c for c in SENSITIVE_PUPIL_COLUMNS if c in optional] if not write_sensitive else []
    if refused:
        problems.add(PUPILS_CSV, 1, f"Your role cannot import pupils' sensitive characteristics "
                                    f"(column(s) {', '.join(refused)}). Remove these columns and upload again, or "
                                    "ask a colleague who may see sensitive characteristics to import the file.")
    out: list[_PupilRow] = []
    rejected: set[str] = set()
    seen: dict[str, int] = {}
    for line, row in rows:
        def bad(message: str, line: int = line) -> None:
            problems.add(PUPILS_CSV, line, message)

        ok = True
        upn = row["upn"].upper()
        error = upn_error(upn)
        if error:
            bad(error)
            ok = False
        elif upn in seen:
            bad(f"UPN {upn} appears twice (also line {seen[upn]}).")
            ok = False
        else:
            seen[upn] = line
        for column, limit in (("forename", 100), ("surname", 100), ("registration_group", 40)):
            if not row[column]:
                bad(f"{column} is empty.")
                ok = False
            elif len(row[column]) > limit:
                bad(f"{column} is longer than {limit} characters.")
                ok = False
        dates: dict[str, dt.date | None] = {}
        for column in ("date_of_birth", "admission_date", "leaving_date"):
            value = row[column]
            dates[column] = _date(value) if value else None
            if value and dates[column] is None:
                bad(f"{column} '{value}' is not a date written YYYY-MM-DD.")
                ok = False
            elif not value and column != "leaving_date":
                bad(f"{column} is empty.")
                ok = False
        admission, leaving = dates["admission_date"], dates["leaving_date"]
        if admission and leaving and leaving < admission:
            bad(f"leaving_date {leaving} is before admission_date {admission}.")
            ok = False
        year_group = row["year_group"].upper()
        if year_group not in YEAR_GROUPS:
            bad(f"year_group '{row['year_group']}' is not a year group (use N1, N2, R or 1 to 14).")
            ok = False
        extra: dict[str, Any] = {}
        for column in optional:
            value = row[column].upper()
            if column == "sen":
                if value not in Pupil.SEN.values:
                    bad(f"sen must be N, K or E, not '{row[column]}'.")
                    ok = False
                extra["sen"] = value
            elif value not in ("Y", "N"):
                bad(f"{column} must be Y or N, not '{row[column]}'.")
                ok = False
            else:
                extra[PUPIL_FLAG_COLUMNS[column]] = value == "Y"
        if ok and not refused:
            out.append(_PupilRow(line, upn, row["forename"], row["surname"], dates["date_of_birth"],  # type: ignore[arg-type]  # ok: both dates parsed
                                 year_group, row["registration_group"], admission, leaving, extra))  # type: ignore[arg-type]  # ok: both dates parsed
        else:
            rejected.add(upn)
    return out, rejected


# --------------------------------------------------------------------------- marks.csv


def _parse_marks(data: bytes, problems: _Problems) -> list[_MarkRow]:
    _, rows = _csv_rows(MARKS_CSV, data, MARK_COLUMNS, (), problems)
    out: list[_MarkRow] = []
    add = problems.add
    known = codes.CODES
    for line, row in rows:
        upn = row["upn"].upper()
        day = _date(row["date"])
        session = row["session"].upper()
        code = row["code"].upper()
        late = row["minutes_late"]
        ok = True
        if not upn:
            add(MARKS_CSV, line, "upn is empty.")
            ok = False
        if day is None:
            add(MARKS_CSV, line, f"date '{row['date']}' is not a date written YYYY-MM-DD.")
            ok = False
        if session not in ("AM", "PM"):
            add(MARKS_CSV, line, f"session must be AM or PM, not '{row['session']}'.")
            ok = False
        if code not in known:
            add(MARKS_CSV, line, f"'{row['code']}' is not an attendance code.")
            ok = False
        elif day is not None and not known[code].valid_on(day):
            add(MARKS_CSV, line, f"Code '{code}' is not valid on {day:%d %B %Y}{_validity_hint(known[code])}.")
            ok = False
        minutes = None
        if late:
            if not late.isdigit() or not late.isascii():
                add(MARKS_CSV, line, f"minutes_late must be empty or a whole number, not '{late}'.")
                ok = False
            elif code in known and code not in codes.LATE:
                add(MARKS_CSV, line, f"minutes_late can only be given with L or U, not with '{code}'.")
                ok = False
            elif int(late) > MAX_MINUTES_LATE:
                add(MARKS_CSV, line, f"minutes_late must be at most {MAX_MINUTES_LATE}.")
                ok = False
            else:
                minutes = int(late)
        if ok:
            out.append(_MarkRow(line, upn, day, session, code, minutes))  # type: ignore[arg-type]  # ok: the date parsed
    return out


def _validity_hint(code: codes.Code) -> str:
    if code.valid_from:
        return f" (in use from {code.valid_from:%d %B %Y})"
    if code.valid_to:
        return f" (in use up to {code.valid_to:%d %B %Y})"
    return ""


# --------------------------------------------------------------------------- the plan


@dataclass
class _Plan:
    """Everything to write, worked out before the first write."""

    school_file: _SchoolFile | None
    pupils: list[_PupilRow]
    marks: list[_MarkRow]
    rejected_upns: set[str] = field(default_factory=set)
    # Existing rows, keyed the way the files name them.
    years: dict[dt.date, AcademicYear] = field(default_factory=dict)
    terms: dict[tuple[dt.date, str], Term] = field(default_factory=dict)
    closures: dict[tuple[dt.date, str], Closure] = field(default_factory=dict)
    times: dict[str, SessionTimes] = field(default_factory=dict)
    groups: dict[str, RegistrationGroup] = field(default_factory=dict)
    pupils_by_upn: dict[str, Pupil] = field(default_factory=dict)
    enrolments: dict[int, list[Enrolment]] = field(default_factory=dict)
    # (pupil_id, date, session) -> (code, minutes_late, note, version) for marks the file names.
    existing_marks: dict[tuple[int, dt.date, str], tuple[str, int | None, str, int]] = field(default_factory=dict)


def _session_gaps(plan: _Plan) -> tuple[list[tuple[dt.date, dt.date]], dict[tuple[dt.date, str], str]]:
    """Term ranges and closed sessions as they will be after the import (the school's and the file's)."""
    terms: dict[tuple[dt.date, str], tuple[dt.date, dt.date]] = {}
    for (year_start, name), term in plan.terms.items():
        terms[(year_start, name.lower())] = (term.start, term.end)
    closed: dict[tuple[dt.date, str], str] = {}
    for (day, which), closure in plan.closures.items():
        closed[(day, which)] = closure.reason
    if plan.school_file:
        for year in plan.school_file.years:
            for t in year.terms:
                terms[(year.start, t.name.lower())] = (t.start, t.end)
            for c in year.closures:
                closed[(c.date, c.session)] = c.reason
    return sorted(terms.values()), closure_reasons((day, which, reason) for (day, which), reason in closed.items())


def _plan_checks(school: School | None, plan: _Plan, problems: _Problems) -> None:
    """Compare the files with the school's existing data; check every mark. Reads only."""
    sf = plan.school_file
    if school is not None:
        _load_existing(school, plan)
    if sf:
        for year in sf.years if school is not None else []:
            assert school is not None  # noqa: S101 - the loop runs only for an existing school
            existing = year_overlapping(school=school, start=year.start, end=year.end, keep=plan.years.get(year.start))
            if existing:
                problems.add(SCHOOL_JSON, year.line, f"Academic year {year.name} overlaps the school's existing "
                                                     f"academic year {existing.name} ({existing.start} to "
                                                     f"{existing.end}).")
        term_ranges, _ = _session_gaps(plan)
        ordered = sorted(term_ranges)
        for before, after in itertools.pairwise(ordered):
            if after[0] <= before[1]:
                problems.add(SCHOOL_JSON, None, f"After the import, terms {before[0]}–{before[1]} and "
                                                f"{after[0]}–{after[1]} would overlap; rename or correct one.")
        if school is not None:
            _check_new_closures(school, plan, problems)

    # Pupils: admissions must not overlap an existing admission register entry with another start.
    for row in plan.pupils:
        pupil = plan.pupils_by_upn.get(row.upn)
        if pupil is None:
            continue
        for en in plan.enrolments.get(pupil.pk, []):
            if en.admission_date == row.admission:
                continue
            if en.admission_date <= (row.leaving or dt.date.max) and row.admission <= (en.leaving_date or dt.date.max):
                problems.add(PUPILS_CSV, row.line,
                             f"The admission from {row.admission} overlaps the pupil's existing admission register "
                             f"entry from {en.admission_date}.")
    if school is not None:
        _check_existing_marks_stay_inside(school, plan, problems)
    _check_marks(plan, problems)


def _load_existing(school: School, plan: _Plan) -> None:
    plan.years = {y.start: y for y in AcademicYear.objects.filter(school=school)}
    by_id = {y.pk: y for y in plan.years.values()}
    plan.terms = {(by_id[t.academic_year_id].start, t.name.lower()): t for t in Term.objects.filter(school=school)}
    plan.closures = {(c.date, c.session): c for c in Closure.objects.filter(school=school)}
    plan.times = {t.year_group: t for t in SessionTimes.objects.filter(school=school)}
    plan.groups = {g.name.lower(): g for g in RegistrationGroup.objects.filter(school=school)}
    upns = [p.upn for p in plan.pupils]
    plan.pupils_by_upn = {p.upn: p for p in Pupil.objects.filter(school=school, upn__in=upns)}
    ids = [p.pk for p in plan.pupils_by_upn.values()]
    for en in Enrolment.objects.filter(school=school, pupil_id__in=ids):
        plan.enrolments.setdefault(en.pupil_id, []).append(en)
    if plan.marks and ids:
        start = min(m.date for m in plan.marks)
        end = max(m.date for m in plan.marks)
        found = Mark.objects.filter(school=school, pupil_id__in=ids, date__range=(start, end)).values_list(
            "pupil_id", "date", "session", "code", "minutes_late", "note", "version")
        plan.existing_marks = {(p, d, s): (c, m, n, v) for p, d, s, c, m, n, v in found.iterator(chunk_size=20_000)}


def _check_new_closures(school: School, plan: _Plan, problems: _Problems) -> None:
    """A new closure must not fall on a session that already holds marks (marks are never deleted)."""
    new = [c for year in plan.school_file.years for c in year.closures  # type: ignore[union-attr]  # new closures are checked only for a plan with a school file
           if (c.date, c.session) not in plan.closures]
    if not new:
        return
    marked = marked_sessions(school=school, sessions=[s for c in new for s in closure_sessions(c.date, c.session)])
    for c in new:
        hit = [s for day, s in closure_sessions(c.date, c.session) if (day, s) in marked]
        if hit:
            problems.add(SCHOOL_JSON, c.line, f"Marks are already recorded for {c.date} {'/'.join(hit)}, so it "
                                              "cannot become a closure.")


def _check_existing_marks_stay_inside(school: School, plan: _Plan, problems: _Problems) -> None:
    """Shortening an admission must not leave the pupil's saved marks outside it."""
    changed: dict[int, _PupilRow] = {}
    for row in plan.pupils:
        pupil = plan.pupils_by_upn.get(row.upn)
        for en in plan.enrolments.get(pupil.pk, []) if pupil else []:
            if en.admission_date == row.admission and en.leaving_date != row.leaving:
                changed[en.pk] = row
    if not changed:
        return
    spans = Mark.objects.filter(school=school, enrolment_id__in=changed).values("enrolment_id").annotate(
        first=Min("date"), last=Max("date"))
    for span in spans:
        row = changed[span["enrolment_id"]]
        if row.leaving and span["last"] > row.leaving:
            problems.add(PUPILS_CSV, row.line, f"leaving_date {row.leaving} is before marks already recorded for "
                                               f"this pupil (up to {span['last']}).")


def _check_marks(plan: _Plan, problems: _Problems) -> None:
    terms, closed = _session_gaps(plan)
    file_upns = {p.upn: p for p in plan.pupils}
    spans: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for row in plan.pupils:
        own = [(row.admission, row.leaving or dt.date.max)]
        pupil = plan.pupils_by_upn.get(row.upn)
        for en in plan.enrolments.get(pupil.pk, []) if pupil else []:
            if en.admission_date != row.admission:
                own.append((en.admission_date, en.leaving_date or dt.date.max))
        spans[row.upn] = own
    in_term: dict[dt.date, bool] = {}
    seen: dict[tuple[str, dt.date, str], int] = {}
    add = problems.add
    for m in plan.marks:
        if m.upn not in file_upns:
            if m.upn in plan.rejected_upns:
                continue  # the pupils.csv line is reported already
            error = upn_error(m.upn)
            add(MARKS_CSV, m.line, error or f"UPN {m.upn} is not in pupils.csv.")
            continue
        key = (m.upn, m.date, m.session)
        if key in seen:
            add(MARKS_CSV, m.line, f"{m.upn} {m.date} {m.session} appears twice (also line {seen[key]}).")
            continue
        seen[key] = m.line
        day = m.date
        if day not in in_term:
            in_term[day] = any(s <= day <= e for s, e in terms)
        why = session_closed(day, in_term=in_term[day], closure=closed.get((day, m.session), ""))
        if m.code == codes.CLOSURE:
            if not why:
                add(MARKS_CSV, m.line, f"'#' marks a planned closure, but {day:%a %d %B %Y} {m.session} is a school "
                                       "session. Add the closure to school.json or give the pupil's code.")
            continue
        if why:
            add(MARKS_CSV, m.line, f"{day:%a %d %B %Y} {m.session} is not a school session ({why}).")
            continue
        if not any(s <= day <= e for s, e in spans[m.upn]):
            add(MARKS_CSV, m.line, f"{m.upn} is not on the admission register on {day:%d %B %Y}.")


# --------------------------------------------------------------------------- writing


def _write_school(spec: _SchoolFile, school: School | None, summary_counts: dict[str, int]) -> School:
    trust = None
    if spec.trust:
        trust = Trust.objects.filter(slug=spec.trust.slug).first()
        if trust is None:
            trust = Trust.objects.create(name=spec.trust.name, slug=spec.trust.slug)
        elif trust.name != spec.trust.name:
            trust.name = spec.trust.name
            trust.save(update_fields=["name"])
    s = spec.school
    if s is None:  # pragma: no cover - the parse step requires a school block for the command
        raise ImportRejected([ImportProblem(SCHOOL_JSON, 1, 'The file needs a "school" block.')], 1)
    values: dict[str, Any] = {"name": s.name, "urn": s.urn, "phase": s.phase, "local_authority": s.local_authority}
    if trust is not None:
        values["trust"] = trust
    if school is None:
        return School.objects.create(slug=s.slug, **values)
    changed = [k for k, v in values.items() if getattr(school, k) != v]
    if changed:
        for k in changed:
            setattr(school, k, values[k])
        school.save(update_fields=changed)
        summary_counts["school_updated"] = 1
    return school


def _write_calendar(school: School, plan: _Plan, summary: ImportSummary) -> None:
    sf = plan.school_file
    if sf is None:
        return
    for times in sf.times:
        values = {"am_open": times.am_open, "am_close": times.am_close, "pm_open": times.pm_open,
                  "pm_close": times.pm_close}
        found = plan.times.get(times.year_group)
        if found is None:
            SessionTimes.objects.create(school=school, year_group=times.year_group, **values)
            summary.add("calendar_created")
        elif any(getattr(found, k) != v for k, v in values.items()):
            SessionTimes.objects.filter(pk=found.pk, school=school).update(**values)
            summary.add("calendar_updated")
    for y in sf.years:
        year = plan.years.get(y.start)
        if year is None:
            year = AcademicYear.objects.create(school=school, name=y.name, start=y.start, end=y.end)
            plan.years[y.start] = year
            summary.add("calendar_created")
        elif year.end != y.end:
            AcademicYear.objects.filter(pk=year.pk, school=school).update(end=y.end)
            summary.add("calendar_updated")
        for t in y.terms:
            season = Term.season_for(t.name, t.start)
            term = plan.terms.get((y.start, t.name.lower()))
            if term is None:
                Term.objects.create(school=school, academic_year=year, name=t.name, season=season,
                                    start=t.start, end=t.end)
                summary.add("calendar_created")
            elif (term.start, term.end, term.name) != (t.start, t.end, t.name):
                Term.objects.filter(pk=term.pk, school=school).update(name=t.name, start=t.start, end=t.end,
                                                                     season=season)
                summary.add("calendar_updated")
        for c in y.closures:
            closure = plan.closures.get((c.date, c.session))
            if closure is None:
                Closure.objects.create(school=school, date=c.date, session=c.session, reason=c.reason)
                summary.add("calendar_created")
            elif closure.reason != c.reason:
                Closure.objects.filter(pk=closure.pk, school=school).update(reason=c.reason)
                summary.add("calendar_updated")


def _write_pupils(school: School, plan: _Plan, summary: ImportSummary) -> dict[str, int]:
    """Registration groups, pupils and admissions in bulk; returns pupil ids by UPN."""
    year_of_group: dict[str, set[str]] = {}
    for row in plan.pupils:
        year_of_group.setdefault(row.group.lower(), set()).add(row.year_group)
    new_groups = []
    names = {}
    for row in plan.pupils:
        key = row.group.lower()
        if key not in plan.groups and key not in names:
            years = year_of_group[key]
            names[key] = RegistrationGroup(school=school, name=row.group,
                                           year_group=next(iter(years)) if len(years) == 1 else "")
            new_groups.append(names[key])
    RegistrationGroup.objects.bulk_create(new_groups)
    plan.groups.update(names)
    summary.add("groups_created", len(new_groups))

    creates, updates = [], []
    fields = {"forename", "surname", "date_of_birth", "year_group", "registration_group_id"}
    details_changed = characteristics_changed = 0
    for row in plan.pupils:
        values = {"forename": row.forename, "surname": row.surname, "date_of_birth": row.date_of_birth,
                  "year_group": row.year_group, "registration_group_id": plan.groups[row.group.lower()].pk,
                  **row.extra}
        pupil = plan.pupils_by_upn.get(row.upn)
        if pupil is None:
            pupil = Pupil(school=school, upn=row.upn, **values)
            creates.append(pupil)
            plan.pupils_by_upn[row.upn] = pupil
            continue
        changed = {k for k, v in values.items() if getattr(pupil, k) != v}
        if changed:
            for k in changed:
                setattr(pupil, k, values[k])
            updates.append(pupil)
            fields.update(changed)
            # Counted apart, so the everyday count never tells whether a characteristic was already set.
            details_changed += bool(changed - SENSITIVE_PUPIL_FIELDS)
            characteristics_changed += bool(changed & SENSITIVE_PUPIL_FIELDS)
    Pupil.objects.bulk_create(creates, batch_size=2000)
    if updates:
        Pupil.objects.bulk_update(updates, sorted(fields), batch_size=2000)
    summary.add("pupils_created", len(creates))
    summary.add("pupils_updated", details_changed)
    summary.add("characteristics_updated", characteristics_changed)

    new_enrolments: list[Enrolment] = []
    left: list[Enrolment] = []
    for row in plan.pupils:
        pupil = plan.pupils_by_upn[row.upn]
        same = [en for en in plan.enrolments.get(pupil.pk, []) if en.admission_date == row.admission]
        if not same:
            new_enrolments.append(Enrolment(school=school, pupil=pupil, admission_date=row.admission,
                                            leaving_date=row.leaving))
        elif same[0].leaving_date != row.leaving:
            same[0].leaving_date = row.leaving
            left.append(same[0])
    Enrolment.objects.bulk_create(new_enrolments, batch_size=2000)
    if left:
        Enrolment.objects.bulk_update(left, ["leaving_date"], batch_size=2000)
    summary.add("enrolments_created", len(new_enrolments))
    summary.add("enrolments_updated", len(left))
    return {upn: p.pk for upn, p in plan.pupils_by_upn.items()}


def _write_marks(
    school: School, plan: _Plan, pupil_ids: dict[str, int], by: User | None, summary: ImportSummary,
    progress: Progress,
) -> None:
    pending: list[tuple[int, MarkEntry]] = []
    for m in plan.marks:
        if m.code == codes.CLOSURE:
            summary.add("closed_sessions_skipped")
            continue
        pid = pupil_ids[m.upn]
        current = plan.existing_marks.get((pid, m.date, m.session))
        if current is not None and (current[0], current[1]) == (m.code, m.minutes_late):
            summary.add("marks_unchanged")
            continue
        # Keep a saved note: the file has no note column, and an import must not wipe what staff wrote.
        note = current[2] if current else ""
        version = current[3] if current else None
        pending.append((m.line, MarkEntry(pid, m.date, m.session, m.code, m.minutes_late, note, version)))
    # Chunks of one pupil's consecutive sessions keep marks_save's look-ups narrow.
    pending.sort(key=lambda item: item[1].key)
    total = len(pending)
    problems = _Problems()
    for start in range(0, total, MARKS_CHUNK):
        chunk = pending[start:start + MARKS_CHUNK]
        try:
            result = marks_save(school=school, entries=[e for _, e in chunk], by=by, reason=IMPORT_REASON,
                                source=IMPORT_SOURCE)
        except MarkValidationError as exc:
            for err in exc.errors:
                problems.add(MARKS_CSV, chunk[err.index][0], err.message)
            problems.raise_if_any()
            raise  # pragma: no cover - raise_if_any always raises here
        line_of = {e.key: line for line, e in chunk}
        for conflict in result.conflicts:
            problems.add(MARKS_CSV, line_of.get(conflict.entry.key),
                         "This session was changed by someone else while the import ran; run the import again.")
        problems.raise_if_any()
        summary.add("marks_created", result.created)
        summary.add("marks_amended", result.amended)
        summary.add("marks_unchanged", result.unchanged)
        progress(50 + int(50 * min(start + MARKS_CHUNK, total) / total))
    if total >= BULK_LOAD_ROWS:
        # A school's first load: what runs next (the statistics, the signals) is planned on real sizes.
        planner_statistics_refresh(Pupil, Enrolment, Mark, "reporting_attendancesummary")


# --------------------------------------------------------------------------- the engine


def _parse(
    files: ImportFiles, *, school_required: bool, write_sensitive: bool, problems: _Problems
) -> tuple[_Plan, bool]:
    """The parsed files, and whether school.json (if any) was free of problems."""
    school_file = None
    if files.school_json is not None:
        school_file = _parse_school_json(files.school_json, problems)
    elif school_required:
        problems.add(SCHOOL_JSON, None, "The file is missing; it is needed to create or update the school.")
    calendar_ok = not problems
    if school_file and school_file.school is None and school_required:
        problems.add(SCHOOL_JSON, 1, 'The file needs a "school" block naming the school.')
    pupils: list[_PupilRow] = []
    rejected: set[str] = set()
    if files.pupils_csv is None:
        problems.add(PUPILS_CSV, None, "The file is missing.")
    else:
        pupils, rejected = _parse_pupils(files.pupils_csv, problems, write_sensitive=write_sensitive)
    marks: list[_MarkRow] = []
    if files.marks_csv is None:
        problems.add(MARKS_CSV, None, "The file is missing.")
    else:
        marks = _parse_marks(files.marks_csv, problems)
    return _Plan(school_file, pupils, marks, rejected), calendar_ok


def school_import(
    *, files: ImportFiles, school: School | None = None, by: User | None = None, progress: Progress | None = None,
    write_sensitive: bool = False,
) -> ImportSummary:
    """Import a school from its files, all or nothing.

    With `school` (the upload page), school.json is optional; when given, its "school" block, if
    any, must carry this school's slug, and its "trust" block and school details are ignored —
    moving a school between trusts or renaming it is for platform staff, not an upload. Without
    `school` (the command), school.json names the school, which is created or updated with its trust.
    Raises ImportRejected (nothing written) listing up to 200 problems with file and line.
    `write_sensitive` allows pupils.csv's cohort-characteristic columns (sen, fsm, eal, cla, cin); the caller
    decides it from the importer's "view_sensitive" permission.
    """
    report = progress or (lambda pct: None)
    problems = _Problems()
    plan, calendar_ok = _parse(files, school_required=school is None, write_sensitive=write_sensitive,
                               problems=problems)
    sf = plan.school_file
    if school is not None and sf and sf.school and sf.school.slug and sf.school.slug != school.slug:
        problems.add(SCHOOL_JSON, sf.school.line, f'"school" "slug" is "{sf.school.slug}", but these files are being '
                                                  f'imported into {school.name} ("{school.slug}"). Check you chose '
                                                  "the right school's files.")
        calendar_ok = False
    report(20)

    with transaction.atomic():
        target = school
        if target is None and sf and sf.school and sf.school.slug:
            target = School.objects.filter(slug=sf.school.slug).first()
        if target is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, target.pk])
        # Marks are checked against the calendar only when school.json was readable: a broken
        # calendar would turn every mark into a misleading "not a school session" problem.
        if calendar_ok:
            with scope(school=target) if target is not None else nullcontext():
                _plan_checks(target, plan, problems)
        problems.raise_if_any()
        report(40)

        summary_counts: dict[str, int] = {}
        if school is None and sf is not None:
            target = _write_school(sf, target, summary_counts)
        if target is None:  # pragma: no cover - the parse step requires school.json without a school
            raise ImportRejected([ImportProblem(SCHOOL_JSON, None, "No school to import into.")], 1)
        summary = ImportSummary(target, summary_counts)
        with scope(school=target):
            _write_calendar(target, plan, summary)
            pupil_ids = _write_pupils(target, plan, summary)
            report(50)
            _write_marks(target, plan, pupil_ids, by, summary, report)
    report(100)
    return summary


# --------------------------------------------------------------------------- upload batches

BATCH_FILES = {"school_json": SCHOOL_JSON, "pupils_csv": PUPILS_CSV, "marks_csv": MARKS_CSV}


def _progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def import_batch_progress(*, batch: ImportBatch) -> int:
    """Percent done. While the import's transaction is open its row cannot show progress, so the cache does."""
    if batch.status != ImportBatch.Status.RUNNING:
        return batch.progress
    return max(batch.progress, int(cache.get(_progress_key(batch.pk)) or 0))


def import_batch_create(*, school: School, by: User | None, uploads: dict[str, UploadedFile | None]) -> ImportBatch:
    """Record the batch first, keep its files under MEDIA_ROOT/imports/<school>/<batch>/, run it after commit."""
    batch = ImportBatch.objects.create(school=school, created_by=by, source="upload")
    stored = {}
    for key, name in BATCH_FILES.items():
        upload = uploads.get(key)
        if upload is not None:
            upload.seek(0)
            stored[key] = default_storage.save(f"imports/{school.slug}/{batch.pk}/{name}", upload)
    batch.files = stored
    batch.save(update_fields=["files"])
    from .tasks import import_batch_task

    transaction.on_commit(functools.partial(task_send, import_batch_task, school_id=school.pk, batch_id=batch.pk))
    return batch


def import_batch_run(*, school: School, batch_id: int) -> ImportBatch | None:
    """Run one uploaded batch. Safe to repeat: a finished batch is left alone, and re-running an
    interrupted one is harmless because the import is all-or-nothing and re-importing is a no-op."""
    Status = ImportBatch.Status
    claimed = ImportBatch.objects.filter(pk=batch_id, school=school, status__in=[Status.PENDING, Status.RUNNING]) \
        .update(status=Status.RUNNING, progress=5, errors=[])
    if not claimed:
        return None
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id, school=school)

    def progress(pct: int) -> None:
        cache.set(_progress_key(batch_id), pct, timeout=6 * 3600)
        if not connection.in_atomic_block:
            ImportBatch.objects.filter(pk=batch_id, school=school).update(progress=pct)

    done = {"status": Status.DONE, "progress": 100, "finished_at": timezone.now()}
    try:
        files = ImportFiles(**{key: _read_stored(batch.files.get(key)) for key in BATCH_FILES})
        importer = batch.created_by
        summary = school_import(files=files, school=school, by=importer, progress=progress,
                                write_sensitive=importer is not None and can(importer, "view_sensitive", school))
    except ImportRejected as exc:
        done.update(status=Status.FAILED, errors=[p.as_dict() for p in exc.problems],
                    summary={"problems": exc.total})
    except Exception:
        logger.exception("import batch %s for school %s stopped", batch_id, school.pk)
        done.update(status=Status.FAILED, summary={"problems": 1}, errors=[{
            "file": "", "line": None,
            "message": "The import stopped unexpectedly and nothing was written. Try again; if it happens "
                       "again, contact support with the batch number."}])
        ImportBatch.objects.filter(pk=batch_id, school=school).update(**done)
        raise
    else:
        done["summary"] = summary.counts
    ImportBatch.objects.filter(pk=batch_id, school=school).update(**done)
    cache.delete(_progress_key(batch_id))
    batch.refresh_from_db()
    return batch


def _read_stored(name: str | None) -> bytes | None:
    if not name:
        return None
    with default_storage.open(name, "rb") as handle:
        return handle.read()
