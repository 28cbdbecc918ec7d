"""Reads for letters: templates in force, a pupil's letters, the school's log, batches and the parent's view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from registers.models import Pupil

from .models import Letter, LetterBatch, LetterTemplate


def template_for(*, school: School, kind: str, language: str = "en") -> LetterTemplate | None:
    """The latest version in the recipient's language, else the latest English one."""
    found = (LetterTemplate.objects.filter(school=school, kind=kind, language__in={language, "en"})
             .order_by("-version"))
    by_language: dict[str, LetterTemplate] = {}
    for template in found:
        by_language.setdefault(template.language, template)
    return by_language.get(language) or by_language.get("en")


def templates_current(*, school: School) -> list[LetterTemplate]:
    """The latest version of each (kind, language) the school has."""
    return list(LetterTemplate.objects.filter(school=school).order_by("kind", "language", "-version")
                .distinct("kind", "language"))


def template_versions(*, school: School, kind: str, language: str) -> QuerySet[LetterTemplate]:
    return LetterTemplate.objects.filter(school=school, kind=kind, language=language).order_by("-version")


def letters_for_pupil(*, school: School, pupil_id: int) -> QuerySet[Letter]:
    return (Letter.objects.filter(school=school, pupil_id=pupil_id).select_related("approved_by", "template")
            .prefetch_related("sends").order_by("-created_at", "envelope_order"))


def letters_for_case(*, school: School, case_ref: str) -> QuerySet[Letter]:
    return (Letter.objects.filter(school=school, case_ref=case_ref).select_related("approved_by")
            .prefetch_related("sends").order_by("-created_at", "envelope_order"))


def letter_get(*, school: School, letter_id: int) -> Letter:
    found = Letter.objects.filter(school=school, pk=letter_id).select_related(
        "pupil", "approved_by", "template", "guardian").first()
    if found is None:
        raise Http404("No such letter")
    return found


@dataclass(frozen=True)
class LogFilter:
    kind: str = ""
    channel: str = ""
    approver: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""


def letter_log(*, school: School, where: LogFilter) -> QuerySet[Letter]:
    found = Letter.objects.filter(school=school)
    if where.kind:
        found = found.filter(kind=where.kind)
    if where.status:
        found = found.filter(status=where.status)
    if where.channel:
        found = found.filter(sends__channel=where.channel, sends__ok=True)
    if where.approver:
        found = found.filter(approved_by_id=where.approver)
    if where.date_from:
        found = found.filter(created_at__date__gte=where.date_from)
    if where.date_to:
        found = found.filter(created_at__date__lte=where.date_to)
    return (found.select_related("pupil", "approved_by").prefetch_related("sends")
            .order_by("-created_at", "envelope_order").distinct())


@dataclass(frozen=True)
class BatchProgress:
    total: int
    settled: int
    sent: int
    failed: int
    stale: int

    @property
    def percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 100


def batch_progress(*, batch: LetterBatch) -> BatchProgress:
    counts = Letter.objects.filter(school_id=batch.school_id, batch=batch).aggregate(
        total=Count("pk"),
        settled=Count("pk", filter=Q(status__in=["sent", "failed", "cancelled", "stale"])),
        sent=Count("pk", filter=Q(status="sent")), failed=Count("pk", filter=Q(status="failed")),
        stale=Count("pk", filter=Q(status="stale")))
    return BatchProgress(**counts)


def batches_recent(*, school: School, limit: int = 20) -> QuerySet[LetterBatch]:
    return LetterBatch.objects.filter(school=school).select_related("approved_by").order_by("-created_at")[:limit]


def parent_letters(*, user: User, pupil: Pupil) -> list[Letter]:
    """Letters to this parent about this child (the child already checked to be theirs)."""
    with scopes_disabled():  # a parent is not a school member; the guardian link is the filter
        return list(Letter.objects.filter(school_id=pupil.school_id, pupil=pupil, guardian__user=user,
                                          status=Letter.Status.SENT).order_by("-sent_at"))


def parent_letter_get(*, user: User, letter_id: int) -> Letter:
    """One letter sent to this parent, or 404 — the same answer for another family's letter."""
    with scopes_disabled():
        found = Letter.objects.filter(pk=letter_id, guardian__user=user, status=Letter.Status.SENT) \
            .select_related("pupil").first()
    if found is None:
        raise Http404("No such letter")
    return found
