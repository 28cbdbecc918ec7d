"""The import's vocabulary: file names and columns, problems, its input and summary, and the records parsed
from the files (including the plan the later steps fill in)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attendance_portal.models import School

from ..models import (
    AcademicYear,
    Closure,
    Enrolment,
    Pupil,
    RegistrationGroup,
    SessionTimes,
    Term,
)

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
