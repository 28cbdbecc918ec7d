"""Session limits: an idle limit and an absolute limit per kind of account, and sessions that end at once
when an account is deactivated or its two-step sign-in is reset.

Each sign-in records its session key against the user (`SignedInSession`), so ending a person's
sessions deletes exactly theirs. The middleware also checks every request, so a session that escaped
(another session store, a race) still ends at its next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from attendance_portal.models import User

from .models import AccountEvent, SignedInSession
from .policy import session_limits

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen_at"
TOUCH_EVERY_SECONDS = 60  # last-seen is written at most once a minute, not on every request


def sessions_end(*, user: Any, by: Any = None, reason: str) -> int:
    """Delete every session of this user, with an audit entry. Returns how many ended."""
    keys = list(SignedInSession.objects.filter(user_id=user.pk).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    SignedInSession.objects.filter(user_id=user.pk).delete()
    AccountEvent.objects.create(kind=AccountEvent.Kind.SESSIONS_ENDED, actor_id=getattr(by, "pk", None),
                                subject_id=user.pk, detail=f"{len(keys)} session(s): {reason}"[:300])
    return len(keys)


@receiver(user_logged_in)
def _record_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now
    if request.session.session_key is None:
        request.session.save()
    SignedInSession.objects.get_or_create(session_key=request.session.session_key, defaults={"user_id": user.pk})


@receiver(pre_save, sender=User)
def _note_deactivation(sender: Any, instance: User, **kwargs: Any) -> None:
    if instance.pk and not instance.is_active:
        instance._was_active = User.objects.filter(pk=instance.pk, is_active=True).exists()  # type: ignore[attr-defined]  # carried on the instance from pre_save to post_save


@receiver(post_save, sender=User)
def _end_sessions_on_deactivation(sender: Any, instance: User, **kwargs: Any) -> None:
    if getattr(instance, "_was_active", False):
        instance._was_active = False  # type: ignore[attr-defined]  # carried on the instance from pre_save to post_save
        sessions_end(user=instance, reason="account deactivated")


class SessionLimitsMiddleware:
    """Signs out a session past its idle or absolute limit, or whose account is no longer active."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ended = self._ended(request, user)
            if ended:
                logout(request)
                messages.info(request, ended)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest, user: Any) -> str:
        if not user.is_active:
            return "You have been signed out."
        now = timezone.now().timestamp()
        session = request.session
        signed_in = session.get(SIGNED_IN_AT)
        last_seen = session.get(LAST_SEEN, signed_in)
        idle, absolute = session_limits(user)
        if signed_in is None or now - signed_in > absolute.total_seconds():
            return "For safety you were signed out after a long session. Please sign in again."
        if last_seen is not None and now - last_seen > idle.total_seconds():
            return (f"You were signed out after {round(idle.total_seconds() / 60)} minutes without activity. "
                    "Please sign in again.")
        if last_seen is None or now - last_seen > TOUCH_EVERY_SECONDS:
            session[LAST_SEEN] = now
        return ""
