"""Every casework route, with objects built in the school under test."""

from __future__ import annotations

from tests.routes import Route

from .factories import ladder_change, make_action, make_case, make_clock, make_contract, make_meeting


def _case(school):
    return {"case_id": make_case(school).pk}


ROUTES: list[Route] = [
    Route("interventions:queue"),
    Route("interventions:persistent"),
    Route("interventions:severe"),
    Route("interventions:at_risk"),
    Route("interventions:case_open", method="post",
          data=lambda s: {"enrolment": make_case(s).enrolment_id, "reason": "By hand"}),
    Route("interventions:bulk_propose", method="post", data=lambda s: {"cases": [make_case(s).pk]}),
    Route("interventions:bulk_approve", method="post", data=lambda s: {"actions": [make_action(s).pk]}),
    # A GET reads the ladder; a POST (this change, saved) needs "edit_ladder".
    Route("interventions:ladder", data=ladder_change),
    Route("interventions:case", make=_case),
    Route("interventions:case_note", method="post", make=_case, data=lambda s: {"kind": "note", "text": "Called"}),
    Route("interventions:case_stage", method="post", make=_case, data=lambda s: {"stage": 1, "why": "x"}),
    Route("interventions:case_close", method="post", make=_case, data=lambda s: {"outcome": "other", "why": "x"}),
    Route("interventions:case_owner", method="post", make=_case, data=lambda s: {"owner": 1}),
    Route("interventions:letter_propose", method="post", make=_case),
    Route("interventions:meeting_create", method="post", make=_case,
          data=lambda s: {"meeting_type": "Meeting", "when": "2030-01-01T10:00", "place": "Room 1",
                          "invitees": "Sam Hale, parent"}),
    Route("interventions:contract_create", method="post", make=_case,
          data=lambda s: {"kind": "contract", "start": "2025-10-01", "end": "2026-01-01", "target_percent": "95",
                          "parent_commitments": "x", "school_support": "y"}),
    Route("interventions:case_context", method="post", make=_case,
          data=lambda s: {"young_carer": "on", "why": "Told by the SENCo"}),
    Route("interventions:support_add", method="post", make=_case,
          data=lambda s: {"kind": "mentoring", "offered_on": "2025-10-01", "taken_up": "accepted"}),
    Route("interventions:action", make=lambda s: {"action_id": make_action(s).pk}),
    Route("interventions:meeting_rearrange", method="post", make=lambda s: {"meeting_id": make_meeting(s).pk},
          data=lambda s: {"when": "2099-01-05T10:00", "place": "Room 2", "why": "The parent works that day"}),
    Route("interventions:meeting_record", method="post", make=lambda s: {"meeting_id": make_meeting(s).pk},
          data=lambda s: {"status": "held", "minutes": "Talked"}),
    Route("interventions:contract_review", method="post", make=lambda s: {"contract_id": make_contract(s).pk},
          data=lambda s: {"outcome": "improved"}),
    Route("interventions:clock_done", method="post", make=lambda s: {"clock_id": make_clock(s).pk},
          data=lambda s: {"note": "Told the LA"}),
    # Parent portal: another family's child is a 404.
    Route("parent_casework:letters", kind="parent", make=lambda s: {"pupil_id": _family_child(s)}),
    # API
    Route("api:case-list", api=True),
    Route("api:case-detail", api=True, make=lambda s: {"pk": make_case(s).pk}),
    Route("api:case-event-list", api=True, make=_case),
    Route("api:meeting-list", api=True),
    Route("api:contract-list", api=True),
]


def _family_child(school):
    from tests.absence.factories import family

    return family(school)[0].pk
