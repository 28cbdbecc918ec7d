"""Secrets sent by link: made from a stored nonce and the server's secret, kept only as a hash.

A stored message body names an invitation's link by a mark (`~invitation.12~`, safe in a URL path) rather than the
token itself; the mark is turned into the live link only as the message is handed to the mail
server, so neither the message table nor its backups hold a working link.
"""

from __future__ import annotations

import re
import secrets

from django.utils.crypto import salted_hmac

from .models import Invitation, token_hash

_MARK = re.compile(r"~invitation\.(\d+)~")
EXPIRED_MARK = "expired"  # what a mark becomes once its invitation is used, cancelled or out of date


def nonce_new() -> str:
    return secrets.token_hex(16)


def token_for(nonce: str) -> str:
    return salted_hmac("accounts.invitation", nonce, algorithm="sha256").hexdigest()


def hash_for(nonce: str) -> str:
    return token_hash(token_for(nonce))


def invitation_mark(invitation: Invitation) -> str:
    return f"~invitation.{invitation.pk}~"


def marks_expand(text: str) -> str:
    """Replace each invitation mark with its live token while the invitation is still pending."""
    ids = {int(m) for m in _MARK.findall(text)}
    if not ids:
        return text
    live = {inv.pk: token_for(inv.nonce) for inv in Invitation.objects.filter(pk__in=ids) if inv.pending}
    return _MARK.sub(lambda m: live.get(int(m.group(1)), EXPIRED_MARK), text)
