"""Session limits: idle and absolute, longer for parents; a deactivated account's sessions end at once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent
from tests import factories as f
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _home(world):
    return reverse("school_home", args=[world.school.slug])


def test_staff_idle_timeout(world, settings):
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in_client(world.users["office_staff"])
        assert client.get(_home(world)).status_code == 200
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_STAFF - 1))
        assert client.get(_home(world)).status_code == 200  # activity keeps it alive
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_STAFF - 1))
        assert client.get(_home(world)).status_code == 200
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_STAFF + 1))
        response = client.get(_home(world))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert client.get(_home(world)).status_code == 302  # signed out for good


def test_staff_absolute_limit_even_when_active(world, settings):
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in_client(world.users["office_staff"])
        for _ in range(settings.SESSION_MAX_HOURS_STAFF * 3 - 1):
            clock.shift(dt.timedelta(minutes=20))
            assert client.get(_home(world)).status_code == 200
        clock.shift(dt.timedelta(minutes=21))
        assert client.get(_home(world)).status_code == 302


def test_parents_stay_signed_in_longer(world, settings):
    parent = f.UserFactory(username="parent@example.org")
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(parent)
        clock.shift(dt.timedelta(hours=13))  # past the staff limits
        assert client.get(reverse("parent:home")).status_code == 200
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_PARENT + 1))
        assert client.get(reverse("parent:home")).status_code == 302


def test_deactivation_ends_sessions_at_once(world):
    user = world.users["office_staff"]
    client = signed_in_client(user)
    assert client.get(_home(world)).status_code == 200
    keys = [client.session.session_key]
    user.is_active = False
    user.save()
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert client.get(_home(world)).status_code == 302
    assert AccountEvent.objects.filter(kind="sessions_ended", subject=user).exists()


def test_deactivated_user_is_signed_out_even_if_the_session_row_survives(world):
    from attendance_portal.models import User

    user = world.users["office_staff"]
    client = signed_in_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal: the per-request check still holds
    assert client.get(_home(world)).status_code == 302


def test_signed_in_time_is_recorded_at_sign_in(world):
    client = signed_in_client(world.users["class_teacher"])
    assert abs(client.session["signed_in_at"] - timezone.now().timestamp()) < 60
