"""Admission checks found wanting (issue 16): the year group against the age, temporary UPNs, and a
wrong check letter that must not be given away."""

from __future__ import annotations

import pytest
from django_scopes import scope

from registers.admission import expected_year_group
from registers.models import Pupil
from registers.upn import upn_error, upn_is_temporary, upn_make

from .conftest import counts, pupil_post
from .test_pupils import text

pytestmark = pytest.mark.django_db


def test_child_born_in_2023_is_not_admitted_to_year_6_without_a_word(adm, world, client_as):
    before = counts(adm.school)
    response = client_as(world.users["headteacher"]).post(
        adm.url("pupil_add"), pupil_post(adm, date_of_birth="2023-02-01", year_group="6"))
    assert response.status_code == 400
    assert "would usually be in Nursery 1, not Year 6" in text(response)
    assert counts(adm.school) == before


def test_out_of_age_group_is_admitted_when_ticked(adm, world, client_as):
    response = client_as(world.users["headteacher"]).post(
        adm.url("pupil_add"), pupil_post(adm, date_of_birth="2017-06-01", year_group="6", out_of_year="on"))
    assert response.status_code == 302


def test_a_year_either_side_needs_no_tick():
    import datetime as dt

    assert expected_year_group(dt.date(2020, 8, 31), dt.date(2025, 9, 3)) == "1"  # summer-born, five on 31 August
    assert expected_year_group(dt.date(2020, 9, 1), dt.date(2025, 9, 3)) == "R"


def test_temporary_upn_is_given_when_asked(adm, world, client_as):
    data = pupil_post(adm, upn="", temporary_upn="on")
    response = client_as(world.users["headteacher"]).post(adm.url("pupil_add"), data)
    assert response.status_code == 302
    with scope(school=adm.school):
        pupil = Pupil.objects.get(school=adm.school, forename="Grace")
    assert upn_is_temporary(pupil.upn) and upn_error(pupil.upn) is None
    # A second one is different.
    client_as(world.users["headteacher"]).post(adm.url("pupil_add"), pupil_post(adm, upn="", temporary_upn="on",
                                                                                forename="Alan"))
    with scope(school=adm.school):
        second = Pupil.objects.get(school=adm.school, forename="Alan")
    assert second.upn != pupil.upn and upn_is_temporary(second.upn)


def test_wrong_check_letter_is_not_revealed():
    good = upn_make(886, 4100, 25, 7)
    wrong = ("B" if good[0] != "B" else "C") + good[1:]
    message = upn_error(wrong) or ""
    assert "check letter does not match" in message
    assert f"expected {good[0]}" not in message and f"({good[0]})" not in message
