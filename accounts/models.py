"""Accounts: invitations by link, the account audit trail and recovery codes for two-step sign-in.

These rows belong to people rather than to one school's records: an invitation is opened from a
link before anyone's school is known, and one person's trail can span schools. They carry the
school they concern (`school`, nullable for platform-wide events) and are read only through
`accounts.selectors`, which filters by it.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin


def token_hash(token: str) -> str:
    """What is stored of a secret sent by link or shown once: its SHA-256, never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A link sent to an email address. It never sets the password of an account that exists.

    `kind` says what accepting it does: a parent invitation links a guardian record to the account
    of whoever opens it and either creates a new account or signs in and accepts; a staff invitation
    gives a role in a school. The token is sent once and only its hash is kept.
    """

    class Kind(models.TextChoices):
        PARENT = "parent", "Parent portal"
        STAFF = "staff", "Staff account"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    email = models.EmailField(help_text="The address the link was sent to.")
    school = models.ForeignKey("attendance_portal.School", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    guardian = models.ForeignKey("registers.Guardian", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="invitations")
    role = models.CharField(max_length=40, blank=True, help_text="The role a staff invitation gives.")
    token_hash = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=32, help_text="With the server's secret, makes the link at sending time.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind="staff") | Q(guardian__isnull=False),
                                   name="invitation_parent_has_guardian"),
            models.CheckConstraint(condition=Q(used_at__isnull=True) | Q(cancelled_at__isnull=True),
                                   name="invitation_used_or_cancelled"),
        ]
        indexes = [models.Index(fields=["guardian", "used_at", "cancelled_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} invitation to {self.email}"

    @property
    def pending(self) -> bool:
        return self.used_at is None and self.cancelled_at is None and self.expires_at > timezone.now()


# Append-only in the database: a trigger refuses UPDATE and DELETE (accounts/migrations/0003_*).
class AccountEvent(models.Model):
    """The append-only trail of invitations, account links and two-step sign-in changes.

    References are kept without database constraints so the trail outlives what it names.
    """

    class Kind(models.TextChoices):
        INVITATION_SENT = "invitation_sent", "Invitation sent"
        INVITATION_CANCELLED = "invitation_cancelled", "Invitation cancelled"
        ACCOUNT_CREATED = "account_created", "Account created from an invitation"
        GUARDIAN_LINKED = "guardian_linked", "Parent account linked to a contact"
        INVITATION_REFUSED = "invitation_refused", "Invitation refused for this account"
        ROLE_GIVEN = "role_given", "Role given from an invitation"
        MFA_ENROLLED = "mfa_enrolled", "Two-step sign-in set up"
        MFA_RESET = "mfa_reset", "Two-step sign-in reset"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        SESSIONS_ENDED = "sessions_ended", "Sessions ended"

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+", help_text="Who did it.")
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                db_constraint=False, related_name="+", help_text="Whose account it concerns.")
    school = models.ForeignKey("attendance_portal.School", null=True, blank=True, on_delete=models.DO_NOTHING,
                               db_constraint=False, related_name="+")
    guardian = models.ForeignKey("registers.Guardian", null=True, blank=True, on_delete=models.DO_NOTHING,
                                 db_constraint=False, related_name="+")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["school", "at"]), models.Index(fields=["subject", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A person's one-use recovery codes for two-step sign-in, kept as hashes."""

    def verify_token(self, token: object) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        code = "".join(str(token).split()).replace("-", "").lower()
        with transaction.atomic():
            used = self.codes.filter(code_hash=token_hash(code), used_at__isnull=True).update(
                used_at=timezone.now())
        if used:
            self.throttle_reset()
        else:
            self.throttle_increment()
        return bool(used)

    def get_throttle_factor(self) -> int:
        return 1

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} ({'used' if self.used_at else 'unused'})"


class SignedInSession(models.Model):
    """Which session belongs to whom, so a deactivated account's or a reset account's sessions end at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Session of user {self.user_id} from {self.created_at:%Y-%m-%d %H:%M}"
