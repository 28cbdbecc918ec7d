"""Absence factories: every object is created in its pupil's school."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django_scopes import scopes_disabled

from absence.models import AbsenceReport, ContactAttempt, LeaveRequest, MedicalEvidenceRequest
from absence.services import reference_new
from tests import factories as f
from tests.factories import DjangoModelFactory


class AbsenceReportFactory(DjangoModelFactory[AbsenceReport]):
    class Meta:
        model = AbsenceReport
        skip_postgeneration_save = True

    pupil = factory.SubFactory(f.PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    reference = factory.LazyFunction(lambda: reference_new(kind=AbsenceReport))
    first_date = dt.date(2025, 9, 8)
    last_date = dt.date(2025, 9, 8)
    category = AbsenceReport.Category.ILLNESS


class LeaveRequestFactory(DjangoModelFactory[LeaveRequest]):
    class Meta:
        model = LeaveRequest
        skip_postgeneration_save = True

    pupil = factory.SubFactory(f.PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    reference = factory.LazyFunction(lambda: reference_new(kind=LeaveRequest))
    first_date = dt.date(2025, 10, 6)
    last_date = dt.date(2025, 10, 7)
    circumstance = LeaveRequest.Circumstance.EXCEPTIONAL
    reason = "Family funeral abroad"


class ContactAttemptFactory(DjangoModelFactory[ContactAttempt]):
    class Meta:
        model = ContactAttempt
        skip_postgeneration_save = True

    pupil = factory.SubFactory(f.PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    absence_date = dt.date(2025, 9, 8)
    method = ContactAttempt.Method.CALL
    outcome = ContactAttempt.Outcome.NO_ANSWER
    at = factory.LazyFunction(lambda: dt.datetime(2025, 9, 8, 9, 40, tzinfo=dt.UTC))


class MedicalEvidenceRequestFactory(DjangoModelFactory[MedicalEvidenceRequest]):
    class Meta:
        model = MedicalEvidenceRequest
        skip_postgeneration_save = True

    pupil = factory.SubFactory(f.PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    illness_from = dt.date(2025, 9, 8)
    days = 5


_families = itertools.count(1)


def family(school, *, username: str | None = None, email: str | None = None, year_group: str = "5"):
    """A pupil on roll with one guardian who has a parent-portal account. Returns (pupil, guardian, user)."""
    enrolment = f.EnrolmentFactory(pupil__school=school, pupil__year_group=year_group)
    pupil = enrolment.pupil
    user = f.UserFactory(username=username or f"parent{next(_families)}", email=email or "")
    contact = f.PupilContactFactory(pupil=pupil, guardian__user=user)
    if email:
        contact.guardian.email = email
        with scopes_disabled():
            contact.guardian.save()
    return pupil, contact.guardian, user
