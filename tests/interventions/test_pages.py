"""Casework pages: roles, bad input (a clear message, nothing written), holds, stage rules, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from attendance_portal.roles import Role
from interventions.ladders import MEADOWSIDE
from interventions.models import (
    Action,
    AttendanceContract,
    Case,
    CaseEvent,
    Ladder,
    Meeting,
    StatutoryClock,
    SupportRecord,
)
from registers.models import Pupil
from tests import factories as f
from tests.absence.conftest import at

from .conftest import absent_pupil, ladder_for_tests, open_case, run_night, sync
from .factories import make_case

R = Role


@pytest.fixture
def case(school):
    enrolment = absent_pupil(school, upn="A00000000001A")
    run_night(school)
    sync(school)
    return open_case(school, enrolment)


def url(name, school, *args):
    return reverse(f"interventions:{name}", args=[school.slug, *args])


def written(school):
    with scopes_disabled():
        return (CaseEvent.objects.count(), Action.objects.filter(status__in=["to_send", "replaced"]).count(),
                Meeting.objects.count(), AttendanceContract.objects.count(), SupportRecord.objects.count(),
                Case.objects.filter(status="closed").count(), StatutoryClock.objects.filter(done_at__isnull=False)
                .count(), Ladder.objects.count())


@pytest.mark.parametrize("role", [R.CLASS_TEACHER, R.OFFICE_STAFF, R.GOVERNOR])
def test_roles_without_casework_get_403(role, school, case, world, client_as):
    client = client_as(world.users[role.value])
    for name, args in (("queue", []), ("persistent", []), ("case", [case.pk]), ("ladder", [])):
        assert client.get(url(name, school, *args)).status_code == 403, name
    assert client.post(url("case_note", school, case.pk), {"kind": "note", "text": "x"}).status_code == 403


def test_officer_head_and_champion_read_the_queue_and_case(school, case, world, client_as):
    for role in (R.ATTENDANCE_OFFICER, R.SENIOR_ATTENDANCE_CHAMPION, R.HEADTEACHER):
        client = client_as(world.users[role.value])
        page = client.get(url("queue", school))
        assert page.status_code == 200
        detail = client.get(url("case", school, case.pk))
        assert detail.status_code == 200 and case.pupil.surname in detail.content.decode()


def test_home_tiles_link_to_the_lists(school, case, world, client_as):
    home = client_as(world.users["attendance_officer"]).get(reverse("school_home", args=[school.slug])).content.decode()
    assert url("persistent", school) in home and url("severe", school) in home
    assert "Coming next: a queue" not in home
    listed = client_as(world.users["attendance_officer"]).get(url("severe", school)).content.decode()
    assert case.pupil.surname in listed


def test_queue_query_count_does_not_grow_with_cases(school, case, world, client_as):
    client = client_as(world.users["attendance_officer"])
    client.get(url("queue", school))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("queue", school)).status_code == 200
    with scopes_disabled():
        for _ in range(15):
            extra = make_case(school)
            Case.objects.filter(pk=extra.pk).update(next_due=dt.date(2025, 10, 1))
    with CaptureQueriesContext(connection) as many:
        page = client.get(url("queue", school))
    assert page.content.decode().count('name="cases"') >= 15
    assert len(many) == len(few)


def test_the_queue_prints_each_row_with_its_links_names_and_figures(school, case, world, client_as):
    """The queue's rows are worked out once in the selector and the view (no per-row lookups or url tags):
    each still links where it should and shows the owner, the stage, the figures and what is overdue."""
    from .factories import make_action, make_clock

    officer = world.users["attendance_officer"]
    with scopes_disabled():
        Case.objects.filter(pk=case.pk).update(owner=officer)
        held = make_action(school)
        Action.objects.filter(pk=held.pk).update(status="held")
        clock = make_clock(school)  # due 2 October 2025: past due
        gone = absent_pupil(school, upn="A00000000005A", codes="." * 30 + "G" * 10)
    run_night(school)  # a concern with no case: the nightly found it after its sync
    sync(school)
    with scopes_disabled():
        Case.objects.filter(enrolment=gone).update(status="closed", outcome="other")
    with time_machine.travel(at(dt.date(2025, 10, 27), 9, 0), tick=True):
        page = client_as(officer).get(url("queue", school)).content.decode()
    row = page[page.index(f'value="{case.pk}"'):][:900]
    assert f'href="{url("case", school, case.pk)}">{case.pupil.full_name}</a>' in row
    assert f"<td>{officer.get_full_name()}</td>" in row and "<td>Listen and understand</td>" in row
    assert "<td>20/40</td>" in row  # sessions attended this year, of those possible
    assert f'href="{url("action", school, held.pk)}"' in page and "Held for review" in page
    assert f'action="{url("clock_done", school, clock.pk)}"' in page and "Thu 2 Oct <strong class=\"late\">" in page
    assert f'<input type="hidden" name="enrolment" value="{gone.pk}">' in page
    assert page.count('name="csrfmiddlewaretoken"') >= 4  # every small form posts with the page's token


def test_filters_narrow_the_queue_and_bad_filters_are_refused(school, case, world, client_as):
    client = client_as(world.users["attendance_officer"])
    page = client.get(url("queue", school), {"year_group": "R"}).content.decode()
    assert case.pupil.surname not in page or case.pupil.year_group == "R"
    bad = client.get(url("queue", school), {"year_group": "Z9", "stage": "x"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_held_letter_needs_a_reason_and_names_the_approver(school, case, world, client_as):
    with scopes_disabled():
        Pupil.objects.filter(pk=case.pupil_id).update(sen=Pupil.SEN.EHCP)
    officer = world.users["attendance_officer"]
    client = client_as(officer)
    response = client.post(url("letter_propose", school, case.pk))
    with scopes_disabled():
        action = Action.objects.get(case=case)
    assert action.status == "held" and any("Education, health and care plan" in h for h in action.hold_reasons)
    assert response.url == url("action", school, action.pk)
    review = client.get(url("action", school, action.pk)).content.decode()
    assert "Held by the school" in review and "Education, health and care plan" in review
    before = written(school)
    refused = client.post(url("action", school, action.pk), {"decision": "approve"})
    assert refused.status_code == 400 and "give a reason" in refused.content.decode()
    assert written(school) == before
    client.post(url("action", school, action.pk), {"decision": "approve", "reason": "Spoke to SENCo; plan in place"})
    f.reload(action)
    assert action.status == "to_send" and action.approved_by == officer
    with scopes_disabled():
        letter = CaseEvent.objects.get(case=case, kind="letter")
        assert letter.approved_by == officer and letter.status == "sent to the letters"
        # The letters engine wrote one letter per parent with parental responsibility, approver named.
        from letters.models import Letter

        written_letters = list(Letter.objects.filter(pk__in=action.letter_ids))
        assert written_letters and all(x.approved_by == officer for x in written_letters)
        assert {x.kind for x in written_letters} == {"stage_1"}
        assert CaseEvent.objects.filter(case=case, kind="context_review").exists()


def test_record_support_instead_of_a_letter(school, case, world, client_as):
    client = client_as(world.users["attendance_officer"])
    client.post(url("letter_propose", school, case.pk))
    with scopes_disabled():
        action = Action.objects.get(case=case)
    client.post(url("action", school, action.pk), {"decision": "support", "support_kind": "school_nurse",
                                                   "reason": "Asthma: nurse first"})
    f.reload(action)
    assert action.status == "replaced"
    with scopes_disabled():
        assert SupportRecord.objects.get(case=case).kind == "school_nurse"


def test_a_stage_reserved_to_the_head_refuses_the_officer(school, world, client_as):
    ladder = ladder_for_tests(school, MEADOWSIDE, day=dt.date(2025, 9, 2))
    enrolment = absent_pupil(school, upn="A00000000009A")
    run_night(school)
    sync(school)
    case = open_case(school, enrolment)
    with scope(school=school):
        stages = list(ladder.stages.order_by("position"))
        Case.objects.filter(pk=case.pk).update(stage=stages[4])  # Letter 5: head only
    before = written(school)
    response = client_as(world.users["attendance_officer"]).post(
        url("case_stage", school, case.pk), {"stage": stages[3].pk, "why": "Back a step"})
    assert response.status_code == 403
    assert written(school) == before
    client_as(world.users["headteacher"]).post(url("case_stage", school, case.pk),
                                               {"stage": stages[3].pk, "why": "Back a step"})
    f.reload(case)
    assert case.stage_id == stages[3].pk


BAD_POSTS = [
    ("case_open", False, {"enrolment": "x", "reason": ""}, "This field is required"),
    ("case_note", True, {"kind": "fax", "text": "x"}, "Select a valid choice"),
    ("case_note", True, {"kind": "note", "text": ""}, "This field is required"),
    ("case_stage", True, {"stage": "", "why": "x"}, "This field is required"),
    ("case_close", True, {"outcome": "won", "why": "x"}, "Select a valid choice"),
    ("case_close", True, {"outcome": "improved", "why": ""}, "This field is required"),
    ("case_owner", True, {"owner": "99999"}, "Choose an attendance officer"),
    ("meeting_create", True, {"meeting_type": "M", "when": "not a date", "place": "R", "invitees": "Sam, parent"},
     "Enter a valid date/time"),
    ("meeting_create", True, {"meeting_type": "M", "when": "2030-01-01T10:00", "place": "R", "invitees": "Sam"},
     "write a name and a role"),
    ("meeting_create", True, {"meeting_type": "M", "when": "2001-01-01T10:00", "place": "R",
                              "invitees": "Sam, parent"}, "future date"),
    ("contract_create", True, {"kind": "contract", "start": "2025-10-10", "end": "2025-10-01",
                               "target_percent": "95", "parent_commitments": "x", "school_support": "y"},
     "must be after its start"),
    ("contract_create", True, {"kind": "contract", "start": "2025-10-01", "end": "2026-01-01",
                               "target_percent": "150", "parent_commitments": "x", "school_support": "y"},
     "less than or equal to 100"),
    ("contract_create", True, {"kind": "contract", "start": "2025-10-01", "end": "2026-01-01",
                               "target_percent": "95", "parent_commitments": "x", "school_support": "y",
                               "agreed_actions": "Walk to school"}, "write the action, who and the due date"),
    ("support_add", True, {"kind": "magic", "offered_on": "2025-10-01", "taken_up": "accepted"},
     "Select a valid choice"),
    ("bulk_propose", False, {}, "Select at least one case"),
    ("letter_propose", True, {"kind": "referral"}, "This stage does not offer that"),
    ("letter_propose", True, {"kind": "nonsense"}, "This stage does not offer that"),
    ("bulk_approve", False, {"actions": ["abc"]}, "Select at least one letter"),
]


@pytest.mark.parametrize(("name", "with_case", "data", "message"), BAD_POSTS,
                         ids=[f"{b[0]}-{n}" for n, b in enumerate(BAD_POSTS)])
def test_bad_input_gives_a_clear_message_and_writes_nothing(name, with_case, data, message, school, case, world,
                                                            client_as):
    client = client_as(world.users["attendance_officer"])
    before = written(school)
    args = [case.pk] if with_case else []
    response = client.post(url(name, school, *args), data, follow=True)
    assert message in response.content.decode()
    assert written(school) == before


def test_bad_meeting_record_contract_review_and_clock_input(school, case, world, client_as):
    from .factories import make_clock, make_contract, make_meeting

    with scopes_disabled():
        meeting, contract, clock = make_meeting(school), make_contract(school), make_clock(school)
    client = client_as(world.users["attendance_officer"])
    before = written(school)
    cases = [
        (url("meeting_record", school, meeting.pk), {"status": "held", "minutes": ""}, "Write the minutes"),
        (url("meeting_record", school, meeting.pk), {"status": "cancelled"}, "Select a valid choice"),
        (url("meeting_record", school, meeting.pk), {"status": "held", "minutes": "x", "agreed_actions": "a, b, soon"},
         "is not a date"),
        (url("contract_review", school, contract.pk), {"outcome": "great"}, "Select a valid choice"),
        (url("clock_done", school, clock.pk), {"note": ""}, "This field is required"),
        (url("action", school, make_action_for(school, case).pk), {"decision": "ignore"}, "Select a valid choice"),
    ]
    for target, data, message in cases:
        response = client.post(target, data, follow=True)
        assert message in response.content.decode(), target
    after = written(school)
    assert after == before


def make_action_for(school, case):
    with scopes_disabled():
        return Action.objects.create(school=school, case=case, kind="letter", title="Letter")


def test_parent_sees_only_what_was_approved(school, case, world, client_as):
    from tests import factories as f

    with scopes_disabled():
        contact = case.pupil.contacts.first()
        parent = f.UserFactory(username="parent-of-case")
        contact.guardian.user = parent
        contact.guardian.save()
        Action.objects.create(school=school, case=case, kind="letter", title="Proposed only")
        approved = Action.objects.create(school=school, case=case, kind="letter", title="Letter 1: concern",
                                         status="to_send")
    page = client_as(parent).get(reverse("parent_casework:letters", args=[case.pupil_id])).content.decode()
    assert approved.title in page and "Proposed only" not in page


def test_api_lists_cases_events_meetings_contracts_and_refuses_bad_input(school, case, world, client_as):
    client = client_as(world.users["attendance_officer"])
    base = f"/api/v1/s/{school.slug}"
    listed = client.get(f"{base}/cases/").json()
    assert [c["id"] for c in (listed["results"] if isinstance(listed, dict) else listed)] == [case.pk]
    events = client.get(f"{base}/cases/{case.pk}/events/").json()
    assert any(e["kind"] == "opened" for e in (events.get("results", events) if isinstance(events, dict) else events))
    assert client.get(f"{base}/meetings/").status_code == 200
    assert client.get(f"{base}/contracts/").status_code == 200
    before = written(school)
    bad = client.get(f"{base}/cases/", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()
    assert client.get(f"{base}/meetings/", {"case": "x"}).status_code == 400
    assert client.get(f"{base}/contracts/", {"case": "x"}).status_code == 400
    refused = client.post(f"{base}/cases/{case.pk}/events/", {"kind": "fax", "text": ""},
                          content_type="application/json")
    assert refused.status_code == 400 and {"kind", "text"} <= set(refused.json())
    assert written(school) == before
    ok = client.post(f"{base}/cases/{case.pk}/events/", {"kind": "call", "text": "Mum answered"},
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["kind"] == "call"
    teacher = client_as(world.users["class_teacher"])
    assert teacher.get(f"{base}/cases/").status_code == 403


def test_openapi_schema_has_the_casework_endpoints(world, client_as):
    client = client_as(world.users["office_staff"])  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    for path in ("/api/v1/s/{school_slug}/cases/", "/api/v1/s/{school_slug}/cases/{case_id}/events/",
                 "/api/v1/s/{school_slug}/meetings/", "/api/v1/s/{school_slug}/contracts/"):
        assert path in schema["paths"], path


def test_office_staff_see_the_open_case_flag_and_stage_only(school, case, world, client_as):
    office = client_as(world.users["office_staff"])
    page = office.get(reverse("absence:pupil", args=[school.slug, case.pupil_id])).content.decode()
    assert f"Attendance case: {case.stage.name}" in page
    assert url("case", school, case.pk) not in page  # no way into the casework
    officer = client_as(world.users["attendance_officer"])
    assert url("case", school, case.pk) in officer.get(
        reverse("absence:pupil", args=[school.slug, case.pupil_id])).content.decode()


def test_a_letter_the_engine_refuses_is_not_approved_and_nothing_is_written(school, case, world, client_as):
    from letters.models import Letter

    with scopes_disabled():
        case.pupil.contacts.update(parental_responsibility=False)
        action = Action.objects.create(school=school, case=case, kind="letter", title="Letter 1", letter_kind="stage_1")
    before = written(school)
    response = client_as(world.users["attendance_officer"]).post(url("action", school, action.pk),
                                                                 {"decision": "approve"})
    assert response.status_code == 400 and "no parent with parental responsibility" in response.content.decode()
    f.reload(action)
    assert action.status == "proposed" and action.approved_by is None
    assert written(school) == before
    with scopes_disabled():
        assert not Letter.objects.exists()


def test_a_notice_to_improve_offered_by_the_stage_goes_through_context_review(school, world, client_as):
    from interventions.ladders import BASILDON
    from letters.models import Letter

    ladder = ladder_for_tests(school, BASILDON, day=dt.date(2025, 9, 2))
    enrolment = absent_pupil(school, upn="A00000000008A")
    run_night(school)
    sync(school)
    case = open_case(school, enrolment)
    with scope(school=school):
        Case.objects.filter(pk=case.pk).update(stage=ladder.stages.get(position=4))
    head = world.users["headteacher"]
    client = client_as(head)
    client.post(url("letter_propose", school, case.pk), {"kind": "notice"})
    with scopes_disabled():
        action = Action.objects.get(case=case, kind="notice")
    assert action.title == "Notice to improve: Notice to improve" and action.letter_kind == "notice_to_improve"
    client.post(url("action", school, action.pk), {"decision": "approve", "reason": "Support offered since September"})
    with scopes_disabled():
        assert set(Letter.objects.filter(pk__in=Action.objects.get(pk=action.pk).letter_ids)
                   .values_list("kind", flat=True)) == {"notice_to_improve"}


def test_the_register_shows_a_teacher_the_open_case_flag_and_stage_not_the_casework(school, case, world,
                                                                                       client_as):
    from registers.models import RegistrationGroup

    with scopes_disabled():
        group = RegistrationGroup.objects.create(school=school, name="5X", year_group=case.pupil.year_group)
        Pupil.objects.filter(pk=case.pupil_id).update(registration_group=group)
        stage = Case.objects.get(pk=case.pk).stage.name
    register = reverse("registers:register", kwargs={"school_slug": school.slug, "group_id": group.pk,
                                                     "date": dt.date(2025, 10, 6), "session": "AM"})
    page = client_as(world.users["class_teacher"]).get(register)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Case: {stage}" in text
    assert url("case", school, case.pk) not in text  # the flag, never a way into the casework
    with scopes_disabled():
        Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    assert "Case:" not in client_as(world.users["class_teacher"]).get(register).content.decode()


def test_pupil_context_is_recorded_with_a_reason_and_read_by_the_review(school, case, world, client_as):
    from interventions.models import PupilContext
    from interventions.selectors import context_for

    officer = client_as(world.users["attendance_officer"])
    before = written(school)
    for data, message in (({"young_carer": "on", "why": ""}, "This field is required"),
                          ({"why": "Nothing new"}, "Nothing has changed")):
        page = officer.post(url("case_context", school, case.pk), data, follow=True).content.decode()
        assert message in page
        assert written(school) == before
    page = officer.post(url("case_context", school, case.pk),
                        {"young_carer": "on", "safeguarding_flag": "on", "why": "Told by the SENCo"}, follow=True)
    assert "Context saved" in page.content.decode()
    with scope(school=school):
        saved = PupilContext.objects.get(school=school, pupil=case.pupil)
        assert (saved.young_carer, saved.health_plan, saved.safeguarding_flag) == (True, False, True)
        event = CaseEvent.objects.filter(case=case).latest("pk")
        assert event.title == "Pupil context: young carer: yes; open safeguarding note: yes"
        assert event.why == "Told by the SENCo" and event.by == world.users["attendance_officer"]
        review = context_for(school=school, case=case)
        assert review.young_carer and any("safeguarding" in hold for hold in review.holds)
    assert client_as(world.users["class_teacher"]).post(
        url("case_context", school, case.pk), {"why": "x"}).status_code == 403


def test_a_meeting_is_rearranged_with_its_reason_and_a_new_letter_to_approve(school, case, world, client_as):
    from django.utils import timezone

    from .factories import make_meeting

    with scopes_disabled():
        meeting = make_meeting(school)
        Meeting.objects.filter(pk=meeting.pk).update(case=case)
        meeting.refresh_from_db()
    officer = client_as(world.users["attendance_officer"])
    target = url("meeting_rearrange", school, meeting.pk)
    before = written(school)
    for data, message in (({"when": "2099-01-05T10:00", "place": "Room 2", "why": ""}, "This field is required"),
                          ({"when": "2020-01-05T10:00", "place": "Room 2", "why": "x"}, "must be in the future"),
                          ({"when": "soon", "place": "Room 2", "why": "x"}, "Enter a valid date/time")):
        assert message in officer.post(target, data, follow=True).content.decode()
        assert written(school) == before
    same = timezone.localtime(meeting.when).strftime("%Y-%m-%dT%H:%M")
    assert "Give a new time or a new place" in officer.post(
        target, {"when": same, "place": "Room 1", "why": "x"}, follow=True).content.decode()
    page = officer.post(target, {"when": "2099-01-05T10:00", "place": "Family room", "why": "The parent works Mondays"},
                        follow=True).content.decode()
    assert "Meeting moved" in page
    with scopes_disabled():
        old, new = Meeting.objects.get(pk=meeting.pk), Meeting.objects.get(rearranged_from=meeting)
        assert old.status == Meeting.Status.REARRANGED and new.status == Meeting.Status.PLANNED
        assert (new.place, new.invitees, new.case_id) == ("Family room", old.invitees, case.pk)
        action = Action.objects.get(meeting=new)
        assert action.letter_kind == "meeting_rearranged" and action.status in ("proposed", "held")
        event = CaseEvent.objects.filter(case=case).latest("pk")
        assert event.title == "Meeting rearranged: Attendance meeting" and event.why == "The parent works Mondays"
    assert "Only a planned meeting" in officer.post(
        target, {"when": "2099-02-05T10:00", "place": "Room 3", "why": "again"}, follow=True).content.decode()
