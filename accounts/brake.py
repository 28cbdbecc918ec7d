"""One brake on password guessing for every sign-in form (the staff and parent form, the platform admin).

Failures are counted per username and, separately, per real client address. After a few free
failures each further attempt must wait, twice as long each time up to a ceiling, so a guesser gets a
handful of tries an hour while the account's owner is slowed rather than locked out. An attempt made
during the wait is refused without the password being checked. A school's staff share one public
address, so the address allows many more failures than a username before it slows anyone.

The brake sits in the authentication backends (`BrakeBackend` first), so any form that calls
`django.contrib.auth.authenticate` is covered; failures are counted from the `user_login_failed` signal.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest


@dataclass(frozen=True)
class Rule:
    name: str
    free: int  # failures allowed before any wait
    ceiling: int  # longest wait, seconds
    forget_after: int  # failures are forgotten this long after the last one, seconds


USERNAME = Rule("user", free=5, ceiling=15 * 60, forget_after=60 * 60)
ADDRESS = Rule("addr", free=30, ceiling=15 * 60, forget_after=60 * 60)


def client_address(request: HttpRequest) -> str:
    """The client's address, taken from X-Forwarded-For only as far as `TRUSTED_PROXY_COUNT` proxies vouch.

    Each trusted proxy appends the address it was reached from, so with n proxies the real client is the
    n-th entry from the right; anything to its left was written by the client and is not believed.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if not hops:
        return remote
    candidate = hops[-trusted] if len(hops) >= trusted else hops[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _username(credentials: dict[str, Any]) -> str:
    return str(credentials.get("username") or "").strip().lower()


def _key(rule: Rule, value: str) -> str:
    return f"brake:{rule.name}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _wait_for(rule: Rule, state: dict[str, float] | None, now: float) -> int:
    if not state or state["count"] <= rule.free:
        return 0
    delay = min(2 ** (state["count"] - rule.free), rule.ceiling)
    return max(0, math.ceil(state["last"] + delay - now))


def _keys(request: HttpRequest, username: str) -> list[tuple[Rule, str]]:
    keys = [(ADDRESS, _key(ADDRESS, client_address(request)))]
    if username:
        keys.append((USERNAME, _key(USERNAME, username)))
    return keys


def wait_seconds(request: HttpRequest, username: str) -> int:
    """How long this client must wait before trying this username again (0: go ahead)."""
    now = time.time()
    keys = _keys(request, username.strip().lower())
    states = cache.get_many([k for _, k in keys])
    return max(_wait_for(rule, states.get(key), now) for rule, key in keys)


def failure_record(request: HttpRequest, username: str) -> None:
    now = time.time()
    for rule, key in _keys(request, username.strip().lower()):
        state = cache.get(key) or {"count": 0, "last": now}
        cache.set(key, {"count": state["count"] + 1, "last": now}, timeout=rule.forget_after + rule.ceiling)


def success_record(request: HttpRequest, username: str) -> None:
    """A correct password clears that username's count (the address's count stays: it is shared)."""
    cache.delete(_key(USERNAME, username.strip().lower()))


class BrakeBackend:
    """First in AUTHENTICATION_BACKENDS: refuses, before any password is checked, an attempt still braked."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> None:
        if request is not None and wait_seconds(request, username or ""):
            request._brake_refused = True  # type: ignore[attr-defined]  # read back by the login view for this request only
            raise PermissionDenied("Too many failed attempts")
        return None


@receiver(user_login_failed)
def _count_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                   **kwargs: Any) -> None:
    if request is None or getattr(request, "_brake_refused", False):
        return
    failure_record(request, _username(credentials))


@receiver(user_logged_in)
def _clear_on_success(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and request.method == "POST":
        success_record(request, user.get_username())
