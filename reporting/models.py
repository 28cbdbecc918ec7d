"""Attendance summaries, signals and calculation runs.

`AttendanceSummary` is a derived table: one row per enrolment and week (a Monday–Sunday week, cut at
academic-year boundaries) plus one running row per enrolment and academic year. Everything in it
can be rebuilt from the marks, so it carries no foreign-key constraints (a per-row check would double
the cost of a rebuild) and uses the natural key as its primary key.
"""

from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager

from attendance_portal.tenancy import SchoolOwned


class AttendanceSummary(models.Model):
    class Kind(models.TextChoices):
        WEEK = "week", "Week"
        YEAR = "year", "Academic year"

    pk = models.CompositePrimaryKey("school", "enrolment", "kind", "start")
    school = models.ForeignKey(
        "attendance_portal.School", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )
    enrolment = models.ForeignKey(
        "registers.Enrolment", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    start = models.DateField()
    end = models.DateField()
    possible = models.IntegerField(default=0)
    present = models.IntegerField(default=0, help_text="/ \\ and L")
    late_before_close = models.IntegerField(default=0, help_text="L")
    approved_educational_activity = models.IntegerField(default=0)
    authorised = models.IntegerField(default=0)
    illness = models.IntegerField(default=0, help_text="I")
    unauthorised = models.IntegerField(default=0, help_text="G N O U")
    unauthorised_gno = models.IntegerField(default=0, help_text="G N O (the deletion-ground codes)")
    reason_not_established = models.IntegerField(default=0, help_text="N")
    late_after_close = models.IntegerField(default=0, help_text="U")
    minutes_late = models.IntegerField(default=0)
    not_possible = models.IntegerField(default=0, help_text="D X Q Y Y1–Y7 Z #")

    objects = ScopedManager(school="school")

    class Meta:
        indexes = [models.Index(fields=["school", "kind", "start"], name="summary_school_period")]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.kind} {self.start}"


FIGURE_FIELDS = (
    "possible", "present", "late_before_close", "approved_educational_activity", "authorised", "illness",
    "unauthorised", "unauthorised_gno", "reason_not_established", "late_after_close", "minutes_late",
    "not_possible",
)


class SignalKind(models.TextChoices):
    PERSISTENT_ABSENCE = "persistent_absence", "Persistent absence (10%+)"
    SEVERE_ABSENCE = "severe_absence", "Severe absence (50%+)"
    AT_RISK = "at_risk", "At risk of persistent absence"
    BELOW_THRESHOLD = "below_threshold", "Attendance below the school's letter threshold"
    PUNCTUALITY = "punctuality", "Repeated lateness"
    N_CODE_OVERDUE = "n_code_overdue", "N code not replaced in time"
    CONTINUOUS_UNAUTHORISED_10_DAYS = "continuous_unauthorised_10_days", "10 school days' continuous unauthorised"
    ILLNESS_15_DAYS = "illness_15_days", "15 school days of illness this year"
    CONTINUOUS_ABSENCE_20_DAYS = "continuous_absence_20_days", "20 school days' continuous G/N/O absence"
    PENALTY_THRESHOLD = "penalty_threshold", "Penalty-notice national threshold reached"


class AttendanceSignal(SchoolOwned):
    """Something in the data that needs a person's attention, from the day it started.

    A row stays when its condition ends (active becomes false), so queues act on changes.
    """

    enrolment = models.ForeignKey("registers.Enrolment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40, choices=SignalKind.choices)
    since = models.DateField()
    sessions = models.PositiveIntegerField(help_text="The count that triggered the signal.")
    evidence = models.JSONField(default=dict, help_text="The sessions behind the signal.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["enrolment_id", "kind", "since"]
        constraints = [
            models.UniqueConstraint(fields=["school", "enrolment", "kind", "since"], name="signal_unique_start"),
        ]
        indexes = [models.Index(fields=["school", "kind", "active"], name="signal_school_kind_active")]

    def __str__(self) -> str:
        return f"{self.kind} since {self.since}"


class CalculationRun(SchoolOwned):
    """One run of the statistics engine for one school (requested, then done by a task)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped: another run held the lock"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", "Changes since the last run"
        FULL = "full", "Full rebuild"

    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.INCREMENTAL)
    on = models.DateField(help_text="Signals are evaluated as of this day.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Marks updated at or after this instant are picked up by the next incremental run.
    watermark = models.DateTimeField(null=True, blank=True)
    calendar_key = models.CharField(max_length=400, blank=True)
    rows_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["school", "status", "requested_at"], name="calcrun_school_status")]

    def __str__(self) -> str:
        return f"{self.mode} {self.status} {self.on}"
