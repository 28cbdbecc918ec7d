"""Reads for invitations and the account audit trail."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from attendance_portal.models import School

from .models import AccountEvent, Invitation


def invitation_pending_exists(guardian_ref: str = "pk") -> Exists:
    """For annotating guardians: whether a pending invitation is out for each."""
    return Exists(Invitation.objects.filter(guardian=OuterRef(guardian_ref), used_at__isnull=True,
                                            cancelled_at__isnull=True, expires_at__gt=timezone.now()))


def account_events(*, school: School) -> QuerySet[AccountEvent]:
    """One school's account trail, newest first."""
    return AccountEvent.objects.filter(school=school).order_by("-at", "-pk")
