"""Reads for penalty notices and the national framework."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from attendance_portal.models import School
from reporting.casework import Figure
from reporting.effect import Action

from .models import NationalFramework, NoticeKind, NoticeStatus, NoticeToImprove, PenaltyNotice


def framework_on(day: dt.date, kind: str = NoticeKind.ATTENDANCE) -> NationalFramework | None:
    """The framework row of `kind` in force on `day` (None before the first)."""
    return (NationalFramework.objects.filter(kind=kind, effective_from__lte=day)
            .order_by("-effective_from").first())


def parent_key_make(forename: str, surname: str) -> str:
    """The key that matches one parent across schools: forename and surname folded to plain lower-case
    letters and digits ("Mary-Jane O'Néill" and "mary jane oneill" are one key).

    The key leaves out the address: a parent who moves house is still the same parent for the limit, and a
    new school may not hold the old address. So two different parents with the same name and a child with
    the same UPN would share a ledger, which for one child is rare enough to accept and is checked by the
    officer issuing the notice (the evidence pack gives each parent's address).
    """
    def fold(part: str) -> str:
        plain = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]", "", plain.lower())

    return f"{fold(forename)}|{fold(surname)}"


def upn_normal(upn: str) -> str:
    return re.sub(r"\s", "", upn).upper()


def years_before(day: dt.date, years: int) -> dt.date:
    """The first day of the `years`-year window that ends on `day`.

    The reading of "within 3 years of the first notice": the period runs from the day after the first
    notice to the end of its anniversary (the corresponding-date rule used for statutory periods, and the
    same reading as "paid within 21 days" including the 21st day). So a notice issued on 1 Sep 2024 still
    counts for a notice issued on 1 Sep 2027 and no longer for one issued on 2 Sep 2027. A first notice
    on 29 Feb has its anniversary on 28 Feb, so a window ending on 29 Feb starts on 1 Mar.
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, and no 29 February `years` earlier
        return dt.date(day.year - years, 3, 1)


def notices_counted(*, child_upn: str, parent_key: str, on: dt.date, years: int) -> QuerySet[PenaltyNotice]:
    """The notices that count toward the limit for a notice issued on `on`: this parent's notices for this
    child, from every school and local authority, issued in the window ending on `on`, of a kind that counts
    (s444A), unpaid, paid or prosecuted but not withdrawn."""
    return PenaltyNotice.objects.filter(
        child_upn=upn_normal(child_upn), parent_key=parent_key, framework__counts_toward_limit=True,
        issued_on__gte=years_before(on, years), issued_on__lte=on,
    ).exclude(status=NoticeStatus.WITHDRAWN)


@dataclass(frozen=True)
class Ledger:
    framework: NationalFramework | None  # the attendance framework in force on the day
    window_start: dt.date | None  # None when that framework sets no limit
    notices: list[PenaltyNotice]  # every notice to this parent for this child in the window, withdrawn too
    counted: list[PenaltyNotice]  # those that count toward the limit
    remaining: int | None  # how many more may be issued on the day; None: no national limit

    @property
    def may_issue(self) -> bool:
        return self.framework is not None and (self.remaining is None or self.remaining > 0)


def ledger_for(child_upn: str, parent_key: str, on: dt.date) -> Ledger:
    """One parent's notices for one child as they stand on `on`, and how many more may be issued that day."""
    framework = framework_on(on, NoticeKind.ATTENDANCE)
    upn = upn_normal(child_upn)
    years = framework.repeat_years if framework else None
    if framework is None or not years or framework.most_notices is None:
        notices = list(PenaltyNotice.objects.filter(child_upn=upn, parent_key=parent_key, issued_on__lte=on))
        return Ledger(framework=framework, window_start=None, notices=notices, counted=[], remaining=None)
    start = years_before(on, years)
    notices = list(PenaltyNotice.objects.filter(child_upn=upn, parent_key=parent_key,
                                                issued_on__gte=start, issued_on__lte=on))
    counted = list(notices_counted(child_upn=upn, parent_key=parent_key, on=on, years=years))
    return Ledger(framework=framework, window_start=start, notices=notices, counted=counted,
                  remaining=max(framework.most_notices - len(counted), 0))


def amount_due(notice: PenaltyNotice, day: dt.date) -> tuple[int, str] | None:
    """What paying `notice` on `day` costs, as issued (pence, and which amount), or None when `day` is
    outside its payment periods (before issue or after the last deadline)."""
    if day < notice.issued_on or day > notice.full_due_on:
        return None
    if notice.lower_pence is not None and notice.lower_due_on is not None and day <= notice.lower_due_on:
        return notice.lower_pence, f"the lower amount, due by {notice.lower_due_on:%-d %B %Y}"
    return notice.full_pence, f"the full amount, due by {notice.full_due_on:%-d %B %Y}"


PENALTY_COUNTS_SQL = """
    SELECT 'notices_to_improve', n.school_id, count(*) FROM penalties_noticetoimprove n
     WHERE n.school_id = ANY(%(schools)s) AND n.issued_on BETWEEN %(start)s AND %(end)s GROUP BY n.school_id
    UNION ALL
    SELECT 'referrals', r.school_id, count(*) FROM penalties_referral r
     WHERE r.school_id = ANY(%(schools)s) AND r.submitted_at >= %(from)s AND r.submitted_at < %(to)s
     GROUP BY r.school_id
    UNION ALL
    SELECT 'penalty_notices', p.school_id, count(*) FROM penalties_penaltynotice p
     WHERE p.school_id = ANY(%(schools)s) AND p.issued_on BETWEEN %(start)s AND %(end)s GROUP BY p.school_id"""

PENALTY_FIGURES = {"notices_to_improve": "Notices to improve issued",
                   "referrals": "Referred to the local authority for a penalty notice",
                   "penalty_notices": "Penalty notices issued"}


def penalty_counts(*, school_ids: list[int], start: dt.date, end: dt.date) -> list[Figure]:
    """Notices to improve issued, referrals submitted to the local authority and penalty notices issued from
    them in the period, per school, in one statement over all `school_ids` (counts only)."""
    zone = timezone.get_current_timezone()
    params: dict[str, Any] = {"schools": school_ids, "start": start, "end": end,
              "from": dt.datetime.combine(start, dt.time.min, zone),
              "to": dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, zone)}
    with connection.cursor() as cursor:
        cursor.execute(PENALTY_COUNTS_SQL, params)
        rows = cursor.fetchall()
    counts: dict[str, dict[int, int]] = {key: {} for key in PENALTY_FIGURES}
    for key, school_id, n in rows:
        counts[key][school_id] = n
    return [Figure("actions", key, label, counts[key]) for key, label in PENALTY_FIGURES.items()]


def notice_to_improve_actions(*, school: School, start: dt.date, end: dt.date) -> list[Action]:
    """Notices to improve issued in the period, as actions (for the governors' before-and-after table)."""
    issued = NoticeToImprove.objects.filter(school=school, issued_on__gte=start, issued_on__lte=end)
    return [Action("notice_to_improve", PENALTY_FIGURES["notices_to_improve"], pupil_id, day)
            for pupil_id, day in issued.values_list("pupil_id", "issued_on")]
