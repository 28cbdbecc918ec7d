"""Penalty-notice rows built directly (the services' own tests build them through the services)."""
from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from attendance_portal.models import School, User
from penalties.models import Consideration, EvidencePack, LocalAuthority, PenaltyNotice, Referral
from penalties.selectors import framework_on, parent_key_make
from tests import factories as f
from tests.interventions.factories import make_case


def la_for(school: School) -> LocalAuthority:
    name = school.local_authority or "Essex"
    code = "".join(c for c in name.lower() if c.isalnum())[:20]
    return LocalAuthority.objects.get_or_create(name=name, defaults={"code": code})[0]


def _someone(school: School) -> User:
    return f.UserFactory(username=f"made-{school.slug}-{User.objects.count()}")


def make_consideration(school: School, decision: str = Consideration.Decision.REFER) -> Consideration:
    case = make_case(school)
    return Consideration.objects.create(
        school=school, case=case, pupil=case.pupil, local_authority=la_for(school), decision=decision,
        support=Consideration.Support.NOT_ENGAGED, other_step_better="No", equality="Considered", reasons="Made",
        decided_by=_someone(school))


def make_referral(school: School, status: str = Referral.Status.SUBMITTED) -> Referral:
    consideration = make_consideration(school)
    by = consideration.decided_by
    contact = consideration.pupil.contacts.select_related("guardian").first()
    submitted = status not in (Referral.Status.DRAFT, Referral.Status.AUTHORISED)
    return Referral.objects.create(
        school=school, case=consideration.case, pupil=consideration.pupil, consideration=consideration,
        local_authority=consideration.local_authority, status=status, made_by=by,
        parents=[{"guardian_id": contact.guardian_id, "name": str(contact.guardian)}],
        authorised_by=None if status == Referral.Status.DRAFT else by,
        authorised_at=None if status == Referral.Status.DRAFT else timezone.now(),
        submitted_at=timezone.now() if submitted else None, submitted_by=by if submitted else None,
        answer="Answered" if status in (Referral.Status.RETURNED, Referral.Status.DECLINED) else "")


def make_notice(school: School) -> PenaltyNotice:
    referral = make_referral(school, Referral.Status.ACCEPTED)
    today = timezone.localdate()
    framework = framework_on(today)
    guardian = referral.pupil.contacts.first().guardian
    return PenaltyNotice.objects.create(
        local_authority=referral.local_authority.name, number=f"N-{referral.pk}", school=school, kind="attendance",
        child_upn=referral.pupil.upn, child_name=referral.pupil.full_name, parent_name=str(guardian),
        parent_key=parent_key_make(guardian.forename, guardian.surname), guardian=guardian, issued_on=today,
        framework=framework, ordinal=1, lower_pence=8000, lower_due_on=today + timezone.timedelta(days=21),
        full_pence=16000, full_due_on=today + timezone.timedelta(days=28), referral=referral)


def make_built_pack(school: School) -> EvidencePack:
    referral = make_referral(school)
    pdf = default_storage.save(f"packs/{school.pk}/made.pdf", ContentFile(b"%PDF-1.7 made"))
    archive = default_storage.save(f"packs/{school.pk}/made.zip", ContentFile(b"PK made"))
    return EvidencePack.objects.create(school=school, referral=referral, data={}, file_stem="made",
                                       status=EvidencePack.Status.BUILT, pdf=pdf, zip=archive)
