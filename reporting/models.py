"""Attendance summaries, signals and calculation runs.

`AttendanceSummary` is a derived table: one row per enrolment and academic year holding the year's
register as bit strings, one per category of code, with bit n standing for session slot n of the year
(day offset x 2, plus 1 for the afternoon). Figures for any range inside the year are counts of the
bits under a mask, so a dashboard never reads marks. The rows are kept as marks are written (a trigger
on the marks rewrites only the slots of the marks written; `reporting.summaries`). Everything in it
can be rebuilt from the marks, so it carries no foreign-key constraints (a per-row check would double
the cost of a rebuild) and uses the natural key as its primary key.
"""

from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager

from attendance_portal.tenancy import SchoolOwned


class BitStringField(models.Field):
    """PostgreSQL `bit varying`: read and written as a string of 0s and 1s."""

    description = "Bit string"

    def db_type(self, connection) -> str:  # type: ignore[no-untyped-def]
        return "bit varying"


class AttendanceSummary(models.Model):
    pk = models.CompositePrimaryKey("school", "enrolment", "start")
    school = models.ForeignKey(
        "attendance_portal.School", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )
    enrolment = models.ForeignKey(
        "registers.Enrolment", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )
    start = models.DateField(help_text="First day of the academic year.")
    end = models.DateField(help_text="Last day of the academic year.")
    on_time = BitStringField(help_text="/ \\")
    late_before_close = BitStringField(help_text="L")
    approved_educational_activity = BitStringField(help_text="K V P W B J")
    illness = BitStringField(help_text="I")
    authorised_other = BitStringField(help_text="Authorised codes other than I")
    reason_not_established = BitStringField(help_text="N")
    unauthorised_g = BitStringField(help_text="G")
    unauthorised_o = BitStringField(help_text="O")
    late_after_close = BitStringField(help_text="U")
    not_possible = BitStringField(help_text="D X Q Y Y1–Y7 Z #")
    minutes_late = models.JSONField(default=dict, help_text="Minutes late by session slot.")

    objects = ScopedManager(school="school")

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.start}"


# The bit-string columns, one per category of code; every code belongs to exactly one.
CATEGORY_FIELDS = (
    "on_time", "late_before_close", "approved_educational_activity", "illness", "authorised_other",
    "reason_not_established", "unauthorised_g", "unauthorised_o", "late_after_close", "not_possible",
)
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
    fingerprint = models.CharField(max_length=32, blank=True, help_text="Changes exactly when the evidence does.")
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
    # The policy the signals were found under: a later run reuses the start dates of ongoing signals
    # only when it is the same.
    signals_key = models.CharField(max_length=100, blank=True)
    rows_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["school", "status", "requested_at"], name="calcrun_school_status")]

    def __str__(self) -> str:
        return f"{self.mode} {self.status} {self.on}"
