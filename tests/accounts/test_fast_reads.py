"""The session and the two-step device are read in SQL on every request (accounts.fast_reads): the same
session rules as Django's database store and the same device binding as django-otp's middleware."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.fast_reads import OTPMiddleware, SessionStore

pytestmark = pytest.mark.django_db


def test_a_session_reads_back_what_was_saved_and_an_expired_one_reads_as_new():
    store = SessionStore()
    store["who"] = "office"
    store.create()
    assert SessionStore(store.session_key)["who"] == "office"
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert expired.get("who") is None
    assert expired.session_key is None  # a new key is made on save, never the expired one reused
    assert SessionStore("no-such-session-key-0123456789")._get_session_from_db() is None


def _verified(user, persistent_id):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.session[DEVICE_ID_SESSION_KEY] = persistent_id
    request.user = user
    OTPMiddleware(lambda r: None)(request)
    return request.user, request


def test_the_sessions_device_is_loaded_whole_and_only_for_its_own_user(world):
    head, office = world.users["headteacher"], world.users["office_staff"]
    device = TOTPDevice.objects.create(user=head, name="phone", confirmed=True, drift=2)
    user, _ = _verified(head, device.persistent_id)
    assert user.is_verified()
    assert (user.otp_device.pk, user.otp_device.key, user.otp_device.drift, user.otp_device.name) == (
        device.pk, device.key, 2, "phone")
    other, request = _verified(office, device.persistent_id)  # another person's device is never theirs
    assert not other.is_verified() and DEVICE_ID_SESSION_KEY not in request.session
    device.confirmed = False
    device.save()
    unconfirmed, _ = _verified(head, device.persistent_id)
    assert not unconfirmed.is_verified()
    for broken in (f"otp_totp.totpdevice/{device.pk + 1000}", "otp_totp.nosuchdevice/1", "nonsense", "auth.user/1"):
        assert not _verified(head, broken)[0].is_verified()


def test_the_signed_in_user_is_read_whole_and_an_inactive_or_missing_one_is_nobody(world):
    from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

    from accounts.fast_reads import ModelBackend

    head = world.users["headteacher"]
    ours, django = ModelBackend().get_user(head.pk), DjangoModelBackend().get_user(head.pk)
    assert ours is not None and ours._state.adding is False
    fields = [f.attname for f in type(head)._meta.concrete_fields]
    assert [getattr(ours, f) for f in fields] == [getattr(django, f) for f in fields]
    assert ModelBackend().get_user(head.pk + 100_000) is None
    head.is_active = False
    head.save(update_fields=["is_active"])
    assert ModelBackend().get_user(head.pk) is None


def test_a_school_page_is_read_with_its_trust_in_one_statement(world, django_assert_num_queries):
    from attendance_portal.selectors import school_at

    with django_assert_num_queries(1):
        school = school_at(world.school.slug)
        assert (school.pk, school.name, school.trust.pk, school.trust.slug) == (
            world.school.pk, world.school.name, world.trust_a.pk, "riverside")
    with django_assert_num_queries(1):
        standalone = school_at(world.standalone.slug)
        assert standalone.trust is None
    assert school_at("no-such-school") is None


def test_a_parent_is_found_in_any_school_whatever_scope_is_open(world):
    from django_scopes import scope, scopes_disabled

    from attendance_portal.selectors import user_is_parent
    from tests import factories as f

    parent, staff = f.UserFactory(), world.users["office_staff"]
    with scopes_disabled():
        f.GuardianFactory(school=world.other, user=parent)
    with scope(school=world.school):  # row-level security hides the other school's guardians here
        assert user_is_parent(parent)
        assert not user_is_parent(staff)
