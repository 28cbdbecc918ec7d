"""The nightly case sync: concerns keyed on enrolment and kind, cases opened once, clocks, idempotence."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pghistory
import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from interventions import tasks
from interventions.models import Action, Case, CaseEvent, ClockKind, Concern, SignalChange, StatutoryClock
from registers.models import Mark
from reporting import tasks as reporting_tasks
from reporting.models import AttendanceSignal, CalculationRun
from tests import factories as f

from .conftest import ON, absent_pupil, open_case, run_night, sync


def counts(school):
    with scope(school=school):
        return (Case.objects.count(), CaseEvent.objects.count(), Concern.objects.count(),
                StatutoryClock.objects.count())


def test_a_severe_absentee_gets_one_case_with_the_sessions_behind_it(school):
    enrolment = absent_pupil(school, upn="A00000000001A")
    absent_pupil(school, upn="A00000000002A", codes="." * 40)  # fine attender
    run_night(school)
    result = sync(school)
    assert result.opened == 1
    case = open_case(school, enrolment)
    with scope(school=school):
        events = list(CaseEvent.objects.filter(case=case))
        assert Case.objects.count() == 1
    kinds = [e.kind for e in events]
    assert kinds.count("opened") == 1 and "signal_raised" in kinds
    opened = next(e for e in events if e.kind == "opened")
    assert opened.figures["rate"] == 50.0
    assert ["2025-09-17", "AM", "G"] in opened.sessions  # the 21st session of the year: first G
    with scope(school=school):
        assert case.stage.position == 1


def test_running_twice_and_redelivering_the_task_change_nothing(school):
    absent_pupil(school, upn="A00000000001A")
    absent_pupil(school, upn="A00000000003A", codes="." * 10 + "G" * 30)
    run_night(school)
    with mock.patch.object(tasks.cases_sync_school, "delay"):
        tasks.cases_sync_school.apply(kwargs={"school_id": school.pk}).get()
    first = counts(school)
    assert first[0] == 2
    with mock.patch.object(tasks.cases_sync_school, "delay"):
        assert tasks.cases_sync_school.apply(kwargs={"school_id": school.pk}).get()["changes"] == 0
    assert counts(school) == first
    # The statistics run again with nothing new: no signal row written, nothing to sync.
    run_night(school)
    assert sync(school).changes == 0
    assert counts(school) == first


def test_a_replayed_change_is_keyed_on_pupil_and_kind_not_on_the_signal_row(school):
    enrolment = absent_pupil(school, upn="A00000000001A")
    run_night(school)
    sync(school)
    before = counts(school)
    # The same changes delivered again (as if a run's rows were read twice): keys stop duplicates.
    with scope(school=school):
        for signal in AttendanceSignal.objects.filter(enrolment=enrolment):
            SignalChange.objects.create(school=school, enrolment_id=enrolment.pk, kind=signal.kind)
    assert sync(school).changes > 0
    assert counts(school) == before
    # A signal row replaced (its start moved): the concern is the same, no new case or "raised" event.
    with scopes_disabled():
        signal = AttendanceSignal.objects.get(enrolment=enrolment, kind="severe_absence", active=True)
        AttendanceSignal.objects.filter(pk=signal.pk).update(active=False)
        AttendanceSignal.objects.create(school=school, enrolment=enrolment, kind="severe_absence",
                                        since=signal.since - dt.timedelta(days=1), sessions=signal.sessions,
                                        evidence=signal.evidence, active=True)
    sync(school)
    after = counts(school)
    assert after == before
    with scope(school=school):
        concern = Concern.objects.get(enrolment=enrolment, kind="severe_absence")
    assert concern.active and concern.since == signal.since - dt.timedelta(days=1)


def test_ended_concerns_mark_the_case_improved_and_propose_the_praise_letter(school):
    from interventions.models import Ladder

    with scope(school=school):
        Ladder.objects.filter(school=school).update(praise_letter="Thank you for improving attendance")
    enrolment = absent_pupil(school, upn="A00000000001A", codes="." * 14 + "G" * 6)
    run_night(school, dt.date(2025, 9, 12))
    sync(school, dt.date(2025, 9, 12))
    case = open_case(school, enrolment)
    with scopes_disabled():
        from tests.reporting.helpers import record, school_sessions
        record(enrolment, school_sessions(school, dt.date(2025, 9, 17), end=dt.date(2025, 12, 19)), ".")
    run_night(school, dt.date(2025, 12, 19))
    result = sync(school, dt.date(2025, 12, 19))
    assert result.ended >= 1
    f.reload(case)
    assert case.improved is True
    with scope(school=school):
        assert CaseEvent.objects.filter(case=case, kind="signal_ended").exists()
        praise = Action.objects.get(case=case, title="Thank you for improving attendance")
    assert praise.status == "proposed" and praise.approved_by is None  # proposed for a person, never sent


def test_ten_days_unauthorised_starts_the_la_notification_clock(school):
    enrolment = absent_pupil(school, upn="A00000000001A", codes="O" * 40, start=dt.date(2025, 9, 29),
                             has_social_worker=True)
    run_night(school)
    sync(school)
    with scope(school=school):
        clocks = set(StatutoryClock.objects.filter(enrolment=enrolment).values_list("kind", flat=True))
    assert {ClockKind.LA_NOTIFICATION, ClockKind.JOINT_ENQUIRIES, ClockKind.SOCIAL_WORKER} <= clocks


def test_the_timeline_refuses_update_and_delete(school):
    enrolment = absent_pupil(school, upn="A00000000001A")
    run_night(school)
    sync(school)
    case = open_case(school, enrolment)
    from django.db import DatabaseError, transaction

    for sql in ("UPDATE interventions_caseevent SET title = 'x' WHERE case_id = %s",
                "DELETE FROM interventions_caseevent WHERE case_id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [case.pk])


def test_one_open_case_per_enrolment_is_enforced_by_the_database(school):
    from django.db import IntegrityError, transaction

    enrolment = absent_pupil(school, upn="A00000000001A")
    run_night(school)
    sync(school)
    with scope(school=school), pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(school=school, enrolment=enrolment, pupil=enrolment.pupil, opened_reason="again")


def test_the_sync_is_chained_after_the_statistics_task_with_real_task_code(school):
    absent_pupil(school, upn="A00000000001A")
    with scope(school=school):
        run = CalculationRun.objects.create(school=school, on=ON)
    with mock.patch.object(tasks.cases_sync_school, "delay") as delay:
        reporting_tasks.stats_batch.apply(kwargs={"run_ids": [run.pk]}).get()
    delay.assert_called_once_with(school_id=school.pk)
    # The worker runs the chained task; a redelivery afterwards finds nothing to do.
    assert tasks.cases_sync_school.apply(kwargs={"school_id": school.pk}).get()["opened"] == 1
    assert tasks.cases_sync_school.apply(kwargs={"school_id": school.pk}).get() == {
        "changes": 0, "opened": 0, "raised": 0, "ended": 0, "clocks": 0}
    with scope(school=school):
        assert Case.objects.count() == 1


def test_the_sweeper_enqueues_schools_with_unread_changes(school, django_capture_on_commit_callbacks):
    absent_pupil(school, upn="A00000000001A")
    run_night(school)
    with mock.patch.object(tasks.cases_sync_school, "delay") as delay, \
            django_capture_on_commit_callbacks(execute=True):
        assert tasks.cases_sweep.apply().get() == 1
    delay.assert_called_once_with(school_id=school.pk)
    sync(school)
    with mock.patch.object(tasks.cases_sync_school, "delay"):
        assert tasks.cases_sweep.apply().get() == 0


def test_amended_session_behind_an_action_is_shown_as_changed(school):
    from interventions.selectors import sessions_changed

    enrolment = absent_pupil(school, upn="A00000000001A")
    run_night(school)
    sync(school)
    case = open_case(school, enrolment)
    with scopes_disabled(), pghistory.context(name="Office", reason="illness reported"):
        mark = Mark.objects.get(enrolment=enrolment, date=dt.date(2025, 9, 17), session="AM")
        mark.code = "I"
        mark.save()
    with scope(school=school):
        events = list(CaseEvent.objects.filter(case=case, kind="opened"))
        changed = sessions_changed(school=school, enrolment_id=enrolment.pk, events=events)
    assert changed[events[0].pk] == ["17 Sep AM: was G, now I"]
