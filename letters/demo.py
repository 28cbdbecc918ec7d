"""Demo data for letters: each demo school's letterhead, its default letters and its parents' addresses."""

from __future__ import annotations

import random

from attendance_portal.models import Membership, School
from attendance_portal.roles import Role
from registers.models import Guardian

from .defaults import templates_install_defaults
from .models import Letterhead, RecipientDetails

STREETS = ["Mill Lane", "Church Street", "Station Road", "Victoria Road", "The Green", "Orchard Close",
           "Park Avenue", "School Lane", "Meadow Way", "Brook Street"]


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
    details = []
    for guardian in Guardian.objects.filter(school=school).order_by("pk"):
        postcode = f"RB{rng.randrange(1, 9)} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
        details.append(RecipientDetails(
            school=school, guardian=guardian,
            address=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}\n{town}\n{postcode}",
            # A few old e-mail addresses, so some letters go by post.
            email_current=rng.random() > 0.15))
    RecipientDetails.objects.bulk_create(details)
