"""Parent absence reports, leave requests, first-day contact attempts, medical evidence and sent messages.

Every table carries its own `school` (fail-closed scoped manager) and every unique constraint includes it.
Marks are never written from here directly: accepting a report or deciding a request goes through
`registers.services.marks_save`, which keeps the amendment trail.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from attendance_portal.tenancy import SchoolOwned
from registers.models import Guardian, Pupil, PupilContact


class Sessions(models.TextChoices):
    BOTH = "BOTH", "Whole day"
    AM = "AM", "Morning only"
    PM = "PM", "Afternoon only"

    def covers(self, session: str) -> bool:
        return self == Sessions.BOTH or self == session


class FamilyRequest(SchoolOwned):
    """What a parent's absence report and leave request share: a reference, dates and a decision."""

    REFERENCE_PREFIX = ""  # a reference is given when the row is made (`absence.services.reference_new`)

    reference = models.CharField(max_length=12, default="")
    first_date = models.DateField()
    last_date = models.DateField()
    sessions = models.CharField(max_length=4, choices=Sessions.choices, default=Sessions.BOTH)
    guardian = models.ForeignKey(Guardian, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["school", "reference"], name="%(class)s_unique_reference"),
            models.CheckConstraint(condition=Q(last_date__gte=models.F("first_date")),
                                   name="%(class)s_last_not_before_first"),
        ]
        indexes = [models.Index(fields=["school", "status", "first_date"])]

    def __str__(self) -> str:
        return self.reference


class AbsenceReport(FamilyRequest):
    """A parent telling the school a child is (or will be) absent; the office accepts or rejects it."""

    REFERENCE_PREFIX = "A"

    class Category(models.TextChoices):
        ILLNESS = "illness", "Illness"
        APPOINTMENT = "appointment", "Medical or dental appointment"
        RELIGIOUS = "religious", "Religious observance"
        OTHER = "other", "Other reason"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the school"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Not accepted"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="absence_reports")
    category = models.CharField(max_length=20, choices=Category.choices)
    message = models.TextField(max_length=2000, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    late = models.BooleanField(default=False, help_text="Sent after the school's reporting cut-off.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    code = models.CharField(max_length=2, blank=True, help_text="Code recorded when accepted.")

    class Meta(FamilyRequest.Meta):
        pass


class LeaveRequest(FamilyRequest):
    """A request for leave of absence, decided by the headteacher (2024 regulations, reg. 11)."""

    REFERENCE_PREFIX = "L"

    class Circumstance(models.TextChoices):
        PERFORMANCE = "performance", "Regulated performance or employment abroad"
        INTERVIEW = "interview", "Interview for a job or another school or college"
        STUDY = "study", "Study leave for a public examination"
        PART_TIME = "part_time", "Temporary part-time timetable"
        EXCEPTIONAL = "exceptional", "Exceptional circumstances"

    # The code each granted circumstance is recorded with (dfe-rules §5).
    CODES = {"performance": "C1", "interview": "J1", "study": "S", "part_time": "C2", "exceptional": "C"}

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the headteacher"
        GRANTED = "granted", "Granted"
        REFUSED = "refused", "Refused"
        TAKEN = "taken", "Refused, taken anyway (recorded as G)"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="leave_requests")
    circumstance = models.CharField(max_length=20, choices=Circumstance.choices)
    reason = models.TextField(max_length=3000)
    evidence = models.FileField(upload_to="absence/evidence/%Y/%m/", blank=True)
    evidence_name = models.CharField(max_length=200, blank=True)
    evidence_type = models.CharField(max_length=40, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    granted_circumstance = models.CharField(max_length=20, choices=Circumstance.choices, blank=True)
    taken_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta(FamilyRequest.Meta):
        pass

    @property
    def family_status(self) -> str:
        """The status as the family reads it: the register code behind "taken" means nothing to them."""
        if self.status == self.Status.TAKEN:
            return "Refused; the days away were recorded as unauthorised absence"
        return self.get_status_display()


class ContactAttempt(SchoolOwned):
    """One entry of the first-day calling log: who tried to reach whom, how, and what happened."""

    class Method(models.TextChoices):
        CALL = "call", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"
        HOME_VISIT = "home_visit", "Home visit"

    class Outcome(models.TextChoices):
        REASON_GIVEN = "reason_given", "Spoke to them: reason given"
        NO_REASON = "no_reason", "Spoke to them: no reason given"
        NO_ANSWER = "no_answer", "No answer"
        MESSAGE_LEFT = "message_left", "Message left"
        WRONG_NUMBER = "wrong_number", "Wrong or unavailable number"
        NOBODY_HOME = "nobody_home", "Nobody at home"
        SENT = "sent", "Sent"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="contact_attempts")
    contact = models.ForeignKey(PupilContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    absence_date = models.DateField(help_text="The day of absence being followed up.")
    method = models.CharField(max_length=12, choices=Method.choices)
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, help_text="When the entry was made.")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["school", "absence_date"])]


class MedicalEvidenceRequest(SchoolOwned):
    """Raised when illness runs past the school's limit; the office records whether evidence arrived."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received"
        NOT_RECEIVED = "not_received", "Not received"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="medical_evidence_requests")
    illness_from = models.DateField(help_text="First day of the run of illness.")
    days = models.PositiveSmallIntegerField(help_text="Consecutive school days of illness when raised.")
    raised_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.REQUESTED)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # One request per run of illness, so a nightly re-check never asks twice.
            models.UniqueConstraint(fields=["school", "pupil", "illness_from"], name="medicalevidence_unique_run"),
        ]


class SentMessage(SchoolOwned):
    """Every message to a family, whatever the channel: written with the action, sent by a task.

    The row is the request to send and the record of what was said. A worker claims it by
    compare-and-set (QUEUED -> SENDING, with a lease), so a redelivered or swept task never sends it
    twice; a claim whose worker died runs out and the sweeper hands the row to a worker again.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Parent portal invitation"
        RECEIPT = "receipt", "Absence report receipt"
        REPORT_DECIDED = "report_decided", "Absence report decided"
        LEAVE_RECEIPT = "leave_receipt", "Leave request receipt"
        LEAVE_DECIDED = "leave_decided", "Leave request decided"
        UNEXPLAINED = "unexplained", "Absence not reported"
        MEDICAL_EVIDENCE = "medical_evidence", "Medical evidence requested"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent"

    pupil = models.ForeignKey(Pupil, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey(Guardian, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=6, choices=Channel.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # The day a once-a-day message is about (an unexplained absence, the start of a run of illness).
    # With it set, the database allows one message per pupil, kind, day, channel and recipient.
    about_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a task for it was last sent, or when its next try is due; empty when the queue could not
    # be reached, so the next sweep sends it at once.
    enqueued_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["school", "kind", "about_date"]),
            models.Index(fields=["status", "enqueued_at"], name="sentmessage_waiting",
                         condition=Q(status__in=["queued", "sending"])),
        ]
        constraints = [
            models.UniqueConstraint(fields=["school", "pupil", "kind", "about_date", "channel", "to"],
                                    condition=Q(about_date__isnull=False), name="sentmessage_once_a_day"),
        ]
