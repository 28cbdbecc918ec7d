"""The absence API: school-scoped, permission-checked and described in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope
from rest_framework.test import APIClient

from absence.models import ContactAttempt
from tests import factories as f

from .factories import AbsenceReportFactory, ContactAttemptFactory, LeaveRequestFactory

pytestmark = pytest.mark.django_db


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_lists_only_this_schools_rows(world):
    mine = AbsenceReportFactory(pupil__school=world.school)
    AbsenceReportFactory(pupil__school=world.other)
    LeaveRequestFactory(pupil__school=world.school)
    ContactAttemptFactory(pupil__school=world.school)
    client = _api(world.users["attendance_officer"])
    reports = client.get(reverse("api:absence-report-list", args=[world.school.slug])).json()
    assert [r["reference"] for r in reports["results"]] == [mine.reference]
    assert client.get(reverse("api:leave-request-list", args=[world.school.slug])).json()["count"] == 1
    assert client.get(reverse("api:contact-attempt-list", args=[world.school.slug])).json()["count"] == 1
    detail = client.get(reverse("api:absence-report-detail", args=[world.school.slug, mine.pk])).json()
    assert detail["status"] == "pending"


def test_filters_by_pupil_and_status(world):
    a = AbsenceReportFactory(pupil__school=world.school)
    AbsenceReportFactory(pupil__school=world.school, status="accepted")
    client = _api(world.users["office_staff"])
    url = reverse("api:absence-report-list", args=[world.school.slug])
    assert client.get(url, {"pupil": a.pupil_id}).json()["count"] == 1
    assert client.get(url, {"status": "accepted"}).json()["count"] == 1
    assert client.get(url, {"from": "bad"}).json()["count"] == 0


def test_contact_attempt_can_be_recorded_and_another_schools_pupil_is_refused(world):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    stranger = f.EnrolmentFactory(pupil__school=world.other).pupil
    client = _api(world.users["office_staff"])
    url = reverse("api:contact-attempt-list", args=[world.school.slug])
    created = client.post(url, {"pupil": pupil.pk, "method": "text", "outcome": "sent"}, format="json")
    assert created.status_code == 201 and created.json()["method"] == "text"
    refused = client.post(url, {"pupil": stranger.pk, "method": "text", "outcome": "sent"}, format="json")
    assert refused.status_code == 400
    bad = client.post(url, {"pupil": pupil.pk, "method": "pigeon", "outcome": "sent"}, format="json")
    assert bad.status_code == 400
    with scope(school=world.school):
        assert ContactAttempt.objects.count() == 1


def test_roles_without_follow_up_are_refused(world):
    client = _api(world.users["class_teacher"])
    assert client.get(reverse("api:absence-report-list", args=[world.school.slug])).status_code == 403
    assert _api(world.other_head).get(reverse("api:absence-report-list", args=[world.school.slug])).status_code == 404


def test_endpoints_are_in_the_openapi_schema(world, client_as):
    client = client_as(world.users["office_staff"])  # the schema is for signed-in users
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    paths = schema["paths"]
    for path in ("/api/v1/s/{school_slug}/absence-reports/", "/api/v1/s/{school_slug}/absence-reports/{id}/",
                 "/api/v1/s/{school_slug}/leave-requests/", "/api/v1/s/{school_slug}/leave-requests/{id}/",
                 "/api/v1/s/{school_slug}/contact-attempts/"):
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/v1/s/{school_slug}/contact-attempts/"]


def test_aged_n_codes_refuse_a_bad_day(world):
    client = _api(world.users["attendance_officer"])
    response = client.get(reverse("api:aged-n-code-list", args=[world.school.slug]), {"on": "last Friday"})
    assert response.status_code == 400
    assert "Date has wrong format" in str(response.json())
