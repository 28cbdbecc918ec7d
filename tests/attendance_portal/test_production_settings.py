"""Production settings as loaded from the environment: HTTPS-only cookies, HSTS and the CSP are on."""

from __future__ import annotations

import json

from .test_config import PROD, _run

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG, "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT, "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE, "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY,
    "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS, "CSP": "csp.middleware.CSPMiddleware" in s.MIDDLEWARE,
    "SCRIPT_SRC": [str(v) for v in s.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"]],
    "DOCS_PUBLIC": s.SPECTACULAR_SETTINGS["SERVE_PUBLIC"],
}))
"""


def test_production_settings_are_https_only_with_the_policy_on():
    result = _run(["-c", PROBE], PROD)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {
        "DEBUG": False, "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True, "X_FRAME_OPTIONS": "DENY", "CSP": True,
        "SCRIPT_SRC": ["'self'", "csp.constants.NONCE"], "DOCS_PUBLIC": False,
    }
