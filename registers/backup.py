"""What a restore must reproduce exactly: each school's register (`export_marks`) and its amendment trail.

`register_digests` gives one line per school: the SHA-256 of its marks as `export_marks` writes them, and of
every event in its audit table (each mark's versions with who, why, when and from which source). Run on the
source and on the restored copy, the two lists are identical or the restore lost something
(`manage.py restore_check`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass

from django_scopes import scope

from attendance_portal.models import School

from .exports import marks_export_csv
from .models import MarkEvent

EVER = (dt.date(1900, 1, 1), dt.date(2999, 12, 31))


@dataclass(frozen=True)
class SchoolDigest:
    slug: str
    marks: int
    marks_sha256: str
    events: int
    events_sha256: str

    def line(self) -> str:
        return f"{self.slug} marks={self.marks} {self.marks_sha256} events={self.events} {self.events_sha256}"


def register_digest(*, school: School) -> SchoolDigest:
    with scope(school=school):
        out = io.StringIO()
        marks = marks_export_csv(school=school, start=EVER[0], end=EVER[1], out=out)
        trail = hashlib.sha256()
        events = 0
        rows = (MarkEvent.objects.filter(school=school).order_by("pgh_id")
                .values_list("pgh_id", "pgh_obj_id", "pgh_label", "pgh_created_at", "pgh_context",
                             "pupil_id", "date", "session", "code", "minutes_late", "note", "version"))
        for row in rows.iterator(chunk_size=5000):
            trail.update(json.dumps(row, default=str, sort_keys=True).encode())
            trail.update(b"\n")
            events += 1
    return SchoolDigest(school.slug, marks, hashlib.sha256(out.getvalue().encode()).hexdigest(), events,
                        trail.hexdigest())


def register_digests() -> list[SchoolDigest]:
    return [register_digest(school=school) for school in School.objects.order_by("slug")]
