"""Two-step sign-in (TOTP through django-otp, with one-use recovery codes kept as hashes).

Required for the roles in `accounts.policy.MFA_ROLES` and platform staff: after the password, a
person with no authenticator yet sets one up (first sign-in), everyone else gives a code, on every
sign-in. Anyone else who has set one up is asked for it too.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import qrcode
import qrcode.image.svg
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AccountEvent, RecoveryCode, RecoveryCodeDevice, token_hash
from .policy import mfa_required

RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def must_verify(user: Any) -> bool:
    """Whether this signed-in, not yet verified person must give a code before going on."""
    return mfa_required(user) or TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def pending_device(user: Any) -> TOTPDevice:
    """The authenticator being set up (not yet confirmed by a code), made on first use."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    import base64

    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def recovery_codes_new(user: Any) -> list[str]:
    """Replace the person's recovery codes with a new set; returns them for showing once."""
    RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = ["".join(secrets.choice(_CODE_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create([RecoveryCode(device=device, code_hash=token_hash(c)) for c in codes])
    return [f"{c[:5]}-{c[5:]}" for c in codes]


@transaction.atomic
def enrolment_confirm(*, request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the authenticator with a first code; returns the new recovery codes, or None if the code is wrong."""
    if not device.verify_token(code.replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_new(device.user)
    otp_login(request, device)
    AccountEvent.objects.create(kind=AccountEvent.Kind.MFA_ENROLLED, actor_id=device.user_id,
                                subject_id=device.user_id, detail="Authenticator app set up")
    return codes


def verify(*, request: HttpRequest, code: str) -> bool:
    """Check a code from the authenticator, or a recovery code; mark the session verified if it is right."""
    user = request.user
    code = code.strip()
    totp = confirmed_device(user)
    digits = code.replace(" ", "")
    if totp is not None and digits.isdigit() and totp.verify_token(digits):
        otp_login(request, totp)
        return True
    recovery = RecoveryCodeDevice.objects.filter(user_id=user.pk).first()
    if recovery is not None and not digits.isdigit() and recovery.verify_token(code):
        otp_login(request, recovery)
        AccountEvent.objects.create(kind=AccountEvent.Kind.RECOVERY_CODE_USED, actor_id=user.pk, subject_id=user.pk,
                                    detail=f"{recovery.remaining()} recovery codes left")
        return True
    return False


@transaction.atomic
def mfa_reset(*, user: Any, by: Any, school: Any) -> None:
    """Remove a person's authenticator and recovery codes (they set up a new one at next sign-in)."""
    from .sessions import sessions_end

    TOTPDevice.objects.filter(user_id=user.pk).delete()
    RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()
    AccountEvent.objects.create(kind=AccountEvent.Kind.MFA_RESET, actor_id=by.pk, subject_id=user.pk,
                                school_id=school.pk, detail=f"Reset by {by.display_name()} at {timezone.now():%H:%M}")
    sessions_end(user=user, by=by, reason="two-step sign-in reset")


def safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return target
    return default


def _exempt(path: str) -> bool:
    from django.conf import settings

    open_paths = (reverse("accounts:mfa_verify"), reverse("accounts:mfa_setup"), reverse("logout"),
                  reverse("healthz"), "/accounts/invitations/", settings.STATIC_URL)
    return path.startswith(open_paths)


class MfaMiddleware:
    """After the password, nothing but the two-step pages until the session is verified (when required)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated or user.is_verified() or _exempt(request.path_info)
                or not must_verify(user)):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": "Two-step sign-in is needed; sign in again in the browser."}, status=403)
        target = "accounts:mfa_verify" if confirmed_device(user) else "accounts:mfa_setup"
        response = redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        if getattr(request, "htmx", False):
            response["HX-Redirect"] = response["Location"]
        return response
