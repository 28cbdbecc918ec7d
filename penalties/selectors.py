"""Reads for penalty notices and the national framework."""
from __future__ import annotations

import datetime as dt

from .models import NationalFramework, NoticeKind


def framework_on(day: dt.date, kind: str = NoticeKind.ATTENDANCE) -> NationalFramework | None:
    """The framework row of `kind` in force on `day` (None before the first)."""
    return (NationalFramework.objects.filter(kind=kind, effective_from__lte=day)
            .order_by("-effective_from").first())
