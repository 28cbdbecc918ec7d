from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.management import call_command
from django.db import transaction
from django_scopes import scopes_disabled

from attendance_portal.demo import SCHOOLS, demo_logins, seed_demo
from attendance_portal.models import Membership, School
from attendance_portal.roles import Role
from registers.models import Mark, Pupil, SessionTimes

# Early in the autumn term: the whole structure, only a week of marks, so the test stays quick.
TODAY = dt.date(2026, 9, 11)


def _fingerprint() -> str:
    with scopes_disabled():
        rows = list(Pupil.objects.order_by("upn").values_list("upn", "forename", "surname", "year_group"))
        rows += list(Mark.objects.order_by("pupil__upn", "date", "session")
                     .values_list("pupil__upn", "date", "session", "code", "minutes_late"))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.mark.django_db
def test_demo_data_is_deterministic_and_complete():
    with transaction.atomic():
        seed_demo(seed=7, today=TODAY)
        first = _fingerprint()
        transaction.set_rollback(True)
    seed_demo(seed=7, today=TODAY)
    assert _fingerprint() == first

    with scopes_disabled():
        assert School.objects.count() == 4
        assert 1100 <= Pupil.objects.count() <= 1300
        assert Mark.objects.exists()
        # One login per role per school, a trust officer, a parent with children at two schools.
        for spec in SCHOOLS:
            roles = set(Membership.objects.filter(school__slug=spec.slug).values_list("role", flat=True))
            assert roles == {r.value for r in Role} - {Role.TRUST_OFFICER.value}
        assert Membership.objects.filter(trust__slug="riverbend", role=Role.TRUST_OFFICER).count() == 1
        schools = set(Pupil.objects.filter(contacts__guardian__user__username="parent.demo")
                      .values_list("school__slug", flat=True))
        assert len(schools) == 2
        # The secondary keeps different register times per year group (dfe-rules §7).
        y9 = SessionTimes.objects.get(school__slug="thameside", year_group="9")
        y7 = SessionTimes.objects.get(school__slug="thameside", year_group="7")
        assert (y9.am_open, y9.am_close) == (dt.time(8, 30), dt.time(8, 45))
        assert (y7.pm_open, y7.pm_close) == (dt.time(14, 0), dt.time(14, 15))
        assert not Mark.objects.filter(date__gt=TODAY).exists()
    assert len(demo_logins()) == 4 * 6 + 3 + 2  # and an officer in each of the two local authorities


@pytest.mark.django_db
def test_seed_command_is_idempotent_with_if_empty(capsys):
    call_command("seed_demo", "--today", TODAY.isoformat(), "--seed", "3")
    with scopes_disabled():
        before = Mark.objects.count()
    call_command("seed_demo", "--if-empty")
    with scopes_disabled():
        assert Mark.objects.count() == before
    assert "already loaded" in capsys.readouterr().out
    # The local authorities' officers need two-step sign-in, so they get the demo authenticator too.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert TOTPDevice.objects.filter(user__username="la.essex", confirmed=True).count() == 1


@pytest.mark.django_db
def test_demo_shows_a_school_day_with_work_in_every_queue():
    """The last school day's registers partly taken; parents' reports and leave requests waiting."""
    from absence.models import AbsenceReport, LeaveRequest
    from registers.models import RegistrationGroup
    from staff.models import GroupTeacher

    saturday = dt.date(2026, 9, 12)
    seed_demo(seed=5, today=saturday)
    friday = saturday - dt.timedelta(days=1)
    with scopes_disabled():
        for spec in SCHOOLS:
            groups = RegistrationGroup.objects.filter(school__slug=spec.slug).count()
            taken = Mark.objects.filter(school__slug=spec.slug, date=friday, session="AM").values(
                "pupil__registration_group").distinct().count()
            assert 0 < taken < groups, spec.slug
            assert not Mark.objects.filter(school__slug=spec.slug, date=friday, session="PM").exists()
            assert Mark.objects.filter(school__slug=spec.slug, date=friday - dt.timedelta(days=1)).exists()
            assert AbsenceReport.objects.filter(school__slug=spec.slug, status="pending").count() == 3
            assert LeaveRequest.objects.filter(school__slug=spec.slug, status="pending").count() == 2
            assert GroupTeacher.objects.filter(school__slug=spec.slug, user__username=f"teacher.{spec.slug}").exists()
