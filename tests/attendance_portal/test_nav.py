"""The school's navigation bar is kept once drawn, per school, slug and set of roles: each viewer still sees
exactly the links of their own roles, whoever drew the bar first in the process."""

from __future__ import annotations

import pytest
from django.urls import reverse

from attendance_portal.roles import Role
from attendance_portal.templatetags import nav_tags

pytestmark = pytest.mark.django_db

HEAD_ONLY = ("Access log", "Census return", "Two-step sign-in")


def _nav(client, school) -> str:
    page = client.get(reverse("registers:index", args=[school.slug])).content.decode()
    return page[page.index('<nav class="subnav"'):page.index("</nav>", page.index('<nav class="subnav"'))]


def test_each_viewer_sees_their_own_roles_links_whoever_drew_the_bar_first(world, client_as):
    nav_tags._drawn.clear()
    head = _nav(client_as(world.users[Role.HEADTEACHER.value]), world.school)
    teacher = _nav(client_as(world.users[Role.CLASS_TEACHER.value]), world.school)
    head_again = _nav(client_as(world.users[Role.HEADTEACHER.value]), world.school)
    assert all(link in head for link in HEAD_ONLY)
    assert not any(link in teacher for link in HEAD_ONLY)
    assert "Registers" in teacher
    assert head_again == head
    assert len(nav_tags._drawn) == 2  # one bar per set of roles, drawn once each


def test_the_bar_is_addressed_by_the_schools_slug(world, client_as):
    nav_tags._drawn.clear()
    head = world.users[Role.HEADTEACHER.value]
    old = world.school.slug
    assert f"/s/{old}/" in _nav(client_as(head), world.school)
    world.school.slug = "renamed-school"
    world.school.save(update_fields=["slug"])
    renamed = _nav(client_as(head), world.school)
    assert "/s/renamed-school/" in renamed and f"/s/{old}/" not in renamed


def test_a_member_of_staff_who_is_a_parent_elsewhere_is_offered_the_parent_portal(world, client_as):
    from django_scopes import scopes_disabled

    from tests import factories as f

    teacher = world.users[Role.CLASS_TEACHER.value]
    page = client_as(teacher).get(reverse("registers:index", args=[world.school.slug])).content.decode()
    assert '<option value="parent:">Parent portal</option>' not in page
    with scopes_disabled():
        f.GuardianFactory(school=world.other, user=teacher)  # their own child, at another trust's school
    page = client_as(teacher).get(reverse("registers:index", args=[world.school.slug])).content.decode()
    assert '<option value="parent:">Parent portal</option>' in page
