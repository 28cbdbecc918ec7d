"""Each signal rule, with its boundaries, through `attendance_signals` (computed as of a day)."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance_portal.models import School
from registers.models import SchoolPolicy
from tests.conftest import add_calendar

from .helpers import enrol, record, school_sessions


def signals(capsys, school, on, *extra):
    capsys.readouterr()
    call_command("attendance_signals", "--school", school.slug, "--on", on, "--json", *extra)
    return [(s["kind"], s["since"], s["sessions"]) for s in json.loads(capsys.readouterr().out)["signals"]]


def kinds(found, kind):
    return [s for s in found if s[0] == kind]


def marks_on(school, enrolment, days_codes):
    with scopes_disabled():
        for day, codes in days_codes:
            record(enrolment, [(day, "AM"), (day, "PM")][:len(codes)], codes)


@pytest.fixture
def pupil(school):
    with scopes_disabled():
        return enrol(school, upn="P00000000001A")


def test_penalty_threshold_window_skips_the_half_term_holiday(school, pupil, capsys):
    # Two sessions in the first week, eight in November: ten within the last ten school weeks on 13 Nov,
    # because the half-term week has no school session and does not count as a week.
    marks_on(school, pupil, [(dt.date(2025, 9, 4), "GG"), (dt.date(2025, 11, 10), "GG"), (dt.date(2025, 11, 11), "GG"),
                             (dt.date(2025, 11, 12), "UU"), (dt.date(2025, 11, 13), "OO")])
    assert kinds(signals(capsys, school, "2025-11-13"), "penalty_threshold") == [
        ("penalty_threshold", "2025-11-13", 10)]
    # Sessions after the day do not count.
    assert kinds(signals(capsys, school, "2025-11-12"), "penalty_threshold") == []
    # A week later the first school week has left the window.
    assert kinds(signals(capsys, school, "2025-11-17"), "penalty_threshold") == []


def test_penalty_threshold_window_crosses_into_a_new_academic_year(school, pupil, capsys):
    with scopes_disabled():
        add_calendar(school, year_start=dt.date(2026, 9, 1))
    marks_on(school, pupil, [(dt.date(2026, 7, 20), "GG"), (dt.date(2026, 7, 21), "NN"),
                             (dt.date(2026, 9, 3), "OO"), (dt.date(2026, 9, 4), "UU"), (dt.date(2026, 9, 7), "GG")])
    assert kinds(signals(capsys, school, "2026-09-07"), "penalty_threshold") == [
        ("penalty_threshold", "2026-09-07", 10)]


def test_penalty_threshold_reached_in_the_old_year_holds_on_into_the_new(school, pupil, capsys):
    """The tenth session falls in July and the window reaches back to it from September: the signal is
    what started it, so the September sessions change neither its start nor its count."""
    with scopes_disabled():
        add_calendar(school, year_start=dt.date(2026, 9, 1))
    marks_on(school, pupil, [(dt.date(2026, 7, 13), "/G"), *((dt.date(2026, 7, day), "GG") for day in range(14, 18)),
                             (dt.date(2026, 7, 20), "G/"), (dt.date(2026, 9, 3), "OU")])
    assert kinds(signals(capsys, school, "2026-09-07"), "penalty_threshold") == [
        ("penalty_threshold", "2026-07-20", 10)]


def test_penalty_threshold_starts_when_the_rule_began_to_hold_not_when_the_window_last_moved(school, pupil, capsys):
    """Two G sessions every Monday: ten in the window from 6 October, and never fewer since, although by
    mid-December the sessions that reached ten have left the window."""
    mondays = [dt.date(2025, 9, 8) + dt.timedelta(weeks=n) for n in range(15)]
    marks_on(school, pupil, [(day, "GG") for day in mondays if day != dt.date(2025, 10, 27)])  # half term
    assert kinds(signals(capsys, school, "2025-12-15"), "penalty_threshold") == [
        ("penalty_threshold", "2025-10-06", 10)]
    assert kinds(signals(capsys, school, "2025-10-03"), "penalty_threshold") == []  # eight so far


def test_penalty_threshold_that_lapsed_for_a_day_starts_again(school, pupil, capsys):
    """Ten G sessions by 6 October hold the rule until the window moves past the first of them (Monday
    24 November); two more the next day bring it back, and the signal starts again from then (until the
    window moves on again)."""
    marks_on(school, pupil, [*((dt.date(2025, 9, 8) + dt.timedelta(weeks=n), "GG") for n in range(5)),
                             (dt.date(2025, 11, 25), "GG")])
    assert kinds(signals(capsys, school, "2025-11-21"), "penalty_threshold") == [
        ("penalty_threshold", "2025-10-06", 10)]
    assert kinds(signals(capsys, school, "2025-11-24"), "penalty_threshold") == []
    assert kinds(signals(capsys, school, "2025-11-28"), "penalty_threshold") == [
        ("penalty_threshold", "2025-11-25", 10)]


def test_penalty_threshold_only_for_compulsory_school_age_at_state_funded_schools(school, capsys):
    with scopes_disabled():
        young = enrol(school, upn="P00000000002A", date_of_birth=dt.date(2021, 6, 1))  # not five until June 2026
        older = enrol(school, upn="P00000000003A")
        for enrolment in (young, older):
            record(enrolment, school_sessions(school, dt.date(2025, 9, 8), 10), "G")
    assert len(kinds(signals(capsys, school, "2025-09-12"), "penalty_threshold")) == 1
    School.objects.filter(pk=school.pk).update(state_funded=False)
    school.refresh_from_db()
    assert kinds(signals(capsys, school, "2025-09-12"), "penalty_threshold") == []


def test_penalty_threshold_can_leave_out_n_by_policy(school, pupil, capsys):
    marks_on(school, pupil, [(dt.date(2025, 9, 8), "GG"), (dt.date(2025, 9, 9), "GG"), (dt.date(2025, 9, 10), "GG"),
                             (dt.date(2025, 9, 11), "GG"), (dt.date(2025, 9, 12), "GN")])
    assert len(kinds(signals(capsys, school, "2025-09-12"), "penalty_threshold")) == 1
    with scopes_disabled():
        SchoolPolicy.objects.create(school=school, effective_from=dt.date(2025, 9, 1), penalty_threshold_counts_n=False)
    assert kinds(signals(capsys, school, "2025-09-12"), "penalty_threshold") == []


def test_continuous_unauthorised_needs_ten_whole_school_days(school, pupil, capsys):
    with scopes_disabled():
        record(pupil, school_sessions(school, dt.date(2025, 9, 8), 20), "O" * 19 + "U")
    assert kinds(signals(capsys, school, "2025-09-19"), "continuous_unauthorised_10_days") == [
        ("continuous_unauthorised_10_days", "2025-09-08", 20)]
    # 19 sessions so far on the Friday morning: not yet.
    with scopes_disabled():
        other = enrol(school, upn="P00000000004A")
        record(other, school_sessions(school, dt.date(2025, 9, 8), 20), "O" * 9 + "." + "O" * 10)
    found = signals(capsys, school, "2025-09-19")
    assert len(kinds(found, "continuous_unauthorised_10_days")) == 1


def test_continuous_run_ends_when_the_pupil_comes_back(school, pupil, capsys):
    with scopes_disabled():
        record(pupil, school_sessions(school, dt.date(2025, 9, 8), 22), "G" * 20 + "..")
    assert kinds(signals(capsys, school, "2025-09-22"), "continuous_unauthorised_10_days") == []


def test_twenty_days_of_g_n_o_is_a_deletion_ground_review(school, pupil, capsys):
    with scopes_disabled():
        record(pupil, school_sessions(school, dt.date(2025, 9, 8), 40), "N" * 10 + "G" * 30)
    found = signals(capsys, school, "2025-10-03")
    assert kinds(found, "continuous_absence_20_days") == [("continuous_absence_20_days", "2025-09-08", 40)]
    with scopes_disabled():
        other = enrol(school, upn="P00000000005A")
        record(other, school_sessions(school, dt.date(2025, 9, 8), 40), "G" * 39 + "U")  # U is not a ground
    assert len(kinds(signals(capsys, school, "2025-10-03"), "continuous_absence_20_days")) == 1


def test_fifteen_days_of_illness_cumulative(school, pupil, capsys):
    sessions = school_sessions(school, dt.date(2025, 9, 8), 60)
    with scopes_disabled():
        record(pupil, sessions, "I." * 30)  # every other session: never consecutive
    assert kinds(signals(capsys, school, "2025-10-17"), "illness_15_days") == [
        ("illness_15_days", sessions[58][0].isoformat(), 30)]
    assert kinds(signals(capsys, school, sessions[56][0].isoformat()), "illness_15_days") == []


def test_n_code_overdue_after_five_school_days(school, pupil, capsys):
    # Replaceable up to the fifth school day after Monday 8th (Monday 15th); overdue from Tuesday 16th.
    marks_on(school, pupil, [(dt.date(2025, 9, 8), "N.")])
    assert kinds(signals(capsys, school, "2025-09-15"), "n_code_overdue") == []
    assert kinds(signals(capsys, school, "2025-09-16"), "n_code_overdue") == [("n_code_overdue", "2025-09-16", 1)]


def test_n_overdue_means_the_same_to_the_signals_and_the_office_across_a_weekend_and_an_inset_day(
        school, pupil, capsys, world):
    """R7, one meaning: an N on Friday 5 September, with the weekend and an INSET day (Wednesday 10th) in
    the way, may be replaced up to Monday 15th (the fifth school day after it) and is overdue on Tuesday
    16th, on the office's aged-N list and in the nightly signals alike."""
    from django.urls import reverse
    from rest_framework.test import APIClient

    from absence.selectors import aged_n_codes
    from registers.models import Closure

    api = APIClient()
    api.force_authenticate(world.users["attendance_officer"])

    with scopes_disabled():
        Closure.objects.create(school=school, date=dt.date(2025, 9, 10), session="BOTH", reason="INSET day")
    marks_on(school, pupil, [(dt.date(2025, 9, 5), "N.")])
    for day, overdue in [("2025-09-12", False), ("2025-09-13", False), ("2025-09-15", False),
                         ("2025-09-16", True), ("2025-09-17", True)]:
        found = kinds(signals(capsys, school, day), "n_code_overdue")
        assert found == ([("n_code_overdue", "2025-09-16", 1)] if overdue else []), day
        with scope(school=school):
            assert len(aged_n_codes(school=school, today=dt.date.fromisoformat(day))) == int(overdue), day
        listed = api.get(reverse("api:aged-n-code-list", args=[school.slug]), {"on": day}).json()
        assert listed == ([{"pupil": pupil.pupil_id, "date": "2025-09-05", "session": "AM",
                            "overdue_since": "2025-09-16"}] if overdue else []), day


def test_n_overdue_rule_itself():
    from registers.codes import n_overdue_before, n_overdue_from

    days = [dt.date(2025, 9, d) for d in (3, 4, 5, 8, 9, 11, 12, 15, 16)]  # no 10th: INSET
    assert n_overdue_before(days[:8], 5) == dt.date(2025, 9, 5)  # on Mon 15th: an N of the 5th is not yet due
    assert n_overdue_before(days, 5) == dt.date(2025, 9, 8)  # on Tue 16th: the 5th is overdue
    assert n_overdue_before(days[:5], 5) is None
    assert n_overdue_before(days, 0) is None
    assert n_overdue_from(days, dt.date(2025, 9, 5), 5) == dt.date(2025, 9, 16)
    assert n_overdue_from(days, dt.date(2025, 9, 9), 5) is None  # beyond the calendar


def test_punctuality_more_than_three_lates_in_three_school_weeks(school, pupil, capsys):
    marks_on(school, pupil, [(dt.date(2025, 9, 8), "L"), (dt.date(2025, 9, 15), "L"), (dt.date(2025, 9, 22), "U")])
    assert kinds(signals(capsys, school, "2025-09-26"), "punctuality") == []
    marks_on(school, pupil, [(dt.date(2025, 9, 23), "L")])
    assert kinds(signals(capsys, school, "2025-09-26"), "punctuality") == [("punctuality", "2025-09-23", 4)]


def test_rate_signals_and_their_start(school, pupil, capsys):
    sessions = school_sessions(school, dt.date(2025, 9, 3), 40)
    with scopes_disabled():
        record(pupil, sessions, "." * 30 + "N" * 10)
    found = signals(capsys, school, "2025-09-30", "--at-risk")
    # 2 of 32 on 24 Sep: 93.75 % attendance, below 95 %; 4 of 34 on 25 Sep: 11.8 %, persistent.
    # A rate signal's count is the absence that started it, not the absence since.
    assert kinds(found, "below_threshold") == [("below_threshold", "2025-09-24", 2)]
    assert kinds(found, "persistent_absence") == [("persistent_absence", "2025-09-25", 4)]
    assert kinds(found, "severe_absence") == []
    assert kinds(found, "at_risk") == []  # already persistent
    assert kinds(signals(capsys, school, "2025-09-30"), "at_risk") == []


def test_at_risk_and_letter_threshold_boundaries(school, capsys):
    with scopes_disabled():
        at_risk = enrol(school, upn="Q00000000001A")
        record(at_risk, school_sessions(school, dt.date(2025, 9, 3), 50), "." * 46 + "IIII")  # 8 %
        fine = enrol(school, upn="Q00000000002A")
        record(fine, school_sessions(school, dt.date(2025, 9, 3), 100), "." * 95 + "IIIII")  # exactly 95 %
    found = signals(capsys, school, "2025-10-24", "--at-risk")
    assert len(kinds(found, "at_risk")) == 1
    assert len(kinds(found, "below_threshold")) == 1  # 92 %, not the pupil at exactly 95 %


def _plain_rate_signals(school, on):
    """The rate rules the slow, obvious way: year-to-date counts from the marks at the end of every
    school day, the last day before `on` when the condition failed, and the first marked day after it."""
    from registers import codes as code_table
    from registers.calendar import calendar_for
    from registers.models import Mark
    from registers.selectors import policy_for

    calendar = calendar_for(school=school)
    policy = policy_for(school=school, day=on)
    year = calendar.year_for(on)
    at_risk_bp = round(policy.at_risk_absence_percent * 100)
    threshold_bp = round(policy.letter_threshold_percent * 100)
    conditions = {
        "persistent_absence": lambda a, t: a + t > 0 and 10 * a >= a + t,
        "severe_absence": lambda a, t: a + t > 0 and 2 * a >= a + t,
        "at_risk": lambda a, t: a + t > 0 and 10 * a < a + t and 10000 * a >= at_risk_bp * (a + t),
        "below_threshold": lambda a, t: a + t > 0 and 10000 * t < threshold_bp * (a + t),
    }
    marks: dict[int, dict[dt.date, list[str]]] = {}
    for m in Mark.objects.filter(school=school, date__gte=year.start, date__lte=on):
        marks.setdefault(m.enrolment_id, {}).setdefault(m.date, []).append(m.code)
    absent = code_table.AUTHORISED | code_table.UNAUTHORISED
    found = set()
    for enrolment_id, by_day in marks.items():
        def counts(upto, by_day=by_day):
            codes = [c for day, listed in by_day.items() if day <= upto for c in listed]
            return sum(c in absent for c in codes), sum(c in code_table.ATTENDANCE for c in codes)

        for kind, holds in conditions.items():
            if not holds(*counts(on)):
                continue
            failed = [d for d in calendar.days if year.start <= d < on and not holds(*counts(d))]
            since = min(d for d in by_day if not failed or d > failed[-1])
            found.add((enrolment_id, kind, since, counts(since)[0]))
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=["/", "/", "/", "/", "/", "I", "O", "N", "L", "V", "X"], min_size=1, max_size=70),
                min_size=1, max_size=5),
       st.integers(min_value=0, max_value=30))
def test_rate_signal_starts_match_a_day_by_day_walk(school, registers, later_days):
    """The rate rules check a week's days only when its last day's margins are close; whatever the
    register, the starts and counts must be what checking every school day gives."""
    from django.db import transaction

    from reporting.selectors import signals_as_of
    from reporting.services import calculation_run

    with transaction.atomic():
        with scopes_disabled():
            for n, codes in enumerate(registers):
                record(enrol(school, upn=f"W{n:011d}A"), school_sessions(school, dt.date(2025, 9, 3), len(codes)),
                       list(codes))
            on = school_sessions(school, dt.date(2025, 9, 3))[2 * later_days + 60][0]
        with scope(school=school):
            calculation_run(school=school, on=on)
            rate_kinds = {"persistent_absence", "severe_absence", "at_risk", "below_threshold"}
            computed = {(s.enrolment_id, s.kind, s.since, s.sessions) for s in signals_as_of(school=school, on=on)
                        if s.kind in rate_kinds}
            assert computed == _plain_rate_signals(school, on)
        transaction.set_rollback(True)


def test_stored_evidence_lists_the_sessions_and_changes_only_with_them(school, pupil):
    """The window's sessions up to the start, across a holiday and two years, in order, with their
    codes. Later sessions, counted or not, leave the stored row as it was; amending a session it rests
    on finds it again."""
    from registers.models import Mark
    from registers.services import MarkEntry, marks_save
    from reporting.models import AttendanceSignal
    from reporting.services import calculation_run

    with scopes_disabled():
        add_calendar(school, year_start=dt.date(2026, 9, 1))
    marks_on(school, pupil, [(dt.date(2026, 7, 20), "GG"), (dt.date(2026, 7, 21), "NU"),
                             (dt.date(2026, 9, 3), "OO"), (dt.date(2026, 9, 4), "UU"), (dt.date(2026, 9, 7), "GG")])

    def stored():
        with scope(school=school):
            return AttendanceSignal.objects.get(school=school, kind="penalty_threshold", active=True)

    with scope(school=school):
        calculation_run(school=school, on=dt.date(2026, 9, 7))
    first = stored()
    assert (first.since, first.sessions) == (dt.date(2026, 9, 7), 10)
    # Ten school weeks back from the week of 7 September: two in the new year, eight before the summer.
    assert first.evidence == {"from": "2026-06-01", "sessions": [
        ["2026-07-20", "AM", "G"], ["2026-07-20", "PM", "G"], ["2026-07-21", "AM", "N"], ["2026-07-21", "PM", "U"],
        ["2026-09-03", "AM", "O"], ["2026-09-03", "PM", "O"], ["2026-09-04", "AM", "U"], ["2026-09-04", "PM", "U"],
        ["2026-09-07", "AM", "G"], ["2026-09-07", "PM", "G"]]}
    # Later sessions change nothing (9 September is the last day to replace the N of 21 July, the fifth
    # school day after it: not yet overdue).
    for day, codes, changed in ((dt.date(2026, 9, 8), "//", 0), (dt.date(2026, 9, 9), "O/", 0)):
        marks_on(school, pupil, [(day, codes)])
        with scope(school=school):
            assert calculation_run(school=school, on=day).rows_changed == changed
        again = stored()
        assert (again.pk, again.since, again.sessions, again.evidence, again.fingerprint) == (
            first.pk, first.since, first.sessions, first.evidence, first.fingerprint)
    # A session it rests on is authorised after all: the tenth is now the O of 9 September.
    with scope(school=school):
        amended = Mark.objects.get(school=school, enrolment=pupil, date=dt.date(2026, 9, 3), session="AM")
        marks_save(school=school, by=None, reason="letter from the doctor", entries=[
            MarkEntry(pupil.pupil_id, amended.date, "AM", "M", expected_version=amended.version)])
        assert calculation_run(school=school, on=dt.date(2026, 9, 9)).rows_changed == 2  # one ended, one began
    later = stored()
    assert (later.since, later.sessions) == (dt.date(2026, 9, 9), 10) and later.pk != first.pk
    assert later.evidence["sessions"] == [*first.evidence["sessions"][:4], *first.evidence["sessions"][5:],
                                          ["2026-09-09", "AM", "O"]]
    with scope(school=school):
        assert not AttendanceSignal.objects.get(pk=first.pk).active


def test_penalty_threshold_reads_the_framework_in_force_on_the_day(school, pupil, capsys):
    """A new framework from a later date changes what is found from that date, never before it."""
    from penalties.models import NationalFramework

    marks_on(school, pupil, [(dt.date(2025, 9, 4), "GG"), (dt.date(2025, 11, 10), "GG"), (dt.date(2025, 11, 11), "GG"),
                             (dt.date(2025, 11, 12), "UU"), (dt.date(2025, 11, 13), "OO")])
    assert kinds(signals(capsys, school, "2025-11-14"), "penalty_threshold") == [
        ("penalty_threshold", "2025-11-13", 10)]
    current = NationalFramework.objects.get(kind="attendance", effective_from=dt.date(2024, 8, 19))
    current.pk, current.effective_from, current.threshold_sessions = None, dt.date(2025, 11, 14), 12
    current.save()
    assert kinds(signals(capsys, school, "2025-11-13"), "penalty_threshold") == [
        ("penalty_threshold", "2025-11-13", 10)]
    assert kinds(signals(capsys, school, "2025-11-14"), "penalty_threshold") == []


def test_the_framework_rows_hold_the_national_amounts(national_framework):
    from penalties.models import NationalFramework
    from penalties.selectors import framework_on

    now = framework_on(dt.date(2025, 1, 6))
    assert (now.threshold_sessions, now.window_school_weeks, now.first_lower_pence, now.first_full_pence,
            now.second_pence, now.repeat_years, now.most_notices) == (10, 10, 8000, 16000, 16000, 3, 2)
    before = framework_on(dt.date(2020, 1, 6))
    assert (before.threshold_sessions, before.first_lower_pence, before.first_lower_days) == (None, 6000, 21)
    assert framework_on(dt.date(2003, 1, 6)) is None
    s105 = framework_on(dt.date(2025, 1, 6), "excluded_in_public")
    assert not s105.counts_toward_limit and NationalFramework.pounds(s105.first_full_pence) == "£120"


def test_year_to_date_belongs_to_the_school_year_containing_the_day(school, pupil, capsys):
    """In a September before the new school year is set up, last year's persistent absence and figures are
    not carried forward as current: there is no year to date until the year exists."""
    from absence.selectors import attendance_figures
    from registers.calendar import calendar_for
    from reporting.periods import PeriodError, period_choose

    marks_on(school, pupil, [(dt.date(2026, 7, 20), "OO"), (dt.date(2026, 7, 21), "OO")])
    assert kinds(signals(capsys, school, "2026-07-21"), "persistent_absence") != []
    assert kinds(signals(capsys, school, "2026-09-07"), "persistent_absence") == []
    with scope(school=school):
        assert attendance_figures(school=school, pupil_ids=[pupil.pupil_id], today=dt.date(2026, 7, 21))[
            pupil.pupil_id].missed == 4
        assert attendance_figures(school=school, pupil_ids=[pupil.pupil_id], today=dt.date(2026, 9, 7)) == {}
        with pytest.raises(PeriodError, match="not set up yet"):
            period_choose(calendar=calendar_for(school=school), terms=[], kind="year_to_date",
                          today=dt.date(2026, 9, 7))
