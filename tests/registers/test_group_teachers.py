"""Teachers linked to registration groups: set by the office from the group's side, shown first to the teacher.

A teacher sees their own groups' registers first and every other group under "Other groups" (they may open
those to cover); someone who teaches no group sees one list of every group. Bad input writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from attendance_portal.roles import Role
from registers.models import RegistrationGroup
from staff import services
from staff.models import GroupTeacher, StaffChange
from tests import factories as f
from tests.conftest import add_calendar

from .conftest import MONDAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(world: Any) -> dict[str, RegistrationGroup]:
    """Three groups in three year groups, each with a pupil, named so that text order is not year order."""
    with scopes_disabled():
        add_calendar(world.school)
        made = {name: f.RegistrationGroupFactory(school=world.school, name=name, year_group=year)
                for name, year in (("Oak 10", "10"), ("Ash 2", "2"), ("Elm 5", "5"))}
        for group in made.values():
            f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=group)
    return made


def link(world: Any, group: RegistrationGroup, role: str) -> None:
    with scopes_disabled():
        GroupTeacher.objects.create(school=world.school, group=group, user=world.users[role])


def index(world: Any, client_as: Any, role: str, name: str = "registers:index") -> Any:
    response = client_as(world.users[role]).get(reverse(name, args=[world.school.slug]),
                                                {"date": MONDAY.isoformat()})
    assert response.status_code == 200
    return response


def names(statuses: list[Any]) -> list[str]:
    return [f"{s.group.name} {s.session}" for s in statuses]


def links(world: Any, group: RegistrationGroup) -> set[int]:
    with scope(school=world.school):
        return set(GroupTeacher.objects.filter(group=group).values_list("user_id", flat=True))


def changes(world: Any) -> int:
    with scope(school=world.school):
        return StaffChange.objects.filter(school=world.school).count()


# ---------------------------------------------------------------- the registers page


def test_a_teacher_sees_their_own_groups_first_and_the_others_below_for_cover(world, client_as, groups):
    link(world, groups["Oak 10"], "class_teacher")
    response = index(world, client_as, "class_teacher")
    assert names(response.context["own"]) == ["Oak 10 AM", "Oak 10 PM"]
    assert names(response.context["others"]) == ["Ash 2 AM", "Ash 2 PM", "Elm 5 AM", "Elm 5 PM"]  # year order
    page = response.content.decode()
    assert page.index("Your groups") < page.index("Oak 10") < page.index("Other groups") < page.index("Ash 2")
    assert "when you cover a lesson" in page
    assert world.users["class_teacher"].display_name() in page  # the Teachers column
    # Covering: another group's register opens for the teacher.
    cover = reverse("registers:register", args=[world.school.slug, groups["Ash 2"].pk, MONDAY, "AM"])
    assert client_as(world.users["class_teacher"]).get(cover).status_code == 200


def test_office_staff_see_every_group_in_one_list(world, client_as, groups):
    link(world, groups["Oak 10"], "class_teacher")
    response = index(world, client_as, "office_staff")
    assert response.context["own"] == []
    assert names(response.context["others"])[::2] == ["Ash 2 AM", "Elm 5 AM", "Oak 10 AM"]
    page = response.content.decode()
    assert "Your groups" not in page and "Other groups" not in page and "Every registration group" in page
    assert "No registration group is linked to you" not in page


def test_a_teacher_linked_to_no_group_is_told_so_and_sees_every_group(world, client_as, groups):
    link(world, groups["Oak 10"], "headteacher")  # someone else's group
    response = index(world, client_as, "class_teacher")
    assert response.context["own"] == [] and len(response.context["others"]) == 6
    assert "No registration group is linked to you yet" in response.content.decode()


def test_the_board_puts_the_viewers_own_groups_first_and_names_every_groups_teachers(world, client_as, groups):
    link(world, groups["Elm 5"], "headteacher")
    link(world, groups["Ash 2"], "class_teacher")
    response = index(world, client_as, "headteacher", name="registers:board")
    assert names(response.context["own"]) == ["Elm 5 AM", "Elm 5 PM"]
    page = response.content.decode()
    assert page.index("Your groups") < page.index("Elm 5") < page.index("Other groups") < page.index("Ash 2")
    assert world.users["class_teacher"].display_name() in page
    # The office, teaching no group, has the one list, each group with its teachers.
    office = index(world, client_as, "office_staff", name="registers:board")
    assert office.context["own"] == [] and len(office.context["others"]) == 6
    assert world.users["headteacher"].display_name() in office.content.decode()


# ---------------------------------------------------------------- setting a group's teachers


def test_the_office_sets_a_groups_teachers_and_each_change_is_recorded(world, client_as, groups):
    office = client_as(world.users["office_staff"])
    group = groups["Elm 5"]
    url = reverse("registers:group_teachers", args=[world.school.slug, group.pk])
    page = office.get(url)
    assert page.status_code == 200 and world.users["class_teacher"].display_name() in page.content.decode()
    assert world.users["governor"].display_name() not in page.content.decode()  # governors take no register
    teacher, head = world.users["class_teacher"], world.users["headteacher"]
    response = office.post(url, {"teachers": [teacher.pk, head.pk]})
    assert response.status_code == 302 and response.url == reverse("registers:groups", args=[world.school.slug])
    assert links(world, group) == {teacher.pk, head.pk}
    assert changes(world) == 2
    listing = office.get(response.url).content.decode()
    assert teacher.display_name() in listing and "No teacher yet" in listing  # the other two groups have none
    # Saving the same choice changes nothing; taking one off removes that link only.
    office.post(url, {"teachers": [teacher.pk, head.pk]})
    assert changes(world) == 2
    office.post(url, {"teachers": [teacher.pk]})
    assert links(world, group) == {teacher.pk}
    with scope(school=world.school):
        last = StaffChange.objects.filter(school=world.school).first()
    assert (last.subject, last.detail, last.by) == (head, "No longer a teacher of Elm 5", world.users["office_staff"])
    # The teacher's own page now puts the group first.
    assert names(index(world, client_as, "class_teacher").context["own"]) == ["Elm 5 AM", "Elm 5 PM"]
    # Nobody: every box empty.
    assert office.post(url, {}).status_code == 302
    assert links(world, group) == set()


@pytest.mark.parametrize("who", ["other_school_head", "governor", "not_a_number", "no_such_user"])
def test_bad_teachers_are_refused_and_nothing_is_written(world, client_as, groups, who):
    link(world, groups["Elm 5"], "class_teacher")
    value = {"other_school_head": world.other_head.pk, "governor": world.users["governor"].pk,
             "not_a_number": "Mrs Smith", "no_such_user": 999_999}[who]
    url = reverse("registers:group_teachers", args=[world.school.slug, groups["Elm 5"].pk])
    response = client_as(world.users["office_staff"]).post(url, {"teachers": [world.users["headteacher"].pk, value]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and "Choose people from the list" in page
    assert 'href="#id_teachers"' in page and '<fieldset id="id_teachers">' in page  # the summary leads to the boxes
    assert links(world, groups["Elm 5"]) == {world.users["class_teacher"].pk}
    assert changes(world) == 0


def test_another_schools_group_is_not_found(world, client_as, groups):
    with scopes_disabled():
        theirs = f.RegistrationGroupFactory(school=world.other, name="Theirs")
    url = reverse("registers:group_teachers", args=[world.school.slug, theirs.pk])
    office = client_as(world.users["office_staff"])
    assert office.get(url).status_code == 404
    assert office.post(url, {"teachers": [world.users["class_teacher"].pk]}).status_code == 404
    with scopes_disabled():
        assert not GroupTeacher.objects.exists()


@pytest.mark.parametrize("role", ["class_teacher", "attendance_officer", "governor"])
def test_only_the_office_and_leaders_set_teachers(world, client_as, groups, role):
    url = reverse("registers:group_teachers", args=[world.school.slug, groups["Elm 5"].pk])
    client = client_as(world.users[role])
    assert client.get(reverse("registers:groups", args=[world.school.slug])).status_code == 403
    assert client.post(url, {"teachers": [world.users[role].pk]}).status_code == 403
    assert links(world, groups["Elm 5"]) == set()


def test_the_service_refuses_other_schools_and_people_who_take_no_register(world, groups):
    group = groups["Elm 5"]
    with scopes_disabled():
        theirs = f.RegistrationGroupFactory(school=world.other, name="Theirs")
    by = world.users["office_staff"]
    with scope(school=world.school):
        for kwargs in ({"group": theirs, "user_ids": [world.users["class_teacher"].pk]},
                       {"group": group, "user_ids": [world.other_head.pk]},
                       {"group": group, "user_ids": [world.users["governor"].pk]},
                       {"group": group, "user_ids": [world.trust_officer.pk]}):
            with pytest.raises(services.StaffError):
                services.group_teachers_set(by=by, school=world.school, **kwargs)
    assert links(world, group) == set() and changes(world) == 0


def test_someone_linked_who_no_longer_takes_registers_is_listed_and_can_stay_or_go(world, client_as, groups):
    group = groups["Elm 5"]
    teacher = world.users["class_teacher"]
    link(world, group, "class_teacher")
    with scopes_disabled():
        teacher.memberships.filter(school=world.school).update(role=Role.GOVERNOR)
    office = client_as(world.users["office_staff"])
    url = reverse("registers:group_teachers", args=[world.school.slug, group.pk])
    assert teacher.display_name() in office.get(url).content.decode()
    assert office.post(url, {"teachers": [teacher.pk]}).status_code == 302  # unchanged: kept
    assert links(world, group) == {teacher.pk}
    assert office.post(url, {"teachers": []}).status_code == 302
    assert links(world, group) == set()


def test_the_setup_page_counts_groups_with_a_teacher(world, client_as, groups):
    link(world, groups["Elm 5"], "class_teacher")
    page = client_as(world.users["office_staff"]).get(reverse("registers:setup", args=[world.school.slug]))
    assert "1 of 3 groups has a teacher linked" in page.content.decode()


# ---------------------------------------------------------------- the API


def test_the_groups_api_names_each_groups_teachers(world, groups, client, db):
    from rest_framework.test import APIClient

    link(world, groups["Elm 5"], "class_teacher")
    link(world, groups["Elm 5"], "headteacher")
    api = APIClient()
    api.force_authenticate(world.users["office_staff"])
    rows = api.get(reverse("api:group-list", args=[world.school.slug])).json()["results"]
    teachers = {row["name"]: sorted(t["name"] for t in row["teachers"]) for row in rows}
    assert teachers == {"Ash 2": [], "Oak 10": [], "Elm 5": sorted(
        [world.users["class_teacher"].display_name(), world.users["headteacher"].display_name()])}
    client.force_login(f.UserFactory())  # the schema is for any signed-in user
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    assert "teachers" in schema["components"]["schemas"]["RegistrationGroup"]["properties"]
