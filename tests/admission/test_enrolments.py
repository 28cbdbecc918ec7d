"""Recording a pupil leaving (with the confirmation and reminders) and admitting them again."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from registers.admission import AdmissionError, enrolment_admit, enrolment_leave
from registers.models import Enrolment
from tests import factories as f

from .conftest import counts

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def entry(adm) -> Enrolment:
    with scope(school=adm.school):
        return Enrolment.objects.get(pk=adm.enrolment.pk)


def test_leave_form_then_confirmation_then_saved(adm, world, client_as):
    client = client_as(world.users["office_staff"])
    url = adm.url("enrolment_leave", enrolment_id=adm.enrolment.pk)
    form = text(client.get(url))
    assert "Ground for deletion" in form and "Registered at another school" in form

    first = client.post(url, {"leaving_date": "2025-10-10", "deletion_ground": "other_school"})
    assert first.status_code == 200
    page = text(first)
    assert "Confirm: Ada Lovelace leaves the register" in page and "Friday 10 October 2025" in page
    assert "deletion return to the local authority" in page
    assert "social worker" not in page
    assert entry(adm).leaving_date is None  # nothing written before confirming

    done = client.post(url, {"leaving_date": "2025-10-10", "deletion_ground": "other_school", "confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == adm.url("pupil", pupil_id=adm.pupil.pk)
    saved = entry(adm)
    assert (saved.leaving_date, saved.deletion_ground) == (dt.date(2025, 10, 10), "other_school")
    # Already left: the form is not offered again and a second post is refused.
    assert client.get(url).status_code == 302
    again = client.post(url, {"leaving_date": "2025-10-20", "deletion_ground": "died", "confirm": "yes"})
    assert again.status_code == 400 and "already ended on 10 October 2025" in text(again)
    assert entry(adm).leaving_date == dt.date(2025, 10, 10)


def test_social_worker_reminder_and_no_deletion_return_at_standard_transition(adm, world, client_as):
    with scopes_disabled():
        adm.pupil.has_social_worker = True
        adm.pupil.save()
    client = client_as(world.users["headteacher"])
    url = adm.url("enrolment_leave", enrolment_id=adm.enrolment.pk)
    page = text(client.post(url, {"leaving_date": "2026-07-21", "deletion_ground": "end_of_school"}))
    assert "Ada has a social worker: tell them about the intended deletion" in page
    assert "deletion return" not in page
    page = text(client.post(url, {"leaving_date": "2026-07-21", "deletion_ground": "moved_away"}))
    assert "deletion return to the local authority" in page and "social worker" in page


BAD_LEAVE = [
    ({"leaving_date": "", "deletion_ground": "died"}, "Give the date."),
    ({"leaving_date": "soon", "deletion_ground": "died"}, "Give the date as YYYY-MM-DD."),
    ({"leaving_date": "2025-09-02", "deletion_ground": "died"},
     "cannot be before the admission date (03 September 2025)"),
    ({"leaving_date": "2025-09-30", "deletion_ground": "died"},
     "Attendance is already recorded up to 06 October 2025"),
    ({"leaving_date": "2025-10-10", "deletion_ground": ""}, "Choose the ground for deleting"),
    ({"leaving_date": "2025-10-10", "deletion_ground": "bored"}, "Choose a ground from the list in the regulations."),
]


@pytest.mark.parametrize("confirm", [False, True], ids=["form", "confirmed"])
@pytest.mark.parametrize(("data", "message"), BAD_LEAVE, ids=lambda v: str(v)[:40])
def test_leave_refuses_bad_input_and_writes_nothing(adm, world, client_as, data, message, confirm):
    with scopes_disabled():
        f.MarkFactory(enrolment=adm.enrolment, date=dt.date(2025, 9, 8))
        f.MarkFactory(enrolment=adm.enrolment, date=dt.date(2025, 10, 6), session="PM", code="I")
    url = adm.url("enrolment_leave", enrolment_id=adm.enrolment.pk)
    response = client_as(world.users["headteacher"]).post(url, {**data, **({"confirm": "yes"} if confirm else {})})
    assert response.status_code == 400
    assert message in text(response) and "Nothing was saved" in text(response)
    saved = entry(adm)
    assert (saved.leaving_date, saved.deletion_ground) == (None, "")


def test_leaving_on_the_last_marked_day_is_allowed(adm, world, client_as):
    with scopes_disabled():
        f.MarkFactory(enrolment=adm.enrolment, date=dt.date(2025, 10, 6))
    url = adm.url("enrolment_leave", enrolment_id=adm.enrolment.pk)
    response = client_as(world.users["headteacher"]).post(url, {"leaving_date": "2025-10-06",
                                                                "deletion_ground": "ehe", "confirm": "yes"})
    assert response.status_code == 302 and entry(adm).leaving_date == dt.date(2025, 10, 6)


def test_admit_again_after_leaving(adm, world, client_as):
    with scopes_disabled():
        adm.enrolment.leaving_date, adm.enrolment.deletion_ground = dt.date(2025, 10, 10), "moved_away"
        adm.enrolment.save()
    client = client_as(world.users["office_staff"])
    url = adm.url("enrolment_admit", pupil_id=adm.pupil.pk)
    assert "Admit Ada Lovelace again" in text(client.get(url))
    response = client.post(url, {"admission_date": "2026-01-05", "registration_type": "dual_main"})
    assert response.status_code == 302
    with scope(school=adm.school):
        entries = list(Enrolment.objects.filter(pupil=adm.pupil).order_by("admission_date")
                       .values_list("admission_date", "leaving_date", "registration_type"))
    assert entries == [(dt.date(2025, 9, 3), dt.date(2025, 10, 10), "main"), (dt.date(2026, 1, 5), None, "dual_main")]


@pytest.mark.parametrize(("left", "data", "message"), [
    (None, {"admission_date": "2026-01-05", "registration_type": "main"},
     "is still on roll (admitted 03 September 2025). Record their leaving"),
    ("2025-10-10", {"admission_date": "2025-10-10", "registration_type": "main"},
     "would overlap the enrolment from 03 September 2025 to 10 October 2025"),
    ("2025-10-10", {"admission_date": "2025-06-01", "registration_type": "main"}, "would overlap"),
    ("2025-10-10", {"admission_date": "", "registration_type": "main"}, "Give the date."),
    ("2025-10-10", {"admission_date": "2026-01-05", "registration_type": "half"}, "Choose main, dual (main)"),
    ("2025-10-10", {"admission_date": "2040-01-05", "registration_type": "main"}, "pupils must be between 2 and 19"),
], ids=lambda v: str(v)[:40])
def test_admit_refuses_overlaps_and_bad_input(adm, world, client_as, left, data, message):
    if left:
        with scopes_disabled():
            adm.enrolment.leaving_date, adm.enrolment.deletion_ground = dt.date.fromisoformat(left), "moved_away"
            adm.enrolment.save()
    before = counts(adm.school)
    response = client_as(world.users["headteacher"]).post(adm.url("enrolment_admit", pupil_id=adm.pupil.pk), data)
    assert response.status_code == 400
    assert message in text(response)
    assert counts(adm.school) == before


@pytest.mark.parametrize("role", ["class_teacher", "attendance_officer", "governor", "trust_officer"])
def test_only_school_managers_change_enrolments(adm, world, client_as, role):
    client = client_as(world.users[role])
    leave = adm.url("enrolment_leave", enrolment_id=adm.enrolment.pk)
    admit = adm.url("enrolment_admit", pupil_id=adm.pupil.pk)
    assert client.get(leave).status_code == 403 and client.get(admit).status_code == 403
    assert client.post(leave, {"leaving_date": "2025-10-10", "deletion_ground": "died",
                               "confirm": "yes"}).status_code == 403
    assert client.post(admit, {"admission_date": "2026-01-05", "registration_type": "main"}).status_code == 403
    assert entry(adm).leaving_date is None
    assert counts(adm.school)["Enrolment"] == 1


def test_services_refuse_without_the_views(adm):
    with scope(school=adm.school), pytest.raises(AdmissionError) as error:
        enrolment_leave(school=adm.school, enrolment=adm.enrolment, leaving_date=dt.date(2025, 9, 1),
                        deletion_ground="died")
    assert "leaving_date" in error.value.errors
    with scope(school=adm.school), pytest.raises(AdmissionError):
        enrolment_admit(school=adm.school, pupil=adm.pupil, admission_date=dt.date(2026, 1, 5))
