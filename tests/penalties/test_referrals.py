"""Considering a penalty notice, the notice to improve, the head's authorisation, the completeness check,
and the local authority's answer (dfe-rules §4.1–§4.3)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from interventions.models import Case, CaseEvent, ClockKind, StatutoryClock
from letters.models import Letter
from penalties.case_selectors import pack_missing, threshold_across_settings
from penalties.models import Consideration, HeadDelegate, NoticeStatus, NoticeToImprove, PenaltyNotice, Referral
from penalties.pack import PACK_ITEMS
from penalties.services import (
    head_delegate_set,
    notices_overdue_raise,
    notices_to_improve_check,
    penalty_consider,
    penalty_notice_pay,
    referral_accept,
    referral_authorise,
    referral_case_settle,
    referral_decline,
    referral_make,
    referral_notice_issue,
    referral_return,
    referral_submit,
)
from tests import factories as f
from tests.reporting.helpers import record, school_sessions

from .conftest import AFTER, ON, head, officer, threshold_case

CONSIDERED = {"support": "not_engaged", "other_step_better": "A contract was tried and not kept.",
              "equality": "No protected characteristic bears on the absence.",
              "reasons": "Support refused twice; the holiday was taken after refusal."}


def refused(fn: Any, **kw: Any) -> str:
    with pytest.raises(ValidationError) as e:
        fn(**kw)
    return " ".join(e.value.messages)


def consider(case: Case, by: Any, decision: str, **kw: Any) -> Consideration:
    return penalty_consider(case=case, by=by, decision=decision, on=ON, **{**CONSIDERED, **kw})


@pytest.mark.django_db(transaction=False)
def test_the_threshold_puts_a_consideration_with_the_context_review_and_who_approved(world, school, case):
    with scope(school=school):
        found = consider(case, officer(world), "notice_to_improve")
        assert found.local_authority.code == "essex"
        assert found.context["absence"] == 20 and found.context["holds"] == []
        assert len(found.sessions) >= 10 and {s[2] for s in found.sessions} == {"G"}
        events = list(CaseEvent.objects.filter(school=school, case=case).order_by("pk"))[-2:]
        assert [e.kind for e in events] == ["context_review", "notice"]
        assert all(e.approved_by == officer(world) for e in events)


@pytest.mark.django_db
def test_a_formal_decision_needs_support_first_and_every_question_answered(world, school, case):
    with scope(school=school):
        assert "Support comes first" in refused(consider, case=case, by=officer(world), decision="refer",
                                                support="not_yet")
        assert "Answer each" in refused(consider, case=case, by=officer(world), decision="refer", equality=" ")
        assert not Consideration.objects.filter(school=school).exists()
        # Support first, with support not yet offered, is the framework's default and needs nothing more.
        assert consider(case, officer(world), "support_first", support="not_yet").decision == "support_first"


@pytest.mark.django_db
def test_no_consideration_without_the_threshold(world, school, area):
    case = threshold_case(school, upn="J936200120002", codes="." * 34 + "I" * 6)  # illness, not unauthorised
    with scope(school=school):
        assert "not met the penalty-notice threshold" in refused(
            consider, case=case, by=officer(world), decision="support_first")


@pytest.mark.django_db
def test_notice_to_improve_writes_a_letter_per_parent_a_period_and_a_clock(world, school, case):
    with scope(school=school):
        f.PupilContactFactory(pupil=case.pupil, guardian__school=school, guardian__forename="Second", priority=2)
        nti = _nti(world, case)
        assert nti.weeks == 6 and nti.ends_on == dt.date(2025, 12, 12)  # six school weeks after half term
        assert Letter.objects.filter(school=school, pk__in=nti.letter_ids).count() == 2
        assert StatutoryClock.objects.get(school=school, kind=ClockKind.NOTICE_PERIOD).due == nti.ends_on
        assert "already has a notice to improve" in refused(
            _nti_again, consideration=Consideration.objects.get(pk=nti.consideration_id), by=head(world))


def _nti(world: Any, case: Case, **kw: Any) -> NoticeToImprove:
    from penalties.services import notice_to_improve_issue

    consideration = consider(case, officer(world), "notice_to_improve")
    return notice_to_improve_issue(consideration=consideration, by=head(world), on=ON, **kw)


def _nti_again(**kw: Any) -> NoticeToImprove:
    from penalties.services import notice_to_improve_issue

    return notice_to_improve_issue(on=ON, **kw)


@pytest.mark.django_db
def test_the_period_comes_from_the_la_inside_the_frameworks_range(world, school, case, area):
    with scope(school=school):
        assert "3 to 6 school weeks" in refused(_nti, world=world, case=case, weeks=8)
        area.essex.nti_weeks_fixed = True
        area.essex.save()
        assert "fixes the improvement period at 6" in refused(_nti, world=world, case=case, weeks=4)
        assert not NoticeToImprove.objects.filter(school=school).exists()


@pytest.mark.django_db
def test_the_daily_check_ends_a_notice_early_when_the_grounds_arise_again(world, school, case):
    with scope(school=school):
        nti = _nti(world, case, allowed_sessions=2)
        record(case.enrolment, school_sessions(school, AFTER, 2), "UU")
        assert notices_to_improve_check(school=school, on=AFTER + dt.timedelta(days=1))["grounds_again"] == 0
        record(case.enrolment, school_sessions(school, AFTER + dt.timedelta(days=1), 1), "O")
        first = notices_to_improve_check(school=school, on=AFTER + dt.timedelta(days=2))
        again = notices_to_improve_check(school=school, on=AFTER + dt.timedelta(days=2))
        nti.refresh_from_db()
        assert (first["grounds_again"], again["checked"]) == (1, 0)
        assert (nti.status, nti.sessions_so_far, nti.outcome_on) == ("grounds_again", 3, AFTER + dt.timedelta(days=2))


@pytest.mark.django_db
def test_the_daily_check_finds_improvement_at_the_end_of_the_period(world, school, case):
    with scope(school=school):
        nti = _nti(world, case)
        assert notices_to_improve_check(school=school, on=nti.ends_on - dt.timedelta(days=1))["improved"] == 0
        assert notices_to_improve_check(school=school, on=nti.ends_on)["improved"] == 1
        nti.refresh_from_db()
        assert nti.status == "improved"
        assert "only once it ends without sufficient improvement" in refused(referral_make, case=case,
                                                                              by=officer(world))


def _referred(world: Any, school: Any, case: Case) -> Referral:
    nti = _nti(world, case)
    record(case.enrolment, school_sessions(school, AFTER, 1), "U")
    notices_to_improve_check(school=school, on=nti.ends_on)
    return referral_make(case=case, by=officer(world))


@pytest.mark.django_db
def test_only_the_head_or_a_deputy_they_authorise_can_authorise_a_referral(world, school, case):
    with scope(school=school):
        referral = _referred(world, school, case)
        assert referral.notice_to_improve.status == "not_improved"
        assert [p["name"] for p in referral.parents] == [str(case.pupil.contacts.get().guardian)]
        deputy = world.users["senior_attendance_champion"]
        with pytest.raises(PermissionDenied):
            referral_authorise(referral=referral, by=deputy)
        with pytest.raises(PermissionDenied):
            head_delegate_set(school=school, user=deputy, position="Deputy headteacher", by=deputy)
        assert "deputy or assistant" in refused(head_delegate_set, school=school, user=deputy,
                                                position="Head of year", by=head(world))
        head_delegate_set(school=school, user=deputy, position="Deputy headteacher", by=head(world))
        done = referral_authorise(referral=referral, by=deputy)
        assert (done.status, done.authorised_by, done.authorised_as) == (
            "authorised", deputy, "Deputy headteacher, authorised by the headteacher")
        assert HeadDelegate.objects.get(school=school).authorised_by == head(world)


@pytest.mark.django_db
def test_an_incomplete_pack_names_what_is_missing_and_needs_a_reason(world, school, case, area):
    with scope(school=school):
        referral = referral_authorise(referral=_referred(world, school, case), by=head(world))
        missing = pack_missing(referral=referral)
        assert PACK_ITEMS["meetings"] in missing and PACK_ITEMS["authorisation"] not in missing
        message = refused(referral_submit, referral=referral, by=officer(world))
        assert PACK_ITEMS["meetings"] in message and "reason" in message
        assert Referral.objects.get(pk=referral.pk).status == "authorised"
        done = referral_submit(referral=referral, by=officer(world), incomplete_reason="Parents refused to meet.")
        assert done.status == "submitted" and done.missing == missing
        assert done.incomplete_reason == "Parents refused to meet."
        # An LA that asks only for what the school has takes the pack as complete.
        area.essex.pack_items = ["parents", "signals", "authorisation", "notice_to_improve", "context"]
        area.essex.save()
        assert pack_missing(referral=Referral.objects.get(pk=done.pk)) == []


def _submitted(world: Any, school: Any, case: Case) -> Referral:
    referral = referral_authorise(referral=_referred(world, school, case), by=head(world))
    return referral_submit(referral=referral, by=officer(world), incomplete_reason="Recorded on paper.")


@pytest.mark.django_db
def test_the_la_returns_with_what_is_missing_and_the_school_submits_again(world, school, case, area):
    with scope(school=school):
        referral = _submitted(world, school, case)
        assert "Say what is missing" in refused(referral_return, referral=referral, by=area.essex_officer, missing="")
        returned = referral_return(referral=referral, by=area.essex_officer, missing="The meeting minutes.")
        assert (returned.status, returned.answer) == ("returned", "The meeting minutes.")
        again = referral_submit(referral=returned, by=officer(world), incomplete_reason="Minutes now attached.")
        assert again.status == "submitted" and again.answer == ""
        declined = referral_decline(referral=again, by=area.essex_officer, reason="Leave was authorised.")
        assert declined.status == "declined"
        assert "Only a submitted referral" in refused(referral_accept, referral=declined, by=area.essex_officer)


@pytest.mark.django_db
def test_notices_on_an_accepted_referral_follow_the_ledger_and_payment_closes_the_case(world, school, case, area):
    today = timezone.localdate()
    with scope(school=school):
        referral = _submitted(world, school, case)
        guardian_id = referral.parents[0]["guardian_id"]
        assert "Accept the referral" in refused(referral_notice_issue, referral=referral, guardian_id=guardian_id,
                                                number="E-1", issued_on=today, by=area.essex_officer)
        referral = referral_accept(referral=referral, by=area.essex_officer)
        assert "parents named" in refused(referral_notice_issue, referral=referral, guardian_id=guardian_id + 999,
                                          number="E-1", issued_on=today, by=area.essex_officer)
        notice = referral_notice_issue(referral=referral, guardian_id=guardian_id, number="E-1", issued_on=today,
                                       by=area.essex_officer)
        assert (notice.local_authority, notice.lower_pence, notice.full_pence, notice.referral_id) == (
            "Essex", 8000, 16000, referral.pk)
        assert referral_case_settle(notice=notice, by=area.essex_officer) is False
        paid = penalty_notice_pay(notice=notice, paid_on=today, amount_pence=8000, by=area.essex_officer)
        assert referral_case_settle(notice=paid, by=area.essex_officer) is True
        case.refresh_from_db()
        assert (case.status, case.outcome) == ("closed", "referred")


@pytest.mark.django_db
def test_the_nightly_task_raises_unpaid_notices_past_their_deadline_once(world, school, case, area):
    with scope(school=school):
        referral = referral_accept(referral=_submitted(world, school, case), by=area.essex_officer)
        issued = timezone.localdate() - dt.timedelta(days=40)
        notice = referral_notice_issue(referral=referral, guardian_id=referral.parents[0]["guardian_id"],
                                       number="E-2", issued_on=issued, by=area.essex_officer)
    assert notices_overdue_raise(on=notice.full_due_on) == 0
    assert notices_overdue_raise(on=notice.full_due_on + dt.timedelta(days=1)) == 1
    assert notices_overdue_raise(on=notice.full_due_on + dt.timedelta(days=2)) == 0
    assert PenaltyNotice.objects.get(pk=notice.pk).overdue_since == notice.full_due_on + dt.timedelta(days=1)
    assert PenaltyNotice.objects.get(pk=notice.pk).status == NoticeStatus.ISSUED


@pytest.mark.django_db
def test_the_la_sees_the_threshold_window_across_its_schools_by_upn(world, school, case, area):
    from tests.conftest import add_calendar
    from tests.interventions.conftest import absent_pupil

    with scopes_disabled():
        add_calendar(world.sister)
        add_calendar(world.other)  # Kent: not Essex's to see
        absent_pupil(world.sister, upn=case.pupil.upn, codes="UUUU")
        absent_pupil(world.other, upn=case.pupil.upn, codes="UUUUUU")
    found = threshold_across_settings(la=area.essex, upn=case.pupil.upn, on=ON)
    assert {(w.school.slug, w.sessions) for w in found} == {("alder", 20), ("birch", 4)}


@pytest.mark.django_db
def test_a_term_time_holiday_goes_straight_to_referral_only_where_the_la_allows_it(world, school, case, area):
    from penalties.case_selectors import referral_due

    with scope(school=school):
        area.essex.holiday_straight_to_referral = False
        area.essex.save()
        assert "asks for a notice to improve" in refused(consider, case=case, by=officer(world), decision="refer",
                                                         term_time_holiday=True)
        area.essex.holiday_straight_to_referral = True
        area.essex.referral_deadline_school_days = 10
        area.essex.save()
        found = consider(case, officer(world), "refer", term_time_holiday=True)
        Consideration.objects.filter(pk=found.pk).update(decided_at=dt.datetime(2025, 10, 24, 15, tzinfo=dt.UTC))
        found.refresh_from_db()
        # Ten school days after Friday 24 October: not the half-term week, nor the INSET day of 14 November.
        assert referral_due(school=school, consideration=found, nti=None) == dt.date(2025, 11, 17)
        assert referral_make(case=case, by=officer(world)).notice_to_improve is None
