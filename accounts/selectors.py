"""Reads for invitations and the account audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from attendance_portal.models import Membership, School, User
from attendance_portal.roles import Role

from .models import AccountEvent, Invitation
from .policy import MFA_ROLES


def invitation_pending_exists(guardian_ref: str = "pk") -> Exists:
    """For annotating guardians: whether a pending invitation is out for each."""
    return Exists(Invitation.objects.filter(guardian=OuterRef(guardian_ref), used_at__isnull=True,
                                            cancelled_at__isnull=True, expires_at__gt=timezone.now()))


def account_events(*, school: School) -> QuerySet[AccountEvent]:
    """One school's account trail, newest first."""
    return AccountEvent.objects.filter(school=school).order_by("-at", "-pk")


@dataclass(frozen=True)
class StaffMfa:
    user: User
    roles: tuple[str, ...]
    enrolled: bool
    required: bool


def school_staff_mfa(*, school: School) -> list[StaffMfa]:
    """The school's own members (not trust-wide roles) with their two-step sign-in state, in two queries."""
    rows: dict[int, tuple[User, set[str]]] = {}
    for m in Membership.objects.filter(school=school).select_related("user").order_by("user__last_name"):
        rows.setdefault(m.user_id, (m.user, set()))[1].add(m.role)
    enrolled = set(TOTPDevice.objects.filter(user_id__in=rows, confirmed=True).values_list("user_id", flat=True))
    return [StaffMfa(user, tuple(sorted(Role(r).label for r in roles)), user.pk in enrolled,
                     bool(set(roles) & MFA_ROLES)) for user, roles in rows.values()]


def school_member(*, school: School, user_id: int) -> User:
    """A person holding a role in this school itself; anyone else is a 404."""
    found = User.objects.filter(pk=user_id, memberships__school=school).distinct().first()
    if found is None:
        raise Http404("No such member of staff")
    return found
