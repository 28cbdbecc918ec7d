"""One brake for every sign-in form: slowed per username and per real client address, never locked for good."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import brake
from tests import factories as f

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
RIGHT = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clear():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def root(db):
    return f.UserFactory(username="root", is_staff=True, is_superuser=True)


def admin_login(client: Client, password: str, **extra) -> bool:
    client.post("/platform-admin/login/", {"username": "root", "password": password}, **extra)
    return "_auth_user_id" in client.session


def test_fifteen_wrong_admin_passwords_then_the_right_one_does_not_sign_in(root):
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        for _ in range(15):
            assert not admin_login(client, "wrong-guess")
        assert not admin_login(client, RIGHT)
        clock.shift(dt.timedelta(minutes=16))  # the wait is over: slowed, not locked out
        assert admin_login(client, RIGHT)


def test_admin_failures_count_for_the_main_form_and_back(root):
    with time_machine.travel(START, tick=False):
        client = Client()
        for _ in range(brake.USERNAME.free + 1):
            admin_login(client, "wrong-guess")
        response = client.post(reverse("login"), {"username": "root", "password": RIGHT})
        assert response.status_code == 429 and b"Too many failed attempts" in response.content
    cache.clear()
    with time_machine.travel(START, tick=False):
        for _ in range(brake.USERNAME.free + 1):
            client.post(reverse("login"), {"username": "root", "password": "wrong-guess"})
        assert not admin_login(client, RIGHT)


def test_waits_grow_and_then_let_the_owner_in(world):
    username = world.users["office_staff"].username
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        for _ in range(brake.USERNAME.free + 3):
            client.post(reverse("login"), {"username": username, "password": "wrong"})
            clock.shift(dt.timedelta(seconds=1))
        waits = brake.wait_seconds(RequestFactory().post("/"), username)
        assert 0 < waits <= 2 ** 3
        clock.shift(dt.timedelta(seconds=waits + 1))
        ok = client.post(reverse("login"), {"username": username, "password": RIGHT})
        assert ok.status_code == 302
        assert brake.wait_seconds(RequestFactory().post("/"), username) == 0  # success clears the username


def test_the_address_brake_uses_the_real_client_behind_trusted_proxies(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    with time_machine.travel(START, tick=False):
        attacker = Client(REMOTE_ADDR="10.0.0.1")
        for n in range(brake.ADDRESS.free + 1):  # many usernames from one address
            attacker.post(reverse("login"), {"username": f"guess{n}", "password": "x"},
                          HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9")  # spoofed left part ignored
        refused = attacker.post(reverse("login"), {"username": world.users["headteacher"].username,
                                                   "password": RIGHT}, HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert refused.status_code == 429
        # A colleague behind the same proxy but at another real address is not slowed.
        colleague = Client(REMOTE_ADDR="10.0.0.1")
        ok = colleague.post(reverse("login"), {"username": world.users["headteacher"].username, "password": RIGHT},
                            HTTP_X_FORWARDED_FOR="203.0.113.10")
        assert ok.status_code == 302


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), [
    (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # no proxies: the header is the client's and ignored
    (1, "10.0.0.1", "1.1.1.1, 203.0.113.9", "203.0.113.9"),
    (2, "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (1, "10.0.0.1", "", "10.0.0.1"),
    (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
    (3, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
])
def test_client_address(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert brake.client_address(request) == expected
