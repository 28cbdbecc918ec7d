"""The National Framework for penalty notices, as effective-dated rows (dfe-rules §4).

A framework row is in force from its `effective_from` until the next row of the same kind. Anything
worked out for a day (the penalty-threshold signal, a notice's amounts) reads the row in force on that
day, so a new framework from a later date never rewrites what was found before it. The rows are
seeded by a data migration; they are reference data for every school, not school-owned.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from attendance_portal.tenancy import SchoolOwned


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
    referral = models.ForeignKey("Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Raised by the nightly check once the last deadline has passed unpaid; the officer then decides.
    overdue_since = models.DateField(null=True, blank=True)
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


# ---------------------------------------------------------------- the local authority as a tenant


class LocalAuthority(models.Model):
    """A local authority: a tenant of its own, with the settings of its code of conduct.

    Its schools are those whose `School.local_authority` is its `name` (the text a school was set up
    with), so a school needs no new column to belong to one. Its pages live under `/la/<code>/`.
    """

    class NoticeIssuer(models.TextChoices):
        SCHOOL = "school", "The school issues notices to improve"
        LA = "la", "The local authority issues notices to improve"

    class CertificatePeriod(models.TextChoices):
        LAST_SESSIONS = "last_sessions", "The last N possible sessions"
        THIS_AND_LAST_YEAR = "this_and_last_year", "This school year and the last"

    code = models.SlugField(max_length=20, unique=True, help_text="Used in the address: /la/<code>/.")
    name = models.CharField(max_length=120, unique=True, help_text="As schools name it (School.local_authority).")
    # Notice to improve (dfe-rules §4.3): a period inside the framework's range; some LAs fix one length.
    nti_weeks = models.PositiveSmallIntegerField("notice-to-improve period (school weeks)", default=6)
    nti_weeks_fixed = models.BooleanField("the period is fixed", default=False)
    nti_issued_by = models.CharField(max_length=8, choices=NoticeIssuer.choices, default=NoticeIssuer.SCHOOL)
    # Unauthorised sessions the pupil may have in the period and still have improved sufficiently.
    nti_allowed_sessions = models.PositiveSmallIntegerField(default=0)
    referral_deadline_school_days = models.PositiveSmallIntegerField(
        default=10, help_text="School days after the notice-to-improve period (or the consideration) to refer.")
    pack_items = models.JSONField(default=list, blank=True, help_text="Keys of PACK_ITEMS the pack must contain.")
    certificate_period = models.CharField(max_length=20, choices=CertificatePeriod.choices,
                                          default=CertificatePeriod.LAST_SESSIONS)
    certificate_sessions = models.PositiveSmallIntegerField(default=60)
    # Term-time holidays (G) may be referred without a notice to improve where the code of conduct says so.
    holiday_straight_to_referral = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "local authorities"
        constraints = [
            models.CheckConstraint(condition=models.Q(nti_weeks__gte=1), name="la_nti_weeks_positive"),
            models.CheckConstraint(condition=models.Q(certificate_sessions__gte=1), name="la_certificate_sessions"),
        ]

    def __str__(self) -> str:
        return self.name


class LAOfficer(models.Model):
    """A person's role in one local authority: all they see of any school is the referrals made to it."""

    class Role(models.TextChoices):
        ATTENDANCE = "attendance", "Attendance officer"
        PENALTY = "penalty", "Penalty-notice officer"

    local_authority = models.ForeignKey(LocalAuthority, on_delete=models.CASCADE, related_name="officers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="la_roles")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["local_authority", "user", "role"], name="la_officer_unique")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.local_authority}"


# ---------------------------------------------------------------- at the school


class Consideration(SchoolOwned):
    """The school's consideration of a penalty notice once a pupil met the threshold (dfe-rules §4.1):
    the decision, the framework's questions answered, the context review as it was shown, and who
    approved it. Never changed once written: a new consideration replaces an old one."""

    class Decision(models.TextChoices):
        SUPPORT_FIRST = "support_first", "Support first"
        NOTICE_TO_IMPROVE = "notice_to_improve", "Notice to improve"
        REFER = "refer", "Refer for a penalty notice"
        NOT_APPROPRIATE = "not_appropriate", "A penalty notice is not appropriate"

    class Support(models.TextChoices):
        NOT_ENGAGED = "not_engaged", "Support was offered and not engaged with"
        NOT_WORKED = "not_worked", "Support was offered and has not worked"
        INAPPROPRIATE = "inappropriate", "Support is inappropriate (for example a term-time holiday)"
        NOT_YET = "not_yet", "Support has not been offered yet"

    case = models.ForeignKey("interventions.Case", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    local_authority = models.ForeignKey(LocalAuthority, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=20, choices=Decision.choices)
    support = models.CharField(max_length=16, choices=Support.choices)
    other_step_better = models.TextField("Would another step change the parents' behaviour?")
    equality = models.TextField("Equality Act duties considered")
    term_time_holiday = models.BooleanField(default=False)
    reasons = models.TextField()
    context = models.JSONField(default=dict, help_text="The context review as it was shown.")
    sessions = models.JSONField(default=list, help_text="The threshold's sessions as they were.")
    decided_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.decided_at:%-d %b %Y})"


class NoticeToImprove(SchoolOwned):
    """A notice to improve (dfe-rules §4.3): a letter to each parent, a period in school weeks and the
    number of unauthorised sessions that still counts as sufficient improvement, checked every day."""

    class Status(models.TextChoices):
        ACTIVE = "active", "In its improvement period"
        IMPROVED = "improved", "Improved sufficiently"
        NOT_IMPROVED = "not_improved", "Did not improve sufficiently"
        GROUNDS_AGAIN = "grounds_again", "Grounds for a penalty notice arose again in the period"

    case = models.ForeignKey("interventions.Case", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    enrolment = models.ForeignKey("registers.Enrolment", on_delete=models.PROTECT, related_name="+")
    consideration = models.ForeignKey(Consideration, on_delete=models.PROTECT, related_name="+")
    local_authority = models.ForeignKey(LocalAuthority, on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField()
    weeks = models.PositiveSmallIntegerField()
    ends_on = models.DateField()
    allowed_sessions = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    sessions_so_far = models.PositiveSmallIntegerField(default=0)
    checked_on = models.DateField(null=True, blank=True)
    outcome_on = models.DateField(null=True, blank=True)
    letter_ids = models.JSONField(default=list, blank=True)
    # Who gave it: the school, or the local authority where its code of conduct says the LA gives them
    # (then `approved_by` is the LA's officer).
    issuer = models.CharField(max_length=8, choices=LocalAuthority.NoticeIssuer.choices,
                              default=LocalAuthority.NoticeIssuer.SCHOOL)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-issued_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gt=models.F("issued_on")), name="nti_period_ends_later"),
            models.UniqueConstraint(fields=["school", "case"], condition=models.Q(status="active"),
                                    name="nti_one_active_per_case"),
        ]

    def __str__(self) -> str:
        return f"Notice to improve {self.issued_on:%-d %b %Y} to {self.ends_on:%-d %b %Y}"


class Referral(SchoolOwned):
    """A school's referral of a pupil's parents to its local authority for a penalty notice.

    School-owned (it is the school's casework and carries `school`); the local authority reads it in its
    own workspace through `local_authority`, which is all its officers can reach of the school.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting for the headteacher"
        AUTHORISED = "authorised", "Authorised: pack to build and submit"
        SUBMITTED = "submitted", "Submitted to the local authority"
        RETURNED = "returned", "Returned to the school"
        ACCEPTED = "accepted", "Accepted by the local authority"
        DECLINED = "declined", "Declined by the local authority"

    case = models.ForeignKey("interventions.Case", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    consideration = models.ForeignKey(Consideration, on_delete=models.PROTECT, related_name="+")
    notice_to_improve = models.ForeignKey(NoticeToImprove, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    local_authority = models.ForeignKey(LocalAuthority, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    made_at = models.DateTimeField(default=timezone.now)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The head's authorisation: the headteacher, or a deputy or assistant head they authorised.
    authorised_at = models.DateTimeField(null=True, blank=True)
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    authorised_as = models.CharField(max_length=120, blank=True)
    # The parents (with parental responsibility) as referred: [{guardian_id, name}].
    parents = models.JSONField(default=list)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    missing = models.JSONField(default=list, blank=True, help_text="What the completeness check found missing.")
    incomplete_reason = models.TextField(blank=True)
    # The local authority's answer.
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answer = models.TextField(blank=True, help_text="What is missing, or why it was declined.")

    class Meta:
        ordering = ["-made_at", "-pk"]
        indexes = [models.Index(fields=["local_authority", "status"], name="referral_inbox")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(authorised_by__isnull=True) | models.Q(authorised_at__isnull=False),
                name="referral_authorised_when"),
            models.CheckConstraint(
                condition=~models.Q(status__in=["submitted", "accepted", "declined", "returned"])
                | models.Q(authorised_by__isnull=False, submitted_at__isnull=False),
                name="referral_submitted_after_authorised"),
            models.CheckConstraint(
                condition=~models.Q(status__in=["returned", "declined"]) | ~models.Q(answer=""),
                name="referral_answer_given"),
        ]

    def __str__(self) -> str:
        return f"Referral {self.pk} to {self.local_authority_id}"


class HeadDelegate(SchoolOwned):
    """A deputy or assistant head the headteacher authorised to authorise penalty-notice referrals."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.CharField(max_length=60, help_text="Deputy headteacher or assistant headteacher.")
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    authorised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "user"], name="head_delegate_unique")]

    def __str__(self) -> str:
        return f"{self.user} may authorise referrals"


class EvidencePack(SchoolOwned):
    """The evidence pack of one submission of a referral: its data frozen when the school submitted it, and
    the files a task made from that data (one PDF for the child, a ZIP of the same data as CSV). A referral
    the LA returned and the school submits again gets a new pack; a pack is never rebuilt from newer data."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be built"
        BUILDING = "building", "Being built"
        BUILT = "built", "Built"
        FAILED = "failed", "Could not be built"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="packs")
    data = models.JSONField(help_text="Everything in the pack, as it was when the referral was submitted.")
    file_stem = models.CharField(max_length=80, help_text="Letters, digits, hyphens and underscores only.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(default=timezone.now)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    pdf = models.CharField(max_length=255, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    zip = models.CharField(max_length=255, blank=True)
    zip_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(file_stem__regex=r"^[A-Za-z0-9_-]+$"), name="pack_safe_name"),
            models.CheckConstraint(condition=~models.Q(status="built") | (~models.Q(pdf="") & ~models.Q(zip="")),
                                   name="pack_built_has_files"),
        ]

    def __str__(self) -> str:
        return f"Evidence pack {self.pk} of referral {self.referral_id}"
