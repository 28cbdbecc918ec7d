"""Demo penalty-notice data: the demo trust's schools in two local authorities, an officer login for each,
referrals at several states on the cases whose pupils met the threshold, and one parent who already has two
notices for a child within three years (so the workspace shows the limit). Everything goes through the
services, so the timelines and the ledger read as they would in use; a step a case's data does not allow
(no parent on record, say) is skipped, not forced."""
from __future__ import annotations

import datetime as dt
from contextlib import suppress
from typing import Any

from django.core.exceptions import ValidationError
from django_scopes import scope

from accounts.demo import demo_devices_ensure
from attendance_portal.demo import DEMO_PASSWORD
from attendance_portal.models import Membership, School, User
from attendance_portal.roles import Role
from interventions.models import Case, Concern
from registers.models import PupilContact
from reporting.models import SignalKind

from . import services
from .models import Consideration, LAOfficer, LocalAuthority

# code -> (name, the demo schools in its area, its code-of-conduct settings)
# Each area's code of conduct; which demo schools are in it is the schools' own `local_authority`
# (attendance_portal.demo.SCHOOLS).
AREAS: dict[str, tuple[str, dict[str, object]]] = {
    "essex": ("Essex",
              {"nti_weeks": 6, "nti_weeks_fixed": True, "referral_deadline_school_days": 10,
               "certificate_period": LocalAuthority.CertificatePeriod.LAST_SESSIONS, "certificate_sessions": 60}),
    "herts": ("Hertfordshire",
              {"nti_weeks": 4, "referral_deadline_school_days": 15,
               "certificate_period": LocalAuthority.CertificatePeriod.THIS_AND_LAST_YEAR}),
}

CONSIDERED: dict[str, Any] = {"support": Consideration.Support.NOT_ENGAGED,
              "other_step_better": "The attendance contract was not kept; a further meeting was declined.",
              "equality": "No protected characteristic bears on the absence; the SENCo was asked.",
              "reasons": "Support offered since September has not been taken up."}


def demo_la_logins() -> list[tuple[str, str, str]]:
    return [(f"la.{code}", f"{name} penalty-notice officer", f"/la/{code}/") for code, (name, _) in AREAS.items()]


def _user(username: str, first: str, last: str) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={
        "first_name": first, "last_name": last, "position": "Penalty-notice officer",
        "email": f"{username}@example.org.uk"})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _member(school: School, role: Role) -> User | None:
    found = Membership.objects.filter(school=school, role=role).select_related("user").first()
    return found.user if found else None


def demo_penalties(*, schools: list[School], on: dt.date) -> None:
    for code, (name, settings) in AREAS.items():
        la, _ = LocalAuthority.objects.update_or_create(code=code, defaults={"name": name, **settings})
        officer = _user(f"la.{code}", "Alex" if code == "essex" else "Sam", f"{name} PN team")
        LAOfficer.objects.get_or_create(local_authority=la, user=officer, role=LAOfficer.Role.PENALTY)
        for school in schools:
            if school.local_authority == name:
                with scope(school=school):
                    _school_referrals(school=school, officer=officer, on=on)
    demo_devices_ensure([username for username, _, _ in demo_la_logins()])
    thameside = School.objects.filter(slug="thameside").first()
    if thameside is not None:
        with scope(school=thameside):
            _two_notices(school=thameside, on=on)


def _school_referrals(*, school: School, officer: User, on: dt.date) -> None:
    attendance, head = _member(school, Role.ATTENDANCE_OFFICER), _member(school, Role.HEADTEACHER)
    if attendance is None or head is None:
        return
    enrolments = Concern.objects.filter(school=school, kind=SignalKind.PENALTY_THRESHOLD, active=True) \
        .values_list("enrolment_id", flat=True)
    considered = Consideration.objects.filter(school=school).values_list("case_id", flat=True)
    cases = list(Case.objects.filter(school=school, enrolment_id__in=enrolments).exclude(status=Case.Status.CLOSED)
                 .exclude(pk__in=considered).select_related("pupil", "enrolment").order_by("pk")[:5])
    if len(cases) < 5 and Consideration.objects.filter(school=school).exists():
        return  # loaded before: the states are there
    for n, case in enumerate(cases):
        with suppress(ValidationError):
            if n == 0:  # considered: support first
                services.penalty_consider(case=case, by=attendance, decision="support_first", on=on,
                                          **{**CONSIDERED, "support": Consideration.Support.NOT_YET})
                continue
            if n == 1:  # a notice to improve in its period
                consideration = services.penalty_consider(case=case, by=attendance, decision="notice_to_improve",
                                                          on=on, **CONSIDERED)
                services.notice_to_improve_issue(consideration=consideration, by=head, on=on)
                continue
            services.penalty_consider(case=case, by=attendance, decision="refer", on=on, term_time_holiday=True,
                                      **{**CONSIDERED, "support": Consideration.Support.INAPPROPRIATE})
            referral = services.referral_make(case=case, by=attendance)
            if n == 2:
                continue  # waiting for the headteacher
            services.referral_authorise(referral=referral, by=head)
            referral = services.referral_submit(referral=referral, by=attendance,
                                                incomplete_reason="Meeting notes are on paper; copies follow.")
            if n == 4:  # accepted, and a notice issued to the first parent
                referral = services.referral_accept(referral=referral, by=officer)
                services.referral_notice_issue(referral=referral, guardian_id=referral.parents[0]["guardian_id"],
                                               number=f"DEMO-{school.pk}-{referral.pk}", issued_on=on, by=officer)


def _two_notices(*, school: School, on: dt.date) -> None:
    """A parent with two notices for one child within three years: a third is refused in the workspace."""
    contact = PupilContact.objects.filter(school=school, parental_responsibility=True).select_related(
        "pupil", "guardian").order_by("pupil__upn", "pk").first()
    if contact is None:
        return
    for days, suffix in ((420, "A"), (150, "B")):
        with suppress(ValidationError):  # already there when the loader runs twice
            services.penalty_notice_issue(
                kind="attendance", issued_on=on - dt.timedelta(days=days), number=f"ESX-HIST-{suffix}",
                child_upn=contact.pupil.upn, child_name=contact.pupil.full_name, school=school,
                local_authority="Essex", guardian=contact.guardian)
