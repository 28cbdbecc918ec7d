"""Letter tasks. Thin: each calls a service in the school's scope; every one is safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask

from . import services


@shared_task(base=SchoolTask, bind=True, acks_late=True, name="letters.process")
def letter_process(self: Any, *, school: School, letter_id: int) -> None:
    services.letter_process(letter_id=letter_id)


@shared_task(base=SchoolTask, bind=True, acks_late=True, name="letters.batch_finish")
def batch_finish_task(self: Any, *, school: School, batch_id: int) -> bool:
    return services.batch_finish(batch_id=batch_id)


@shared_task(acks_late=True, name="letters.sweep")
def letters_sweep() -> int:
    return services.letters_sweep()
