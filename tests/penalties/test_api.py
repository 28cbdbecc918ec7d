"""The local authority's API: notices priced from the framework on the issue date, the 2-in-3-years rule as a
400 that names it, payments and withdrawals, and the paths in the OpenAPI schema."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from penalties.models import LocalAuthority, NoticeToImprove, PenaltyNotice
from penalties.services import penalty_notice_issue

from .factories import make_consideration, make_referral

pytestmark = pytest.mark.django_db
ISSUE_DAY = dt.date(2025, 1, 6)


def _post(client, url, data):
    return client.post(url, data, content_type="application/json")


def _accepted(world):
    with scopes_disabled():
        referral = make_referral(world.school, "accepted")
    return referral, referral.parents[0]["guardian_id"]


def test_issuing_answers_with_both_amounts_and_deadlines(world, area, client_as):
    referral, parent = _accepted(world)
    url = reverse("la_api:notice-issue", args=["essex"])
    answer = _post(client_as(area.essex_officer), url, {"referral": referral.pk, "parent": parent,
                                                        "issued_on": ISSUE_DAY.isoformat()})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["lower_amount"], body["lower_due_on"], body["full_amount"], body["full_due_on"]) == (
        "£80", "2025-01-27", "£160", "2025-02-03")
    assert body["number"] == f"ESSEX-{referral.pk}-{parent}-20250106" and body["ordinal"] == 1


def test_a_third_notice_within_three_years_is_a_400_naming_the_rule(world, area, client_as):
    referral, parent = _accepted(world)
    with scopes_disabled():
        guardian = referral.pupil.contacts.get(guardian_id=parent).guardian
        for day, number in ((dt.date(2024, 9, 2), "OLD-1"), (dt.date(2024, 11, 4), "OLD-2")):
            penalty_notice_issue(kind="attendance", issued_on=day, number=number, child_upn=referral.pupil.upn,
                                 child_name=referral.pupil.full_name, local_authority="Kent",
                                 parent_forename=guardian.forename, parent_surname=guardian.surname)
    url = reverse("la_api:notice-issue", args=["essex"])
    answer = _post(client_as(area.essex_officer), url, {"referral": referral.pk, "parent": parent,
                                                        "issued_on": ISSUE_DAY.isoformat(), "number": "E-3"})
    assert answer.status_code == 400
    assert "2-in-3-years rule" in answer.json()["detail"] and "education supervision order" in answer.json()["detail"]
    assert not PenaltyNotice.objects.filter(number="E-3").exists()


def test_payments_and_withdrawals(world, area, client_as):
    referral, parent = _accepted(world)
    client = client_as(area.essex_officer)
    issued = _post(client, reverse("la_api:notice-issue", args=["essex"]),
                   {"referral": referral.pk, "parent": parent, "issued_on": ISSUE_DAY.isoformat()}).json()
    pay = reverse("la_api:notice-payment", args=["essex", issued["id"]])
    wrong = _post(client, pay, {"paid_on": "2025-01-10", "amount_pence": 16000})
    assert wrong.status_code == 400 and "was due £80" in wrong.json()["detail"]
    withdraw = reverse("la_api:notice-withdrawal", args=["essex", issued["id"]])
    assert _post(client, withdraw, {"reason": ""}).status_code == 400
    done = _post(client, withdraw, {"reason": "Sent to the wrong address.", "withdrawn_on": "2025-01-08"})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    again = _post(client, pay, {"paid_on": "2025-01-10", "amount_pence": 8000})
    assert again.status_code == 400 and "withdrawn" in again.json()["detail"]


def test_another_las_officer_and_school_staff_get_404(world, area, client_as):
    referral, parent = _accepted(world)
    url = reverse("la_api:notice-issue", args=["essex"])
    data = {"referral": referral.pk, "parent": parent, "issued_on": ISSUE_DAY.isoformat()}
    for user in (area.kent_officer, world.users["headteacher"]):
        assert _post(client_as(user), url, data).status_code == 404
    # Essex's referral under Kent's code is no referral of Kent's.
    assert _post(client_as(area.kent_officer), reverse("la_api:notice-issue", args=["kent"]), data).status_code == 404


def test_the_paths_are_in_the_openapi_schema(world, client_as):
    schema = client_as(world.users["headteacher"]).get(reverse("api-schema"), {"format": "json"}).json()
    for path in ("/api/v1/la/{la_code}/penalty-notices/", "/api/v1/la/{la_code}/penalty-notices/{id}/payments/",
                 "/api/v1/la/{la_code}/penalty-notices/{id}/withdrawals/", "/api/v1/la/{la_code}/notices-to-improve/"):
        assert "post" in schema["paths"][path], path


def _la_gives_notices_to_improve(world):
    from tests.interventions.conftest import letters_ready

    letters_ready(world.school)
    with scopes_disabled():
        consideration = make_consideration(world.school, "notice_to_improve")
        LocalAuthority.objects.filter(pk=consideration.local_authority_id).update(nti_issued_by="la")
    return consideration


def _ntis(world) -> int:
    with scopes_disabled():
        return NoticeToImprove.objects.filter(school=world.school).count()


def test_the_la_gives_a_notice_to_improve_through_the_api(world, area, client_as):
    consideration = _la_gives_notices_to_improve(world)
    url = reverse("la_api:notice-to-improve-issue", args=["essex"])
    client = client_as(area.essex_officer)
    for bad in ({"consideration": "x"}, {"consideration": consideration.pk, "weeks": 0},
                {"consideration": consideration.pk, "allowed_sessions": -1}, {}):
        refused = _post(client, url, bad)
        assert refused.status_code == 400, (bad, refused.content)
    assert _ntis(world) == 0
    given = _post(client, url, {"consideration": consideration.pk, "weeks": 6, "allowed_sessions": 2})
    assert given.status_code == 201, given.content
    body = given.json()
    assert (body["consideration"], body["weeks"], body["allowed_sessions"], body["issuer"]) == (
        consideration.pk, 6, 2, "la")
    assert body["letter_ids"] and _ntis(world) == 1
    again = _post(client, url, {"consideration": consideration.pk})
    assert again.status_code == 400 and again.json()["detail"] and _ntis(world) == 1


def test_a_notice_to_improve_of_another_la_or_by_school_staff_is_404(world, area, client_as):
    consideration = _la_gives_notices_to_improve(world)
    data = {"consideration": consideration.pk, "weeks": 6}
    for user, code in ((area.kent_officer, "essex"), (area.kent_officer, "kent"),
                       (world.users["headteacher"], "essex")):
        assert _post(client_as(user), reverse("la_api:notice-to-improve-issue", args=[code]), data).status_code == 404
    assert _ntis(world) == 0
