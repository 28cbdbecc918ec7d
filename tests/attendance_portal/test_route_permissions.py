"""The permission walk: every school route declares what it needs, and every role without it is refused.

Each view declares its permission once (`@requires(...)`, or `read_permission`/`write_permission` on an API
class). This walk reads that declaration from the resolved view, then, for every school route declared in a
`tests/<app>/routes.py` (its objects made by the declaration's `make`), sends every role of the home school
that lacks the permission:

* a GET and a POST naming the home school's objects: each is 403;
* a POST naming another school's objects (routes with objects): 403 or 404;
* and no refused request writes anything: PostgreSQL's count of rows inserted, updated or deleted in the
  test's transaction (`pg_stat_xact_user_tables`) is the same after each request, and the row count of
  every table is the same after all of a route's requests as before them.

A school route whose view declares nothing fails here (and the middleware refuses it at run time).
`test_the_walk_catches_*` take one view's declaration away in-process and show the walk failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django_scopes import scopes_disabled

from attendance_portal.permissions import Need, Requirement, requirement_of, roles_for
from attendance_portal.roles import Role
from tests.attendance_portal.test_cross_school import DECLARED, SCHOOL_ROUTES, walk
from tests.routes import Route


def _row_counts() -> dict[str, int]:
    """The number of rows in every table of the database, in one query."""
    quote = connection.ops.quote_name
    tables = sorted(connection.introspection.table_names())
    with connection.cursor() as cursor:
        # Table names come from the database's own catalogue and are quoted; the labels are parameters.
        sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {quote(t)}" for t in tables)  # noqa: S608
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())


def _rows_touched() -> dict[str, int]:
    """Per table, rows inserted, updated or deleted so far in this transaction (the test's own)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
                       "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0")
        return dict(cursor.fetchall())


@contextmanager
def _nothing_written(problems: list[str], what: str) -> Iterator[None]:
    before = _rows_touched()
    yield
    after = _rows_touched()
    if after != before:
        changed = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
        problems.append(f"{what} wrote rows: {changed}")


def _request(client: Client, method: str, url: str, route: Route, data: dict[str, Any]) -> Any:
    if method == "get":
        return client.get(url, data if route.method == "get" else {})
    if route.api:
        return client.post(url, data, content_type="application/json")
    return client.post(url, data)


def _lacking(world: Any, requirement: Requirement, method: str) -> list[Role]:
    need: Need = requirement.need(method)
    return [role for role in Role if not need.met_by(roles_for(world.users[role.value], world.school))]


def check_route(route: Route, world: Any, clients: Callable[[Role], Client]) -> list[str]:
    """Every way a role without the route's permission is let in, or a refused request writes; [] if none."""
    with scopes_disabled():
        own = route.make(world.school) if route.make else {}
        other = route.make(world.other) if route.make else None
        data = route.data(world.school) if route.data else {}
    url = reverse(route.name, kwargs={"school_slug": world.school.slug, **own})
    requirement = requirement_of(resolve(url).func)
    if requirement is None:
        return [f"{route.name}: the view declares no permission (@requires or read/write_permission)"]
    targets = {"get": [(url, (403,))], "post": [(url, (403,))]}
    if other is not None:  # a write naming another school's object (reads of them: test_cross_school.py)
        targets["post"].append((reverse(route.name, kwargs={"school_slug": world.school.slug, **other}), (403, 404)))
    problems: list[str] = []
    lacking = {method: _lacking(world, requirement, method) for method in ("get", "post")}
    for role in {*lacking["get"], *lacking["post"]}:
        clients(role)  # signing in writes a session: done before anything is counted
    rows_before = _row_counts()
    for method, roles in lacking.items():
        for role in roles:
            client = clients(role)
            for target, expected in targets[method]:
                what = f"{route.name}: {method.upper()} {target} as {role.value} (lacks {requirement.need(method)})"
                with _nothing_written(problems, what):
                    status = _request(client, method, target, route, data).status_code
                if status not in expected:
                    problems.append(f"{what} got {status}, not {' or '.join(map(str, expected))}")
    rows_after = _row_counts()
    if rows_after != rows_before:
        changed = {t: (rows_before[t], n) for t, n in rows_after.items() if n != rows_before[t]}
        problems.append(f"{route.name}: refused requests changed row counts (before, after): {changed}")
    return problems


@pytest.fixture
def clients(world: Any, client_as: Any) -> Callable[[Role], Client]:
    made: dict[Role, Client] = {}

    def client_for(role: Role) -> Client:
        if role not in made:
            made[role] = client_as(world.users[role.value])
        return made[role]

    return client_for


def _school_patterns() -> list[tuple[str, Any]]:
    """(name, view) of every URLconf route that takes a school, API routes included."""
    found = []

    def visit(resolver: URLResolver, ns: str, prefix: str) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                visit(p, f"{ns}{p.namespace}:" if p.namespace else ns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and "<slug:school_slug>" in prefix + str(p.pattern):
                found.append((f"{ns}{p.name}", p.callback))

    visit(get_resolver(), "", "")
    return found


def test_every_school_route_declares_its_permission():
    missing = [name for name, view in _school_patterns() if requirement_of(view) is None]
    assert not missing, f"school routes whose view declares no permission: {missing}"


def test_every_school_route_is_walked():
    # The walk covers the routes test_cross_school.py makes sure are declared; none may drop out of it.
    assert {name for name, _ in _school_patterns()} == {r.name for r in SCHOOL_ROUTES}
    assert {name for name, pattern in walk() if "<slug:school_slug>" in pattern} == {r.name for r in SCHOOL_ROUTES}


@pytest.mark.parametrize("route", SCHOOL_ROUTES, ids=lambda r: r.name)
def test_roles_without_the_permission_are_refused_and_write_nothing(route: Route, world, clients):
    problems = check_route(route, world, clients)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the walk notices a missing declaration


def _pattern(name: str) -> URLPattern:
    """The URLPattern behind a route name: its callback is what resolve() hands the middleware and the walk."""

    def find(resolver: URLResolver, ns: str) -> URLPattern | None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                hit = find(p, f"{ns}{p.namespace}:" if p.namespace else ns)
                if hit is not None:
                    return hit
            elif f"{ns}{p.name}" == name:
                return p
        return None

    found = find(get_resolver(), "")
    assert found is not None, name
    return found


LEAVE_REFUSE = DECLARED["absence:leave_refuse"]  # headteacher only ("decide_leave"); a POST writes


def test_the_walk_catches_a_view_whose_check_was_removed(world, clients, monkeypatch):
    """The declaration is still there but no longer enforced: every role gets in, and the first refuses the
    leave (an update, so only the per-request check of rows touched can see it: no row count changes)."""
    pattern = _pattern(LEAVE_REFUSE.name)
    inner = pattern.callback.__wrapped__  # the view under @requires

    def unchecked(request: Any, *args: Any, **kwargs: Any) -> Any:
        return inner(request, *args, **kwargs)

    unchecked.required = requirement_of(pattern.callback)  # type: ignore[attr-defined]  # claims it, checks nothing
    monkeypatch.setattr(pattern, "callback", unchecked)
    problems = check_route(LEAVE_REFUSE, world, clients)
    assert any("got 302, not 403" in p for p in problems), problems
    assert any("wrote rows" in p and "absence_leaverequest" in p for p in problems), problems


def test_the_walk_catches_a_view_that_declares_nothing(world, clients, monkeypatch):
    pattern = _pattern(LEAVE_REFUSE.name)
    monkeypatch.setattr(pattern, "callback", pattern.callback.__wrapped__)
    assert check_route(LEAVE_REFUSE, world, clients) == [
        "absence:leave_refuse: the view declares no permission (@requires or read/write_permission)"]
    missing = [name for name, view in _school_patterns() if requirement_of(view) is None]
    assert missing == ["absence:leave_refuse"]
    # At run time the middleware refuses a school route with no declaration, even to the headteacher.
    with scopes_disabled():
        kwargs = LEAVE_REFUSE.make(world.school)
    with pytest.raises(ImproperlyConfigured, match="declares no permission"):
        clients(Role.HEADTEACHER).post(reverse(LEAVE_REFUSE.name, kwargs={"school_slug": world.school.slug, **kwargs}))
