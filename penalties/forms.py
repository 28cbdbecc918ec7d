"""Forms for penalty-notice pages; the rules are the services', the forms only read the input."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from .models import Consideration


class ConsiderForm(forms.Form):
    decision = forms.ChoiceField(choices=Consideration.Decision.choices, widget=forms.RadioSelect)
    support = forms.ChoiceField(label="Support so far", choices=Consideration.Support.choices)
    other_step_better = forms.CharField(label="Would another step change the parents' behaviour?",
                                        widget=forms.Textarea(attrs={"rows": 2}))
    equality = forms.CharField(label="Equality Act duties: what did you consider?",
                               widget=forms.Textarea(attrs={"rows": 2}))
    term_time_holiday = forms.BooleanField(label="The absence is a holiday taken in term time (G)", required=False)
    reasons = forms.CharField(label="Reasons for the decision", widget=forms.Textarea(attrs={"rows": 3}))


class NoticeToImproveForm(forms.Form):
    weeks = forms.IntegerField(label="Improvement period (school weeks)", min_value=1, max_value=52,
                               required=False)
    allowed_sessions = forms.IntegerField(label="Sufficient improvement: at most this many unauthorised sessions",
                                          min_value=0, max_value=50, required=False)


class SubmitForm(forms.Form):
    incomplete_reason = forms.CharField(label="Reason for submitting without what is missing", required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))


class DelegateForm(forms.Form):
    user = forms.IntegerField(widget=forms.Select)
    position = forms.ChoiceField(choices=[("Deputy headteacher", "Deputy headteacher"),
                                          ("Assistant headteacher", "Assistant headteacher")])


class ReturnForm(forms.Form):
    missing = forms.CharField(label="What is missing", widget=forms.Textarea(attrs={"rows": 2}))


class DeclineForm(forms.Form):
    reason = forms.CharField(label="Reason for declining", widget=forms.Textarea(attrs={"rows": 2}))


class IssueForm(forms.Form):
    guardian_id = forms.IntegerField(widget=forms.HiddenInput)
    number = forms.CharField(label="Notice number", max_length=40)
    issued_on = forms.DateField(label="Issue date", initial=timezone.localdate,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class PayForm(forms.Form):
    paid_on = forms.DateField(label="Paid on", initial=timezone.localdate,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    amount = forms.DecimalField(label="Amount (£)", min_value=Decimal("0.01"), max_digits=7, decimal_places=2)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label="Reason for withdrawing", widget=forms.Textarea(attrs={"rows": 2}))


class ProsecuteForm(forms.Form):
    prosecuted_on = forms.DateField(label="Decided on", initial=timezone.localdate,
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
