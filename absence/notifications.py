"""Messages to parents through a pluggable sender.

A message is first stored as a `SentMessage` row in the caller's transaction and handed to the sender
only after that transaction commits, so a rolled-back action never tells a parent something that did
not happen. Email goes through Django's email backend. SMS is an interface: the default backend only
logs; a real gateway is a class with the same `send` method named in `settings.ABSENCE_SMS_BACKEND`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from accounts.tokens import marks_expand
from attendance_portal.models import School
from registers.models import Guardian, Pupil

from .models import SentMessage

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> None:
        """Deliver one text message; raise on failure."""


class LoggingSmsBackend:
    """Writes the text to the log instead of sending it (development, and schools without a gateway)."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", to, body)


def sms_backend() -> SmsBackend:
    path = getattr(settings, "ABSENCE_SMS_BACKEND", "absence.notifications.LoggingSmsBackend")
    return import_string(path)()


def message_queue(
    *,
    school: School,
    kind: str,
    to: str,
    body: str,
    subject: str = "",
    channel: str = SentMessage.Channel.EMAIL,
    pupil: Pupil | None = None,
    guardian: Guardian | None = None,
    about_date: object = None,
) -> SentMessage:
    """Store the message now; deliver it when the surrounding transaction commits."""
    message = SentMessage.objects.create(
        school=school, kind=kind, to=to, body=body, subject=subject[:200], channel=channel,
        pupil=pupil, guardian=guardian, about_date=about_date,
    )
    transaction.on_commit(lambda: message_deliver(message_id=message.pk))
    return message


def message_deliver(*, message_id: int) -> None:
    """Send one stored message and record the outcome. Safe to call again: a sent message is left alone."""
    with scopes_disabled():  # runs after the request's scope has closed; the row names its school
        message = SentMessage.objects.filter(pk=message_id, status=SentMessage.Status.QUEUED).first()
        if message is None:
            return
        try:
            if message.channel == SentMessage.Channel.SMS:
                sms_backend().send(to=message.to, body=marks_expand(message.body))
            else:
                send_mail(message.subject, marks_expand(message.body), None, [message.to])
        except Exception as exc:  # a failed delivery is recorded, not raised into the user's request
            logger.warning("message %s failed: %s", message_id, exc)
            SentMessage.objects.filter(pk=message_id).update(status=SentMessage.Status.FAILED, error=str(exc)[:300])
            return
        SentMessage.objects.filter(pk=message_id, status=SentMessage.Status.QUEUED).update(
            status=SentMessage.Status.SENT, sent_at=timezone.now()
        )


def parents_notify(
    *, school: School, pupil: Pupil, kind: str, subject: str, body: str, text: str = "",
    about_date: object = None, only_first: bool = False,
) -> list[SentMessage]:
    """Tell the pupil's contacts with parental responsibility, by email and (when `text`) by SMS."""
    contacts = [c for c in pupil.contacts.select_related("guardian").order_by("priority")
                if c.parental_responsibility]
    if only_first:
        contacts = contacts[:1]
    sent = []
    for contact in contacts:
        g = contact.guardian
        if g.email:
            sent.append(message_queue(school=school, kind=kind, to=g.email, subject=subject, body=body,
                                      pupil=pupil, guardian=g, about_date=about_date))
        if text and g.phone:
            sent.append(message_queue(school=school, kind=kind, to=g.phone, body=text,
                                      channel=SentMessage.Channel.SMS, pupil=pupil, guardian=g,
                                      about_date=about_date))
    return sent
