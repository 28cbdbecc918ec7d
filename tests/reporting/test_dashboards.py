"""Governor and trust dashboards: the figures, one statement over the summaries per view, no pupil
identifier in any page, CSV or PDF, the DfE benchmark, the termly report task and forecasts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from attendance_portal.roles import Role
from registers.calendar import calendar_for
from reporting.disclosure import forecast_hidden
from reporting.forecasts import pupil_forecasts
from reporting.models import GovernorReport
from reporting.tasks import governor_report_build
from tests import factories as f
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions

DFE_FILE = Path(settings.SHARED_DIR) / "data" / "dfe" / "attendance-ytd-2025-26.csv"
TODAY = dt.datetime(2025, 12, 1, 12, 0, tzinfo=dt.UTC)
SURNAMES = ["Quillfeather", "Zanzibarova", "Wolstenholme-Ecks", "Pemberton-Quayle", "Thistlewaite", "Xanthopoulos"]


def _populate(school, *, pupils: int = 24, prefix: str = "QA") -> list:
    """Pupils with distinctive names in two year groups, some absent; marks to the end of November."""
    sessions = school_sessions(school, dt.date(2025, 9, 3), end=dt.date(2025, 11, 28))
    enrolments = []
    for i in range(pupils):
        e = enrol(school, upn=f"{prefix}{i:011d}", forename=f"Ottoline{i}", surname=SURNAMES[i % 6] + str(i),
                  year_group="3" if i % 2 else "4", fsm=i % 3 == 0, eal=i == 5, sex="FM"[i % 4 == 0])
        enrolments.append(e)
        absent_every = [0, 0, 4, 9, 15, 2][i % 6]  # some persistently absent, some severely
        codes = ["I" if absent_every and n % absent_every == 0 else ("O" if absent_every == 2 else ".")
                 for n in range(len(sessions))]
        record(e, sessions, codes)
    return enrolments


@pytest.fixture
def governed(world):
    add_calendar(world.school)
    add_calendar(world.school, year_start=dt.date(2024, 9, 1))
    add_calendar(world.sister)
    world.school.local_authority = "Tower Hamlets"
    world.school.save()
    call_command("import_dfe_attendance", str(DFE_FILE))
    enrolments = _populate(world.school)
    _populate(world.sister, pupils=12, prefix="RB")
    return enrolments


def _identifiers(enrolments) -> list[str]:
    found = []
    with scopes_disabled():
        for e in enrolments:
            found += [e.pupil.forename, e.pupil.surname, e.pupil.upn]
    return found


def _summary_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if "reporting_attendancesummary" in q["sql"]]


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_governor_dashboard_shows_the_schools_figures_in_one_statement(world, governed, client_as):
    client = client_as(world.users[Role.GOVERNOR.value])
    url = reverse("governors:dashboard", args=[world.school.slug])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert len(_summary_statements(queries.captured_queries)) == 1
    # session, user, memberships, calendar, terms, DfE, reports, the school's version… one statement for each
    # casework app's counts (cases and meetings, letters, notices and referrals), and its actions for the
    # before-and-after table (meetings, plans, letters, notices to improve)
    assert len(queries.captured_queries) <= 26
    with CaptureQueriesContext(connection) as again:
        assert client.get(url).status_code == 200
    assert not _summary_statements(again.captured_queries)  # nothing changed: the kept figures
    assert len(again.captured_queries) == len(queries.captured_queries) - 1
    page = response.context["page"]
    with scope(school=world.school):
        from reporting.selectors import school_figures
        expected = school_figures(school=world.school, start=dt.date(2025, 9, 1), end=dt.date(2025, 12, 1))
    assert page.dash.whole.pupils == expected.enrolments == 24
    assert page.dash.whole.pa == expected.persistent_absence
    assert page.dash.whole.poss == expected.figures.possible
    assert page.dash.whole.absent == expected.figures.absence
    html = response.content.decode()
    assert f"{expected.figures.attendance_rate:.1f}%" in html
    assert 'src="data:image/svg+xml;base64,' in html and "How is this calculated?" in html
    cohorts = {r.label: str(r.cells[0]) for r in page.tables.cohorts.rows}
    assert cohorts["Female pupils"] == "18" and cohorts["Male pupils"] == "6"  # sex, each next to the whole


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_national_primary_figure_for_2025_26_is_the_files(world, governed, client_as):
    import csv

    with DFE_FILE.open(encoding="utf-8-sig") as handle:
        row = next(r for r in csv.DictReader(handle) if r["geographic_level"] == "National"
                   and r["education_phase"] == "Primary")
    response = client_as(world.users[Role.GOVERNOR.value]).get(reverse("governors:dashboard", args=[world.school.slug]))
    page = response.context["page"]
    assert page.national.figure.attendance_perc == float(row["attendance_perc"])
    assert page.national.figure.time_period == "202526"
    levels = {b.level: b.label for b in page.benchmarks}
    assert levels == {"national": "England", "regional": "London", "local authority": "Tower Hamlets"}
    html = response.content.decode()
    assert f"{float(row['attendance_perc']):.1f}%" in html
    assert "2025/26 academic year to date" in html


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_no_pupil_identifier_reaches_a_governor_or_trust_response(world, governed, client_as):
    identifiers = _identifiers(governed)
    with scopes_disabled():
        ids = [str(e.pk) for e in governed] + [str(e.pupil_id) for e in governed]
    governor = client_as(world.users[Role.GOVERNOR.value])
    officer = client_as(world.trust_officer)
    slug, trust = world.school.slug, world.trust_a.slug
    responses = [governor.get(reverse("governors:dashboard", args=[slug]) + f"?period={kind}")
                 for kind in ("year_to_date", "this_term")]
    responses += [governor.get(reverse("governors:csv", args=[slug]) + f"?table={t}")
                  for t in ("headline", "year_groups", "cohorts", "bands", "reasons", "days")]
    responses += [officer.get(reverse("trust_dashboard:index", args=[trust])),
                  officer.get(reverse("trust_dashboard:csv", args=[trust]) + "?table=schools"),
                  officer.get(reverse("trust_dashboard:csv", args=[trust]) + "?table=cohorts"),
                  officer.get(reverse("trust_dashboard:school", args=[trust, slug])),
                  officer.get(reverse("trust_dashboard:year_group", args=[trust, slug, "3"]))]
    governor.post(reverse("governors:reports", args=[slug]), {"period": "this_term"})
    with scopes_disabled():
        report = GovernorReport.objects.get(school=world.school)
    assert governor_report_build.apply(kwargs={"school_id": world.school.pk, "report_id": report.pk}).get() is True
    pdf = governor.get(reverse("governors:report_pdf", args=[slug, report.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    texts = [r.content.decode() for r in responses] + [_pdf_text(pdf.content)]
    for response in responses:
        assert response.status_code == 200
    for text in texts:
        for identifier in identifiers:
            assert identifier not in text, f"{identifier} reached a governor or trust response"
    csv_text = responses[3].content.decode()
    for pupil_id in ids:  # ids are short numbers: look for them as whole CSV fields only
        assert f",{pupil_id}\r\n" not in csv_text.replace(",c\r\n", "")
    assert "Attendance report for governors" in texts[-1]


def _pdf_text(content: bytes) -> str:
    """The PDF's text, through pypdf-free means: WeasyPrint writes text as readable strings only when
    compressed streams are inflated, so inflate them."""
    import re
    import zlib

    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            found.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            found.append(stream.decode("latin-1"))
    return "\n".join(found) + content.decode("latin-1")


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_trust_dashboard_is_one_statement_however_many_schools(world, governed, client_as):
    client = client_as(world.trust_officer)
    url = reverse("trust_dashboard:index", args=[world.trust_a.slug])
    with CaptureQueriesContext(connection) as two:
        assert client.get(url).status_code == 200
    with scopes_disabled():
        for n in range(3):
            school = f.SchoolFactory(trust=world.trust_a, name=f"Extra {n}", slug=f"extra-{n}")
            add_calendar(school)
            _populate(school, pupils=6, prefix=f"E{n}")
    with CaptureQueriesContext(connection) as five:
        response = client.get(url + "?sort=attendance&desc=1")
    assert len(_summary_statements(two.captured_queries)) == len(_summary_statements(five.captured_queries)) == 1
    assert len(five.captured_queries) == len(two.captured_queries)
    names = [r.label for r in response.context["rows"]]
    assert set(names) == {"Alder Primary", "Birch Primary", "Extra 0", "Extra 1", "Extra 2"}
    csv_text = client.get(reverse("trust_dashboard:csv", args=[world.trust_a.slug]) + "?table=schools").content.decode()
    assert csv_text.startswith("Group,Pupils,Attendance")
    assert "Alder Primary,24," in csv_text
    cohorts_csv = client.get(reverse("trust_dashboard:csv", args=[world.trust_a.slug]) + "?table=cohorts")
    assert "Female pupils: pupils" in cohorts_csv.content.decode().splitlines()[0]


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_trust_drill_down_goes_school_year_group_cohort(world, governed, client_as):
    client = client_as(world.trust_officer)
    school = client.get(reverse("trust_dashboard:school", args=[world.trust_a.slug, world.school.slug]))
    assert school.status_code == 200
    year_url = reverse("trust_dashboard:year_group", args=[world.trust_a.slug, world.school.slug, "3"])
    assert year_url in school.content.decode()
    year = client.get(year_url)
    assert year.status_code == 200
    table = year.context["table"]
    assert table.rows[-1].label == "Year 3" and str(table.rows[-1].cells[0]) == "12"
    assert "Free school meals" in [r.label for r in table.rows]
    assert client.get(reverse("trust_dashboard:school", args=[world.trust_a.slug, world.other.slug])).status_code == 404


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_small_groups_are_hidden_on_the_page_and_in_the_csv(world, governed, client_as):
    client = client_as(world.users[Role.GOVERNOR.value])
    csv_text = client.get(reverse("governors:csv", args=[world.school.slug]) + "?table=cohorts").content.decode()
    eal = next(line for line in csv_text.splitlines() if line.startswith("English as an additional language"))
    assert eal.split(",")[1] == "c"  # one EAL pupil
    html = client.get(reverse("governors:dashboard", args=[world.school.slug])).content.decode()
    assert ">hidden<" in html


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("query", ["?period=custom&from=2025-12-01&to=2025-09-01", "?period=custom&from=nonsense",
                                   "?period=whenever", "?period=custom&from=2024-06-01&to=2025-10-01"])
def test_a_bad_period_is_explained_and_nothing_shown(world, governed, client_as, query):
    response = client_as(world.users[Role.GOVERNOR.value]).get(
        reverse("governors:dashboard", args=[world.school.slug]) + query)
    assert response.status_code == 400
    assert response.context["error"]
    assert "page" not in response.context


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_bad_report_request_writes_nothing(world, governed, client_as):
    response = client_as(world.users[Role.GOVERNOR.value]).post(
        reverse("governors:reports", args=[world.school.slug]), {"period": "custom", "from": "2025-10-01"})
    assert response.status_code == 400
    with scopes_disabled():
        assert not GovernorReport.objects.exists()


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_class_teacher_is_refused_the_dashboard(world, governed, client_as):
    client = client_as(world.users[Role.CLASS_TEACHER.value])
    assert client.get(reverse("governors:dashboard", args=[world.school.slug])).status_code == 403


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_report_task_claims_once_and_the_daily_task_makes_a_term_report(world, governed):
    from reporting.reports import governor_reports_daily

    made = governor_reports_daily(today=dt.date(2025, 12, 20))  # autumn ended 19 December
    with scopes_disabled():
        reports = list(GovernorReport.objects.filter(school=world.school))
    assert len(reports) == 1 and reports[0].period_from == dt.date(2025, 9, 3) and reports[0].pk in made
    assert governor_reports_daily(today=dt.date(2025, 12, 20)) == []  # once
    kwargs = {"school_id": world.school.pk, "report_id": reports[0].pk}
    assert governor_report_build.apply(kwargs=kwargs).get() is True
    assert governor_report_build.apply(kwargs=kwargs).get() is False  # delivered twice: made once
    with scopes_disabled():
        report = GovernorReport.objects.get(pk=reports[0].pk)
    assert report.status == "done" and bytes(report.pdf).startswith(b"%PDF")


@pytest.mark.django_db
def test_forecast_dates_a_pupil_becoming_persistently_absent(world):
    with scopes_disabled():
        add_calendar(world.school)
        sessions = school_sessions(world.school, dt.date(2025, 9, 3), end=dt.date(2025, 11, 28))
        steady = enrol(world.school)
        record(steady, sessions, ".")
        slipping = enrol(world.school)
        # present until mid-November, then absent every afternoon: under 10% so far, far more recently
        codes = ["I" if day >= dt.date(2025, 11, 17) and s == "PM" else "." for day, s in sessions]
        record(slipping, sessions, codes)
        calendar = calendar_for(school=world.school)
    with scope(school=world.school):
        found = {x.enrolment_id: x for x in pupil_forecasts(school=world.school, on=dt.date(2025, 11, 28),
                                                            calendar=calendar)}
    assert found[steady.pk].becomes_persistent_on is None
    assert found[steady.pk].projected_attendance == 100.0
    late = found[slipping.pk]
    assert not late.persistent_now and late.recent_rate > 20
    # the first future session n with 10 × (absence + rate × n) ≥ possible + n, on the calendar's sessions
    a, p = late.absent, late.possible
    rate = late.recent_rate / 100
    n = next(k for k in range(1, 400) if 10 * (a + rate * k) >= p + k)
    future = [s for s in calendar.sessions if s[0] > dt.date(2025, 11, 28)]
    assert late.becomes_persistent_on == future[n - 1][0]
    with scope(school=world.school):
        ordered = pupil_forecasts(school=world.school, on=dt.date(2025, 11, 28), calendar=calendar)
    assert ordered[0].enrolment_id == slipping.pk


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_trust_shows_each_schools_projected_year_end_pa_as_its_governors_see_it(world, governed, client_as):
    """Every school's projection comes in the trust's one statement; each equals the school's own (the
    governors' page), and a projection of fewer pupils than the threshold is hidden."""
    from reporting.dashboard_views import governor_page
    from reporting.dashboards import trust_dashboard

    on = TODAY.date()
    with scopes_disabled():
        schools = [world.school, world.sister]
        own = {s.pk: governor_page(school=s, kind="year_to_date", on=on).dash.forecast for s in schools}
    with scopes_disabled(), CaptureQueriesContext(connection) as queries:
        dash = trust_dashboard(schools=schools, on=on)
    assert len(_summary_statements(queries.captured_queries)) == 1  # the projections come with the figures
    for s in schools:
        mine, theirs = dash.forecasts[s.pk], own[s.pk]
        assert theirs is not None and mine.pupils == theirs.pupils > 0
        assert (mine.pa_now, mine.pa_projected) == (theirs.pa_now, theirs.pa_projected)
    response = client_as(world.trust_officer).get(reverse("trust_dashboard:index", args=[world.trust_a.slug]))
    table = response.context["schools"]
    column = table.headers.index("Projected persistent absence at year end")
    cells = {r.label: r.cells[column] for r in table.rows}
    alder = dash.forecasts[world.school.pk]
    if not forecast_hidden(alder, threshold=5).projection:
        assert str(cells[world.school.name]).startswith(f"{alder.projected_rate:.1f}% (")
    else:
        assert cells[world.school.name].hidden
    assert "Projected persistent absence at year end" in response.content.decode()


def _last_year_marks(school, enrolments) -> tuple[int, int]:
    """Marks over the whole of last year (2024/25) for the school's pupils: six persistently absent over the
    year though present in the autumn (absent from March), six absent early on (persistently absent over
    the same dates last year, not over the year), the rest present; and a pupil who joined in the spring and
    missed every other session (no possible session in the same dates, persistently absent over the year).
    Returns (pupils, persistently absent) over the whole year."""
    sessions = school_sessions(school, dt.date(2024, 9, 3), end=dt.date(2025, 7, 21))
    assert 10 * 20 < len(sessions)  # twenty sessions missed are under 10% of the year
    for i, e in enumerate(enrolments):
        if i < 6:
            codes = ["I" if day >= dt.date(2025, 3, 1) else "." for day, _ in sessions]
        elif i < 12:
            codes = ["I" if n < 20 else "." for n in range(len(sessions))]
        else:
            codes = ["."]
        record(e, sessions, codes)
    joined = enrol(school, upn="LJ00000000001", admitted=dt.date(2025, 2, 23), year_group="3")
    spring = [s for s in sessions if s[0] >= dt.date(2025, 2, 23)]
    record(joined, spring, ["I" if n % 2 else "." for n in range(len(spring))])
    return len(enrolments) + 1, 6 + 1


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_trust_sets_each_projection_against_last_years_actual_pa(world, governed, client_as):
    """Last year's year-end PA comes in the trust's one statement, over the whole of last year as the governors'
    page counts it, and is shown in the page and the CSV beside the projection; hidden below the threshold."""
    import csv
    import io

    from reporting.dashboard_views import governor_page
    from reporting.dashboards import trust_dashboard
    from reporting.models import DisclosureSetting

    pupils, pa = _last_year_marks(world.school, governed)
    on = TODAY.date()
    with scopes_disabled():
        governors = governor_page(school=world.school, kind="year_to_date", on=on).dash.forecast
    with scopes_disabled(), CaptureQueriesContext(connection) as queries:
        dash = trust_dashboard(schools=[world.school, world.sister], on=on)
    assert len(_summary_statements(queries.captured_queries)) == 1
    alder = dash.forecasts[world.school.pk]
    assert (alder.last_year_pupils, alder.last_year_pa) == (pupils, pa)
    assert alder.last_year_pa_rate == governors.last_year_pa_rate == round(100 * pa / pupils, 1) == 28.0
    row = next(r for r in dash.rows if r.school.pk == world.school.pk)
    assert row.last.pa == 6  # over the same dates last year, the early absences count and the spring's do not
    assert dash.forecasts[world.sister.pk].last_year_pa_rate is None  # no year before this one

    header = "Persistent absence at the end of last year"
    client = client_as(world.trust_officer)
    index = reverse("trust_dashboard:index", args=[world.trust_a.slug])
    csv_url = reverse("trust_dashboard:csv", args=[world.trust_a.slug]) + "?table=schools"

    def shown() -> tuple[str, str, str]:
        response = client.get(index)
        table = response.context["schools"]
        cells = {r.label: r.cells[table.headers.index(header)] for r in table.rows}
        assert header in response.content.decode()
        assert "over the whole of last school year" in response.content.decode()  # its note
        found = list(csv.reader(io.StringIO(client.get(csv_url).content.decode())))
        column = found[0].index(header)
        rows = {line[0]: line[column] for line in found[1:]}
        return str(cells[world.school.name]), rows[world.school.name], str(cells[world.sister.name])

    assert shown() == ("28.0%", "28.00", "–")
    with scopes_disabled():
        DisclosureSetting.objects.create(trust=world.trust_a, threshold=pa + 1)  # seven is now a small number
    assert shown() == ("hidden", "c", "–")


FORECAST_ON = dt.date(2025, 11, 28)


def _forecast_school(school, *, absent: int, slipping: int = 0, last_year_absent: int | None = None,
                     pupils: int = 40) -> None:
    """`pupils` pupils marked to the end of November: `absent` of them miss every other session (persistently
    absent now and projected so), `slipping` are present until mid-November and then miss every afternoon (not
    persistently absent yet, projected so), the rest are present. With `last_year_absent`, every pupil has
    marks for the whole of last year too, that many of them missing every other session."""
    add_calendar(school)
    if last_year_absent is not None:
        add_calendar(school, year_start=dt.date(2024, 9, 1))
    sessions = school_sessions(school, dt.date(2025, 9, 3), end=FORECAST_ON)
    last = [] if last_year_absent is None else school_sessions(school, dt.date(2024, 9, 3), end=dt.date(2025, 7, 21))
    for i in range(pupils):
        e = enrol(school, upn=f"FC{i:011d}", year_group="3" if i % 2 else "4")
        if i < absent:
            codes: list[str] | str = ["I" if n % 2 else "." for n in range(len(sessions))]
        elif i < absent + slipping:
            codes = ["I" if day >= dt.date(2025, 11, 17) and s == "PM" else "." for day, s in sessions]
        else:
            codes = "."
        record(e, sessions, codes)
        if last_year_absent is not None:
            record(e, last, ["I" if n % 2 else "." for n in range(len(last))] if i < last_year_absent else ".")


def _forecast_section(html: str) -> str:
    import re

    found = re.search(r'<section class="panel forecast">(.*?)</section>', html, re.S)
    assert found, "the forecast paragraph is on the page"
    return found.group(1)


def _governor_forecast(client_as, world) -> tuple[str, object]:
    response = client_as(world.users[Role.GOVERNOR.value]).get(
        reverse("governors:dashboard", args=[world.school.slug]))
    assert response.status_code == 200
    return _forecast_section(response.content.decode()), response.context["page"]


def _report_forecast(world) -> str:
    """The forecast paragraph of the termly report's HTML (what the PDF prints) for the autumn to date."""
    from reporting.reports import governor_report_html

    with scopes_disabled():
        report = GovernorReport.objects.create(school=world.school, period_from=dt.date(2025, 9, 3),
                                               period_to=FORECAST_ON, title="Attendance report for governors")
        return _forecast_section(governor_report_html(report=report))


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_projection_of_few_pupils_is_hidden_on_the_governors_page_and_in_the_report(world, client_as):
    """Two of forty pupils projected persistently absent would read 5.0%, and with the pupils on roll shown
    beside it the two could be worked out: the page and the report say the projection is hidden instead."""
    with scopes_disabled():
        _forecast_school(world.school, absent=2)
    section, page = _governor_forecast(client_as, world)
    forecast = page.dash.forecast
    assert (forecast.pupils, forecast.pa_now, forecast.pa_projected) == (40, 2, 2)
    assert page.tables.forecast.projected.hidden
    for text in (section, _report_forecast(world)):
        assert "5.0%" not in text and "If recent attendance continues, about" not in text
        assert 'Projected persistent absence at the end of the year: <strong class="hidden-figure"' in text
        assert ">hidden</strong> (fewer than 5 pupils, or fewer than 5 of them persistently absent)" in text


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_projection_is_hidden_when_few_are_persistently_absent_today(world, client_as):
    """Six projected persistently absent, but only two of them today: the range's low end (the share today)
    would give the two away, so the projection is hidden on the governors' page and in the trust's table."""
    with scopes_disabled():
        _forecast_school(world.school, absent=2, slipping=4)
    section, page = _governor_forecast(client_as, world)
    forecast = page.dash.forecast
    assert (forecast.pa_now, forecast.pa_projected) == (2, 6)
    assert "15.0%" not in section and "5.0%" not in section and ">hidden</strong>" in section
    response = client_as(world.trust_officer).get(reverse("trust_dashboard:index", args=[world.trust_a.slug]))
    table = response.context["schools"]
    row = next(r for r in table.rows if r.label == world.school.name)
    assert row.cells[table.headers.index("Projected persistent absence at year end")].hidden


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_projection_of_as_many_as_the_threshold_is_shown(world, client_as):
    with scopes_disabled():
        _forecast_school(world.school, absent=6)
    section, page = _governor_forecast(client_as, world)
    assert (page.dash.forecast.pa_now, page.dash.forecast.pa_projected, page.threshold) == (6, 6, 5)
    expected = "If recent attendance continues, about <strong>15.0%</strong> of pupils will be persistently absent"
    for text in (section, _report_forecast(world)):
        assert expected in text and "(range 15.0% to 15.0%)" in text
        assert "hidden" not in text


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_last_years_figure_of_few_pupils_is_hidden_on_its_own(world, client_as):
    """Two of forty persistently absent at the end of last year: last year's rate is hidden, the projection
    (six this year) is shown; and when the projection is hidden too, each says so."""
    from reporting.models import DisclosureSetting

    with scopes_disabled():
        _forecast_school(world.school, absent=6, last_year_absent=2)
    section, page = _governor_forecast(client_as, world)
    forecast = page.dash.forecast
    assert (forecast.last_year_pupils, forecast.last_year_pa, forecast.last_year_pa_rate) == (40, 2, 5.0)
    assert not page.tables.forecast.projected.hidden and page.tables.forecast.last_year.hidden
    for text in (section, _report_forecast(world)):
        assert "about <strong>15.0%</strong>" in text
        assert "5.0%" not in text.replace("15.0%", "") and "against" not in text
        assert 'Persistent absence at the end of last year: <strong class="hidden-figure"' in text
    with scopes_disabled():
        DisclosureSetting.objects.create(trust=world.trust_a, threshold=7)  # six is now a small number
    section, page = _governor_forecast(client_as, world)
    assert "15.0%" not in section and section.count(">hidden</strong> (fewer than 7 pupils") == 2


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_last_years_figure_is_shown_beside_the_projection_when_neither_is_small(world, client_as):
    with scopes_disabled():
        _forecast_school(world.school, absent=6, last_year_absent=8)
    section, _ = _governor_forecast(client_as, world)
    assert ("about <strong>15.0%</strong> of pupils will be persistently absent at the end of the year "
            "(range 15.0% to 15.0%), against <strong>20.0%</strong> at the end of last year.") in section
