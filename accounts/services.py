"""Writes for invitations and the account audit trail.

An invitation never sets or resets the password of an account that exists. Opening the link either
creates a new account for the address it was sent to, or, for a person who already has one, adds
what it offers once they have signed in and accepted. Staff and platform accounts are never reached
through a parent invitation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from attendance_portal.models import Membership, School, User
from attendance_portal.roles import Role
from registers.models import Guardian

from . import tokens
from .models import AccountEvent, Invitation, token_hash
from .policy import is_staff_account


class AccountError(ValidationError):
    """Refused; nothing was written. The message is meant for the person who sent it."""


def account_event(*, kind: str, actor: Any = None, subject: Any = None, school: School | None = None,
                  guardian: Any = None, invitation: Invitation | None = None, detail: str = "") -> AccountEvent:
    return AccountEvent.objects.create(
        kind=kind, actor_id=getattr(actor, "pk", None), subject_id=getattr(subject, "pk", None),
        school_id=getattr(school, "pk", None), guardian_id=getattr(guardian, "pk", None),
        invitation=invitation, detail=detail[:300],
    )


def invitation_valid_for() -> dt.timedelta:
    return dt.timedelta(hours=settings.INVITATION_VALID_HOURS)


@transaction.atomic
def invitation_create(*, kind: str, email: str, by: User | None, school: School | None = None,
                      guardian: Any = None, role: str = "") -> Invitation:
    """A new invitation; any earlier pending one for the same guardian (or address and school) is cancelled."""
    email = email.strip().lower()
    if not email:
        raise AccountError("An invitation needs an email address.")
    if kind == Invitation.Kind.PARENT and guardian is None:
        raise AccountError("A parent invitation names the contact it is for.")
    if kind == Invitation.Kind.STAFF and (school is None or role not in Role.values):
        raise AccountError("A staff invitation names a school and a role.")
    earlier = Q(guardian=guardian) if guardian is not None else Q(kind=kind, email=email, school=school)
    invitations_cancel(where=earlier, by=by, reason="A new invitation was sent.")
    nonce = tokens.nonce_new()
    now = timezone.now()
    invitation = Invitation.objects.create(
        kind=kind, email=email, school=school, guardian=guardian, role=role, nonce=nonce,
        token_hash=tokens.hash_for(nonce), created_at=now, created_by=by, expires_at=now + invitation_valid_for(),
    )
    account_event(kind=AccountEvent.Kind.INVITATION_SENT, actor=by, school=school, guardian=guardian,
                  invitation=invitation, detail=f"{invitation.get_kind_display()} invitation to {email}")
    return invitation


def invitations_cancel(*, where: Q, by: User | None, reason: str) -> int:
    """Cancel the pending invitations matching `where`, each with an audit entry."""
    pending = list(Invitation.objects.select_for_update().filter(where, used_at__isnull=True,
                                                                 cancelled_at__isnull=True))
    now = timezone.now()
    for invitation in pending:
        invitation.cancelled_at, invitation.cancel_reason = now, reason[:200]
        invitation.save(update_fields=["cancelled_at", "cancel_reason"])
        account_event(kind=AccountEvent.Kind.INVITATION_CANCELLED, actor=by, school=invitation.school,
                      guardian=invitation.guardian, invitation=invitation, detail=reason)
    return len(pending)


def guardian_invitations_cancel(*, guardian: Any, by: User | None, reason: str) -> int:
    return invitations_cancel(where=Q(guardian=guardian), by=by, reason=reason)


def invitation_find(*, token: str) -> Invitation | None:
    """The pending invitation for this token, or None (unknown, used, cancelled or out of date)."""
    if not token or len(token) > 128:
        return None
    found = Invitation.objects.select_related("school").filter(token_hash=token_hash(token)).first()
    if found is None or not found.pending:
        return None
    return _guardian_loaded(found)


def _guardian_loaded(invitation: Invitation) -> Invitation:
    """The invitation with its guardian, read in the scope of the school the invitation names (no scope is
    open for someone who is following a link)."""
    if invitation.guardian_id is not None:
        with scope(school=invitation.school):
            invitation.guardian = Guardian.objects.get(pk=invitation.guardian_id)
    return invitation


def _refusal(invitation: Invitation, user: User) -> str:
    """Why this account may not accept this invitation, or ''."""
    if invitation.kind == Invitation.Kind.PARENT:
        if is_staff_account(user):
            return ("This is a staff account, which cannot be used for the parent portal. Sign out, then open "
                    "the link again to set up a separate parent account.")
        if invitation.guardian is None or invitation.guardian.user_id not in (None, user.pk):
            return "This invitation is no longer valid. Please ask the school office for a new one."
    return ""


def invitation_redeem(*, token: str, user: User, new_account: bool = False) -> Invitation:
    """Use the invitation once, for this (signed-in or just created) account, and do what it offers.

    A refusal is recorded in the trail (outside the refused work, so it is kept) and raised.
    """
    with transaction.atomic():
        invitation, refusal = _redeem(token=token, user=user, new_account=new_account)
    if refusal:
        account_event(kind=AccountEvent.Kind.INVITATION_REFUSED, actor=user, subject=user,
                      school=invitation.school, guardian=invitation.guardian, invitation=invitation,
                      detail=refusal)
        raise AccountError(refusal)
    return invitation


def _redeem(*, token: str, user: User, new_account: bool) -> tuple[Invitation, str]:
    now = timezone.now()
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("school").filter(
        token_hash=token_hash(token), used_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=now).first()
    if invitation is None:
        raise AccountError("This link has expired or has been used already. Please ask for a new invitation.")
    _guardian_loaded(invitation)
    refusal = _refusal(invitation, user)
    if refusal:
        return invitation, refusal
    invitation.used_at, invitation.used_by = now, user
    invitation.save(update_fields=["used_at", "used_by"])
    if new_account:
        account_event(kind=AccountEvent.Kind.ACCOUNT_CREATED, actor=user, subject=user, school=invitation.school,
                      guardian=invitation.guardian, invitation=invitation, detail=user.username)
    if invitation.kind == Invitation.Kind.PARENT:
        guardian = invitation.guardian
        with scope(school=invitation.school):  # the invitation names the school and the guardian
            guardian.user = user  # type: ignore[union-attr]  # a parent invitation names its guardian (invitation_parent_has_guardian)
            guardian.save(update_fields=["user"])  # type: ignore[union-attr]  # a parent invitation names its guardian (invitation_parent_has_guardian)
        account_event(kind=AccountEvent.Kind.GUARDIAN_LINKED, actor=user, subject=user, school=invitation.school,
                      guardian=guardian, invitation=invitation, detail=f"{guardian} linked to {user.username}")
    else:
        Membership.objects.get_or_create(user=user, school=invitation.school, role=invitation.role)
        account_event(kind=AccountEvent.Kind.ROLE_GIVEN, actor=user, subject=user, school=invitation.school,
                      invitation=invitation, detail=invitation.role)
    return invitation, ""


def email_has_account(email: str) -> bool:
    return User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists()


@transaction.atomic
def invitation_account_create(*, token: str, password: str) -> User:
    """A new account for the invitation's address, then the invitation redeemed for it.

    An address that already has an account gets no new one and no password change: its owner signs in
    and accepts instead.
    """
    invitation = invitation_find(token=token)
    if invitation is None:
        raise AccountError("This link has expired or has been used already. Please ask for a new invitation.")
    if email_has_account(invitation.email):
        raise AccountError("There is already an account for this email address. Sign in with it, then open the "
                           "link again to accept the invitation.")
    guardian = invitation.guardian
    user = User(username=invitation.email, email=invitation.email,
                first_name=getattr(guardian, "forename", ""), last_name=getattr(guardian, "surname", ""))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(exc.messages) from exc
    user.set_password(password)
    user.save()
    invitation_redeem(token=token, user=user, new_account=True)
    return user
