"""The National Framework for penalty notices, as effective-dated rows (dfe-rules §4).

A framework row is in force from its `effective_from` until the next row of the same kind. Anything
worked out for a day (the penalty-threshold signal, a notice's amounts) reads the row in force on that
day, so a new framework from a later date never rewrites what was found before it. The rows are
seeded by a data migration; they are reference data for every school, not school-owned.
"""
from __future__ import annotations

from django.db import models


class NoticeKind(models.TextChoices):
    ATTENDANCE = "attendance", "Irregular attendance (s444A Education Act 1996)"
    EXCLUDED_IN_PUBLIC = "excluded_in_public", "Suspended or excluded pupil in a public place (s105 EIA 2006)"


class NationalFramework(models.Model):
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    effective_from = models.DateField()
    name = models.CharField(max_length=120)
    # The national threshold to consider a notice; empty before 19 August 2024 (each LA set its own).
    threshold_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    window_school_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    # First notice: the lower amount if paid within the lower period, else the full amount within the full one.
    first_lower_pence = models.PositiveIntegerField()
    first_lower_days = models.PositiveSmallIntegerField()
    first_full_pence = models.PositiveIntegerField()
    first_full_days = models.PositiveSmallIntegerField()
    # A second notice to the same parent for the same child within `repeat_years` of the first.
    second_pence = models.PositiveIntegerField(null=True, blank=True)
    second_days = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_years = models.PositiveSmallIntegerField(null=True, blank=True)
    # At most this many notices per parent per child within `repeat_years`; empty: no national limit.
    most_notices = models.PositiveSmallIntegerField(null=True, blank=True)
    counts_toward_limit = models.BooleanField(default=True)
    notice_to_improve_min_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    notice_to_improve_max_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "effective_from"], name="framework_one_per_kind_and_day"),
            models.CheckConstraint(
                condition=models.Q(threshold_sessions__isnull=True, window_school_weeks__isnull=True)
                | models.Q(threshold_sessions__gt=0, window_school_weeks__gt=0),
                name="framework_threshold_whole"),
            models.CheckConstraint(
                condition=models.Q(first_lower_days__lte=models.F("first_full_days")),
                name="framework_lower_period_first"),
        ]
        ordering = ["kind", "effective_from"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from:%-d %b %Y})"

    @staticmethod
    def pounds(pence: int | None) -> str:
        return "" if pence is None else f"£{pence / 100:,.0f}" if pence % 100 == 0 else f"£{pence / 100:,.2f}"
