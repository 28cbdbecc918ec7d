"""The URLconf walk: every route is declared in a tests/<app>/routes.py and gets its 404 test."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import scopes_disabled

import tests
from attendance_portal.roles import Role
from tests.routes import Route

SKIPPED_NAMESPACES = {"platform_admin"}  # Django admin: platform staff only, tested in test_admin.py


def walk(resolver: URLResolver | None = None, ns: str = "", prefix: str = "") -> list[tuple[str, str]]:
    resolver = resolver or get_resolver()
    found = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace in SKIPPED_NAMESPACES:
                continue
            inner_ns = f"{ns}{p.namespace}:" if p.namespace else ns
            found += walk(p, inner_ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            found.append((f"{ns}{p.name}" if p.name else "", prefix + str(p.pattern)))
    return found


def declared_routes() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for info in pkgutil.iter_modules(tests.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"tests.{info.name}.routes")
        except ModuleNotFoundError:
            continue
        for route in module.ROUTES:
            assert route.name not in routes, f"{route.name} declared twice"
            routes[route.name] = route
    return routes


DECLARED = declared_routes()
SCHOOL_ROUTES = [r for r in DECLARED.values() if r.kind == "school"]


def test_every_route_is_named_and_declared_with_a_cross_tenant_case():
    missing = []
    for name, pattern in walk():
        if not name:
            missing.append(f"unnamed route {pattern}")
        elif name not in DECLARED:
            missing.append(f"{name} ({pattern})")
        elif "<slug:school_slug>" in pattern and DECLARED[name].kind != "school":
            missing.append(f"{name} takes a school but is declared {DECLARED[name].kind}")
    assert not missing, "routes without a cross-school test declaration: " + ", ".join(missing)


def test_declarations_name_real_routes():
    names = {name for name, _ in walk()}
    assert set(DECLARED) <= names, set(DECLARED) - names


def _request(client: Any, route: Route, url: str, school: Any) -> Any:
    with scopes_disabled():  # test data, built for whichever school the case names
        data = route.data(school) if route.data else {}
    if route.method == "get":
        return client.get(url, data)
    return getattr(client, route.method)(url, data, content_type="application/json" if route.api else None) \
        if route.api else getattr(client, route.method)(url, data)


@pytest.mark.parametrize("route", SCHOOL_ROUTES, ids=lambda r: r.name)
def test_another_schools_url_is_404_for_every_role(route: Route, world, client_as):
    targets = [
        (world.other, set(Role)),  # another trust
        (world.standalone, set(Role)),  # a school with no trust
        (world.sister, set(Role) - {Role.TRUST_OFFICER}),  # same trust: only trust roles reach it
    ]
    for target, roles in targets:
        with scopes_disabled():
            kwargs = route.make(target) if route.make else {}
        url = reverse(route.name, kwargs={"school_slug": target.slug, **kwargs})
        for role in roles:
            response = _request(client_as(world.users[role.value]), route, url, target)
            assert response.status_code == 404, f"{role.value} got {response.status_code} on {url}"


@pytest.mark.parametrize("route", [r for r in SCHOOL_ROUTES if r.make], ids=lambda r: r.name)
def test_another_schools_object_under_own_slug_is_404(route: Route, world, client_as):
    with scopes_disabled():
        other_kwargs = route.make(world.other)
        route.make(world.school)  # the home school has objects of the same kind too
    url = reverse(route.name, kwargs={"school_slug": world.school.slug, **other_kwargs})
    response = _request(client_as(world.users[Role.HEADTEACHER.value]), route, url, world.school)
    assert response.status_code == 404, f"got {response.status_code} on {url}"


@pytest.mark.parametrize("route", [r for r in DECLARED.values() if r.kind == "trust"], ids=lambda r: r.name)
def test_another_trusts_url_is_404(route: Route, world, client_as):
    with scopes_disabled():
        made = route.make(world.trust_a) if route.make else {}  # a trust route's `make` builds in the trust
    url = reverse(route.name, kwargs={"trust_slug": world.trust_a.slug, **(route.extra or {}), **made})
    for user in (world.other_trust_officer, world.users[Role.HEADTEACHER.value], world.other_head):
        assert _request(client_as(user), route, url, None).status_code == 404
    expected = (200,) if route.method == "get" else (200, 302, 400)  # a POST may redirect or refuse bad input
    assert _request(client_as(world.trust_officer), route, url, None).status_code in expected


@pytest.mark.parametrize("route", [r for r in DECLARED.values() if r.kind == "parent"], ids=lambda r: r.name)
def test_another_familys_child_is_404(route: Route, world, client_as):
    from tests import factories as f

    with scopes_disabled():
        kwargs = route.make(world.school)  # a child with its own guardian
        own = f.PupilContactFactory(pupil__school=world.school)
        parent = f.UserFactory(username="nosy-parent")
        own.guardian.user = parent
        own.guardian.save()
    url = reverse(route.name, kwargs=kwargs)
    response = _request(client_as(parent), route, url, world.school)
    assert response.status_code == 404, f"got {response.status_code} on {url}"
