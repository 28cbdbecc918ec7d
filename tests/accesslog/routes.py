"""Access log routes (page and API) for the cross-school URLconf walk."""

from __future__ import annotations

from tests.routes import Route

ROUTES: list[Route] = [
    Route("accesslog:index"),
    Route("api:access-log", api=True),
]
