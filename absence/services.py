"""Writes for parent absence reports, leave requests, first-day follow-up and N-code resolution.

The register is written only through `registers.services.marks_save`, with a reason and a source
("absence", "leave", "first_day") so the amendment trail says why every code changed. A mark already
taken is never overwritten, except an `N` ("reason not yet established"), which exists to be replaced.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from accounts.services import AccountError, invitation_create
from accounts.tokens import invitation_mark
from attendance_portal.models import School, User
from registers import codes
from registers.calendar import school_sessions
from registers.models import Guardian, Mark, Pupil
from registers.selectors import policy_for
from registers.services import MarkEntry, MarkValidationError, SaveResult, marks_save

from . import selectors
from .models import (
    AbsenceReport,
    ContactAttempt,
    FamilyRequest,
    LeaveRequest,
    MedicalEvidenceRequest,
    SentMessage,
    Sessions,
)
from .notifications import message_queue, parents_notify

# Reference alphabet without look-alike characters, so a parent can read it out on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CONTACT_BACKDATE_DAYS = 7  # how late a call may be logged; the entry also keeps when it was made
MAX_REPORT_DAYS = 31  # a longer absence is a conversation with the school, not a form
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
# Content signatures: the file's own bytes decide its type, never its name or the browser's claim.
EVIDENCE_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
REPORT_CODES: dict[str, str] = {
    AbsenceReport.Category.ILLNESS: codes.ILLNESS,
    AbsenceReport.Category.APPOINTMENT: codes.MEDICAL_APPOINTMENT,
    AbsenceReport.Category.RELIGIOUS: codes.RELIGIOUS_OBSERVANCE,
}
# Codes an officer may give when a reason is established (replacing N or deciding an "other" report).
RESOLUTION_CODES = [codes.ILLNESS, codes.MEDICAL_APPOINTMENT, codes.RELIGIOUS_OBSERVANCE, codes.TRAVELLER,
                    codes.SUSPENDED, codes.LEAVE_EXCEPTIONAL, codes.HOLIDAY_NOT_AGREED, codes.OTHER_UNAUTHORISED,
                    codes.LATE_AFTER_CLOSE, codes.LATE_BEFORE_CLOSE]


class AbsenceError(ValidationError):
    """Refused input; nothing was written. The message is meant for the person who sent it."""


def resolution_choices(day: dt.date | None = None) -> list[tuple[str, str]]:
    return [(c, f"{c} – {codes.CODES[c].meaning}") for c in RESOLUTION_CODES
            if day is None or codes.code_valid_on(c, day)]


# ---------------------------------------------------------------- shared checks


def _check_dates(*, first: dt.date, last: dt.date) -> None:
    if last < first:
        raise AbsenceError("The last day cannot be before the first day.")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise AbsenceError(f"Please give at most {MAX_REPORT_DAYS} days at a time, or contact the school office.")


def _covered_sessions(*, school: School, first: dt.date, last: dt.date, sessions: str) -> list[tuple[dt.date, str]]:
    found = selectors.report_sessions(school=school, first=first, last=last, sessions=sessions)
    if not found:
        why = selectors.closed_reason(school=school, first=first, last=last, sessions=sessions)
        when = f"{first:%A %d %B %Y}" if first == last else f"{first:%d %B} to {last:%d %B %Y}"
        raise AbsenceError(f"The school is closed on {when} ({why}). Please choose days when the school is open.")
    return found


def reference_new(*, kind: type[FamilyRequest]) -> str:
    """A new reference for a parent's report or request: the kind's letter and six characters a parent can
    read out on the phone (the school's unique constraint catches the rare repeat)."""
    return kind.REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _first_school_day_from(*, school: School, day: dt.date) -> dt.date:
    """The first day on or after `day` with a school session (the day itself when the calendar has none)."""
    found = school_sessions(school=school, start=day, end=day + dt.timedelta(days=120))
    return found[0][0] if found else day


def evidence_check(upload: UploadedFile) -> str:
    """The evidence's real type from its first bytes; refuses anything but PDF, PNG or JPEG, or too large."""
    if upload.size is not None and upload.size > MAX_EVIDENCE_BYTES:
        raise AbsenceError(f"The file is too large ({upload.size / 1024 / 1024:.1f} MB). "
                           f"Please send a file of at most {MAX_EVIDENCE_BYTES // 1024 // 1024} MB.")
    if not upload.size:
        raise AbsenceError("The file is empty.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, kind in EVIDENCE_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise AbsenceError("Evidence must be a PDF, PNG or JPEG file. This file is not one of those.")


def _entries_for(
    *, school: School, pupil: Pupil, keys: Sequence[tuple[dt.date, str]], code: str, note: str,
    replace_only: frozenset[str] = frozenset({codes.NOT_ESTABLISHED}),
) -> tuple[list[MarkEntry], int]:
    """Entries writing `code` for each session with no mark, or whose mark is one we may replace.

    Returns the entries and how many sessions were left alone because a mark had already been taken.
    """
    if not keys:
        return [], 0
    existing = {
        (m.date, m.session): m
        for m in Mark.objects.filter(school=school, pupil=pupil, date__gte=min(k[0] for k in keys),
                                     date__lte=max(k[0] for k in keys)).only("date", "session", "code", "version")
    }
    entries, kept = [], 0
    for day, session in keys:
        mark = existing.get((day, session))
        if mark is None:
            entries.append(MarkEntry(pupil.pk, day, session, code, note=note[:300]))
        elif mark.code in replace_only:
            entries.append(MarkEntry(pupil.pk, day, session, code, note=note[:300], expected_version=mark.version))
        elif mark.code != code:
            kept += 1
    return entries, kept


def _save(*, school: School, entries: list[MarkEntry], by: User | None, reason: str, source: str) -> SaveResult:
    try:
        result = marks_save(school=school, entries=entries, by=by, reason=reason, source=source)
    except MarkValidationError as exc:
        raise AbsenceError(exc.errors[0].message) from exc
    if result.conflicts:
        # Someone changed these marks while we were deciding: roll back and let the officer look again.
        raise AbsenceError("The register changed while you were working. Please check it and try again.")
    return result


# ---------------------------------------------------------------- parent absence reports


class DuplicateReport(AbsenceError):
    """A report already covers some of these days; the parent may update it instead (if still waiting)."""

    def __init__(self, message: str, *, existing: AbsenceReport) -> None:
        super().__init__(message)
        self.existing = existing


@transaction.atomic
def absence_report_create(
    *, pupil: Pupil, by: User, first_date: dt.date, last_date: dt.date, sessions: str, category: str,
    message: str = "", guardian: Guardian | None = None, now: dt.datetime | None = None,
    update: int | None = None,
) -> AbsenceReport:
    """A parent's report. Today or later only; closed days refused; after the cut-off it is flagged late.

    A report overlapping one already made for the child is refused with `DuplicateReport`, unless
    `update` names that report and it is still waiting: then it is updated with the new details.
    """
    school = pupil.school
    now = timezone.localtime(now)
    today = now.date()
    if first_date < today:
        raise AbsenceError("Reports can be for today or later. For an earlier day, please contact the school office.")
    _check_dates(first=first_date, last=last_date)
    if category not in AbsenceReport.Category.values:
        raise AbsenceError("Choose a reason for the absence.")
    _covered_sessions(school=school, first=first_date, last=last_date, sessions=sessions)
    late = first_date == today and now.time() > selectors.report_cutoff(school=school, pupil=pupil, day=today)
    existing = (AbsenceReport.objects.select_for_update()
                .filter(school=school, pupil=pupil, first_date__lte=last_date, last_date__gte=first_date)
                .exclude(status=AbsenceReport.Status.REJECTED).order_by("created_at").first())
    if existing is not None:
        when = (f"{existing.first_date:%A %d %B}" if existing.first_date == existing.last_date
                else f"{existing.first_date:%d %B} to {existing.last_date:%d %B}")
        if existing.status != AbsenceReport.Status.PENDING:
            raise AbsenceError(f"{pupil.forename}'s absence for {when} has already been reported and recorded "
                               f"(reference {existing.reference}). To change it, please contact the school office.")
        if update != existing.pk:
            raise DuplicateReport(f"You have already reported {pupil.forename}'s absence for {when} (reference "
                                  f"{existing.reference}). You can update that report with these details instead.",
                                  existing=existing)
        existing.first_date, existing.last_date, existing.sessions = first_date, last_date, sessions
        existing.category, existing.message, existing.late = category, message.strip()[:2000], existing.late or late
        existing.save(update_fields=["first_date", "last_date", "sessions", "category", "message", "late"])
        return existing
    report = AbsenceReport.objects.create(
        school=school, pupil=pupil, reference=reference_new(kind=AbsenceReport), first_date=first_date,
        last_date=last_date, sessions=sessions,
        category=category, message=message.strip()[:2000], reported_by=by, guardian=guardian, late=late,
    )
    to = (guardian.email if guardian and guardian.email else "") or by.email
    if to:
        message_queue(
            school=school, kind=SentMessage.Kind.RECEIPT, to=to, pupil=pupil, guardian=guardian,
            context={**_about(report), "parent": str(guardian) if guardian else "", "late": late},
        )
    return report


def _about(item: FamilyRequest) -> dict[str, object]:
    """What every message about a report or request may say, in words a family uses."""
    context: dict[str, object] = {
        "school": item.school.name, "child": item.pupil.forename, "reference": item.reference,  # type: ignore[attr-defined]  # each concrete request declares its own pupil
        "first": item.first_date, "last": item.last_date, "sessions": item.get_sessions_display().lower(),
    }
    if isinstance(item, AbsenceReport):
        context["reason"] = item.get_category_display().lower()
    return context


_Request = TypeVar("_Request", bound=FamilyRequest)


def _lock_pending(item: _Request, *, done_message: str) -> _Request:
    """The row locked for this decision; refused if someone else decided it first."""
    model = type(item)
    locked = model.objects.select_for_update().filter(school=item.school, pk=item.pk).first()
    if locked is None or locked.status != model.Status.PENDING:  # type: ignore[attr-defined]  # each concrete request declares its own status and Status
        raise AbsenceError(done_message)
    return locked


def _pending_report(report: AbsenceReport) -> AbsenceReport:
    return _lock_pending(report, done_message="This report has already been dealt with.")


@transaction.atomic
def absence_report_accept(*, report: AbsenceReport, by: User, code: str = "") -> tuple[AbsenceReport, SaveResult]:
    """Record the report's reason in the register for its sessions.

    Empty sessions get the mapped code; an N already taken is amended with the reason recorded; any
    other mark already taken (the child came in, or another reason) is left as it is.
    """
    report = _pending_report(report)
    code = REPORT_CODES.get(report.category) or code
    if not code:
        raise AbsenceError("Choose the code to record for this reason.")
    if code not in RESOLUTION_CODES:
        raise AbsenceError(f"'{code}' cannot be recorded from a parent's report.")
    school = report.school
    keys = selectors.report_sessions(school=school, first=report.first_date, last=report.last_date,
                                     sessions=report.sessions)
    note = f"Parent report {report.reference}: {report.get_category_display()}"
    entries, _kept = _entries_for(school=school, pupil=report.pupil, keys=keys, code=code, note=note)
    result = _save(school=school, entries=entries, by=by, source="absence",
                   reason=f"Reason given by parent (report {report.reference}): {report.get_category_display()}")
    _record_decision(report, status=AbsenceReport.Status.ACCEPTED, by=by, code=code)
    parents_notify(school=school, pupil=report.pupil, kind=SentMessage.Kind.REPORT_DECIDED,
                   context={**_about(report), "accepted": True})
    if code == codes.ILLNESS:
        medical_evidence_check(pupil=report.pupil, by=by, today=min(report.last_date, timezone.localdate()))
    return report, result


def _record_decision(item: FamilyRequest, *, status: str, by: User, **fields: object) -> None:
    """Store who decided a report or request, when, and the decision's own fields."""
    item.status = status  # type: ignore[attr-defined]  # each concrete request declares its own status
    item.decided_by = by
    item.decided_at = timezone.now()
    for name, value in fields.items():
        setattr(item, name, value)
    item.save(update_fields=["status", "decided_by", "decided_at", *fields])  # type: ignore[misc]  # each concrete request declares its own status


@transaction.atomic
def absence_report_reject(*, report: AbsenceReport, by: User, reason: str) -> AbsenceReport:
    reason = reason.strip()
    if not reason:
        raise AbsenceError("Give the reason the report is not accepted; the parent will see it.")
    report = _pending_report(report)
    _record_decision(report, status=AbsenceReport.Status.REJECTED, by=by, decision_reason=reason[:500])
    parents_notify(school=report.school, pupil=report.pupil, kind=SentMessage.Kind.REPORT_DECIDED,
                   context={**_about(report), "accepted": False, "note": report.decision_reason})
    return report


# ---------------------------------------------------------------- leave of absence


def leave_request_create(
    *, pupil: Pupil, by: User, first_date: dt.date, last_date: dt.date, sessions: str, circumstance: str,
    reason: str, evidence: UploadedFile | None = None, guardian: Guardian | None = None,
    today: dt.date | None = None,
) -> LeaveRequest:
    """A request made in advance: future dates, the school's minimum notice, checked evidence."""
    school = pupil.school
    today = today or timezone.localdate()
    if first_date <= today:
        raise AbsenceError("Leave must be asked for in advance: the first day must be in the future.")
    _check_dates(first=first_date, last=last_date)
    notice = policy_for(school=school, day=today).leave_notice_days
    if first_date < today + dt.timedelta(days=notice):
        earliest = _first_school_day_from(school=school, day=today + dt.timedelta(days=notice))
        raise AbsenceError(f"{school.name} needs at least {notice} days' notice: the earliest first day you can "
                           f"ask for now is {earliest:%A %d %B %Y}.")
    if circumstance not in LeaveRequest.Circumstance.values:
        raise AbsenceError("Choose the kind of leave you are asking for.")
    if not reason.strip():
        raise AbsenceError("Please explain the reason for the request.")
    _covered_sessions(school=school, first=first_date, last=last_date, sessions=sessions)
    kind = evidence_check(evidence) if evidence else ""
    request = LeaveRequest(
        school=school, pupil=pupil, reference=reference_new(kind=LeaveRequest), first_date=first_date,
        last_date=last_date,
        sessions=sessions, circumstance=circumstance, reason=reason.strip()[:3000], requested_by=by, guardian=guardian,
        evidence_type=kind,
    )
    if evidence:
        suffix = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[kind]
        request.evidence_name = (evidence.name or "evidence")[:200]
        # A random stored name: the parent's file name never becomes a path on the server.
        request.evidence.save(f"{request.reference}-{secrets.token_hex(8)}{suffix}", evidence, save=False)
    request.save()
    to = (guardian.email if guardian and guardian.email else "") or by.email
    if to:
        message_queue(
            school=school, kind=SentMessage.Kind.LEAVE_RECEIPT, to=to, pupil=pupil, guardian=guardian,
            context={**_about(request), "parent": str(guardian) if guardian else ""},
        )
    return request


def _pending_leave(request: LeaveRequest) -> LeaveRequest:
    return _lock_pending(request, done_message="This request has already been decided.")


@transaction.atomic
def leave_request_grant(
    *, request: LeaveRequest, by: User, circumstance: str = "", reason: str = ""
) -> tuple[LeaveRequest, SaveResult]:
    """Grant: the regulation's code for the circumstance is pre-filled for the requested sessions."""
    request = _pending_leave(request)
    circumstance = circumstance or request.circumstance
    code = LeaveRequest.CODES.get(circumstance)
    if code is None:
        raise AbsenceError("Choose the circumstance the leave is granted under.")
    school = request.school
    keys = selectors.report_sessions(school=school, first=request.first_date, last=request.last_date,
                                     sessions=request.sessions)
    note = f"Leave granted ({request.reference})"
    entries, _kept = _entries_for(school=school, pupil=request.pupil, keys=keys, code=code, note=note)
    result = _save(school=school, entries=entries, by=by, source="leave",
                   reason=f"Leave of absence granted by the headteacher ({request.reference})")
    _record_decision(request, status=LeaveRequest.Status.GRANTED, by=by, granted_circumstance=circumstance,
                     decision_reason=reason.strip()[:500])
    parents_notify(school=school, pupil=request.pupil, kind=SentMessage.Kind.LEAVE_DECIDED,
                   context={**_about(request), "granted": True, "note": request.decision_reason})
    return request, result


@transaction.atomic
def leave_request_refuse(*, request: LeaveRequest, by: User, reason: str) -> LeaveRequest:
    reason = reason.strip()
    if not reason:
        raise AbsenceError("Give the reason for refusing; the parent will see it.")
    request = _pending_leave(request)
    _record_decision(request, status=LeaveRequest.Status.REFUSED, by=by, decision_reason=reason[:500])
    parents_notify(school=request.school, pupil=request.pupil, kind=SentMessage.Kind.LEAVE_DECIDED,
                   context={**_about(request), "granted": False, "note": request.decision_reason})
    return request


@transaction.atomic
def leave_request_record_taken(
    *, request: LeaveRequest, by: User, today: dt.date | None = None
) -> tuple[LeaveRequest, SaveResult]:
    """Refused leave taken anyway: code G for the requested sessions up to today.

    Sessions the pupil attended keep their mark; N (and sessions with no mark yet) become G.
    """
    today = today or timezone.localdate()
    locked = LeaveRequest.objects.select_for_update().filter(school=request.school, pk=request.pk).first()
    if locked is None or locked.status != LeaveRequest.Status.REFUSED:
        raise AbsenceError("Only a refused request can be recorded as taken.")
    if locked.first_date > today:
        raise AbsenceError("The requested dates have not started yet.")
    school = locked.school
    keys = list(selectors.report_sessions(school=school, first=locked.first_date,
                                                  last=min(locked.last_date, today), sessions=locked.sessions))
    entries, _kept = _entries_for(school=school, pupil=locked.pupil, keys=keys, code=codes.HOLIDAY_NOT_AGREED,
                                  note=f"Leave refused ({locked.reference}) and taken")
    result = _save(school=school, entries=entries, by=by, source="leave",
                   reason=f"Leave refused ({locked.reference}) and taken: holiday not granted by the school")
    locked.status = LeaveRequest.Status.TAKEN
    locked.taken_recorded_by = by
    locked.taken_recorded_at = timezone.now()
    locked.save(update_fields=["status", "taken_recorded_by", "taken_recorded_at"])
    return locked, result


# ---------------------------------------------------------------- first-day calling and N resolution


def contact_attempt_record(
    *, pupil: Pupil, by: User, method: str, outcome: str, note: str = "", contact_id: int | None = None,
    absence_date: dt.date | None = None, at: dt.datetime | None = None,
) -> ContactAttempt:
    if method not in ContactAttempt.Method.values:
        raise AbsenceError("Choose how the contact was made.")
    if outcome not in ContactAttempt.Outcome.values:
        raise AbsenceError("Choose the outcome of the contact.")
    contact = None
    if contact_id:
        contact = pupil.contacts.filter(pk=contact_id).first()
        if contact is None:
            raise AbsenceError("That contact is not one of this pupil's contacts.")
    now = timezone.now()
    at = at or now
    absence_date = absence_date or timezone.localdate()
    if at > now + dt.timedelta(minutes=5) or absence_date > timezone.localdate():
        raise AbsenceError("A contact attempt cannot be in the future.")
    earliest = now - dt.timedelta(days=CONTACT_BACKDATE_DAYS)
    if at < earliest or absence_date < timezone.localdate(earliest):
        raise AbsenceError(f"A contact attempt can be logged up to {CONTACT_BACKDATE_DAYS} days after it was made; "
                           "for anything older, add a note to the pupil's record instead.")
    return ContactAttempt.objects.create(
        school=pupil.school, pupil=pupil, contact=contact, method=method, outcome=outcome,
        note=note.strip()[:500], absence_date=absence_date, at=at, by=by, recorded_at=now,
    )


@transaction.atomic
def n_codes_resolve(
    *, pupil: Pupil, by: User, keys: Sequence[tuple[dt.date, str]], code: str, reason: str,
) -> SaveResult:
    """Replace N with the established code, as an amendment carrying the reason."""
    reason = reason.strip()
    if not keys:
        raise AbsenceError("Choose at least one session to resolve.")
    if code not in RESOLUTION_CODES:
        raise AbsenceError("Choose the code to record.")
    if not reason:
        raise AbsenceError("Give the reason (for example who phoned and what they said); it is kept with the mark.")
    school = pupil.school
    marks = {(m.date, m.session): m for m in selectors.n_marks_for(school=school, pupil_id=pupil.pk, keys=keys)}
    missing = [k for k in keys if k not in marks]
    if missing:
        day, session = missing[0]
        raise AbsenceError(f"{pupil.full_name} has no N for {day:%d %B %Y} {session}; it may have been resolved "
                           "already.")
    for day, _session in keys:
        if not codes.code_valid_on(code, day):
            raise AbsenceError(f"Code '{code}' is not valid on {day:%d %B %Y}.")
    entries = [MarkEntry(pupil.pk, m.date, m.session, code, note=m.note, expected_version=m.version)
               for m in marks.values()]
    result = _save(school=school, entries=entries, by=by, reason=reason, source="first_day")
    if code == codes.ILLNESS:
        medical_evidence_check(pupil=pupil, by=by, today=max(k[0] for k in keys))
    return result


@dataclass(frozen=True)
class BulkResolved:
    pupils: int
    sessions: int


@transaction.atomic
def n_codes_resolve_many(
    *, school: School, by: User, selections: dict[int, list[tuple[dt.date, str]]], code: str, reason: str,
) -> BulkResolved:
    """Resolve N for several pupils at once with one code and reason; all or nothing."""
    if not any(selections.values()):
        raise AbsenceError("Tick at least one pupil or session to resolve.")
    pupils = {p.pk: p for p in Pupil.objects.filter(school=school, pk__in=list(selections))}
    sessions = 0
    for pupil_id, keys in selections.items():
        pupil = pupils.get(pupil_id)
        if pupil is None:
            raise AbsenceError("One of the ticked pupils is not in this school.")
        result = n_codes_resolve(pupil=pupil, by=by, keys=keys, code=code, reason=reason)
        sessions += result.amended
    return BulkResolved(pupils=len(selections), sessions=sessions)


# ---------------------------------------------------------------- medical evidence


def illness_run(*, school: School, pupil: Pupil, today: dt.date) -> tuple[dt.date | None, int]:
    """The run of consecutive school days of illness ending on `today` (or the last school day before).

    A day counts when every session of it that has a mark is I; the run breaks at the first day that
    is not. Returns (first day of the run, number of days).
    """
    days = sorted({d for d, _ in school_sessions(school=school, start=today - dt.timedelta(days=70), end=today)},
                  reverse=True)
    if not days:
        return None, 0
    marks: dict[dt.date, set[str]] = {}
    for d, c in Mark.objects.filter(school=school, pupil=pupil, date__gte=days[-1], date__lte=today) \
            .values_list("date", "code"):
        marks.setdefault(d, set()).add(c)
    first, count = None, 0
    for d in days:
        if marks.get(d) != {codes.ILLNESS}:
            break
        first, count = d, count + 1
    return first, count


def medical_evidence_check(*, pupil: Pupil, by: User | None, today: dt.date) -> MedicalEvidenceRequest | None:
    """Raise a request to the parent once a run of illness reaches the school's number of days."""
    school = pupil.school
    limit = policy_for(school=school, day=today).medical_evidence_after_days
    first, days = illness_run(school=school, pupil=pupil, today=today)
    if first is None or not limit or days < limit:
        return None
    if MedicalEvidenceRequest.objects.filter(school=school, pupil=pupil, illness_from=first).exists():
        return None
    try:
        with transaction.atomic():
            request = MedicalEvidenceRequest.objects.create(school=school, pupil=pupil, illness_from=first,
                                                            days=days)
    except IntegrityError:
        return None  # raised concurrently by another request: one is enough
    parents_notify(school=school, pupil=pupil, kind=SentMessage.Kind.MEDICAL_EVIDENCE, about_date=first,
                   context={"days": days, "since": first})
    return request


@transaction.atomic
def medical_evidence_record(*, request: MedicalEvidenceRequest, by: User, received: bool,
                            note: str = "") -> MedicalEvidenceRequest:
    request.status = (MedicalEvidenceRequest.Status.RECEIVED if received
                      else MedicalEvidenceRequest.Status.NOT_RECEIVED)
    request.note = note.strip()[:500]
    request.recorded_by = by
    request.recorded_at = timezone.now()
    request.save(update_fields=["status", "note", "recorded_by", "recorded_at"])
    return request


# ---------------------------------------------------------------- notifications and invitations


@dataclass(frozen=True)
class NotifyResult:
    pupils: int
    messages: int


def unexplained_notify(*, school: School, now: dt.datetime | None = None) -> NotifyResult:
    """Tell the first contact of each pupil still unexplained today. Once per pupil per day.

    The look-up of who was told only saves work; the unique constraint on the messages is what makes
    two runs at once (two workers, a redelivered task) send each family one message.
    """
    view = selectors.unexplained_today(school=school, now=now)
    already = set(SentMessage.objects.filter(school=school, kind=SentMessage.Kind.UNEXPLAINED,
                                             about_date=view.day).values_list("pupil_id", flat=True))
    pupils = messages = 0
    for row in view.rows:
        if row.pupil.pk in already or row.pending_report is not None:
            continue
        sent = parents_notify(school=school, pupil=row.pupil, kind=SentMessage.Kind.UNEXPLAINED,
                              about_date=view.day, only_first=True, text=True, context={"day": view.day})
        pupils += 1 if sent else 0
        messages += len(sent)
    return NotifyResult(pupils, messages)


def parent_invite(*, guardian: Guardian, by: User, base_url: str) -> Invitation:
    """Email the contact a link to set up a parent account, or to add this child to the one they have.

    The invitation never touches an existing account: whoever opens the link creates a new account for
    the address or signs in and accepts (`accounts.services`). A contact already linked needs no link.
    """
    email = guardian.email.strip().lower()
    if not email:
        raise AbsenceError("This contact has no email address; add one before inviting them.")
    if guardian.user_id:
        raise AbsenceError(f"{guardian} already signs in to the parent portal with their own account, so no "
                           "invitation is needed.")
    try:
        invitation = invitation_create(kind=Invitation.Kind.PARENT, email=email, by=by, school=guardian.school,
                                       guardian=guardian)
    except AccountError as exc:
        raise AbsenceError(exc.messages) from exc
    link = base_url.rstrip("/") + reverse("accounts:invitation_open", kwargs={"token": invitation_mark(invitation)})
    hours = settings.INVITATION_VALID_HOURS
    message_queue(
        school=guardian.school, kind=SentMessage.Kind.INVITATION, to=email, guardian=guardian,
        context={"school": guardian.school.name, "parent": str(guardian), "link": link, "hours": hours},
    )
    return invitation


def sessions_label(sessions: str) -> str:
    return Sessions(sessions).label
