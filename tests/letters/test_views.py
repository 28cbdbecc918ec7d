"""Letter pages: roles, the log and its CSV, the template editor, batches from pick to approve, the parent view."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from letters import services
from letters.models import Letter, LetterBatch, LetterTemplate
from tests import factories as f
from tests.routes import Route

from .conftest import absences
from .routes import ROUTES, letter_in

TODAY = dt.datetime(2025, 9, 30, 12, 0, tzinfo=dt.UTC)
STAFF_ROUTES = [r for r in ROUTES if r.kind == "school"]
NO_LETTERS = ["class_teacher", "office_staff", "governor", "trust_officer"]


def _url(route: Route, school) -> str:
    with scopes_disabled():
        kwargs = route.make(school) if route.make else {}
    return reverse(route.name, kwargs={"school_slug": school.slug, **kwargs})


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: r.name)
def test_roles_without_letters_are_refused(route, world, client_as):
    url = _url(route, world.school)
    data = route.data(world.school) if route.data else {}
    for role in NO_LETTERS:
        client = client_as(world.users[role])
        response = client.get(url, data) if route.method == "get" else client.post(url, data)
        assert response.status_code == 403, (role, response.status_code)


def test_only_leads_edit_templates(world, client_as):
    url = reverse("letters:template_edit", args=[world.school.slug]) + "?kind=stage_1&language=en"
    assert client_as(world.users["attendance_officer"]).get(url).status_code == 403
    assert client_as(world.users["senior_attendance_champion"]).get(url).status_code == 200
    assert client_as(world.users["headteacher"]).get(url).status_code == 200


@pytest.fixture
def sac(world, client_as):
    return client_as(world.users["senior_attendance_champion"])


# ---------------------------------------------------------------- log


def test_log_filters_and_csv_is_formula_safe(lw, sac, world):
    with scope(school=lw.school):
        fam = lw.families[0]
        fam.pupil.forename = "=HYPERLINK(1)"
        fam.pupil.save()
        [letter] = services.letter_request(school=lw.school, pupil=fam.pupil, kind="stage_1", by=lw.officer,
                                           approved_by=lw.officer)
        services.letter_process(letter_id=letter.pk)
    base = reverse("letters:log", args=[lw.school.slug])
    page = sac.get(base, {"kind": "stage_1", "channel": "email", "approver": lw.officer.pk})
    assert page.status_code == 200 and "Parent0 Okafor0" in page.content.decode()
    assert "Parent0 Okafor0" not in sac.get(base, {"channel": "post"}).content.decode()
    csv = sac.get(reverse("letters:log_csv", args=[lw.school.slug]), {"kind": "stage_1"}).content.decode()
    assert "'=HYPERLINK(1) Okafor0" in csv and "email, portal" in csv.replace("portal, email", "email, portal")


@pytest.mark.parametrize("params", [{"date_from": "2025-09-30", "date_to": "2025-09-01"}, {"kind": "nonsense"},
                                    {"date_from": "yesterday"}, {"approver": "x"}])
def test_bad_log_filters_are_explained(lw, sac, params):
    response = sac.get(reverse("letters:log_csv", args=[lw.school.slug]), params)
    assert response.status_code == 400 and response.content
    page = sac.get(reverse("letters:log", args=[lw.school.slug]), params)
    assert page.status_code == 200 and 'class="errorlist' in page.content.decode()


# ---------------------------------------------------------------- templates


def _edit_url(school, kind="stage_1", language="en"):
    return reverse("letters:template_edit", args=[school.slug]) + f"?kind={kind}&language={language}"


@pytest.mark.parametrize(("data", "message"), [
    ({"subject": "Hello", "body": "{{ pupil.shoe_size }}"}, "&#x27;pupil.shoe_size&#x27; is not a merge field"),
    ({"subject": "Hello", "body": "{{ pupil.__class__.__mro__ }}"}, "is not a merge field"),
    ({"subject": "Hello", "body": "{{ request.user.password }}"}, "&#x27;request&#x27; is not a merge field"),
    ({"subject": "", "body": "Dear parent"}, "This field is required"),
    ({"subject": "Hi", "body": "x" * 20001}, "at most 20000 characters"),
])
def test_template_editor_refuses_bad_templates_and_saves_nothing(lw, sac, data, message):
    response = sac.post(_edit_url(lw.school), data)
    assert response.status_code == 400 and message in response.content.decode()
    with scopes_disabled():
        assert LetterTemplate.objects.filter(school=lw.school).count() == 1


@pytest.mark.parametrize("url", ["?kind=stage_9&language=en", "?kind=stage_1&language=xx", ""])
def test_unknown_kind_or_language_is_404(lw, sac, url):
    assert sac.get(reverse("letters:template_edit", args=[lw.school.slug]) + url).status_code == 404


def test_template_editor_saves_a_new_version(lw, sac):
    response = sac.post(_edit_url(lw.school), {"subject": "About {{ pupil.forename }}", "body": "Hello",
                                               "reply_slip": "on"})
    assert response.status_code == 302
    with scopes_disabled():
        assert list(LetterTemplate.objects.filter(school=lw.school).values_list("version", "reply_slip")) == [
            (2, True), (1, True)]


@time_machine.travel(TODAY, tick=False)
def test_live_preview_reads_a_real_pupil_and_warns_of_empty_fields(lw, sac):
    with scopes_disabled():
        fam = lw.families[0]
        absences(fam.pupil, [dt.date(2025, 9, 10)])
    url = reverse("letters:template_preview", args=[lw.school.slug]) + "?kind=stage_1&language=en"
    response = sac.post(url, {"subject": "Hi", "body": "{{ pupil.name }} {{ figures.attendance_percent }}% "
                              "on {{ meeting.date }}\n\n{{ sessions_table }}", "pupil": fam.pupil.pk})
    body = response.content.decode()
    assert response.status_code == 200 and "Amira0 Okafor0 95.0% on" in body
    assert "Wed 10 Sep 2025" in body and "meeting.date" in body and "preview-warnings" in body
    bad = sac.post(url, {"subject": "Hi", "body": "{{ pupil.__dict__ }}", "pupil": fam.pupil.pk}).content.decode()
    assert "preview-errors" in bad and "Amira0" not in bad
    other = f.EnrolmentFactory(pupil__school=lw.school.__class__.objects.exclude(pk=lw.school.pk).first()).pupil
    missing = sac.post(url, {"subject": "Hi", "body": "{{ pupil.name }}", "pupil": other.pk}).content.decode()
    assert "Choose a pupil" in missing and other.forename not in missing


# ---------------------------------------------------------------- batches


@time_machine.travel(TODAY, tick=False)
def test_pick_review_approve(lw, sac, world, django_capture_on_commit_callbacks):
    with scopes_disabled():
        for i, fam in enumerate(lw.families):
            absences(fam.pupil, [dt.date(2025, 9, 10 + i), dt.date(2025, 9, 15 + i)] if i < 2 else [])
        lw.families[1].pupil.has_social_worker = True
        lw.families[1].pupil.save()
    slug = lw.school.slug
    queue = sac.get(reverse("letters:batch_new", args=[slug]), {"kind": "stage_1"}).content.decode()
    assert "Amira0 Okafor0" in queue and "Amira1 Okafor1" in queue and "Amira2 Okafor2" not in queue
    ids = [fam.pupil.pk for fam in lw.families[:2]]
    review = sac.post(reverse("letters:batch_review", args=[slug]), {"kind": "stage_1", "pupils": ids})
    text = review.content.decode()
    ready, held = text.split('id="held"')
    assert "Amira0 Okafor0" in ready and "Amira1 Okafor1" in held and "Has a social worker" in held
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = sac.post(reverse("letters:batch_approve", args=[slug]), {"kind": "stage_1", "pupils": [ids[0]]})
    assert done.status_code == 302 and len(callbacks) == 1
    with scopes_disabled():
        batch = LetterBatch.objects.get(school=lw.school)
        [letter] = Letter.objects.filter(batch=batch)
        assert letter.approved_by == world.users["senior_attendance_champion"]
        assert letter.sessions == [["2025-09-10", "AM", "O"], ["2025-09-10", "PM", "O"], ["2025-09-15", "AM", "O"],
                                   ["2025-09-15", "PM", "O"]]
    progress = sac.get(reverse("letters:batch_progress", args=[slug, batch.pk])).content.decode()
    assert "0 of 1 letters" in progress and 'hx-trigger="every 1s"' in progress


@pytest.mark.parametrize("data", [
    {"kind": "stage_1"},
    {"kind": "stage_1", "pupils": ["abc"]},
    {"kind": "bogus", "pupils": ["OWN"]},
    {"kind": "stage_1", "pupils": ["OTHER"]},
    {"kind": "stage_2", "pupils": ["OWN"]},  # no template for stage 2
    {"kind": "stage_1", "pupils": ["NOPARENT"]},
])
def test_bad_batches_write_nothing(lw, sac, world, data):
    with scopes_disabled():
        other = f.PupilContactFactory(pupil=f.EnrolmentFactory(pupil__school=world.other).pupil).pupil
        lonely = f.EnrolmentFactory(pupil__school=lw.school).pupil
    swap = {"OWN": lw.families[0].pupil.pk, "OTHER": other.pk, "NOPARENT": lonely.pk}
    data = {**data, "pupils": [swap.get(p, p) for p in data.get("pupils", [])]}
    review = sac.post(reverse("letters:batch_review", args=[lw.school.slug]), data).content.decode()
    assert "errorlist" in review or "No parent with parental responsibility" in review
    approve = sac.post(reverse("letters:batch_approve", args=[lw.school.slug]), data, follow=True)
    assert 'class="msg-error"' in approve.content.decode()
    with scopes_disabled():
        assert not Letter.objects.exists() and not LetterBatch.objects.exists()


# ---------------------------------------------------------------- pupil page and parent portal


def test_letters_on_the_pupil_page_and_in_the_parent_portal(world, client_as):
    with scopes_disabled():
        parent = f.UserFactory(username="mum@example.org")
        letter = letter_in(world.school, user=parent, sent=True)
        stranger = letter_in(world.school, user=f.UserFactory(), sent=True)
    staff = client_as(world.users["attendance_officer"])
    page = staff.get(reverse("absence:pupil", args=[world.school.slug, letter.pupil_id])).content.decode()
    assert 'id="pupil-letters"' in page and "Stage 1" in page
    mum = client_as(parent)
    child = mum.get(reverse("parent:child", args=[letter.pupil_id])).content.decode()
    assert reverse("parent_letters:pdf", args=[letter.pk]) in child
    assert reverse("parent_letters:pdf", args=[stranger.pk]) not in child
    pdf = mum.get(reverse("parent_letters:pdf", args=[letter.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert mum.get(reverse("parent_letters:pdf", args=[stranger.pk])).status_code == 404
    assert staff.get(reverse("parent_letters:pdf", args=[letter.pk])).status_code == 404


# ---------------------------------------------------------------- API


def test_api_lists_letters_and_approves_batches(lw, client_as, django_capture_on_commit_callbacks):
    api = client_as(lw.officer)
    base = f"/api/v1/s/{lw.school.slug}/"
    with django_capture_on_commit_callbacks():
        made = api.post(base + "letter-batches/", {"kind": "stage_1", "pupils": [lw.families[0].pupil.pk]},
                        content_type="application/json")
    assert made.status_code == 201 and made.json()["total"] == 1
    listed = api.get(base + "letters/", {"batch": made.json()["id"]}).json()
    assert listed["count"] == 1 and listed["results"][0]["approved_by"] == lw.officer.pk
    assert api.get(base + "letters/", {"pupil": "x"}).status_code == 400


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "stage_1", "pupils": []}, "pupils"),
    ({"kind": "nope", "pupils": [1]}, "kind"),
    ({"pupils": [1]}, "kind"),
    ({"kind": "stage_1", "pupils": ["x"]}, "pupils"),
    ({"kind": "stage_1", "pupils": [999999]}, "detail"),
])
def test_api_bad_batches_write_nothing(lw, client_as, body, field):
    response = client_as(lw.officer).post(f"/api/v1/s/{lw.school.slug}/letter-batches/", body,
                                          content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    with scopes_disabled():
        assert not LetterBatch.objects.exists()


def test_letters_and_batches_are_in_the_openapi_schema(world, client_as):
    client = client_as(world.users["office_staff"])  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ("/letters/", "/letters/{id}/", "/letter-batches/", "/letter-batches/{id}/"):
        assert f"/api/v1/s/{{school_slug}}{path}" in schema
