"""The DfE figures through the command-line contract (which reads the summaries)."""

import datetime as dt
import json

import time_machine
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from registers.models import Enrolment
from reporting.models import AttendanceSummary
from reporting.selectors import school_headline
from reporting.services import calculation_run
from tests.conftest import add_calendar

from .helpers import enrol, record, school_sessions

AUTUMN = ("2025-09-01", "2025-12-19")


def stats(capsys, school, start=AUTUMN[0], end=AUTUMN[1]):
    capsys.readouterr()
    call_command("attendance_stats", "--school", school.slug, "--from", start, "--to", end, "--json")
    return json.loads(capsys.readouterr().out)


def pupil_with(school, codes, *, start=dt.date(2025, 9, 3), **kwargs):
    with scopes_disabled():
        enrolment = enrol(school, **kwargs)
        record(enrolment, school_sessions(school, start, len(codes)), codes)
    return enrolment


def test_exactly_ten_percent_absence_is_persistent(school, capsys):
    pupil_with(school, "." * 18 + "II", upn="A00000000001A")  # 2 of 20: exactly 10 %
    pupil_with(school, "." * 20 + "I", upn="A00000000002A")  # 1 of 21: 4.8 %
    pupil_with(school, "." * 10 + "O", upn="A00000000003A")  # 1 of 11: 9.09 %
    result = stats(capsys, school)
    flags = {p["upn"]: p["persistent_absence"] for p in result["pupils"]}
    assert flags == {"A00000000001A": True, "A00000000002A": False, "A00000000003A": False}
    assert result["totals"]["persistent_absence"] == 1
    assert result["pupils"][0]["attendance_rate"] == 90.0


def test_exactly_fifty_percent_absence_is_severe(school, capsys):
    pupil_with(school, "." * 10 + "G" * 10, upn="B00000000001A")
    pupil_with(school, "." * 11 + "G" * 9, upn="B00000000002A")
    result = stats(capsys, school)
    assert [p["severe_absence"] for p in result["pupils"]] == [True, False]
    assert [p["persistent_absence"] for p in result["pupils"]] == [True, True]
    assert result["totals"]["severe_absence"] == 1


def test_not_possible_codes_are_left_out_of_possible_sessions(school, capsys):
    codes = [".", ".", "D", "X", "Y1", "Z", "#", "Q", "Y7", "I"]
    pupil_with(school, codes, upn="C00000000001A")
    pupil = stats(capsys, school)["pupils"][0]
    assert pupil["possible"] == 3
    assert pupil["attendance"] == 2
    assert pupil["authorised"] == 1


def test_zero_possible_enrolments_are_left_out(school, capsys):
    pupil_with(school, ["D"] * 10, upn="C00000000002A")  # dual registered, all sessions elsewhere
    pupil_with(school, "..", upn="C00000000003A")
    result = stats(capsys, school)
    assert [p["upn"] for p in result["pupils"]] == ["C00000000003A"]
    assert result["totals"]["enrolments"] == 1


def test_every_category_is_counted(school, capsys):
    codes = ["/", "\\", "L", "K", "V", "P", "W", "B", "C1", "M", "J1", "S", "C2", "C", "T", "R", "I", "E",
             "G", "N", "O", "U"]
    pupil_with(school, codes, upn="D00000000001A")
    totals = stats(capsys, school)["totals"]
    assert totals == {
        "enrolments": 1, "possible": 22, "present": 3, "approved_educational_activity": 5, "attendance": 8,
        "authorised": 10, "unauthorised": 4, "late_before_close": 1, "late_after_close": 1,
        "attendance_rate": round(800 / 22, 2), "persistent_absence": 1, "severe_absence": 1,
    }


def test_legacy_codes_keep_their_old_meaning(school, capsys):
    with scopes_disabled():
        add_calendar(school, year_start=dt.date(2023, 9, 1))
    # J was an approved educational activity (attendance), H and F authorised, Y not possible.
    pupil_with(school, [".", "J", "H", "F", "Y", "."], start=dt.date(2023, 9, 4), upn="E00000000001A")
    pupil = stats(capsys, school, "2023-09-01", "2023-12-31")["pupils"][0]
    assert (pupil["possible"], pupil["attendance"], pupil["authorised"]) == (5, 3, 2)


def test_a_pupil_who_joined_mid_term_is_judged_on_their_own_sessions(school, capsys):
    pupil_with(school, "." * 9 + "O", start=dt.date(2025, 10, 13), admitted=dt.date(2025, 10, 13),
               upn="F00000000001A")
    pupil = stats(capsys, school)["pupils"][0]
    assert pupil["possible"] == 10
    assert pupil["persistent_absence"] is True


def test_a_dual_registered_pupil_counts_only_sessions_here(school, capsys):
    codes = [".", "D"] * 10  # mornings here, afternoons at the other school
    enrolment = pupil_with(school, codes, upn="G00000000001A")
    with scopes_disabled():
        Enrolment.objects.filter(pk=enrolment.pk).update(registration_type=Enrolment.RegistrationType.DUAL_MAIN)
    pupil = stats(capsys, school)["pupils"][0]
    assert (pupil["possible"], pupil["attendance"], pupil["attendance_rate"]) == (10, 10, 100.0)


def test_a_range_inside_one_week_reads_the_marks_of_those_days_only(school, capsys):
    pupil_with(school, "GGGGGGGGGG", start=dt.date(2025, 9, 8), upn="H00000000001A")  # Mon-Fri
    pupil = stats(capsys, school, "2025-09-10", "2025-09-11")["pupils"][0]
    assert pupil["possible"] == 4
    assert pupil["unauthorised"] == 4


def test_a_pupil_enrolled_twice_appears_once_per_enrolment(school, capsys):
    first = pupil_with(school, "..", upn="J00000000001A")
    with scopes_disabled():
        again = Enrolment.objects.create(school=school, pupil=first.pupil, admission_date=dt.date(2025, 11, 3))
        record(again, school_sessions(school, dt.date(2025, 11, 3), 2), "II")
    pupils = stats(capsys, school)["pupils"]
    assert [(p["upn"], p["attendance"]) for p in pupils] == [("J00000000001A", 2), ("J00000000001A", 0)]


def test_the_home_page_headline_reads_the_summaries(school):
    pupil_with(school, "." * 18 + "II")
    # The summaries are written with the marks: the headline is current before any run.
    with scope(school=school):
        live = school_headline(school=school, on=dt.date(2025, 10, 1))
    assert (live.enrolments, live.possible, live.attendance, live.persistent_absence) == (1, 20, 18, 1)
    assert live.attendance_rate == 90.0
    # It reads them, not the marks: with the summary rows gone it counts nothing.
    with scope(school=school):
        AttendanceSummary.objects.filter(school=school).delete()
        assert school_headline(school=school, on=dt.date(2025, 10, 1)).enrolments == 0
        calculation_run(school=school, on=dt.date(2025, 10, 1), full=True)
        assert school_headline(school=school, on=dt.date(2025, 10, 1)) == live


def test_the_home_page_shows_the_figures(school, head_client):
    pupil_with(school, "." * 18 + "II")
    with time_machine.travel(dt.datetime(2025, 10, 1, 12, tzinfo=dt.UTC), tick=False):
        with scope(school=school):
            calculation_run(school=school)
        page = head_client.get(f"/s/{school.slug}/").content.decode()
    assert "90.0%" in page
    # A year later the school has not set up its new year: last year's figures are not shown as current.
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC), tick=False):
        assert "90.0%" not in head_client.get(f"/s/{school.slug}/").content.decode()


def test_another_schools_pupils_are_not_counted(world, school, capsys):
    with scopes_disabled():
        add_calendar(world.other)
    pupil_with(world.other, "GGGG")
    assert stats(capsys, school)["totals"]["enrolments"] == 0
