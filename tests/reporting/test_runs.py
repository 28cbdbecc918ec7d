"""Runs of the engine: tasks, the advisory lock, a run killed half way, incremental = full rebuild."""

import datetime as dt
from unittest import mock

import pghistory
import psycopg2
import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance_portal.models import School
from registers.models import Closure, Enrolment, Mark, SchoolPolicy
from reporting import services, tasks
from reporting.models import AttendanceSignal, AttendanceSummary, CalculationRun
from reporting.schedule import BEAT_SCHEDULE
from reporting.services import LOCK_NAMESPACE, calculation_run
from tests.conftest import add_calendar

from .helpers import enrol, record, school_sessions, summary_rows

ON = dt.date(2025, 10, 24)


def snapshot(school):
    summary = summary_rows(school)
    with scope(school=school):
        signals = sorted(AttendanceSignal.objects.filter(school=school).values_list(
            "enrolment_id", "kind", "since", "sessions", "evidence", "active"), key=str)
    return summary, signals


@pytest.fixture
def busy_school(school):
    with scopes_disabled():
        for n, codes in enumerate(["." * 60, "." * 40 + "N" * 20, "IL" * 30, "GU." * 20, "D." * 30]):
            record(enrol(school, upn=f"R0000000000{n}A"), school_sessions(school, dt.date(2025, 9, 3), 60), codes)
    return school


def amend(school, *, day, code):
    with scopes_disabled(), pghistory.context(name="office", reason="amended"):
        for mark in Mark.objects.filter(school=school, date=day):
            mark.code = code
            mark.minutes_late = 3 if code in ("L", "U") else None
            mark.save()


def test_incremental_runs_give_the_same_rows_as_a_full_rebuild(busy_school):
    school = busy_school
    with scope(school=school):
        first = calculation_run(school=school, on=ON)
    assert first.mode == "full"  # nothing to be incremental from
    amend(school, day=dt.date(2025, 9, 10), code="O")
    amend(school, day=dt.date(2025, 10, 1), code="L")
    with scopes_disabled():
        record(enrol(school, upn="R00000000009A"), school_sessions(school, dt.date(2025, 10, 20), 6), "GGGGGG")
    with scope(school=school):
        second = calculation_run(school=school, on=ON)
    assert second.mode == "incremental"
    assert second.rows_changed > 0
    incremental = snapshot(school)
    with scope(school=school):
        rebuild = calculation_run(school=school, on=ON, full=True)
    assert rebuild.rows_changed == 0
    assert snapshot(school) == incremental
    with scope(school=school):
        AttendanceSummary.objects.filter(school=school).delete()
        calculation_run(school=school, on=ON, full=True)
    assert snapshot(school)[0] == incremental[0]


def test_writing_marks_changes_only_their_summary_rows_and_the_run_only_signals(busy_school):
    school = busy_school
    with scope(school=school):
        calculation_run(school=school, on=ON)
        again = calculation_run(school=school, on=ON)
    assert again.rows_changed == 0  # idempotent
    before = snapshot(school)
    amend(school, day=dt.date(2025, 9, 10), code="O")
    # The write itself brought the summaries up to date: the year row of each enrolment with marks that
    # day, nothing else. The signals wait for the run.
    changed = {str(row) for row in snapshot(school)[0]} - {str(row) for row in before[0]}
    assert len(changed) == 5
    assert snapshot(school)[1] == before[1]
    with scope(school=school):
        after = calculation_run(school=school, on=ON)
    assert after.rows_changed > 0
    assert snapshot(school)[1] != before[1]
    # Saving the same codes again stamps the marks as changed, but no summary or signal differs.
    amend(school, day=dt.date(2025, 9, 10), code="O")
    with scope(school=school):
        assert calculation_run(school=school, on=ON).rows_changed == 0



def test_a_run_killed_half_way_leaves_nothing_and_the_rerun_is_identical(busy_school):
    school = busy_school
    with scope(school=school):
        calculation_run(school=school, on=ON)
    amend(school, day=dt.date(2025, 9, 17), code="G")
    expected_before = snapshot(school)  # the summaries already hold the amendment; the signals do not
    with scope(school=school), mock.patch.object(services, "signals_sync", side_effect=RuntimeError("killed")), \
            pytest.raises(RuntimeError):
        calculation_run(school=school, on=ON)
    assert snapshot(school) == expected_before
    with scope(school=school):
        assert CalculationRun.objects.filter(school=school, status="failed").count() == 1
        calculation_run(school=school, on=ON)
    rerun = snapshot(school)
    with scope(school=school):
        calculation_run(school=school, on=ON, full=True)
    assert snapshot(school) == rerun


def test_a_second_run_for_the_same_school_is_skipped_while_the_lock_is_held(busy_school):
    school = busy_school
    # A second session on the same server and database, whatever the URL form (socket or TCP).
    before = snapshot(school)
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, school.pk])
        with scope(school=school):
            run = calculation_run(school=school, on=ON, full=True)
            assert run.status == "skipped"
            assert snapshot(school) == before
        # Released before the next run: closing the connection returns before its server process has
        # let go of the lock, and the run would then be skipped again.
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, school.pk])
    finally:
        other.close()
    with scope(school=school):
        assert calculation_run(school=school, on=ON).status == "done"


def test_the_school_task_runs_the_engine_in_the_schools_scope(busy_school):
    result = tasks.stats_school.apply(kwargs={"school_id": busy_school.pk})
    with scope(school=busy_school):
        run = CalculationRun.objects.get(pk=result.get())
        assert run.status == "done"
        assert AttendanceSummary.objects.filter(school=busy_school).exists()
    assert tasks.stats_school.acks_late is True


def test_a_redelivered_task_does_not_run_again(busy_school):
    first = tasks.stats_school.apply(kwargs={"school_id": busy_school.pk}).get()
    again = tasks.stats_school.apply(kwargs={"school_id": busy_school.pk, "run_id": first}).get()
    assert again == first
    with scope(school=busy_school):
        assert CalculationRun.objects.filter(school=busy_school).count() == 1


def test_the_task_refuses_to_run_without_a_school():
    with pytest.raises(TypeError):
        tasks.stats_school.apply(kwargs={}, throw=True).get()


@pytest.mark.parametrize("batch", [1, 2, 25])
def test_the_nightly_dispatch_enqueues_every_school_in_batches_after_commit(world, batch, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.STATS_BATCH_SCHOOLS = batch
    with mock.patch.object(tasks.stats_batch, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            count = tasks.stats_nightly.apply().get()
            assert delay.call_count == 0  # nothing leaves before the runs are committed
        for callback in callbacks:
            callback()
    schools = School.objects.count()
    assert count == schools
    assert delay.call_count == len(callbacks) <= schools
    sent = [run_id for call in delay.call_args_list for run_id in call.kwargs["run_ids"]]
    assert all(len(call.kwargs["run_ids"]) <= batch for call in delay.call_args_list)
    with scopes_disabled():
        runs = CalculationRun.objects.filter(status="pending")
        assert {r.school_id for r in runs} == set(School.objects.values_list("pk", flat=True))
        assert sorted(sent) == sorted(r.pk for r in runs)  # each school's run once
        school_of = {r.pk: r.school_id for r in runs}
    # A trust's schools travel together when the batch can hold them.
    together = [{school_of[pk] for pk in call.kwargs["run_ids"]} for call in delay.call_args_list]
    assert any({world.school.pk, world.sister.pk} <= group for group in together) == (batch >= 2)


@pytest.fixture
def busy_trust(world):
    """Three schools: two of one trust with the same calendar, one with its own; marks in each."""
    schools = [world.school, world.sister, world.other]
    with scopes_disabled():
        for school in schools:
            add_calendar(school)
        Closure.objects.create(school=world.other, date=dt.date(2025, 10, 3), session="PM", reason="Training")
        for n, school in enumerate(schools):
            for m, codes in enumerate(["." * 60, "N" * 20 + "." * 40, "IL" * 30, "GU." * 20, "G" * 60]):
                record(enrol(school, upn=f"T{n}000000000{m}A"), school_sessions(school, dt.date(2025, 9, 3), 60),
                       codes[m * n % 7:] + codes[:m * n % 7])
    return schools


def _runs(schools, *, full=False):
    with scopes_disabled():
        return [CalculationRun.objects.create(school=school, on=ON, mode="full" if full else "incremental")
                for school in schools]


def test_a_batch_of_schools_gives_each_school_what_its_own_run_gives(busy_trust):
    with scopes_disabled():
        # The sister school's policy differs from its trust's other school: it is computed apart.
        SchoolPolicy.objects.create(school=busy_trust[1], effective_from=dt.date(2025, 9, 1),
                                    penalty_threshold_counts_n=False, letter_threshold_percent=90)
        done = services.calculation_batch(_runs(busy_trust))
    assert [run.status for run in done] == ["done"] * 3
    assert all(run.rows_changed > 0 for run in done)
    batched = [snapshot(school) for school in busy_trust]
    assert all(summary and signals for summary, signals in batched)
    # The same schools, each on its own, from nothing.
    with scopes_disabled():
        AttendanceSummary.objects.all().delete()
        AttendanceSignal.objects.all().delete()
    for school in busy_trust:
        with scope(school=school):
            calculation_run(school=school, on=ON, full=True)
    assert [snapshot(school) for school in busy_trust] == batched
    # And the nightly way: a change in one school is that school's only.
    amend(busy_trust[1], day=dt.date(2025, 9, 10), code="O")
    with scopes_disabled():
        again = services.calculation_batch(_runs(busy_trust))
    assert [run.mode for run in again] == ["incremental"] * 3
    assert again[0].rows_changed == again[2].rows_changed == 0 < again[1].rows_changed
    assert [snapshot(s) for s in (busy_trust[0], busy_trust[2])] == [batched[0], batched[2]]


def test_a_batch_skips_a_school_whose_lock_is_held_and_does_the_others(busy_trust):
    before = snapshot(busy_trust[1])
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, busy_trust[1].pk])
        with scopes_disabled():
            done = services.calculation_batch(_runs(busy_trust))
    finally:
        other.close()
    assert [run.status for run in done] == ["done", "skipped", "done"]
    assert snapshot(busy_trust[1]) == before
    assert not before[1]  # no signals: the skipped school was never run
    assert snapshot(busy_trust[2])[1]


def test_one_failing_school_does_not_stop_the_rest_of_its_batch(busy_trust):
    original = services.signals_sync

    def sync(*, schools, found):
        if busy_trust[2].pk in schools:
            raise RuntimeError("broken school")
        return original(schools=schools, found=found)

    with scopes_disabled(), mock.patch.object(services, "signals_sync", side_effect=sync), \
            pytest.raises(RuntimeError, match="broken school"):
        services.calculation_batch(_runs(busy_trust))
    with scopes_disabled():
        statuses = {run.school_id: (run.status, run.error) for run in CalculationRun.objects.all()}
    assert statuses[busy_trust[0].pk] == statuses[busy_trust[1].pk] == ("done", "")
    assert statuses[busy_trust[2].pk][0] == "failed" and "broken school" in statuses[busy_trust[2].pk][1]


def test_the_batch_task_runs_its_pending_runs_once(busy_trust):
    runs = _runs(busy_trust)
    ids = [run.pk for run in runs]
    with scopes_disabled():  # a worker died during this one: the task comes again and finishes it
        CalculationRun.objects.filter(pk=ids[1]).update(status="running")
    assert tasks.stats_batch.apply(kwargs={"run_ids": ids}).get() == 3
    assert tasks.stats_batch.apply(kwargs={"run_ids": ids}).get() == 0  # redelivered: nothing left to do
    with scopes_disabled():
        assert set(CalculationRun.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"done"}
    assert tasks.stats_batch.acks_late is True


def test_the_sweeper_enqueues_lost_runs(world, django_capture_on_commit_callbacks):
    with scopes_disabled():
        lost = CalculationRun.objects.create(school=world.school, on=ON)
        CalculationRun.objects.filter(pk=lost.pk).update(requested_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        CalculationRun.objects.create(school=world.sister, on=ON)  # just requested: leave it
    with mock.patch.object(tasks.stats_school, "delay") as delay, \
            django_capture_on_commit_callbacks(execute=True):
        assert tasks.stats_sweep.apply().get() == 1
    delay.assert_called_once_with(school_id=world.school.pk, run_id=lost.pk)


def test_beat_schedules_the_nightly_dispatch():
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {
        "reporting.stats_nightly", "reporting.stats_sweep", "reporting.governor_reports_daily"}


@pytest.mark.parametrize(("utc", "local_day_before"), [
    (dt.datetime(2025, 10, 25, 23, 30, tzinfo=dt.UTC), dt.date(2025, 10, 25)),  # 00:30 BST, clocks go back later
    (dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.UTC), dt.date(2025, 10, 25)),  # 01:30 GMT after the change
    (dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), dt.date(2026, 3, 28)),  # 00:30 GMT, clocks go forward
    (dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), dt.date(2026, 3, 27)),  # still 28 March in London
])
def test_the_nightly_run_is_for_the_london_day_whose_registers_closed(world, utc, local_day_before,
                                                                      django_capture_on_commit_callbacks):
    with time_machine.travel(utc, tick=False), mock.patch.object(tasks.stats_batch, "delay"), \
            django_capture_on_commit_callbacks(execute=False):
        tasks.stats_nightly.apply().get()
    with scopes_disabled():
        assert set(CalculationRun.objects.values_list("on", flat=True)) == {local_day_before}


def test_weeks_across_the_clock_change_count_every_session(school):
    with scopes_disabled():
        enrolment = enrol(school)
        record(enrolment, school_sessions(school, dt.date(2026, 3, 23), end=dt.date(2026, 3, 27)), ".")
        record(enrolment, school_sessions(school, dt.date(2025, 10, 20), end=dt.date(2025, 10, 24)), "I")
    from reporting.selectors import school_figures

    with scope(school=school):
        calculation_run(school=school, on=dt.date(2026, 3, 30))
        weeks = {start: school_figures(school=school, start=start, end=start + dt.timedelta(days=6)).figures.possible
                 for start in (dt.date(2026, 3, 23), dt.date(2025, 10, 20))}
    assert weeks == {dt.date(2026, 3, 23): 10, dt.date(2025, 10, 20): 10}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["5", "6"]), st.booleans(),
                          st.text(alphabet=["/", "L", "I", "N", "G", "U", "D", "X", "B", "M"], min_size=0,
                                  max_size=30)), min_size=1, max_size=6))
def test_group_totals_are_the_sums_of_their_members(school, pupils):
    from django.db import transaction

    from reporting.selectors import enrolment_figures, group_figures

    with transaction.atomic():
        with scopes_disabled():
            for n, (year_group, fsm, codes) in enumerate(pupils):
                enrolment = enrol(school, upn=f"S{n:011d}A", year_group=year_group, fsm=fsm)
                if codes:
                    record(enrolment, school_sessions(school, dt.date(2025, 9, 3), len(codes)), list(codes))
        with scope(school=school):
            calculation_run(school=school, on=ON)
            start, end = dt.date(2025, 9, 1), dt.date(2025, 12, 19)
            members = enrolment_figures(school=school, start=start, end=end)
            for by in ("school", "year_group", "fsm"):
                groups = group_figures(school=school, start=start, end=end, by=by)
                if not groups:
                    assert not members
                    continue
                assert sum(g.enrolments for g in groups) == len(members)
                total = groups[0].figures
                for g in groups[1:]:
                    total = total + g.figures
                assert total.possible == sum(m.figures.possible for m in members)
                assert total.absence == sum(m.figures.absence for m in members)
                assert sum(g.persistent_absence for g in groups) == sum(m.figures.persistent_absence for m in members)
                for g in groups:
                    assert 0 <= g.figures.attendance_rate <= 100
                    assert 0 <= g.figures.absence_rate <= 100
                    assert g.figures.attendance + g.figures.absence == g.figures.possible
            for m in members:
                assert 0 <= m.figures.attendance_rate <= 100
        transaction.set_rollback(True)


def test_a_later_incremental_run_keeps_ongoing_starts_and_equals_a_rebuild(busy_school):
    """The nightly reuses the start of rate signals still active since its last run; the result must be
    what a full rebuild finds on the same day, including a pupil whose condition lapses and returns."""
    school = busy_school
    first_day = dt.date(2025, 11, 26)
    with scopes_disabled():
        for n, codes in enumerate(["I." * 20, "." * 34 + "I" * 6, "G" * 40]):
            record(enrol(school, upn=f"K0000000000{n}A"), school_sessions(school, dt.date(2025, 11, 3), 40), codes)
    with scope(school=school):
        first = calculation_run(school=school, on=first_day)
        # The first run saw every mark made so far; its watermark only leaves room for clock skew, which
        # here would count the marks above as changed too.
        CalculationRun.objects.filter(pk=first.pk).update(watermark=timezone.now())
        ongoing = set(AttendanceSignal.objects.filter(school=school, active=True, kind="persistent_absence")
                      .values_list("enrolment_id", "since"))
    assert ongoing
    with scopes_disabled():
        for enrolment_id, _ in ongoing:
            enrolment = Enrolment.objects.get(pk=enrolment_id)
            later = [s for s in school_sessions(school, dt.date(2025, 12, 1), 6)
                     if not Mark.objects.filter(enrolment=enrolment, date=s[0], session=s[1]).exists()]
            record(enrolment, later, ".")
    on = dt.date(2025, 12, 3)
    from reporting import signal_rules

    kept = []
    original = signal_rules._keep
    with scope(school=school), mock.patch.object(
            signal_rules, "_keep", side_effect=lambda *a, **kw: kept.append(original(*a, **kw)) or kept[-1]):
        second = calculation_run(school=school, on=on)
    assert second.mode == "incremental"
    assert kept[0]  # the nightly path was taken
    nightly = snapshot(school)
    with scope(school=school):
        calculation_run(school=school, on=on, full=True)
        still = set(AttendanceSignal.objects.filter(school=school, active=True, kind="persistent_absence")
                    .values_list("enrolment_id", "since"))
    assert snapshot(school) == nightly
    assert still & ongoing  # some starts carried over unchanged


def test_window_signals_go_on_night_after_night_and_equal_a_rebuild(school):
    """A window signal (penalty threshold, illness, punctuality) is what started it: later nights leave
    it alone without working it out again, unless a mark it rests on is amended or its window moves.
    Each night's signals are what a full rebuild finds on the same day."""
    from reporting import signal_rules

    start = dt.date(2025, 11, 3)
    with scopes_disabled():
        truant, ill, late = (enrol(school, upn=f"W0000000000{n}A") for n in range(3))
        record(truant, school_sessions(school, start, 12), "G")  # the tenth on Friday 7 November
        record(ill, school_sessions(school, dt.date(2025, 10, 6), 32), "I")  # the thirtieth on 24 October
        record(late, school_sessions(school, start, 8), "L." * 4)
        record(late, school_sessions(school, dt.date(2025, 11, 10), end=dt.date(2025, 11, 18)), ".")

    def night(on, marks=()):
        with scopes_disabled():
            for enrolment, codes in marks:
                record(enrolment, [(on, "AM"), (on, "PM")], codes)
        worked = []
        original = signal_rules._window_signals

        def spy(calendar, window, enrolments, bits):
            worked.extend((e, window.kind) for _, e in enrolments)
            return original(calendar, window, enrolments, bits)

        with scope(school=school), mock.patch.object(signal_rules, "_window_signals", side_effect=spy):
            run = calculation_run(school=school, on=on)
        nightly = snapshot(school)
        with scope(school=school):
            calculation_run(school=school, on=on, full=True)
            # The marks above are older than the next night's watermark (no clock skew to allow for here).
            CalculationRun.objects.filter(school=school).update(watermark=timezone.now())
        assert snapshot(school) == nightly
        return run, set(worked)

    def active(enrolment, kind):
        with scope(school=school):
            return AttendanceSignal.objects.get(school=school, enrolment=enrolment, kind=kind, active=True)

    run, worked = night(dt.date(2025, 11, 18))
    assert run.mode == "full"
    assert {(truant.pk, "penalty_threshold"), (ill.pk, "illness_15_days"), (late.pk, "punctuality")} <= worked
    penalty = active(truant, "penalty_threshold")
    assert (penalty.since, penalty.sessions) == (dt.date(2025, 11, 7), 10)
    # More of the same the next day: nothing is worked out again and nothing changes.
    run, worked = night(dt.date(2025, 11, 19), [(truant, "GG"), (ill, "II"), (late, "LL")])
    assert run.mode == "incremental" and not worked
    assert active(truant, "penalty_threshold").pk == penalty.pk
    # A session before the start is authorised after all: that signal alone is worked out again. (Saved
    # through the model, whose clock is the watermark's here; a register save stamps the database's.)
    with scopes_disabled(), pghistory.context(name="Office", reason="authorised after all"):
        first = Mark.objects.get(school=school, enrolment=truant, date=start, session="AM")
        first.code = "C"
        first.save()
    run, worked = night(dt.date(2025, 11, 20))
    assert worked == {(truant.pk, "penalty_threshold")}
    assert active(truant, "penalty_threshold").since == dt.date(2025, 11, 10)
    # A night missed: the school day between is checked, so the rolling windows' signals are worked out
    # again (and found as they were); the year's illness window needs no such check.
    punctuality = active(late, "punctuality")
    run, worked = night(dt.date(2025, 11, 24), [(truant, "G/"), (ill, "I/"), (late, "LL")])
    assert worked == {(truant.pk, "penalty_threshold"), (late.pk, "punctuality")}
    assert active(truant, "penalty_threshold").since == dt.date(2025, 11, 10)
    assert active(late, "punctuality").pk == punctuality.pk
    # The next night, in the new week: the windows have moved on, but their rules held on every school
    # day since the signals started, so they go on as they were.
    run, worked = night(dt.date(2025, 11, 25), [(truant, "G/"), (ill, "I/"), (late, "/L")])
    assert not worked
    assert active(late, "punctuality").pk == punctuality.pk
