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

from typing import ClassVar, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_scopes import ScopedManager

from attendance_portal.tenancy import SchoolOwned


class BitStringField(models.Field):
    """PostgreSQL `bit varying`: read and written as a string of 0s and 1s."""

    description = "Bit string"

    def db_type(self, connection) -> str:
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

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

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


class DisclosureSetting(models.Model):
    """A trust's small-number threshold for everything its governors and officers see (default 5)."""

    trust = models.OneToOneField("attendance_portal.Trust", on_delete=models.CASCADE, related_name="+")
    threshold = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(2), MaxValueValidator(20)],
        help_text="Counts below this, and rates from fewer pupils, are hidden.")

    def __str__(self) -> str:
        return f"{self.trust} hides counts below {self.threshold}"


class DfePublishedFigure(models.Model):
    """One row of DfE's published attendance file (public data: national, regional or LA, by phase).

    Imported with `import_dfe_attendance`; a later file of the same period replaces the earlier one."""

    class Level(models.TextChoices):
        NATIONAL = "National"
        REGIONAL = "Regional"
        LOCAL_AUTHORITY = "Local authority"

    # DfE writes "c" for a figure it suppressed, "x" or "z" for none: those are stored as null.
    time_period = models.CharField(max_length=6, help_text="DfE's period, e.g. 202526.")
    time_identifier = models.CharField(max_length=40, help_text="e.g. 'Academic year'.")
    geographic_level = models.CharField(max_length=20, choices=Level.choices)
    region_code = models.CharField(max_length=12, blank=True)
    region_name = models.CharField(max_length=80, blank=True)
    new_la_code = models.CharField(max_length=12, blank=True)
    old_la_code = models.CharField(max_length=6, blank=True)
    la_name = models.CharField(max_length=120, blank=True)
    education_phase = models.CharField(max_length=20)
    enrolments = models.FloatField(null=True, blank=True)
    possible_sessions = models.BigIntegerField(null=True, blank=True)
    overall_absence = models.BigIntegerField(null=True, blank=True)
    authorised_absence = models.BigIntegerField(null=True, blank=True)
    unauthorised_absence = models.BigIntegerField(null=True, blank=True)
    late_sessions = models.BigIntegerField(null=True, blank=True)
    attendance_perc = models.FloatField(null=True, blank=True)
    overall_absence_perc = models.FloatField(null=True, blank=True)
    authorised_absence_perc = models.FloatField(null=True, blank=True)
    unauthorised_absence_perc = models.FloatField(null=True, blank=True)
    pa_perc = models.FloatField(null=True, blank=True)
    reasons = models.JSONField(default=dict, help_text="Sessions by DfE reason column.")
    source = models.CharField(max_length=200, help_text="The file it was imported from.")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["time_period", "time_identifier", "geographic_level", "region_code", "new_la_code",
                        "education_phase"], name="dfe_figure_unique"),
        ]
        indexes = [models.Index(fields=["education_phase", "geographic_level"], name="dfe_phase_level")]

    def __str__(self) -> str:
        return f"{self.time_period} {self.geographic_level} {self.la_name or self.region_name} {self.education_phase}"

    @property
    def period_label(self) -> str:
        p = self.time_period
        return f"{p[:4]}/{p[4:]} {self.time_identifier.lower()} to date" if len(p) == 6 else p


class GovernorReport(SchoolOwned):
    """A termly report for governors as a PDF: requested (or made by beat at a term's end), then built
    by a task that claims the row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Being made"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    period_from = models.DateField()
    period_to = models.DateField()
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey("attendance_portal.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["school", "period_from", "period_to"], name="governor_report_period"),
        ]

    def __str__(self) -> str:
        return self.title


class SummaryChange(models.Model):
    """One row each time what a school's dashboards count may have changed: a statement writing marks,
    one changing pupils (their year group and cohort flags), a full rebuild of the summaries. Written by
    triggers (`reporting.dashboard_cache`), never by hand; a school's version is (count, highest id) of its
    rows, so a writer that took a lower id but committed later still changes it. The nightly run keeps
    only the last day's rows."""

    id = models.BigAutoField(primary_key=True)
    school = models.ForeignKey(
        "attendance_portal.School", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )
    at = models.DateTimeField(db_default=models.functions.Now())

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

    class Meta:
        indexes = [models.Index(fields=["school", "id"], name="summarychange_school_id")]

    def __str__(self) -> str:
        return f"{self.school_id} #{self.id}"
