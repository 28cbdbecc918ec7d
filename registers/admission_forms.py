"""Forms for the admission register pages. They only read and type the input; the rules live in
`registers.admission`, whose messages the views put back on the form's fields."""

from __future__ import annotations

from typing import Any

from django import forms

from attendance_portal.models import School

from .admission import MAX_PRIORITY, AdmissionError, Cohort
from .models import YEAR_GROUP_CHOICES, DeletionGround, Enrolment, Pupil, RegistrationGroup
from .selectors import Status

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"required": "Give the date.", "invalid": "Give the date as YYYY-MM-DD."}
COHORT_FIELDS = ["sen", "fsm", "eal", "looked_after", "child_in_need", "has_social_worker"]
PUPIL_FIELDS = ["upn", "forename", "surname", "date_of_birth", "year_group", "registration_group"]


def _date(label: str, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE_WIDGET, error_messages=DATE_ERRORS, **kwargs)


def add_errors(form: forms.Form, error: AdmissionError) -> None:
    for field, messages in error.errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class PupilForm(forms.Form):
    upn = forms.CharField(label="UPN", max_length=20, required=False,
                          help_text="Unique pupil number: 13 characters, starting with a check letter.")
    forename = forms.CharField(max_length=100, error_messages={"required": "Give the pupil's forename."})
    surname = forms.CharField(max_length=100, error_messages={"required": "Give the pupil's surname."})
    date_of_birth = _date("Date of birth")
    year_group = forms.ChoiceField(choices=[("", "Choose…"), *YEAR_GROUP_CHOICES],
                                   error_messages={"required": "Choose a year group.",
                                                   "invalid_choice": "Choose a year group from the list."})
    registration_group = forms.ModelChoiceField(
        queryset=RegistrationGroup.objects.none(), required=False, empty_label="No registration group",
        error_messages={"invalid_choice": "Choose one of this school's registration groups."})

    def __init__(self, *args: Any, school: School, adding: bool, sensitive: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this school's groups: another school's id posted here is an invalid choice.
        self.fields["registration_group"].queryset = RegistrationGroup.objects.filter(school=school)  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field
        self.fields["out_of_year"] = forms.BooleanField(
            label="Taught outside their age group", required=False,
            help_text="Tick only when the pupil is deliberately in a year group other than their age's.")
        if adding:
            self.fields["temporary_upn"] = forms.BooleanField(
                label="No UPN yet: give a temporary UPN", required=False,
                help_text="Use this until the permanent UPN arrives from the previous school or the local authority.")
            self.fields["admission_date"] = _date(
                "Admission date", help_text="The pupil's starting day: the first day the school agreed they will "
                "attend, or the day they first attend if no day was agreed.")
            self.fields["registration_type"] = forms.ChoiceField(
                label="Registration", choices=Enrolment.RegistrationType.choices,
                initial=Enrolment.RegistrationType.MAIN,
                error_messages={"invalid_choice": "Choose main, dual (main) or dual (subsidiary) registration."})
        if sensitive:
            self.fields["sen"] = forms.ChoiceField(
                label="SEN status", choices=Pupil.SEN.choices, required=False, initial=Pupil.SEN.NONE,
                error_messages={"invalid_choice": "Choose an SEN status."})
            for name in COHORT_FIELDS[1:]:
                self.fields[name] = forms.BooleanField(label=Pupil._meta.get_field(name).verbose_name.capitalize(),  # type: ignore[union-attr]  # a model's own field, never a relation
                                                       required=False)
        self.sensitive = sensitive

    def cohort(self) -> Cohort | None:
        if not self.sensitive:
            return None
        data = {name: self.cleaned_data[name] for name in COHORT_FIELDS}
        return Cohort(**{**data, "sen": data["sen"] or Pupil.SEN.NONE})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("upn") or "").strip() and not data.get("temporary_upn"):
            self.add_error("upn", "Give the pupil's UPN, or tick 'No UPN yet' for a temporary one.")
        return data

    def pupil_kwargs(self) -> dict[str, Any]:
        return {**{name: self.cleaned_data[name] for name in PUPIL_FIELDS},
                "out_of_year": self.cleaned_data.get("out_of_year", False)}

    @staticmethod
    def initial_for(pupil: Pupil) -> dict[str, Any]:
        return {**{name: getattr(pupil, name) for name in PUPIL_FIELDS},
                **{name: getattr(pupil, name) for name in COHORT_FIELDS}}


class AdmitForm(forms.Form):
    admission_date = _date("Admission date", help_text="The starting day of this new admission register entry.")
    registration_type = forms.ChoiceField(
        label="Registration", choices=Enrolment.RegistrationType.choices, initial=Enrolment.RegistrationType.MAIN,
        error_messages={"invalid_choice": "Choose main, dual (main) or dual (subsidiary) registration."})


class LeaveForm(forms.Form):
    leaving_date = _date("Leaving date", help_text="The last day the pupil is on the register.")
    deletion_ground = forms.ChoiceField(
        label="Ground for deletion", choices=[("", "Choose…"), *DeletionGround.choices],
        error_messages={"required": "Choose the ground for deleting the pupil's name from the register.",
                        "invalid_choice": "Choose a ground from the list in the regulations."})


class ContactForm(forms.Form):
    forename = forms.CharField(max_length=100, error_messages={"required": "Give the contact's forename."})
    surname = forms.CharField(max_length=100, error_messages={"required": "Give the contact's surname."})
    relationship = forms.CharField(max_length=60, help_text="For example Mother, Father, Grandparent, Carer.",
                                   error_messages={"required": "Say how the contact is related to the pupil."})
    parental_responsibility = forms.BooleanField(required=False, initial=True,
                                                 label="Has parental responsibility")
    lives_with_pupil = forms.BooleanField(required=False, initial=True, label="Lives with the pupil")
    phone = forms.CharField(max_length=40, required=False)
    email = forms.CharField(max_length=254, required=False, label="Email",
                            widget=forms.EmailInput())
    address = forms.CharField(required=False, label="Postal address",
                              help_text="House and street, then town, one per line.",
                              widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}))
    postcode = forms.CharField(max_length=10, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "postal-code"}))
    priority = forms.IntegerField(min_value=1, max_value=MAX_PRIORITY, initial=1,
                                  help_text="1 is called first.",
                                  error_messages={"required": "Give a priority from 1 to 9.",
                                                  "invalid": "Priority is a whole number from 1 to 9.",
                                                  "min_value": "Priority is a whole number from 1 to 9.",
                                                  "max_value": "Priority is a whole number from 1 to 9."})


class RegisterFilterForm(forms.Form):
    q = forms.CharField(label="Name or UPN", required=False, max_length=100)
    group = forms.ModelChoiceField(queryset=RegistrationGroup.objects.none(), required=False,
                                   label="Registration group", empty_label="All groups")
    year = forms.ChoiceField(label="Year group", required=False, choices=[("", "All years"), *YEAR_GROUP_CHOICES])
    status = forms.ChoiceField(label="Show", required=False, initial=Status.ON_ROLL, choices=[
        (Status.ON_ROLL, "On roll"), (Status.LEFT, "Left"), (Status.ALL, "Everyone")])

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = RegistrationGroup.objects.filter(school=school)  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field
