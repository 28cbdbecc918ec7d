"""Forms for staff management: shape and type checks only; the rules are in `staff.services`."""

from __future__ import annotations

from typing import Any

from django import forms

from attendance_portal.models import School
from attendance_portal.roles import TRUST_ROLES, Role
from registers.models import RegistrationGroup

from .selectors import SCHOOL_ROLES


def _role_choices(trust: bool) -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in (sorted(TRUST_ROLES) if trust else SCHOOL_ROLES)]


class RolesMixin(forms.Form):
    roles = forms.MultipleChoiceField(label="Roles", widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": "Choose at least one role.",
                                                      "invalid_choice": "Choose roles from the list."})
    groups = forms.ModelMultipleChoiceField(
        label="Registration groups they take", required=False, queryset=RegistrationGroup.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose registration groups of this school.",
                        "invalid_pk_value": "Choose registration groups of this school."})

    def __init__(self, *args: Any, school: School | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices(trust=school is None)  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field
        if school is None:
            del self.fields["groups"]
        else:
            # Only this school's groups: another school's id is "not one of the choices".
            self.fields["groups"].queryset = RegistrationGroup.objects.filter(school=school)  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field

    def group_ids(self) -> list[int]:
        return [g.pk for g in self.cleaned_data.get("groups") or []]


class InviteForm(RolesMixin):
    email = forms.EmailField(label="E-mail address", max_length=254, error_messages={
        "required": "Give the person's e-mail address.",
        "invalid": "Give a valid e-mail address, such as name@school.org.uk."})
    first_name = forms.CharField(label="First name", max_length=150,
                                 error_messages={"required": "Give the person's first name."})
    last_name = forms.CharField(label="Last name", max_length=150,
                                error_messages={"required": "Give the person's last name."})
    position = forms.CharField(label="Job title", max_length=120, required=False,
                               help_text="Recorded against the register changes they make, e.g. 'Year 5 teacher'.")

    field_order = ["email", "first_name", "last_name", "position", "roles", "groups"]


class MemberForm(RolesMixin):
    delegate = forms.BooleanField(label="May manage staff for the school", required=False,
                                  help_text="Invite staff, change roles and deactivate leavers, as the "
                                            "headteacher can.")

    def __init__(self, *args: Any, school: School | None = None, may_delegate: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, school=school, **kwargs)
        if school is None or not may_delegate:
            del self.fields["delegate"]


class AcceptForm(forms.Form):
    password1 = forms.CharField(label="New password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}), error_messages={"required": "Choose a password."})
    password2 = forms.CharField(label="New password again", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}), error_messages={"required": "Type the password again."})


class RoleCodesForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in SCHOOL_ROLES if r != Role.GOVERNOR],
                             error_messages={"invalid_choice": "Choose a role from the list."})
    codes = forms.MultipleChoiceField(label="Codes", widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": "Choose at least one code.",
                                                      "invalid_choice": "Choose codes from the list."})

    def __init__(self, *args: Any, code_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["codes"].choices = code_choices  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field
