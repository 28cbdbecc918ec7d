"""Step 3: the writes, and `school_import`, which runs the three steps in one transaction."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from django.db import connection, transaction
from django_scopes import scope

from attendance_portal.models import School, Trust, User
from attendance_portal.planner import planner_statistics_refresh

from .. import codes
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
from ..services import MarkEntry, MarkValidationError, marks_save
from .parse import _parse
from .plan import _plan_checks
from .records import (
    _LOCK_NAMESPACE,
    BULK_LOAD_ROWS,
    IMPORT_REASON,
    IMPORT_SOURCE,
    MARKS_CHUNK,
    MARKS_CSV,
    SCHOOL_JSON,
    SENSITIVE_PUPIL_FIELDS,
    ImportFiles,
    ImportProblem,
    ImportRejected,
    ImportSummary,
    Progress,
    _Plan,
    _Problems,
    _SchoolFile,
)

# --------------------------------------------------------------------------- writing


def _write_school(spec: _SchoolFile, school: School | None, summary_counts: dict[str, int]) -> School:
    trust = None
    if spec.trust:
        trust = Trust.objects.filter(slug=spec.trust.slug).first()
        if trust is None:
            trust = Trust.objects.create(name=spec.trust.name, slug=spec.trust.slug)
        elif trust.name != spec.trust.name:
            trust.name = spec.trust.name
            trust.save(update_fields=["name"])
    s = spec.school
    if s is None:  # pragma: no cover - the parse step requires a school block for the command
        raise ImportRejected([ImportProblem(SCHOOL_JSON, 1, 'The file needs a "school" block.')], 1)
    values: dict[str, Any] = {"name": s.name, "urn": s.urn, "phase": s.phase, "local_authority": s.local_authority}
    if trust is not None:
        values["trust"] = trust
    if school is None:
        return School.objects.create(slug=s.slug, **values)
    changed = [k for k, v in values.items() if getattr(school, k) != v]
    if changed:
        for k in changed:
            setattr(school, k, values[k])
        school.save(update_fields=changed)
        summary_counts["school_updated"] = 1
    return school


def _write_calendar(school: School, plan: _Plan, summary: ImportSummary) -> None:
    sf = plan.school_file
    if sf is None:
        return
    for times in sf.times:
        values = {"am_open": times.am_open, "am_close": times.am_close, "pm_open": times.pm_open,
                  "pm_close": times.pm_close}
        found = plan.times.get(times.year_group)
        if found is None:
            SessionTimes.objects.create(school=school, year_group=times.year_group, **values)
            summary.add("calendar_created")
        elif any(getattr(found, k) != v for k, v in values.items()):
            SessionTimes.objects.filter(pk=found.pk, school=school).update(**values)
            summary.add("calendar_updated")
    for y in sf.years:
        year = plan.years.get(y.start)
        if year is None:
            year = AcademicYear.objects.create(school=school, name=y.name, start=y.start, end=y.end)
            plan.years[y.start] = year
            summary.add("calendar_created")
        elif year.end != y.end:
            AcademicYear.objects.filter(pk=year.pk, school=school).update(end=y.end)
            summary.add("calendar_updated")
        for t in y.terms:
            season = Term.season_for(t.name, t.start)
            term = plan.terms.get((y.start, t.name.lower()))
            if term is None:
                Term.objects.create(school=school, academic_year=year, name=t.name, season=season,
                                    start=t.start, end=t.end)
                summary.add("calendar_created")
            elif (term.start, term.end, term.name) != (t.start, t.end, t.name):
                Term.objects.filter(pk=term.pk, school=school).update(name=t.name, start=t.start, end=t.end,
                                                                     season=season)
                summary.add("calendar_updated")
        for c in y.closures:
            closure = plan.closures.get((c.date, c.session))
            if closure is None:
                Closure.objects.create(school=school, date=c.date, session=c.session, reason=c.reason)
                summary.add("calendar_created")
            elif closure.reason != c.reason:
                Closure.objects.filter(pk=closure.pk, school=school).update(reason=c.reason)
                summary.add("calendar_updated")


def _write_pupils(school: School, plan: _Plan, summary: ImportSummary) -> dict[str, int]:
    """Registration groups, pupils and admissions in bulk; returns pupil ids by UPN."""
    year_of_group: dict[str, set[str]] = {}
    for row in plan.pupils:
        year_of_group.setdefault(row.group.lower(), set()).add(row.year_group)
    new_groups = []
    names = {}
    for row in plan.pupils:
        key = row.group.lower()
        if key not in plan.groups and key not in names:
            years = year_of_group[key]
            names[key] = RegistrationGroup(school=school, name=row.group,
                                           year_group=next(iter(years)) if len(years) == 1 else "")
            new_groups.append(names[key])
    RegistrationGroup.objects.bulk_create(new_groups)
    plan.groups.update(names)
    summary.add("groups_created", len(new_groups))

    creates, updates = [], []
    fields = {"forename", "surname", "date_of_birth", "year_group", "registration_group_id"}
    details_changed = characteristics_changed = 0
    for row in plan.pupils:
        values = {"forename": row.forename, "surname": row.surname, "date_of_birth": row.date_of_birth,
                  "year_group": row.year_group, "registration_group_id": plan.groups[row.group.lower()].pk,
                  **row.extra}
        pupil = plan.pupils_by_upn.get(row.upn)
        if pupil is None:
            pupil = Pupil(school=school, upn=row.upn, **values)
            creates.append(pupil)
            plan.pupils_by_upn[row.upn] = pupil
            continue
        changed = {k for k, v in values.items() if getattr(pupil, k) != v}
        if changed:
            for k in changed:
                setattr(pupil, k, values[k])
            updates.append(pupil)
            fields.update(changed)
            # Counted apart, so the everyday count never tells whether a characteristic was already set.
            details_changed += bool(changed - SENSITIVE_PUPIL_FIELDS)
            characteristics_changed += bool(changed & SENSITIVE_PUPIL_FIELDS)
    Pupil.objects.bulk_create(creates, batch_size=2000)
    if updates:
        Pupil.objects.bulk_update(updates, sorted(fields), batch_size=2000)
    summary.add("pupils_created", len(creates))
    summary.add("pupils_updated", details_changed)
    summary.add("characteristics_updated", characteristics_changed)

    new_enrolments: list[Enrolment] = []
    left: list[Enrolment] = []
    for row in plan.pupils:
        pupil = plan.pupils_by_upn[row.upn]
        same = [en for en in plan.enrolments.get(pupil.pk, []) if en.admission_date == row.admission]
        if not same:
            new_enrolments.append(Enrolment(school=school, pupil=pupil, admission_date=row.admission,
                                            leaving_date=row.leaving))
        elif same[0].leaving_date != row.leaving:
            same[0].leaving_date = row.leaving
            left.append(same[0])
    Enrolment.objects.bulk_create(new_enrolments, batch_size=2000)
    if left:
        Enrolment.objects.bulk_update(left, ["leaving_date"], batch_size=2000)
    summary.add("enrolments_created", len(new_enrolments))
    summary.add("enrolments_updated", len(left))
    return {upn: p.pk for upn, p in plan.pupils_by_upn.items()}


def _write_marks(
    school: School, plan: _Plan, pupil_ids: dict[str, int], by: User | None, summary: ImportSummary,
    progress: Progress,
) -> None:
    pending: list[tuple[int, MarkEntry]] = []
    for m in plan.marks:
        if m.code == codes.CLOSURE:
            summary.add("closed_sessions_skipped")
            continue
        pid = pupil_ids[m.upn]
        current = plan.existing_marks.get((pid, m.date, m.session))
        if current is not None and (current[0], current[1]) == (m.code, m.minutes_late):
            summary.add("marks_unchanged")
            continue
        # Keep a saved note: the file has no note column, and an import must not wipe what staff wrote.
        note = current[2] if current else ""
        version = current[3] if current else None
        pending.append((m.line, MarkEntry(pid, m.date, m.session, m.code, m.minutes_late, note, version)))
    # Chunks of one pupil's consecutive sessions keep marks_save's look-ups narrow.
    pending.sort(key=lambda item: item[1].key)
    total = len(pending)
    problems = _Problems()
    for start in range(0, total, MARKS_CHUNK):
        chunk = pending[start:start + MARKS_CHUNK]
        try:
            result = marks_save(school=school, entries=[e for _, e in chunk], by=by, reason=IMPORT_REASON,
                                source=IMPORT_SOURCE)
        except MarkValidationError as exc:
            for err in exc.errors:
                problems.add(MARKS_CSV, chunk[err.index][0], err.message)
            problems.raise_if_any()
            raise  # pragma: no cover - raise_if_any always raises here
        line_of = {e.key: line for line, e in chunk}
        for conflict in result.conflicts:
            problems.add(MARKS_CSV, line_of.get(conflict.entry.key),
                         "This session was changed by someone else while the import ran; run the import again.")
        problems.raise_if_any()
        summary.add("marks_created", result.created)
        summary.add("marks_amended", result.amended)
        summary.add("marks_unchanged", result.unchanged)
        progress(50 + int(50 * min(start + MARKS_CHUNK, total) / total))
    if total >= BULK_LOAD_ROWS:
        # A school's first load: what runs next (the statistics, the signals) is planned on real sizes.
        planner_statistics_refresh(Pupil, Enrolment, Mark, "reporting_attendancesummary")

def school_import(
    *, files: ImportFiles, school: School | None = None, by: User | None = None, progress: Progress | None = None,
    write_sensitive: bool = False,
) -> ImportSummary:
    """Import a school from its files, all or nothing.

    With `school` (the upload page), school.json is optional; when given, its "school" block, if
    any, must carry this school's slug, and its "trust" block and school details are ignored —
    moving a school between trusts or renaming it is for platform staff, not an upload. Without
    `school` (the command), school.json names the school, which is created or updated with its trust.
    Raises ImportRejected (nothing written) listing up to 200 problems with file and line.
    `write_sensitive` allows pupils.csv's cohort-characteristic columns (sen, fsm, eal, cla, cin); the caller
    decides it from the importer's "view_sensitive" permission.
    """
    report = progress or (lambda pct: None)
    problems = _Problems()
    plan, calendar_ok = _parse(files, school_required=school is None, write_sensitive=write_sensitive,
                               problems=problems)
    sf = plan.school_file
    if school is not None and sf and sf.school and sf.school.slug and sf.school.slug != school.slug:
        problems.add(SCHOOL_JSON, sf.school.line, f'"school" "slug" is "{sf.school.slug}", but these files are being '
                                                  f'imported into {school.name} ("{school.slug}"). Check you chose '
                                                  "the right school's files.")
        calendar_ok = False
    report(20)

    with transaction.atomic():
        target = school
        if target is None and sf and sf.school and sf.school.slug:
            target = School.objects.filter(slug=sf.school.slug).first()
        if target is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, target.pk])
        # Marks are checked against the calendar only when school.json was readable: a broken
        # calendar would turn every mark into a misleading "not a school session" problem.
        if calendar_ok:
            with scope(school=target) if target is not None else nullcontext():
                _plan_checks(target, plan, problems)
        problems.raise_if_any()
        report(40)

        summary_counts: dict[str, int] = {}
        if school is None and sf is not None:
            target = _write_school(sf, target, summary_counts)
        if target is None:  # pragma: no cover - the parse step requires school.json without a school
            raise ImportRejected([ImportProblem(SCHOOL_JSON, None, "No school to import into.")], 1)
        summary = ImportSummary(target, summary_counts)
        with scope(school=target):
            _write_calendar(target, plan, summary)
            pupil_ids = _write_pupils(target, plan, summary)
            report(50)
            _write_marks(target, plan, pupil_ids, by, summary, report)
    report(100)
    return summary
