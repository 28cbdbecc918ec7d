"""Writes for letters: templates, requesting letters, rendering, sending and print files.

How another app asks for a letter (casework, leave decisions, …)::

    from letters.services import letter_request

    letters = letter_request(
        school=school, pupil=pupil, kind=LetterKind.STAGE_3,   # or the plain string "stage_3"
        by=request.user,                  # who asked (a User)
        approved_by=request.user,         # the person who approved it: required, never None
        recipients=None,                  # None: each parent with parental responsibility, one letter each;
                                          #   or a list of registers.models.Guardian of this pupil
        sessions=[(date, "AM", "O"), …],  # the sessions behind it, as they are now (frozen on the letter)
        extra={"meeting": {"date": date, "time": "9.15am", "place": "Main office", "with": "Mrs Patel"},
               "deadline": date},         # only the keys in letters.merge.EXTRA_FIELDS; ValueError otherwise
        case_ref="case:42",               # free text naming what asked for it (shown in the log)
        on=None,                          # the letter's date; default today (Europe/London)
    )

It runs inside the caller's transaction (call it in the view's atomic request or your own
`transaction.atomic()`): it writes one `Letter` per recipient, its `LetterSession` rows and a
`LetterBatch` holding them, and only when that transaction commits is rendering enqueued. It raises
`ValueError` (clear message, nothing written) when the pupil has no parent with parental responsibility
on record, the school has no template of that kind, or `sessions` / `extra` are malformed. Each letter
then goes QUEUED → RENDERING (claimed by compare-and-set) → RENDERED (PDF stored with its SHA-256,
never rewritten) → SENT (portal always; e-mail with the PDF where the school holds a current address,
falling back to post if the e-mail fails; post otherwise), with one `LetterSend` row per channel. A
letter whose sessions are amended before it is sent becomes STALE (a database trigger) and is not sent
until it is regenerated (`letter_regenerate`) or approved again (`letter_reapprove`); a sent one gets
`evidence_changed_at`. Read letters back with `letters.selectors`: `letters_for_case(school=, case_ref=)` for a
case timeline (each letter's `sessions` are the sessions behind it as they were), `letters_for_pupil`,
`letter_get`. A staff page for one letter is `reverse("letters:letter", args=[school.slug, letter.pk])`.
Several pupils at once: `letters_create(school=, kind=, items=[LetterItem(...)], by=, approved_by=)`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from attendance_portal.queueing import task_send
from registers.models import Guardian, Pupil, PupilContact

from . import merge
from .models import Letter, LetterBatch, LetterKind, LetterSend, LetterSession, LetterTemplate, RecipientDetails
from .rendering import pdf_render, pdfs_merge
from .selectors import template_for
from .templating import TemplateRefused, empty_fields, template_check

log = logging.getLogger(__name__)

TERMINAL = (Letter.Status.SENT, Letter.Status.FAILED, Letter.Status.CANCELLED, Letter.Status.STALE)
MAX_ATTEMPTS = 3


def lease() -> dt.timedelta:
    """How long a claim holds before another worker may take the letter over (a killed worker's)."""
    return dt.timedelta(seconds=getattr(settings, "LETTERS_LEASE_SECONDS", 300))


# ---------------------------------------------------------------- templates


def template_save(*, school: School, kind: str, language: str = "en", subject: str, body: str,
                  reply_slip: bool = False, by: User | None) -> LetterTemplate:
    """Save a new version of a template. Raises TemplateRefused listing every problem; nothing is written."""
    if kind not in LetterKind.values:
        raise TemplateRefused([f"'{kind}' is not a kind of letter."])
    if not subject.strip() or not body.strip():
        raise TemplateRefused(["A letter needs a subject and some text."])
    problems: list[str] = []
    for label, source in (("Subject", subject), ("Letter", body)):
        try:
            template_check(source)
        except TemplateRefused as exc:
            problems += [f"{label}: {m}" for m in exc.messages]
    if problems:
        raise TemplateRefused(problems)
    latest = (LetterTemplate.objects.select_for_update().filter(school=school, kind=kind, language=language)
              .order_by("-version").first())
    return LetterTemplate.objects.create(
        school=school, kind=kind, language=language, version=(latest.version + 1) if latest else 1,
        subject=subject.strip(), body=body.replace("\r\n", "\n").strip() + "\n", reply_slip=reply_slip,
        created_by=by)


# ---------------------------------------------------------------- requesting


@dataclass(frozen=True)
class LetterItem:
    """One pupil's part of a request."""

    pupil: Pupil
    sessions: Sequence[Sequence[Any]] = ()
    extra: dict[str, Any] | None = None
    recipients: Sequence[Guardian] | None = None
    case_ref: str = ""


def _recipients(school: School, pupil_ids: list[int]) -> dict[int, list[Guardian]]:
    found: dict[int, list[Guardian]] = {pk: [] for pk in pupil_ids}
    contacts = (PupilContact.objects.filter(school=school, pupil_id__in=pupil_ids, parental_responsibility=True)
                .select_related("guardian").order_by("pupil_id", "priority", "pk"))
    for contact in contacts:
        found[contact.pupil_id].append(contact.guardian)
    return found


def letters_create(*, school: School, kind: str, items: Sequence[LetterItem], by: User, approved_by: User,
                   on: dt.date | None = None) -> LetterBatch:
    """Write the letters of one batch (one per recipient of each item) and enqueue them on commit."""
    if approved_by is None:
        raise ValueError("A letter needs the person who approved it.")
    if kind not in LetterKind.values:
        raise ValueError(f"'{kind}' is not a kind of letter.")
    if not items:
        raise ValueError("Choose at least one pupil.")
    on = on or timezone.localdate()
    pupil_ids = [item.pupil.pk for item in items]
    if any(item.pupil.school_id != school.pk for item in items):
        raise ValueError("Every pupil must be at this school.")
    defaults = _recipients(school, pupil_ids)
    plan: list[tuple[LetterItem, Guardian, list[merge.SessionRef], dict[str, Any]]] = []
    for item in items:
        recipients = list(item.recipients) if item.recipients is not None else defaults[item.pupil.pk]
        if not recipients:
            raise ValueError(f"{item.pupil.full_name} has no parent with parental responsibility on record.")
        linked = set(PupilContact.objects.filter(school=school, pupil=item.pupil).values_list("guardian_id", flat=True))
        if any(g.pk not in linked for g in recipients):
            raise ValueError(f"Every recipient must be a contact of {item.pupil.full_name}.")
        sessions = merge.sessions_check(item.sessions)
        extra = merge.extra_check(item.extra)
        plan += [(item, guardian, sessions, extra) for guardian in recipients]
    details = merge.recipient_details(school=school, guardian_ids={g.pk for _, g, _, _ in plan})
    templates: dict[str, LetterTemplate] = {}
    for _, guardian, _, _ in plan:
        language = details[guardian.pk].language if guardian.pk in details else "en"
        if language not in templates:
            found = template_for(school=school, kind=kind, language=language)
            if found is None:
                raise ValueError(f"{school.name} has no '{LetterKind(kind).label}' letter yet: add one under "
                                 "Letters › Templates.")
            templates[language] = found
    shared = merge.shared_for(school=school, on=on)
    figures = merge.pupil_figures(school=school, pupil_ids=pupil_ids, period=shared.period, calendar=shared.calendar)
    batch = LetterBatch.objects.create(school=school, kind=kind, approved_by=approved_by)
    ordered = sorted(plan, key=lambda p: (p[0].pupil.registration_group.name if p[0].pupil.registration_group
                                          else "", p[0].pupil.surname, p[0].pupil.forename, p[0].pupil.pk))
    letters: list[Letter] = []
    for order, (item, guardian, sessions, extra) in enumerate(ordered, start=1):
        detail = details.get(guardian.pk)
        template = templates[detail.language if detail else "en"]
        data = merge.merge_data_build(shared=shared, pupil=item.pupil, guardian=guardian,
                                      figures=figures.get(item.pupil.pk), sessions=sessions, extra=extra,
                                      officer=approved_by)
        letters.append(Letter(
            school=school, pupil=item.pupil, guardian=guardian, kind=kind, template=template,
            language=template.language, merge_data=data, sessions=[[d.isoformat(), s, c] for d, s, c in sessions],
            case_ref=item.case_ref[:80], batch=batch, envelope_order=order, requested_by=by,
            approved_by=approved_by, warnings=empty_fields(template_check(template.body), data)))
    Letter.objects.bulk_create(letters)
    LetterSession.objects.bulk_create([
        LetterSession(school=school, letter=letter, pupil_id=letter.pupil_id, date=dt.date.fromisoformat(d),
                      session=s, code=c) for letter in letters for d, s, c in letter.sessions])
    ids = [letter.pk for letter in letters]
    transaction.on_commit(lambda: _enqueue(school.pk, ids))
    return batch


def letter_request(*, school: School, pupil: Pupil, kind: str, by: User, approved_by: User,
                   recipients: Sequence[Guardian] | None = None, sessions: Iterable[Sequence[Any]] = (),
                   extra: dict[str, Any] | None = None, case_ref: str = "",
                   on: dt.date | None = None) -> list[Letter]:
    """Request one pupil's letter (one per recipient). See the module docstring for the contract."""
    batch = letters_create(school=school, kind=kind, by=by, approved_by=approved_by, on=on, items=[
        LetterItem(pupil=pupil, sessions=list(sessions), extra=extra, recipients=recipients, case_ref=case_ref)])
    return list(Letter.objects.filter(school=school, batch=batch).order_by("envelope_order"))


def _send_task(school_id: int, letter_id: int) -> None:
    from .tasks import letter_process

    task_send(letter_process, queue=settings.LETTERS_QUEUE, school_id=school_id, letter_id=letter_id)


def _enqueue(school_id: int, letter_ids: list[int]) -> None:
    for letter_id in letter_ids:
        _send_task(school_id, letter_id)


# ---------------------------------------------------------------- rendering


def _pdf_prefix(letter: Letter) -> str:
    return f"letters/{letter.school_id}/{letter.pk}-"


def _remove_unclaimed_files(letter: Letter, keep: str = "") -> None:
    """Files a killed worker wrote but never recorded: nothing refers to them."""
    folder, prefix = _pdf_prefix(letter).rsplit("/", 1)
    if not default_storage.exists(folder):
        return
    for name in default_storage.listdir(folder)[1]:
        path = f"{folder}/{name}"
        if name.startswith(prefix) and path != keep:
            default_storage.delete(path)


def letter_render(*, letter_id: int, now: dt.datetime | None = None) -> bool:
    """Claim a queued letter (or one whose claim ran out) by compare-and-set and make its PDF.

    True when this call made the PDF. A second worker, a redelivered message or a letter already made
    gets False and changes nothing.
    """
    now = now or timezone.now()
    token = secrets.token_hex(8)
    claimable = Q(status=Letter.Status.QUEUED) | Q(status=Letter.Status.RENDERING, claimed_at__lt=now - lease())
    claimed = Letter.objects.filter(claimable, pk=letter_id).update(
        status=Letter.Status.RENDERING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return False
    letter = Letter.objects.select_related("template").get(pk=letter_id)
    _remove_unclaimed_files(letter)
    try:
        pdf = pdf_render(subject=letter.template.subject, body=letter.template.body, data=letter.merge_data,
                         reply_slip=letter.template.reply_slip)
    except TemplateRefused as exc:
        Letter.objects.filter(pk=letter_id, claim=token, status=Letter.Status.RENDERING).update(
            status=Letter.Status.FAILED, error=str(exc)[:300])
        return False
    except Exception as exc:
        log.exception("letter %s could not be rendered", letter_id)
        give_up = letter.attempts >= MAX_ATTEMPTS
        Letter.objects.filter(pk=letter_id, claim=token, status=Letter.Status.RENDERING).update(
            status=Letter.Status.FAILED if give_up else Letter.Status.QUEUED, error=str(exc)[:300])
        return False
    name = default_storage.save(f"{_pdf_prefix(letter)}{token}.pdf", ContentFile(pdf.content))
    done = Letter.objects.filter(pk=letter_id, claim=token, status=Letter.Status.RENDERING).update(
        status=Letter.Status.RENDERED, pdf=name, pdf_sha256=pdf.sha256, pages=pdf.pages, rendered_at=timezone.now(),
        error="")
    if not done:  # taken over, or made stale by an amended session while we worked
        default_storage.delete(name)
    return bool(done)


# ---------------------------------------------------------------- sending


def _email(letter: Letter, address: str) -> EmailMessage:
    data = letter.merge_data
    school, pupil = data["school"]["name"], data["pupil"]["name"]
    body = (f"{data['parent']['salutation']},\n\nPlease find attached a letter from {school} about {pupil}. "
            "You can also read it in the parent portal, under your child.\n\n"
            f"If you have any questions, please contact the school.\n\n{school}\n")
    message = EmailMessage(subject=f"{school}: a letter about {pupil}", body=body, to=[address],
                           headers={"Message-ID": f"<letter-{letter.pk}-{letter.pdf_sha256[:12]}@attendance>"})
    with default_storage.open(letter.pdf, "rb") as handle:
        message.attach(f"letter-{letter.pk}.pdf", handle.read(), "application/pdf")
    return message


def letter_send(*, letter_id: int) -> bool:
    """Send a made letter by every channel that applies, once. True when this call sent it.

    The letter row is locked (skip locked) for the whole send, and each channel is a unique
    `LetterSend` row written in the same transaction as the status change, so a retry, a redelivered
    message or a second worker finds it sent, or finds it locked and leaves it.
    """
    with transaction.atomic():
        letter = (Letter.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("guardian").filter(pk=letter_id, status=Letter.Status.RENDERED).first())
        if letter is None:
            return False
        now = timezone.now()
        done = set(LetterSend.objects.filter(school_id=letter.school_id, letter=letter)
                   .values_list("channel", flat=True))
        guardian = letter.guardian
        detail = RecipientDetails.objects.filter(school_id=letter.school_id, guardian=guardian).first() \
            if guardian else None

        def record(channel: str, to: str, ok: bool = True, error: str = "") -> None:
            if channel not in done:
                LetterSend.objects.create(school_id=letter.school_id, letter=letter, channel=channel, to=to[:300],
                                          sent_at=now, approved_by_id=letter.approved_by_id, ok=ok, error=error)
                done.add(channel)

        record(LetterSend.Channel.PORTAL, guardian.user.get_username() if guardian and guardian.user else "")
        email = guardian.email if guardian and guardian.email and (detail is None or detail.email_current) else ""
        if not email:
            record(LetterSend.Channel.POST, letter.merge_data.get("parent", {}).get("address", ""))
        Letter.objects.filter(pk=letter.pk, status=Letter.Status.RENDERED).update(
            status=Letter.Status.SENT, sent_at=now)
        if email and LetterSend.Channel.EMAIL not in done:
            # Every row is written first and the e-mail goes last, so only the commit itself stands between
            # the relay accepting it and the record of it.
            record(LetterSend.Channel.EMAIL, email)
            try:
                _email(letter, email).send()
            except Exception as exc:  # any failure of the mail relay: the letter goes by post instead
                log.warning("e-mail of letter %s failed: %s", letter.pk, exc)
                LetterSend.objects.filter(school_id=letter.school_id, letter=letter,
                                          channel=LetterSend.Channel.EMAIL).update(ok=False, error=str(exc)[:300])
                record(LetterSend.Channel.POST, letter.merge_data.get("parent", {}).get("address", ""))
    return True


def letter_process(*, letter_id: int) -> None:
    """The task body: make the letter if it is waiting, send it if made, then finish its batch if last."""
    letter_render(letter_id=letter_id)
    letter_send(letter_id=letter_id)
    batch_id = Letter.objects.filter(pk=letter_id).values_list("batch_id", flat=True).first()
    if batch_id is not None:
        batch_finish(batch_id=batch_id)


# ---------------------------------------------------------------- batches


def batch_finish(*, batch_id: int, now: dt.datetime | None = None) -> bool:
    """When every letter of the batch is settled, merge the posted ones into one print file, in envelope order."""
    now = now or timezone.now()
    if Letter.objects.filter(batch_id=batch_id).exclude(status__in=TERMINAL).exists():
        return False
    token = secrets.token_hex(8)
    claimable = Q(status=LetterBatch.Status.RUNNING) | Q(status=LetterBatch.Status.MERGING,
                                                          claimed_at__lt=now - lease())
    if not LetterBatch.objects.filter(claimable, pk=batch_id).update(
            status=LetterBatch.Status.MERGING, claim=token, claimed_at=now):
        return False
    batch = LetterBatch.objects.get(pk=batch_id)
    posted = list(Letter.objects.filter(batch=batch, status=Letter.Status.SENT, sends__channel=LetterSend.Channel.POST)
                  .order_by("envelope_order").values_list("pdf", flat=True))
    name, sha, count = "", "", 0
    if posted:
        content = pdfs_merge([default_storage.path(p) for p in posted])
        name = default_storage.save(f"letters/{batch.school_id}/print-{batch.pk}-{token}.pdf", ContentFile(content))
        import hashlib

        sha, count = hashlib.sha256(content).hexdigest(), len(posted)
    done = LetterBatch.objects.filter(pk=batch_id, claim=token, status=LetterBatch.Status.MERGING).update(
        status=LetterBatch.Status.DONE, print_file=name, print_sha256=sha, print_letters=count,
        finished_at=timezone.now())
    if not done and name:
        default_storage.delete(name)
    return bool(done)


# ---------------------------------------------------------------- stale letters


def letter_reapprove(*, letter: Letter, by: User) -> Letter:
    """Send an out-of-date letter as it is, on a person's say-so."""
    if letter.status != Letter.Status.STALE:
        raise ValueError("Only a letter that is out of date needs approving again.")
    status = Letter.Status.RENDERED if letter.pdf else Letter.Status.QUEUED
    # A batch of its own, so an earlier batch's print file is never made again with this letter in it.
    batch = LetterBatch.objects.create(school_id=letter.school_id, kind=letter.kind, approved_by=by)
    Letter.objects.filter(pk=letter.pk, status=Letter.Status.STALE).update(
        status=status, approved_by=by, claim="", claimed_at=None, batch=batch)
    school_id, letter_id = letter.school_id, letter.pk
    transaction.on_commit(lambda: _enqueue(school_id, [letter_id]))
    letter.refresh_from_db()
    return letter


def letter_regenerate(*, letter: Letter, by: User,
                      sessions_now: Callable[[Letter], Sequence[Sequence[Any]]] | None = None) -> list[Letter]:
    """Replace an out-of-date letter by a new one built from today's data; the old one is cancelled."""
    if letter.status != Letter.Status.STALE:
        raise ValueError("Only a letter that is out of date can be made again.")
    from registers.models import Mark

    if sessions_now is None:
        keys = [(dt.date.fromisoformat(d), s) for d, s, _ in letter.sessions]
        marks = Mark.objects.filter(school_id=letter.school_id, pupil_id=letter.pupil_id,
                                    date__in={d for d, _ in keys}).values_list("date", "session", "code")
        current = {(d, s): c for d, s, c in marks}
        sessions: list[Sequence[Any]] = [(d, s, current[(d, s)]) for d, s in keys if (d, s) in current]
    else:
        sessions = list(sessions_now(letter))
    Letter.objects.filter(pk=letter.pk, status=Letter.Status.STALE).update(status=Letter.Status.CANCELLED)
    extra = {k: letter.merge_data[k] for k in ("meeting", "leave") if any(letter.merge_data.get(k, {}).values())}
    if letter.merge_data.get("deadline"):
        extra["deadline"] = letter.merge_data["deadline"]
    return letter_request(school=letter.school, pupil=letter.pupil, kind=letter.kind, by=by, approved_by=by,
                          recipients=[letter.guardian] if letter.guardian else None, sessions=sessions,
                          extra=extra, case_ref=letter.case_ref)


# ---------------------------------------------------------------- sweeping


def letters_sweep(*, now: dt.datetime | None = None) -> int:
    """Re-enqueue what a lost broker message or a killed worker left behind, across every school.

    A letter is sent again to the queue only when its last task is older than the lease (and, while
    being made, its claim has run out too), so a long queue is not flooded with duplicates; a duplicate
    that does arrive finds the letter claimed or settled and does nothing.
    """
    now = now or timezone.now()
    cutoff = now - lease()
    with scopes_disabled():  # the sweeper looks across schools; each task it enqueues opens its own scope
        waiting = Letter.objects.filter(
            Q(status__in=[Letter.Status.QUEUED, Letter.Status.RENDERED])
            | Q(status=Letter.Status.RENDERING, claimed_at__lt=cutoff), enqueued_at__lt=cutoff)
        stuck = list(waiting.values_list("school_id", "pk")[:5000])
        Letter.objects.filter(pk__in=[pk for _, pk in stuck]).update(enqueued_at=now)
        batches = list(LetterBatch.objects.filter(
            Q(status=LetterBatch.Status.RUNNING, created_at__lt=cutoff)
            | Q(status=LetterBatch.Status.MERGING, claimed_at__lt=cutoff)).values_list("school_id", "pk")[:500])
    from .tasks import batch_finish_task

    for school_id, letter_id in stuck:
        _send_task(school_id, letter_id)
    for school_id, batch_id in batches:
        task_send(batch_finish_task, queue=settings.LETTERS_QUEUE, school_id=school_id, batch_id=batch_id)
    return len(stuck) + len(batches)


def batch_approve(*, school: School, kind: str, pupil_ids: Sequence[int], by: User,
                  on: dt.date | None = None) -> LetterBatch:
    """The officer approved a batch from the review screen: each pupil's absences this year are its sessions."""
    from .selectors import absence_sessions

    on = on or timezone.localdate()
    ids = list(dict.fromkeys(pupil_ids))
    pupils = {p.pk: p for p in Pupil.objects.filter(school=school, pk__in=ids).select_related("registration_group")}
    if len(pupils) != len(ids):
        raise ValueError("Some of the chosen pupils are not at this school.")
    shared = merge.shared_for(school=school, on=on)
    start = shared.period.start if shared.period else on
    sessions = absence_sessions(school=school, pupil_ids=ids, start=start, end=on)
    return letters_create(school=school, kind=kind, by=by, approved_by=by, on=on,
                          items=[LetterItem(pupil=pupils[pk], sessions=sessions[pk]) for pk in ids])
