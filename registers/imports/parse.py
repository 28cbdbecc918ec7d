"""Step 1: the files parsed with no database access, every problem kept with its file and line."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import json.decoder
import json.scanner
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from attendance_portal.models import School

from .. import codes
from ..models import (
    YEAR_GROUPS,
    Closure,
    Pupil,
    session_times_errors,
)
from ..services import MAX_MINUTES_LATE
from ..upn import upn_error
from .records import (
    _DATE_RE,
    _TIME_RE,
    _URN_RE,
    MARK_COLUMNS,
    MARKS_CSV,
    PUPIL_COLUMNS,
    PUPIL_FLAG_COLUMNS,
    PUPIL_OPTIONAL_COLUMNS,
    PUPILS_CSV,
    SCHOOL_JSON,
    SENSITIVE_PUPIL_COLUMNS,
    ImportFiles,
    _ClosureSpec,
    _MarkRow,
    _Plan,
    _Problems,
    _PupilRow,
    _SchoolFile,
    _SchoolSpec,
    _TermSpec,
    _TimesSpec,
    _TrustSpec,
    _YearSpec,
)

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

# --------------------------------------------------------------------------- all three files


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
