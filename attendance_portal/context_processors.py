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


def csp_nonce(request: HttpRequest) -> dict[str, Any]:
    """The request's Content-Security-Policy nonce as `csp_nonce` (the name django-htmx's script tag reads).

    It is lazy: the nonce goes into the header only when a template uses it.
    """
    nonce = getattr(request, "csp_nonce", None)
    return {"csp_nonce": nonce} if nonce is not None else {}
