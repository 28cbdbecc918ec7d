"""Factories: every sub-object is created in its parent's school."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Generic, TypeVar

import factory
from django_scopes import scope, scopes_disabled
from factory.django import DjangoModelFactory as _DjangoModelFactory

from attendance_portal.models import Membership, School, Trust, User
from attendance_portal.roles import Role
from registers.models import (
    AcademicYear,
    Enrolment,
    Guardian,
    Mark,
    Pupil,
    PupilContact,
    RegistrationGroup,
    SchoolPolicy,
    SessionTimes,
    Term,
)
from registers.upn import upn_make

_serial = itertools.count(1)
T = TypeVar("T")


class DjangoModelFactory(_DjangoModelFactory[T], Generic[T]):
    """Factories build test data for any school, as the fixtures do: with the tenant scope (and so the
    row-level security policies, attendance_portal.rls) opened for every school."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)



def _next_upn() -> str:
    n = next(_serial)
    return upn_make(881, 2000 + n // 1000, 20, n % 1000)


class TrustFactory(DjangoModelFactory[Trust]):
    class Meta:
        model = Trust
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Oakfield Learning Trust {n}")
    slug = factory.Sequence(lambda n: f"trust-{n}")


class SchoolFactory(DjangoModelFactory[School]):
    class Meta:
        model = School
        skip_postgeneration_save = True

    trust = factory.SubFactory(TrustFactory)
    name = factory.Sequence(lambda n: f"Brookside Primary {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")
    urn = factory.Sequence(lambda n: f"{100000 + n}")
    local_authority = "Essex"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    position = "Office manager"
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.OFFICE_STAFF
    school = factory.SubFactory(SchoolFactory)
    trust = None


class AcademicYearFactory(DjangoModelFactory[AcademicYear]):
    class Meta:
        model = AcademicYear
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    name = "2025/26"
    start = dt.date(2025, 9, 1)
    end = dt.date(2026, 8, 31)


class TermFactory(DjangoModelFactory[Term]):
    class Meta:
        model = Term
        skip_postgeneration_save = True

    academic_year = factory.SubFactory(AcademicYearFactory)
    school = factory.SelfAttribute("academic_year.school")
    name = "Autumn 1"
    season = "autumn"
    start = dt.date(2025, 9, 3)
    end = dt.date(2025, 10, 24)


class SessionTimesFactory(DjangoModelFactory[SessionTimes]):
    class Meta:
        model = SessionTimes
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    year_group = "5"
    am_open = dt.time(8, 45)
    am_close = dt.time(9, 0)
    pm_open = dt.time(13, 15)
    pm_close = dt.time(13, 30)


class RegistrationGroupFactory(DjangoModelFactory[RegistrationGroup]):
    class Meta:
        model = RegistrationGroup
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"5{chr(65 + n % 26)}{n}")
    year_group = "5"


class PupilFactory(DjangoModelFactory[Pupil]):
    class Meta:
        model = Pupil
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    upn = factory.LazyFunction(lambda: _next_upn())
    forename = factory.Faker("first_name")
    surname = factory.Faker("last_name")
    date_of_birth = dt.date(2015, 3, 14)
    year_group = "5"
    registration_group = factory.SubFactory(
        RegistrationGroupFactory, school=factory.SelfAttribute("..school")
    )


class EnrolmentFactory(DjangoModelFactory[Enrolment]):
    class Meta:
        model = Enrolment
        skip_postgeneration_save = True

    pupil = factory.SubFactory(PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    admission_date = dt.date(2024, 9, 1)
    leaving_date = None


class GuardianFactory(DjangoModelFactory[Guardian]):
    class Meta:
        model = Guardian
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    forename = factory.Faker("first_name")
    surname = factory.Faker("last_name")
    phone = "01632 960000"
    email = factory.Sequence(lambda n: f"parent{n}@example.org")
    address = factory.Sequence(lambda n: f"{n + 1} Mill Lane\nTowncester")
    postcode = "RB1 4DX"


class PupilContactFactory(DjangoModelFactory[PupilContact]):
    class Meta:
        model = PupilContact
        skip_postgeneration_save = True

    pupil = factory.SubFactory(PupilFactory)
    school = factory.SelfAttribute("pupil.school")
    guardian = factory.SubFactory(GuardianFactory, school=factory.SelfAttribute("..school"))
    relationship = "Mother"
    priority = 1


class MarkFactory(DjangoModelFactory[Mark]):
    class Meta:
        model = Mark
        skip_postgeneration_save = True

    enrolment = factory.SubFactory(EnrolmentFactory)
    pupil = factory.SelfAttribute("enrolment.pupil")
    school = factory.SelfAttribute("enrolment.school")
    date = dt.date(2025, 9, 8)
    session = "AM"
    code = "/"


class SchoolPolicyFactory(DjangoModelFactory[SchoolPolicy]):
    class Meta:
        model = SchoolPolicy
        skip_postgeneration_save = True

    school = factory.SubFactory(SchoolFactory)
    effective_from = dt.date(2025, 9, 1)


def reload(obj: Any) -> Any:
    """Read a school-owned object again, in its school's scope (a test body runs with none open, and the
    row-level security policies then show no school's rows)."""
    with scope(school=obj.school_id):
        obj.refresh_from_db()
    return obj
