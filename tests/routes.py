"""Every route must say how it is tested against another school (or trust, or family).

Each app's `tests/<app>/routes.py` declares `ROUTES: list[Route]`. `test_cross_school.py` walks the
URLconf and fails for any route that no module declares, then runs every declared route:

* kind "school": the headteacher of the home school requests the route under another school's
  slug (404), and, when the route names objects, under the home school's slug with the other
  school's objects (404 again, never 403).
* kind "trust": the trust officer of another trust requests the route (404).
* kind "parent": a parent requests a route naming another family's child (404).
* kind "la": a local authority's workspace; another LA's officer and school staff get 404
  (tests/penalties/test_la_workspace.py).
* kind "public": no tenant data; `reason` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from attendance_portal.models import School


@dataclass(frozen=True)
class Route:
    name: str
    kind: str = "school"  # school | trust | parent | la | public
    method: str = "get"
    # Builds objects in the given school and returns the URL kwargs other than the slug.
    make: Callable[[School], dict[str, Any]] | None = None
    data: Callable[[School], dict[str, Any]] | None = None
    reason: str = ""
    api: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
