"""Shared fixtures: two trusts, a sister school in the same trust, a standalone school, a user per role.

Fixtures run with scopes disabled (they build data for several schools, as pretix's suite does);
tests themselves run with no scope, so a query on a school-owned model must open one explicitly.

The suite runs as production does (attendance_portal.dbroles): the test databases are created,
migrated and flushed as the owner (DATABASE_OWNER_URL), and every test, live server and worker
connects as the application role (DATABASE_URL), which owns nothing and cannot TRUNCATE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connections
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client
from django_scopes import scopes_disabled

from attendance_portal.dbroles import connected_as_owner
from attendance_portal.models import School, Trust, User
from attendance_portal.roles import Role
from registers.models import AcademicYear, Closure, SessionTimes, Term

from . import factories as f

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # sync Playwright runs an event loop in the test thread


_as_owner = contextlib.ExitStack()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The test databases are created and migrated as the owner (pytest-django's set-up runs next)."""
    for connection in connections.all():
        _as_owner.enter_context(connected_as_owner(connection))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Any:
    """Then every connection is the application role's, until the databases are torn down as the owner."""
    _as_owner.close()
    yield
    for connection in connections.all():
        _as_owner.enter_context(connected_as_owner(connection))


_flush = BaseDatabaseOperations.execute_sql_flush


def _flush_as_owner(self: BaseDatabaseOperations, sql_list: list[str]) -> None:
    """Transactional tests empty the tables with TRUNCATE afterwards: the owner does it, not the app role."""
    with connected_as_owner(self.connection):
        _flush(self, sql_list)


BaseDatabaseOperations.execute_sql_flush = _flush_as_owner  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Any:
    with scopes_disabled():
        yield


@dataclass
class World:
    trust_a: Trust
    trust_b: Trust
    school: School  # the school most tests work in (trust A)
    sister: School  # another school of trust A
    other: School  # a school of trust B
    standalone: School  # a school with no trust
    users: dict[str, User] = field(default_factory=dict)  # role value -> member of `school`
    trust_officer: User | None = None
    other_trust_officer: User | None = None
    other_head: User | None = None


def add_calendar(school: School, *, year_start: dt.date = dt.date(2025, 9, 1)) -> AcademicYear:
    """A plain academic year: six half-terms, one INSET day, the same register times for every year."""
    y = year_start.year
    year = AcademicYear.objects.create(school=school, name=f"{y}/{(y + 1) % 100:02d}",
                                       start=dt.date(y, 9, 1), end=dt.date(y + 1, 8, 31))
    halves = [
        ("Autumn 1", "autumn", dt.date(y, 9, 3), dt.date(y, 10, 24)),
        ("Autumn 2", "autumn", dt.date(y, 11, 3), dt.date(y, 12, 19)),
        ("Spring 1", "spring", dt.date(y + 1, 1, 5), dt.date(y + 1, 2, 13)),
        ("Spring 2", "spring", dt.date(y + 1, 2, 23), dt.date(y + 1, 3, 27)),
        ("Summer 1", "summer", dt.date(y + 1, 4, 13), dt.date(y + 1, 5, 22)),
        ("Summer 2", "summer", dt.date(y + 1, 6, 1), dt.date(y + 1, 7, 21)),
    ]
    for name, season, start, end in halves:
        Term.objects.create(school=school, academic_year=year, name=name, season=season, start=start, end=end)
    Closure.objects.create(school=school, date=dt.date(y, 11, 14), session="BOTH", reason="INSET day")
    for yg in ["N1", "N2", "R", *[str(n) for n in range(1, 15)]]:
        SessionTimes.objects.get_or_create(
            school=school, year_group=yg,
            defaults={"am_open": dt.time(8, 45), "am_close": dt.time(9, 0),
                      "pm_open": dt.time(13, 15), "pm_close": dt.time(13, 30)},
        )
    return year


@pytest.fixture
def national_framework(db: Any) -> None:
    """The framework rows the data migration loads; a transactional test's flush empties every table,
    so they are put back for the tests after it."""
    from penalties.framework import framework_rows_ensure

    framework_rows_ensure()


@pytest.fixture
def world(db: Any, national_framework: None) -> World:
    trust_a = f.TrustFactory(name="Riverside Learning Trust", slug="riverside")
    trust_b = f.TrustFactory(name="Hillcrest Academies", slug="hillcrest")
    w = World(
        trust_a=trust_a,
        trust_b=trust_b,
        school=f.SchoolFactory(trust=trust_a, name="Alder Primary", slug="alder"),
        sister=f.SchoolFactory(trust=trust_a, name="Birch Primary", slug="birch"),
        other=f.SchoolFactory(trust=trust_b, name="Cedar Academy", slug="cedar"),
        standalone=f.SchoolFactory(trust=None, name="Damson Free School", slug="damson"),
    )
    for role in Role:
        if role == Role.TRUST_OFFICER:
            continue
        w.users[role.value] = f.MembershipFactory(
            school=w.school, role=role, user__username=f"{role.value}@alder").user
    w.trust_officer = f.MembershipFactory(school=None, trust=trust_a, role=Role.TRUST_OFFICER,
                                          user__username="officer@riverside").user
    w.users[Role.TRUST_OFFICER.value] = w.trust_officer
    w.other_trust_officer = f.MembershipFactory(school=None, trust=trust_b, role=Role.TRUST_OFFICER,
                                                user__username="officer@hillcrest").user
    w.other_head = f.MembershipFactory(school=w.other, role=Role.HEADTEACHER, user__username="head@cedar").user
    return w


def mfa_pass(client: Client, user: User) -> None:
    """Mark the client's session as having passed two-step sign-in (tests/accounts/test_mfa.py keeps the
    enforcement itself under test)."""
    from accounts.demo import client_signed_in

    client_signed_in(client, user)


def signed_in_client(user: User) -> Client:
    """A client signed in as `user` who has passed two-step sign-in."""
    from accounts.demo import client_signed_in

    return client_signed_in(Client(), user)


@pytest.fixture
def client_as():
    return signed_in_client


@pytest.fixture
def head_client(world: World, client_as: Any) -> Client:
    return client_as(world.users[Role.HEADTEACHER.value])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("CHROMIUM")
    args = {**browser_type_launch_args,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}
    if executable:
        args["executable_path"] = executable
    return args


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Browser tests need Debian's chromium; without it they are skipped, loudly, unless required."""
    if os.environ.get("CHROMIUM"):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("REQUIRE_BROWSER=1 but no chromium found (apt-get install chromium)")
    skip = pytest.mark.skip(reason="Debian chromium not installed (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
