"""The product's own starting letters, one per kind, in plain and supportive English.

Support comes first; the legal paragraphs appear only at the stages that need them (stage 4, stage 5,
notice to improve, warning, leave refused). A school edits them in the browser; installing defaults
never touches a kind the school already has.
"""

from __future__ import annotations

from attendance_portal.models import School, User

from .models import LetterKind, LetterTemplate
from .templating import template_check

K = LetterKind
CONTACT = ("If you would like to talk about this, please contact {{ school.attendance_lead }} on "
           "{{ school.phone }} or at {{ school.email }}.")
FIGURES = ("So far this school year ({{ period.start }} to {{ period.end }}), {{ pupil.forename }} has attended "
           "{{ figures.attendance_percent }}% of sessions and missed {{ figures.sessions_missed }} sessions, which "
           "is {{ figures.days_missed }} school days.")
LEGAL = ("You have a legal duty to make sure that {{ pupil.forename }} attends school regularly (section 444 of "
         "the Education Act 1996). If attendance does not improve, the school may ask the local authority to "
         "consider further action, which can include a penalty notice or prosecution. We would much rather work "
         "this out with you.")
MEETING = ("We would like to meet you on {{ meeting.date }} at {{ meeting.time }} at {{ meeting.place }}. "
           "{{ meeting.with }} will be there. You are welcome to bring someone with you for support.")

DEFAULTS: dict[str, tuple[str, str, bool]] = {
    K.STAGE_1: ("{{ pupil.forename }}'s attendance: can we help?", f"""\
We are writing because {{{{ pupil.forename }}}} has missed more school this year than we would hope, and we want \
to help.

{FIGURES}

Every day in school counts. Here is how attendance adds up over a whole school year:

{{{{ attendance_table }}}}

The sessions missed so far are listed below, so that you can check them against your own records.

{{{{ sessions_table }}}}

If something is making it hard for {{{{ pupil.forename }}}} to come to school, such as worries, health or \
something at home, please tell us. We can often help, and we can point you to others who can.

{CONTACT}
""", False),
    K.STAGE_2: ("{{ pupil.forename }}'s attendance is still a concern", f"""\
Thank you for the support you have given since we last wrote. {{{{ pupil.forename }}}}'s attendance has not yet \
improved as much as we had hoped.

{FIGURES}

{{{{ sessions_table }}}}

We would like to agree some simple steps with you. Please get in touch so that we can talk about what would help.

{CONTACT}
""", True),
    K.STAGE_3: ("Invitation to a meeting about {{ pupil.forename }}'s attendance", f"""\
We are inviting you to a meeting about {{{{ pupil.forename }}}}'s attendance, so that together we can understand \
what is getting in the way and agree the support that would help.

{FIGURES}

{MEETING}

Please let us know that you can come, or tell us a better time, by {{{{ deadline }}}}.

{{{{ sessions_table }}}}

{CONTACT}
""", True),
    K.STAGE_4: ("{{ pupil.forename }}'s attendance: a formal meeting", f"""\
Since our meeting, {{{{ pupil.forename }}}}'s attendance has not improved enough.

{FIGURES}

{{{{ sessions_table }}}}

{LEGAL}

{MEETING} The local authority's attendance team may also be invited.

From now on we may ask for evidence of illness, such as an appointment card or a prescription, before we record \
an absence as authorised.

{CONTACT}
""", True),
    K.STAGE_5: ("We missed you at the meeting about {{ pupil.forename }}", f"""\
We were sorry that you could not come to the meeting about {{{{ pupil.forename }}}}'s attendance on \
{{{{ meeting.date }}}}. The notes of the meeting and the actions agreed are enclosed.

{FIGURES}

{LEGAL}

We will keep a close eye on {{{{ pupil.forename }}}}'s attendance and punctuality. We still want to work with you: \
please contact us so that we can arrange another time to talk.

{CONTACT}
""", True),
    K.PUNCTUALITY: ("Arriving on time: {{ pupil.forename }}", f"""\
{{{{ pupil.forename }}}} has arrived late {{{{ figures.late_sessions }}}} times so far this school year.

Arriving on time helps {{{{ pupil.forename }}}} to:
- start the day calmly with friends
- hear the instructions for the first lesson
- avoid the worry of walking into a class that has already begun

The school gates open before registration, and the register closes shortly after. Arriving after it closes \
counts as an absence for that session.

If mornings are difficult at the moment, please tell us: we may be able to help.

{CONTACT}
""", False),
    K.PRAISE: ("Well done, {{ pupil.forename }}!", """\
We are delighted to tell you that {{ pupil.forename }}'s attendance has improved, and is now \
{{ figures.attendance_percent }}% this school year.

Thank you for all you have done to make this happen. Good attendance gives {{ pupil.forename }} the best chance \
to learn, make friends and enjoy school.

{{ attendance_table }}

Please pass on our congratulations to {{ pupil.forename }}.
""", False),
    K.MEETING_INVITATION: ("Invitation to a meeting about {{ pupil.forename }}", f"""\
We would like to meet you to talk about {{{{ pupil.forename }}}}'s attendance and how we can support it.

{MEETING}

Please let us know that you can come, or suggest another time, by {{{{ deadline }}}}.

{CONTACT}
""", True),
    K.MEETING_REARRANGED: ("A new time for our meeting about {{ pupil.forename }}", f"""\
Our meeting about {{{{ pupil.forename }}}}'s attendance has moved.

{MEETING}

We are sorry for any inconvenience. Please let us know that the new time suits you.

{CONTACT}
""", True),
    K.DID_NOT_ATTEND: ("Our meeting about {{ pupil.forename }}", f"""\
We were expecting you at a meeting about {{{{ pupil.forename }}}}'s attendance on {{{{ meeting.date }}}}, and we \
are sorry that it did not go ahead.

It is important that we talk soon. Please contact us by {{{{ deadline }}}} so that we can find a time that works \
for you.

{CONTACT}
""", True),
    K.CONTRACT: ("{{ pupil.forename }}'s attendance contract", f"""\
Thank you for meeting us. This letter confirms the attendance contract we agreed together for \
{{{{ pupil.forename }}}}.

An attendance contract is a written agreement between you and the school. It sets out what each of us will do \
to help {{{{ pupil.forename }}}} attend school regularly. It is voluntary, but it is a formal step.

{FIGURES}

We will review the contract with you on {{{{ deadline }}}}.

{CONTACT}
""", True),
    K.ACTION_PLAN: ("{{ pupil.forename }}'s attendance action plan", f"""\
Thank you for talking with us. Enclosed is the action plan we agreed to support {{{{ pupil.forename }}}}'s \
attendance.

{FIGURES}

We will look at how things are going together on {{{{ deadline }}}}.

{CONTACT}
""", False),
    K.NOTICE_TO_IMPROVE: ("Notice to improve: {{ pupil.name }}'s attendance", f"""\
We have written to you and met you about {{{{ pupil.forename }}}}'s attendance, and it has not improved enough. \
This letter is a formal notice to improve.

{FIGURES}

{{{{ sessions_table }}}}

{LEGAL}

The support we have offered remains open to you. For the next period, until {{{{ deadline }}}}, we will check \
{{{{ pupil.forename }}}}'s attendance closely. If it does not improve, the local authority may consider issuing a \
penalty notice to each parent.

{CONTACT}
""", True),
    K.WARNING: ("Warning: {{ pupil.name }}'s attendance has not improved", f"""\
We wrote to you recently about {{{{ pupil.forename }}}}'s attendance. It has not improved since then.

{FIGURES}

{{{{ sessions_table }}}}

{LEGAL}

Please contact us straight away so that we can talk about what will help.

{CONTACT}
""", True),
    K.LEAVE_GRANTED: ("Leave of absence for {{ pupil.forename }}: agreed", """\
Thank you for your request. The headteacher has agreed leave of absence for {{ pupil.forename }} from \
{{ leave.first_date }} to {{ leave.last_date }}.

{{ leave.reason }}

We look forward to seeing {{ pupil.forename }} back at school on the next school day after the leave.
""", False),
    K.LEAVE_REFUSED: ("Leave of absence for {{ pupil.forename }}: not agreed", f"""\
Thank you for your request for leave of absence for {{{{ pupil.forename }}}} from {{{{ leave.first_date }}}} to \
{{{{ leave.last_date }}}}. The headteacher is not able to agree it.

{{{{ leave.reason }}}}

The law allows leave in term time only in exceptional circumstances. If {{{{ pupil.forename }}}} is absent on \
these days, the absence will be recorded as unauthorised, and the local authority may consider a penalty notice.

{CONTACT}
""", False),
    K.MEDICAL_EVIDENCE: ("{{ pupil.forename }}'s illness: could you send us some evidence?", f"""\
We hope {{{{ pupil.forename }}}} is feeling better. {{{{ pupil.forename }}}} has been off sick for several days, \
and we would be grateful for something from a doctor, pharmacist or hospital to go with our records, such as an \
appointment card, a prescription or a letter.

Please send it to the school office by {{{{ deadline }}}}. If {{{{ pupil.forename }}}} has a longer-term health \
need, please tell us: we may be able to put support in place.

{CONTACT}
""", False),
    K.LA_REFERRAL: ("{{ pupil.name }}: referral to the local authority", f"""\
We are writing to let you know that we have asked the local authority's attendance team to help with \
{{{{ pupil.forename }}}}'s attendance.

{FIGURES}

{{{{ sessions_table }}}}

Someone from the team may contact you. The school will keep supporting {{{{ pupil.forename }}}} and you.

{CONTACT}
""", False),
}
assert set(DEFAULTS) == set(LetterKind)  # noqa: S101 - every kind has a starting letter
for _subject, _body, _slip in DEFAULTS.values():
    template_check(_subject)
    template_check(_body)


def templates_install_defaults(*, school: School, by: User | None = None,
                               kinds: list[str] | None = None) -> list[LetterTemplate]:
    """Version 1 of each default letter the school does not have yet."""
    have = set(LetterTemplate.objects.filter(school=school, language="en").values_list("kind", flat=True))
    wanted = [k for k in (kinds or list(DEFAULTS)) if k not in have]
    return LetterTemplate.objects.bulk_create([
        LetterTemplate(school=school, kind=kind, language="en", version=1, subject=DEFAULTS[kind][0],
                       body=DEFAULTS[kind][1], reply_slip=DEFAULTS[kind][2], created_by=by) for kind in wanted])
