"""Forms for the marking pages. The register itself is read field by field in `registers.marking`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from attendance_portal.models import School

from .marking import register_codes
from .models import Pupil, Session
from .services import MAX_MINUTES_LATE, MAX_NOTE, minutes_late_problem

SESSION_CHOICES = Session.choices


class LateArrivalForm(forms.Form):
    pupil = forms.ModelChoiceField(
        queryset=Pupil.objects.none(), widget=forms.RadioSelect, empty_label=None,
        error_messages={"required": "Choose the pupil who has arrived.",
                        "invalid_choice": "Choose a pupil from the list."},
    )
    date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date.", "invalid": "Give the date as YYYY-MM-DD."},
    )
    time = forms.TimeField(
        label="Arrival time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Give the arrival time.", "invalid": "Give the arrival time as HH:MM, e.g. 09:07."},
    )

    def __init__(self, *args: Any, school: School, pupils: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The scoped manager keeps the choices inside this school: another school's id is "not in the list".
        self.fields["pupil"].queryset = pupils if pupils is not None else Pupil.objects.filter(school=school)  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field
        self.fields["pupil"].label_from_instance = lambda p: (  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field
            f"{p.surname}, {p.forename} — {p.registration_group or 'no group'}"
        )


class ClosureForm(forms.Form):
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date of the closure.", "invalid": "Give the date as YYYY-MM-DD."},
    )
    session = forms.ChoiceField(
        choices=SESSION_CHOICES, widget=forms.RadioSelect,
        error_messages={"required": "Choose the session that is closed.", "invalid_choice": "Choose AM or PM."},
    )
    reason = forms.CharField(
        max_length=200, help_text="Recorded against every amended mark, e.g. 'Heating failure, site closed at 11:00'.",
        error_messages={"required": "Give the reason for the closure.",
                        "max_length": "Keep the reason under 200 characters."},
    )


class AmendForm(forms.Form):
    code = forms.ChoiceField(choices=(), error_messages={
        "required": "Choose a code.", "invalid_choice": "Choose a code that is valid on this date."})
    minutes_late = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_MINUTES_LATE, label="Minutes late (L or U only)",
        error_messages={"invalid": "Minutes late must be a whole number.",
                        "min_value": "Minutes late cannot be negative.",
                        "max_value": f"Minutes late must be at most {MAX_MINUTES_LATE}."},
    )
    note = forms.CharField(required=False, max_length=MAX_NOTE, error_messages={
        "max_length": f"Notes are limited to {MAX_NOTE} characters."})
    reason = forms.CharField(required=False, max_length=200, label="Reason for the change", error_messages={
        "max_length": "Keep the reason under 200 characters."})
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, day: dt.date, session: str, has_mark: bool, ahead: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_mark = has_mark
        self.fields["code"].choices = [("", "— choose —")] + [  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field
            (c.code, f"{c.code} — {c.meaning}")
            for c in register_codes(day=day, session=session, allowed=None, ahead=ahead)]
        self.fields["reason"].required = has_mark
        self.fields["reason"].error_messages["required"] = "Give the reason for changing this mark."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("code"):
            problem = minutes_late_problem(data["code"], data.get("minutes_late"))
            if problem:
                self.add_error("minutes_late", problem)
        return data
