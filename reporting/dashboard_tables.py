"""The tables governors and trust officers read: raw dashboard counts passed through the disclosure module.

Each table is built once here and used by the page, the CSV export and the PDF, so a figure is hidden the
same way everywhere. Every table is disclosed on its own, with the whole school (or trust) as its total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import disclosure as d
from .dashboards import BANDS, COHORTS, DAYS, REASONS, Counts, SchoolDashboard, TrustDashboard
from .forecasts import METHOD as FORECAST_METHOD
from .forecasts import SchoolForecast

# How each figure is calculated: one sentence each, shown next to the figure.
NOTES = {
    "attendance": "Sessions attended (present, late before registers closed, or approved educational activity) "
                  "÷ possible sessions, summed over every pupil on roll in the period (DfE's method).",
    "authorised": "Authorised absence sessions ÷ possible sessions.",
    "unauthorised": "Unauthorised absence sessions (G, N, O, U) ÷ possible sessions.",
    "absence": "Authorised + unauthorised absence sessions ÷ possible sessions = 100% − attendance.",
    "pa": "Pupils who missed 10% or more of their own possible sessions in the period ÷ pupils on roll with at "
          "least one possible session.",
    "sa": "Pupils who missed 50% or more of their own possible sessions ÷ pupils on roll with possible sessions.",
    "late": "Sessions marked L (late before registers closed) or U (after) ÷ possible sessions.",
    "pupils": "Enrolments with at least one possible session in the period; a pupil who moved counts once per "
              "enrolment. Possible sessions leave out codes that are not counted (X, Y, Z, D, #…).",
    "bands": "Each pupil's own attendance over the period; the bands add up to every pupil on roll.",
    "reasons": "Absence sessions by the code recorded, as a share of possible sessions.",
    "days": "Absence sessions on each weekday morning and afternoon ÷ possible sessions then.",
    "trend": "Attendance each school week, this year and the same school week last year. The national line is "
             "DfE's published figure for the phase for the year to date (it has no weekly series).",
    "year_end_pa": "Pupils who missed 10% or more of their own possible sessions over the whole of last school "
                   "year ÷ pupils on roll then with at least one possible session.",
    "suppression": "Counts below the threshold, and rates from fewer pupils, are hidden (c in a CSV), and so is "
                   "any other figure that would let one of them be worked out: a hidden figure may be large.",
}


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[d.Cell]
    link: str = ""
    sort: dict[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class DisplayTable:
    key: str
    title: str
    headers: list[str]
    rows: list[Row]
    note: str = ""
    has_total: bool = True  # the last row is the total
    # How a table of pupils was suppressed (this period, last year), for the tables drawn after it.
    suppressed: tuple[d.Disclosed, d.Disclosed] | None = field(default=None, repr=False)

    @property
    def disclosed(self) -> tuple[d.Disclosed, d.Disclosed]:
        """How this table of pupils was suppressed; only `groups_table` tables have it."""
        if self.suppressed is None:
            raise ValueError(f"the {self.key} table is not a table of pupils")
        return self.suppressed

    def csv(self) -> str:
        return d.csv_document(["Group", *self.headers],
                              [[r.label, *r.cells] for r in self.rows])


def _pupil_counts(c: Counts) -> d.PupilCounts:
    return d.PupilCounts(c.pupils, c.pa, c.sa)


GROUP_HEADERS = ["Pupils", "Attendance", "Authorised absence", "Unauthorised absence", "Overall absence",
                 "Persistent absence", "Persistent absence (pupils)", "Severe absence", "Severe absence (pupils)",
                 "Late sessions", "Attendance same period last year"]


def _group_cells(disc: d.Disclosed, last: d.Disclosed | None, key: str, c: Counts,
                 prior: Counts | None) -> list[d.Cell]:
    n = f"n:{key}"
    last_rate = last.rate(prior.attendance_rate, pupils_key=n) if prior and prior.pupils and last else \
        d.Cell(None, threshold=disc.threshold)
    return [
        disc.count(n),
        disc.rate(c.attendance_rate, pupils_key=n),
        disc.rate(c.authorised_rate, pupils_key=n),
        disc.rate(c.unauthorised_rate, pupils_key=n),
        disc.rate(c.absence_rate, pupils_key=n),
        disc.rate(c.pupil_rate(c.pa), pupils_key=n, count_key=f"pa:{key}"),
        disc.count(f"pa:{key}"),
        disc.rate(c.pupil_rate(c.sa), pupils_key=n, count_key=f"sa:{key}"),
        disc.count(f"sa:{key}"),
        disc.rate(c.late_rate, pupils_key=n),
        last_rate,
    ]


def groups_table(*, key: str, title: str, groups: Mapping[str, Counts], last_groups: Mapping[str, Counts],
                 whole: Counts, last_whole: Counts, whole_label: str, partition: bool, threshold: int,
                 label: Callable[[str], str], link: Callable[[str], str] | None = None,
                 shown_before: Sequence[tuple[d.Disclosed, d.Disclosed]] = ()) -> DisplayTable:
    """Groups next to the whole: year groups (a partition) or cohorts (each a part of the whole).

    `shown_before` are the (this period, last year) disclosures of tables already on the same page: the
    figures they share (the whole school's) read the same here, and this table is protected knowing them."""
    shown = {k: v for k, v in groups.items() if v.pupils}
    disc = d.disclose(d.pupils_table({k: _pupil_counts(v) for k, v in shown.items()}, _pupil_counts(whole),
                                     partition=partition), threshold=threshold, fixed=[b[0] for b in shown_before])
    last_shown = {k: last_groups.get(k, Counts()) for k in shown}
    last = d.disclose(d.pupils_table({k: _pupil_counts(v) for k, v in last_shown.items()},
                                     _pupil_counts(last_whole), partition=partition), threshold=threshold,
                      fixed=[b[1] for b in shown_before])
    rows = [Row(label(k), _group_cells(disc, last, k, v, last_groups.get(k)), link(k) if link else "")
            for k, v in shown.items()]
    rows.append(Row(whole_label, _group_cells(disc, last, d.WHOLE, whole, last_whole)))
    return DisplayTable(key, title, GROUP_HEADERS, rows, NOTES["pupils"], suppressed=(disc, last))


def counts_display(*, key: str, title: str, parts: Mapping[str, int], total: int, labels: Mapping[str, str],
                   threshold: int, rate_of: Callable[[str, int], float | None], header: str,
                   whole_pupils: int, whole_label: str = "Total") -> DisplayTable:
    """Counts that add up to a total (bands of pupils, sessions by reason or day), with a rate each."""
    disc = d.disclose(d.counts_table(parts, total=total, prefix=key), threshold=threshold)
    school_small = whole_pupils < threshold
    rows = []
    for part in parts:
        count = disc.count(f"{key}:{part}")
        hide = count.hidden or school_small
        rate = d.Cell(None if hide else rate_of(part, parts[part]), hide, threshold, percent=True)
        rows.append(Row(labels[part], [d.Cell(None, True, threshold) if school_small else count, rate]))
    total_cell = disc.count(f"{key}:{d.WHOLE}")
    rows.append(Row(whole_label, [d.Cell(None, True, threshold) if school_small else total_cell,
                                  d.Cell(None if school_small else rate_of("", total), school_small, threshold,
                                         percent=True)]))
    return DisplayTable(key, title, [header, "Rate"], rows)


@dataclass(frozen=True)
class GovernorTables:
    headline: DisplayTable
    year_groups: DisplayTable
    cohorts: DisplayTable
    bands: DisplayTable
    reasons: DisplayTable
    days: DisplayTable
    forecast: ForecastFigures | None = None  # not a table: the paragraph on where persistent absence is heading

    def all(self) -> list[DisplayTable]:
        return [self.headline, self.year_groups, self.cohorts, self.bands, self.reasons, self.days]


def year_label(year_group: str) -> str:
    return {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}.get(year_group, f"Year {year_group}")


def governor_tables(dash: SchoolDashboard, *, threshold: int,
                    year_link: Callable[[str], str] | None = None, whole_label: str = "Whole school") -> GovernorTables:
    whole, last = dash.whole, dash.last_whole
    headline = groups_table(key="headline", title="This period against the same period last year", groups={},
                            last_groups={}, whole=whole, last_whole=last, whole_label=whole_label, partition=True,
                            threshold=threshold, label=str)
    year_groups = groups_table(key="year_groups", title="By year group", groups=dash.year_groups,
                               last_groups=dash.last_year_groups, whole=whole, last_whole=last,
                               whole_label=whole_label, partition=True, threshold=threshold, label=year_label,
                               link=year_link, shown_before=[headline.disclosed])
    cohorts = groups_table(key="cohorts", title="By group of pupils", groups=dash.cohorts,
                           last_groups=dash.last_cohorts, whole=whole, last_whole=last, whole_label=whole_label,
                           partition=False, threshold=threshold, label=lambda k: COHORTS[k][0],
                           shown_before=[headline.disclosed, year_groups.disclosed])
    bands = counts_display(key="bands", title="Pupils by attendance band", parts=whole.bands, total=whole.pupils,
                           labels={k: v[0] for k, v in BANDS.items()}, threshold=threshold,
                           rate_of=lambda _k, n: whole.pupil_rate(n), header="Pupils", whole_pupils=whole.pupils,
                           whole_label="All pupils")
    reasons = counts_display(key="reasons", title="Absence by reason", parts=whole.reasons, total=whole.absent,
                             labels={k: v[0] for k, v in REASONS.items()}, threshold=threshold,
                             rate_of=lambda _k, n: whole.rate(n), header="Sessions", whole_pupils=whole.pupils,
                             whole_label="All absence")
    day_parts = {f"{day}-{session}": dash.days.get((day, session), (0, 0))[0]
                 for day in range(5) for session in ("AM", "PM")}
    day_labels = {f"{day}-{session}": f"{DAYS[day]} {'morning' if session == 'AM' else 'afternoon'}"
                  for day in range(5) for session in ("AM", "PM")}

    def day_rate(key: str, absent: int) -> float | None:
        if not key:
            return whole.rate(whole.absent)
        day, session = key.split("-")
        possible = dash.days.get((int(day), session), (0, 0))[1]
        return round(100 * absent / possible, 2) if possible else None

    days = counts_display(key="days", title="Absence by day of the week and session", parts=day_parts,
                          total=sum(day_parts.values()), labels=day_labels, threshold=threshold, rate_of=day_rate,
                          header="Absence sessions", whole_pupils=whole.pupils, whole_label="Every session")
    return GovernorTables(headline, year_groups, cohorts, bands, reasons, days,
                          forecast_figures(dash.forecast, threshold=threshold))


@dataclass(frozen=True)
class ForecastFigures:
    """The governors' forecast paragraph (page and PDF): the projected year-end PA rate with its range, and last
    year's actual, each hidden by `disclosure.forecast_hidden`. `last_year` is "–" when there was no last year."""

    projected: d.Cell
    low: d.Cell
    high: d.Cell
    last_year: d.Cell
    threshold: int

    @property
    def reason(self) -> str:
        return d.hidden_reason(self.threshold)


def forecast_figures(forecast: SchoolForecast | None, *, threshold: int) -> ForecastFigures | None:
    if forecast is None:
        return None
    hidden = d.forecast_hidden(forecast, threshold=threshold)

    def projection(value: float) -> d.Cell:
        return d.Cell(None if hidden.projection else value, hidden.projection, threshold, percent=True)

    last = forecast.last_year_pa_rate
    last_hidden = hidden.last_year and last is not None
    return ForecastFigures(projection(forecast.projected_rate), projection(forecast.low), projection(forecast.high),
                           d.Cell(None if last_hidden else last, last_hidden, threshold, percent=True), threshold)


TRUST_HEADERS = ["Pupils", "Attendance", "Attendance same period last year", "Trend", "Unauthorised absence",
                 "Persistent absence", "Severe absence", "Projected persistent absence at year end",
                 "Persistent absence at the end of last year", "National attendance (phase)",
                 "LA attendance (phase)"]
TREND_WORDS = {"up": "↑ up", "down": "↓ down", "level": "→ level", "none": "–"}


def trust_schools_table(dash: TrustDashboard, *, threshold: int, link: Callable[[int], str],
                        benchmarks: Mapping[int, list]) -> DisplayTable:
    groups = {str(r.school.pk): r.now for r in dash.rows if r.now.pupils}
    disc = d.disclose(d.pupils_table({k: _pupil_counts(v) for k, v in groups.items()}, _pupil_counts(dash.whole),
                                     partition=True), threshold=threshold)
    rows = []
    for r in dash.rows:
        key = str(r.school.pk)
        n = f"n:{key}"
        marks = {b.level: b.figure for b in benchmarks.get(r.school.pk, [])}
        national, local = marks.get("national"), marks.get("local authority")
        now = r.now
        forecast = dash.forecasts.get(r.school.pk)
        rates_hidden = disc.rate(1.0, pupils_key=n).hidden
        cells = [
            disc.count(n) if now.pupils else d.Cell(0, threshold=threshold),
            disc.rate(now.attendance_rate, pupils_key=n),
            disc.rate(r.last.attendance_rate, pupils_key=n) if r.last.pupils >= threshold else
            d.Cell(None, r.last.pupils > 0, threshold, percent=True),
            d.Cell(None, threshold=threshold) if rates_hidden else _text_cell(TREND_WORDS[r.trend]),
            disc.rate(now.unauthorised_rate, pupils_key=n),
            disc.rate(now.pupil_rate(now.pa), pupils_key=n, count_key=f"pa:{key}"),
            disc.rate(now.pupil_rate(now.sa), pupils_key=n, count_key=f"sa:{key}"),
            _projection_cell(forecast, hidden=rates_hidden, threshold=threshold),
            _last_year_pa_cell(forecast, hidden=rates_hidden, threshold=threshold),
            d.Cell(round(national.attendance_perc, 2) if national and national.attendance_perc else None,
                   percent=True),
            d.Cell(round(local.attendance_perc, 2) if local and local.attendance_perc else None, percent=True),
        ]
        sort = {"name": r.school.name.casefold(), "attendance": cells[1].number or -1,
                "unauthorised": cells[4].number or -1, "pa": cells[5].number or -1, "sa": cells[6].number or -1,
                "pupils": cells[0].number or -1}
        rows.append(Row(r.school.name, cells, link(r.school.pk), sort))
    whole = dash.whole
    rows.append(Row("Whole trust", [
        disc.count(f"n:{d.WHOLE}"), disc.rate(whole.attendance_rate, pupils_key=f"n:{d.WHOLE}"),
        disc.rate(dash.last_whole.attendance_rate, pupils_key=f"n:{d.WHOLE}"), _text_cell(""),
        disc.rate(whole.unauthorised_rate, pupils_key=f"n:{d.WHOLE}"),
        disc.rate(whole.pupil_rate(whole.pa), pupils_key=f"n:{d.WHOLE}", count_key=f"pa:{d.WHOLE}"),
        disc.rate(whole.pupil_rate(whole.sa), pupils_key=f"n:{d.WHOLE}", count_key=f"sa:{d.WHOLE}"),
        d.Cell(None), d.Cell(None), d.Cell(None), d.Cell(None)]))
    note = (f"{NOTES['attendance']} Projected persistent absence at year end: the share of pupils who would be "
            f"persistently absent {FORECAST_METHOD[0].lower()}{FORECAST_METHOD[1:]} In brackets, the range from that "
            "to the share persistently absent today. Persistent absence at the end of last year: "
            f"{NOTES['year_end_pa']}")
    return DisplayTable("schools", "Schools side by side, year to date", TRUST_HEADERS, rows, note)


@dataclass(frozen=True)
class TextCell(d.Cell):
    text: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def csv(self) -> str:
        return self.text


def _projection_cell(forecast: SchoolForecast | None, *, hidden: bool, threshold: int) -> d.Cell:
    """A school's projected year-end PA rate with its range (forecasts.METHOD). Hidden with the school's other
    rates, and as the governors' page hides it (`disclosure.forecast_hidden`)."""
    if forecast is None or not forecast.pupils:
        return d.Cell(None, threshold=threshold)
    if hidden or d.forecast_hidden(forecast, threshold=threshold).projection:
        return d.Cell(None, True, threshold, percent=True)
    return _text_cell(f"{forecast.projected_rate:.1f}% ({forecast.low:.1f}–{forecast.high:.1f}%)")


def _last_year_pa_cell(forecast: SchoolForecast | None, *, hidden: bool, threshold: int) -> d.Cell:
    """Last year's actual year-end PA rate, set beside the projection: hidden with the school's other rates, and
    as the governors' page hides it (`disclosure.forecast_hidden`)."""
    if forecast is None or not forecast.last_year_pupils:
        return d.Cell(None, threshold=threshold)
    if hidden or d.forecast_hidden(forecast, threshold=threshold).last_year:
        return d.Cell(None, True, threshold, percent=True)
    return d.Cell(forecast.last_year_pa_rate, threshold=threshold, percent=True)


def _text_cell(text: str) -> d.Cell:
    return TextCell(None, text=text)


def trust_cohorts_table(dash: TrustDashboard, *, threshold: int) -> DisplayTable:
    """Each cohort's pupils, attendance and PA rate in every school (each school's row disclosed with that
    school's other tables, so it reads the same on the school's own page)."""
    headers = [f"{COHORTS[k][0]}: {what}" for k in COHORTS for what in ("pupils", "attendance", "persistent absence")]
    rows = []
    tables = {}
    for s in [*[r.school for r in dash.rows]]:
        whole = next(r.now for r in dash.rows if r.school.pk == s.pk)
        groups = {k: dash.school_cohorts[(s.pk, k)] for k in COHORTS if dash.school_cohorts[(s.pk, k)].pupils}
        tables[s.pk] = (d.disclose(d.pupils_table({k: _pupil_counts(v) for k, v in groups.items()},
                                                  _pupil_counts(whole), partition=False), threshold=threshold), groups)
    for s in [r.school for r in dash.rows]:
        disc, groups = tables[s.pk]
        cells: list[d.Cell] = []
        for k in COHORTS:
            c = groups.get(k)
            if c is None:
                cells += [d.Cell(0, threshold=threshold), d.Cell(None), d.Cell(None)]
                continue
            cells += [disc.count(f"n:{k}"), disc.rate(c.attendance_rate, pupils_key=f"n:{k}"),
                      disc.rate(c.pupil_rate(c.pa), pupils_key=f"n:{k}", count_key=f"pa:{k}")]
        rows.append(Row(s.name, cells))
    # No whole-trust row: with it, each column would add up to a total, and a cell hidden in one school's
    # table could be worked out from the trust's figure and the other schools'.
    return DisplayTable("cohorts", "Groups of pupils in each school, year to date", headers, rows,
                        NOTES["suppression"], has_total=False)


def year_cohorts_table(dash: SchoolDashboard, tables: GovernorTables, *, year_group: str,
                       threshold: int) -> DisplayTable:
    """The cohorts inside one year group (the trust's drill-down). Disclosed as the whole year group ×
    cohort grid, keeping every figure the year-group and cohort tables already show as they are there,
    so no page can be subtracted from another."""
    years = {k: _pupil_counts(v) for k, v in dash.year_groups.items() if v.pupils}
    cohorts = {k: _pupil_counts(v) for k, v in dash.cohorts.items() if v.pupils}
    whole = _pupil_counts(dash.whole)
    # The year-group and cohort tables exactly as the school's page disclosed them.
    first, second = tables.year_groups.disclosed[0], tables.cohorts.disclosed[0]
    cells = {(y, k): _pupil_counts(v) for (y, k), v in dash.year_cohorts.items() if k in cohorts}
    grid = d.disclose(d.cross_table(years, cohorts, cells, whole), threshold=threshold, fixed=[first, second])
    rows = []
    for k in cohorts:
        c = dash.year_cohorts.get((year_group, k), Counts())
        if c.pupils:
            rows.append(Row(COHORTS[k][0], _group_cells(grid, None, f"{year_group}|{k}", c, None)))
    rows.append(Row(year_label(year_group), _group_cells(grid, None, year_group, dash.year_groups[year_group], None)))
    return DisplayTable("year_cohorts", f"{year_label(year_group)}: groups of pupils", GROUP_HEADERS, rows,
                        NOTES["suppression"])
