"""Forms: shape and type checks only. Rules (dates, notice, closed days, evidence) live in services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms

from registers.models import Pupil

from .models import AbsenceReport, ContactAttempt, LeaveRequest, Sessions
from .services import MAX_EVIDENCE_BYTES, resolution_choices


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ChildChoiceMixin:
    """The child list holds only the parent's own children; any other id is a form error."""

    def __init__(self, *args: Any, children: list[Pupil], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.children = {c.pk: c for c in children}
        self.fields["child"].widget.choices = [  # type: ignore[attr-defined]  # a mixin for forms.Form
            ("", "Choose a child"),
            *[(c.pk, f"{c.forename} {c.surname} ({c.school.name})") for c in children],
        ]

    def clean_child(self) -> Pupil:
        raw = self.cleaned_data.get("child")  # type: ignore[attr-defined]  # a mixin for forms.Form
        try:
            child = self.children.get(int(raw))
        except (TypeError, ValueError):
            child = None
        if child is None:
            raise forms.ValidationError("Choose one of your own children.")
        return child


class DateRangeMixin:
    """`first_date` … `last_date`, the last not before the first."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}  # type: ignore[misc]  # a mixin for forms.Form
        first, last = data.get("first_date"), data.get("last_date")
        if first and last and last < first:
            self.add_error("last_date", "The last day cannot be before the first day.")  # type: ignore[attr-defined]  # a mixin for forms.Form
        return data


class AbsenceReportForm(ChildChoiceMixin, DateRangeMixin, forms.Form):
    child = forms.CharField(label="Child", widget=forms.Select)
    first_date = forms.DateField(label="First day of absence", widget=DateInput())
    last_date = forms.DateField(label="Last day of absence", widget=DateInput(),
                                help_text="The same as the first day for a single day.")
    sessions = forms.ChoiceField(label="Sessions", choices=Sessions.choices, initial=Sessions.BOTH,
                                 widget=forms.RadioSelect)
    category = forms.ChoiceField(label="Reason", choices=AbsenceReport.Category.choices, widget=forms.RadioSelect)
    message = forms.CharField(label="Message to the school (optional)", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}))


class LeaveRequestForm(ChildChoiceMixin, DateRangeMixin, forms.Form):
    child = forms.CharField(label="Child", widget=forms.Select)
    first_date = forms.DateField(label="First day of leave", widget=DateInput())
    last_date = forms.DateField(label="Last day of leave", widget=DateInput())
    sessions = forms.ChoiceField(label="Sessions", choices=Sessions.choices, initial=Sessions.BOTH,
                                 widget=forms.RadioSelect)
    circumstance = forms.ChoiceField(label="Kind of leave", choices=LeaveRequest.Circumstance.choices,
                                     widget=forms.RadioSelect)
    reason = forms.CharField(label="Reason for the request", max_length=3000,
                             widget=forms.Textarea(attrs={"rows": 5}))
    evidence = forms.FileField(
        label="Supporting evidence (optional)", required=False,
        help_text=f"PDF, PNG or JPEG, at most {MAX_EVIDENCE_BYTES // 1024 // 1024} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label="Reason (shown to the parent)", max_length=500)


class AcceptForm(forms.Form):
    code = forms.ChoiceField(label="Code to record", required=False,
                             choices=[("", "Mapped from the reason"), *resolution_choices()])


class ContactAttemptForm(forms.Form):
    """Nothing is pre-chosen: a blank form is refused rather than logged as a phone call that reached someone."""

    contact = forms.TypedChoiceField(label="Who", required=False, coerce=int, empty_value=None,
                                     error_messages={"required": "Choose who you tried to reach."})
    method = forms.ChoiceField(label="How", choices=[("", "Choose how"), *ContactAttempt.Method.choices],
                               error_messages={"required": "Choose how you made contact."})
    outcome = forms.ChoiceField(label="Outcome", choices=[("", "Choose the outcome"), *ContactAttempt.Outcome.choices],
                                error_messages={"required": "Choose the outcome of the contact."})
    note = forms.CharField(label="Note", required=False, max_length=500)

    def __init__(self, *args: Any, contacts: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", "Choose who"),  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field
                                          *[(c.pk, f"{c.guardian} ({c.relationship})") for c in contacts]]
        # With contacts on record, the attempt names one of them.
        self.fields["contact"].required = bool(contacts)


class ResolveForm(forms.Form):
    keys = forms.MultipleChoiceField(label="Sessions", widget=forms.CheckboxSelectMultiple)
    code = forms.ChoiceField(label="Code", choices=resolution_choices())
    reason = forms.CharField(label="Reason", max_length=300)

    def __init__(self, *args: Any, keys: Sequence[tuple[dt.date, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keys"].choices = [(f"{d.isoformat()}:{s}", f"{d:%a %d %b} {s}") for d, s in keys]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field

    def clean_keys(self) -> list[tuple[dt.date, str]]:
        out = []
        for raw in self.cleaned_data["keys"]:
            day, _, session = raw.partition(":")
            out.append((dt.date.fromisoformat(day), session))
        return out


class GrantForm(forms.Form):
    circumstance = forms.ChoiceField(label="Granted under", choices=LeaveRequest.Circumstance.choices)
    reason = forms.CharField(label="Note to the parent (optional)", required=False, max_length=500)


class RefuseForm(forms.Form):
    reason = forms.CharField(label="Reason for refusing (shown to the parent)", max_length=500)


class EvidenceOutcomeForm(forms.Form):
    received = forms.TypedChoiceField(label="Evidence", coerce=lambda v: v == "yes",
                                      choices=[("yes", "Received"), ("no", "Not received")])
    note = forms.CharField(label="Note", required=False, max_length=500)



class AgedResolveForm(forms.Form):
    """The aged-N page: one code and reason for every ticked pupil (all their aged sessions) or session."""

    code = forms.ChoiceField(label="Code to record", choices=resolution_choices(),
                             error_messages={"required": "Choose the code to record.",
                                             "invalid_choice": "Choose a code from the list."})
    reason = forms.CharField(label="Reason", max_length=300,
                             error_messages={"required": "Give the reason; it is kept with each changed mark."})

    def selections(self, data: Any, aged: list[Any]) -> dict[int, list[tuple[dt.date, str]]]:
        """The ticked sessions, by pupil, from the aged list only: anything else is ignored as already resolved."""
        pupils = set(data.getlist("pupil"))
        sessions = set(data.getlist("session"))
        out: dict[int, list[tuple[dt.date, str]]] = {}
        for row in aged:
            for m in row.marks:
                if str(row.pupil.pk) in pupils or f"{row.pupil.pk}:{m.date.isoformat()}:{m.session}" in sessions:
                    out.setdefault(row.pupil.pk, []).append((m.date, m.session))
        return out
