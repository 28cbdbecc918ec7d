"""The National Framework for penalty notices, as effective-dated rows (dfe-rules §4).

A framework row is in force from its `effective_from` until the next row of the same kind. Anything
worked out for a day (the penalty-threshold signal, a notice's amounts) reads the row in force on that
day, so a new framework from a later date never rewrites what was found before it. The rows are
seeded by a data migration; they are reference data for every school, not school-owned.
"""
from __future__ import annotations

from django.conf import settings
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


class NoticeStatus(models.TextChoices):
    ISSUED = "issued", "Issued, unpaid"
    PAID = "paid", "Paid"
    WITHDRAWN = "withdrawn", "Withdrawn"
    PROSECUTED = "prosecuted", "Unpaid, prosecuted"


class PenaltyNotice(models.Model):
    """One penalty notice in a local authority's ledger, to one parent for one child.

    The local authority's record, not a school's: a notice follows the parent and child across schools
    (matched on the child's UPN and the parent's normalised name), so it is not school-owned; `school`
    says which school's referral it came from, if any. The amounts and deadlines are those of the
    framework row in force on the day of issue, frozen here: a later framework never changes them.
    """

    local_authority = models.CharField(max_length=120)
    number = models.CharField(max_length=40)
    school = models.ForeignKey(
        "attendance_portal.School", null=True, blank=True, on_delete=models.PROTECT, related_name="penalty_notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    child_upn = models.CharField("child's UPN", max_length=13)
    child_name = models.CharField(max_length=200)
    parent_name = models.CharField(max_length=200)
    # The same real parent at two schools is two Guardian rows; this key is what matches them.
    parent_key = models.CharField(max_length=200)
    guardian = models.ForeignKey(
        "registers.Guardian", null=True, blank=True, on_delete=models.SET_NULL, related_name="penalty_notices")
    issued_on = models.DateField()
    framework = models.ForeignKey(NationalFramework, on_delete=models.PROTECT, related_name="notices")
    # 1 for a first notice, 2 for a second within the repeat period; empty for notices outside the count.
    ordinal = models.PositiveSmallIntegerField(null=True, blank=True)
    # As issued: the lower amount and its deadline (first notices only) and the full amount and its deadline.
    lower_pence = models.PositiveIntegerField(null=True, blank=True)
    lower_due_on = models.DateField(null=True, blank=True)
    full_pence = models.PositiveIntegerField()
    full_due_on = models.DateField()
    status = models.CharField(max_length=12, choices=NoticeStatus.choices, default=NoticeStatus.ISSUED)
    paid_on = models.DateField(null=True, blank=True)
    paid_pence = models.PositiveIntegerField(null=True, blank=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    prosecuted_on = models.DateField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="penalty_notices_issued")
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issued_on", "id"]
        indexes = [models.Index(fields=["child_upn", "parent_key", "issued_on"], name="notice_ledger_idx")]
        constraints = [
            models.UniqueConstraint(fields=["local_authority", "number"], name="notice_unique_number_per_la"),
            models.CheckConstraint(condition=~models.Q(local_authority="") & ~models.Q(number=""),
                                   name="notice_la_and_number_given"),
            models.CheckConstraint(condition=~models.Q(child_upn="") & ~models.Q(parent_key=""),
                                   name="notice_child_and_parent_given"),
            models.CheckConstraint(
                condition=models.Q(full_pence__gt=0) & models.Q(full_due_on__gt=models.F("issued_on")),
                name="notice_full_amount_and_deadline"),
            models.CheckConstraint(
                condition=models.Q(lower_pence__isnull=True, lower_due_on__isnull=True)
                | models.Q(lower_pence__gt=0, lower_pence__lt=models.F("full_pence"),
                           lower_due_on__gt=models.F("issued_on"), lower_due_on__lte=models.F("full_due_on")),
                name="notice_lower_amount_whole"),
            models.CheckConstraint(
                condition=models.Q(kind=NoticeKind.ATTENDANCE, ordinal__gte=1)
                | models.Q(kind=NoticeKind.EXCLUDED_IN_PUBLIC, ordinal__isnull=True),
                name="notice_ordinal_for_attendance_only"),
            models.CheckConstraint(
                condition=models.Q(status=NoticeStatus.PAID, paid_on__isnull=False, paid_pence__gt=0)
                | (~models.Q(status=NoticeStatus.PAID) & models.Q(paid_on__isnull=True, paid_pence__isnull=True)),
                name="notice_paid_has_payment"),
            models.CheckConstraint(
                condition=models.Q(status=NoticeStatus.WITHDRAWN, withdrawn_on__isnull=False)
                & ~models.Q(withdrawal_reason="")
                | (~models.Q(status=NoticeStatus.WITHDRAWN)
                   & models.Q(withdrawn_on__isnull=True, withdrawal_reason="")),
                name="notice_withdrawn_has_reason"),
            models.CheckConstraint(
                condition=models.Q(status=NoticeStatus.PROSECUTED, prosecuted_on__isnull=False)
                | (~models.Q(status=NoticeStatus.PROSECUTED) & models.Q(prosecuted_on__isnull=True)),
                name="notice_prosecuted_has_date"),
            models.CheckConstraint(
                condition=models.Q(paid_on__isnull=True) | models.Q(paid_on__gte=models.F("issued_on")),
                name="notice_paid_after_issue"),
        ]

    def __str__(self) -> str:
        return f"{self.local_authority} notice {self.number} ({self.issued_on:%-d %b %Y})"
