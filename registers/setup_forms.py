"""School set-up: academic years and terms, planned closures, register times, and the import upload.

Forms check everything a person can get wrong and say how to put it right; the small write
functions at the end (`closure_create`, `closure_delete`, `session_times_save`) are the only writes
the set-up pages make besides saving a validated year or term form.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from attendance_portal.models import School

from .calendar_services import academic_year_problems, closure_problems, term_problems
from .imports import MARK_COLUMNS, PUPIL_COLUMNS
from .models import (
    YEAR_GROUP_CHOICES,
    AcademicYear,
    Closure,
    SessionTimes,
    Term,
    session_times_errors,
)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # a large secondary's history is ~15 MB of marks.csv
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_ERRORS = {"required": "Give the date.", "invalid": "Give the date as YYYY-MM-DD."}


def _date_field(label: str, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE_WIDGET, error_messages=DATE_ERRORS, **kwargs)


def today() -> dt.date:
    return timezone.localdate()  # Europe/London: "before the day" means the school's day


# --------------------------------------------------------------------------- academic years and terms


class AcademicYearForm(forms.ModelForm):
    start = _date_field("First day of the academic year")
    end = _date_field("Last day of the academic year")

    class Meta:
        model = AcademicYear
        fields = ["name", "start", "end"]
        help_texts = {"name": "For example 2025/26. Left empty, it is worked out from the dates."}

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school
        self.fields["name"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if not (start and end):
            return data
        if end <= start:
            self.add_error("end", "The last day must be after the first day.")
            return data
        if (end - start).days > 366:
            self.add_error("end", "An academic year can be at most one year long.")
            return data
        for problem in academic_year_problems(school=self.school, start=start, end=end, year=self.instance):
            self.add_error(None, problem)
        if not data.get("name"):
            data["name"] = f"{start.year}/{(start.year + 1) % 100:02d}"
        return data

    def save(self, commit: bool = True) -> AcademicYear:
        self.instance.school = self.school
        return super().save(commit)


class TermForm(forms.ModelForm):
    start = _date_field("First day of term")
    end = _date_field("Last day of term")

    class Meta:
        model = Term
        fields = ["name", "start", "end"]
        help_texts = {"name": "For example Autumn 1. Names starting Autumn, Spring or Summer set the season."}

    def __init__(self, *args: Any, school: School, year: AcademicYear, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school
        self.year = year
        self.old_range = (self.instance.start, self.instance.end) if self.instance.pk else None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        same = Term.objects.filter(school=self.school, academic_year=self.year, name__iexact=name)
        if self.instance.pk:
            same = same.exclude(pk=self.instance.pk)
        if same.exists():
            raise forms.ValidationError(f"{self.year.name} already has a term called '{name}'.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if not (start and end):
            return data
        if end < start:
            self.add_error("end", "The last day of term cannot be before the first.")
            return data
        if start < self.year.start or end > self.year.end:
            self.add_error(None, f"The term must lie inside the academic year {self.year.name} "
                                 f"({self.year.start:%d %b %Y} to {self.year.end:%d %b %Y}).")
            return data
        for problem in term_problems(school=self.school, start=start, end=end, term=self.instance,
                                     before=self.old_range):
            self.add_error(None, problem)
        return data

    def save(self, commit: bool = True) -> Term:
        self.instance.school = self.school
        self.instance.academic_year = self.year
        self.instance.season = Term.season_for(self.instance.name, self.instance.start)
        return super().save(commit)


# --------------------------------------------------------------------------- planned closures


class ClosureForm(forms.Form):
    date = _date_field("Date")
    session = forms.ChoiceField(label="Closed for", choices=Closure.Which.choices, initial=Closure.Which.BOTH,
                                widget=forms.RadioSelect)
    reason = forms.CharField(label="Reason", max_length=200,
                             help_text="Shown on registers and reports, e.g. INSET day or May Day bank holiday.",
                             error_messages={"required": "Give the reason for the closure."})

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, which = data.get("date"), data.get("session")
        if not (day and which):
            return data
        if day <= today():
            self.add_error("date", "Planned closures are set up before the day. For a closure today, use "
                                   "'Record an unexpected closure' on the registers page.")
            return data
        for problem in closure_problems(school=self.school, day=day, which=which):
            self.add_error(None, problem)
        return data


def closure_create(*, school: School, day: dt.date, session: str, reason: str) -> Closure:
    return Closure.objects.create(school=school, date=day, session=session, reason=reason.strip())


def closure_delete(*, school: School, closure: Closure) -> str | None:
    """Remove a planned closure before its day; returns why not, or None when removed."""
    if closure.date <= today():
        return (f"The closure on {closure.date:%d %B %Y} has started or passed, so it stays in the calendar "
                "(registers for that day were never taken).")
    Closure.objects.filter(pk=closure.pk, school=school).delete()
    return None


# --------------------------------------------------------------------------- register times


class SessionTimesRowForm(forms.Form):
    am_open = forms.TimeField(label="Morning opens", required=False, widget=TIME_WIDGET)
    am_close = forms.TimeField(label="Morning closes", required=False, widget=TIME_WIDGET)
    pm_open = forms.TimeField(label="Afternoon opens", required=False, widget=TIME_WIDGET)
    pm_close = forms.TimeField(label="Afternoon closes", required=False, widget=TIME_WIDGET)

    FIELDS = ("am_open", "am_close", "pm_open", "pm_close")

    def __init__(self, *args: Any, year_group: str, label: str, existing: SessionTimes | None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"y{year_group}")
        if existing is not None:
            kwargs.setdefault("initial", {f: getattr(existing, f) for f in self.FIELDS})
        super().__init__(*args, **kwargs)
        self.year_group = year_group
        self.label = label
        self.existing = existing
        for name in self.FIELDS:
            self.fields[name].error_messages["invalid"] = "Give the time as HH:MM, e.g. 08:45."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        values = [data.get(f) for f in self.FIELDS]
        if all(v is None for v in values):
            if self.existing is not None:
                self.add_error(None, f"{self.label}: register times cannot be removed once set; give all four times.")
            return data
        if any(v is None for v in values):
            self.add_error(None, f"{self.label}: give all four times (morning open and close, afternoon open and "
                                 "close), or leave all four empty.")
            return data
        for message in session_times_errors(*values):  # type: ignore[arg-type]  # all four are set: checked above
            self.add_error(None, f"{self.label}: {message}")
        return data

    def changed_values(self) -> dict[str, dt.time] | None:
        values = {f: self.cleaned_data.get(f) for f in self.FIELDS}
        if any(v is None for v in values.values()):
            return None
        if self.existing is not None and all(getattr(self.existing, f) == v for f, v in values.items()):
            return None
        return values  # type: ignore[return-value]  # no value is None: checked above


def school_year_groups(*, school: School, existing: Any = ()) -> list[tuple[str, str]]:
    """The year groups of the school's phase, and any other year group it already has times or pupils for."""
    from .models import PHASE_YEAR_GROUPS, Pupil

    usual = set(PHASE_YEAR_GROUPS.get(school.phase, [yg for yg, _ in YEAR_GROUP_CHOICES]))
    used = set(existing) | set(Pupil.objects.filter(school=school).values_list("year_group", flat=True).distinct())
    return [(yg, label) for yg, label in YEAR_GROUP_CHOICES if yg in usual or yg in used]


def session_times_forms(*, school: School, data: Any = None) -> list[SessionTimesRowForm]:
    existing = {t.year_group: t for t in SessionTimes.objects.filter(school=school)}
    return [SessionTimesRowForm(data, year_group=yg, label=label, existing=existing.get(yg))
            for yg, label in school_year_groups(school=school, existing=existing)]


def session_times_save(*, school: School, rows: list[SessionTimesRowForm]) -> int:
    """Save every changed row of a fully valid page; returns how many year groups changed."""
    changed = 0
    for row in rows:
        values = row.changed_values()
        if values is None:
            continue
        if row.existing is None:
            SessionTimes.objects.create(school=school, year_group=row.year_group, **values)
        else:
            SessionTimes.objects.filter(pk=row.existing.pk, school=school).update(**values)
        changed += 1
    return changed


# --------------------------------------------------------------------------- registration groups' teachers


class GroupTeachersForm(forms.Form):
    """Who teaches one registration group: ticked from the people who take registers at the school."""

    teachers = forms.TypedMultipleChoiceField(
        label="Teachers", coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave every box empty if no one teaches this group yet.",
        error_messages={"invalid_choice": "Choose people from the list: staff of this school who take registers."},
    )

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["teachers"]
        assert isinstance(field, forms.TypedMultipleChoiceField)  # noqa: S101 - declared just above
        field.choices = [(p.pk, f"{p.display_name()}{f' ({p.position})' if p.position else ''}") for p in people]


# --------------------------------------------------------------------------- import upload


def _check_upload(upload: UploadedFile | None, *, label: str, kind: str, required: tuple[str, ...] = ()) -> bytes:
    """Read an uploaded file after checking size and type; the full validation happens in the import."""
    if upload is None:
        return b""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(f"{label} is {upload.size / 1_048_576:.1f} MB; the limit is "
                                    f"{MAX_UPLOAD_BYTES // 1_048_576} MB per file.")
    name = (upload.name or "").lower()
    if not name.endswith(f".{kind}"):
        raise forms.ValidationError(f"{label} must be a .{kind} file, not '{upload.name}'.")
    data = upload.read()
    upload.seek(0)
    if not data.strip():
        raise forms.ValidationError(f"{label} is empty.")
    if data[:4] == b"PK\x03\x04":
        raise forms.ValidationError(f"{label} is a spreadsheet or zip file, not plain text. In Excel use "
                                    "File › Save As › 'CSV UTF-8'.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError(f"{label} is not UTF-8 text. Save it again as UTF-8 (in Excel: "
                                    "'CSV UTF-8').") from None
    if kind == "json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"{label} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    else:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
        columns = {c.strip().lower() for c in header}
        missing = [c for c in required if c not in columns]
        if missing:
            raise forms.ValidationError(f"{label} does not start with the expected header row: missing "
                                        f"{', '.join(missing)}. Check you chose the right file.")
    return data


class ImportUploadForm(forms.Form):
    school_json = forms.FileField(
        label="school.json (optional)", required=False,
        help_text="Calendar, terms, closures and register times. Leave it out to keep the school's current "
                  "calendar. If it names a school, it must be this school.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
        error_messages={"empty": "school.json is empty."},
    )
    pupils_csv = forms.FileField(
        label="pupils.csv", help_text="One row per pupil: UPN, names, date of birth, year and registration group, "
                                      "admission and leaving dates, and optionally sen, fsm, eal, cla, cin.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose the pupils.csv file.", "empty": "pupils.csv is empty."},
    )
    marks_csv = forms.FileField(
        label="marks.csv", help_text="One row per pupil and session: upn, date, session, code, minutes_late.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose the marks.csv file.", "empty": "marks.csv is empty."},
    )

    def clean_school_json(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("school_json")
        if upload:
            _check_upload(upload, label="school.json", kind="json")
        return upload or None

    def clean_pupils_csv(self) -> UploadedFile:
        upload = self.cleaned_data["pupils_csv"]
        _check_upload(upload, label="pupils.csv", kind="csv", required=PUPIL_COLUMNS)
        return upload

    def clean_marks_csv(self) -> UploadedFile:
        upload = self.cleaned_data["marks_csv"]
        _check_upload(upload, label="marks.csv", kind="csv", required=MARK_COLUMNS)
        return upload
