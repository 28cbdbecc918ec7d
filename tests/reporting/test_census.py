"""The census attendance return: census periods, sessions by code per enrolment, validation queries."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from attendance_portal.roles import Role
from reporting.census import census_periods
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions


def test_summer_splits_the_two_half_terms_at_the_spring_bank_holiday() -> None:
    parts = census_periods(term="summer", year=2025)
    assert parts == [("summer 1", dt.date(2026, 4, 6), dt.date(2026, 5, 24)),
                     ("summer 2", dt.date(2026, 5, 25), dt.date(2026, 7, 31))]
    assert census_periods(term="spring", year=2025) == [("spring", dt.date(2026, 1, 1), dt.date(2026, 4, 5))]
    assert census_periods(term="autumn", year=2025) == [("autumn", dt.date(2025, 8, 1), dt.date(2025, 12, 31))]


@pytest.mark.django_db
def test_the_return_counts_sessions_by_code_and_lists_problems_first(world) -> None:
    with scopes_disabled():
        add_calendar(world.school)
        sessions = school_sessions(world.school, dt.date(2025, 9, 3), count=10)
        a = enrol(world.school, upn="A123456789012")
        record(a, sessions, "..IIOO..L.")
        b = enrol(world.school, upn="B123456789012")
        record(b, sessions, "X")  # not of compulsory school age: no possible sessions
    out, err = io.StringIO(), io.StringIO()
    call_command("census_attendance", "--school", world.school.slug, "--term", "autumn", "--year", "2025", "--csv",
                 stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("period,upn,possible_sessions")
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert row["upn"] == "A123456789012" and row["possible_sessions"] == "10"
    assert row["sessions_I"] == "2" and row["sessions_O"] == "2" and row["sessions_L"] == "1"
    assert len(lines) == 2
    assert "B123456789012 has no possible sessions" in err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [(["--term", "winter", "--year", "2025"], "choose autumn"),
                                               (["--term", "autumn", "--year", "25"], "first year")])
def test_bad_arguments_are_explained(world, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("census_attendance", "--school", world.school.slug, *args)


@pytest.mark.django_db
def test_the_headteacher_sees_the_validation_queries_before_the_file_is_offered(world, client_as) -> None:
    with scopes_disabled():
        add_calendar(world.school)
        sessions = school_sessions(world.school, dt.date(2025, 9, 3), count=10)
        record(enrol(world.school, upn="A123456789012"), sessions, "..IIOO..L.")
        record(enrol(world.school, upn="B123456789012"), sessions, "X")
    client = client_as(world.users[Role.HEADTEACHER.value])
    page = client.get(reverse("reporting:census", args=[world.school.slug]) + "?term=autumn&year=2025")
    assert page.status_code == 200
    html = page.content.decode()
    problem = html.index("B123456789012 has no possible sessions")
    download = html.index(reverse("reporting:census_csv", args=[world.school.slug]) + "?term=autumn")
    assert problem < download  # the checks come first
    assert "Validation queries (1)" in html
    response = client.get(reverse("reporting:census_csv", args=[world.school.slug]) + "?term=autumn&year=2025")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "census-attendance-" in response["Content-Disposition"]
    out = io.StringIO()
    call_command("census_attendance", "--school", world.school.slug, "--term", "autumn", "--year", "2025", "--csv",
                 stdout=out, stderr=io.StringIO())
    assert response.content.decode() == out.getvalue()  # the command's file, byte for byte


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?term=winter&year=2025", "?term=autumn&year=25", "?term=autumn"])
def test_a_bad_census_choice_is_explained(world, client_as, query) -> None:
    client = client_as(world.users[Role.HEADTEACHER.value])
    page = client.get(reverse("reporting:census", args=[world.school.slug]) + query)
    assert page.status_code == 400 and page.context["error"]
    assert client.get(reverse("reporting:census_csv", args=[world.school.slug]) + query).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.GOVERNOR, Role.ATTENDANCE_OFFICER, Role.CLASS_TEACHER])
def test_only_the_headteacher_downloads_the_census_return(world, client_as, role) -> None:
    client = client_as(world.users[role.value])
    query = "?term=autumn&year=2025"
    assert client.get(reverse("reporting:census", args=[world.school.slug]) + query).status_code == 403
    assert client.get(reverse("reporting:census_csv", args=[world.school.slug]) + query).status_code == 403
