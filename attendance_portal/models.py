"""The tenancy core: users, trusts, schools and memberships."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from .roles import Role


class User(AbstractUser):
    position = models.CharField(
        max_length=120, blank=True, help_text="Job title, recorded against register amendments."
    )

    def display_name(self) -> str:
        return self.name_from(self.first_name, self.last_name, self.username)

    @staticmethod
    def name_from(first_name: str | None, last_name: str | None, username: str | None) -> str:
        """How a person is named on pages: their full name, else their username. Also for names read in SQL
        (none at all when the row has no person)."""
        return f"{first_name or ''} {last_name or ''}".strip() or username or ""


class Trust(models.Model):
    """A multi-academy trust, or a local authority's group of maintained schools."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    class Phase(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"
        MIDDLE = "middle", "Middle"
        ALL_THROUGH = "all_through", "All-through"
        SPECIAL = "special", "Special"
        AP = "ap", "Alternative provision"

    trust = models.ForeignKey(Trust, null=True, blank=True, on_delete=models.PROTECT, related_name="schools")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    urn = models.CharField("URN", max_length=8, blank=True)
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.PRIMARY)
    local_authority = models.CharField(max_length=120, blank=True)
    state_funded = models.BooleanField(
        default=True, help_text="Penalty notices apply only to state-funded schools."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one school, or in every school of one trust."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=40, choices=Role.choices)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    trust = models.ForeignKey(Trust, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(school__isnull=False, trust__isnull=True) | Q(school__isnull=True, trust__isnull=False)),
                name="membership_school_xor_trust",
            ),
            models.CheckConstraint(
                condition=Q(trust__isnull=True) | Q(role__in=[Role.TRUST_OFFICER, Role.GOVERNOR]),
                name="membership_trust_roles",
            ),
            models.UniqueConstraint(fields=["user", "school", "role"], name="membership_unique_school_role"),
            models.UniqueConstraint(fields=["user", "trust", "role"], name="membership_unique_trust_role"),
        ]

    def __str__(self) -> str:
        where = self.school or self.trust
        return f"{self.user} — {self.get_role_display()} at {where}"
