"""The intervention ladders of the four seed policies (dfe-rules §6.2), as data for `ladder_create`.

Each is a school's own policy, not the product's: a school edits its ladder (a new one from a day).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from attendance_portal.roles import Role
from reporting.models import SignalKind

from .models import PlanKind

K = SignalKind
LEADS = [Role.SENIOR_ATTENDANCE_CHAMPION.value, Role.HEADTEACHER.value]
HEAD = [Role.HEADTEACHER.value]
RATE = [K.BELOW_THRESHOLD.value, K.PERSISTENT_ABSENCE.value, K.SEVERE_ABSENCE.value]

# Meadowside: letters 1–5, an attendance action plan reviewed within 6 school weeks, extendable by 6.
MEADOWSIDE: dict[str, Any] = {
    "name": "Meadowside letters and action plan",
    "punctuality_letter": "Punctuality letter", "praise_letter": "You have helped",
    "hold_illness_share": 50,
    "stages": [
        {"name": "Letter 1: initial concerns", "entry_kinds": RATE, "letter": "Letter 1: initial concerns",
         "escalate_after_weeks": 4},
        {"name": "Letter 2: improvement needed", "letter": "Letter 2: improvement needed", "escalate_after_weeks": 4},
        {"name": "Letter 3: attendance meeting", "letter": "Letter 3: attendance meeting invitation",
         "meeting_type": "Attendance meeting", "plan": PlanKind.ACTION_PLAN, "review_after_weeks": 6,
         "extend_weeks": 6, "escalate_on_did_not_attend": True},
        {"name": "Letter 4: inclusion meeting", "letter": "Letter 4: inclusion meeting",
         "meeting_type": "Inclusion meeting with the LA inclusion partnership lead", "movers": LEADS,
         "escalate_on_did_not_attend": True},
        {"name": "Letter 5: failure to attend", "letter": "Letter 5: failure to attend",
         "referral": "Local authority (penalty notice or prosecution)", "movers": HEAD},
    ],
}

# Micklem: a letter below 95 %, a meeting with the SLT attendance lead, a support plan, the LA by day 10.
MICKLEM: dict[str, Any] = {
    "name": "Micklem attendance support",
    "punctuality_letter": "Punctuality concern letter", "praise_letter": "Thank you for improving attendance",
    "hold_illness_share": 50,
    "stages": [
        {"name": "Attendance below 95%", "entry_kinds": RATE, "entry_below_percent": Decimal("95.0"),
         "letter": "Attendance concern letter", "escalate_after_weeks": 4},
        {"name": "Meeting with the SLT attendance lead", "meeting_type": "Meeting with the SLT attendance lead",
         "letter": "Meeting invitation", "escalate_on_did_not_attend": True},
        {"name": "Personalised support plan", "plan": PlanKind.CONTRACT, "review_after_weeks": 6,
         "meeting_type": "Team around the family meeting"},
        {"name": "Referral to the local authority", "referral": "LA attendance support team", "movers": HEAD},
    ],
}

# Moorlands: letter below 95 %, warning after 4 weeks, three interviews each with a contract, the final one
# with a referral to the Attendance and Prosecution Officer; every persistently absent pupil on a contract.
MOORLANDS: dict[str, Any] = {
    "name": "Moorlands interviews and contracts",
    "punctuality_letter": "Punctuality letter: more than 3 lates in 3 weeks", "praise_letter": "Well done letter",
    "hold_illness_share": 60,
    "stages": [
        {"name": "Attendance concern letter", "entry_kinds": [K.BELOW_THRESHOLD.value],
         "entry_below_percent": Decimal("95.0"), "letter": "Attendance below 95% letter", "escalate_after_weeks": 4},
        {"name": "1st interview: class teacher", "entry_kinds": [K.PERSISTENT_ABSENCE.value],
         "letter": "Warning letter and interview invitation", "meeting_type": "1st interview with the class teacher",
         "plan": PlanKind.CONTRACT, "review_after_weeks": 6, "escalate_on_did_not_attend": True},
        {"name": "2nd interview: deputy or headteacher", "meeting_type": "2nd interview with the deputy or head",
         "plan": PlanKind.CONTRACT, "review_after_weeks": 6, "movers": LEADS, "escalate_on_did_not_attend": True},
        {"name": "Final interview and referral", "entry_kinds": [K.PENALTY_THRESHOLD.value],
         "meeting_type": "Final interview with the headteacher", "plan": PlanKind.CONTRACT,
         "referral": "Attendance and Prosecution Officer", "movers": HEAD},
    ],
}

# Basildon Lower: letter below 95 %, meeting, support plan and panel, notice to improve, LA referral.
BASILDON: dict[str, Any] = {
    "name": "Basildon Lower attendance procedure",
    "punctuality_letter": "Punctuality concern letter", "praise_letter": "Attendance reward letter",
    "hold_illness_share": 50,
    "stages": [
        {"name": "Attendance concern letter", "entry_kinds": RATE, "entry_below_percent": Decimal("95.0"),
         "letter": "Attendance concern letter (medical evidence from now on)", "escalate_after_weeks": 4},
        {"name": "Meeting with the senior attendance officer", "letter": "Meeting invitation",
         "meeting_type": "Meeting with the senior attendance officer", "escalate_on_did_not_attend": True},
        {"name": "Attendance panel and support plan", "meeting_type": "Attendance panel",
         "plan": PlanKind.CONTRACT, "review_after_weeks": 6, "movers": LEADS},
        {"name": "Notice to improve", "entry_kinds": [K.PENALTY_THRESHOLD.value], "notice": "Notice to improve",
         "review_after_weeks": 6, "movers": HEAD},
        {"name": "Referral to the local authority", "referral": "Local authority penalty notice team", "movers": HEAD},
    ],
}

# The national ladder (Working together to improve school attendance, 2024) for a school without its own.
NATIONAL: dict[str, Any] = {
    "name": "Listen, support, formalise",
    "stages": [
        {"name": "Listen and understand", "entry_kinds": RATE, "letter": "Attendance concern letter",
         "meeting_type": "Support meeting", "escalate_after_weeks": 4},
        {"name": "Facilitate support", "meeting_type": "Support meeting", "escalate_after_weeks": 4},
        {"name": "Formalise support", "plan": PlanKind.CONTRACT, "review_after_weeks": 6, "extend_weeks": 6,
         "letter": "Attendance contract invitation"},
        {"name": "Enforce", "notice": "Notice to improve", "referral": "Local authority", "movers": HEAD},
    ],
}
