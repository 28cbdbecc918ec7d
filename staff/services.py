"""Writes for staff management: invitations, roles, registration groups, delegation, leavers, role codes.

Every change writes a `StaffChange` row (who, when, what) in the same transaction. An invitation's
token is made when the e-mail is sent and only its SHA-256 is stored; accepting it is single use and
refused once it has expired or been withdrawn.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import token_hash
from accounts.services import email_has_account, invitation_valid_for
from accounts.sessions import sessions_end
from attendance_portal.models import Membership, School, Trust, User
from attendance_portal.roles import TRUST_ROLES, Role
from registers import codes
from registers.models import RegistrationGroup

from .models import GroupTeacher, RoleCodes, StaffChange, StaffDelegate, StaffInvitation
from .selectors import SCHOOL_ROLES, register_takers, role_codes_default

# An unsent invitation whose send was claimed this long ago is claimed again by the sweeper.
SEND_RETRY_AFTER = dt.timedelta(minutes=10)


P = ParamSpec("P")
R = TypeVar("R")


def _explicit_tenant(func: Callable[P, R]) -> Callable[P, R]:
    """Invitations and the staff audit belong to a school OR a trust, and are read from trust pages, the
    public acceptance page and the sweeper, where no single school scope fits. Every query in these
    functions names its school or trust explicitly; the scope is lifted for them only."""

    @wraps(func)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        with scopes_disabled():
            return func(*args, **kwargs)

    return inner


class StaffError(ValidationError):
    """Refused input; nothing was written. The message is meant for the person who sent it."""


def _name(user: User | None) -> str:
    return user.display_name() if user is not None else "system"


@_explicit_tenant
def _audit(*, by: User | None, action: str, detail: str, school: School | None = None, trust: Trust | None = None,
           subject: User | None = None, subject_name: str = "") -> StaffChange:
    return StaffChange.objects.create(school=school, trust=trust, by=by, by_name=_name(by), subject=subject,
                                      subject_name=subject_name or _name(subject), action=action, detail=detail[:500])


def _role_labels(roles: list[str] | set[str]) -> str:
    return ", ".join(sorted(Role(r).label for r in roles)) or "no roles"


def _check_roles(roles: list[str], *, trust: bool) -> list[str]:
    allowed = {r.value for r in (TRUST_ROLES if trust else SCHOOL_ROLES)}
    chosen = sorted(set(roles))
    if not chosen:
        raise StaffError("Choose at least one role.")
    wrong = [r for r in chosen if r not in allowed]
    if wrong:
        raise StaffError("Choose roles from the list." if trust or wrong != [Role.TRUST_OFFICER.value]
                         else "The trust attendance officer role is given by the trust, not the school.")
    return chosen


def _check_groups(*, school: School, group_ids: list[int]) -> list[RegistrationGroup]:
    groups = list(RegistrationGroup.objects.filter(school=school, pk__in=set(group_ids)))
    if len(groups) != len(set(group_ids)):
        raise StaffError("Choose registration groups of this school.")
    return groups


# ---------------------------------------------------------------- invitations


@_explicit_tenant
@transaction.atomic
def staff_invite(*, by: User, email: str, first_name: str, last_name: str, roles: list[str], position: str = "",
                 school: School | None = None, trust: Trust | None = None, group_ids: list[int] | None = None,
                 base_url: str = "", now: dt.datetime | None = None) -> StaffInvitation:
    """Invite someone by e-mail to a school (school roles, groups) or a trust (trust roles)."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise StaffError("Give a valid e-mail address, such as name@school.org.uk.") from None
    first_name, last_name, position = first_name.strip(), last_name.strip(), position.strip()
    if not first_name or not last_name:
        raise StaffError("Give the person's first and last name.")
    chosen = _check_roles(roles, trust=trust is not None)
    groups = _check_groups(school=school, group_ids=group_ids or []) if school is not None else []
    where = Q(school=school) if school is not None else Q(trust=trust)
    if Membership.objects.filter(where, user__email__iexact=email).exists():
        raise StaffError(f"{email} already has a role here; change their roles on their page instead.")
    now = now or timezone.now()
    # A new invitation for the same address replaces any still open: only the latest link works.
    for old in StaffInvitation.objects.select_for_update().filter(where, email=email, accepted_at__isnull=True,
                                                                  revoked_at__isnull=True):
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    invitation = StaffInvitation.objects.create(
        school=school, trust=trust, email=email, first_name=first_name, last_name=last_name, position=position,
        roles=chosen, group_ids=[g.pk for g in groups], created_by=by,
        expires_at=now + invitation_valid_for(),
    )
    _audit(by=by, school=school, trust=trust, action=StaffChange.Action.INVITED, subject_name=email,
           detail=f"Invited {first_name} {last_name} <{email}> as {_role_labels(chosen)}"
                  + (f"; groups {', '.join(g.name for g in groups)}" if groups else ""))
    transaction.on_commit(lambda: invitation_send(invitation_id=invitation.pk, base_url=base_url))
    return invitation


@_explicit_tenant
def invitation_send(*, invitation_id: int, base_url: str = "", now: dt.datetime | None = None) -> bool:
    """Send one invitation e-mail, with a fresh token; safe to call again (an invitation is sent once).

    The claim is a compare-and-set on the row, so two workers never both send it. The token exists only
    in the e-mail: the row keeps its hash.
    """
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    claimed = StaffInvitation.objects.filter(
        Q(send_claimed_at__isnull=True) | Q(send_claimed_at__lt=now - SEND_RETRY_AFTER),
        pk=invitation_id, sent_at__isnull=True, revoked_at__isnull=True, accepted_at__isnull=True,
    ).update(send_claimed_at=now, token_hash=token_hash(token))
    if not claimed:
        return False
    invitation = StaffInvitation.objects.select_related("school", "trust").get(pk=invitation_id)
    place = invitation.school or invitation.trust
    base = (base_url or settings.SITE_URL).rstrip("/")
    link = base + reverse("staff_accept", kwargs={"token": token})
    send_mail(
        subject=f"You are invited to the attendance portal for {place}",
        message=(f"Dear {invitation.first_name},\n\n{_name(invitation.created_by)} has invited you to the "
                 f"attendance portal for {place} as {_role_labels(invitation.roles)}.\n\n"
                 f"Set your password and start here: {link}\n\n"
                 "The link works once and expires on "
                 f"{timezone.localtime(invitation.expires_at):%A %d %B %Y at %H:%M}."),
        from_email=None, recipient_list=[invitation.email],
    )
    StaffInvitation.objects.filter(pk=invitation_id).update(sent_at=timezone.now())
    return True


@_explicit_tenant
def invitations_unsent(*, now: dt.datetime | None = None) -> list[int]:
    """Invitations whose e-mail has not gone (the worker was down): the sweeper sends them."""
    now = now or timezone.now()
    return list(StaffInvitation.objects.filter(
        Q(send_claimed_at__isnull=True) | Q(send_claimed_at__lt=now - SEND_RETRY_AFTER),
        sent_at__isnull=True, revoked_at__isnull=True, accepted_at__isnull=True, expires_at__gt=now,
        created_at__lt=now - dt.timedelta(minutes=2),
    ).values_list("pk", flat=True))


@_explicit_tenant
def invitation_find(*, token: str, now: dt.datetime | None = None) -> StaffInvitation:
    """The open invitation for this token, or StaffError saying (plainly) why it cannot be used."""
    now = now or timezone.now()
    found = StaffInvitation.objects.select_related("school", "trust").filter(token_hash=token_hash(token)).first()
    if found is None:
        raise StaffError("This invitation link is not valid. Ask whoever invited you to send a new one.")
    if found.accepted_at is not None:
        raise StaffError("This invitation has already been used. Sign in with your e-mail address and password.")
    if found.revoked_at is not None:
        raise StaffError("This invitation has been withdrawn. Ask whoever invited you to send a new one.")
    if found.expires_at <= now:
        raise StaffError("This invitation has expired. Ask whoever invited you to send a new one.")
    return found


@_explicit_tenant
@transaction.atomic
def invitation_accept(*, token: str, password1: str, password2: str, now: dt.datetime | None = None) -> User:
    """Accept with a new account: the password must pass the validators. An address that already has an
    account gets no new one and no password change (as for parent invitations, `accounts.services`): its
    owner signs in and accepts with `invitation_accept_signed_in`."""
    invitation = _locked_open(token=token, now=now)
    if email_has_account(invitation.email):
        raise StaffError("There is already an account for this e-mail address. Sign in with it, then open the "
                         "link again to accept the invitation.")
    if password1 != password2:
        raise StaffError("The two passwords do not match.")
    user = User(username=invitation.email, email=invitation.email, first_name=invitation.first_name,
                last_name=invitation.last_name, position=invitation.position)
    try:
        validate_password(password1, user=user)
    except ValidationError as exc:
        raise StaffError(exc.messages) from None
    user.set_password(password1)
    user.save()
    return _give(invitation, user, now=now)


@_explicit_tenant
@transaction.atomic
def invitation_accept_signed_in(*, token: str, user: User, now: dt.datetime | None = None) -> User:
    """Accept for the account that is signed in: its password is left as it is."""
    return _give(_locked_open(token=token, now=now), user, now=now)


def _locked_open(*, token: str, now: dt.datetime | None) -> StaffInvitation:
    invitation = invitation_find(token=token, now=now)
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    invitation_find(token=token, now=now)  # again, under the lock: a second acceptance at the same moment fails
    return invitation


def _give(invitation: StaffInvitation, candidate: User, *, now: dt.datetime | None) -> User:
    """The invitation's roles and groups for this account, once (the invitation is marked used)."""
    for role in invitation.roles:
        Membership.objects.get_or_create(user=candidate, role=role, school=invitation.school, trust=invitation.trust)
    if invitation.school is not None:
        for group_id in invitation.group_ids:
            GroupTeacher.objects.get_or_create(school=invitation.school, group_id=group_id, user=candidate)
    invitation.accepted_at = now or timezone.now()
    invitation.accepted_user = candidate
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    _audit(by=candidate, school=invitation.school, trust=invitation.trust, subject=candidate,
           action=StaffChange.Action.ACCEPTED, detail=f"Accepted the invitation as {_role_labels(invitation.roles)}")
    return candidate


@_explicit_tenant
@transaction.atomic
def invitation_revoke(*, invitation: StaffInvitation, by: User) -> None:
    updated = StaffInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True,
                                             revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise StaffError("This invitation has already been used or withdrawn.")
    _audit(by=by, school=invitation.school, trust=invitation.trust, subject_name=invitation.email,
           action=StaffChange.Action.INVITATION_REVOKED, detail=f"Withdrew the invitation to {invitation.email}")


# ---------------------------------------------------------------- roles, groups, delegation


@_explicit_tenant
@transaction.atomic
def staff_roles_set(*, by: User, user: User, roles: list[str], school: School | None = None,
                    trust: Trust | None = None) -> None:
    """Give exactly these roles here (several per person). Removing every role is deactivation."""
    chosen = set(_check_roles(roles, trust=trust is not None))
    where = Q(school=school) if school is not None else Q(trust=trust)
    current = set(Membership.objects.filter(where, user=user).values_list("role", flat=True))
    if by.pk == user.pk and Role.HEADTEACHER in current - chosen:
        raise StaffError("You cannot remove your own headteacher role; ask another headteacher or the trust.")
    if chosen == current:
        return
    Membership.objects.filter(where, user=user, role__in=current - chosen).delete()
    for role in chosen - current:
        Membership.objects.create(user=user, role=role, school=school, trust=trust)
    _audit(by=by, school=school, trust=trust, subject=user, action=StaffChange.Action.ROLES_CHANGED,
           detail=f"Roles changed from {_role_labels(current)} to {_role_labels(chosen)}")


@transaction.atomic
def staff_groups_set(*, by: User, school: School, user: User, group_ids: list[int]) -> None:
    groups = _check_groups(school=school, group_ids=group_ids)
    current = {link.group_id: link for link in GroupTeacher.objects.filter(school=school, user=user)
               .select_related("group")}
    wanted = {g.pk: g for g in groups}
    if set(current) == set(wanted):
        return
    GroupTeacher.objects.filter(school=school, user=user, group_id__in=set(current) - set(wanted)).delete()
    for group_id in set(wanted) - set(current):
        GroupTeacher.objects.create(school=school, user=user, group_id=group_id)
    before = ", ".join(sorted(link.group.name for link in current.values())) or "none"
    after = ", ".join(sorted(g.name for g in groups)) or "none"
    _audit(by=by, school=school, subject=user, action=StaffChange.Action.GROUPS_CHANGED,
           detail=f"Registration groups changed from {before} to {after}")


@transaction.atomic
def group_teachers_set(*, by: User, school: School, group: RegistrationGroup, user_ids: list[int]) -> None:
    """Make exactly these people the group's teachers: the same links `staff_groups_set` makes from the
    person's side. Each person added must take registers here; one already linked may stay or go."""
    if group.school_id != school.pk:
        raise StaffError("Choose a registration group of this school.")
    current = {link.user_id: link for link in GroupTeacher.objects.filter(school=school, group=group)
               .select_related("user")}
    takers = {u.pk: u for u in register_takers(school=school)}
    wanted = set(user_ids)
    if wanted - set(takers) - set(current):
        raise StaffError("Choose staff of this school who take registers.")
    if wanted == set(current):
        return
    for user_id in set(current) - wanted:
        current[user_id].delete()
        _audit(by=by, school=school, subject=current[user_id].user, action=StaffChange.Action.GROUPS_CHANGED,
               detail=f"No longer a teacher of {group.name}")
    for user_id in wanted - set(current):
        GroupTeacher.objects.create(school=school, group=group, user_id=user_id)
        _audit(by=by, school=school, subject=takers[user_id], action=StaffChange.Action.GROUPS_CHANGED,
               detail=f"Now a teacher of {group.name}")


@transaction.atomic
def staff_delegate_set(*, by: User, school: School, user: User, delegate: bool) -> None:
    """Let a member of staff manage staff for the school, or stop them."""
    exists = StaffDelegate.objects.filter(school=school, user=user).exists()
    if exists == delegate:
        return
    if delegate:
        StaffDelegate.objects.create(school=school, user=user, granted_by=by)
    else:
        StaffDelegate.objects.filter(school=school, user=user).delete()
    _audit(by=by, school=school, subject=user, action=StaffChange.Action.DELEGATE_CHANGED,
           detail="May now manage staff" if delegate else "May no longer manage staff")


# ---------------------------------------------------------------- leavers


@dataclass(frozen=True)
class Deactivated:
    roles_removed: int
    account_closed: bool
    sessions_ended: int


@_explicit_tenant
@transaction.atomic
def staff_deactivate(*, by: User, user: User, school: School | None = None, trust: Trust | None = None) -> Deactivated:
    """A leaver: every role here and their groups go at once and their sessions end. With no role left
    anywhere (and no parent link), the account itself is closed."""
    if by.pk == user.pk:
        raise StaffError("You cannot deactivate yourself.")
    where = Q(school=school) if school is not None else Q(trust=trust)
    roles = sorted(Membership.objects.filter(where, user=user).values_list("role", flat=True))
    if not roles:
        raise StaffError(f"{user.display_name()} has no role here.")
    Membership.objects.filter(where, user=user).delete()
    if school is not None:
        GroupTeacher.objects.filter(school=school, user=user).delete()
        StaffDelegate.objects.filter(school=school, user=user).delete()
    closed = not Membership.objects.filter(user=user).exists() and not user.guardianships.exists()
    ended = sessions_end(user=user, by=by, reason="deactivated by a colleague")
    if closed:
        user.is_active = False
        user.save(update_fields=["is_active"])
    _audit(by=by, school=school, trust=trust, subject=user, action=StaffChange.Action.DEACTIVATED,
           detail=f"Removed {_role_labels(roles)}" + ("; account closed" if closed else "")
                  + f"; {ended} signed-in session{'s' if ended != 1 else ''} ended")
    return Deactivated(roles_removed=len(roles), account_closed=closed, sessions_ended=ended)


# ---------------------------------------------------------------- codes each role enters


@transaction.atomic
def role_codes_set(*, by: User, school: School, role: str, chosen: list[str]) -> None:
    """The codes a role may enter in this school's registers; the default clears the setting."""
    if role not in {r.value for r in SCHOOL_ROLES}:
        raise StaffError("Choose a role from the list.")
    wanted = set(chosen)
    unknown = wanted - set(codes.CODES) | (wanted & codes.NOT_ENTERED_BY_HAND)
    if unknown:
        raise StaffError(f"'{sorted(unknown)[0]}' is not a code that can be entered in a register.")
    if not wanted:
        raise StaffError("Choose at least one code; a role that marks registers needs the present codes.")
    default = role_codes_default(Role(role))
    current = RoleCodes.objects.filter(school=school, role=role).first()
    before = set(current.codes) if current else set(default)
    if wanted == before:
        return
    if wanted == set(default):
        RoleCodes.objects.filter(school=school, role=role).delete()
    else:
        RoleCodes.objects.update_or_create(school=school, role=role,
                                           defaults={"codes": sorted(wanted), "updated_by": by})
    _audit(by=by, school=school, action=StaffChange.Action.CODES_CHANGED, subject_name=Role(role).label,
           detail=f"{Role(role).label} may enter {' '.join(sorted(wanted))} (was {' '.join(sorted(before))})")
