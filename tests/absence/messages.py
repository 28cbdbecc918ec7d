"""Sending waiting family messages in a test as a worker would: the real task, one message at a time."""

from __future__ import annotations

from django_scopes import scopes_disabled

from absence import tasks
from absence.models import SentMessage


def messages_deliver() -> int:
    """Run the send task for every message waiting to be sent; how many there were."""
    with scopes_disabled():
        waiting = list(SentMessage.objects.filter(status=SentMessage.Status.QUEUED).order_by("pk")
                       .values_list("school_id", "pk"))
    for school_id, message_id in waiting:
        tasks.message_send.apply(kwargs={"school_id": school_id, "message_id": message_id}, throw=True)
    return len(waiting)
