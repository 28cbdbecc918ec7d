"""load_school: every bad-input rule names its file and line and writes nothing; good files load."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from registers.models import AcademicYear, Closure, Enrolment, Mark, MarkEvent, Pupil, SessionTimes, Term
from registers.selectors import mark_history

from .helpers import (
    ADA,
    BEN,
    CARA,
    MARKS,
    PUPILS,
    SCHOOL,
    STORED_MARKS,
    UNLISTED,
    assert_problem,
    json_line,
    load,
    rejected,
    school_json,
    table_counts,
    write_files,
)

pytestmark = pytest.mark.django_db

EXTRA_MARK_LINE = 9  # MARKS has a header and seven rows
EXTRA_PUPIL_LINE = 5
NEW_PUPIL = f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,"


# --------------------------------------------------------------------------- marks.csv rules

MARK_CASES = [
    (f"{UNLISTED},2025-09-08,AM,/,", f"UPN {UNLISTED} is not in pupils.csv"),
    ("Z881300020004,2025-09-08,AM,/,", "check letter does not match"),
    ("X12,2025-09-08,AM,/,", "must be 13 characters"),
    (f"{ADA},08/09/2025,AM,/,", "date '08/09/2025' is not a date written YYYY-MM-DD"),
    (f"{ADA},2025-09-31,AM,/,", "date '2025-09-31' is not a date"),
    (f"{ADA},2025-09-10,EV,/,", "session must be AM or PM, not 'EV'"),
    (f"{ADA},2025-09-10,AM,QQ,", "'QQ' is not an attendance code"),
    (f"{ADA},2025-09-10,AM,H,", "Code 'H' is not valid on 10 September 2025 (in use up to 18 August 2024)"),
    (f"{ADA},2025-09-10,AM,Y,", "Code 'Y' is not valid on 10 September 2025"),
    (f"{ADA},2024-06-11,AM,K,", "Code 'K' is not valid on 11 June 2024 (in use from 19 August 2024)"),
    (f"{ADA},2024-06-11,AM,F,", "Code 'F' is not valid on 11 June 2024 (in use up to 31 August 2013)"),
    (f"{ADA},2025-09-10,AM,L,5.5", "minutes_late must be empty or a whole number, not '5.5'"),
    (f"{ADA},2025-09-10,AM,L,-3", "minutes_late must be empty or a whole number, not '-3'"),
    (f"{ADA},2025-09-10,AM,U,ten", "minutes_late must be empty or a whole number, not 'ten'"),
    (f"{ADA},2025-09-10,AM,/,3", "minutes_late can only be given with L or U, not with '/'"),
    (f"{ADA},2025-09-10,AM,L,301", "minutes_late must be at most 300"),
    (f"{ADA},2025-09-06,AM,/,", "Sat 06 September 2025 AM is not a school session (weekend)"),
    (f"{ADA},2025-10-28,AM,/,", "Tue 28 October 2025 AM is not a school session (outside term time)"),
    (f"{ADA},2025-11-14,PM,\\,", "Fri 14 November 2025 PM is not a school session (INSET day)"),
    (f"{ADA},2025-11-21,PM,\\,", "Fri 21 November 2025 PM is not a school session (Staff training)"),
    (f"{ADA},2025-09-10,AM,#,", "'#' marks a planned closure, but Wed 10 September 2025 AM is a school session"),
    (f"{BEN},2025-11-03,AM,/,", f"{BEN} is not on the admission register on 03 November 2025"),
    (f"{BEN},2024-06-10,AM,/,", f"{BEN} is not on the admission register on 10 June 2024"),
    (f"{ADA},2025-09-08,AM,L,3", f"{ADA} 2025-09-08 AM appears twice (also line 2)"),
    (f"{ADA},2025-09-10,AM", "Expected 5 values (one per header column), found 3"),
]


@pytest.mark.parametrize(("row", "message"), MARK_CASES, ids=[m for _, m in MARK_CASES])
def test_bad_mark_row_is_reported_with_its_line_and_nothing_is_written(tmp_path, row, message):
    lines = rejected(write_files(tmp_path, marks=MARKS + row + "\n"))
    assert_problem(lines, "marks.csv", EXTRA_MARK_LINE, message)
    assert len(lines) == 1, lines


def test_closure_code_on_a_closed_session_is_accepted_and_stores_nothing(tmp_path):
    marks = MARKS + f"{CARA},2025-11-21,PM,#,\n{CARA},2025-11-21,AM,/,\n{CARA},2025-09-13,AM,#,\n"
    out = load(write_files(tmp_path, marks=marks))
    assert "3 closure (#) skipped" in out
    school = School.objects.get(slug="elm")
    with scope(school=school):
        assert Mark.objects.filter(school=school).count() == STORED_MARKS + 1
        assert not Mark.objects.filter(school=school, code="#").exists()


@pytest.mark.parametrize(("marks", "line", "message"), [
    ("upn,date,session,code\n", 1, "missing column(s): minutes_late"),
    ("upn,date,session,code,minutes_late,note\n", 1, "Unknown column(s) in the header row: 'note'"),
    ("upn,date,session,code,code,minutes_late\n", 1, "Column 'code' appears more than once"),
    ("", 1, "The file is empty. The first line must be the header row"),
    (None, None, "The file is missing"),
    (MARKS.encode() + f"{ADA},2025-09-10,AM,/,caf\xe9\n".encode("latin-1"), 9, "not UTF-8 text"),
], ids=["missing-column", "unknown-column", "duplicate-column", "empty", "missing-file", "not-utf8"])
def test_bad_marks_file(tmp_path, marks, line, message):
    lines = rejected(write_files(tmp_path, marks=marks))
    assert_problem(lines, "marks.csv", line, message)


# --------------------------------------------------------------------------- pupils.csv rules

PUPIL_CASES = [
    (f"A{UNLISTED[1:]},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N", "check letter does not match"),
    ("1234,Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N", "UPN '1234' must be 13 characters long"),
    (f"{ADA},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N", f"UPN {ADA} appears twice (also line 2)"),
    (f"{UNLISTED},Dan,Ng,2015-02-30,5,5B,2025-09-03,,N,N,N,N,N", "date_of_birth '2015-02-30' is not a date"),
    (f"{UNLISTED},Dan,Ng,14/03/2015,5,5B,2025-09-03,,N,N,N,N,N", "date_of_birth '14/03/2015' is not a date"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,,,N,N,N,N,N", "admission_date is empty"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,2025-09-01,N,N,N,N,N",
     "leaving_date 2025-09-01 is before admission_date 2025-09-03"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,15,5B,2025-09-03,,N,N,N,N,N", "year_group '15' is not a year group"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,Y5,5B,2025-09-03,,N,N,N,N,N", "year_group 'Y5' is not a year group"),
    (f"{UNLISTED},,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N", "forename is empty"),
    (f"{UNLISTED},Dan,,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N", "surname is empty"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,,2025-09-03,,N,N,N,N,N", "registration_group is empty"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,S,N,N,N,N", "sen must be N, K or E, not 'S'"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,yes,N,N,N", "fsm must be Y or N, not 'yes'"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,1,N,N", "eal must be Y or N, not '1'"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,X,N", "cla must be Y or N, not 'X'"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,?", "cin must be Y or N, not '?'"),
    (f"{UNLISTED},Dan,Ng,2015-06-01,5,5B", "Expected 13 values (one per header column), found 6"),
]


@pytest.mark.parametrize(("row", "message"), PUPIL_CASES, ids=[m for _, m in PUPIL_CASES])
def test_bad_pupil_row_is_reported_with_its_line_and_nothing_is_written(tmp_path, row, message):
    lines = rejected(write_files(tmp_path, pupils=PUPILS + row + "\n"))
    assert_problem(lines, "pupils.csv", EXTRA_PUPIL_LINE, message)
    assert len(lines) == 1, lines


@pytest.mark.parametrize(("pupils", "line", "message"), [
    (PUPILS.replace(",surname,", ",", 1), 1, "missing column(s): surname"),
    (PUPILS.replace(",cin\n", ",fms\n", 1), 1, "Unknown column(s) in the header row: 'fms'"),
    ("", 1, "The file is empty"),
    (None, None, "The file is missing"),
    (PUPILS.encode() + f"{UNLISTED},Zo\xeb,Ng,2015-06-01,5,5B,2025-09-03,,N,N,N,N,N\n".encode("latin-1"), 5,
     "not UTF-8 text"),
], ids=["missing-column", "unknown-column", "empty", "missing-file", "not-utf8"])
def test_bad_pupils_file(tmp_path, pupils, line, message):
    lines = rejected(write_files(tmp_path, pupils=pupils))
    assert_problem(lines, "pupils.csv", line, message)


# --------------------------------------------------------------------------- school.json rules


def _edit(fn):
    data = school_json()
    fn(data)
    return data


SCHOOL_CASES = [
    ("no-school-block", lambda d: d.pop("school"), None, 'needs a "school" block'),
    ("bad-slug", lambda d: d["school"].update(slug="Elm Primary!"), '"urn"',
     '"school" "slug" may contain only letters'),
    ("no-name", lambda d: d["school"].update(name=" "), '"urn"', '"school" needs "name"'),
    ("bad-urn", lambda d: d["school"].update(urn="12AB"), '"urn"', '"school" "urn" must be six digits'),
    ("bad-phase", lambda d: d["school"].update(phase="infant"), '"urn"', '"school" "phase" must be one of'),
    ("bad-trust-slug", lambda d: d["trust"].update(slug="a b"), '"Elmstead Trust"',
     '"trust" "slug" may contain only'),
    ("unknown-key", lambda d: d.update(closure=[]), None, "Unknown key(s) in the file: closure"),
    ("bad-year-group", lambda d: d["session_times"][0].update(year_groups=["5", "15"]), '"08:45"',
     "'15' is not a year group"),
    ("close-before-open", lambda d: d["session_times"][0].update(am=["09:00", "08:45"]), '"13:15"',
     "Year group 5: Morning register must close after it opens."),
    ("open-too-long", lambda d: d["session_times"][0].update(pm=["13:00", "13:45"]), '"13:45"',
     "Year group 5: Afternoon register may be open for at most 30 minutes."),
    ("bad-time", lambda d: d["session_times"][0].update(am=["9am", "09:15"]), '"9am"',
     "\"am\" must be the morning register's open and close times"),
    ("year-group-twice", lambda d: d["session_times"][1].update(year_groups=["R", "6"]), '"08:50"',
     "Register times for year group 6 are given twice"),
    ("year-ends-first", lambda d: d["academic_years"][1].update(end="2025-08-01"), '"2025-08-01"',
     "The academic year must end after it starts"),
    ("bad-year-date", lambda d: d["academic_years"][1].update(start="1/9/2025"), '"1/9/2025"',
     'The academic year "start" must be a date written YYYY-MM-DD'),
    ("term-outside-year", lambda d: d["academic_years"][1]["terms"][0].update(start="2025-08-20"), '"2025-08-20"',
     "Term 'Autumn 1' must lie inside its academic year"),
    ("term-ends-first", lambda d: d["academic_years"][1]["terms"][0].update(end="2025-09-01"), '"Autumn 1"',
     "Term 'Autumn 1' ends before it starts"),
    ("term-overlap", lambda d: d["academic_years"][1]["terms"][1].update(start="2025-10-20"), '"2025-10-20"',
     "Term 'Autumn 2' overlaps term 'Autumn 1'"),
    ("term-twice", lambda d: d["academic_years"][1]["terms"][1].update(name="autumn 1"), '"autumn 1"',
     "Term 'autumn 1' is listed twice"),
    ("closure-session", lambda d: d["academic_years"][1]["closures"][0].update(session="EVENING"), '"EVENING"',
     "Closure session must be AM, PM or BOTH, not 'EVENING'"),
    ("closure-outside-year", lambda d: d["academic_years"][1]["closures"][0].update(date="2026-09-04"),
     '"2026-09-04"', "The closure on 2026-09-04 is outside its academic year"),
    ("closure-no-reason", lambda d: d["academic_years"][1]["closures"][0].update(reason=""), '"2025-11-14"',
     'The closure needs "reason"'),
    ("years-overlap", lambda d: d["academic_years"].append({"start": "2026-08-01", "end": "2027-07-31"}),
     '"2027-07-31"', "Academic year 2026/27 overlaps academic year 2025/26"),
]


@pytest.mark.parametrize(("name", "change", "needle", "message"), SCHOOL_CASES, ids=[c[0] for c in SCHOOL_CASES])
def test_bad_school_json_is_reported_with_its_line_and_nothing_is_written(tmp_path, name, change, needle, message):
    data = _edit(change)
    text = json.dumps(data, indent=2)
    lines = rejected(write_files(tmp_path, school=text))
    line = json_line(text, needle) if needle else 1
    if name == "unknown-key":
        line = 1
    assert_problem(lines, "school.json", line, message)


def test_school_json_that_is_not_json(tmp_path):
    lines = rejected(write_files(tmp_path, school='{"school": {"name": "Elm",\n}'))
    assert_problem(lines, "school.json", 2, "This is not valid JSON")


def test_missing_school_json(tmp_path):
    lines = rejected(write_files(tmp_path, school=None))
    assert_problem(lines, "school.json", None, "The file is missing")


def test_problems_in_every_file_are_reported_together(tmp_path):
    pupils = PUPILS + f"{UNLISTED},Dan,Ng,2015-06-01,5,5B,2025-09-03,,N,N,maybe,N,N\n"
    marks = MARKS + f"{ADA},2025-09-06,AM,/,\n" + f"{UNLISTED},2025-09-08,AM,/,\n"
    lines = rejected(write_files(tmp_path, pupils=pupils, marks=marks))
    assert_problem(lines, "pupils.csv", 5, "eal must be Y or N")
    assert_problem(lines, "marks.csv", 9, "not a school session (weekend)")
    # The rejected pupil's marks are not reported a second time as "not in pupils.csv".
    assert len(lines) == 2, lines


def test_at_most_200_problems_are_listed_with_the_total(tmp_path):
    marks = MARKS + "".join(f"{ADA},2025-09-06,AM,/,\n" for _ in range(250))
    lines = rejected(write_files(tmp_path, marks=marks))
    assert len(lines) == 201
    assert lines[0].startswith("marks.csv line 9: ")
    assert lines[199].startswith("marks.csv line 208: ")
    assert lines[-1] == "… and 50 more problem(s) not listed."


@pytest.mark.django_db(transaction=True)
def test_exit_status_is_non_zero_and_problems_go_to_stderr(tmp_path):
    import os
    import subprocess
    import sys
    from urllib.parse import urlparse

    from django.db import connection

    write_files(tmp_path, marks=MARKS + f"{ADA},2025-09-06,AM,/,\n")
    url = urlparse(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    done = subprocess.run([sys.executable, "manage.py", "load_school", str(tmp_path)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "attendance_portal.settings.test",
                               "DATABASE_URL": url})
    assert done.returncode == 1, done.stderr
    assert "marks.csv line 9: Sat 06 September 2025 AM is not a school session (weekend)." in done.stderr
    assert "Import rejected: 1 problem(s); nothing was written." in done.stderr
    assert not School.objects.filter(slug="elm").exists()


# --------------------------------------------------------------------------- good files


def test_imports_a_whole_school(tmp_path):
    out = load(write_files(tmp_path))
    assert f"marks {STORED_MARKS} created, 0 amended" in out
    school = School.objects.select_related("trust").get(slug="elm")
    assert (school.name, school.urn, school.local_authority, school.trust.slug) == (
        "Elm Primary", "123456", "Essex", "elmstead")
    with scope(school=school):
        assert [y.name for y in AcademicYear.objects.filter(school=school)] == ["2023/24", "2025/26"]
        seasons = dict(Term.objects.filter(school=school).values_list("name", "season"))
        assert seasons == {"Summer 2": "summer", "Autumn 1": "autumn", "Autumn 2": "autumn"}
        assert set(Closure.objects.filter(school=school).values_list("date", "session")) == {
            (dt.date(2025, 11, 14), "BOTH"), (dt.date(2025, 11, 21), "PM")}
        times = SessionTimes.objects.get(school=school, year_group="R")
        assert (times.am_open, times.pm_close) == (dt.time(8, 50), dt.time(13, 15))
        assert SessionTimes.objects.filter(school=school).count() == 3
        ada = Pupil.objects.select_related("registration_group").get(school=school, upn=ADA)
        assert (ada.sen, ada.fsm, ada.eal, ada.looked_after, ada.child_in_need) == ("K", True, False, False, True)
        assert ada.registration_group.name == "5B" and ada.registration_group.year_group == "5"
        ben = Enrolment.objects.get(school=school, pupil__upn=BEN)
        assert (ben.admission_date, ben.leaving_date) == (dt.date(2025, 9, 3), dt.date(2025, 10, 24))
        late = Mark.objects.get(school=school, pupil__upn=CARA, date=dt.date(2025, 9, 9))
        assert (late.code, late.minutes_late) == ("U", 20)
        assert Mark.objects.get(school=school, pupil__upn=ADA, date=dt.date(2024, 6, 10)).code == "H"
        # Every imported mark is in the append-only audit record, attributed to the import.
        events = MarkEvent.objects.filter(school=school)
        assert events.count() == STORED_MARKS
        assert {(e.pgh_label, e.pgh_context["source"], e.pgh_context["reason"]) for e in events} == {
            ("recorded", "import", "imported")}


def test_bom_crlf_and_any_column_order(tmp_path):
    def shuffle(text: str, order: list[int]) -> str:
        rows = [line.split(",") for line in text.strip("\n").split("\n")]
        return "\r\n".join(",".join(row[i] for i in order) for row in rows) + "\r\n"

    pupils = "\ufeff" + shuffle(PUPILS, [12, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11])
    marks = "\ufeff" + shuffle(MARKS, [4, 3, 2, 1, 0])
    school = "\ufeff" + json.dumps(SCHOOL, indent=2).replace("\n", "\r\n")
    out = load(write_files(tmp_path, school=school, pupils=pupils, marks=marks))
    assert f"marks {STORED_MARKS} created" in out
    school_row = School.objects.get(slug="elm")
    with scope(school=school_row):
        assert Pupil.objects.get(school=school_row, upn=ADA).forename == "Ada"
        assert Mark.objects.get(school=school_row, pupil__upn=BEN, date=dt.date(2025, 9, 8)).minutes_late == 5


def test_optional_pupil_columns_may_be_left_out(tmp_path):
    pupils = "\n".join(",".join(line.split(",")[:8]) for line in PUPILS.strip().split("\n")) + "\n"
    load(write_files(tmp_path, pupils=pupils))
    school = School.objects.get(slug="elm")
    with scope(school=school):
        cara = Pupil.objects.get(school=school, upn=CARA)
        assert (cara.sen, cara.looked_after) == ("N", False)


def test_reimporting_the_same_files_is_a_no_op(tmp_path):
    directory = write_files(tmp_path)
    load(directory)
    before = table_counts()
    out = load(directory)
    assert "pupils 0 created, 0 updated" in out
    assert "admissions 0 created, 0 updated" in out
    assert f"marks 0 created, 0 amended, {STORED_MARKS} unchanged" in out
    assert "calendar 0 created, 0 updated" in out
    assert table_counts() == before


def test_a_later_marks_file_amends_changed_marks_with_reason_imported(tmp_path, world):
    load(write_files(tmp_path))
    school = School.objects.get(slug="elm")
    with scope(school=school):
        ada = Pupil.objects.get(school=school, upn=ADA)
        # A note written by staff survives the re-import (the file has no note column).
        Mark.objects.filter(school=school, pupil=ada, date=dt.date(2025, 9, 8), session="AM").update(note="keep")
    later = (MARKS.replace(f"{CARA},2025-09-08,AM,N,", f"{CARA},2025-09-08,AM,I,")
             .replace(f"{ADA},2025-09-08,AM,/,", f"{ADA},2025-09-08,AM,L,12")
             + f"{ADA},2025-09-09,AM,/,\n")
    out = load(write_files(tmp_path, marks=later), "--by", world.users["office_staff"].username)
    assert "marks 1 created, 2 amended, 4 unchanged" in out
    with scope(school=school):
        cara = Pupil.objects.get(school=school, upn=CARA)
        history = mark_history(school=school, pupil_id=cara.pk)
        amended = [h for h in history if h["label"] == "amended"]
        assert len(amended) == 1
        assert (amended[0]["original"], amended[0]["new"], amended[0]["reason"]) == ("N", "I", "imported")
        assert amended[0]["name"] == world.users["office_staff"].display_name()
        mark = Mark.objects.get(school=school, pupil=ada, date=dt.date(2025, 9, 8), session="AM")
        assert (mark.code, mark.minutes_late, mark.note, mark.version) == ("L", 12, "keep", 2)


def test_unknown_user_for_by(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No user called 'nobody'"):
        call_command("load_school", str(write_files(tmp_path)), "--by", "nobody")


def test_not_a_directory(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="is not a directory"):
        call_command("load_school", str(tmp_path / "nope"))


# --------------------------------------------------------------------------- rules against the existing school


def test_a_new_closure_on_a_session_with_marks_is_refused(tmp_path):
    load(write_files(tmp_path))
    data = school_json()
    data["academic_years"][1]["closures"].append({"date": "2025-09-08", "session": "AM", "reason": "Boiler"})
    text = json.dumps(data, indent=2)
    lines = rejected(write_files(tmp_path, school=text, marks=MARKS.replace(f"{ADA},2025-09-08,AM,/,\n", "")))
    assert_problem(lines, "school.json", json_line(text, '"Boiler"'),
                   "Marks are already recorded for 2025-09-08 AM, so it cannot become a closure")


def test_a_year_overlapping_an_existing_year_with_another_start_is_refused(tmp_path):
    """The same rule as the set-up page: a school's academic years never overlap (a year with the same start
    is the same year, updated)."""
    load(write_files(tmp_path))
    data = school_json()
    data["academic_years"][1] = {"start": "2026-06-01", "end": "2027-05-31", "terms": [], "closures": []}
    text = json.dumps(data, indent=2)
    lines = rejected(write_files(tmp_path, school=text))
    assert_problem(lines, "school.json", json_line(text, '"2026-06-01"'),
                   "overlaps the school's existing academic year 2025/26 (2025-09-01 to 2026-08-31)")


def test_an_admission_overlapping_an_existing_one_is_refused(tmp_path):
    load(write_files(tmp_path))
    cara = f"{CARA},Cara,Diaz,2014-01-01,6,6A,"
    pupils = PUPILS.replace(cara + "2023-09-01,", cara + "2024-01-08,")
    lines = rejected(write_files(tmp_path, pupils=pupils))
    assert_problem(lines, "pupils.csv", 4, "overlaps the pupil's existing admission register entry from 2023-09-01")


def test_a_leaving_date_before_saved_marks_is_refused(tmp_path):
    load(write_files(tmp_path))
    cara = f"{CARA},Cara,Diaz,2014-01-01,6,6A,2023-09-01,"
    pupils = PUPILS.replace(cara + ",", cara + "2025-09-08,")
    marks = MARKS.replace(f"{CARA},2025-09-09,AM,U,20\n", "")
    lines = rejected(write_files(tmp_path, pupils=pupils, marks=marks))
    assert_problem(lines, "pupils.csv", 4, "leaving_date 2025-09-08 is before marks already recorded")


def test_a_second_school_with_the_same_upns_is_separate(tmp_path):
    load(write_files(tmp_path / "a"))
    load(write_files(tmp_path / "b", school=school_json(school={**SCHOOL["school"], "slug": "oak", "name": "Oak"})))
    with scopes_disabled():
        assert Pupil.objects.filter(upn=ADA).count() == 2
        assert Mark.objects.count() == 2 * STORED_MARKS
