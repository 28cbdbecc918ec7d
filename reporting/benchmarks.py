"""DfE's published attendance figures: importing the file and finding a school's benchmarks.

The file is DfE's own CSV (see `shared/data/dfe/README.md`); a later file of the same layout replaces
the figures of its period. Nothing is hard-coded: every benchmark shown is a row of an imported file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Q, Subquery

from attendance_portal.models import School

from .models import DfePublishedFigure

SOURCE_NAME = "Department for Education, Pupil attendance in schools"
TEXT_COLUMNS = ("time_period", "time_identifier", "geographic_level", "region_code", "region_name", "new_la_code",
                "old_la_code", "la_name", "education_phase")
INTEGER_COLUMNS = ("possible_sessions", "overall_absence", "authorised_absence", "unauthorised_absence",
                   "late_sessions")
FLOAT_COLUMNS = ("enrolments", "attendance_perc", "overall_absence_perc", "authorised_absence_perc",
                 "unauthorised_absence_perc")
REQUIRED = (*TEXT_COLUMNS, *INTEGER_COLUMNS, *FLOAT_COLUMNS, "pa_perc")
LEVELS = {choice.value for choice in DfePublishedFigure.Level}
# The school's phase as DfE publishes it; phases DfE does not publish apart are compared with the total.
DFE_PHASE: dict[str, str] = {School.Phase.PRIMARY: "Primary", School.Phase.SECONDARY: "Secondary",
                             School.Phase.SPECIAL: "Special"}


# DfE's symbols for a figure that is not given: c suppressed, x unavailable, z not applicable, u low reliability.
DFE_SYMBOLS = frozenset({"", "c", "x", "z", "u", "low", ":"})


class ImportFileError(ValueError):
    """The file cannot be imported; the message names the line."""


def _number(text: str, column: str, line: int, kind: type) -> float | int | None:
    if text.strip().lower() in DFE_SYMBOLS:
        return None
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ImportFileError(f"line {line}: {column} should be a number, not {text!r}") from None
    if value < 0:
        raise ImportFileError(f"line {line}: {column} cannot be negative ({text})")
    if kind is int:
        if value != int(value):
            raise ImportFileError(f"line {line}: {column} should be a whole number of sessions, not {text!r}")
        return int(value)
    return value


def figures_parse(*, text: str, source: str) -> list[DfePublishedFigure]:
    """Every row of the file as unsaved figures; the first problem raises `ImportFileError`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFileError(f"line 1: the header lacks {', '.join(missing)}; is this DfE's attendance file?")
    found: list[DfePublishedFigure] = []
    seen: set[tuple[str, ...]] = set()
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise ImportFileError(f"line {line}: it has {len(row) - 1 + len(row.get(None) or [])} columns, "
                                  f"the header has {len(reader.fieldnames or [])}")
        if row["geographic_level"] not in LEVELS:
            raise ImportFileError(f"line {line}: geographic_level {row['geographic_level']!r} is not one of "
                                  f"{', '.join(sorted(LEVELS))}")
        if not row["time_period"].isdigit() or len(row["time_period"]) != 6:
            raise ImportFileError(f"line {line}: time_period should look like 202526, not {row['time_period']!r}")
        if not row["education_phase"]:
            raise ImportFileError(f"line {line}: education_phase is empty")
        values: dict[str, object] = {c: row[c].strip() for c in TEXT_COLUMNS}
        values |= {c: _number(row[c], c, line, int) for c in INTEGER_COLUMNS}
        values |= {c: _number(row[c], c, line, float) for c in FLOAT_COLUMNS}
        values["pa_perc"] = _number(row["pa_perc"], "pa_perc", line, float)
        if values["possible_sessions"] and (values["overall_absence"] or 0) > values["possible_sessions"]:  # type: ignore[operator]  # both are numbers once parsed
            raise ImportFileError(f"line {line}: overall_absence is more than possible_sessions")
        key = tuple(str(values[c]) for c in ("time_period", "time_identifier", "geographic_level", "region_code",
                                             "new_la_code", "education_phase"))
        if key in seen:
            raise ImportFileError(f"line {line}: the same place, phase and period appears twice")
        seen.add(key)
        reasons = {c: _number(row[c], c, line, int) for c in row if c.startswith("reason_")}
        found.append(DfePublishedFigure(**values, reasons=reasons, source=source))
    if not found:
        raise ImportFileError("line 2: the file has a header but no figures")
    return found


def figures_import(*, path: Path) -> int:
    """Loads the file all or nothing, replacing earlier figures of the same periods. Returns rows loaded."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"line 1: the file is not UTF-8 text ({exc.reason})") from None
    figures = figures_parse(text=text, source=f"{SOURCE_NAME} ({path.name})")
    periods = {(f.time_period, f.time_identifier) for f in figures}
    with transaction.atomic():
        for period, identifier in periods:
            DfePublishedFigure.objects.filter(time_period=period, time_identifier=identifier).delete()
        DfePublishedFigure.objects.bulk_create(figures)
    return len(figures)


@dataclass(frozen=True)
class Benchmark:
    label: str  # "England", "London", "Tower Hamlets"
    level: str
    figure: DfePublishedFigure

    @property
    def period(self) -> str:
        return self.figure.period_label

    @property
    def source(self) -> str:
        return self.figure.source


def dfe_phase(school: School) -> str:
    return DFE_PHASE.get(school.phase, "Total")


def benchmarks_for(*, schools: list[School]) -> dict[int, list[Benchmark]]:
    """National, regional and LA figures of each school's phase from the latest imported period, in one
    query whatever the number of schools. The LA is matched by name (School.local_authority), the region
    through the LA's row."""
    phases = {dfe_phase(s) for s in schools}
    names = {s.local_authority for s in schools if s.local_authority}
    latest = DfePublishedFigure.objects.order_by("-time_period").values("time_period")[:1]
    wanted = ~Q(geographic_level=DfePublishedFigure.Level.LOCAL_AUTHORITY) | Q(la_name__in=names)
    rows = list(DfePublishedFigure.objects.filter(wanted, education_phase__in=phases,
                                                  time_period=Subquery(latest)))
    national = {r.education_phase: r for r in rows if r.geographic_level == DfePublishedFigure.Level.NATIONAL}
    regional = {(r.region_code, r.education_phase): r for r in rows
                if r.geographic_level == DfePublishedFigure.Level.REGIONAL}
    local = {(r.la_name.casefold(), r.education_phase): r for r in rows
             if r.geographic_level == DfePublishedFigure.Level.LOCAL_AUTHORITY}
    found: dict[int, list[Benchmark]] = {}
    for school in schools:
        phase = dfe_phase(school)
        marks: list[Benchmark] = []
        if phase in national:
            marks.append(Benchmark("England", "national", national[phase]))
        la = local.get((school.local_authority.casefold(), phase))
        if la is not None:
            region = regional.get((la.region_code, phase))
            if region is not None:
                marks.append(Benchmark(region.region_name, "regional", region))
            marks.append(Benchmark(la.la_name, "local authority", la))
        found[school.pk] = marks
    return found
