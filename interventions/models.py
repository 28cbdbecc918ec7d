"""Attendance casework: each school's intervention ladder as data, cases, their append-only timeline,
meetings, attendance contracts and action plans, support and statutory clocks.

A ladder is effective-dated: a change is a new ladder from a day, so a case's history keeps the stage rows
it was on. A case is one enrolment's casework; at most one is open (or monitoring) per enrolment, which a
partial unique index enforces. The timeline (`CaseEvent`) refuses UPDATE and DELETE in the database, and
every event stores the sessions behind it as they were when it was written.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from attendance_portal.roles import Role
from attendance_portal.tenancy import SchoolOwned
from reporting.models import SignalKind


class PlanKind(models.TextChoices):
    NONE = "", "None"
    CONTRACT = "contract", "Attendance contract"
    ACTION_PLAN = "action_plan", "Attendance action plan"


class Ladder(SchoolOwned):
    """A school's intervention policy from `effective_from` until the next ladder starts."""

    name = models.CharField(max_length=120)
    effective_from = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    # Letters outside the stages.
    punctuality_letter = models.CharField(max_length=120, blank=True,
                                          help_text="Letter proposed when a punctuality signal starts.")
    praise_letter = models.CharField(max_length=120, blank=True,
                                     help_text="Letter proposed when a pupil on a case has recovered.")
    # Hold rules: a formal action is held for review, and support proposed instead, when one applies.
    hold_illness_share = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hold when at least this % of the absence is illness or medical (I, M).")
    hold_sen = models.BooleanField(default=True, help_text="Hold for pupils with SEN support or an EHCP.")
    hold_social_worker = models.BooleanField(default=True, help_text="Hold for pupils with a social worker.")
    hold_looked_after = models.BooleanField(default=True)

    class Meta:
        ordering = ["-effective_from"]
        constraints = [models.UniqueConstraint(fields=["school", "effective_from"], name="ladder_one_per_day")]

    def __str__(self) -> str:
        return f"{self.name} from {self.effective_from:%d %b %Y}"


class LadderStage(SchoolOwned):
    """One step of a ladder: when a case enters it, what it offers, who may move a case on."""

    ladder = models.ForeignKey(Ladder, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    # Entry: any of these signal kinds (empty: only by moving on from the stage before).
    entry_kinds = models.JSONField(default=list, blank=True)
    entry_below_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True,
                                              help_text="Enter when attendance is below this %.")
    # Offered actions.
    letter = models.CharField(max_length=120, blank=True, help_text="Letter sent at this stage.")
    meeting_type = models.CharField(max_length=120, blank=True)
    plan = models.CharField(max_length=12, choices=PlanKind.choices, blank=True)
    review_after_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    extend_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    referral = models.CharField(max_length=160, blank=True)
    notice = models.CharField(max_length=120, blank=True, help_text="A notice this stage may give.")
    # Who may move a case on from this stage, and when it should move.
    movers = models.JSONField(default=list, blank=True, help_text="Roles that may move a case on.")
    escalate_after_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Propose the next stage after this many school weeks without improvement.")
    escalate_on_did_not_attend = models.BooleanField(default=False)

    class Meta:
        ordering = ["ladder_id", "position"]
        constraints = [models.UniqueConstraint(fields=["school", "ladder", "position"], name="stage_unique_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def may_move(self, roles: frozenset[Role]) -> bool:
        return not self.movers or bool({r.value for r in roles} & set(self.movers))

    @property
    def entry_label(self) -> str:
        """The concerns that enter the stage, in words."""
        return ", ".join(str(SignalKind(k).label) for k in self.entry_kinds if k in SignalKind.values)

    @property
    def movers_label(self) -> str:
        """Who may move a case on, in words ('' for anyone working the case)."""
        return ", ".join(Role(r).label.lower() for r in self.movers if r in Role.values)


class PupilContext(SchoolOwned):
    """What the register does not hold and a context review needs. The safeguarding flag says only that a
    note exists elsewhere; its content never comes here."""

    pupil = models.OneToOneField("registers.Pupil", on_delete=models.CASCADE, related_name="+")
    young_carer = models.BooleanField(default=False)
    health_plan = models.BooleanField("Individual healthcare plan", default=False)
    safeguarding_flag = models.BooleanField("Open safeguarding note", default=False)

    def __str__(self) -> str:
        return f"context of {self.pupil_id}"


class Concern(SchoolOwned):
    """The state of one kind of concern for one enrolment as casework last saw it (one row per pair, not
    per signal row: a signal whose start moves is replaced, the concern stays)."""

    enrolment = models.ForeignKey("registers.Enrolment", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40, choices=SignalKind.choices)
    active = models.BooleanField(default=True)
    since = models.DateField()
    sessions = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "enrolment", "kind"], name="concern_unique_kind")]
        indexes = [models.Index(fields=["school", "active", "kind"], name="concern_active")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.enrolment_id}"


class SignalChange(SchoolOwned):
    """A pair (enrolment, kind) whose signal was written: filled by a trigger on the signals table in the
    statistics run's own transaction, emptied by `cases_sync` in its own, so no change is lost or read
    twice."""

    school = models.ForeignKey("attendance_portal.School", on_delete=models.DO_NOTHING, related_name="+",
                               db_constraint=False)
    enrolment_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)

    def __str__(self) -> str:
        return f"{self.kind} of {self.enrolment_id}"


class Case(SchoolOwned):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MONITORING = "monitoring", "Monitoring"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        IMPROVED = "improved", "Improved"
        LEFT = "left", "Left the school"
        REFERRED = "referred", "Referred to the local authority"
        OTHER = "other", "Other"

    enrolment = models.ForeignKey("registers.Enrolment", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    stage = models.ForeignKey(LadderStage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stage_since = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    opened_on = models.DateField(default=timezone.localdate)
    opened_reason = models.CharField(max_length=300)
    closed_on = models.DateField(null=True, blank=True)
    # Set by the nightly sync when every concern behind the case has ended: close, or praise.
    improved = models.BooleanField(default=False)
    next_due = models.DateField(null=True, blank=True)
    next_action = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["school", "enrolment"], condition=~Q(status="closed"),
                                    name="case_one_open_per_enrolment"),
            models.CheckConstraint(condition=Q(status="closed") | Q(outcome=""), name="case_outcome_only_closed"),
        ]
        indexes = [models.Index(fields=["school", "status"], name="case_school_status")]

    def __str__(self) -> str:
        return f"case {self.pk} of {self.pupil_id}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class EventKind(models.TextChoices):
    OPENED = "opened", "Case opened"
    SIGNAL_RAISED = "signal_raised", "Concern raised"
    SIGNAL_ENDED = "signal_ended", "Concern ended"
    STAGE = "stage", "Stage changed"
    CONTEXT_REVIEW = "context_review", "Context reviewed"
    LETTER = "letter", "Letter"
    CALL = "call", "Phone call"
    HOME_VISIT = "home_visit", "Home visit"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"
    CONTRACT = "contract", "Contract or plan"
    REVIEW = "review", "Review"
    SUPPORT = "support", "Support"
    NOTICE = "notice", "Notice"
    REFERRAL = "referral", "Referral"
    CLOCK = "clock", "Statutory task"
    OWNER = "owner", "Owner changed"
    STATUS = "status", "Status changed"
    CLOSED = "closed", "Case closed"


class CaseEvent(SchoolOwned):
    """One line of a case's timeline, never changed once written. `sessions` holds the sessions behind it
    as they were then: [[date, "AM"|"PM", code], ...]."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+")
    title = models.CharField(max_length=200)
    why = models.TextField(blank=True)
    status = models.CharField(max_length=20, blank=True, help_text="For letters: to send, held, sent.")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    sessions = models.JSONField(default=list, blank=True)
    figures = models.JSONField(default=dict, blank=True, help_text="Attendance when the event was written.")
    detail = models.JSONField(default=dict, blank=True)
    # Events written by the nightly sync carry a key so a redelivered run cannot write them twice.
    key = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["school", "key"], condition=~Q(key=""),
                                               name="case_event_unique_key")]
        indexes = [models.Index(fields=["school", "case", "at"], name="case_event_timeline")]
        # Append-only in the database: a trigger refuses UPDATE and DELETE (interventions/migrations/0004_*).

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"


class Action(SchoolOwned):
    """A formal action proposed on a case (letter, meeting invitation, contract, notice, referral). It goes
    out only after a person has seen the pupil's context and approved it; the approver is named."""

    class Kind(models.TextChoices):
        LETTER = "letter", "Letter"
        INVITATION = "invitation", "Meeting invitation"
        CONTRACT = "contract", "Contract or plan for signature"
        NOTICE = "notice", "Notice to improve"
        REFERRAL = "referral", "Referral"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        HELD = "held", "Held for review"
        TO_SEND = "to_send", "Approved: to send"
        SENT = "sent", "Sent"
        REPLACED = "replaced", "Support recorded instead"
        WITHDRAWN = "withdrawn", "Withdrawn"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(max_length=160)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    hold_reasons = models.JSONField(default=list, blank=True)
    proposed_at = models.DateTimeField(default=timezone.now)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    stage = models.ForeignKey(LadderStage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey("Meeting", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey("AttendanceContract", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    sessions = models.JSONField(default=list, blank=True)
    # The kind of letter the letters engine renders for it, and the letters it wrote (one per parent).
    letter_kind = models.CharField(max_length=30, blank=True)
    letter_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        indexes = [models.Index(fields=["school", "status"], name="action_school_status")]

    def __str__(self) -> str:
        return self.title

    @property
    def shared_with_parents(self) -> bool:
        return self.status in (self.Status.TO_SEND, self.Status.SENT)


class Meeting(SchoolOwned):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        HELD = "held", "Held"
        DID_NOT_ATTEND = "did_not_attend", "Parents did not attend"
        REARRANGED = "rearranged", "Rearranged"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="meetings")
    meeting_type = models.CharField(max_length=120)
    when = models.DateTimeField()
    place = models.CharField(max_length=200, help_text="A room, an address, or 'phone call'.")
    invitees = models.JSONField(default=list, help_text="[{name, role}]: parents, staff, agencies.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    attended = models.JSONField(default=list, blank=True, help_text="Names of those who came.")
    minutes = models.TextField(blank=True)
    agreed_actions = models.JSONField(default=list, blank=True, help_text="[{action, owner, due}]")
    rearranged_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["when"]

    def __str__(self) -> str:
        return f"{self.meeting_type} {self.when:%d %b %Y}"


class AttendanceContract(SchoolOwned):
    """An attendance contract (dfe-rules §6.1) or an attendance action plan (§6.3)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "In force"
        ENDED = "ended", "Ended"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        IMPROVED = "improved", "Improved"
        EXTENDED = "extended", "Extended"
        REFERRED = "referred", "Referred to the local authority"
        ENDED = "ended", "Ended without improvement"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contracts")
    kind = models.CharField(max_length=12, choices=[c for c in PlanKind.choices if c[0]])
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    start = models.DateField()
    end = models.DateField()
    review_on = models.DateField()
    extended_to = models.DateField(null=True, blank=True)
    target_percent = models.DecimalField(max_digits=4, decimal_places=1)
    reasons = models.TextField("Reasons for non-attendance", blank=True)
    parent_commitments = models.TextField("What the parents agree to do")
    school_support = models.TextField("Support the school will give")
    la_support = models.TextField("Support the local authority will give", blank=True)
    pupil_views = models.TextField("The pupil's strengths and views", blank=True)
    issues = models.JSONField(default=list, blank=True, help_text="Issues checklist (bullying, medical, …).")
    agreed_actions = models.JSONField(default=list, blank=True, help_text="[{action, owner, due}]")
    legal_consequences_explained = models.BooleanField(default=False)
    signed_by_parent_on = models.DateField(null=True, blank=True)
    signed_by_school_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-start"]
        constraints = [models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="contract_end_after_start")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.start:%d %b %Y}"

    @property
    def monitoring_end(self) -> dt.date:
        return self.extended_to or self.review_on


class SupportRecord(SchoolOwned):
    class Kind(models.TextChoices):
        EARLY_HELP = "early_help", "Early help assessment"
        SCHOOL_NURSE = "school_nurse", "School nurse"
        MENTORING = "mentoring", "Mentoring"
        TRANSPORT = "transport", "Transport"
        BREAKFAST_CLUB = "breakfast_club", "Breakfast club"
        PASTORAL = "pastoral", "Pastoral support"
        MENTAL_HEALTH = "mental_health", "Mental health support"
        SUPPORT_MEETING = "support_meeting", "Support meeting"
        OTHER = "other", "Other"

    class TakenUp(models.TextChoices):
        PENDING = "pending", "Offered, no answer yet"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="support")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    offered_on = models.DateField()
    taken_up = models.CharField(max_length=10, choices=TakenUp.choices, default=TakenUp.PENDING)
    provider = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        ordering = ["-offered_on"]

    def __str__(self) -> str:
        return self.get_kind_display()


class ClockKind(models.TextChoices):
    LA_NOTIFICATION = "la_notification", "Tell the local authority: 10 school days' continuous unauthorised absence"
    SICKNESS_RETURN = "sickness_return", "Sickness return to the local authority: 15 school days' illness"
    JOINT_ENQUIRIES = "joint_enquiries", ("Reasonable enquiries with the local authority: 20 school days' "
                                          "continuous absence (never an automatic deletion)")
    SOCIAL_WORKER = "social_worker", "Tell the pupil's social worker about unexplained absence"
    REVIEW = "review", "Review of a contract or plan"
    NOTICE_PERIOD = "notice_period", "End of a notice-to-improve period"


class StatutoryClock(SchoolOwned):
    """A dated task on the officer's queue until a person records it done."""

    enrolment = models.ForeignKey("registers.Enrolment", on_delete=models.PROTECT, related_name="+")
    pupil = models.ForeignKey("registers.Pupil", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    since = models.DateField(help_text="The day the ground for it started.")
    due = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due"]
        constraints = [models.UniqueConstraint(fields=["school", "enrolment", "kind", "since"],
                                               name="clock_unique_ground")]
        indexes = [models.Index(fields=["school", "due"], condition=Q(done_at__isnull=True), name="clock_open_due")]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due}"
