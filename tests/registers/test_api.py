"""Registers API: school-scoped reads, the register write with versions and conflicts, token auth, schema."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registers.models import Mark
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, make_class


@pytest.fixture
def api(klass):
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client
    return make


def u(k, name, **kwargs):
    return reverse(f"api:{name}", kwargs={"school_slug": k.school.slug, **kwargs})


def reg_url(k, session="AM"):
    return u(k, "register-detail", group_id=k.group.pk, date=MONDAY, session=session)


def body(pupils, code="/", version=None, reason=""):
    return {"reason": reason, "marks": [{"pupil": p.pk, "code": code, "version": version} for p in pupils]}


def count(k):
    with scope(school=k.school):
        return Mark.objects.filter(school=k.school).count()


def test_token_auth_reads_pupils_without_sensitive_fields_for_teachers(klass, world):
    token = Token.objects.create(user=klass.teacher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(u(klass, "pupil-list"))
    assert response.status_code == 200
    assert response.json()["count"] == 5
    assert "sen" not in response.json()["results"][0]
    head = Token.objects.create(user=klass.head)
    client.credentials(HTTP_AUTHORIZATION=f"Token {head.key}")
    row = client.get(u(klass, "pupil-detail", pk=klass.pupils[0].pk)).json()
    assert {"sen", "fsm", "eal", "looked_after", "child_in_need"} <= set(row)
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(u(klass, "pupil-list")).status_code == 401


def test_another_schools_pupil_is_404(klass, api, world):
    with scopes_disabled():
        other = f.PupilFactory(school=world.other)
    assert api(klass.head).get(u(klass, "pupil-detail", pk=other.pk)).status_code == 404


def test_groups_enrolments_and_filters(klass, api):
    client = api(klass.office)
    assert [g["name"] for g in client.get(u(klass, "group-list")).json()["results"]] == ["5B"]
    enrolments = client.get(u(klass, "enrolment-list"), {"pupil": klass.pupils[0].pk}).json()["results"]
    assert len(enrolments) == 1
    assert enrolments[0]["pupil"] == klass.pupils[0].pk
    assert client.get(u(klass, "enrolment-list"), {"pupil": "x"}).status_code == 400
    assert client.get(u(klass, "pupil-list"), {"group": klass.group.pk}).json()["count"] == 5


def test_registers_for_a_date(klass, api):
    marks_save_as(klass, klass.pupils[:2])
    rows = api(klass.office).get(u(klass, "register-list"), {"date": "2025-09-08"}).json()
    am = next(r for r in rows if r["session"] == "AM")
    assert (am["status"], am["marked"], am["enrolled"]) == ("in_progress", 2, 5)
    assert api(klass.office).get(u(klass, "register-list"), {"date": "8/9/25"}).status_code == 400


def marks_save_as(k, pupils, code="/", by=None):
    with scope(school=k.school):
        marks_save(school=k.school, by=by or k.teacher, entries=[MarkEntry(p.pk, MONDAY, "AM", code) for p in pupils])


def test_write_a_register_then_read_it(klass, api):
    client = api(klass.teacher)
    response = client.post(reg_url(klass), body(klass.pupils), format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 5, "amended": 0, "unchanged": 0, "skipped": 0, "conflicts": []}
    read = client.get(reg_url(klass)).json()
    assert read["complete"] is True
    assert {r["version"] for r in read["rows"]} == {1}


def test_conflicts_are_200_with_the_current_value_when_something_saved(klass, api):
    marks_save_as(klass, klass.pupils[:1], code="N")
    data = body(klass.pupils)  # version null for everyone: pupil 0 was marked meanwhile
    response = api(klass.office).post(reg_url(klass), data, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert response.json()["conflicts"] == [{"pupil": klass.pupils[0].pk, "submitted_code": "/",
                                             "current_code": "N", "current_minutes_late": None, "current_version": 1}]


def test_all_rows_conflicting_is_409(klass, api):
    marks_save_as(klass, klass.pupils[:2], code="N")
    response = api(klass.office).post(reg_url(klass), body(klass.pupils[:2], code="I"), format="json")
    assert response.status_code == 409
    assert len(response.json()["conflicts"]) == 2
    assert count(klass) == 2


def test_amending_needs_reason_and_role(klass, api):
    marks_save_as(klass, klass.pupils[:1], code="N")
    # "/" is a code teachers enter; changing a saved mark after the register closed is still not theirs to do.
    teacher = api(klass.teacher).post(reg_url(klass), body(klass.pupils[:1], code="/", version=1, reason="x"),
                                      format="json")
    assert teacher.status_code == 400
    assert "cannot change a saved mark" in teacher.json()["errors"][0]["message"]
    office = api(klass.office)
    no_reason = office.post(reg_url(klass), body(klass.pupils[:1], code="I", version=1), format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["detail"]
    ok = office.post(reg_url(klass), body(klass.pupils[:1], code="I", version=1, reason="phoned"), format="json")
    assert ok.status_code == 200
    assert ok.json()["amended"] == 1
    history = office.get(u(klass, "amendment-list"),
                         {"date_from": "2025-09-08", "date_to": "2025-09-08", "amended_only": "true"}).json()
    assert [(r["original"], r["new"], r["reason"], r["position"]) for r in history["results"]] == [
        ("N", "I", "phoned", klass.office.position)]


def test_a_note_change_on_a_saved_mark_is_an_amendment(klass, api):
    marks_save_as(klass, klass.pupils[:1], code="/")
    with_note = {"reason": "", "marks": [{"pupil": klass.pupils[0].pk, "code": "/", "version": 1,
                                           "note": "Left early with mum"}]}
    teacher = api(klass.teacher).post(reg_url(klass), with_note, format="json")
    assert teacher.status_code == 400
    assert "cannot change a saved mark" in teacher.json()["errors"][0]["message"]
    office = api(klass.office)
    assert office.post(reg_url(klass), with_note, format="json").status_code == 400
    with scope(school=klass.school):
        assert Mark.objects.get(pupil=klass.pupils[0]).note == ""
    ok = office.post(reg_url(klass), {**with_note, "reason": "Mum phoned"}, format="json")
    assert ok.status_code == 200 and ok.json()["amended"] == 1
    history = office.get(u(klass, "amendment-list"),
                         {"date_from": "2025-09-08", "date_to": "2025-09-08", "amended_only": "true"}).json()
    assert [r["reason"] for r in history["results"]] == ["Mum phoned"]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "marks"),
    ({"marks": []}, "marks"),
    ({"marks": "all present"}, "marks"),
    ({"marks": [{"code": "/"}]}, "marks"),
    ({"marks": [{"pupil": "abc", "code": "/"}]}, "marks"),
    ({"marks": [{"pupil": 1, "code": "/", "minutes_late": -1}]}, "marks"),
    ({"marks": [{"pupil": 1, "code": "/", "note": "x" * 301}]}, "marks"),
    ({"marks": [{"pupil": 1, "code": "/", "version": "v1"}]}, "marks"),
    ({"marks": [{"pupil": 1, "code": "/"}], "reason": "x" * 201}, "reason"),
])
def test_bad_bodies_are_400_and_write_nothing(klass, api, payload, field):
    response = api(klass.office).post(reg_url(klass), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert count(klass) == 0


@pytest.mark.parametrize(("row", "message"), [
    ({"code": "Q9"}, "is not an attendance code"),
    ({"code": "#"}, "cannot be entered in a register"),
    ({"code": "H"}, "is not valid on"),
    ({"code": "/", "minutes_late": 5}, "Minutes late can only be given with L or U"),
    ({"code": "L", "minutes_late": 301}, "Ensure this value is less than or equal to 300"),
])
def test_bad_rows_are_400_with_per_pupil_errors(klass, api, row, message):
    payload = {"marks": [{"pupil": klass.pupils[0].pk, **row}, {"pupil": klass.pupils[1].pk, "code": "/"}]}
    response = api(klass.office).post(reg_url(klass), payload, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert count(klass) == 0


def test_pupil_not_on_the_register_or_from_another_school(klass, api, world):
    with scopes_disabled():
        other = f.EnrolmentFactory(pupil__school=world.other).pupil
    _other_group, stranger = make_class(world.school, 1, name="6Z", calendar=False)
    for pupil in (other, stranger[0]):
        payload = {"marks": [{"pupil": pupil.pk, "code": "/"}, {"pupil": klass.pupils[0].pk, "code": "/"}]}
        response = api(klass.office).post(reg_url(klass), payload, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"pupil": pupil.pk, "message": "This pupil is not on this register on this date."}]
    assert count(klass) == 0
    with scopes_disabled():
        assert not Mark.objects.exists()


def test_duplicate_rows_are_refused(klass, api):
    payload = {"marks": [{"pupil": klass.pupils[0].pk, "code": "/"}, {"pupil": klass.pupils[0].pk, "code": "N"}]}
    response = api(klass.office).post(reg_url(klass), payload, format="json")
    assert response.status_code == 400
    assert "appears twice" in str(response.json())


def test_closed_session_is_400(klass, api):
    url = u(klass, "register-detail", group_id=klass.group.pk, date="2025-11-14", session="AM")
    response = api(klass.office).post(url, body(klass.pupils), format="json")
    assert response.status_code == 400
    assert "INSET" in response.json()["detail"]


def test_marks_bulk_read_with_filters(klass, api):
    marks_save_as(klass, klass.pupils)
    client = api(klass.office)
    all_ = client.get(u(klass, "mark-list"), {"date_from": "2025-09-01", "date_to": "2025-09-30"}).json()
    assert all_["count"] == 5
    assert {"version", "code", "minutes_late"} <= set(all_["results"][0])
    one = client.get(u(klass, "mark-list"), {"date_from": "2025-09-01", "date_to": "2025-09-30",
                                             "pupil": klass.pupils[0].pk}).json()
    assert one["count"] == 1
    group = client.get(u(klass, "mark-list"), {"date_from": "2025-09-08", "date_to": "2025-09-08",
                                               "group": klass.group.pk + 999}).json()
    assert group["count"] == 0


@pytest.mark.parametrize(("params", "message"), [
    ({}, "This parameter is required"),
    ({"date_from": "2025-09-01"}, "This parameter is required"),
    ({"date_from": "yesterday", "date_to": "2025-09-30"}, "is not a date"),
    ({"date_from": "2025-09-30", "date_to": "2025-09-01"}, "must not be before"),
    ({"date_from": "2020-01-01", "date_to": "2025-09-01"}, "at most 400 days"),
    ({"date_from": "2025-09-01", "date_to": "2025-09-30", "pupil": "me"}, "is not a whole number"),
])
def test_marks_and_amendments_bad_parameters(klass, api, params, message):
    for name in ("mark-list", "amendment-list"):
        response = api(klass.office).get(u(klass, name), params)
        assert response.status_code == 400, name
        assert message in str(response.json()), name


def test_roles(klass, api, world):
    assert api(world.users["governor"]).get(u(klass, "pupil-list")).status_code == 403
    assert api(world.users["trust_officer"]).post(reg_url(klass), body(klass.pupils), format="json").status_code == 403
    assert count(klass) == 0


def test_schema_lists_every_registers_endpoint(client, db):
    client.force_login(f.UserFactory())  # the schema is for signed-in users
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    paths = set(schema["paths"])
    prefix = "/api/v1/s/{school_slug}/"
    for path in ("pupils/", "pupils/{id}/", "enrolments/", "groups/", "registers/",
                 "registers/{group_id}/{date}/{session}/", "marks/", "amendments/"):
        assert prefix + path in paths, path
    write = schema["paths"][prefix + "registers/{group_id}/{date}/{session}/"]["post"]
    assert {"200", "400", "409"} <= set(write["responses"])
