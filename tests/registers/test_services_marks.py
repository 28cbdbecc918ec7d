"""marks_save: the one way marks are written."""

from __future__ import annotations

import datetime as dt
import threading

import pghistory
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from registers.models import Mark, MarkEvent
from registers.selectors import mark_history
from registers.services import MarkEntry, MarkValidationError, marks_save
from tests import factories as f
from tests.conftest import add_calendar

MONDAY = dt.date(2025, 9, 8)


@pytest.fixture
def setup(world):
    add_calendar(world.school)
    group = f.RegistrationGroupFactory(school=world.school, name="5B")
    pupils = [f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=group).pupil
              for _ in range(30)]
    user = world.users["office_staff"]
    return world.school, pupils, user


def _register(pupils, code="/", day=MONDAY, session="AM", version=None):
    return [MarkEntry(pupil_id=p.pk, date=day, session=session, code=code, expected_version=version)
            for p in pupils]


def test_saves_a_whole_register_and_records_who(setup):
    school, pupils, user = setup
    with scope(school=school):
        result = marks_save(school=school, entries=_register(pupils), by=user)
        assert result.created == 30 and not result.conflicts
        assert Mark.objects.filter(school=school, code="/").count() == 30
        event = MarkEvent.objects.filter(school=school).first()
        assert event.pgh_label == "recorded"
        assert event.pgh_context["name"] == user.display_name()
        assert event.pgh_context["position"] == user.position


def test_repeated_submission_changes_nothing(setup):
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils), by=user)
        again = marks_save(school=school, entries=_register(pupils), by=user)
        assert (again.created, again.amended, again.unchanged) == (0, 0, 30)
        assert MarkEvent.objects.filter(school=school).count() == 30


def test_changing_a_saved_mark_needs_a_reason_and_keeps_the_original(setup):
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils[:1], code="N"), by=user)
        change = [MarkEntry(pupils[0].pk, MONDAY, "AM", "I", expected_version=1)]
        with pytest.raises(MarkValidationError, match="reason is required"):
            marks_save(school=school, entries=change, by=user)
        assert Mark.objects.get(pupil=pupils[0]).code == "N"
        result = marks_save(school=school, entries=change, by=user, reason="Mother phoned: flu")
        assert result.amended == 1
        history = mark_history(school=school, pupil_id=pupils[0].pk)
        assert history[0]["original"] == "N" and history[0]["new"] == "I"
        assert history[0]["reason"] == "Mother phoned: flu"
        assert history[0]["position"] == user.position
        assert history[1]["original"] is None and history[1]["new"] == "N"


def test_stale_version_is_a_conflict_with_the_current_value(setup):
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils[:2]), by=user)
        marks_save(school=school, entries=[MarkEntry(pupils[0].pk, MONDAY, "AM", "L", 5, expected_version=1)],
                   by=user, reason="late")
        stale = [MarkEntry(pupils[0].pk, MONDAY, "AM", "O", expected_version=1),
                 MarkEntry(pupils[1].pk, MONDAY, "AM", "M", expected_version=1)]
        result = marks_save(school=school, entries=stale, by=user, reason="fix")
        assert result.amended == 1
        assert [(c.entry.pupil_id, c.current_code, c.current_version) for c in result.conflicts] == [
            (pupils[0].pk, "L", 2)]
        assert Mark.objects.get(pupil=pupils[0]).code == "L"


def test_someone_else_marked_it_first_is_a_conflict(setup):
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils[:1], code="/"), by=user)
        result = marks_save(school=school, entries=_register(pupils[:1], code="N"), by=user)
        assert result.conflicts[0].current_code == "/"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_session_one_wins(world):
    with scopes_disabled():
        add_calendar(world.school)
        pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    school, user = world.school, world.users["office_staff"]
    with scope(school=school):
        marks_save(school=school, entries=_register([pupil], code="N"), by=user)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def write(code: str) -> None:
        try:
            with scope(school=school):
                barrier.wait()
                r = marks_save(school=school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", code, expected_version=1)],
                               by=user, reason="concurrent")
                outcomes.append("won" if r.amended else "conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(c,)) for c in ["I", "M", "O", "R", "G", "C", "T", "E"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    with scope(school=school):
        assert Mark.objects.get(pupil=pupil).version == 2
        assert MarkEvent.objects.filter(school=school).count() == 2  # recorded + the one amendment


@pytest.mark.parametrize(("entry_kwargs", "message"), [
    ({"code": "ZZ"}, "is not an attendance code"),
    ({"code": "H"}, "not valid on"),
    ({"code": "#"}, "school calendar"),
    ({"code": "/", "minutes_late": 5}, "only be given with L or U"),
    ({"code": "L", "minutes_late": 900}, "between 0 and"),
    ({"session": "XX"}, "AM or PM"),
    ({"date": dt.date(2025, 9, 6)}, "weekend"),
    ({"date": dt.date(2025, 11, 14)}, "INSET"),
    ({"date": dt.date(2025, 10, 29)}, "outside term time"),
    ({"date": dt.date(2024, 6, 3)}, "outside term time"),
])
def test_bad_entries_are_refused_and_nothing_is_written(setup, entry_kwargs, message):
    school, pupils, user = setup
    good = _register(pupils[1:])
    bad = MarkEntry(**{"pupil_id": pupils[0].pk, "date": MONDAY, "session": "AM", "code": "/", **entry_kwargs})
    with scope(school=school):
        with pytest.raises(MarkValidationError) as err:
            marks_save(school=school, entries=[*good, bad], by=user)
        assert message in err.value.errors[0].message
        assert Mark.objects.filter(school=school).count() == 0


def test_pupil_not_on_roll_that_day_is_refused(setup):
    school, _, user = setup
    with scopes_disabled():
        late_joiner = f.EnrolmentFactory(pupil__school=school, admission_date=dt.date(2025, 9, 15)).pupil
    with scope(school=school), pytest.raises(MarkValidationError, match="not on the admission register"):
        marks_save(school=school, entries=_register([late_joiner]), by=user)


def test_another_schools_pupil_is_refused(setup, world):
    school, _, user = setup
    with scopes_disabled():
        outsider = f.EnrolmentFactory(pupil__school=world.other).pupil
    with scope(school=school), pytest.raises(MarkValidationError, match="not on the admission register"):
        marks_save(school=school, entries=_register([outsider]), by=user)


def test_query_count_does_not_grow_with_class_size(setup):
    school, pupils, user = setup
    with scope(school=school):
        with CaptureQueriesContext(connection) as small:
            marks_save(school=school, entries=_register(pupils[:3]), by=user)
        with CaptureQueriesContext(connection) as large:
            marks_save(school=school, entries=_register(pupils[3:]), by=user)
    assert len(small.captured_queries) == len(large.captured_queries)


def test_marks_cannot_be_deleted_and_events_cannot_be_changed(setup):
    """Refused by the database (the role's privileges, then triggers: tests/registers/test_database_roles.py)."""
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils[:1]), by=user)
        with pytest.raises(DatabaseError), transaction.atomic():
            Mark.objects.filter(school=school).delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            MarkEvent.objects.filter(school=school).update(code="O")
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM registers_markevent")
        assert Mark.objects.filter(school=school).count() == 1


def test_raw_sql_updates_are_captured_too(setup):
    school, pupils, user = setup
    with scope(school=school):
        marks_save(school=school, entries=_register(pupils[:1]), by=user)
        # Outside the service a change needs who and why too (tests/registers/test_database_roles.py).
        with pghistory.context(name="Office", reason="corrected"), connection.cursor() as c:
            c.execute("UPDATE registers_mark SET code = 'O' WHERE school_id = %s", [school.pk])
        assert list(MarkEvent.objects.filter(school=school).values_list("code", flat=True).order_by("pgh_id")) \
            == ["/", "O"]


def test_attendance_cannot_be_recorded_ahead_but_known_absence_can(setup):
    import time_machine

    school, pupils, user = setup
    with time_machine.travel(dt.datetime(2025, 9, 5, 12, 0, tzinfo=dt.UTC)), scope(school=school):
        for code in ("/", "L"):
            with pytest.raises(MarkValidationError, match="has not happened yet"):
                marks_save(school=school, entries=_register(pupils[:1], code=code), by=user)
        assert Mark.objects.filter(school=school).count() == 0
        result = marks_save(school=school, entries=_register(pupils[:1], code="C"), by=user)
        assert result.created == 1


def test_what_a_caller_read_moments_before_never_lets_a_stale_row_be_written_over(setup):
    """A register page passes what it read (ReadAlready) so the save does not read it again; a row someone
    else saved or changed since is still a conflict, never overwritten."""
    from registers.services import ReadAlready

    school, pupils, user = setup
    with scope(school=school):
        enrolments = {p.pk: p.enrolments.get().pk for p in pupils[:2]}
        # What the page read: neither pupil marked yet.
        read = ReadAlready(day=MONDAY, enrolment_of=enrolments, closed={}, marks={})
        marks_save(school=school, entries=_register(pupils[:1], code="L"), by=user)  # someone else, meanwhile
        result = marks_save(school=school, entries=_register(pupils[:2]), by=user, read=read)
        assert result.created == 1 and len(result.conflicts) == 1
        assert result.conflicts[0].entry.pupil_id == pupils[0].pk and result.conflicts[0].current_code == "L"
        assert Mark.objects.get(pupil=pupils[0]).code == "L"
        # Read again after a change: the amendment names the version read, and a second change since is refused.
        stored = Mark.objects.get(pupil=pupils[1])
        read = ReadAlready(day=MONDAY, enrolment_of=enrolments, closed={}, marks={(pupils[1].pk, MONDAY, "AM"): stored})
        marks_save(school=school, entries=_register(pupils[1:2], code="M", version=1), by=user, reason="left early")
        late = marks_save(school=school, entries=_register(pupils[1:2], code="I", version=1), by=user,
                          reason="ill", read=read)
        assert late.amended == 0 and len(late.conflicts) == 1
        assert Mark.objects.get(pupil=pupils[1]).code == "M"
