"""Background jobs for absence follow-up and family messages. Thin: each calls a service.

All are idempotent (a pupil's family is told once a day; one medical-evidence request per run of
illness; a message is claimed before it is sent), so a redelivered task does no harm.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask, schools_fan_out
from registers import codes
from registers.models import Mark

from . import notifications, services


@shared_task(base=SchoolTask, bind=True, acks_late=True)
def unexplained_notify(self: Any, *, school: School) -> dict[str, int]:
    """Run after a register closes: message families of pupils still unexplained."""
    result = services.unexplained_notify(school=school)
    return {"pupils": result.pupils, "messages": result.messages}


@shared_task(base=SchoolTask, bind=True, acks_late=True)
def medical_evidence_sweep(self: Any, *, school: School) -> int:
    """Nightly: raise medical-evidence requests for pupils whose illness reached the school's limit today."""
    today = timezone.localdate()
    raised = 0
    # Only pupils ill today can have a run ending today: the work follows the day's marks, not the roll.
    ill_today = Mark.objects.filter(school=school, date=today, code=codes.ILLNESS).select_related("pupil")
    seen: set[int] = set()
    for mark in ill_today:
        if mark.pupil_id in seen:
            continue
        seen.add(mark.pupil_id)
        if services.medical_evidence_check(pupil=mark.pupil, by=None, today=today) is not None:
            raised += 1
    return raised


# Retries are counted on the row (MESSAGES_MAX_ATTEMPTS), not by Celery.
@shared_task(base=SchoolTask, bind=True, acks_late=True, max_retries=None, name="absence.message_send")
def message_send(self: Any, *, school: School, message_id: int) -> bool:
    """Send one family message; a transient failure comes back after the back-off the service chose."""
    result = notifications.message_send(school_id=school.pk, message_id=message_id)
    if result.retry_in is not None:
        # The row is back in the queue with its due time, so if this retry is lost the sweeper sends it.
        raise self.retry(countdown=result.retry_in)
    return result.sent


@shared_task(acks_late=True, name="absence.messages_sweep")
def messages_sweep() -> int:
    """Beat: re-send tasks for messages a Redis outage or a dead worker left waiting."""
    return notifications.messages_sweep()


@shared_task(name="absence.fan_out", acks_late=True)
def fan_out(task_name: str) -> int:
    """Beat entry point: one task per school, so each runs in its own scope and can fail alone."""
    task = {"unexplained_notify": unexplained_notify, "medical_evidence_sweep": medical_evidence_sweep}[task_name]
    return schools_fan_out(task)
