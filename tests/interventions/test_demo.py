"""seed_demo leaves each demo school with its own ladder and cases at several stages of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from interventions.models import Action, AttendanceContract, Case, Ladder, Meeting

TODAY = dt.date(2026, 10, 9)  # five school weeks: enough signals, a quick test


@pytest.mark.django_db
def test_seed_demo_gives_each_school_its_ladder_and_cases_at_several_stages():
    call_command("seed_demo", "--seed", "3", "--today", TODAY.isoformat())
    with scopes_disabled():
        names = dict(Ladder.objects.values_list("school__slug", "name"))
        assert names == {"meadowbrook": "Meadowside letters and action plan",
                         "millbrook": "Micklem attendance support",
                         "moorfield": "Moorlands interviews and contracts",
                         "thameside": "Basildon Lower attendance procedure"}
        for slug in names:
            cases = Case.objects.filter(school__slug=slug)
            positions = set(cases.exclude(status="closed").values_list("stage__position", flat=True))
            assert len(positions) >= 2, (slug, positions)
            assert all(c.stage.ladder.school_id == c.school_id for c in cases.select_related("stage__ladder"))
        assert Case.objects.filter(status="closed", outcome="improved").exists()
        assert Meeting.objects.filter(status="held").exists()
        assert AttendanceContract.objects.filter(kind="action_plan", school__slug="meadowbrook").exists()
        assert Action.objects.filter(status="to_send").exists()
