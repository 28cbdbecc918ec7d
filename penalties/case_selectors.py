"""Reads for penalty-notice casework at the school and for the local authority's workspace.

Kept apart from `penalties.selectors` (the ledger and the framework), which the statistics engine reads and
which so must not depend on casework.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django_scopes import scope

from absence.models import LeaveRequest
from attendance_portal.models import School
from interventions.models import (
    AttendanceContract,
    Case,
    CaseEvent,
    Concern,
    EventKind,
    Meeting,
    SupportRecord,
)
from interventions.selectors import Context
from letters.models import Letter
from registers import codes as code_table
from registers.calendar import calendar_for
from registers.models import Guardian, Mark, PupilContact
from reporting.models import SignalKind

from .models import (
    Consideration,
    LocalAuthority,
    NoticeKind,
    NoticeStatus,
    NoticeToImprove,
    PenaltyNotice,
    Referral,
)
from .pack import DEFAULT_PACK, PACK_ITEMS
from .selectors import framework_on, upn_normal

# ---------------------------------------------------------------- casework and referrals


def local_authority_of(school: School) -> LocalAuthority | None:
    """The local authority a school belongs to: the one named as the school's local authority."""
    name = (school.local_authority or "").strip()
    return LocalAuthority.objects.filter(name=name).first() if name else None


def area_schools(la: LocalAuthority) -> QuerySet[School]:
    return School.objects.filter(local_authority=la.name)


def threshold_concern(*, school: School, case: Case) -> Concern | None:
    """The pupil's active penalty-threshold concern, when the signal has fired."""
    return Concern.objects.filter(school=school, enrolment_id=case.enrolment_id, kind=SignalKind.PENALTY_THRESHOLD,
                                  active=True).first()


def context_snapshot(context: Context) -> dict[str, Any]:
    """The context review as shown, kept with the decision it informed."""
    return {"absence": context.absence, "illness_share": context.illness_share, "sen": context.sen_label,
            "social_worker": context.social_worker, "looked_after": context.looked_after,
            "child_in_need": context.child_in_need, "young_carer": context.young_carer,
            "health_plan": context.health_plan, "safeguarding_flag": context.safeguarding_flag,
            "open_leave": context.open_leave, "holds": list(context.holds)}


def considerations_for(*, school: School, case: Case) -> list[Consideration]:
    return list(Consideration.objects.filter(school=school, case=case).select_related("decided_by"))


@dataclass(frozen=True)
class ReferredParent:
    name: str  # as referred
    relationship: str
    guardian: Guardian | None  # None once the school removed the contact

    @property
    def has_address(self) -> bool:
        return self.guardian is not None and self.guardian.has_postal_address


def referral_parents(*, referral: Referral) -> list[ReferredParent]:
    """The parents named in the referral (those with parental responsibility), with their records as they are
    now: the address the evidence pack prints is the one held when it is frozen."""
    ids = [p["guardian_id"] for p in referral.parents]
    contacts = {c.guardian_id: c for c in PupilContact.objects.filter(
        school_id=referral.school_id, pupil_id=referral.pupil_id, guardian_id__in=ids).select_related("guardian")}
    return [ReferredParent(name=p["name"], relationship=contacts[p["guardian_id"]].relationship
                           if p["guardian_id"] in contacts else "",
                           guardian=contacts[p["guardian_id"]].guardian if p["guardian_id"] in contacts else None)
            for p in referral.parents]


def pack_found(*, referral: Referral) -> dict[str, bool]:
    """For each item a pack can hold, whether the school's records have it for this referral."""
    school, case = referral.school, referral.case
    events = CaseEvent.objects.filter(school=school, case=case)
    consideration = referral.consideration
    nti = referral.notice_to_improve
    holiday = consideration.term_time_holiday
    return {
        "parents": bool(referral.parents) and all(p.has_address for p in referral_parents(referral=referral)),
        "certificate": Mark.objects.filter(school=school, enrolment_id=case.enrolment_id).exists(),
        "signals": bool(consideration.sessions),
        "letters": Letter.objects.filter(school=school, pupil_id=referral.pupil_id).exists(),
        "meetings": Meeting.objects.filter(school=school, case=case).exists(),
        "contacts": events.filter(kind__in=[EventKind.CALL, EventKind.HOME_VISIT]).exists(),
        "plan": AttendanceContract.objects.filter(school=school, case=case).exists(),
        # A referral straight after the consideration (a term-time holiday) has no notice to improve to show.
        "notice_to_improve": (nti is not None and nti.status != NoticeToImprove.Status.ACTIVE)
        or consideration.decision == Consideration.Decision.REFER,
        "support": SupportRecord.objects.filter(school=school, case=case).exists() or holiday,
        "context": bool(consideration.context),
        "authorisation": referral.authorised_by_id is not None,
        "leave": not holiday or LeaveRequest.objects.filter(school=school, pupil_id=referral.pupil_id,
                                                            status=LeaveRequest.Status.REFUSED).exists(),
    }


def pack_missing(*, referral: Referral) -> list[str]:
    """What the local authority's list asks for and the school's records do not have, by name; a parent
    without a postal address is named, so the school knows whose address to add."""
    wanted = referral.local_authority.pack_items or DEFAULT_PACK
    found = pack_found(referral=referral)
    missing = []
    for key in wanted:
        if key not in PACK_ITEMS or found[key]:
            continue
        if key == "parents" and referral.parents:
            missing += [f"the postal address of {p.name} (with parental responsibility)"
                        for p in referral_parents(referral=referral) if not p.has_address]
        else:
            missing.append(PACK_ITEMS[key])
    return missing


# ---------------------------------------------------------------- the local authority's workspace


def la_referrals(*, la: LocalAuthority) -> QuerySet[Referral]:
    """The referrals made to this LA by schools in its area (the caller has opened their scope)."""
    return Referral.objects.filter(local_authority=la, school__in=area_schools(la)).exclude(
        status__in=[Referral.Status.DRAFT, Referral.Status.AUTHORISED]).select_related("school", "pupil")


def la_nti_considerations(*, la: LocalAuthority) -> QuerySet[Consideration]:
    """The decisions on a notice to improve at the LA's schools that the LA gives (or gave) the notice for:
    every one addressed to it while its code of conduct says the LA gives them, and any it gave before."""
    found = Consideration.objects.filter(local_authority=la, school__in=area_schools(la),
                                         decision=Consideration.Decision.NOTICE_TO_IMPROVE)
    if la.nti_issued_by != LocalAuthority.NoticeIssuer.LA:
        found = found.filter(Exists(NoticeToImprove.objects.filter(
            consideration=OuterRef("pk"), issuer=LocalAuthority.NoticeIssuer.LA)))
    return found.select_related("school", "pupil", "case", "decided_by")


def la_nti_waiting(*, la: LocalAuthority) -> list[Consideration]:
    """Those still waiting for the LA's notice: no notice given on them, the case open, and no later
    consideration on the case that decided otherwise."""
    waiting = la_nti_considerations(la=la).exclude(case__status=Case.Status.CLOSED).exclude(
        Exists(NoticeToImprove.objects.filter(consideration=OuterRef("pk")))).exclude(
        Exists(Consideration.objects.filter(case=OuterRef("case"), decided_at__gt=OuterRef("decided_at"))))
    return list(waiting.order_by("decided_at"))


def la_referral_get(*, la: LocalAuthority, referral_id: int) -> Referral:
    return la_referrals(la=la).select_related("consideration", "notice_to_improve", "case").get(pk=referral_id)


def la_overdue(*, la: LocalAuthority) -> QuerySet[PenaltyNotice]:
    """Unpaid notices whose last deadline has passed (raised by the nightly task): to prosecute or withdraw."""
    return PenaltyNotice.objects.filter(local_authority=la.name, status=NoticeStatus.ISSUED,
                                        overdue_since__isnull=False).order_by("full_due_on")


@dataclass(frozen=True)
class SettingWindow:
    school: School
    sessions: int


def threshold_across_settings(*, la: LocalAuthority, upn: str, on: dt.date,
                              weeks: int | None = None) -> list[SettingWindow]:
    """The pupil's unauthorised sessions in the threshold window at every school of the LA's area, matched by
    UPN (a pupil who moved or is dual registered). The window is the framework's, counted back in calendar
    weeks from `on` (each school's holidays differ; the officer sees each school's count)."""
    framework = framework_on(on, NoticeKind.ATTENDANCE)
    weeks = weeks or (framework.window_school_weeks if framework else None) or 10
    start = on - dt.timedelta(weeks=weeks)
    schools = list(area_schools(la))
    with scope(school=schools):
        rows = (Mark.objects.filter(school__in=schools, enrolment__pupil__upn=upn_normal(upn), date__gt=start,
                                    date__lte=on, code__in=code_table.UNAUTHORISED)
                .values("school_id").annotate(n=Count("pk")))
        found = {row["school_id"]: row["n"] for row in rows}
    return [SettingWindow(school=s, sessions=found[s.pk]) for s in schools if s.pk in found]


def referral_due(*, school: School, consideration: Consideration, nti: NoticeToImprove | None) -> dt.date | None:
    """The last day to refer under the LA's code of conduct: its number of school days after the notice to
    improve ended without improvement, or after a decision to refer; None while nothing calls for one."""
    if nti is not None and nti.outcome_on is not None and nti.status in (NoticeToImprove.Status.NOT_IMPROVED,
                                                                          NoticeToImprove.Status.GROUNDS_AGAIN):
        start = nti.outcome_on
    elif consideration.decision == Consideration.Decision.REFER:
        start = consideration.decided_at.date()
    else:
        return None
    count = consideration.local_authority.referral_deadline_school_days
    return calendar_for(school=school).school_days_after(start, count)
