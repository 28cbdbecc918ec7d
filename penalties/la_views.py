"""The local authority's workspace (/la/<la-code>/): the referral inbox, the notices on a referral and the
per-parent, per-child ledger. `penalties.workspace` lets in the LA's officers only and opens the scope of the
schools that referred to it; every lookup here also goes through the LA (`case_selectors.la_referrals`), so
another LA's referral, or a notice of another LA, is a 404."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from registers.models import PupilContact

from . import services
from .case_selectors import (
    la_nti_considerations,
    la_nti_waiting,
    la_overdue,
    la_referral_get,
    la_referrals,
    pack_found,
    threshold_across_settings,
)
from .forms import DeclineForm, IssueForm, NoticeToImproveForm, PayForm, ProsecuteForm, ReturnForm, WithdrawForm
from .models import Consideration, EvidencePack, NoticeToImprove, PenaltyNotice, Referral
from .pack import PACK_ITEMS
from .selectors import amount_due, ledger_for, parent_key_make
from .services import ALTERNATIVES
from .views import attempt, show_form_errors, show_refusal
from .workspace import LARequest, la_view


def _referral(request: LARequest, referral_id: int) -> Referral:
    try:
        return la_referral_get(la=request.local_authority, referral_id=referral_id)
    except Referral.DoesNotExist as error:
        raise Http404("No such referral") from error


def _to_referral(request: LARequest, referral: Referral) -> HttpResponse:
    return redirect("la:referral", request.local_authority.code, referral.pk)


@la_view
@require_GET
def inbox(request: LARequest, la_code: str) -> HttpResponse:
    la = request.local_authority
    referrals = list(la_referrals(la=la).order_by("-submitted_at"))
    return render(request, "penalties/la_inbox.html", {
        "la": la, "overdue": list(la_overdue(la=la)), "nti_waiting": la_nti_waiting(la=la),
        "waiting": [r for r in referrals if r.status == Referral.Status.SUBMITTED],
        "others": [r for r in referrals if r.status != Referral.Status.SUBMITTED],
    })


@la_view
@require_GET
def referral(request: LARequest, la_code: str, referral_id: int) -> HttpResponse:
    la = request.local_authority
    found = _referral(request, referral_id)
    today = timezone.localdate()
    notices = list(PenaltyNotice.objects.filter(referral=found))
    parents = []
    for parent in found.parents:
        contact = PupilContact.objects.filter(school_id=found.school_id, pupil_id=found.pupil_id,
                                              guardian_id=parent["guardian_id"]).select_related("guardian").first()
        key = parent_key_make(contact.guardian.forename, contact.guardian.surname) if contact else ""
        parents.append({**parent, "ledger": ledger_for(found.pupil.upn, key, today) if key else None,
                        "address": ", ".join(contact.guardian.address_lines) if contact else "",
                        "form": IssueForm(auto_id=f"issue-{parent['guardian_id']}-%s",
                                          initial={"guardian_id": parent["guardian_id"]})})
    have = pack_found(referral=found)
    packs = list(EvidencePack.objects.filter(school_id=found.school_id, referral=found))
    return render(request, "penalties/la_referral.html", {
        "la": la, "referral": found, "parents": parents, "packs": packs, "notices": notices,
        "alternatives": ALTERNATIVES,
        "due_today": {n.pk: amount_due(n, today) for n in notices},
        "pack": [(PACK_ITEMS[k], have[k]) for k in (la.pack_items or PACK_ITEMS) if k in PACK_ITEMS],
        "settings_window": threshold_across_settings(la=la, upn=found.pupil.upn, on=today),
        "return_form": ReturnForm(auto_id="return-%s"), "decline_form": DeclineForm(auto_id="decline-%s"),
        "pay_form": PayForm(auto_id="pay-%s"), "withdraw_form": WithdrawForm(auto_id="withdraw-%s"),
        "prosecute_form": ProsecuteForm(auto_id="prosecute-%s"),
    })


def _consideration(request: LARequest, consideration_id: int) -> Consideration:
    try:
        return la_nti_considerations(la=request.local_authority).get(pk=consideration_id)
    except Consideration.DoesNotExist as error:
        raise Http404("No such decision") from error


@la_view
@require_GET
def consideration(request: LARequest, la_code: str, consideration_id: int) -> HttpResponse:
    """A school's decision on a notice to improve that the LA gives: what the school decided and why, the
    parents it goes to, and the notice (once given) or the form to give it."""
    la = request.local_authority
    found = _consideration(request, consideration_id)
    notice = NoticeToImprove.objects.filter(school_id=found.school_id, consideration=found).first()
    parents = PupilContact.objects.filter(school_id=found.school_id, pupil_id=found.pupil_id,
                                          parental_responsibility=True).select_related("guardian")
    return render(request, "penalties/la_consideration.html", {
        "la": la, "c": found, "notice": notice, "parents": parents,
        "waiting": notice is None and found in la_nti_waiting(la=la),
        "form": NoticeToImproveForm(auto_id="nti-%s"),
    })


@la_view
@require_POST
def notice_to_improve(request: LARequest, la_code: str, consideration_id: int) -> HttpResponse:
    found = _consideration(request, consideration_id)
    form = NoticeToImproveForm(request.POST)
    if not form.is_valid():
        show_form_errors(request, form)
    else:
        attempt(request, lambda: services.notice_to_improve_issue(
            consideration=found, by=request.user, for_la=request.local_authority, weeks=form.cleaned_data["weeks"],
            allowed_sessions=form.cleaned_data["allowed_sessions"]),
            lambda nti: f"Notice to improve given: a letter to each parent; the period ends {nti.ends_on:%-d %B %Y}.",
            refusals=(ValidationError, PermissionDenied))
    return redirect("la:consideration", request.local_authority.code, found.pk)


def _answer(request: LARequest, referral_id: int, act: Callable[[Referral, dict[str, str]], Referral],
            done: str, form_class: Any = None) -> HttpResponse:
    """Accept, return or decline a submitted referral (the service says when it cannot be)."""
    found = _referral(request, referral_id)
    form = form_class(request.POST) if form_class else None
    if form is not None:
        form.is_valid()  # an empty reason is the service's refusal, with its own message
    attempt(request, lambda: act(found, form.cleaned_data if form is not None else {}),
            done.format(school=found.school.name))
    return _to_referral(request, found)


@la_view
@require_POST
def accept(request: LARequest, la_code: str, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, lambda r, _: services.referral_accept(referral=r, by=request.user),
                   "Referral accepted: issue the notices to the parents.")


@la_view
@require_POST
def send_back(request: LARequest, la_code: str, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, lambda r, data: services.referral_return(
        referral=r, by=request.user, missing=data.get("missing", "")),
        "Returned to {school} with what is missing.", ReturnForm)


@la_view
@require_POST
def decline(request: LARequest, la_code: str, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, lambda r, data: services.referral_decline(
        referral=r, by=request.user, reason=data.get("reason", "")), "Referral declined.", DeclineForm)


@la_view
@require_POST
def issue(request: LARequest, la_code: str, referral_id: int) -> HttpResponse:
    found = _referral(request, referral_id)
    form = IssueForm(request.POST)
    if not form.is_valid():
        show_form_errors(request, form)
        return _to_referral(request, found)
    attempt(request, lambda: services.referral_notice_issue(referral=found, by=request.user, **form.cleaned_data),
            _issued)
    return _to_referral(request, found)


def _issued(notice: PenaltyNotice) -> str:
    pounds = notice.framework.pounds
    lower = f"{pounds(notice.lower_pence)} by {notice.lower_due_on:%-d %B %Y}, " if notice.lower_pence else ""
    return (f"Notice {notice.number} issued to {notice.parent_name}: {lower}"
            f"{pounds(notice.full_pence)} by {notice.full_due_on:%-d %B %Y}.")


def _notice(request: LARequest, notice_id: int) -> PenaltyNotice:
    return get_object_or_404(PenaltyNotice, local_authority=request.local_authority.name, pk=notice_id)


def _after_notice(request: LARequest, notice: PenaltyNotice) -> HttpResponse:
    if notice.referral_id and la_referrals(la=request.local_authority).filter(pk=notice.referral_id).exists():
        return redirect("la:referral", request.local_authority.code, notice.referral_id)
    return redirect("la:inbox", request.local_authority.code)


def _on_notice(request: LARequest, notice_id: int, form_class: Any,
               act: Callable[[PenaltyNotice, dict[str, Any]], PenaltyNotice], done: str) -> HttpResponse:
    """Payment, withdrawal or prosecution of one of the LA's notices; the case closes once all are settled."""
    notice = _notice(request, notice_id)
    form = form_class(request.POST)
    if not form.is_valid():
        show_form_errors(request, form)
        return _after_notice(request, notice)
    try:
        changed = act(notice, form.cleaned_data)
        messages.success(request, done.format(number=changed.number))
        if services.referral_case_settle(notice=changed, by=request.user):
            messages.success(request, "Every notice on the referral is settled: the school's case is closed.")
    except ValidationError as error:
        show_refusal(request, error)
    return _after_notice(request, notice)


@la_view
@require_POST
def pay(request: LARequest, la_code: str, notice_id: int) -> HttpResponse:
    return _on_notice(request, notice_id, PayForm, lambda notice, data: services.penalty_notice_pay(
        notice=notice, paid_on=data["paid_on"], amount_pence=int(data["amount"] * Decimal(100)), by=request.user),
        "Payment recorded on notice {number}.")


@la_view
@require_POST
def withdraw(request: LARequest, la_code: str, notice_id: int) -> HttpResponse:
    return _on_notice(request, notice_id, WithdrawForm, lambda notice, data: services.penalty_notice_withdraw(
        notice=notice, reason=data["reason"], by=request.user),
        "Notice {number} withdrawn: it no longer counts toward the limit.")


@la_view
@require_POST
def prosecute(request: LARequest, la_code: str, notice_id: int) -> HttpResponse:
    return _on_notice(request, notice_id, ProsecuteForm, lambda notice, data: services.penalty_notice_prosecute(
        notice=notice, prosecuted_on=data["prosecuted_on"], by=request.user), "Notice {number}: prosecution recorded.")


@la_view
@require_GET
def pack_file(request: LARequest, la_code: str, referral_id: int, pack_id: int, kind: str) -> FileResponse:
    """The PDF or the ZIP of a built evidence pack, under its safe file name."""
    found = _referral(request, referral_id)
    pack = get_object_or_404(EvidencePack, school_id=found.school_id, referral=found, pk=pack_id,
                             status=EvidencePack.Status.BUILT)
    if kind not in ("pdf", "zip"):
        raise Http404("No such file")
    name = pack.pdf if kind == "pdf" else pack.zip
    return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename=f"{pack.file_stem}.{kind}",
                        content_type="application/pdf" if kind == "pdf" else "application/zip")
