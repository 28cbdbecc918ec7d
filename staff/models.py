"""Staff management by the school (and the trust): invitations, links of teachers to their groups,
who may manage staff, which codes each role may enter, and the audit of every change.

An invitation belongs to one school or one trust, like a membership. Its token is never stored: only
its SHA-256 is, so a copy of the database cannot be used to accept an invitation.
"""

from __future__ import annotations

from typing import ClassVar, Self

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django_scopes import ScopedManager

from attendance_portal.roles import Role
from attendance_portal.tenancy import SchoolOwned


class GroupTeacher(SchoolOwned):
    """A member of staff who takes a registration group's register."""

    group = models.ForeignKey("registers.RegistrationGroup", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "group", "user"], name="groupteacher_unique")]


class StaffDelegate(SchoolOwned):
    """Someone the headteacher has asked to manage staff for the school."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "user"], name="staffdelegate_unique")]


class RoleCodes(SchoolOwned):
    """The codes one role may enter in a register at this school. No row: the default for the role."""

    role = models.CharField(max_length=40, choices=Role.choices)
    codes = ArrayField(models.CharField(max_length=2))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "role"], name="rolecodes_unique")]


class StaffInvitation(models.Model):
    """An invitation to join a school or a trust with some roles. Single use; expires.

    Scoped like school-owned rows: a trust's invitations (no school) are read with the scope disabled,
    filtered by the trust, in `staff.selectors` only.
    """

    school = models.ForeignKey("attendance_portal.School", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    trust = models.ForeignKey("attendance_portal.Trust", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    email = models.EmailField()
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    position = models.CharField(max_length=120, blank=True)
    roles = ArrayField(models.CharField(max_length=40))
    group_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # The outbox: a send is claimed by compare-and-set, and an unsent invitation is picked up by the sweeper.
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(school__isnull=False, trust__isnull=True) | Q(school__isnull=True, trust__isnull=False)),
                name="staffinvitation_school_xor_trust",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles]


class StaffChange(models.Model):
    """Append-only record of every change to staff: who, when, what."""

    class Action(models.TextChoices):
        INVITED = "invited", "Invited"
        INVITATION_REVOKED = "invitation_revoked", "Invitation withdrawn"
        ACCEPTED = "accepted", "Accepted an invitation"
        ROLES_CHANGED = "roles_changed", "Roles changed"
        GROUPS_CHANGED = "groups_changed", "Registration groups changed"
        DELEGATE_CHANGED = "delegate_changed", "Staff management delegation changed"
        DEACTIVATED = "deactivated", "Deactivated"
        CODES_CHANGED = "codes_changed", "Codes a role may enter changed"

    school = models.ForeignKey("attendance_portal.School", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    trust = models.ForeignKey("attendance_portal.Trust", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    by_name = models.CharField(max_length=200)
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    subject_name = models.CharField(max_length=200)
    action = models.CharField(max_length=30, choices=Action.choices)
    detail = models.CharField(max_length=500)

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

    class Meta:
        ordering = ["-at", "-id"]
        # Append-only in the database: a trigger refuses UPDATE and DELETE (staff/migrations/0002_*).

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.subject_name}"
