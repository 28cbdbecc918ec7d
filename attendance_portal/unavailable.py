"""While the database is unreachable (restarting, failing over), every page answers 503 "try again" instead of
a server error: nothing was saved, and the person is told so and when to retry. Django's connection health
checks reconnect on the next request once the database is back, so the service recovers by itself.

Drawn without templates, context processors or the database: none of them can be relied on at that moment.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error

RETRY_AFTER_SECONDS = 10
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Try again in a moment</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Try again in a moment</h1>
<p>The attendance portal cannot reach its database just now, so <strong>nothing you sent was saved</strong>.</p>
<p>Wait a few seconds, then go back and save again. Your register has not been changed.</p>
</body></html>
"""


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def server_error_or_unavailable(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a 503 "try again" page when the error is the database being unreachable."""
    if database_unavailable(sys.exc_info()[1]):
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return server_error(request, template_name)
