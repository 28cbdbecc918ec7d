"""The demo's penalty part: two local authorities with an officer each, referrals at several states on the
pupils over the threshold, and a parent with two notices within three years."""
from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from attendance_portal.models import School
from penalties.case_selectors import local_authority_of
from penalties.demo import demo_la_logins, demo_penalties
from penalties.models import Consideration, LAOfficer, NoticeToImprove, PenaltyNotice, Referral
from penalties.selectors import ledger_for
from registers.upn import upn_make

from .conftest import ON, threshold_case


@pytest.mark.django_db
def test_the_demo_puts_referrals_at_several_states_and_a_parent_at_the_limit(world, school):
    with scopes_disabled():
        School.objects.filter(pk=school.pk).update(slug="thameside")
        school.refresh_from_db()
    for n in range(5):
        threshold_case(school, upn=upn_make(881, 2001, 30, n + 1))
    demo_penalties(schools=[school], on=ON)
    demo_penalties(schools=[school], on=ON)  # run twice: nothing more is made
    with scopes_disabled():
        school.refresh_from_db()
        assert local_authority_of(school).code == "essex"
        assert {o.user.username for o in LAOfficer.objects.all()} == {u for u, _, _ in demo_la_logins()}
        decisions = sorted(Consideration.objects.filter(school=school).values_list("decision", flat=True))
        assert decisions == ["notice_to_improve", "refer", "refer", "refer", "support_first"]
        assert NoticeToImprove.objects.filter(school=school, status="active").count() == 1
        assert sorted(Referral.objects.filter(school=school).values_list("status", flat=True)) == [
            "accepted", "draft", "submitted"]
        assert PenaltyNotice.objects.filter(referral__status="accepted").count() == 1
        history = PenaltyNotice.objects.filter(number__startswith="ESX-HIST-")
        assert history.count() == 2
        first = history.first()
        assert ledger_for(first.child_upn, first.parent_key, ON).remaining == 0
