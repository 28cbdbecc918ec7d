"""Forms for the letter pages: each cleans its input and says plainly what is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from .models import Language, LetterKind, LetterSend


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 70}))
    body = forms.CharField(label="Letter", max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 22, "cols": 90, "spellcheck": "true"}))
    reply_slip = forms.BooleanField(required=False, label="Print a reply slip at the foot")


class PreviewForm(TemplateForm):
    pupil = forms.IntegerField(min_value=1, required=False)


class KindForm(forms.Form):
    kind = forms.ChoiceField(choices=LetterKind.choices)


class PickForm(KindForm):
    pupils = forms.TypedMultipleChoiceField(coerce=int, choices=(), error_messages={
        "required": "Choose at least one pupil."})

    def __init__(self, *args: Any, pupil_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pupils"].choices = [(pk, pk) for pk in pupil_ids]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field


class LogFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any kind"), *LetterKind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), ("queued", "Waiting to be made"),
                                        ("rendered", "Made, waiting to be sent"), ("sent", "Sent"),
                                        ("stale", "Out of date"), ("failed", "Could not be made"),
                                        ("cancelled", "Cancelled")], required=False)
    channel = forms.ChoiceField(choices=[("", "Any channel"), *LetterSend.Channel.choices], required=False)
    approver = forms.TypedChoiceField(coerce=int, choices=(), required=False, empty_value=None)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, approvers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["approver"].choices = [("", "Anyone"), *approvers]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            raise forms.ValidationError("'To' must not be before 'From'.")
        return data


LANGUAGES = dict(Language.choices)
