"""The admission register list, the pupil page, adding and changing pupils."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from registers.models import Enrolment, Pupil
from tests import factories as f

from .conftest import counts, fresh_upn, pupil_post

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --------------------------------------------------------------------------- the list


def test_register_lists_pupils_with_their_entry(adm, world, client_as):
    response = client_as(world.users["class_teacher"]).get(adm.url("admission"))
    assert response.status_code == 200
    page = text(response)
    for shown in ("Lovelace, Ada", adm.pupil.upn, "14 Mar 2015", "Year 5", "5B", "3 Sep 2025", "On roll", "Main"):
        assert shown in page


def test_register_filters(adm, world, client_as):
    with scopes_disabled():
        other_group = f.RegistrationGroupFactory(school=world.school, name="6C", year_group="6")
        f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=other_group, pupil__year_group="6",
                           pupil__forename="Alan", pupil__surname="Turing")
        f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=adm.group,
                           pupil__forename="Left", pupil__surname="Already", leaving_date=dt.date(2025, 10, 1),
                           deletion_ground="other_school")
    client = client_as(world.users["office_staff"])

    def names(**params: Any) -> set[str]:
        page = text(client.get(adm.url("admission"), params))
        return {n for n in ("Lovelace", "Turing", "Already") if n in page}

    assert names() == {"Lovelace", "Turing"}  # on roll by default
    assert names(status="left") == {"Already"}
    assert names(status="all") == {"Lovelace", "Turing", "Already"}
    assert names(group=other_group.pk) == {"Turing"}
    assert names(year="5", status="all") == {"Lovelace", "Already"}
    assert names(q="tur") == {"Turing"}
    assert names(q=adm.pupil.upn.lower()) == {"Lovelace"}
    # Another school's group in the filter is not a valid choice: the filter is ignored, nothing leaks.
    assert client.get(adm.url("admission"), {"group": adm.other_group.pk}).status_code == 200


def test_register_htmx_returns_the_table_only(adm, world, client_as):
    response = client_as(world.users["headteacher"]).get(adm.url("admission"), {"q": "ada"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Lovelace" in text(response) and "<html" not in text(response)


def test_register_paginates(adm, world, client_as):
    with scopes_disabled():
        for i in range(4):
            f.EnrolmentFactory(pupil__school=world.school, pupil__surname=f"Zed{i}")
    client = client_as(world.users["headteacher"])
    first = text(client.get(adm.url("admission"), {"per_page": 2}))
    assert "page 1 of 3" in first and "Next page" in first
    third = text(client.get(adm.url("admission"), {"per_page": 2, "page": 3}))
    assert "Zed3" in third and "Zed2" not in third and "Lovelace" not in third


def _queries(client: Any, url: str, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_register_query_count_does_not_grow_with_the_page(adm, world, client_as):
    client = client_as(world.users["headteacher"])
    url = adm.url("admission")
    client.get(url)  # warm the session and role caches
    group = adm.group
    filtered = {"per_page": 5, "status": "all", "group": group.pk, "q": "many"}
    small = _queries(client, url, {"per_page": 5, "status": "all"})
    with scopes_disabled():
        for i in range(60):
            e = f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=group,
                                   pupil__surname=f"Many{i:02d}")
            if i % 3 == 0:  # several entries per pupil
                e.leaving_date, e.deletion_ground = dt.date(2025, 9, 30), "other_school"
                e.save()
                f.EnrolmentFactory(pupil=e.pupil, school=world.school, admission_date=dt.date(2025, 11, 3))
    assert _queries(client, url, {"per_page": 5, "status": "all"}) == small
    assert _queries(client, url, {"per_page": 60, "status": "all"}) == small
    # Filtering costs one more query (the chosen group is looked up), again whatever the page size.
    assert _queries(client, url, filtered) == _queries(client, url, {**filtered, "per_page": 60}) == small + 1


@pytest.mark.parametrize("role", ["class_teacher", "office_staff", "attendance_officer", "headteacher",
                                  "senior_attendance_champion", "trust_officer"])
def test_staff_who_see_pupils_open_the_register(adm, world, client_as, role):
    assert client_as(world.users[role]).get(adm.url("admission")).status_code == 200
    assert client_as(world.users[role]).get(adm.url("pupil", pupil_id=adm.pupil.pk)).status_code == 200


def test_governors_cannot_see_pupils(adm, world, client_as):
    client = client_as(world.users["governor"])
    assert client.get(adm.url("admission")).status_code == 403
    assert client.get(adm.url("pupil", pupil_id=adm.pupil.pk)).status_code == 403
    home = text(client.get(reverse("school_home", kwargs={"school_slug": adm.school.slug})))
    assert adm.url("admission") not in home


def test_home_links_to_the_register(adm, world, client_as):
    home = text(client_as(world.users["class_teacher"]).get(reverse("school_home",
                                                                    kwargs={"school_slug": adm.school.slug})))
    assert adm.url("admission") in home


# --------------------------------------------------------------------------- the pupil page


def _sensitive_pupil(adm):
    with scopes_disabled():
        adm.pupil.sen, adm.pupil.fsm, adm.pupil.has_social_worker = "E", True, True
        adm.pupil.save()


@pytest.mark.parametrize("role", ["attendance_officer", "senior_attendance_champion", "headteacher",
                                  "trust_officer"])
def test_cohort_characteristics_shown_to_roles_that_need_them(adm, world, client_as, role):
    _sensitive_pupil(adm)
    page = text(client_as(world.users[role]).get(adm.url("pupil", pupil_id=adm.pupil.pk)))
    assert "Cohort characteristics" in page and "Education, health and care plan" in page
    assert "Free school meals" in page


@pytest.mark.parametrize("role", ["class_teacher", "office_staff"])
def test_cohort_characteristics_hidden_from_other_staff(adm, world, client_as, role):
    _sensitive_pupil(adm)
    client = client_as(world.users[role])
    page = text(client.get(adm.url("pupil", pupil_id=adm.pupil.pk)))
    assert "Lovelace" in page
    for hidden in ("Cohort characteristics", "Education, health and care plan", "Free school meals",
                   "social worker", "SEN"):
        assert hidden not in page
    if role == "office_staff":  # may edit the pupil, but the form has no sensitive fields
        form = text(client.get(adm.url("pupil_edit", pupil_id=adm.pupil.pk)))
        assert "Free school meals" not in form and 'name="sen"' not in form


def test_pupil_page_shows_entries_and_contacts_in_priority_order(adm, world, client_as):
    with scopes_disabled():
        f.PupilContactFactory(pupil=adm.pupil, school=adm.school, priority=2, guardian__forename="Second",
                              relationship="Father")
        f.PupilContactFactory(pupil=adm.pupil, school=adm.school, priority=1, guardian__forename="First")
        adm.enrolment.leaving_date, adm.enrolment.deletion_ground = dt.date(2025, 10, 1), "other_school"
        adm.enrolment.save()
        f.EnrolmentFactory(pupil=adm.pupil, school=adm.school, admission_date=dt.date(2025, 11, 3),
                           registration_type="dual_subsidiary")
    page = text(client_as(world.users["office_staff"]).get(adm.url("pupil", pupil_id=adm.pupil.pk)))
    assert page.index("First") < page.index("Second")
    assert "Registered at another school" in page and "Dual – subsidiary" in page
    assert "3 Sep 2025" in page and "1 Oct 2025" in page and "3 Nov 2025" in page


def test_pupil_page_is_a_fixed_number_of_queries(adm, world, client_as):
    client = client_as(world.users["headteacher"])
    url = adm.url("pupil", pupil_id=adm.pupil.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with scopes_disabled():
        for i in range(6):
            f.PupilContactFactory(pupil=adm.pupil, school=adm.school, priority=i + 1)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


# --------------------------------------------------------------------------- adding a pupil


def test_add_a_pupil(adm, world, client_as):
    before = counts(adm.school)
    data = pupil_post(adm, upn=" " + fresh_upn().lower(), registration_type="dual_main")
    response = client_as(world.users["office_staff"]).post(adm.url("pupil_add"), data)
    assert response.status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(school=adm.school, surname="Hopper")
        enrolment = Enrolment.objects.get(pupil=pupil)
        assert pupil.registration_group == adm.group and pupil.date_of_birth == dt.date(2015, 6, 1)
    assert pupil.upn == data["upn"].strip().upper()
    assert enrolment.admission_date == dt.date(2025, 9, 3) and enrolment.registration_type == "dual_main"
    assert enrolment.school == adm.school and enrolment.leaving_date is None
    assert response["Location"] == adm.url("pupil", pupil_id=pupil.pk)
    after = counts(adm.school)
    assert after["Pupil"] == before["Pupil"] + 1 and after["Enrolment"] == before["Enrolment"] + 1


def test_add_form_renders(adm, world, client_as):
    page = text(client_as(world.users["headteacher"]).get(adm.url("pupil_add")))
    assert 'for="id_upn"' in page and "starting day" in page and "Free school meals" in page
    # Another school's groups are not offered (as an option's text: a random token on the page may hold "5X").
    assert ">5X<" not in page and f'value="{adm.other_group.pk}"' not in page
    assert f">{adm.group.name}<" in page


def test_office_staff_cannot_set_sensitive_characteristics(adm, world, client_as):
    data = pupil_post(adm, fsm="on", sen="E", has_social_worker="on")
    assert client_as(world.users["office_staff"]).post(adm.url("pupil_add"), data).status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(school=adm.school, surname="Hopper")
    assert (pupil.sen, pupil.fsm, pupil.has_social_worker) == ("N", False, False)


def test_head_sets_cohort_characteristics(adm, world, client_as):
    data = pupil_post(adm, fsm="on", sen="K", eal="on", looked_after="on", child_in_need="on",
                      has_social_worker="on")
    assert client_as(world.users["headteacher"]).post(adm.url("pupil_add"), data).status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(school=adm.school, surname="Hopper")
    assert (pupil.sen, pupil.fsm, pupil.eal, pupil.looked_after, pupil.child_in_need, pupil.has_social_worker) == (
        "K", True, True, True, True, True)


def _future() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


BAD_PUPIL = [
    ("upn", "", "Give the pupil's UPN, or tick 'No UPN yet'"),
    ("upn", "A12345", "must be 13 characters long"),
    ("upn", "A1234567890AB", "must be a letter, eleven digits"),
    ("upn", "duplicate", "is already used by Ada Lovelace"),
    ("upn", "wrongcheck", "check letter does not match"),
    ("forename", "", "Give the pupil's forename."),
    ("forename", "   ", "Give the pupil's forename."),
    ("surname", "", "Give the pupil's surname."),
    ("surname", "x" * 101, "at most 100 characters"),
    ("date_of_birth", "", "Give the date."),
    ("date_of_birth", "last March", "Give the date as YYYY-MM-DD."),
    ("date_of_birth", "future", "cannot be in the future"),
    ("date_of_birth", "2024-06-01", "would be 1 years old; pupils must be between 2 and 19"),
    ("date_of_birth", "2000-06-01", "would be 25 years old"),
    ("year_group", "", "Choose a year group."),
    ("year_group", "15", "Choose a year group from the list."),
    ("registration_group", "other-school", "Choose one of this school's registration groups."),
    ("registration_group", "999999", "Choose one of this school's registration groups."),
    ("admission_date", "", "Give the date."),
    ("admission_date", "2025-02-30", "Give the date as YYYY-MM-DD."),
    ("registration_type", "triple", "Choose main, dual (main) or dual (subsidiary) registration."),
    ("sen", "X", "Choose an SEN status."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_PUPIL, ids=lambda v: str(v)[:30])
def test_add_refuses_bad_input_and_writes_nothing(adm, world, client_as, field, value, message):
    if value == "duplicate":
        value = adm.pupil.upn
    elif value == "wrongcheck":
        good = fresh_upn()
        value = ("B" if good[0] != "B" else "C") + good[1:]
    elif value == "future":
        value = _future()
    elif value == "other-school":
        value = str(adm.other_group.pk)
    before = counts(adm.school)
    response = client_as(world.users["headteacher"]).post(adm.url("pupil_add"), pupil_post(adm, **{field: value}))
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was saved" in page and message in page
    assert counts(adm.school) == before
    with scope(school=world.other):
        assert not Pupil.objects.filter(school=world.other).exists()


@pytest.mark.parametrize("role", ["class_teacher", "attendance_officer", "governor", "trust_officer"])
def test_only_school_managers_add_pupils(adm, world, client_as, role):
    before = counts(adm.school)
    client = client_as(world.users[role])
    assert client.get(adm.url("pupil_add")).status_code == 403
    assert client.post(adm.url("pupil_add"), pupil_post(adm)).status_code == 403
    assert counts(adm.school) == before


# --------------------------------------------------------------------------- changing a pupil


def test_edit_a_pupil(adm, world, client_as):
    with scopes_disabled():
        group = f.RegistrationGroupFactory(school=adm.school, name="6A", year_group="6")
    client = client_as(world.users["headteacher"])
    form = text(client.get(adm.url("pupil_edit", pupil_id=adm.pupil.pk)))
    assert f'value="{adm.pupil.upn}"' in form and 'value="Lovelace"' in form
    data = {"upn": adm.pupil.upn, "forename": "Augusta Ada", "surname": "King", "date_of_birth": "2015-03-14",
            "year_group": "6", "registration_group": str(group.pk), "sen": "K", "fsm": "on"}
    response = client.post(adm.url("pupil_edit", pupil_id=adm.pupil.pk), data)
    assert response.status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(pk=adm.pupil.pk)
    assert (pupil.forename, pupil.surname, pupil.year_group, pupil.registration_group_id, pupil.sen, pupil.fsm) == (
        "Augusta Ada", "King", "6", group.pk, "K", True)


def test_office_edit_keeps_the_sensitive_characteristics(adm, world, client_as):
    _sensitive_pupil(adm)
    data = {"upn": adm.pupil.upn, "forename": "Ada", "surname": "Byron", "date_of_birth": "2015-03-14",
            "year_group": "5", "registration_group": str(adm.group.pk)}
    assert client_as(world.users["office_staff"]).post(adm.url("pupil_edit", pupil_id=adm.pupil.pk),
                                                       data).status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(pk=adm.pupil.pk)
    assert pupil.surname == "Byron" and (pupil.sen, pupil.fsm, pupil.has_social_worker) == ("E", True, True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("upn", "duplicate", "is already used by Other Pupil"),
    ("upn", "A12", "must be 13 characters long"),
    ("surname", "", "Give the pupil's surname."),
    ("date_of_birth", "2024-01-01", "pupils must be between 2 and 19"),  # at the first admission, 3 Sep 2025
    ("date_of_birth", "future", "cannot be in the future"),
    ("year_group", "Y5", "Choose a year group from the list."),
    ("registration_group", "other-school", "Choose one of this school's registration groups."),
], ids=lambda v: str(v)[:30])
def test_edit_refuses_bad_input_and_changes_nothing(adm, world, client_as, field, value, message):
    with scopes_disabled():
        other = f.PupilFactory(school=adm.school, forename="Other", surname="Pupil")
    value = {"duplicate": other.upn, "future": _future(), "other-school": str(adm.other_group.pk)}.get(value, value)
    data = {"upn": adm.pupil.upn, "forename": "Ada", "surname": "Changed", "date_of_birth": "2015-03-14",
            "year_group": "5", "registration_group": str(adm.group.pk), field: value}
    response = client_as(world.users["headteacher"]).post(adm.url("pupil_edit", pupil_id=adm.pupil.pk), data)
    assert response.status_code == 400
    assert message in text(response)
    with scope(school=adm.school):
        pupil = Pupil.objects.get(pk=adm.pupil.pk)
    assert (pupil.surname, pupil.upn, pupil.registration_group_id) == ("Lovelace", adm.pupil.upn, adm.group.pk)


@pytest.mark.parametrize("role", ["class_teacher", "attendance_officer", "governor", "trust_officer"])
def test_only_school_managers_edit_pupils(adm, world, client_as, role):
    client = client_as(world.users[role])
    url = adm.url("pupil_edit", pupil_id=adm.pupil.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"upn": adm.pupil.upn, "forename": "X", "surname": "Y", "date_of_birth": "2015-03-14",
                             "year_group": "5"}).status_code == 403
    with scope(school=adm.school):
        assert Pupil.objects.get(pk=adm.pupil.pk).surname == "Lovelace"


def test_another_schools_pupil_is_404(adm, world, client_as):
    with scopes_disabled():
        theirs = f.EnrolmentFactory(pupil__school=world.other).pupil
    client = client_as(world.users["headteacher"])
    for name in ("pupil", "pupil_edit", "enrolment_admit", "contact_add"):
        assert client.get(adm.url(name, pupil_id=theirs.pk)).status_code == 404
