"""The local authority as a tenant: its officers see the referrals its schools made to it and nothing else;
another LA's officer and school staff get 404 on its workspace; its officers get 404 on every school page."""
from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from attendance_portal.roles import Role
from penalties.models import Referral
from tests.attendance_portal.test_cross_school import DECLARED, SCHOOL_ROUTES, _request
from tests.routes import Route

from .factories import make_referral

LA_ROUTES = [r for r in DECLARED.values() if r.kind == "la"]


def _url(route: Route, code: str, school: Any) -> str:
    with scopes_disabled():
        kwargs = route.make(school) if route.make else {}
    return reverse(route.name, kwargs={"la_code": code, **kwargs})


@pytest.mark.parametrize("route", LA_ROUTES, ids=lambda r: r.name)
def test_only_the_las_own_officers_reach_its_workspace(route: Route, world, area, client_as):
    url = _url(route, "essex", world.school)
    outsiders = [area.kent_officer, world.users[Role.HEADTEACHER.value], world.trust_officer, world.other_head]
    for user in outsiders:
        status = _request(client_as(user), route, url, world.school).status_code
        assert status == 404, f"{user.username} got {status} on {url}"
    status = _request(client_as(area.essex_officer), route, url, world.school).status_code
    expected = (200,) if route.method == "get" else (200, 201, 400) if route.api else (302,)
    assert status in expected, f"the Essex officer got {status} on {url}"


@pytest.mark.parametrize("route", [r for r in LA_ROUTES if r.make], ids=lambda r: r.name)
def test_another_las_object_under_the_las_own_code_is_404(route: Route, world, area, client_as):
    url = _url(route, "essex", world.other)  # Cedar is a Kent school: its referral and notices are Kent's
    assert _request(client_as(area.essex_officer), route, url, world.other).status_code == 404


def test_a_referral_to_the_la_from_a_school_outside_its_area_is_not_shown(world, area, client_as):
    with scopes_disabled():
        stray = make_referral(world.other)
        Referral.objects.filter(pk=stray.pk).update(local_authority=area.essex)
    client = client_as(area.essex_officer)
    assert client.get(reverse("la:referral", args=["essex", stray.pk])).status_code == 404
    assert stray.pupil.full_name not in client.get(reverse("la:inbox", args=["essex"])).content.decode()


def test_the_inbox_lists_submitted_referrals_and_not_drafts(world, area, client_as):
    with scopes_disabled():
        submitted = make_referral(world.school)
        draft = make_referral(world.school, "draft")
        other = make_referral(world.sister)
    page = client_as(area.essex_officer).get(reverse("la:inbox", args=["essex"])).content.decode()
    assert submitted.pupil.full_name in page and other.pupil.full_name in page
    assert draft.pupil.full_name not in page


@pytest.mark.parametrize("route", SCHOOL_ROUTES, ids=lambda r: r.name)
def test_an_la_officer_gets_404_on_every_school_page(route: Route, world, area, client_as):
    with scopes_disabled():
        kwargs = route.make(world.school) if route.make else {}
        make_referral(world.school)  # the school has referred to the officer's LA: still none of its pages
    url = reverse(route.name, kwargs={"school_slug": world.school.slug, **kwargs})
    assert _request(client_as(area.essex_officer), route, url, world.school).status_code == 404
