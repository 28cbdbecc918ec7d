"""Deploy checks of our own: `manage.py check --deploy` fails when the Content-Security-Policy is loosened."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "*")
GUARDED = ("default-src", "script-src", "style-src")


@register(Tags.security, deploy=True)
def content_security_policy_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        found.append(Warning("The Content-Security-Policy middleware is not installed.",
                             hint="Add csp.middleware.CSPMiddleware to MIDDLEWARE.", id="attendance.W001"))
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES") or {}
    for name in GUARDED:
        if name not in directives:
            found.append(Warning(f"The Content-Security-Policy has no {name}.", id="attendance.W002"))
            continue
        loose = [str(v) for v in directives[name] if str(v) in UNSAFE]
        if loose:
            found.append(Warning(f"The Content-Security-Policy's {name} allows {', '.join(loose)}.",
                                 hint="Move the inline code to a static file or give its tag the nonce.",
                                 id="attendance.W003"))
    spectacular = getattr(settings, "SPECTACULAR_SETTINGS", {})
    if spectacular.get("SWAGGER_UI_DIST") != "SIDECAR" or spectacular.get("SERVE_PUBLIC", True):
        found.append(Warning("The API docs are public or load Swagger UI from another site.",
                             hint='Set SPECTACULAR_SETTINGS SWAGGER_UI_DIST="SIDECAR" and SERVE_PUBLIC=False.',
                             id="attendance.W004"))
    return found
