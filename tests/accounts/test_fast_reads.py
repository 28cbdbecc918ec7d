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
