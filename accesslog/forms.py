from __future__ import annotations

from typing import Any

from django import forms

from attendance_portal.models import School

from .selectors import access_log_people


class AccessLogFilterForm(forms.Form):
    user = forms.TypedChoiceField(label="Person", required=False, coerce=int, empty_value=None,
                                  error_messages={"invalid_choice": "Choose a person from the list."})
    pupil = forms.CharField(label="Pupil (name or UPN)", required=False, max_length=100)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": "Enter a real date, for example 27/03/2026."})
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": "Enter a real date, for example 27/03/2026."})

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = [(p.pk, p.display_name()) for p in access_log_people(school=school)]
        self.fields["user"].choices = [("", "Everyone"), *people]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_bound else {}
        return {"user_id": data.get("user"), "pupil_query": data.get("pupil") or "",
                "on_or_after": data.get("date_from"), "on_or_before": data.get("date_to")}
