"""Sample onboarding files and helpers shared by the import tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from attendance_portal.models import School, Trust
from registers.models import (
    AcademicYear,
    Closure,
    Enrolment,
    Mark,
    MarkEvent,
    Pupil,
    RegistrationGroup,
    SessionTimes,
    Term,
)

ADA, BEN, CARA = "Y881300020001", "M881300020002", "B881300020003"
UNLISTED = "Q881300020004"  # a valid UPN that is not in pupils.csv

SCHOOL: dict[str, Any] = {
    "trust": {"name": "Elmstead Trust", "slug": "elmstead"},
    "school": {"name": "Elm Primary", "slug": "elm", "urn": "123456", "phase": "primary",
               "local_authority": "Essex"},
    "session_times": [
        {"year_groups": ["5", "6"], "am": ["08:45", "09:00"], "pm": ["13:15", "13:30"]},
        {"year_groups": ["R"], "am": ["08:50", "09:05"], "pm": ["13:00", "13:15"]},
    ],
    "academic_years": [
        {"start": "2023-09-01", "end": "2024-08-31",
         "terms": [{"name": "Summer 2", "start": "2024-06-03", "end": "2024-07-19"}],
         "closures": []},
        {"start": "2025-09-01", "end": "2026-08-31",
         "terms": [{"name": "Autumn 1", "start": "2025-09-03", "end": "2025-10-24"},
                   {"name": "Autumn 2", "start": "2025-11-03", "end": "2025-12-19"}],
         "closures": [{"date": "2025-11-14", "session": "BOTH", "reason": "INSET day"},
                      {"date": "2025-11-21", "session": "PM", "reason": "Staff training"}]},
    ],
}

PUPILS_HEADER = "upn,forename,surname,date_of_birth,year_group,registration_group,admission_date,leaving_date"
PUPILS = PUPILS_HEADER + f""",sen,fsm,eal,cla,cin
{ADA},Ada,Lovelace,2015-03-14,5,5B,2023-09-01,,K,Y,N,N,Y
{BEN},Ben,Okri,2015-05-01,5,5B,2025-09-03,2025-10-24,N,N,Y,N,N
{CARA},Cara,Diaz,2014-01-01,6,6A,2023-09-01,,E,N,N,Y,N
"""

# The same pupils without the cohort-characteristic columns (what office staff may import).
PUPILS_BASIC = "".join(",".join(line.split(",")[:8]) + "\n" for line in PUPILS.strip().split("\n"))

MARKS = f"""upn,date,session,code,minutes_late
{ADA},2025-09-08,AM,/,
{ADA},2025-09-08,PM,\\,
{BEN},2025-09-08,AM,L,5
{CARA},2025-09-08,AM,N,
{ADA},2025-11-14,AM,#,
{ADA},2024-06-10,AM,H,
{CARA},2025-09-09,AM,U,20
"""
STORED_MARKS = 6  # the '#' line stores nothing


def school_json(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCHOOL)
    data.update(changes)
    return data


def write_files(directory: Path, *, school: Any = SCHOOL, pupils: str | bytes | None = PUPILS,
                marks: str | bytes | None = MARKS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (("school.json", school), ("pupils.csv", pupils), ("marks.csv", marks)):
        path = directory / name
        if content is None:
            path.unlink(missing_ok=True)
            continue
        if isinstance(content, dict):
            content = json.dumps(content, indent=2)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return directory



def load(directory: Path, *args: str) -> str:
    """Run load_school; return its stdout."""
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("load_school", str(directory), *args, stdout=out, stderr=err)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    with scopes_disabled():
        return {m.__name__: m.objects.count() for m in (Trust, School, AcademicYear, Term, Closure, SessionTimes,
                                                         RegistrationGroup, Pupil, Enrolment, Mark, MarkEvent)}


def rejected(directory: Path) -> list[str]:
    """Run load_school expecting refusal; assert nothing was written; return the problem lines."""
    import io

    before = table_counts()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("load_school", str(directory), stdout=out, stderr=err)
    assert table_counts() == before, "a refused import wrote something"
    return err.getvalue().splitlines()


def json_line(text: str, needle: str) -> int:
    """The line of the '{' that opens the JSON object containing `needle` (as problems report it)."""
    pos = text.index(needle)
    depth = 0
    while pos > 0:
        pos -= 1
        if text[pos] == "}":
            depth += 1
        elif text[pos] == "{":
            if depth == 0:
                return text.count("\n", 0, pos) + 1
            depth -= 1
    return 1


def assert_problem(lines: list[str], file: str, line: int | None, text: str) -> None:
    where = f"{file} line {line}: " if line else f"{file}: "
    hits = [entry for entry in lines if entry.startswith(where) and text in entry]
    assert hits, f"expected {where}…{text}… in:\n" + "\n".join(lines)
