"""Messages to families: a row written with the action, sent by a task, swept if the queue lost it.

1. `message_queue` / `parents_notify` render the kind's wording from `templates/absence/messages/`
   and write a `SentMessage` row in the caller's transaction. A rolled-back action leaves no row and
   tells nobody anything.
2. When that transaction commits, a task is sent for each row (`attendance_portal.queueing.task_send`).
   If the queue cannot be reached, the action still succeeds; the row is marked for the next sweep.
3. The task (`absence.tasks.message_send`) claims the row by compare-and-set (QUEUED -> SENDING, with a
   lease) and hands it to the mail server or the SMS backend. A transient failure (the mail server
   unreachable or saying "try later") puts it back with exponential back-off, up to a number of
   attempts; anything else marks it failed with the error. Sent is recorded against the claim, so a
   redelivered task, a second worker or a sweep that raced the task sends nothing more.
4. `messages_sweep` (beat, every minute) re-sends the task for rows a Redis outage dropped and for
   claims whose worker died, and gives up on messages too old to be worth sending late.

"Once per pupil, kind, day and recipient" is a unique constraint on the table (for messages with an
`about_date`), not a look-up, so it holds when two workers or requests race.

SMS is an interface: the default backend only logs; a real gateway is a class with the same `send`
method named in `settings.ABSENCE_SMS_BACKEND`, raising `TransientSendError` for "try again later".
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from accounts.tokens import marks_expand
from attendance_portal.models import School
from attendance_portal.queueing import task_send
from registers.models import Guardian, Pupil

from .models import SentMessage

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "absence/messages"
ONCE_A_DAY = "sentmessage_once_a_day"


class TransientSendError(Exception):
    """A backend's way to say "not now, try again later" (a gateway busy or unreachable)."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> None:
        """Deliver one text message; raise on failure (`TransientSendError` when worth retrying)."""


class LoggingSmsBackend:
    """Writes the text to the log instead of sending it (development, and schools without a gateway)."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", to, body)


def sms_backend() -> SmsBackend:
    path = getattr(settings, "ABSENCE_SMS_BACKEND", "absence.notifications.LoggingSmsBackend")
    return import_string(path)()


def lease() -> dt.timedelta:
    """How long a claim holds before the sweeper may hand the message to another worker."""
    return dt.timedelta(seconds=settings.MESSAGES_LEASE_SECONDS)


def backoff(attempts: int) -> int:
    """Seconds before the next try after `attempts` transient failures: doubling, capped."""
    return min(settings.MESSAGES_RETRY_SECONDS * 2 ** max(attempts - 1, 0), settings.MESSAGES_RETRY_MAX_SECONDS)


# ---------------------------------------------------------------- wording


def _render(name: str, context: dict[str, Any]) -> str:
    # Plain text: the engine's own template, rendered without HTML escaping.
    template = get_template(f"{TEMPLATE_DIR}/{name}").template  # type: ignore[attr-defined]  # the Django engine's template wraps a django.template.Template
    text = template.render(Context(context, autoescape=False))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def message_compose(*, kind: str, context: dict[str, Any], channel: str = SentMessage.Channel.EMAIL) -> tuple[str, str]:
    """(subject, body) of a message of `kind` in the product's wording; SMS has no subject."""
    if channel == SentMessage.Channel.SMS:
        return "", _render(f"{kind}.text.txt", context)
    subject = " ".join(_render(f"{kind}.subject.txt", context).split())
    return subject[:200], _render(f"{kind}.body.txt", context) + "\n"


# ---------------------------------------------------------------- writing the row


def _address(to: str, channel: str) -> str:
    to = to.strip()
    return to.lower() if channel == SentMessage.Channel.EMAIL else to


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


def message_queue(
    *,
    school: School,
    kind: str,
    to: str,
    context: dict[str, Any],
    channel: str = SentMessage.Channel.EMAIL,
    pupil: Pupil | None = None,
    guardian: Guardian | None = None,
    about_date: dt.date | None = None,
    enqueue: bool = True,
) -> SentMessage | None:
    """Store the message in the caller's transaction; its task is sent when that transaction commits.

    None when the message has an `about_date` and that pupil's family was already sent it for that day
    at this address (the unique constraint decided, inside a savepoint, so the caller's work stands).
    """
    subject, body = message_compose(kind=kind, context=context, channel=channel)
    message = SentMessage(school=school, kind=kind, to=_address(to, channel), subject=subject, body=body,
                          channel=channel, pupil=pupil, guardian=guardian, about_date=about_date)
    if about_date is None:
        message.save()
    else:
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError as exc:
            if _constraint(exc) != ONCE_A_DAY:
                raise
            return None
    if enqueue:
        pair = [(school.pk, message.pk)]
        transaction.on_commit(lambda: messages_enqueue(pair))
    return message


def parents_notify(
    *, school: School, pupil: Pupil, kind: str, context: dict[str, Any], about_date: dt.date | None = None,
    only_first: bool = False, text: bool = False,
) -> list[SentMessage]:
    """Tell the pupil's contacts with parental responsibility by email and (when `text`) by SMS."""
    contacts = [c for c in pupil.contacts.select_related("guardian").order_by("priority")
                if c.parental_responsibility]
    if only_first:
        contacts = contacts[:1]
    made: list[SentMessage] = []
    for contact in contacts:
        g = contact.guardian
        personal = {"school": school.name, "child": pupil.forename, **context, "parent": str(g)}
        for channel, to in ((SentMessage.Channel.EMAIL, g.email), (SentMessage.Channel.SMS, g.phone if text else "")):
            if not to:
                continue
            message = message_queue(school=school, kind=kind, to=to, context=personal, channel=channel, pupil=pupil,
                                    guardian=g, about_date=about_date, enqueue=False)
            if message is not None:
                made.append(message)
    if made:
        pairs = [(school.pk, m.pk) for m in made]
        transaction.on_commit(lambda: messages_enqueue(pairs))
    return made


def messages_enqueue(messages: Sequence[tuple[int, int]]) -> int:
    """Send a task for each (school id, message id); how many went. The rest wait for the next sweep."""
    from .tasks import message_send

    for done, (school_id, message_id) in enumerate(messages):
        if not task_send(message_send, queue=settings.MESSAGES_QUEUE, school_id=school_id, message_id=message_id):
            left = [pk for _, pk in messages[done:]]
            with scopes_disabled():  # after the request's scope; the rows are named by school and id
                SentMessage.objects.filter(school_id__in={s for s, _ in messages[done:]}, pk__in=left,
                                           status=SentMessage.Status.QUEUED).update(enqueued_at=None)
            return done
    return len(messages)


# ---------------------------------------------------------------- sending (the task's body)


def _transient(exc: Exception) -> bool:
    """Worth trying again later: the mail server unreachable, gone, or answering 4xx ("try later")."""
    if isinstance(exc, TransientSendError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        return False
    return isinstance(exc, OSError)  # refused, reset, timed out, name not resolved


def _deliver(message: SentMessage) -> None:
    body = marks_expand(message.body)  # an invitation's live link exists only on its way out
    if message.channel == SentMessage.Channel.SMS:
        sms_backend().send(to=message.to, body=body)
        return
    EmailMessage(subject=message.subject, body=body, to=[message.to],
                 headers={"Message-ID": f"<family-message-{message.pk}@attendance>"}).send()


@dataclass(frozen=True)
class SendResult:
    sent: bool = False
    retry_in: int | None = None  # seconds: a transient failure, try again then


def message_send(*, school_id: int, message_id: int, now: dt.datetime | None = None) -> SendResult:
    """Claim one waiting message and send it. Safe to call any number of times: it is sent once.

    A message already sent, failed, claimed by a live worker, too old or out of attempts is left alone.
    """
    now = now or timezone.now()
    token = secrets.token_hex(8)
    claimable = Q(status=SentMessage.Status.QUEUED) | Q(status=SentMessage.Status.SENDING,
                                                        claimed_at__lt=now - lease())
    claimed = SentMessage.objects.filter(
        claimable, school_id=school_id, pk=message_id, attempts__lt=settings.MESSAGES_MAX_ATTEMPTS,
        created_at__gte=now - dt.timedelta(hours=settings.MESSAGES_SEND_WITHIN_HOURS),
    ).update(status=SentMessage.Status.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return SendResult()
    message = SentMessage.objects.get(school_id=school_id, pk=message_id)
    mine = SentMessage.objects.filter(school_id=school_id, pk=message_id, claim=token,
                                      status=SentMessage.Status.SENDING)
    try:
        _deliver(message)
    except Exception as exc:  # recorded on the row, never raised into the worker
        error = f"{exc.__class__.__name__}: {exc}"[:300]
        if _transient(exc) and message.attempts < settings.MESSAGES_MAX_ATTEMPTS:
            delay = backoff(message.attempts)
            logger.warning("message %s not sent (attempt %s), trying again in %ss: %s", message_id,
                           message.attempts, delay, error)
            mine.update(status=SentMessage.Status.QUEUED, claim="", error=error,
                        enqueued_at=now + dt.timedelta(seconds=delay))
            return SendResult(retry_in=delay)
        logger.warning("message %s failed after %s attempt(s): %s", message_id, message.attempts, error)
        mine.update(status=SentMessage.Status.FAILED, error=error)
        return SendResult()
    return SendResult(sent=bool(mine.update(status=SentMessage.Status.SENT, sent_at=timezone.now(), error="")))


def messages_sweep(*, now: dt.datetime | None = None) -> int:
    """Send the task again for messages left waiting, across every school; how many were sent.

    Waiting means: never reached the queue (the broker was down), queued longer than the lease with
    nothing sent (Redis lost the task), or claimed by a worker whose lease ran out (it died). A message
    that could not be sent within `MESSAGES_SEND_WITHIN_HOURS`, or whose worker kept dying, is marked
    failed instead: "not in school today" arriving tomorrow would mislead.
    """
    now = now or timezone.now()
    cutoff = now - lease()
    with scopes_disabled():  # the sweeper looks across schools; each task it sends opens its own scope
        waiting = SentMessage.objects.filter(
            Q(status=SentMessage.Status.QUEUED)
            | Q(status=SentMessage.Status.SENDING, claimed_at__lt=cutoff))
        hours = settings.MESSAGES_SEND_WITHIN_HOURS
        waiting.filter(created_at__lt=now - dt.timedelta(hours=hours)).update(
            status=SentMessage.Status.FAILED, error=f"Not sent within {hours} hours, so not sent late.")
        waiting.filter(attempts__gte=settings.MESSAGES_MAX_ATTEMPTS).update(
            status=SentMessage.Status.FAILED, error="Sending stopped part-way too many times; not tried again.")
        due = waiting.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff))
        stuck = list(due.order_by("created_at").values_list("school_id", "pk")[:5000])
        SentMessage.objects.filter(pk__in=[pk for _, pk in stuck]).update(enqueued_at=now)
    return messages_enqueue(stuck)
