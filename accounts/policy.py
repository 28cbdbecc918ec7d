"""Who needs what at sign-in: two-step verification, and how long a session may last. One place each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from attendance_portal.permissions import account_roles
from attendance_portal.roles import Role

# Roles with access to pupils' personal data at scale: two-step sign-in is required (DfE's cyber
# security standards for schools). Class teachers and governors may turn it on; once on, it is asked for.
MFA_ROLES = frozenset({Role.HEADTEACHER, Role.SENIOR_ATTENDANCE_CHAMPION, Role.ATTENDANCE_OFFICER,
                       Role.OFFICE_STAFF, Role.TRUST_OFFICER})


def _roles(user: Any) -> frozenset[str]:
    """The roles the account holds in schools and trusts, and in local authorities (as `la:<role>`)."""
    return frozenset(held.role for held in account_roles(user))


def is_staff_account(user: Any) -> bool:
    """Platform staff, or anyone holding a role in a school, trust or local authority: never a parent-flow account."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or _roles(user))


def holds_la_role(user: Any) -> bool:
    """Whether the account is an officer of a local authority (read with its other roles, once a request)."""
    return bool(user.is_authenticated and any(role.startswith("la:") for role in _roles(user)))


def mfa_required(user: Any) -> bool:
    """Platform staff, the roles above, and every local-authority officer (they read referrals with pupils'
    and parents' details from many schools)."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser or _roles(user) & MFA_ROLES
                                           or holds_la_role(user)))


def session_limits(user: Any) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle limit, absolute limit) for this account: staff short, parents on their own devices longer."""
    if is_staff_account(user):
        return (dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_STAFF),
                dt.timedelta(hours=settings.SESSION_MAX_HOURS_STAFF))
    return (dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES_PARENT),
            dt.timedelta(hours=settings.SESSION_MAX_HOURS_PARENT))
