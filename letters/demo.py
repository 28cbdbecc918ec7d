"""Demo data for letters: each demo school's letterhead, its default letters and its parents' letter settings."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from attendance_portal.models import Membership, School
from attendance_portal.roles import Role
from registers.models import Enrolment, Guardian, Pupil, PupilContact

from .defaults import templates_install_defaults
from .models import Letterhead, RecipientDetails


def letters_demo_seed(*, school: School, seed: int = 2026) -> None:
    """Run inside the school's scope, after its parents exist."""
    rng = random.Random(f"{seed}-{school.slug}")  # noqa: S311 - demo data, seeded on purpose
    people = {m.role: m.user for m in Membership.objects.filter(school=school).select_related("user")}
    town = school.local_authority or "Riverbend"
    head, lead = people.get(Role.HEADTEACHER), people.get(Role.SENIOR_ATTENDANCE_CHAMPION)
    Letterhead.objects.create(
        school=school, address=f"{rng.randrange(1, 90)} School Road\n{town}\nRB{rng.randrange(1, 9)} 4DX",
        phone=f"01632 96{rng.randrange(1000, 9999)}", email=f"office@{school.slug}.example.sch.uk",
        headteacher=head.get_full_name() if head else "", attendance_lead=lead.get_full_name() if lead else "",
        attendance_lead_role="Senior attendance champion")
    templates_install_defaults(school=school)
    # A few old e-mail addresses, so some letters go by post (to the guardian's invented address).
    RecipientDetails.objects.bulk_create([
        RecipientDetails(school=school, guardian=guardian, email_current=rng.random() > 0.15)
        for guardian in Guardian.objects.filter(school=school).order_by("pk")])


def families_bulk_create(*, school: School, count: int, email: Callable[[int], str], upn_prefix: str) -> list[Pupil]:
    """`count` pupils, each with one parent (with parental responsibility) and a postal address, set-based.

    For benchmarks and load tests: `email(n)` gives parent n's address ("" for none).
    """
    pupils = Pupil.objects.bulk_create([
        Pupil(school=school, upn=f"{upn_prefix}{n:06d}", forename=f"Pupil{n:03d}", surname=f"Family{n:03d}",
              date_of_birth=dt.date(2016, 1, 1), year_group="4") for n in range(count)])
    Enrolment.objects.bulk_create([Enrolment(school=school, pupil=p, admission_date=dt.date(2025, 9, 1))
                                   for p in pupils])
    guardians = Guardian.objects.bulk_create([
        Guardian(school=school, forename="Parent", surname=f"Family{n:03d}", email=email(n),
                 address=f"{n} High Street\nTowncester", postcode="AB1 2CD") for n in range(count)])
    PupilContact.objects.bulk_create([PupilContact(school=school, pupil=p, guardian=g, relationship="Parent")
                                      for p, g in zip(pupils, guardians, strict=True)])
    RecipientDetails.objects.bulk_create([RecipientDetails(school=school, guardian=g) for g in guardians])
    return pupils
