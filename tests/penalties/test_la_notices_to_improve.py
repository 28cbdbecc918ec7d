"""Where a local authority's code of conduct says the LA gives notices to improve, the school's decision waits in
the LA's workspace and an LA officer gives the notice: the same notice on the school's case, with the LA
recorded as its giver. Another LA's officer never reaches it."""
from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from interventions.models import CaseEvent
from letters.models import Letter
from penalties.models import Consideration, NoticeToImprove
from penalties.services import notice_to_improve_issue, penalty_consider

from .conftest import ON, officer

CONSIDERED = {"support": "not_engaged", "other_step_better": "A contract was tried and not kept.",
              "equality": "No protected characteristic bears on the absence.",
              "reasons": "Support refused twice; the holiday was taken after refusal."}
AT_ON = dt.datetime.combine(ON, dt.time(12), tzinfo=dt.UTC)


def refused(fn: Any, **kw: Any) -> str:
    with pytest.raises(ValidationError) as e:
        fn(**kw)
    return " ".join(e.value.messages)


@pytest.fixture
def la_gives(area):
    area.essex.nti_issued_by = "la"
    area.essex.save()
    return area


def _decided(world, school, case) -> Consideration:
    with scope(school=school):
        return penalty_consider(case=case, by=officer(world), decision="notice_to_improve", on=ON, **CONSIDERED)


def _page(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.django_db
def test_the_la_officer_gives_the_notice_the_school_may_not(world, school, case, la_gives):
    consideration = _decided(world, school, case)
    with scope(school=school):
        assert "gives notices to improve itself" in refused(
            notice_to_improve_issue, consideration=consideration, by=officer(world), on=ON)
        nti = notice_to_improve_issue(consideration=consideration, by=la_gives.essex_officer, on=ON,
                                      for_la=la_gives.essex)
        assert (nti.issuer, nti.approved_by, nti.weeks, nti.local_authority) == (
            "la", la_gives.essex_officer, 6, la_gives.essex)
        assert Letter.objects.filter(school=school, pk__in=nti.letter_ids).count() == 1
        event = CaseEvent.objects.filter(school=school, case=case, kind="notice").latest("pk")
        assert event.title.startswith("Notice to improve given by Essex") and event.by == la_gives.essex_officer


@pytest.mark.django_db
def test_only_an_officer_of_the_pupils_la_gives_it_and_only_where_the_la_gives_them(world, school, case, area):
    consideration = _decided(world, school, case)
    with scope(school=school):
        # Essex leaves notices to improve to its schools: its officer cannot give one.
        assert "schools give their own notices to improve" in refused(
            notice_to_improve_issue, consideration=consideration, by=area.essex_officer, on=ON, for_la=area.essex)
        area.essex.nti_issued_by = "la"
        area.essex.save()
        consideration.local_authority.refresh_from_db()
        for user, la in ((area.kent_officer, area.kent), (area.kent_officer, area.essex),
                         (officer(world), area.essex)):
            with pytest.raises(PermissionDenied):
                notice_to_improve_issue(consideration=consideration, by=user, on=ON, for_la=la)
        assert not NoticeToImprove.objects.filter(school=school).exists()


@pytest.mark.django_db
@time_machine.travel(AT_ON, tick=False)
def test_the_decision_waits_in_the_las_workspace_and_the_notice_shows_on_the_schools_case(
        world, school, case, la_gives, client_as):
    consideration = _decided(world, school, case)
    la = client_as(la_gives.essex_officer)
    inbox = _page(la.get(reverse("la:inbox", args=["essex"])))
    url = reverse("la:consideration", args=["essex", consideration.pk])
    assert "Notices to improve to give" in inbox and url in inbox and case.pupil.full_name in inbox
    page = _page(la.get(url))
    assert CONSIDERED["reasons"] in page and "Give the notice to improve" in page and "RB1 4DX" in page
    school_page = _page(client_as(officer(world)).get(reverse("penalties:case", args=[school.slug, case.pk])))
    assert "Essex gives notices to improve itself" in school_page and 'name="weeks"' not in school_page

    done = la.post(reverse("la:notice_to_improve", args=["essex", consideration.pk]), {"weeks": "5"}, follow=True)
    assert "Notice to improve given" in _page(done)
    with scopes_disabled():
        nti = NoticeToImprove.objects.get(consideration=consideration)
    assert (nti.issuer, nti.weeks, nti.approved_by) == ("la", 5, la_gives.essex_officer)
    assert url not in _page(la.get(reverse("la:inbox", args=["essex"])))
    school_page = _page(client_as(officer(world)).get(reverse("penalties:case", args=[school.slug, case.pk])))
    assert f"Given by Essex ({la_gives.essex_officer.get_full_name()}" in school_page


@pytest.mark.django_db
@time_machine.travel(AT_ON, tick=False)
@pytest.mark.parametrize(("data", "message"), [
    ({"weeks": "8"}, "The improvement period must be 3 to 6 school weeks."),
    ({"weeks": "six"}, "Enter a whole number."),
    ({"allowed_sessions": "-1"}, "greater than or equal to 0"),
    ({"allowed_sessions": "12"}, "fewer unauthorised sessions than the threshold"),
])
def test_bad_input_gives_no_notice(world, school, case, la_gives, client_as, data, message):
    consideration = _decided(world, school, case)
    done = client_as(la_gives.essex_officer).post(
        reverse("la:notice_to_improve", args=["essex", consideration.pk]), data, follow=True)
    assert message in _page(done)
    with scopes_disabled():
        assert not NoticeToImprove.objects.filter(consideration=consideration).exists()
        assert not Letter.objects.filter(school=school, pupil=case.pupil).exists()


@pytest.mark.django_db
def test_another_las_officer_and_school_staff_get_404(world, school, case, la_gives, client_as):
    consideration = _decided(world, school, case)
    for user, code in ((la_gives.kent_officer, "kent"), (la_gives.kent_officer, "essex"),
                       (officer(world), "essex")):
        client = client_as(user)
        assert client.get(reverse("la:consideration", args=[code, consideration.pk])).status_code == 404
        assert client.post(reverse("la:notice_to_improve", args=[code, consideration.pk]),
                           {"weeks": "6"}).status_code == 404
    with scopes_disabled():
        assert not NoticeToImprove.objects.filter(consideration=consideration).exists()


@pytest.mark.django_db
def test_a_decision_the_la_does_not_give_is_not_in_its_workspace(world, school, case, area, client_as):
    consideration = _decided(world, school, case)  # Essex leaves notices to improve to the school
    client = client_as(area.essex_officer)
    assert client.get(reverse("la:consideration", args=["essex", consideration.pk])).status_code == 404
    assert "Notices to improve to give" not in _page(client.get(reverse("la:inbox", args=["essex"])))
