"""Invitations: hashed single-use tokens, no existing account ever changed, accept-while-signed-in, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from absence.models import SentMessage
from accounts import services
from accounts.models import AccountEvent, Invitation
from attendance_portal.models import Membership
from attendance_portal.roles import Role
from tests import factories as f
from tests.absence.messages import messages_deliver

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-Secret-99"


@pytest.fixture
def guardian(world):
    with scopes_disabled():
        pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
        return f.PupilContactFactory(pupil=pupil, guardian__email="carer@example.org").guardian


@pytest.fixture
def invite(world, client_as):
    office = client_as(world.users[Role.OFFICE_STAFF.value])

    def send(guardian: Any) -> Any:
        response = office.post(reverse("absence:invite", args=[world.school.slug, guardian.pk]), follow=True)
        messages_deliver()  # as the worker does once the request has committed
        return response

    return send


def last_token() -> str:
    return re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)


def open_link(client: Client, token: str) -> Any:
    return client.get(reverse("accounts:invitation_open", args=[token]), follow=True)


def test_only_a_hash_is_stored_and_the_stored_message_has_no_live_link(world, guardian, invite):
    invite(guardian)
    token = last_token()
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {invitation.nonce, invitation.token_hash}
    with scope(school=world.school):
        stored = SentMessage.objects.get(kind="invitation")
    assert token not in stored.body and f"/~invitation.{invitation.pk}~/" in stored.body
    assert token in mail.outbox[-1].body
    assert AccountEvent.objects.filter(kind="invitation_sent", actor=world.users["office_staff"],
                                       guardian_id=guardian.pk, school=world.school).count() == 1


def test_link_is_single_use_and_leaves_no_token_in_the_address(guardian, invite, client):
    invite(guardian)
    token = last_token()
    response = open_link(client, token)
    assert response.redirect_chain[-1][0] == reverse("accounts:invitation")
    client.post(reverse("accounts:invitation"), {"password1": PASSWORD, "password2": PASSWORD})
    with scopes_disabled():
        guardian.refresh_from_db()
    assert guardian.user.username == "carer@example.org" and guardian.user.check_password(PASSWORD)
    assert Invitation.objects.get().used_by == guardian.user
    again = open_link(Client(), token)
    assert again.status_code == 410 and "This link has expired" in again.content.decode()
    with pytest.raises(services.AccountError):
        services.invitation_redeem(token=token, user=guardian.user)
    kinds = set(AccountEvent.objects.values_list("kind", flat=True))
    assert {"invitation_sent", "account_created", "guardian_linked"} <= kinds


def test_link_expires(guardian, invite, client, settings):
    invite(guardian)
    token = last_token()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=settings.INVITATION_VALID_HOURS, minutes=1)):
        response = open_link(client, token)
        assert response.status_code == 410
        assert client.post(reverse("accounts:invitation"), {"password1": PASSWORD, "password2": PASSWORD}) \
            .status_code == 410
    with scopes_disabled():
        guardian.refresh_from_db()
    assert guardian.user is None


def test_an_existing_account_is_never_changed_and_links_only_when_its_owner_accepts(guardian, invite, client):
    owner = f.UserFactory(username="carer", email="Carer@example.org")
    invite(guardian)
    token = last_token()
    open_link(client, token)
    page = client.post(reverse("accounts:invitation"), {"password1": PASSWORD, "password2": PASSWORD})
    assert "already an account for this email address" in page.content.decode()
    owner.refresh_from_db()
    assert owner.check_password("correct-horse-battery") and not owner.check_password(PASSWORD)
    with scopes_disabled():
        guardian.refresh_from_db()
        assert guardian.user is None
    # The owner signs in (the token waits in the session) and accepts.
    response = client.post(reverse("login"), {"username": "carer", "password": "correct-horse-battery",
                                              "next": reverse("accounts:invitation")}, follow=True)
    assert "Accept the invitation" in response.content.decode()
    response = client.post(reverse("accounts:invitation"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("parent:home")
    with scopes_disabled():
        guardian.refresh_from_db()
    assert guardian.user == owner
    assert AccountEvent.objects.filter(kind="guardian_linked", subject=owner, guardian_id=guardian.pk).exists()


@pytest.mark.parametrize("who", ["headteacher", "superuser", "class_teacher"])
def test_staff_and_platform_accounts_cannot_accept_a_parent_invitation(world, guardian, invite, client_as, who):
    user = world.users.get(who) or f.UserFactory(username="root", is_staff=True, is_superuser=True)
    invite(guardian)
    token = last_token()
    client = client_as(user)
    page = open_link(client, token).content.decode()
    assert "staff account" in page and "Accept the invitation" not in page
    client.post(reverse("accounts:invitation"))
    with scopes_disabled():
        guardian.refresh_from_db()
    assert guardian.user is None
    with pytest.raises(services.AccountError):
        services.invitation_redeem(token=token, user=user)
    assert AccountEvent.objects.filter(kind="invitation_refused", subject=user).exists()
    assert Invitation.objects.get().used_at is None


def test_changing_the_email_cancels_the_pending_invitation(world, guardian, invite, client_as, client):
    invite(guardian)
    token = last_token()
    with scopes_disabled():
        contact = guardian.contacts.get()
    client_as(world.users["office_staff"]).post(
        reverse("registers:contact_edit", args=[world.school.slug, contact.pk]),
        {"forename": "Ann", "surname": "Carer", "relationship": "Mother", "parental_responsibility": "on",
         "priority": "1", "email": "someone.else@example.org"})
    invitation = Invitation.objects.get()
    assert invitation.cancelled_at is not None
    assert open_link(client, token).status_code == 410
    assert AccountEvent.objects.filter(kind="invitation_cancelled", invitation=invitation,
                                       actor=world.users["office_staff"]).exists()


def test_a_new_invitation_replaces_the_last_and_redelivery_of_the_old_one_has_no_link(world, guardian, invite):
    from accounts.tokens import marks_expand

    invite(guardian)
    first = last_token()
    invite(guardian)
    assert last_token() != first
    old, new = Invitation.objects.order_by("created_at")
    assert old.cancelled_at is not None and new.pending
    assert services.invitation_find(token=first) is None
    assert marks_expand(f"/accounts/invitations/~invitation.{old.pk}~/") == "/accounts/invitations/expired/"


def test_a_linked_contact_gets_no_link(world, guardian, invite):
    parent = f.UserFactory(username="parent@example.org")
    with scopes_disabled():
        guardian.user = parent
        guardian.save()
    page = invite(guardian).content.decode()
    assert "already signs in to the parent portal with their own account" in page
    assert not mail.outbox and not Invitation.objects.exists()


def test_parents_page_shows_invited_then_active(world, guardian, invite, client_as, client):
    url = reverse("absence:parents", args=[world.school.slug])
    office = client_as(world.users["office_staff"])
    invite(guardian)
    assert "Invited" in office.get(url).content.decode()
    open_link(client, last_token())
    client.post(reverse("accounts:invitation"), {"password1": PASSWORD, "password2": PASSWORD})
    page = office.get(url).content.decode()
    assert "Active" in page and "Send a new link" not in page


@pytest.mark.parametrize(("data", "message"), [
    ({"password1": PASSWORD, "password2": "different-Secret-99"}, "not the same"),
    ({"password1": "short", "password2": "short"}, "too short"),
    ({"password1": "", "password2": ""}, "required"),
])
def test_bad_new_account_input_writes_nothing(guardian, invite, client, data, message):
    invite(guardian)
    open_link(client, last_token())
    page = client.post(reverse("accounts:invitation"), data)
    assert message in page.content.decode()
    with scopes_disabled():
        guardian.refresh_from_db()
    assert guardian.user is None and Invitation.objects.get().used_at is None


def test_garbage_tokens_find_nothing(client):
    for token in ["x", "a" * 64, "~invitation.1~", "expired", "b" * 500]:
        assert open_link(client, token).status_code == 410


def test_staff_invitation_gives_a_role(world):
    invitation = services.invitation_create(kind=Invitation.Kind.STAFF, email="new.teacher@example.org",
                                            by=world.users["headteacher"], school=world.school,
                                            role=Role.CLASS_TEACHER)
    from accounts.tokens import token_for

    user = services.invitation_account_create(token=token_for(invitation.nonce), password=PASSWORD)
    assert Membership.objects.filter(user=user, school=world.school, role=Role.CLASS_TEACHER).exists()
    assert AccountEvent.objects.filter(kind="role_given", subject=user).exists()


def test_the_account_trail_is_append_only(world, guardian, invite):
    invite(guardian)
    event = AccountEvent.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        AccountEvent.objects.filter(pk=event.pk).update(detail="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccountEvent.objects.filter(pk=event.pk).delete()


def test_platform_admin_reads_the_trail_without_token_material(world, guardian, invite, client_as):
    invite(guardian)
    invitation = Invitation.objects.get()
    root = client_as(f.UserFactory(username="root", is_staff=True, is_superuser=True))
    page = root.get(f"/platform-admin/accounts/invitation/{invitation.pk}/change/").content.decode()
    assert invitation.email in page and invitation.nonce not in page and invitation.token_hash not in page
    assert root.get("/platform-admin/accounts/accountevent/").status_code == 200
    assert root.post(f"/platform-admin/accounts/invitation/{invitation.pk}/delete/", {"post": "yes"}) \
        .status_code == 403
