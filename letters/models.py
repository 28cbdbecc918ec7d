"""Letter templates (per school, per kind, versioned, per language), letters and their sends.

A letter is one PDF for one recipient. It keeps the exact template version it was built from, the
merge data frozen at the moment it was requested, and the sessions that caused it as they were then
(`LetterSession`, which a database trigger watches: amending one of those marks makes an unsent letter
out of date and a sent one show that its evidence has changed). Every send is a `LetterSend` row,
unique per letter and channel, so a retried task never sends twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from attendance_portal.tenancy import SchoolOwned
from registers.models import Guardian, Pupil


class LetterKind(models.TextChoices):
    STAGE_1 = "stage_1", "Stage 1: first concern"
    STAGE_2 = "stage_2", "Stage 2: attendance not yet improving"
    STAGE_3 = "stage_3", "Stage 3: invitation to an attendance meeting"
    STAGE_4 = "stage_4", "Stage 4: attendance still a concern"
    STAGE_5 = "stage_5", "Stage 5: meeting not attended"
    PUNCTUALITY = "punctuality", "Punctuality"
    PRAISE = "praise", "Praise for improved attendance"
    MEETING_INVITATION = "meeting_invitation", "Meeting invitation"
    MEETING_REARRANGED = "meeting_rearranged", "Meeting rearranged"
    DID_NOT_ATTEND = "did_not_attend", "Meeting not attended"
    CONTRACT = "contract", "Attendance contract"
    ACTION_PLAN = "action_plan", "Action plan"
    NOTICE_TO_IMPROVE = "notice_to_improve", "Notice to improve"
    WARNING = "warning", "Warning: no improvement"
    LEAVE_GRANTED = "leave_granted", "Leave of absence granted"
    LEAVE_REFUSED = "leave_refused", "Leave of absence refused"
    MEDICAL_EVIDENCE = "medical_evidence", "Medical evidence request"
    LA_REFERRAL = "la_referral", "Referral to the local authority (cover letter)"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    POLISH = "pl", "Polish"
    ROMANIAN = "ro", "Romanian"
    URDU = "ur", "Urdu"
    PUNJABI = "pa", "Punjabi"
    BENGALI = "bn", "Bengali"
    ARABIC = "ar", "Arabic"
    PORTUGUESE = "pt", "Portuguese"
    SPANISH = "es", "Spanish"
    SOMALI = "so", "Somali"
    WELSH = "cy", "Welsh"


class Letterhead(SchoolOwned):
    """What a school prints at the top and bottom of its letters."""

    address = models.TextField(blank=True, help_text="One line per line of the address.")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    headteacher = models.CharField(max_length=120, blank=True)
    attendance_lead = models.CharField(max_length=120, blank=True)
    attendance_lead_role = models.CharField(max_length=120, blank=True, default="Senior attendance champion")
    logo = models.FileField(upload_to="letters/logos/", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school"], name="letterhead_one_per_school")]


class RecipientDetails(SchoolOwned):
    """A parent's language for letters and whether their e-mail address is known to be current (the postal
    address is the guardian's own, kept with their other contact details)."""

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    email_current = models.BooleanField(
        default=True, help_text="Off when e-mail to this address has bounced or the parent says it is old."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "guardian"], name="recipientdetails_one")]


class LetterTemplate(SchoolOwned):
    """One version of one school's letter of one kind in one language. Saving makes a new version."""

    kind = models.CharField(max_length=24, choices=LetterKind.choices)
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain paragraphs with {{ merge fields }}.")
    reply_slip = models.BooleanField(default=False, help_text="Print a reply slip at the foot of the letter.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["school", "kind", "language", "version"], name="lettertemplate_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language}, v{self.version})"


class LetterBatch(SchoolOwned):
    """Letters approved together: rendered, sent, and the posted ones merged into one print file."""

    class Status(models.TextChoices):
        RUNNING = "running", "Rendering and sending"
        MERGING = "merging", "Making the print file"
        DONE = "done", "Done"

    kind = models.CharField(max_length=24, choices=LetterKind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    print_file = models.CharField(max_length=255, blank=True, help_text="Storage name of the merged print PDF.")
    print_sha256 = models.CharField(max_length=64, blank=True)
    print_letters = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["school", "status"])]


class Letter(SchoolOwned):
    """One letter to one recipient, from one exact template version and frozen merge data."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be made"
        RENDERING = "rendering", "Being made"
        RENDERED = "rendered", "Made, waiting to be sent"
        SENT = "sent", "Sent"
        STALE = "stale", "Out of date: a session behind it has changed"
        FAILED = "failed", "Could not be made"
        CANCELLED = "cancelled", "Cancelled"

    UNSENT = (Status.QUEUED, Status.RENDERING, Status.RENDERED)

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="letters")
    guardian = models.ForeignKey(Guardian, null=True, blank=True, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(max_length=24, choices=LetterKind.choices)
    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT, related_name="letters")
    language = models.CharField(max_length=5, default="en")
    merge_data = models.JSONField(help_text="The merge fields exactly as they were when the letter was requested.")
    sessions = models.JSONField(default=list, help_text="The sessions that caused it: [date, session, code].")
    case_ref = models.CharField(max_length=80, blank=True, help_text="What asked for it, e.g. 'case:12'.")
    batch = models.ForeignKey(LetterBatch, on_delete=models.PROTECT, related_name="letters")
    envelope_order = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(default=timezone.now, help_text="When a task for it was last sent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    pdf = models.CharField(max_length=255, blank=True, help_text="Storage name of the PDF; never rewritten.")
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    evidence_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a session behind this letter was amended after it was requested."
    )
    warnings = models.JSONField(default=list, blank=True, help_text="Merge fields that were empty.")

    class Meta:
        ordering = ["-created_at", "envelope_order"]
        indexes = [
            models.Index(fields=["school", "status"]),
            models.Index(fields=["school", "pupil"]),
            models.Index(fields=["school", "created_at"]),
            models.Index(fields=["batch", "envelope_order"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status="sent") | Q(sent_at__isnull=True),
                                   name="letter_sent_at_only_when_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.merge_data.get('pupil', {}).get('name', self.pupil_id)}"

    @property
    def recipient_name(self) -> str:
        return str(self.merge_data.get("parent", {}).get("name", ""))


class LetterSession(SchoolOwned):
    """A session behind a letter as it was then: the trigger on the marks table watches these."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="+")
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    session = models.CharField(max_length=2)
    code = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["school", "pupil", "date", "session"])]


class LetterSend(SchoolOwned):
    """One delivery of one letter by one channel: unique, so a retry never sends twice."""

    class Channel(models.TextChoices):
        PORTAL = "portal", "Parent portal"
        EMAIL = "email", "E-mail"
        POST = "post", "Post"

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="sends")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    to = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField()
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ok = models.BooleanField(default=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["sent_at"]
        constraints = [models.UniqueConstraint(fields=["school", "letter", "channel"], name="lettersend_once")]
