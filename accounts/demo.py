"""Demo two-step sign-in: every demo staff account shares one published authenticator key.

Like the shared demo password, the key is public: it exists only so the demo can be tried without
setting up a phone. `python manage.py demo_code` prints the code it gives now; the key can also be typed
into any authenticator app. Never used outside the demo accounts.
"""

from __future__ import annotations

import base64
from typing import Any

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from attendance_portal.models import User

from .policy import mfa_required

DEMO_KEY = b"attendance-demo-2026"  # 20 bytes, published with the demo password


def demo_key_base32() -> str:
    return base64.b32encode(DEMO_KEY).decode().rstrip("=")


def demo_code() -> str:
    return f"{totp(DEMO_KEY):06d}"


def demo_devices_ensure(usernames: list[str]) -> int:
    """Give the demo accounts that need two-step sign-in the demo authenticator (once)."""
    made = 0
    for user in User.objects.filter(username__in=usernames):
        if mfa_required(user) and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="Demo authenticator", key=DEMO_KEY.hex(), confirmed=True)
            made += 1
    return made


def client_signed_in(client: Any, user: Any) -> Any:
    """Sign a test or bench client in as `user` past two-step sign-in (a confirmed authenticator for the
    user is created if there is none). Enforcement itself stays on: tests/accounts/test_mfa.py."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
