"""Letter pages (/s/<school>/letters/...). The middleware has opened the school's scope.

Every lookup is filtered by `request.school`, so another school's letter, batch or pupil is a 404.
Reading letters needs "send_letters"; editing templates needs "edit_letter_templates" (the senior
attendance champion and the headteacher). Writes go through `letters.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from attendance_portal import csvsafe
from attendance_portal.http import SchoolRequest
from attendance_portal.models import School, User
from attendance_portal.permissions import can, requires
from registers.models import Pupil, PupilContact

from . import merge, selectors, services
from .forms import LANGUAGES, KindForm, LogFilterForm, PickForm, PreviewForm, TemplateForm
from .models import Letter, LetterBatch, LetterKind
from .rendering import letter_html
from .templating import MERGE_FIELDS, TemplateRefused, empty_fields, template_check

SEND = "send_letters"
EDIT = "edit_letter_templates"


def _pdf(name: str, filename: str) -> FileResponse:
    if not name or not default_storage.exists(name):
        raise Http404("No file")
    return FileResponse(default_storage.open(name, "rb"), content_type="application/pdf", filename=filename)


# ---------------------------------------------------------------- the letter log


def _approvers(school: School) -> list[tuple[int, str]]:
    ids = Letter.objects.filter(school=school).values_list("approved_by_id", flat=True).distinct()
    return [(u.pk, u.display_name()) for u in User.objects.filter(pk__in=list(ids)).order_by("last_name")]


def _log_filter(request: SchoolRequest, school: School) -> tuple[LogFilterForm, selectors.LogFilter]:
    form = LogFilterForm(request.GET or None, approvers=_approvers(school))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, selectors.LogFilter(kind=data["kind"], status=data["status"], channel=data["channel"],
                                         approver=data["approver"], date_from=data["date_from"],
                                         date_to=data["date_to"])
    return form, selectors.LogFilter()


@requires(SEND)
@require_GET
def log(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    form, where = _log_filter(request, school)
    page = Paginator(selectors.letter_log(school=school, where=where), 50).get_page(request.GET.get("page"))
    return render(request, "letters/log.html", {"form": form, "page": page, "query": request.GET.urlencode()})


@requires(SEND)
@require_GET
def log_csv(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    form, where = _log_filter(request, school)
    if form.is_bound and not form.is_valid():
        return HttpResponse("; ".join(e for errors in form.errors.values() for e in errors), status=400,  # type: ignore[misc]  # an ErrorList yields its messages as strings
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="letters-{school.slug}-{timezone.localdate()}.csv"'
    writer = csvsafe.writer(response)
    writer.writerow(["Letter", "Requested", "Kind", "Pupil", "Recipient", "Status", "Approved by", "Sent",
                     "Channels", "Sessions", "Evidence changed", "SHA-256"])
    for letter in selectors.letter_log(school=school, where=where).iterator(chunk_size=500):
        channels = ", ".join(s.channel for s in letter.sends.all() if s.ok)
        writer.writerow([
            letter.pk, timezone.localtime(letter.created_at).strftime("%Y-%m-%d %H:%M"), letter.get_kind_display(),
            letter.merge_data.get("pupil", {}).get("name", ""), letter.recipient_name, letter.get_status_display(),
            letter.approved_by.display_name(),
            timezone.localtime(letter.sent_at).strftime("%Y-%m-%d %H:%M") if letter.sent_at else "", channels,
            len(letter.sessions), "yes" if letter.evidence_changed_at else "", letter.pdf_sha256])
    return response


@requires(SEND)
@require_GET
def letter_detail(request: SchoolRequest, school_slug: str, letter_id: int) -> HttpResponse:
    school = request.school
    letter = selectors.letter_get(school=school, letter_id=letter_id)
    return render(request, "letters/letter.html", {"letter": letter, "sends": letter.sends.select_related(
        "approved_by").all()})


@requires(SEND)
@require_GET
def letter_pdf(request: SchoolRequest, school_slug: str, letter_id: int) -> FileResponse:
    school = request.school
    letter = selectors.letter_get(school=school, letter_id=letter_id)
    return _pdf(letter.pdf, f"letter-{letter.pk}.pdf")


@requires(SEND)
@require_POST
def letter_regenerate(request: SchoolRequest, school_slug: str, letter_id: int) -> HttpResponse:
    school = request.school
    letter = selectors.letter_get(school=school, letter_id=letter_id)
    try:
        [fresh, *_] = services.letter_regenerate(letter=letter, by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("letters:letter", school_slug, letter.pk)
    messages.success(request, "A new letter is being made from today's register; the old one is cancelled.")
    return redirect("letters:letter", school_slug, fresh.pk)


@requires(SEND)
@require_POST
def letter_reapprove(request: SchoolRequest, school_slug: str, letter_id: int) -> HttpResponse:
    school = request.school
    letter = selectors.letter_get(school=school, letter_id=letter_id)
    try:
        services.letter_reapprove(letter=letter, by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Approved again: the letter will be sent as it is.")
    return redirect("letters:letter", school_slug, letter.pk)


# ---------------------------------------------------------------- templates


def _kind_language(request: SchoolRequest) -> tuple[str, str]:
    """The letter and language being edited, from ?kind=&language= (form fields on a preview)."""
    kind = request.GET.get("kind") or request.POST.get("kind", "")
    language = request.GET.get("language") or request.POST.get("language") or "en"
    if kind not in LetterKind.values or language not in LANGUAGES:
        raise Http404("No such letter")
    return kind, language


@requires(SEND)
@require_GET
def templates(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    current = {(t.kind, t.language): t for t in selectors.templates_current(school=school)}
    rows = [(kind, label, [t for (k, _), t in current.items() if k == kind]) for kind, label in LetterKind.choices]
    return render(request, "letters/templates.html", {
        "rows": rows, "can_edit": can(request.user, EDIT, school), "languages": LANGUAGES})


def _preview_pupils(school: School) -> list[Pupil]:
    with_parents = PupilContact.objects.filter(school=school, parental_responsibility=True).values("pupil_id")
    return list(Pupil.objects.filter(school=school, pk__in=with_parents).order_by("surname", "forename")[:300])


@requires(EDIT)
@require_http_methods(["GET", "POST"])
def template_edit(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    kind, language = _kind_language(request)
    versions = list(selectors.template_versions(school=school, kind=kind, language=language)[:20])
    current = versions[0] if versions else selectors.template_for(school=school, kind=kind, language="en")
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                saved = services.template_save(school=school, kind=kind, language=language,
                                               by=request.user, **form.cleaned_data)
            except TemplateRefused as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"Saved as version {saved.version}. Letters already made keep the "
                                          "version they were made from.")
                return redirect(f"{request.path}?kind={kind}&language={language}")
        status = 400
    else:
        form = TemplateForm(initial={"subject": current.subject, "body": current.body,
                                     "reply_slip": current.reply_slip} if current else None)
        status = 200
    return render(request, "letters/template_edit.html", {
        "form": form, "kind": kind, "kind_label": LetterKind(kind).label, "language": language,
        "language_label": LANGUAGES[language], "versions": versions, "fields": MERGE_FIELDS,
        "pupils": _preview_pupils(school)}, status=status)


@requires(EDIT)
@require_POST
def template_preview(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """The letter as it would read for a real pupil's first parent: nothing is written."""
    school = request.school
    _kind_language(request)
    form = PreviewForm(request.POST)
    context: dict[str, Any] = {"errors": [], "warnings": [], "html": ""}
    if not form.is_valid():
        context["errors"] = [e for errors in form.errors.values() for e in errors]
        return render(request, "letters/_preview.html", context)
    data = form.cleaned_data
    try:
        used = template_check(data["body"]) | template_check(data["subject"])
    except TemplateRefused as exc:
        context["errors"] = exc.messages
        return render(request, "letters/_preview.html", context)
    pupil = Pupil.objects.filter(school=school, pk=data["pupil"]).select_related("registration_group").first() \
        if data["pupil"] else None
    if pupil is None:
        context["errors"] = ["Choose a pupil to see the letter as it would read."]
        return render(request, "letters/_preview.html", context)
    contact = PupilContact.objects.filter(school=school, pupil=pupil, parental_responsibility=True) \
        .select_related("guardian").order_by("priority").first()
    guardian = contact.guardian if contact else None
    on = timezone.localdate()
    shared = merge.shared_for(school=school, on=on)
    figures = merge.pupil_figures(school=school, pupil_ids=[pupil.pk], period=shared.period, calendar=shared.calendar)
    start = shared.period.start if shared.period else on
    sessions = selectors.absence_sessions(school=school, pupil_ids=[pupil.pk], start=start, end=on)[pupil.pk]
    merge_data = merge.merge_data_build(
        shared=shared, pupil=pupil, guardian=guardian, figures=figures.get(pupil.pk), sessions=sessions, extra={},
        officer=request.user)
    try:
        context["html"] = letter_html(subject=data["subject"], body=data["body"], data=merge_data,
                                      reply_slip=data["reply_slip"], page=False)
    except TemplateRefused as exc:
        context["errors"] = exc.messages
    context["warnings"] = empty_fields(used, merge_data)
    context["recipient"] = guardian
    return render(request, "letters/_preview.html", context)


# ---------------------------------------------------------------- batches


@requires(SEND)
@require_GET
def batches(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    return render(request, "letters/batches.html", {
        "batches": selectors.batches_recent(school=school), "kinds": LetterKind.choices})


def _threshold(school: School, on: dt.date) -> float:
    from registers.selectors import policy_for

    return float(policy_for(school=school, day=on).letter_threshold_percent)


@requires(SEND)
@require_GET
def batch_new(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """Pick pupils: the queue (below the school's letter threshold) or, with ?all=1, every pupil."""
    school = request.school
    kind_form = KindForm(request.GET or {"kind": LetterKind.STAGE_1})
    if not kind_form.is_valid():
        return render(request, "letters/batch_new.html", {"kind_form": kind_form, "rows": []}, status=400)
    on = timezone.localdate()
    everyone = request.GET.get("all") == "1"
    threshold = _threshold(school, on)
    rows = selectors.candidates(school=school, pupil_ids=None, on=on, below=101.0 if everyone else threshold,
                                sensitive=can(request.user, "view_sensitive", school))
    return render(request, "letters/batch_new.html", {
        "kind_form": kind_form, "kind": kind_form.cleaned_data["kind"], "rows": rows, "everyone": everyone,
        "threshold": threshold})


def _picked(request: SchoolRequest, school: School) -> PickForm:
    ids = [int(v) for v in request.POST.getlist("pupils") if v.isdigit()]
    known = list(Pupil.objects.filter(school=school, pk__in=ids).values_list("pk", flat=True))
    return PickForm(request.POST, pupil_ids=known)


@requires(SEND)
@require_POST
def batch_review(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """The pupils chosen, with what the officer should know; those with reasons to look again apart."""
    school = request.school
    form = _picked(request, school)
    if not form.is_valid():
        return render(request, "letters/batch_review.html", {"form": form, "ready": [], "held": []}, status=400)
    rows = selectors.candidates(school=school, pupil_ids=form.cleaned_data["pupils"], on=timezone.localdate(),
                                sensitive=can(request.user, "view_sensitive", school))
    kind = form.cleaned_data["kind"]
    template = selectors.template_for(school=school, kind=kind)
    return render(request, "letters/batch_review.html", {
        "form": form, "kind": kind, "kind_label": LetterKind(kind).label, "template": template,
        "ready": [r for r in rows if not r.held], "held": [r for r in rows if r.held]})


@requires(SEND)
@require_POST
def batch_approve(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    form = _picked(request, school)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)  # type: ignore[arg-type]  # an ErrorList yields its messages as strings
        return redirect("letters:batch_new", school_slug)
    try:
        batch = services.batch_approve(school=school, kind=form.cleaned_data["kind"],
                                       pupil_ids=form.cleaned_data["pupils"], by=request.user)
    except ValueError as exc:
        messages.error(request, f"Nothing was sent: {exc}")
        return redirect("letters:batch_new", school_slug)
    count = Letter.objects.filter(school=school, batch=batch).count()
    messages.success(request, f"Approved: {count} letters are being made and sent.")
    return redirect("letters:batch", school_slug, batch.pk)


def _batch(school: School, batch_id: int) -> LetterBatch:
    return get_object_or_404(LetterBatch.objects.select_related("approved_by"), school=school, pk=batch_id)


def _batch_context(batch: LetterBatch) -> dict[str, Any]:
    letters = list(Letter.objects.filter(school_id=batch.school_id, batch=batch).select_related("pupil")
                   .prefetch_related("sends").order_by("envelope_order"))
    return {"batch": batch, "progress": selectors.batch_progress(batch=batch), "letters": letters}


@requires(SEND)
@require_GET
def batch_detail(request: SchoolRequest, school_slug: str, batch_id: int) -> HttpResponse:
    school = request.school
    return render(request, "letters/batch.html", _batch_context(_batch(school, batch_id)))


@requires(SEND)
@require_GET
def batch_progress(request: SchoolRequest, school_slug: str, batch_id: int) -> HttpResponse:
    """The progress fragment htmx polls; it stops polling once the batch is done."""
    school = request.school
    return render(request, "letters/_progress.html", _batch_context(_batch(school, batch_id)))


@requires(SEND)
@require_GET
def batch_print(request: SchoolRequest, school_slug: str, batch_id: int) -> FileResponse:
    school = request.school
    batch = _batch(school, batch_id)
    return _pdf(batch.print_file, f"print-{batch.pk}.pdf")
