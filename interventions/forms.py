"""Forms for casework pages: each checks its input and gives a clear message; services do the writing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from attendance_portal.roles import Role
from reporting.models import SignalKind

from .models import Case, EventKind, Meeting, PlanKind, PupilContext, SupportRecord
from .services import CONTRACT_OUTCOMES, DECISIONS, MOVER_ROLES, NOTE_KINDS, ladder_problems

MOVER_CHOICES = [(r, Role(r).label) for r in MOVER_ROLES]
YEAR_GROUPS = [("", "All year groups")] + [(y, f"Year {y}" if y.isdigit() else y) for y in
                                            ["N1", "N2", "R", *[str(n) for n in range(1, 15)]]]


class QueueFilterForm(forms.Form):
    year_group = forms.ChoiceField(choices=YEAR_GROUPS, required=False)
    cohort = forms.ChoiceField(required=False, choices=[
        ("", "All pupils"), ("sen", "SEN support"), ("ehcp", "EHCP"), ("fsm", "Free school meals"),
        ("looked_after", "Looked-after"), ("child_in_need", "Child in need"), ("social_worker", "Social worker")])
    stage = forms.IntegerField(required=False, min_value=1, max_value=20)
    owner = forms.IntegerField(required=False, min_value=1)
    mine = forms.BooleanField(required=False, label="Only my cases")


class OpenCaseForm(forms.Form):
    enrolment = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, label="Why open a case")


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in NOTE_KINDS], label="What")
    text = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 3}), label="What happened")


class StageForm(forms.Form):
    stage = forms.IntegerField(min_value=1, label="Move to")
    why = forms.CharField(max_length=1000, label="Why")


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[c for c in Case.Outcome.choices if c[0]])
    why = forms.CharField(max_length=1000)


class OwnerForm(forms.Form):
    owner = forms.IntegerField(min_value=1)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d, d) for d in DECISIONS], widget=forms.RadioSelect)
    reason = forms.CharField(max_length=300, required=False, label="Reason")
    title = forms.CharField(max_length=160, required=False, label="Send this instead")
    support_kind = forms.ChoiceField(choices=[("", "—"), *SupportRecord.Kind.choices], required=False,
                                     label="Support to record instead")


class BulkForm(forms.Form):
    cases = forms.TypedMultipleChoiceField(coerce=int, choices=[], label="Cases")

    def __init__(self, *args: Any, case_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cases"].choices = [(i, str(i)) for i in case_ids]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field


class BulkApproveForm(forms.Form):
    actions = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, action_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actions"].choices = [(i, str(i)) for i in action_ids]  # type: ignore[attr-defined]  # a ChoiceField; form fields are typed as Field


class MeetingRearrangeForm(forms.Form):
    when = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="New date and time")
    place = forms.CharField(max_length=200, label="Place")
    why = forms.CharField(max_length=1000, label="Why it moves")

    def clean_when(self) -> dt.datetime:
        when: dt.datetime = self.cleaned_data["when"]
        if when < timezone.now():
            raise forms.ValidationError("The new time must be in the future.")
        return when


class MeetingForm(forms.Form):
    meeting_type = forms.CharField(max_length=120)
    when = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(max_length=200)
    invitees = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text="One a line: name, role (for example 'Sam Hale, parent').")

    def clean_when(self) -> dt.datetime:
        when: dt.datetime = self.cleaned_data["when"]
        if when < timezone.now() - dt.timedelta(days=1):
            raise forms.ValidationError("A meeting is arranged for a future date.")
        return when

    def clean_invitees(self) -> list[dict[str, str]]:
        found = []
        for line in self.cleaned_data["invitees"].splitlines():
            if not line.strip():
                continue
            name, _, role = line.partition(",")
            if not name.strip() or not role.strip():
                raise forms.ValidationError(f"'{line.strip()}': write a name and a role, separated by a comma.")
            found.append({"name": name.strip(), "role": role.strip()})
        if not found:
            raise forms.ValidationError("Invite at least one person.")
        return found


def _actions(text: str) -> list[dict[str, str]]:
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or not all(parts):
            raise forms.ValidationError(f"'{line.strip()}': write the action, who and the due date (YYYY-MM-DD).")
        try:
            dt.date.fromisoformat(parts[2])
        except ValueError:
            raise forms.ValidationError(f"'{parts[2]}' is not a date (YYYY-MM-DD).") from None
        found.append({"action": parts[0], "owner": parts[1], "due": parts[2]})
    return found


class MeetingRecordForm(forms.Form):
    status = forms.ChoiceField(choices=[(Meeting.Status.HELD, "Held"),
                                        (Meeting.Status.DID_NOT_ATTEND, "Parents did not attend")])
    attended = forms.CharField(max_length=1000, required=False, help_text="Names, one a line.")
    minutes = forms.CharField(max_length=10000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    agreed_actions = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text="One a line: action, owner, due date (YYYY-MM-DD).")

    def clean_attended(self) -> list[str]:
        return [n.strip() for n in self.cleaned_data["attended"].splitlines() if n.strip()]

    def clean_agreed_actions(self) -> list[dict[str, str]]:
        return _actions(self.cleaned_data["agreed_actions"])


class ContractForm(forms.Form):
    kind = forms.ChoiceField(choices=[c for c in PlanKind.choices if c[0]])
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    target_percent = forms.DecimalField(min_value=Decimal("1"), max_value=Decimal("100"), decimal_places=1,
                                        label="Target attendance %")
    reasons = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    parent_commitments = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                                         label="What the parents agree to do")
    school_support = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                                     label="Support the school will give")
    la_support = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 label="Support the local authority will give")
    pupil_views = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  label="The pupil's strengths and views")
    issues = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=[
        (i, i) for i in ("Bullying", "Medical", "Home", "Transport", "Peer relationships", "Staff relationships",
                         "Academic", "Behaviour or attitude", "Community or other")])
    agreed_actions = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="One a line: action, owner, due date (YYYY-MM-DD).")
    legal_consequences_explained = forms.BooleanField(required=False)

    def clean_agreed_actions(self) -> list[dict[str, str]]:
        return _actions(self.cleaned_data["agreed_actions"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end of the agreed period must be after its start.")
        return data


class ContractReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=[(o, o.capitalize()) for o in CONTRACT_OUTCOMES])
    why = forms.CharField(max_length=2000, required=False)


class SupportForm(forms.Form):
    kind = forms.ChoiceField(choices=SupportRecord.Kind.choices)
    offered_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    taken_up = forms.ChoiceField(choices=SupportRecord.TakenUp.choices)
    provider = forms.CharField(max_length=120, required=False)
    note = forms.CharField(max_length=300, required=False)


class ClockDoneForm(forms.Form):
    note = forms.CharField(max_length=300, label="What was done")


class LadderForm(forms.Form):
    """A change to the ladder: its name, the letters outside the stages, and the day it starts."""

    name = forms.CharField(max_length=120, label="Name of the ladder")
    punctuality_letter = forms.CharField(max_length=120, required=False, label="Punctuality letter",
                                         help_text="Proposed when a pupil on a case starts being late repeatedly.")
    praise_letter = forms.CharField(max_length=120, required=False, label="Praise letter",
                                    help_text="Proposed when every concern behind a case has ended.")
    effective_from = forms.DateField(widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
                                     required=False, label="From",
                                     help_text="Today or later. Empty: today.")

    def clean_effective_from(self) -> dt.date:
        day: dt.date | None = self.cleaned_data.get("effective_from")
        today = timezone.localdate()
        if day is not None and day < today:
            raise forms.ValidationError("A change starts today or later: what was done under the ladder in force "
                                        "stays as it was.")
        return day or today


def _weeks(label: str) -> forms.IntegerField:
    return forms.IntegerField(min_value=1, max_value=52, required=False, label=label)


class LadderStageForm(forms.Form):
    """One stage: when a case enters it, what it offers, who may move a case on, and when it should move."""

    name = forms.CharField(max_length=120, label="Name of the stage")
    entry_kinds = forms.MultipleChoiceField(choices=SignalKind.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple, label="Enters on these concerns")
    entry_below_percent = forms.DecimalField(min_value=Decimal("50"), max_value=Decimal("100"), decimal_places=1,
                                             required=False, label="Or attendance below (%)")
    letter = forms.CharField(max_length=120, required=False, label="Letter")
    meeting_type = forms.CharField(max_length=120, required=False, label="Meeting")
    plan = forms.ChoiceField(choices=[("", "No contract or plan"), *[c for c in PlanKind.choices if c[0]]],
                             required=False, label="Contract or plan")
    review_after_weeks = _weeks("Review after (school weeks)")
    extend_weeks = _weeks("May extend by (school weeks)")
    notice = forms.CharField(max_length=120, required=False, label="Notice")
    referral = forms.CharField(max_length=160, required=False, label="Referral to")
    movers = forms.MultipleChoiceField(choices=MOVER_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                       label="Who may move a case on",
                                       help_text="None ticked: anyone working the case.")
    escalate_after_weeks = _weeks("Propose moving on after (school weeks without improvement)")
    escalate_on_did_not_attend = forms.BooleanField(required=False,
                                                    label="Propose moving on when the parents do not attend a meeting")

    OFFERS = ("letter", "meeting_type", "plan", "review_after_weeks", "extend_weeks", "notice", "referral")

    def offers(self) -> list[forms.BoundField]:
        """The fields of what the stage offers, in order (for the page)."""
        return [self[name] for name in self.OFFERS]


class BaseLadderStageFormSet(forms.BaseFormSet):
    """The stages in order; a stage ticked for removal, and the empty one offered for a new stage, are left
    out. The ladder-wide checks (an opening condition on the first, no escalation from the last) are the
    service's (`ladder_problems`), so the page and every other caller give the same message."""

    def clean(self) -> None:
        if any(self.errors) or not self.management_form.is_valid():
            return  # each form's own message (or the missing management form's) says what to mend first
        stages = self.stages()
        problems = ladder_problems(stages)
        if problems:
            raise forms.ValidationError(problems)

    def stages(self) -> list[dict[str, Any]]:
        kept = []
        for n, form in enumerate(self.forms):
            if form.cleaned_data.get("DELETE") or (n >= self.initial_form_count() and not form.has_changed()):
                continue
            data = dict(form.cleaned_data)
            data.pop("DELETE", None)
            kept.append(data)
        return kept


LadderStageFormSet = forms.formset_factory(LadderStageForm, formset=BaseLadderStageFormSet, extra=1, can_delete=True,
                                           max_num=12, validate_max=True, absolute_max=20)


def ladder_stage_initial(stages: list[Any]) -> list[dict[str, Any]]:
    return [{name: getattr(stage, name) for name in LadderStageForm.base_fields} for stage in stages]


EVENT_KIND_LABELS = dict(EventKind.choices)


class PupilContextForm(forms.ModelForm):
    """What the register does not hold and a context review needs; the reason goes on the case timeline."""

    why = forms.CharField(max_length=1000, label="How you know", widget=forms.TextInput())

    class Meta:
        model = PupilContext
        fields = ["young_carer", "health_plan", "safeguarding_flag"]
        labels = {"safeguarding_flag": "Open safeguarding note (held elsewhere)"}
