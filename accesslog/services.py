"""The one way to write the access log. Pages that show personal data call `access_record` as they show it."""

from __future__ import annotations

from attendance_portal.models import School, User
from registers.models import Pupil

from .models import AccessKind, AccessRecord


def access_record(
    *, school: School, by: User | None, kind: AccessKind, what: str, pupil: Pupil | None = None, path: str = "",
    by_name: str = "",
) -> AccessRecord:
    """Add one row to the school's access log, in the caller's transaction.

    `by` is the signed-in person; a server command passes `by=None` and says what it is in `by_name`.
    The row is written before the data leaves, so a page that fails to render still leaves its trace,
    and one that is never written cannot be shown.
    """
    if by is None and not by_name:
        raise ValueError("access_record needs the person (by) or, for a server command, by_name")
    if pupil is not None and pupil.school_id != school.pk:
        raise ValueError("the pupil belongs to another school")
    name = by_name or (by.display_name() if by is not None else "")
    return AccessRecord.objects.create(
        school=school, kind=kind, user=by, user_name=name[:200], pupil=pupil, what=what[:300], path=path[:500],
    )
