"""The school census attendance return: per enrolment, possible sessions and sessions by code for a census
period, with the checks to run before the file is sent.

Census periods (dfe-rules §2.3; returned one term in arrears): autumn = 1 August to 31 December; spring =
1 January to Easter Sunday; summer = Easter Monday to the Sunday before the spring bank holiday (first
half) and the spring bank holiday to 31 July (second half), reported apart. `year` is the academic year's
first calendar year (2025 for 2025/26).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.easter import easter
from django.db import connection

from attendance_portal.models import School
from registers import codes

TERMS = ("autumn", "spring", "summer")


def _spring_bank_holiday(year: int) -> dt.date:
    """The last Monday of May."""
    day = dt.date(year, 5, 31)
    return day - dt.timedelta(days=day.weekday())


def census_periods(*, term: str, year: int) -> list[tuple[str, dt.date, dt.date]]:
    """(name, first day, last day) of each part of the term's census period."""
    if term == "autumn":
        return [("autumn", dt.date(year, 8, 1), dt.date(year, 12, 31))]
    spring_year = year + 1
    easter_sunday = easter(spring_year)
    if term == "spring":
        return [("spring", dt.date(spring_year, 1, 1), easter_sunday)]
    if term == "summer":
        bank = _spring_bank_holiday(spring_year)
        return [("summer 1", easter_sunday + dt.timedelta(days=1), bank - dt.timedelta(days=1)),
                ("summer 2", bank, dt.date(spring_year, 7, 31))]
    raise ValueError(f"term must be one of {', '.join(TERMS)}")


@dataclass(frozen=True)
class CensusRow:
    part: str
    upn: str
    enrolment_id: int
    possible: int
    by_code: dict[str, int]


@dataclass(frozen=True)
class CensusReturn:
    rows: list[CensusRow]
    problems: list[str]  # the validation queries, in words, one line each


def census_return(*, school: School, term: str, year: int) -> CensusReturn:
    """One statement per part: every enrolment's sessions by code in the part, and the checks."""
    rows: list[CensusRow] = []
    problems: list[str] = []
    possible_codes = sorted(codes.POSSIBLE)
    for part, start, end in census_periods(term=term, year=year):
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT e.id, p.upn, m.code, count(*), min(m.date), max(m.date)
                  FROM registers_mark m
                  JOIN registers_enrolment e ON e.id = m.enrolment_id AND e.school_id = %(school)s
                  JOIN registers_pupil p ON p.id = e.pupil_id AND p.school_id = %(school)s
                 WHERE m.school_id = %(school)s AND m.date BETWEEN %(start)s AND %(end)s
                 GROUP BY e.id, p.upn, m.code ORDER BY p.upn, e.id, m.code""",
                           {"school": school.pk, "start": start, "end": end})
            found: dict[tuple[int, str], dict[str, int]] = {}
            for enrolment_id, upn, code, count, first, last in cursor.fetchall():
                found.setdefault((enrolment_id, upn), {})[code] = count
                if not (codes.code_valid_on(code, first) and codes.code_valid_on(code, last)):
                    problems.append(f"{part}: UPN {upn} has code {code!r}, not valid between {first} and {last}")
        for (enrolment_id, upn), by_code in found.items():
            possible = sum(n for code, n in by_code.items() if code in possible_codes)
            if possible == 0:
                problems.append(f"{part}: UPN {upn} has no possible sessions (left out of the return)")
                continue
            rows.append(CensusRow(part, upn, enrolment_id, possible, by_code))
    return CensusReturn(rows, problems)


def census_csv_rows(result: CensusReturn) -> tuple[list[str], list[list[object]]]:
    reported = sorted({c for r in result.rows for c in r.by_code if c in codes.POSSIBLE})
    header = ["period", "upn", "possible_sessions", *[f"sessions_{c}" for c in reported]]
    return header, [[r.part, r.upn, r.possible, *[r.by_code.get(c, 0) for c in reported]] for r in result.rows]
