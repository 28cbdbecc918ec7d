"""Step 2: the parsed files compared with what the school has, and every mark checked against the calendar and
the admission register the import will leave. Reads only."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db.models import Max, Min

from attendance_portal.models import School

from .. import codes
from ..calendar import closure_reasons, session_closed
from ..calendar_services import closure_sessions, marked_sessions, year_overlapping
from ..models import (
    AcademicYear,
    Closure,
    Enrolment,
    Mark,
    Pupil,
    RegistrationGroup,
    SessionTimes,
    Term,
)
from ..upn import upn_error
from .records import MARKS_CSV, PUPILS_CSV, SCHOOL_JSON, _Plan, _Problems, _PupilRow


def _session_gaps(plan: _Plan) -> tuple[list[tuple[dt.date, dt.date]], dict[tuple[dt.date, str], str]]:
    """Term ranges and closed sessions as they will be after the import (the school's and the file's)."""
    terms: dict[tuple[dt.date, str], tuple[dt.date, dt.date]] = {}
    for (year_start, name), term in plan.terms.items():
        terms[(year_start, name.lower())] = (term.start, term.end)
    closed: dict[tuple[dt.date, str], str] = {}
    for (day, which), closure in plan.closures.items():
        closed[(day, which)] = closure.reason
    if plan.school_file:
        for year in plan.school_file.years:
            for t in year.terms:
                terms[(year.start, t.name.lower())] = (t.start, t.end)
            for c in year.closures:
                closed[(c.date, c.session)] = c.reason
    return sorted(terms.values()), closure_reasons((day, which, reason) for (day, which), reason in closed.items())


def _plan_checks(school: School | None, plan: _Plan, problems: _Problems) -> None:
    """Compare the files with the school's existing data; check every mark. Reads only."""
    sf = plan.school_file
    if school is not None:
        _load_existing(school, plan)
    if sf:
        for year in sf.years if school is not None else []:
            assert school is not None  # noqa: S101 - the loop runs only for an existing school
            existing = year_overlapping(school=school, start=year.start, end=year.end, keep=plan.years.get(year.start))
            if existing:
                problems.add(SCHOOL_JSON, year.line, f"Academic year {year.name} overlaps the school's existing "
                                                     f"academic year {existing.name} ({existing.start} to "
                                                     f"{existing.end}).")
        term_ranges, _ = _session_gaps(plan)
        ordered = sorted(term_ranges)
        for before, after in itertools.pairwise(ordered):
            if after[0] <= before[1]:
                problems.add(SCHOOL_JSON, None, f"After the import, terms {before[0]}–{before[1]} and "
                                                f"{after[0]}–{after[1]} would overlap; rename or correct one.")
        if school is not None:
            _check_new_closures(school, plan, problems)

    # Pupils: admissions must not overlap an existing admission register entry with another start.
    for row in plan.pupils:
        pupil = plan.pupils_by_upn.get(row.upn)
        if pupil is None:
            continue
        for en in plan.enrolments.get(pupil.pk, []):
            if en.admission_date == row.admission:
                continue
            if en.admission_date <= (row.leaving or dt.date.max) and row.admission <= (en.leaving_date or dt.date.max):
                problems.add(PUPILS_CSV, row.line,
                             f"The admission from {row.admission} overlaps the pupil's existing admission register "
                             f"entry from {en.admission_date}.")
    if school is not None:
        _check_existing_marks_stay_inside(school, plan, problems)
    _check_marks(plan, problems)


def _load_existing(school: School, plan: _Plan) -> None:
    plan.years = {y.start: y for y in AcademicYear.objects.filter(school=school)}
    by_id = {y.pk: y for y in plan.years.values()}
    plan.terms = {(by_id[t.academic_year_id].start, t.name.lower()): t for t in Term.objects.filter(school=school)}
    plan.closures = {(c.date, c.session): c for c in Closure.objects.filter(school=school)}
    plan.times = {t.year_group: t for t in SessionTimes.objects.filter(school=school)}
    plan.groups = {g.name.lower(): g for g in RegistrationGroup.objects.filter(school=school)}
    upns = [p.upn for p in plan.pupils]
    plan.pupils_by_upn = {p.upn: p for p in Pupil.objects.filter(school=school, upn__in=upns)}
    ids = [p.pk for p in plan.pupils_by_upn.values()]
    for en in Enrolment.objects.filter(school=school, pupil_id__in=ids):
        plan.enrolments.setdefault(en.pupil_id, []).append(en)
    if plan.marks and ids:
        start = min(m.date for m in plan.marks)
        end = max(m.date for m in plan.marks)
        found = Mark.objects.filter(school=school, pupil_id__in=ids, date__range=(start, end)).values_list(
            "pupil_id", "date", "session", "code", "minutes_late", "note", "version")
        plan.existing_marks = {(p, d, s): (c, m, n, v) for p, d, s, c, m, n, v in found.iterator(chunk_size=20_000)}


def _check_new_closures(school: School, plan: _Plan, problems: _Problems) -> None:
    """A new closure must not fall on a session that already holds marks (marks are never deleted)."""
    new = [c for year in plan.school_file.years for c in year.closures  # type: ignore[union-attr]  # new closures are checked only for a plan with a school file
           if (c.date, c.session) not in plan.closures]
    if not new:
        return
    marked = marked_sessions(school=school, sessions=[s for c in new for s in closure_sessions(c.date, c.session)])
    for c in new:
        hit = [s for day, s in closure_sessions(c.date, c.session) if (day, s) in marked]
        if hit:
            problems.add(SCHOOL_JSON, c.line, f"Marks are already recorded for {c.date} {'/'.join(hit)}, so it "
                                              "cannot become a closure.")


def _check_existing_marks_stay_inside(school: School, plan: _Plan, problems: _Problems) -> None:
    """Shortening an admission must not leave the pupil's saved marks outside it."""
    changed: dict[int, _PupilRow] = {}
    for row in plan.pupils:
        pupil = plan.pupils_by_upn.get(row.upn)
        for en in plan.enrolments.get(pupil.pk, []) if pupil else []:
            if en.admission_date == row.admission and en.leaving_date != row.leaving:
                changed[en.pk] = row
    if not changed:
        return
    spans = Mark.objects.filter(school=school, enrolment_id__in=changed).values("enrolment_id").annotate(
        first=Min("date"), last=Max("date"))
    for span in spans:
        row = changed[span["enrolment_id"]]
        if row.leaving and span["last"] > row.leaving:
            problems.add(PUPILS_CSV, row.line, f"leaving_date {row.leaving} is before marks already recorded for "
                                               f"this pupil (up to {span['last']}).")


def _check_marks(plan: _Plan, problems: _Problems) -> None:
    terms, closed = _session_gaps(plan)
    file_upns = {p.upn: p for p in plan.pupils}
    spans: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for row in plan.pupils:
        own = [(row.admission, row.leaving or dt.date.max)]
        pupil = plan.pupils_by_upn.get(row.upn)
        for en in plan.enrolments.get(pupil.pk, []) if pupil else []:
            if en.admission_date != row.admission:
                own.append((en.admission_date, en.leaving_date or dt.date.max))
        spans[row.upn] = own
    in_term: dict[dt.date, bool] = {}
    seen: dict[tuple[str, dt.date, str], int] = {}
    add = problems.add
    for m in plan.marks:
        if m.upn not in file_upns:
            if m.upn in plan.rejected_upns:
                continue  # the pupils.csv line is reported already
            error = upn_error(m.upn)
            add(MARKS_CSV, m.line, error or f"UPN {m.upn} is not in pupils.csv.")
            continue
        key = (m.upn, m.date, m.session)
        if key in seen:
            add(MARKS_CSV, m.line, f"{m.upn} {m.date} {m.session} appears twice (also line {seen[key]}).")
            continue
        seen[key] = m.line
        day = m.date
        if day not in in_term:
            in_term[day] = any(s <= day <= e for s, e in terms)
        why = session_closed(day, in_term=in_term[day], closure=closed.get((day, m.session), ""))
        if m.code == codes.CLOSURE:
            if not why:
                add(MARKS_CSV, m.line, f"'#' marks a planned closure, but {day:%a %d %B %Y} {m.session} is a school "
                                       "session. Add the closure to school.json or give the pupil's code.")
            continue
        if why:
            add(MARKS_CSV, m.line, f"{day:%a %d %B %Y} {m.session} is not a school session ({why}).")
            continue
        if not any(s <= day <= e for s, e in spans[m.upn]):
            add(MARKS_CSV, m.line, f"{m.upn} is not on the admission register on {day:%d %B %Y}.")
