"""Finding 6: a strict Content-Security-Policy on every response, no inline code in the templates, and the
API schema and docs only for signed-in users with Swagger UI served from our own static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import NoReverseMatch, reverse
from django_scopes import scopes_disabled

from attendance_portal.checks import content_security_policy_check
from attendance_portal.roles import Role
from tests.attendance_portal.test_cross_school import DECLARED, walk

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _assert_strict_csp(response, where: str) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {where} ({response.status_code})"
    directives = {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}
    for name in ("script-src", "style-src"):
        assert directives[name][0] == "'self'", (where, header)
        assert "'unsafe-inline'" not in directives[name] and "'unsafe-eval'" not in directives[name], (where, header)
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    return directives


def test_every_declared_page_and_api_route_carries_the_policy(world, client_as, client):
    head = client_as(world.users[Role.HEADTEACHER.value])
    checked = 0
    for route in DECLARED.values():
        kwargs = {}
        if route.kind == "school":
            with scopes_disabled():
                kwargs = {"school_slug": world.school.slug, **(route.make(world.school) if route.make else {})}
        elif route.kind == "trust":
            kwargs = {"trust_slug": world.trust_a.slug}
        elif route.kind == "parent":
            with scopes_disabled():
                kwargs = route.make(world.school) if route.make else {}
        try:
            url = reverse(route.name, kwargs=kwargs or route.extra)
        except NoReverseMatch:  # a public route with arguments (an invitation link): any value will do
            url = "/" + re.sub(r"<[^>]+>", "1", dict(walk())[route.name])
        for who in (head, client):
            response = who.get(url) if route.method == "get" else getattr(who, route.method)(url, {})
            _assert_strict_csp(response, url)
            checked += 1
    assert checked == 2 * len(DECLARED)
    _assert_strict_csp(client.get("/no-such-page/"), "a 404")
    _assert_strict_csp(client.get("/platform-admin/login/"), "the admin login")


def test_the_nonce_in_the_header_is_the_one_on_the_pages_script_tags(world, client_as):
    response = client_as(world.users[Role.OFFICE_STAFF.value]).get(reverse("school_home", args=[world.school.slug]))
    directives = _assert_strict_csp(response, "school home")
    [nonce] = [v[len("'nonce-"):-1] for v in directives["script-src"] if v.startswith("'nonce-")]
    body = response.content.decode()
    assert f'nonce="{nonce}"' in body  # htmx's script tag
    again = client_as(world.users[Role.OFFICE_STAFF.value]).get(reverse("school_home", args=[world.school.slug]))
    assert nonce not in again["Content-Security-Policy"]  # a new nonce for every response
    # htmx is told not to inject its indicator styles as an inline <style>.
    assert '"includeIndicatorStyles": false' in body


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I), "an inline <script> without a nonce"),
    (re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I), "an inline <style> without a nonce"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute (evaluated code)"),
]


def test_templates_hold_no_inline_script_or_style():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(TEMPLATES)}:{line}: {what}")
    assert not found, "\n".join(found)


def test_the_scan_would_catch_inline_code():
    samples = ['<script>alert(1)</script>', '<style>p{}</style>', '<p style="color:red">', '<a onclick="x()">',
               '<select onchange="this.form.submit()">']
    for sample in samples:
        assert any(p.search(sample) for p, _ in INLINE), sample
    for allowed in ['<script src="/static/js/app.js" defer></script>', '<script nonce="{{ csp_nonce }}">']:
        assert not any(p.search(allowed) for p, _ in INLINE), allowed


# ---------------------------------------------------------------- the API schema and docs


def test_schema_and_docs_need_sign_in(world, client):
    schema = client.get(reverse("api-schema"), {"format": "json"})
    assert schema.status_code in (401, 403)
    assert "paths" not in schema.content.decode()
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302 and docs.url.startswith(reverse("login"))


def test_signed_in_docs_load_swagger_ui_from_our_static_files_with_no_inline_code(world, client_as):
    client = client_as(world.users[Role.CLASS_TEACHER.value])
    assert client.get(reverse("api-schema"), {"format": "json"}).status_code == 200
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    _assert_strict_csp(page, "the API docs")
    body = page.content.decode()
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    assert "//" not in re.sub(r"https?://www\.w3\.org", "", body.replace("<!DOCTYPE html>", "")).replace(
        "://testserver", "")  # no other origin anywhere on the page
    assert not any(p.search(body) for p, _ in INLINE)
    script = client.get(reverse("api-docs"), {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


# ---------------------------------------------------------------- the deploy check


def test_deploy_check_passes_with_the_strict_policy():
    assert content_security_policy_check() == []


@pytest.mark.parametrize("change", [
    {"script-src": ["'self'", "'unsafe-inline'"]},
    {"style-src": ["'self'", "'unsafe-inline'"]},
    {"script-src": ["'self'", "'unsafe-eval'"]},
    {"default-src": ["*"]},
])
def test_deploy_check_catches_a_loosened_policy(change):
    policy = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], **change}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        [warning] = content_security_policy_check()
    assert warning.id == "attendance.W003"


def test_deploy_check_catches_a_missing_middleware_and_public_docs():
    middleware = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert [w.id for w in content_security_policy_check()] == ["attendance.W001"]
    with override_settings(SPECTACULAR_SETTINGS={**settings.SPECTACULAR_SETTINGS, "SWAGGER_UI_DIST": "https://cdn"}):
        assert [w.id for w in content_security_policy_check()] == ["attendance.W004"]


def test_the_api_answers_json_even_to_a_browser(world, client_as):
    # DRF's browsable HTML pages carry inline styles the policy refuses; the docs page is the API browser.
    client = client_as(world.users[Role.HEADTEACHER.value])
    response = client.get(reverse("api:pupil-list", args=[world.school.slug]), HTTP_ACCEPT="text/html,*/*")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
