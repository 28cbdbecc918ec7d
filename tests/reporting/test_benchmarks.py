"""The DfE file importer: the published file loads whole; a malformed one names its line and writes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from reporting.models import DfePublishedFigure

DFE_FILE = Path(settings.SHARED_DIR) / "data" / "dfe" / "attendance-ytd-2025-26.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with DFE_FILE.open(encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def _write(tmp_path: Path, header: list[str], rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path = tmp_path / "dfe.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_the_published_file_loads_every_row_with_the_national_primary_figures() -> None:
    header, rows = _rows()
    call_command("import_dfe_attendance", str(DFE_FILE))
    assert DfePublishedFigure.objects.count() == len(rows) == 647
    national = DfePublishedFigure.objects.get(geographic_level="National", education_phase="Primary")
    source = next(r for r in rows if r[header.index("geographic_level")] == "National"
                  and r[header.index("education_phase")] == "Primary")
    assert national.possible_sessions == int(source[header.index("possible_sessions")]) == 1_299_079_364
    assert national.overall_absence == 68_548_268  # dfe-rules §2.2
    assert national.attendance_perc == float(source[header.index("attendance_perc")])
    assert national.pa_perc == float(source[header.index("pa_perc")])
    assert national.reasons["reason_o_other_unauthorised"] == 10_312_019


@pytest.mark.django_db
def test_a_later_file_of_the_same_period_replaces_the_figures(tmp_path: Path) -> None:
    header, rows = _rows()
    call_command("import_dfe_attendance", str(DFE_FILE))
    level, phase = header.index("geographic_level"), header.index("education_phase")
    national = [r for r in rows if r[level] == "National"]
    for r in national:
        r[header.index("pa_perc")] = "12.5"
    call_command("import_dfe_attendance", str(_write(tmp_path, header, national)))
    assert DfePublishedFigure.objects.count() == len(national)
    assert DfePublishedFigure.objects.get(education_phase="Primary").pa_perc == 12.5
    assert {r[phase] for r in national} >= {"Primary", "Secondary"}


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "message"), [
    (lambda h, rows: rows[4].__setitem__(h.index("possible_sessions"), "lots"),
     "line 6: possible_sessions should be a number"),
    (lambda h, rows: rows[9].__setitem__(h.index("geographic_level"), "Planet"), "line 11: geographic_level"),
    (lambda h, rows: rows[2].__setitem__(h.index("late_sessions"), "-4"), "line 4: late_sessions cannot be negative"),
    (lambda h, rows: rows[0].pop(), "line 2: it has"),
    (lambda h, rows: rows.append(list(rows[3])), "appears twice"),
])
def test_a_malformed_file_names_the_line_and_writes_nothing(tmp_path: Path, change, message) -> None:
    header, rows = _rows()
    change(header, rows)
    with pytest.raises(CommandError, match=message):
        call_command("import_dfe_attendance", str(_write(tmp_path, header, rows)))
    assert DfePublishedFigure.objects.count() == 0


@pytest.mark.django_db
def test_a_file_without_dfe_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,value\nx,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: the header lacks time_period"):
        call_command("import_dfe_attendance", str(path))
    assert DfePublishedFigure.objects.count() == 0
