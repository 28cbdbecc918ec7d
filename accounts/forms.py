from __future__ import annotations

from typing import Any

from django import forms


class NewAccountForm(forms.Form):
    password1 = forms.CharField(label="Choose a password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="The same password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords are not the same.")
        return data


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=24, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text",
                                                         "autocapitalize": "off", "spellcheck": "false"}))
