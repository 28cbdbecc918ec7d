"""Calendar, register times, pupils, the admission register and the attendance register.

Every table carries its own `school` and a fail-closed scoped manager (see `attendance_portal.tenancy`).
Marks are the legal record: they are never deleted (a database trigger refuses it) and every insert
and update is copied by database triggers into the append-only `MarkEvent` table, together with who
made the change, their position and the reason. A change to a saved mark without that context (the
one `registers.services.marks_save` sets) is refused by the database.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Self

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django_scopes import ScopedManager

from attendance_portal.tenancy import SchoolOwned

from . import codes

YEAR_GROUPS = ["N1", "N2", "R", *[str(n) for n in range(1, 15)]]
YEAR_GROUP_CHOICES = [(y, f"Year {y}" if y.isdigit() else {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}[y])
                      for y in YEAR_GROUPS]
MAX_REGISTER_OPEN = dt.timedelta(minutes=30)
# The year groups a school of each phase usually has; other phases (middle, all-through, special,
# alternative provision) may have any. A year group the school already uses is always kept.
PHASE_YEAR_GROUPS = {"primary": YEAR_GROUPS[:YEAR_GROUPS.index("6") + 1],
                     "secondary": YEAR_GROUPS[YEAR_GROUPS.index("7"):]}


def year_group_order(year_group: str) -> int:
    """Reception before Year 1, Year 2 before Year 10: the order of YEAR_GROUPS, not of the text."""
    return YEAR_GROUPS.index(year_group) if year_group in YEAR_GROUPS else len(YEAR_GROUPS)


class Session(models.TextChoices):
    AM = "AM", "Morning"
    PM = "PM", "Afternoon"


class AcademicYear(SchoolOwned):
    name = models.CharField(max_length=20)  # "2025/26"
    start = models.DateField()
    end = models.DateField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["school", "start"], name="academicyear_unique_start"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="academicyear_end_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class Term(SchoolOwned):
    """A teaching period inside an academic year (in practice a half-term: "Autumn 1")."""

    class Season(models.TextChoices):
        AUTUMN = "autumn", "Autumn"
        SPRING = "spring", "Spring"
        SUMMER = "summer", "Summer"

    academic_year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=60)
    season = models.CharField(max_length=10, choices=Season.choices)
    start = models.DateField()
    end = models.DateField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["school", "academic_year", "name"], name="term_unique_name"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="term_end_not_before_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start:%d %b} – {self.end:%d %b %Y})"

    @staticmethod
    def season_for(name: str, start: dt.date) -> str:
        lowered = name.lower()
        for season in Term.Season:
            if lowered.startswith(season.value):
                return season.value
        if start.month >= 8:
            return Term.Season.AUTUMN
        return Term.Season.SPRING if start.month <= 3 else Term.Season.SUMMER


class Closure(SchoolOwned):
    """A planned closure (INSET, bank holiday) for one or both sessions: no possible session.
    Which sessions it closes is the calendar's rule (`registers.calendar.closure_covers`)."""

    class Which(models.TextChoices):
        AM = "AM", "Morning"
        PM = "PM", "Afternoon"
        BOTH = "BOTH", "Whole day"

    date = models.DateField()
    session = models.CharField(max_length=4, choices=Which.choices, default=Which.BOTH)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["school", "date", "session"], name="closure_unique")]


class SessionTimes(SchoolOwned):
    """When the AM and PM registers open and close for one year group."""

    year_group = models.CharField(max_length=3, choices=YEAR_GROUP_CHOICES)
    am_open = models.TimeField()
    am_close = models.TimeField()
    pm_open = models.TimeField()
    pm_close = models.TimeField()

    class Meta:
        ordering = ["year_group"]
        constraints = [models.UniqueConstraint(fields=["school", "year_group"], name="sessiontimes_unique_year")]
        verbose_name_plural = "session times"

    def clean(self) -> None:
        errors = session_times_errors(self.am_open, self.am_close, self.pm_open, self.pm_close)
        if errors:
            raise ValidationError(errors)

    def window(self, session: str) -> tuple[dt.time, dt.time]:
        return (self.am_open, self.am_close) if session == Session.AM else (self.pm_open, self.pm_close)


def session_times_errors(am_open: dt.time, am_close: dt.time, pm_open: dt.time, pm_close: dt.time) -> list[str]:
    errors = []
    for label, opens, closes in (("Morning", am_open, am_close), ("Afternoon", pm_open, pm_close)):
        start = dt.datetime.combine(dt.date.min, opens)
        end = dt.datetime.combine(dt.date.min, closes)
        if end <= start:
            errors.append(f"{label} register must close after it opens.")
        elif end - start > MAX_REGISTER_OPEN:
            errors.append(f"{label} register may be open for at most 30 minutes.")
    if pm_open <= am_close:
        errors.append("Afternoon register must open after the morning register closes.")
    return errors


class RegistrationGroup(SchoolOwned):
    name = models.CharField(max_length=40)
    year_group = models.CharField(max_length=3, choices=YEAR_GROUP_CHOICES, blank=True)

    class Meta:
        ordering = ["year_group", "name"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="registrationgroup_unique_name")]

    def __str__(self) -> str:
        return self.name


class Pupil(SchoolOwned):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"

    class SEN(models.TextChoices):
        NONE = "N", "No special educational need"
        SUPPORT = "K", "SEN support"
        EHCP = "E", "Education, health and care plan"

    upn = models.CharField("UPN", max_length=13)
    forename = models.CharField(max_length=100)
    surname = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    # A database default too: bulk loaders that write pupils in SQL need not know the column.
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, db_default="",
                           help_text="As the school census records it.")
    year_group = models.CharField(max_length=3, choices=YEAR_GROUP_CHOICES)
    registration_group = models.ForeignKey(
        RegistrationGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="pupils"
    )
    # Cohort characteristics; sensitive ones are shown only to roles with "view_sensitive".
    sen = models.CharField("SEN status", max_length=1, choices=SEN.choices, default=SEN.NONE)
    fsm = models.BooleanField("Free school meals", default=False)
    eal = models.BooleanField("English as an additional language", default=False)
    looked_after = models.BooleanField("Looked-after child", default=False)
    child_in_need = models.BooleanField("Child in need", default=False)
    has_social_worker = models.BooleanField(default=False)

    class Meta:
        ordering = ["surname", "forename"]
        constraints = [models.UniqueConstraint(fields=["school", "upn"], name="pupil_unique_upn")]
        indexes = [models.Index(fields=["school", "registration_group"])]

    def __str__(self) -> str:
        return f"{self.forename} {self.surname}"

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"

    @property
    def group_and_year(self) -> str:
        """'5B · Year 5', or just 'Year 5' when the group is named after the year."""
        year = self.get_year_group_display()
        group = self.registration_group.name if self.registration_group is not None else ""
        return year if not group or group == year else f"{group} · {year}"


class DeletionGround(models.TextChoices):
    """Grounds for deleting a name from the admission register (2024 regulations, reg. 9).

    Kept as a reviewable list (dfe-rules R11 is marked likely, not verified line by line).
    """

    OTHER_SCHOOL = "other_school", "Registered at another school (not dual registration)"
    DUAL_ENDED = "dual_ended", "Dual registration ended with the other school's agreement"
    EHE = "ehe", "Parent notified in writing of education otherwise than at school"
    MOVED_AWAY = "moved_away", "Ceased to attend and no longer lives within reasonable distance"
    MEDICAL = "medical", "Medically certified unlikely to be fit to attend before leaving compulsory school age"
    CUSTODY = "custody", "In custody for more than four months and not expected to return"
    DIED = "died", "Died"
    CEASED_CSA = "ceased_csa", "Will cease to be of compulsory school age and not continuing"
    PERMANENT_EXCLUSION = "permanent_exclusion", "Permanently excluded (after review)"
    BOARDING_FEES = "boarding_fees", "Boarding fees unpaid"
    SAO = "sao", "School attendance order amended or revoked"
    CONTINUOUS_ABSENCE = "continuous_absence", "Continuous absence of 20 school days with joint enquiries made"
    END_OF_SCHOOL = "end_of_school", "Completed the school's final year"
    OTHER = "other", "Other prescribed ground"


class Enrolment(SchoolOwned):
    """An entry in the admission register. A pupil has possible sessions only while enrolled."""

    class RegistrationType(models.TextChoices):
        MAIN = "main", "Main (single registration)"
        DUAL_MAIN = "dual_main", "Dual – main"
        DUAL_SUBSIDIARY = "dual_subsidiary", "Dual – subsidiary"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="enrolments")
    admission_date = models.DateField()
    leaving_date = models.DateField(null=True, blank=True)
    deletion_ground = models.CharField(max_length=30, choices=DeletionGround.choices, blank=True)
    registration_type = models.CharField(
        max_length=20, choices=RegistrationType.choices, default=RegistrationType.MAIN
    )

    class Meta:
        ordering = ["admission_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(leaving_date__isnull=True) | Q(leaving_date__gte=models.F("admission_date")),
                name="enrolment_leaving_after_admission",
            ),
            models.UniqueConstraint(fields=["school", "pupil", "admission_date"], name="enrolment_unique_start"),
        ]

    # Whether the enrolment covers a day: admitted by it and not left before it. The one rule, in the three
    # forms the code reads it in: on an instance, as an ORM condition, and as SQL for statements written out.
    def covers(self, day: dt.date) -> bool:
        return self.admission_date <= day and (self.leaving_date is None or day <= self.leaving_date)

    @staticmethod
    def covering(day: Any) -> Q:
        """`covers` as an ORM condition on enrolments (`day` a date or an expression)."""
        return Q(admission_date__lte=day) & (Q(leaving_date__isnull=True) | Q(leaving_date__gte=day))

    @staticmethod
    def covering_sql(alias: str, day: str) -> str:
        """`covers` as SQL: `alias` names the enrolment, `day` is an SQL expression (a column or a placeholder)."""
        return f"{alias}.admission_date <= {day} AND ({alias}.leaving_date IS NULL OR {alias}.leaving_date >= {day})"


class Guardian(SchoolOwned):
    """A parent, carer or other contact. `user` links a parent-portal account."""

    forename = models.CharField(max_length=100)
    surname = models.CharField(max_length=100)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    # The postal address, for letters sent by post and the penalty-notice evidence pack.
    address = models.TextField(blank=True, help_text="House, street and town, one per line; the postcode apart.")
    postcode = models.CharField(max_length=8, blank=True, help_text="As the Royal Mail writes it, e.g. RB1 4DX.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="guardianships"
    )

    class Meta:
        ordering = ["surname", "forename"]

    def __str__(self) -> str:
        return f"{self.forename} {self.surname}"

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed on an envelope: its lines, then the postcode; empty if none is held."""
        lines = [line.strip() for line in self.address.splitlines() if line.strip()]
        return [*lines, self.postcode] if lines and self.postcode else lines

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address.strip() and self.postcode)


class PupilContact(SchoolOwned):
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="contacts")
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="contacts")
    relationship = models.CharField(max_length=60)
    parental_responsibility = models.BooleanField(default=True)
    lives_with_pupil = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["priority"]
        constraints = [models.UniqueConstraint(fields=["school", "pupil", "guardian"], name="contact_unique")]


class MarkEventBase(pghistory.models.Event):
    """Base for the append-only audit rows: scoped like the marks they copy."""

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")  # type: ignore[assignment]  # pghistory types its own as unknown

    class Meta:
        abstract = True


# The events are written by plain triggers of our own (registers/migrations/0005_guards_without_bypass.py),
# not by pghistory's: pgtrigger's triggers step aside for anyone who sets
# `pgtrigger.ignore`, which needs no privilege. pghistory keeps the event model, its context and its queries.
@pghistory.track(
    pghistory.ManualEvent("recorded"),
    pghistory.ManualEvent("amended"),
    fields=["school", "pupil", "enrolment", "date", "session", "code", "minutes_late", "note", "version",
            "recorded_by"],
    context_field=pghistory.ContextJSONField(),
    model_name="MarkEvent",
    base_model=MarkEventBase,
    obj_field=pghistory.ObjForeignKey(related_name="events", db_constraint=False),
)
class Mark(SchoolOwned):
    """One pupil's attendance code for one session. Changed only through `registers.services`."""

    # No index of their own for the school and the enrolment: the indexes below lead with each of them, and
    # every mark saved would otherwise add an entry to two more indexes of the largest table.
    school = models.ForeignKey("attendance_portal.School", on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="marks")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="marks", db_index=False)
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    code = models.CharField(max_length=2)
    minutes_late = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "session"]
        constraints = [
            models.UniqueConstraint(fields=["school", "pupil", "date", "session"], name="mark_unique_session"),
            models.CheckConstraint(
                condition=Q(minutes_late__isnull=True) | Q(code__in=sorted(codes.LATE)),
                name="mark_minutes_late_only_when_late",
            ),
            models.CheckConstraint(condition=Q(code__in=sorted(codes.CODES)), name="mark_known_code"),
        ]
        indexes = [
            models.Index(fields=["school", "date", "session"]),
            models.Index(fields=["school", "updated_at"]),
            models.Index(fields=["enrolment", "date"]),
            # The statistics engine reads the sessions behind a signal (illness, unauthorised runs,
            # lateness) from here: every mark but the plain present ones, a tenth of the marks or less.
            models.Index(fields=["school", "enrolment", "date", "session"], include=["code"],
                         condition=~Q(code__in=sorted(codes.ON_TIME)), name="mark_not_present"),
            # N must be replaced within days (R7), so this stays tiny; overdue N codes come from here.
            models.Index(fields=["school", "date"], condition=Q(code="N"), name="mark_reason_not_established"),
            # Minutes late for the statistics summaries: only late marks carry them, a few in a hundred.
            models.Index(fields=["school", "date"], include=["enrolment", "session", "minutes_late"],
                         condition=Q(minutes_late__isnull=False), name="mark_minutes_late"),
        ]

    def __str__(self) -> str:
        return f"{self.pupil_id} {self.date} {self.session} {self.code}"


if TYPE_CHECKING:
    class MarkEvent(MarkEventBase):
        """The event model `pghistory.track` makes above, with the fields it copies, for the type checker only."""

        pgh_obj: Mark
        pgh_obj_id: int
        pgh_context: dict[str, Any] | None  # ContextJSONField: the context is stored on the row
        pupil: Pupil
        pupil_id: int
        enrolment: Enrolment
        enrolment_id: int
        date: dt.date
        session: str
        code: str
        minutes_late: int | None
        note: str
        version: int
        recorded_by_id: int | None


class ImportBatch(SchoolOwned):
    """One onboarding import (command line or the office upload page), with its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Rejected"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=20, default="upload")
    files = models.JSONField(default=dict, blank=True)  # stored file paths by kind
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    summary = models.JSONField(default=dict, blank=True)  # counts created / amended / unchanged
    errors = models.JSONField(default=list, blank=True)  # [{"file", "line", "message"}]

    class Meta:
        ordering = ["-created_at"]


class SchoolPolicy(SchoolOwned):
    """A school's attendance policy, effective from a date; the latest row on or before a day applies.

    Values default to the DfE guidance and the seed policies; uncertain rules are switches here.
    """

    effective_from = models.DateField()
    letter_threshold_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=95, help_text="Attendance below this raises a letter."
    )
    at_risk_absence_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=8, help_text="Absence at or above this (below 10%) is 'at risk'."
    )
    punctuality_lates = models.PositiveSmallIntegerField(default=3, help_text="More than this many lates…")
    punctuality_weeks = models.PositiveSmallIntegerField(default=3, help_text="…within this many school weeks.")
    n_code_limit_school_days = models.PositiveSmallIntegerField(default=5)
    absence_report_cutoff = models.TimeField(
        null=True, blank=True, help_text="Parents report by this time; empty means when the AM register closes."
    )
    leave_notice_days = models.PositiveSmallIntegerField(default=14, help_text="Minimum notice for leave requests.")
    medical_evidence_after_days = models.PositiveSmallIntegerField(
        default=5, help_text="Consecutive days of illness after which medical evidence is requested."
    )
    # dfe-rules U1: LA codes of conduct count N toward the penalty threshold; one seed does not.
    penalty_threshold_counts_n = models.BooleanField(default=True)

    class Meta:
        ordering = ["-effective_from"]
        constraints = [models.UniqueConstraint(fields=["school", "effective_from"], name="policy_unique_from")]
        verbose_name_plural = "school policies"
