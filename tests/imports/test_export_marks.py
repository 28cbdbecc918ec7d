"""export_marks writes marks.csv in the load_school format; a round trip gives identical marks."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from attendance_portal.models import School
from registers.models import Mark

from .helpers import ADA, BEN, CARA, SCHOOL, load, school_json, write_files

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_marks", *args, stdout=out)
    return out.getvalue()


def marks_of(slug: str) -> set[tuple]:
    school = School.objects.get(slug=slug)
    with scope(school=school):
        return set(Mark.objects.filter(school=school).values_list(
            "pupil__upn", "date", "session", "code", "minutes_late"))


def test_export_is_sorted_and_in_the_import_format(tmp_path):
    load(write_files(tmp_path))
    text = export("--school", "elm", "--from", "2025-09-01", "--to", "2025-09-30")
    assert text.splitlines() == [
        "upn,date,session,code,minutes_late",
        f"{CARA},2025-09-08,AM,N,",
        f"{CARA},2025-09-09,AM,U,20",
        f"{BEN},2025-09-08,AM,L,5",
        f"{ADA},2025-09-08,AM,/,",
        f"{ADA},2025-09-08,PM,\\,",
    ]


def test_round_trip_into_a_fresh_school_gives_identical_marks(tmp_path):
    load(write_files(tmp_path / "source"))
    exported = export("--school", "elm", "--from", "2023-09-01", "--to", "2026-08-31")
    oak = school_json(school={**SCHOOL["school"], "slug": "oak", "name": "Oak Primary"})
    load(write_files(tmp_path / "copy", school=oak, marks=exported))
    assert marks_of("oak") == marks_of("elm")
    assert len(marks_of("oak")) == 6
    assert export("--school", "oak", "--from", "2023-09-01", "--to", "2026-08-31") == exported


@pytest.mark.parametrize(("args", "message"), [
    (["--school", "nowhere", "--from", "2025-09-01", "--to", "2025-09-30"], "No school with the slug 'nowhere'"),
    (["--school", "elm", "--from", "01/09/2025", "--to", "2025-09-30"], "--from must be a date written YYYY-MM-DD"),
    (["--school", "elm", "--from", "2025-09-01", "--to", "2025-09-31"], "--to must be a date written YYYY-MM-DD"),
    (["--school", "elm", "--from", "2025-09-30", "--to", "2025-09-01"], "--to (2025-09-01) is before --from"),
], ids=["unknown-school", "bad-from", "bad-to", "reversed"])
def test_export_errors(tmp_path, args, message):
    load(write_files(tmp_path))
    with pytest.raises(CommandError) as caught:
        export(*args)
    assert message in str(caught.value)
