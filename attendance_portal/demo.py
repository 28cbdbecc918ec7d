"""Demo data: one trust with four schools modelled on the four seed attendance policies.

Names of schools and people are invented. Everything is drawn from one seeded random generator,
so the same seed and the same "today" give the same data. Marks are written through
`registers.services.marks_save`, like any other source, so the audit trail is complete.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django_scopes import scope

from accounts.demo import demo_devices_ensure
from interventions.demo import demo_ladder
from letters.demo import letters_demo_seed
from registers.calendar import school_sessions
from registers.models import (
    AcademicYear,
    Closure,
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
from registers.services import MarkEntry, marks_save
from registers.upn import upn_make
from reporting.demo import demo_benchmarks
from reporting.models import AttendanceSummary
from staff.demo import demo_marks_until, demo_school_day

from .models import Membership, School, Trust, User
from .planner import planner_statistics_refresh
from .roles import Role

DEMO_PASSWORD = "attend-demo-2026"
TRUST_SLUG = "riverbend"

FORENAMES = [
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo", "Freya", "Oscar",
    "Lily", "Harry", "Florence", "Muhammad", "Evie", "Jack", "Sophia", "Charlie", "Grace", "Thomas", "Aisha",
    "Theo", "Zara", "Jacob", "Ella", "Alfie", "Poppy", "Archie", "Maya", "Finley", "Ruby", "Reuben", "Sienna",
    "Yusuf", "Hannah", "Kai", "Priya", "Toby", "Chloe", "Ibrahim", "Daisy", "Max", "Nadia", "Rory", "Amara",
]
SURNAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
    "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore",
    "Khan", "Begum", "Ali", "Okafor", "Nowak", "Kowalski", "Murphy", "O'Brien", "Singh", "Ahmed", "Lewis",
]
STREETS = ["Mill Lane", "Church Street", "Station Road", "Victoria Road", "The Green", "Orchard Close",
           "Park Avenue", "School Lane", "Meadow Way", "Brook Street"]
STAFF = {
    Role.CLASS_TEACHER: ("teacher", "Class teacher"),
    Role.OFFICE_STAFF: ("office", "Office manager"),
    Role.ATTENDANCE_OFFICER: ("officer", "Attendance officer"),
    Role.SENIOR_ATTENDANCE_CHAMPION: ("champion", "Deputy headteacher (senior attendance champion)"),
    Role.HEADTEACHER: ("head", "Headteacher"),
    Role.GOVERNOR: ("governor", "Chair of governors"),
}


@dataclass(frozen=True)
class Times:
    am: tuple[str, str]
    pm: tuple[str, str]


@dataclass(frozen=True)
class DemoSchool:
    slug: str
    name: str
    urn: str
    phase: str
    local_authority: str
    la_number: int
    year_groups: list[str]
    groups_per_year: int
    pupils_per_group: int
    times: dict[str, Times]  # year group (or "*") -> register times
    policy: dict[str, object] = field(default_factory=dict)
    inset: list[int] = field(default_factory=list)  # INSET day offsets (school days from term start)


PRIMARY = ["R", "1", "2", "3", "4", "5", "6"]

SCHOOLS = [
    # After the primary whose policy predates 2024: short AM window, punctuality letters. The demo trust's
    # schools sit in two local authorities (Hertfordshire and Essex), each with its penalty-notice officer.
    DemoSchool("meadowbrook", "Meadowbrook Primary School", "140101", "primary", "Hertfordshire", 919,
               PRIMARY, 1, 36, {"*": Times(("08:45", "08:55"), ("13:00", "13:10"))},
               {"absence_report_cutoff": dt.time(9, 0), "medical_evidence_after_days": 5}, [0, 40]),
    # After the Hertfordshire primary: register 08:55–09:10, letters below 95 %.
    DemoSchool("millbrook", "Millbrook Primary School", "140102", "primary", "Hertfordshire", 919,
               PRIMARY, 1, 36, {"*": Times(("08:55", "09:10"), ("13:15", "13:30"))},
               {"absence_report_cutoff": dt.time(9, 10), "leave_notice_days": 14}, [0, 33]),
    # After the Sandwell primary: 09:00 register, > 3 lates in 3 weeks, 2 weeks' notice for leave.
    # Its policy has no window for L (dfe-rules U8) and gives 13:10 or 13:15 for PM (U7): this demo opens the
    # AM register at 08:45 so L exists, and closes PM at 13:15. A real school sets its own times.
    DemoSchool("moorfield", "Moorfield Primary School", "140103", "primary", "Essex", 881,
               PRIMARY, 1, 36, {"*": Times(("08:45", "09:00"), ("13:05", "13:15"))},
               {"absence_report_cutoff": dt.time(9, 30), "leave_notice_days": 14, "punctuality_lates": 3,
                "punctuality_weeks": 3}, [0, 25]),
    # After the Essex Years 7–9 academy: different register times per year group, 4 weeks' notice.
    # Close times follow its formal register table (dfe-rules U5: 08:45 / 09:15, not 09:00 / 09:30), and
    # medical evidence after the 3rd day of illness (U6 offers 3 or 5).
    DemoSchool("thameside", "Thameside Lower Academy", "140104", "middle", "Essex", 881,
               ["7", "8", "9"], 5, 30,
               {"9": Times(("08:30", "08:45"), ("13:00", "13:15")),
                "8": Times(("09:00", "09:15"), ("13:30", "13:45")),
                "7": Times(("09:00", "09:15"), ("14:00", "14:15"))},
               {"absence_report_cutoff": dt.time(8, 30), "leave_notice_days": 28,
                "medical_evidence_after_days": 3}, [0, 20]),
]


def academic_year_start(today: dt.date) -> int:
    return today.year if today.month >= 9 else today.year - 1


def _weekday_on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def term_dates(year: int) -> list[tuple[str, str, dt.date, dt.date]]:
    """Six half-terms in the usual English pattern for the academic year starting in September `year`."""
    autumn1_start = dt.date(year, 9, 2)
    while autumn1_start.weekday() >= 5:
        autumn1_start += dt.timedelta(days=1)
    half_term = _weekday_on_or_after(dt.date(year, 10, 24), 0)  # the October half-term week
    autumn1_end = half_term - dt.timedelta(days=3)
    autumn2_start = half_term + dt.timedelta(days=7)
    autumn2_end = _weekday_on_or_after(dt.date(year, 12, 15), 4)
    spring1_start = _weekday_on_or_after(dt.date(year + 1, 1, 5), 0)
    feb_break = _weekday_on_or_after(dt.date(year + 1, 2, 13), 0)
    spring1_end = feb_break - dt.timedelta(days=3)
    spring2_start = feb_break + dt.timedelta(days=7)
    spring2_end = _weekday_on_or_after(dt.date(year + 1, 3, 26), 4)
    summer1_start = spring2_end + dt.timedelta(days=17)
    may_break = _weekday_on_or_after(dt.date(year + 1, 5, 25), 0)
    summer1_end = may_break - dt.timedelta(days=3)
    summer2_start = may_break + dt.timedelta(days=7)
    summer2_end = _weekday_on_or_after(dt.date(year + 1, 7, 18), 1)
    return [
        ("Autumn 1", "autumn", autumn1_start, autumn1_end),
        ("Autumn 2", "autumn", autumn2_start, autumn2_end),
        ("Spring 1", "spring", spring1_start, spring1_end),
        ("Spring 2", "spring", spring2_start, spring2_end),
        ("Summer 1", "summer", summer1_start, summer1_end),
        ("Summer 2", "summer", summer2_start, summer2_end),
    ]


@dataclass
class Profile:
    """How a demo pupil tends to attend."""

    absence: float  # chance of missing a given school day
    late: float  # chance of arriving late to a morning session
    holiday: bool = False  # takes an unauthorised term-time holiday (G)
    open_n: bool = False  # has an N from a few days ago that nobody has resolved
    stopped_days: int = 0  # stopped attending this many school days ago (whereabouts unknown)


def _profile(rng: random.Random) -> Profile:
    roll = rng.random()
    if roll < 0.78:
        return Profile(absence=0.012, late=0.02)
    if roll < 0.90:
        return Profile(absence=0.035, late=0.05)
    if roll < 0.94:
        return Profile(absence=0.13, late=0.06, open_n=rng.random() < 0.3)
    if roll < 0.955:
        return Profile(absence=0.55, late=0.05, open_n=True)
    if roll < 0.975:
        return Profile(absence=0.02, late=0.35)  # often late: the punctuality letters
    if roll < 0.978:
        return Profile(absence=0.05, late=0.05, stopped_days=rng.choice([12, 24]))
    return Profile(absence=0.02, late=0.03, holiday=True)


def _absence_code(rng: random.Random) -> str:
    return rng.choices(["I", "I", "I", "M", "O", "R", "C", "E", "G"], weights=[40, 15, 10, 10, 10, 2, 4, 1, 3])[0]


@dataclass
class Summary:
    rows: list[tuple[str, int, int, int, int]] = field(default_factory=list)


def _ensure_user(username: str, first: str, last: str, position: str, email: str = "") -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last, "position": position,
                                     "email": email or f"{username}@example.org.uk"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def demo_exists() -> bool:
    return Trust.objects.filter(slug=TRUST_SLUG).exists()


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, where) for every demo login."""
    rows = [("platform.admin", "Platform staff (Django admin)", "/platform-admin/"),
            ("trust.officer", "Trust attendance officer", f"/t/{TRUST_SLUG}/")]
    for spec in SCHOOLS:
        for role, (prefix, _) in STAFF.items():
            rows.append((f"{prefix}.{spec.slug}", role.label, f"/s/{spec.slug}/"))
    rows.append(("parent.demo", "Parent (two children, two schools)", "/parent/"))
    from penalties.demo import demo_la_logins

    return rows + demo_la_logins()


@transaction.atomic
def seed_demo(*, seed: int = 2026, today: dt.date) -> Summary:
    rng = random.Random(seed)
    summary = Summary()
    trust = Trust.objects.create(name="Riverbend Schools Trust", slug=TRUST_SLUG)
    admin = _ensure_user("platform.admin", "Pat", "Operator", "Platform support")
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    officer = _ensure_user("trust.officer", "Morgan", "Ellis", "Trust attendance lead")
    Membership.objects.create(user=officer, trust=trust, role=Role.TRUST_OFFICER)
    parent = _ensure_user("parent.demo", "Jordan", "Hale", "", email="jordan.hale@example.org.uk")
    year_start = academic_year_start(today)
    for index, spec in enumerate(SCHOOLS):
        school = School.objects.create(
            trust=trust, name=spec.name, slug=spec.slug, urn=spec.urn, phase=spec.phase,
            local_authority=spec.local_authority,
        )
        for role, (prefix, position) in STAFF.items():
            first, last = rng.choice(FORENAMES), rng.choice(SURNAMES)
            user = _ensure_user(f"{prefix}.{spec.slug}", first, last, position)
            Membership.objects.create(user=user, school=school, role=role)
        with scope(school=school):
            summary.rows.append(_seed_school(rng, school, spec, year_start, today, index, parent))
            letters_demo_seed(school=school, seed=seed)
    demo_devices_ensure([username for username, _, _ in demo_logins()])
    demo_benchmarks()
    return summary


def _seed_school(
    rng: random.Random, school: School, spec: DemoSchool, year_start: int, today: dt.date, index: int, parent: User
) -> tuple[str, int, int, int, int]:
    year = AcademicYear.objects.create(
        school=school, name=f"{year_start}/{(year_start + 1) % 100:02d}",
        start=dt.date(year_start, 9, 1), end=dt.date(year_start + 1, 8, 31),
    )
    terms = term_dates(year_start)
    for name, season, start, end in terms:
        Term.objects.create(school=school, academic_year=year, name=name, season=season, start=start, end=end)
    demo_ladder(school=school, effective_from=year.start)
    first_day = terms[0][2]
    for offset in spec.inset:
        day = first_day + dt.timedelta(days=offset)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        Closure.objects.get_or_create(school=school, date=day, session="BOTH", defaults={"reason": "INSET day"})
    may_day = _weekday_on_or_after(dt.date(year_start + 1, 5, 1), 0)
    Closure.objects.get_or_create(school=school, date=may_day, session="BOTH",
                                  defaults={"reason": "Early May bank holiday"})
    SchoolPolicy.objects.create(school=school, effective_from=year.start,
                                letter_threshold_percent=Decimal(95), **spec.policy)
    for yg in spec.year_groups:
        t = spec.times.get(yg) or spec.times["*"]
        SessionTimes.objects.create(
            school=school, year_group=yg,
            am_open=dt.time.fromisoformat(t.am[0]), am_close=dt.time.fromisoformat(t.am[1]),
            pm_open=dt.time.fromisoformat(t.pm[0]), pm_close=dt.time.fromisoformat(t.pm[1]),
        )

    pupils: list[tuple[Pupil, Enrolment, Profile]] = []
    serial = 0
    for yg in spec.year_groups:
        for g in range(spec.groups_per_year):
            label = f"{yg}{'ABCDE'[g]}" if spec.groups_per_year > 1 else (
                "Reception" if yg == "R" else f"Year {yg}")
            group = RegistrationGroup.objects.create(school=school, name=label, year_group=yg)
            for _ in range(spec.pupils_per_group):
                serial += 1
                age = 4 if yg == "R" else int(yg) + 4
                dob = dt.date(year_start - age - 1, 9, 1) + dt.timedelta(days=rng.randrange(365))
                pupil = Pupil(
                    school=school, upn=upn_make(spec.la_number, 2100 + 10 * index + serial // 1000,
                                                year_start - age + 5, serial % 1000),
                    forename=rng.choice(FORENAMES), surname=rng.choice(SURNAMES), date_of_birth=dob,
                    year_group=yg, registration_group=group,
                    sen=rng.choices(["N", "K", "E"], weights=[82, 14, 4])[0],
                    fsm=rng.random() < 0.24, eal=rng.random() < 0.2, looked_after=rng.random() < 0.01,
                    child_in_need=rng.random() < 0.03, has_social_worker=rng.random() < 0.03,
                )
                joined_late = rng.random() < 0.03
                admission = first_day + dt.timedelta(days=rng.randrange(10, 40)) if joined_late \
                    else dt.date(year_start - (0 if yg in ("R", "7") else 1), 9, 1)
                pupils.append((pupil, Enrolment(school=school, pupil=pupil, admission_date=admission), _profile(rng)))
    Pupil.objects.bulk_create([p for p, _, _ in pupils])
    for pupil, enrolment, _ in pupils:
        enrolment.pupil = pupil  # now that the pupil has its id
    Enrolment.objects.bulk_create([e for _, e, _ in pupils])
    _add_contacts(rng, school, [p for p, _, _ in pupils])
    if index < 2:
        # The demo parent has one child here and one at the next school.
        pupil = pupils[rng.randrange(len(pupils))][0]
        guardian = Guardian.objects.create(school=school, forename="Jordan", surname="Hale",
                                           email=parent.email, phone="07700 900123", user=parent,
                                           address="14 Orchard Close\nRiverbend", postcode="RB2 5HL")
        PupilContact.objects.create(school=school, pupil=pupil, guardian=guardian, relationship="Parent",
                                    priority=0)
    # Every school has one child missing for weeks: the 10- and 20-day rules have someone to show.
    pupils[rng.randrange(len(pupils))][2].stopped_days = 24 if index % 2 else 12
    marks = _seed_marks(rng, school, pupils, first_day, today)
    demo_school_day(rng=rng, school=school, today=today)
    persistent = sum(1 for _, _, p in pupils if p.absence >= 0.1)
    return (school.name, len(pupils), marks, persistent, Mark.objects.filter(school=school, code="N").count())


def demo_address(rng: random.Random, town: str) -> tuple[str, str]:
    """An invented address in `town`: its lines and an RB postcode (an area letter pair no real postcode uses)."""
    postcode = f"RB{rng.randrange(1, 9)} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
    return f"{rng.randrange(1, 120)} {rng.choice(STREETS)}\n{town}", postcode


def _add_contacts(rng: random.Random, school: School, pupils: list[Pupil]) -> None:
    links: list[tuple[Pupil, Guardian, str, int]] = []
    # Addresses from a generator of their own, so the rest of the demo draws the same numbers as before.
    places = random.Random(f"addresses-{school.slug}")
    town = school.local_authority or "Riverbend"
    for pupil in pupils:
        home = demo_address(places, town)
        for priority, relationship in enumerate(rng.sample(["Mother", "Father", "Grandparent", "Carer"], 2), 1):
            if priority == 2 and rng.random() < 0.3:
                break
            surname = pupil.surname if relationship != "Grandparent" else rng.choice(SURNAMES)
            address, postcode = home if relationship != "Grandparent" else demo_address(places, town)
            guardian = Guardian(
                school=school, forename=rng.choice(FORENAMES), surname=surname,
                phone=f"07700 9{rng.randrange(10000, 99999)}",
                email=f"{surname.lower().replace(chr(39), '')}.{rng.randrange(1000)}@example.org.uk",
                address=address, postcode=postcode,
            )
            links.append((pupil, guardian, relationship, priority))
    Guardian.objects.bulk_create([g for _, g, _, _ in links])
    PupilContact.objects.bulk_create([
        PupilContact(school=school, pupil=pupil, guardian=guardian, relationship=relationship, priority=priority,
                     parental_responsibility=relationship in ("Mother", "Father", "Carer"))
        for pupil, guardian, relationship, priority in links
    ])


def _seed_marks(
    rng: random.Random, school: School, pupils: list[tuple[Pupil, Enrolment, Profile]],
    first_day: dt.date, today: dt.date,
) -> int:
    last = demo_marks_until(school=school, today=today)
    if last < first_day:
        return 0
    sessions = set(school_sessions(school=school, start=first_day, end=last))
    days = sorted({d for d, _ in sessions})
    recent = set(days[-4:])  # N codes this recent are still being chased
    # One trip day per group: the pupils in school that day are on an educational visit (V).
    trip_day: dict[int | None, dt.date] = {}
    for pupil, _, _ in pupils:  # in creation order, never by database id, so a seed repeats exactly
        if pupil.registration_group_id not in trip_day:
            trip_day[pupil.registration_group_id] = rng.choice(days)
    entries: list[MarkEntry] = []
    for pupil, enrolment, profile in pupils:
        holiday_start = rng.randrange(max(1, len(days) - 12)) if profile.holiday else -1
        spell = 0
        spell_code = "I"
        for i, day in enumerate(days):
            if day < enrolment.admission_date:
                continue
            if profile.stopped_days and i >= len(days) - profile.stopped_days:
                day_codes = ["N", "N"] if day in recent else ["O", "O"]  # calls and visits found no one
            elif profile.holiday and holiday_start <= i < holiday_start + rng.choice([4, 5]):
                day_codes = ["G", "G"]
            elif spell > 0:
                spell -= 1
                day_codes = [spell_code, spell_code]
            elif rng.random() < profile.absence:
                spell_code = _absence_code(rng)
                spell = rng.choice([0, 0, 1, 2]) if spell_code == "I" else 0
                if profile.open_n and (day in recent or rng.random() < 0.05):
                    spell_code = "N"  # not yet explained; older ones are overdue for the 5-day rule
                day_codes = [spell_code, spell_code]
                if spell_code == "M":
                    day_codes = [rng.choice(["M", "/"]), "M"]
            elif day == trip_day[pupil.registration_group_id]:
                day_codes = ["V", "V"]
            else:
                day_codes = ["/", "\\"]
            for session, code in zip(("AM", "PM"), day_codes, strict=True):
                if (day, session) not in sessions:
                    continue
                minutes = None
                if code == "/" and rng.random() < profile.late:
                    code, minutes = ("L", rng.randrange(2, 14)) if rng.random() < 0.8 else ("U", rng.randrange(16, 45))
                if code == "/" and session == "PM":
                    code = "\\"
                entries.append(MarkEntry(pupil.pk, day, session, code, minutes))
    chunk = 20000
    for start in range(0, len(entries), chunk):
        marks_save(school=school, entries=entries[start:start + chunk], by=None, source="demo data")
    _amend_some(rng, school, pupils, days)
    planner_statistics_refresh(Pupil, Enrolment, Mark, AttendanceSummary)
    return len(entries)


def _amend_some(
    rng: random.Random, school: School, pupils: list[tuple[Pupil, Enrolment, Profile]], days: list[dt.date]
) -> None:
    """A few absences re-coded after a parent called back, so history pages have amendments to show."""
    early = set(days[:-6])
    resolvable = list(Mark.objects.filter(school=school, code="O", date__in=early)
                      .order_by("date", "session", "pupil__upn")[:6])
    entries = [MarkEntry(m.pupil_id, m.date, m.session, "I", None, "", m.version) for m in resolvable]
    if entries:
        marks_save(school=school, entries=entries, by=None, reason="Parent phoned back: illness", source="demo data")
