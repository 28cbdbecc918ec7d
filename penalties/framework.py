"""The framework rows the product ships with: the National Framework and the amounts before it
(dfe-rules §4.2, §4.4 and §4.6). Written once here; the data migration and a new database load them.
A later framework is a new row with its own `effective_from`, never an edit of one below."""
from __future__ import annotations

import datetime as dt
from typing import Any

# kind, from, name, threshold sessions, window weeks, first lower (pence, days), first full (pence, days),
# second (pence, days), repeat years, most notices, counts toward the limit, notice to improve weeks, source
ROWS: list[tuple[Any, ...]] = [
    ("attendance", dt.date(2004, 2, 27), "Penalty notices, first regulations", None, None, (5000, 28), (10000, 42),
     None, None, None, True, None, "dfe-rules §4.6"),
    ("attendance", dt.date(2012, 9, 1), "Penalty notices, 2012 amounts", None, None, (6000, 28), (12000, 42),
     None, None, None, True, None, "dfe-rules §4.6"),
    ("attendance", dt.date(2013, 9, 1), "Penalty notices, 2013 amounts", None, None, (6000, 21), (12000, 28),
     None, None, None, True, None, "dfe-rules §4.6"),
    ("attendance", dt.date(2024, 8, 19), "National Framework for penalty notices (2024)", 10, 10, (8000, 21),
     (16000, 28), (16000, 28), 3, 2, True, (3, 6), "dfe-rules §4.1–§4.3"),
    ("excluded_in_public", dt.date(2024, 8, 19), "Excluded pupil in a public place (s105)", None, None, (6000, 21),
     (12000, 28), None, None, None, False, None, "dfe-rules §4.4 (amounts to verify with the local authority)"),
]


def framework_rows_ensure(model: Any = None) -> int:
    """Load the rows above that are missing (by kind and date); returns how many were added."""
    if model is None:
        from .models import NationalFramework as model
    have = set(model.objects.values_list("kind", "effective_from"))
    missing = []
    for (kind, start, name, threshold, weeks, (lower, lower_days), (full, full_days), second, years, most,
         counts, improve, source) in ROWS:
        if (kind, start) in have:
            continue
        missing.append(model(
            kind=kind, effective_from=start, name=name, threshold_sessions=threshold, window_school_weeks=weeks,
            first_lower_pence=lower, first_lower_days=lower_days, first_full_pence=full, first_full_days=full_days,
            second_pence=second[0] if second else None, second_days=second[1] if second else None,
            repeat_years=years, most_notices=most, counts_toward_limit=counts,
            notice_to_improve_min_weeks=improve[0] if improve else None,
            notice_to_improve_max_weeks=improve[1] if improve else None, source=source))
    model.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
