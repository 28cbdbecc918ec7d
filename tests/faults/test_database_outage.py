"""PostgreSQL unreachable during marking (restarting, failing over): the save gets a 503 "try again" page,
never a traceback, and writes nothing; once the database answers again the same save goes through.

The outage is the connection failing as it does while the server restarts (nothing listens on the socket).
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connections
from django_scopes import scopes_disabled

from registers.models import Mark
from tests.registers.conftest import make_class
from tests.registers.test_register_page import form, url

from . import say

pytestmark = pytest.mark.django_db(transaction=True)


class K:
    def __init__(self, school, group) -> None:
        self.school, self.group = school, group


def test_a_save_while_the_database_is_unreachable_gets_try_again_and_writes_nothing(world, client_as):
    group, pupils = make_class(world.school, 30)
    k = K(world.school, group)
    client = client_as(world.users["office_staff"])
    client.raise_request_exception = False
    database = connections["default"]
    real = database.get_connection_params

    def unreachable() -> dict:
        return {**real(), "host": "/nonexistent-socket-directory", "port": 1}

    database.close()
    with mock.patch.object(database, "get_connection_params", unreachable):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(url(k), form(pupils, code="/"), **headers)
            body = response.content.decode()
            assert response.status_code == 503 and response["Retry-After"] == "10"
            assert "Try again in a moment" in body and "nothing you sent was saved" in body
            assert "Traceback" not in body and "OperationalError" not in body
    database.close()
    with scopes_disabled():
        assert Mark.objects.filter(school=k.school).count() == 0
    response = client.post(url(k), form(pupils, code="/"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Register saved: 30 marks" in response.content.decode()
    say("database unreachable: the register save got 503 'Try again in a moment' (no traceback), nothing written; "
        "database back: the same save stored all 30 marks")
