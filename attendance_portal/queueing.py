"""Sending a task for work that is already a row.

Background work is written as a row in the same transaction as the action; the task only tells a worker
to do it now. If the broker cannot be reached, the action must still succeed: the row waits and its
sweeper sends the task again. Every such send goes through `task_send`.
"""
from __future__ import annotations

import logging
from typing import Any

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def task_send(task: Any, *, queue: str | None = None, **kwargs: Any) -> bool:
    """Send `task` with keyword arguments; False, with a warning, when the broker is down."""
    options: dict[str, Any] = {"queue": queue} if queue else {}
    try:
        task.apply_async(kwargs=kwargs, **options)
    except OperationalError as exc:
        logger.warning("%s %s left for its sweeper: the task queue cannot be reached (%s)", task.name, kwargs, exc)
        return False
    return True
