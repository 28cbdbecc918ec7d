"""Finding 10: a contact attempt cannot be backdated beyond a week or dated in the future; the entry keeps
when it was made."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope
from rest_framework.test import APIClient

from absence.models import ContactAttempt
from absence.services import CONTACT_BACKDATE_DAYS
from tests import factories as f

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


def _post(world, pupil, **extra):
    client = APIClient()
    client.force_authenticate(world.users["office_staff"])
    url = reverse("api:contact-attempt-list", args=[world.school.slug])
    return client.post(url, {"pupil": pupil.pk, "method": "call", "outcome": "no_answer", **extra}, format="json")


@pytest.mark.parametrize("extra", [
    {"at": "2019-09-01T09:00:00Z"},
    {"at": (NOW - dt.timedelta(days=CONTACT_BACKDATE_DAYS, minutes=1)).isoformat()},
    {"absence_date": "2019-09-02"},
    {"at": (NOW + dt.timedelta(hours=1)).isoformat()},
    {"absence_date": "2026-03-05"},
], ids=["2019", "just-over-a-week", "old-absence-date", "future-time", "future-date"])
def test_out_of_window_is_refused_and_nothing_written(world, extra):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    with time_machine.travel(NOW, tick=False):
        response = _post(world, pupil, **extra)
    assert response.status_code == 400
    with scope(school=world.school):
        assert not ContactAttempt.objects.exists()


def test_within_the_window_records_when_the_entry_was_made(world):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    with time_machine.travel(NOW, tick=False):
        at = NOW - dt.timedelta(days=CONTACT_BACKDATE_DAYS - 1)
        response = _post(world, pupil, at=at.isoformat(), absence_date=str(at.date()))
    assert response.status_code == 201
    assert response.json()["recorded_at"].startswith("2026-03-04T10:00")
    with scope(school=world.school):
        attempt = ContactAttempt.objects.get()
    assert attempt.at == at and attempt.recorded_at == NOW and attempt.recorded_at != timezone.now()
