"""Finding 11: bad parameters are a 400 with a clear message, never a 500. Finding 12: CSV cells that a
spreadsheet would run as a formula are neutralised in every export."""

from __future__ import annotations

import io
import pathlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from attendance_portal import csvsafe

pytestmark = pytest.mark.django_db


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_status_filter_on_contact_attempts_is_a_400(world):
    client = _api(world.users["office_staff"])
    url = reverse("api:contact-attempt-list", args=[world.school.slug])
    response = client.get(url, {"status": "x"})
    assert response.status_code == 400 and "cannot be filtered by status" in str(response.json())
    reports = reverse("api:absence-report-list", args=[world.school.slug])
    bad = client.get(reports, {"status": "x"})
    assert bad.status_code == 400 and "Choose one of" in str(bad.json())
    assert client.get(reports, {"status": "pending"}).status_code == 200


@pytest.mark.parametrize("params", [{"limit": "99999999999999999999"}, {"limit": "-1"}, {"limit": "0"},
                                    {"limit": "abc"}, {"offset": "99999999999999999999"}])
def test_huge_or_bad_paging_is_a_400(world, params):
    response = _api(world.users["headteacher"]).get(reverse("api:pupil-list", args=[world.school.slug]), params)
    assert response.status_code == 400
    assert "whole number" in str(response.json())


def test_sensible_paging_still_works(world):
    response = _api(world.users["headteacher"]).get(reverse("api:pupil-list", args=[world.school.slug]),
                                                    {"limit": "5", "offset": "0"})
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "param"), [
    ("absence:parents", "q"), ("registers:admission", "q"), ("registers:admission", "status"),
    ("registers:admission", "year_group"),
])
def test_nul_bytes_in_the_query_string_are_a_400(world, client_as, name, param):
    url = reverse(name, args=[world.school.slug])
    response = client_as(world.users["headteacher"]).get(url, {param: "a\x00b"})
    assert response.status_code == 400
    assert b"not allowed (NUL)" in response.content


def test_nul_in_an_api_query_or_a_form_post_is_a_400(world, client_as):
    api = _api(world.users["office_staff"]).get(
        reverse("api:absence-report-list", args=[world.school.slug]), {"status": "pending\x00"})
    assert api.status_code == 400 and "NUL" in api.json()["detail"]
    head = client_as(world.users["headteacher"])
    post = head.post(reverse("registers:pupil_add", args=[world.school.slug]), {"forename": "A\x00"})
    assert post.status_code == 400


@pytest.mark.parametrize("to", ["school:a/b", "trust:x y", "school:" + "a" * 61, "school:%2e%2e"])
def test_switch_with_a_bad_place_is_a_400(world, client_as, to):
    response = client_as(world.users["headteacher"]).get(reverse("switch"), {"to": to})
    assert response.status_code == 400 and b"Choose a school or trust" in response.content


def test_switch_still_goes_to_a_good_place(world, client_as):
    response = client_as(world.users["headteacher"]).get(reverse("switch"), {"to": f"school:{world.school.slug}"})
    assert response.status_code == 302


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Smith", "Smith"), ("-", "-"), ("-3", "-3"),
    ("O'Neil", "O'Neil"), (7, 7), (None, None),
])
def test_cells_that_could_be_formulas_are_neutralised(value, written):
    assert csvsafe.cell_safe(value) == written


def test_the_marks_export_goes_through_the_safe_writer_and_nothing_writes_csv_directly():
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerow(["=1+1", "/"])
    assert out.getvalue() == "'=1+1,/\n"
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for p in root.glob("*/**/*.py")
                 if ".venv" not in p.parts and "tests" not in p.parts and p.name != "csvsafe.py"
                 and ("csv.writer(" in p.read_text() or "csv.DictWriter(" in p.read_text())]
    assert not offenders, f"CSV written without attendance_portal.csvsafe: {offenders}"
