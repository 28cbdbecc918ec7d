"""Casework in aggregate on the governors' and trust dashboards: counts per school from the casework apps,
one statement per app whatever the number of schools, small counts hidden, no pupil named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.roles import Role
from interventions.models import AttendanceContract, Case, LadderStage, Meeting
from letters.models import Letter, LetterBatch, LetterTemplate
from reporting.casework import casework_figures
from tests import factories as f
from tests.conftest import add_calendar
from tests.interventions.conftest import ladder_for_tests, letters_ready
from tests.interventions.factories import make_case
from tests.penalties.factories import make_notice

TODAY = dt.datetime(2025, 12, 1, 12, 0, tzinfo=dt.UTC)
START, END = dt.date(2025, 9, 1), dt.date(2025, 12, 1)


@pytest.fixture
@time_machine.travel(TODAY, tick=False)
def seeded(world) -> list[Case]:
    """Alder: 7 cases at stage 1, 3 at stage 2, 5 meetings held (and one planned), 3 contracts, 6 letters
    sent (and one not yet), a penalty notice from a referral (its own case, on no stage). Birch: 2 cases."""
    school = world.school
    add_calendar(school)
    add_calendar(world.sister)
    ladder_for_tests(school)
    letters_ready(school)
    user = world.users[Role.HEADTEACHER.value]
    with scopes_disabled():
        first, second = LadderStage.objects.filter(school=school).order_by("position")[:2]
        cases = [make_case(school) for _ in range(10)]
        for n, case in enumerate(cases):
            case.stage = first if n < 7 else second
            case.save()
            # Names no page would print by chance (a generated surname can be a word such as "Case").
            case.pupil.forename, case.pupil.surname = f"Zorbeline{n}", f"Quennardy{n}"
            case.pupil.save(update_fields=["forename", "surname"])
        for n in range(6):
            Meeting.objects.create(school=school, case=cases[n], meeting_type="Attendance meeting",
                                   when=dt.datetime(2025, 10, 6 + n, 10, tzinfo=dt.UTC), place="Room 1",
                                   status=Meeting.Status.HELD if n < 5 else Meeting.Status.PLANNED)
        for n in range(3):
            AttendanceContract.objects.create(
                school=school, case=cases[n], kind="contract", start=dt.date(2025, 10, 1), end=dt.date(2026, 3, 1),
                review_on=dt.date(2025, 11, 14), target_percent=Decimal("95"), parent_commitments="On time",
                school_support="Breakfast club")
        template = LetterTemplate.objects.filter(school=school, kind="stage_1").first()
        batch = LetterBatch.objects.create(school=school, kind="stage_1", approved_by=user)
        for n in range(7):
            sent = n < 6
            Letter.objects.create(school=school, pupil=cases[n].pupil, kind="stage_1", template=template,
                                  merge_data={}, batch=batch, requested_by=user, approved_by=user,
                                  status=Letter.Status.SENT if sent else Letter.Status.RENDERED,
                                  sent_at=timezone.now() if sent else None)
        make_notice(school)
        make_case(world.sister)
        make_case(world.sister)
    return cases


def _by_key(figures) -> dict[tuple[str, str], dict[int, int]]:
    return {(fig.group, fig.key): dict(fig.counts) for fig in figures}


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_casework_counts_are_right_and_one_statement_per_app_for_any_number_of_schools(world, seeded):
    a, b = world.school.pk, world.sister.pk
    with scopes_disabled():
        first, second = LadderStage.objects.filter(school=world.school).order_by("position")[:2]
        with CaptureQueriesContext(connection) as one:
            casework_figures(school_ids=[a], start=START, end=END)
        with CaptureQueriesContext(connection) as two:
            figures = _by_key(casework_figures(school_ids=[a, b], start=START, end=END))
    assert len(one.captured_queries) == len(two.captured_queries) == 3  # interventions, letters, penalties
    assert figures[("stages", first.name)] == {a: 7}
    assert figures[("stages", second.name)] == {a: 3}
    assert figures[("stages", "Not on a stage yet")] == {a: 1, b: 2}  # the referral's case
    assert figures[("actions", "meetings")] == {a: 5}
    assert figures[("actions", "contracts")] == {a: 3}
    assert figures[("actions", "action_plans")] == {}
    assert figures[("letters", "stage_1")] == {a: 6}
    assert figures[("actions", "notices_to_improve")] == {}
    assert figures[("actions", "referrals")] == {a: 1}
    assert figures[("actions", "penalty_notices")] == {a: 1}
    # Outside the period, nothing.
    with scopes_disabled():
        before = _by_key(casework_figures(school_ids=[a, b], start=dt.date(2025, 9, 1), end=dt.date(2025, 9, 30)))
    assert before[("actions", "meetings")] == {} and before[("actions", "contracts")] == {}


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_governors_see_casework_with_small_counts_hidden_and_no_pupil(world, seeded, client_as):
    cases = seeded
    client = client_as(world.users[Role.GOVERNOR.value])
    response = client.get(reverse("governors:dashboard", args=[world.school.slug]))
    assert response.status_code == 200
    tables = {t.key: t for t in response.context["casework"]}
    with scopes_disabled():
        first, second = LadderStage.objects.filter(school=world.school).order_by("position")[:2]
    stages = {r.label: r.cells[0] for r in tables["casework_stages"].rows}
    assert stages[second.name].hidden  # 3 cases
    assert stages["Not on a stage yet"].hidden  # 1 case
    assert str(stages["All cases"]) == "11"
    assert str(stages[first.name]) == "7"  # 11 − 7 gives 3 + 1 together, not either of them
    actions = {r.label: r.cells[0] for r in tables["casework_actions"].rows}
    assert str(actions["Meetings held"]) == "5"
    assert str(actions["Attendance contracts started"]) == "hidden"
    assert str(actions["Notices to improve issued"]) == "0"
    assert actions["Penalty notices issued"].hidden
    letters = {r.label: str(r.cells[0]) for r in tables["casework_letters"].rows}
    assert letters["All letters"] == "6"
    html = response.content.decode()
    assert "Casework in the period" in html and "How is this calculated?" in html
    assert ">hidden<" in html
    with scopes_disabled():
        names = [x for c in cases for x in (c.pupil.forename, c.pupil.surname, c.pupil.upn)]
    assert not [n for n in names if n in html]
    csv_text = client.get(reverse("governors:csv", args=[world.school.slug]) + "?table=casework_actions")
    assert "Attendance contracts started,c" in csv_text.content.decode()


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_trust_sees_each_schools_casework_in_a_constant_number_of_statements(world, seeded, client_as):
    cases = seeded
    client = client_as(world.trust_officer)
    url = reverse("trust_dashboard:index", args=[world.trust_a.slug])
    with CaptureQueriesContext(connection) as two:
        response = client.get(url)
    assert response.status_code == 200
    rows = {r.label: r for r in response.context["casework"].rows}
    headers = response.context["casework"].headers
    alder = dict(zip(headers, rows["Alder Primary"].cells, strict=True))
    birch = dict(zip(headers, rows["Birch Primary"].cells, strict=True))
    assert str(alder["Meetings held"]) == "5" and str(alder["All cases"]) == "11"
    assert alder["Attendance contracts started"].hidden
    assert birch["All cases"].hidden and str(birch["Meetings held"]) == "0"
    html = response.content.decode()
    with scopes_disabled():
        names = [x for c in cases for x in (c.pupil.forename, c.pupil.surname, c.pupil.upn)]
    assert not [n for n in names if n in html]
    with scopes_disabled():
        for n in range(3):
            school = f.SchoolFactory(trust=world.trust_a, name=f"Extra {n}", slug=f"extra-{n}")
            add_calendar(school)
            make_case(school)
    with CaptureQueriesContext(connection) as five:
        response = client.get(url)
    assert len(five.captured_queries) == len(two.captured_queries)
    assert len(response.context["casework"].rows) == 5
    csv_text = client.get(reverse("trust_dashboard:csv", args=[world.trust_a.slug]) + "?table=casework")
    assert csv_text.content.decode().startswith("Group,")


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_termly_pdf_and_the_trusts_drill_down_carry_the_same_casework_and_no_pupil(world, seeded, client_as):
    import io

    from pypdf import PdfReader

    from reporting.models import GovernorReport
    from reporting.tasks import governor_report_build

    cases = seeded
    slug = world.school.slug
    governor = client_as(world.users[Role.GOVERNOR.value])
    governor.post(reverse("governors:reports", args=[slug]), {"period": "year_to_date"})
    with scopes_disabled():
        report = GovernorReport.objects.get(school=world.school)
    assert governor_report_build.apply(kwargs={"school_id": world.school.pk, "report_id": report.pk}).get() is True
    made = governor.get(reverse("governors:report_pdf", args=[slug, report.pk])).content
    pdf = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(made)).pages)
    drill = client_as(world.trust_officer).get(reverse("trust_dashboard:school", args=[world.trust_a.slug, slug]))
    assert drill.status_code == 200
    stages = {r.label: str(r.cells[0]) for r in next(t for t in drill.context["casework"]
                                                     if t.key == "casework_stages").rows}
    assert stages["All cases"] == "11"
    html = drill.content.decode()
    for text in (pdf, html):
        assert "Casework in the period" in text and "Meetings held" in text
        assert "hidden" in text
    assert "csv" not in html.split("Casework in the period")[1].split("</section>")[0].lower()
    with scopes_disabled():
        names = [x for c in cases for x in (c.pupil.forename, c.pupil.surname, c.pupil.upn)]
    assert not [n for n in names if n in pdf or n in html]
