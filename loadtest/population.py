"""A synthetic population for the load test: N schools of about 1,000 pupils each, loaded set-based.

Schools, calendars, groups and staff are a few thousand rows (bulk inserts); pupils, enrolments, guardians
and their links are one `INSERT ... SELECT` over `generate_series` per table, and the school day before the
morning is marked (everyone present) through the marks' own triggers, so every enrolment's summary row exists
as on a real morning. Runs as the owner role (the application role owns nothing),
then VACUUMs and ANALYZEs what it wrote (`_vacuum`), as a real morning finds yesterday's rows.

Each school gets one signed-in session per kind of person the scenario plays (a class teacher, the office,
the attendance officer, a parent with a child): the load tool presents those cookies instead of signing
in, so what is measured is the morning's work, not two-step sign-in.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scopes_disabled

from accounts.fast_reads import BACKEND
from accounts.models import SignedInSession
from accounts.sessions import LAST_SEEN, SIGNED_IN_AT
from attendance_portal.models import Membership, School, Trust, User
from attendance_portal.roles import Role
from registers import codes
from registers.models import (
    YEAR_GROUPS,
    AcademicYear,
    Enrolment,
    Guardian,
    Mark,
    Pupil,
    PupilContact,
    RegistrationGroup,
    SessionTimes,
    Term,
)
from reporting.models import AttendanceSummary

CLASS_SIZE = 30
GROUPS_PER_YEAR = 5  # 7 primary year groups (R–6) × 5 classes × 30 pupils ≈ 1,050 pupils a school
PRIMARY_YEARS = ["R", "1", "2", "3", "4", "5", "6"]
SCHOOLS_PER_TRUST = 20
PASSWORD = "loadtest-only-2026"  # noqa: S105 - accounts of a throw-away load-test database


def academic_terms(day: dt.date) -> tuple[dt.date, dt.date, list[tuple[str, dt.date, dt.date]]]:
    """The school year containing `day` (1 September to 31 August) and three terms filling its weekdays,
    so whatever weekday the test runs on is a school day."""
    first = day.year if day.month >= 9 else day.year - 1
    start, end = dt.date(first, 9, 1), dt.date(first + 1, 8, 31)
    return start, end, [("Autumn", start, dt.date(first, 12, 31)),
                        ("Spring", dt.date(first + 1, 1, 1), dt.date(first + 1, 4, 30)),
                        ("Summer", dt.date(first + 1, 5, 1), end)]


def _year_groups() -> list[str]:
    return [yg for yg in YEAR_GROUPS if yg in PRIMARY_YEARS]


def population_load(*, schools: int, day: dt.date, out: Path) -> dict[str, Any]:
    """Load `schools` schools and write the sessions the load tool uses to `out` (JSON). Returns sizes."""
    started = time.monotonic()
    password = make_password(PASSWORD)
    years = _year_groups()
    with transaction.atomic(), scopes_disabled():
        trusts = Trust.objects.bulk_create([Trust(name=f"Load Trust {n}", slug=f"load-trust-{n}")
                                            for n in range((schools + SCHOOLS_PER_TRUST - 1) // SCHOOLS_PER_TRUST)])
        made = School.objects.bulk_create([
            School(name=f"Load Primary {n}", slug=f"load-{n}", urn=f"{900000 + n}", local_authority="Load",
                   trust=trusts[n // SCHOOLS_PER_TRUST]) for n in range(schools)])
        start, end, terms = academic_terms(day)
        ays = AcademicYear.objects.bulk_create([
            AcademicYear(school=s, name=f"{start.year}/{str(end.year)[2:]}", start=start, end=end) for s in made])
        Term.objects.bulk_create([
            Term(school=s, academic_year=ay, name=name, season=Term.season_for(name, a), start=a, end=b)
            for s, ay in zip(made, ays, strict=True) for name, a, b in terms])
        SessionTimes.objects.bulk_create([
            SessionTimes(school=s, year_group=yg, am_open=dt.time(8, 45), am_close=dt.time(9, 0),
                         pm_open=dt.time(13, 15), pm_close=dt.time(13, 30)) for s in made for yg in YEAR_GROUPS])
        RegistrationGroup.objects.bulk_create([
            RegistrationGroup(school=s, name=f"{yg}{'ABCDE'[k]}", year_group=yg)
            for s in made for yg in years for k in range(GROUPS_PER_YEAR)])
        pupils = _pupils_insert(school_ids=[s.pk for s in made], admission=start - dt.timedelta(days=365))
        marked = _day_before_marks(school_ids=[s.pk for s in made], day=day, year_start=start)
        people = _staff_and_parents(made, password=password)
    _vacuum(School, RegistrationGroup, Pupil, Enrolment, Guardian, PupilContact, User, Membership, SessionTimes,
            Term, AcademicYear, Mark, "registers_markevent", AttendanceSummary)
    sessions = _sessions_mint(people)
    out.write_text(json.dumps({"day": day.isoformat(), "schools": sessions}))
    return {"schools": schools, "pupils": pupils, "groups": schools * len(years) * GROUPS_PER_YEAR,
            "marks_before": marked, "seconds": time.monotonic() - started}


def _vacuum(*tables: type[Any] | str) -> None:
    """VACUUM (ANALYZE) what was written, outside the load's transaction, as a real morning finds it: the day
    before's marks rewrote every summary row, and autovacuum cleared the old versions within minutes of that
    afternoon, not during the next morning's peak; and the first requests are planned against the real sizes."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:  # the driver's own: VACUUM must be a round trip alone
        for table in tables:
            name = table if isinstance(table, str) else table._meta.db_table
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(name)}")


def _day_before_marks(*, school_ids: list[int], day: dt.date, year_start: dt.date) -> int:
    """Every pupil present at both sessions of the school day before, written through the marks' own triggers
    (audit copy, summary upkeep), so the morning starts as a real one does: each enrolment's summary row for the
    year exists and the marks table is not empty. Without it every save of the peak would create its pupils'
    summary rows, a cost a November morning does not have. Twenty schools a statement."""
    before = day - dt.timedelta(days=1)
    while before.weekday() >= 5:
        before -= dt.timedelta(days=1)
    if before < year_start:
        return 0
    m, e = Mark._meta.db_table, Enrolment._meta.db_table
    written = 0
    with connection.cursor() as cursor:
        for first in range(0, len(school_ids), SCHOOLS_PER_TRUST):
            cursor.execute(f"""
                INSERT INTO {m} (school_id, pupil_id, enrolment_id, date, session, code, minutes_late, note, version,
                                 recorded_by_id, recorded_at, updated_at)
                SELECT e.school_id, e.pupil_id, e.id, %s, s.session, s.code, NULL, '', 1, NULL, now(), now()
                  FROM {e} e CROSS JOIN (VALUES ('AM', %s), ('PM', %s)) AS s(session, code)
                 WHERE e.school_id = ANY(%s)
                 ORDER BY e.school_id, e.pupil_id, s.session""",
                           [before, codes.present_code("AM"), codes.present_code("PM"),
                            school_ids[first:first + SCHOOLS_PER_TRUST]])
            written += cursor.rowcount
    return written


def _pupils_insert(*, school_ids: list[int], admission: dt.date) -> int:
    """Pupils (30 to a group, in every group), their enrolments, one guardian and contact each: set-based."""
    p, e = Pupil._meta.db_table, Enrolment._meta.db_table
    g, c, rg = Guardian._meta.db_table, PupilContact._meta.db_table, RegistrationGroup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {p} (school_id, upn, forename, surname, date_of_birth, year_group, registration_group_id,
                             sen, fsm, eal, looked_after, child_in_need, has_social_worker)
            SELECT grp.school_id,
                   'L' || lpad(grp.school_id::text, 5, '0') || lpad((grp.id %% 100000)::text, 5, '0')
                       || lpad(n::text, 2, '0'),
                   (ARRAY['Amelia','Oliver','Isla','George','Ava','Noah','Mia','Arthur','Ivy','Leo'])
                       [1 + (grp.id + n) %% 10],
                   'Pupil' || grp.id || '-' || n,
                   make_date(2020 - CASE WHEN grp.year_group = 'R' THEN 0 ELSE grp.year_group::int END,
                             1 + n %% 12, 1),
                   grp.year_group, grp.id, CASE WHEN n %% 9 = 0 THEN 'K' ELSE 'N' END, n %% 5 = 0, n %% 7 = 0,
                   false, false, false
              FROM {rg} grp CROSS JOIN generate_series(1, %s) AS n
             WHERE grp.school_id = ANY(%s)""", [CLASS_SIZE, school_ids])
        pupils = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO {e} (school_id, pupil_id, admission_date, leaving_date, deletion_ground, registration_type)
            SELECT school_id, id, %s, NULL, '', 'main' FROM {p} WHERE school_id = ANY(%s)""",
                       [admission, school_ids])
        cursor.execute(f"""
            INSERT INTO {g} (school_id, forename, surname, phone, email, user_id, address, postcode)
            SELECT school_id, 'Parent', surname, '', 'parent-' || id || '@example.org', NULL,
                   id || ' Loadtest Road' || chr(10) || 'Riverbend', 'RB1 1AA'
              FROM {p} WHERE school_id = ANY(%s) ORDER BY id""", [school_ids])
        cursor.execute(f"""
            INSERT INTO {c} (school_id, pupil_id, guardian_id, relationship, parental_responsibility,
                             lives_with_pupil, priority)
            SELECT p.school_id, p.id, g.id, 'Parent', true, true, 1
              FROM {p} p JOIN {g} g ON g.school_id = p.school_id AND g.email = 'parent-' || p.id || '@example.org'
             WHERE p.school_id = ANY(%s)""", [school_ids])
    return pupils


def _staff_and_parents(schools: list[School], *, password: str) -> list[dict[str, Any]]:
    """Per school: a class teacher, the office, the attendance officer (each with an authenticator, as
    two-step sign-in requires) and a parent account linked to its first pupil's guardian."""
    kinds = {"teacher": Role.CLASS_TEACHER, "office": Role.OFFICE_STAFF, "officer": Role.ATTENDANCE_OFFICER}
    users = User.objects.bulk_create([
        User(username=f"{s.slug}-{kind}", password=password, first_name=kind.capitalize(), last_name=s.slug,
             position=role.label) for s in schools for kind, role in kinds.items()]
        + [User(username=f"{s.slug}-parent", password=password, first_name="Parent", last_name=s.slug,
                email=f"{s.slug}-parent@example.org") for s in schools])
    by_name = {u.username: u for u in users}
    Membership.objects.bulk_create([Membership(user=by_name[f"{s.slug}-{kind}"], school=s, role=role)
                                    for s in schools for kind, role in kinds.items()])
    TOTPDevice.objects.bulk_create([TOTPDevice(user=by_name[f"{s.slug}-{kind}"], name="load test", confirmed=True)
                                    for s in schools for kind in kinds])
    people = []
    for s in schools:
        groups = list(RegistrationGroup.objects.filter(school=s).order_by("pk").values_list("pk", flat=True))
        first = Pupil.objects.filter(school=s).order_by("pk").values_list("pk", flat=True).first()
        Guardian.objects.filter(school=s, contacts__pupil_id=first).update(user=by_name[f"{s.slug}-parent"])
        late = list(Pupil.objects.filter(school=s, registration_group_id=groups[-1]).values_list("pk", flat=True))
        people.append({"school": s.slug, "groups": groups, "child": first, "late_pupils": late,
                       "users": {kind: by_name[f"{s.slug}-{kind}"] for kind in (*kinds, "parent")}})
    return people


def _session_for(user: User) -> str:
    store = SessionStore()
    now = timezone.now().timestamp()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[SIGNED_IN_AT] = now
    store[LAST_SEEN] = now
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    SignedInSession.objects.create(session_key=store.session_key, user_id=user.pk)
    return str(store.session_key)


def _sessions_mint(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "users": {kind: _session_for(user) for kind, user in p["users"].items()}} for p in people]
