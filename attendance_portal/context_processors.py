from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import user_is_parent, user_places


def tenancy(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_school": getattr(request, "school", None),
        "current_trust": getattr(request, "trust", None),
        "current_roles": getattr(request, "roles", frozenset()),
        "places": SimpleLazyObject(lambda: user_places(user)),
        "is_parent": SimpleLazyObject(lambda: user_is_parent(user)),
    }
