"""Finding 1: the account-takeover chain through the parent invitation, replayed as the attacker would.

Office staff of one school edit a contact's email to another person's address, invite, change the
address to their own and invite again. Each step goes through the real pages; the link is followed as
a browser would and whatever password form it shows is filled in. No account but the attacker's own
may end up with the attacker's password, and no staff account may be linked to a guardian.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from attendance_portal.models import User
from attendance_portal.roles import Role
from registers.models import Guardian
from tests import factories as f

pytestmark = pytest.mark.django_db

STOLEN = "attacker-Chosen-99"
CONTACT = {"forename": "Eve", "surname": "Mallory", "relationship": "Mother", "parental_responsibility": "on",
           "lives_with_pupil": "on", "phone": "01632 960123", "priority": "1"}


def _edit_email(office: Client, world: Any, contact: Any, email: str) -> None:
    url = reverse("registers:contact_edit", args=[world.school.slug, contact.pk])
    response = office.post(url, {**CONTACT, "email": email})
    assert response.status_code == 302, response.content.decode()[:500]


def _invite(office: Client, world: Any, contact: Any, capture: Any) -> None:
    with capture(execute=True):
        office.post(reverse("absence:invite", args=[world.school.slug, contact.guardian_id]))


def _use_last_link(password: str) -> None:
    """Follow the link in the newest email and fill in whatever password form it leads to."""
    if not mail.outbox:
        return
    links = re.findall(r"https?://\S+", mail.outbox[-1].body)
    if not links:
        return
    browser = Client()
    path = links[0][links[0].index("/", len("https://")):]
    response = browser.get(path, follow=True)
    target = response.redirect_chain[-1][0] if response.redirect_chain else path
    browser.post(target, {"new_password1": password, "new_password2": password,
                          "password1": password, "password2": password})


def _signs_in(username: str, password: str) -> bool:
    return Client().login(username=username, password=password)


@pytest.fixture
def contact(world):
    with scopes_disabled():
        pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
        return f.PupilContactFactory(pupil=pupil, guardian__email="eve.original@example.org")


@pytest.mark.parametrize("victim_kind", ["other_school_head", "superuser"])
def test_two_invitation_chain_never_reaches_another_account(world, client_as, contact, victim_kind,
                                                             django_capture_on_commit_callbacks):
    if victim_kind == "superuser":
        victim = f.UserFactory(username="root", email="root@platform.example", is_staff=True, is_superuser=True)
    else:
        victim = world.other_head
        victim.email = "head@cedar.example"
        victim.save()
    office = client_as(world.users[Role.OFFICE_STAFF.value])

    _edit_email(office, world, contact, victim.email)
    _invite(office, world, contact, django_capture_on_commit_callbacks)
    _edit_email(office, world, contact, "eve@attacker.example")
    _invite(office, world, contact, django_capture_on_commit_callbacks)
    _use_last_link(STOLEN)

    victim.refresh_from_db()
    assert not victim.check_password(STOLEN)
    assert victim.check_password("correct-horse-battery")
    assert not _signs_in(victim.username, STOLEN)
    with scopes_disabled():
        assert not Guardian.objects.filter(user=victim).exists()
    # Whatever the attacker set up is an account of their own address, nothing more.
    assert set(User.objects.filter(password__isnull=False).exclude(pk__in=[u.pk for u in _known(world, victim)])
               .values_list("username", flat=True)) <= {"eve@attacker.example"}


def _known(world: Any, victim: User) -> list[User]:
    return [*world.users.values(), world.other_trust_officer, world.other_head, victim]


def test_one_invitation_variant_for_a_linked_parent(world, client_as, contact, django_capture_on_commit_callbacks):
    parent = f.UserFactory(username="real.parent@example.org", email="real.parent@example.org")
    with scopes_disabled():
        contact.guardian.user = parent
        contact.guardian.save()
    office = client_as(world.users[Role.OFFICE_STAFF.value])

    _edit_email(office, world, contact, "eve@attacker.example")
    _invite(office, world, contact, django_capture_on_commit_callbacks)
    _use_last_link(STOLEN)

    parent.refresh_from_db()
    assert not parent.check_password(STOLEN)
    assert not _signs_in(parent.username, STOLEN)
    with scopes_disabled():
        contact.guardian.refresh_from_db()
        assert contact.guardian.user_id == parent.pk  # never moved by an email change
