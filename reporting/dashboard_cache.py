"""Dashboard figures kept between requests, per school, until what they count changes.

A school's figures for one set of parameters (period masks, as-of day) are computed once by the
set-based statements of `reporting.dashboards` and kept in the cache under a key made of the statement,
its parameters and the school's *version*. The version is read from `SummaryChange`, which triggers fill
whenever a statement writes marks or changes pupils, and a full rebuild of the summaries adds to:
(number of rows, highest id) of the school's rows, so any change gives a new key and a stale figure
is never read. One statement reads every school's version, whatever the number of schools; a request
then computes, in one statement, only the schools whose figures are not kept.

What is kept is raw counts (before `reporting.disclosure`), so a trust's threshold applies as it is now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection

T = TypeVar("T")
KEEP_SECONDS = 26 * 60 * 60  # the key changes with the as-of day anyway
CHANGES = "reporting_summarychange"


def school_versions(*, school_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Each school's version, in one statement (one index probe per school)."""
    ids = sorted(set(school_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT s.id, c.n, c.top FROM unnest(%(schools)s::bigint[]) AS s(id)
             CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(max(x.id), 0) AS top FROM {CHANGES} x
                                  WHERE x.school_id = s.id) AS c""", {"schools": ids})  # noqa: S608 - constant
        return {school_id: (n, top) for school_id, n, top in cursor.fetchall()}


def summaries_changed(*, school_id: int) -> None:
    """A change the triggers do not see (a full rebuild of the school's summaries)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CHANGES} (school_id) VALUES (%s)", [school_id])  # noqa: S608 - constant


def changes_prune(*, school_id: int) -> int:
    """Keep the last day's rows and the latest one: versions stay cheap to read. (Removing rows changes
    the version, once, at night.)"""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            DELETE FROM {CHANGES} WHERE school_id = %(school)s AND at < now() - interval '1 day'
               AND id < (SELECT max(id) FROM {CHANGES} WHERE school_id = %(school)s)""",  # noqa: S608 - constant
                       {"school": school_id})
        return cursor.rowcount


def _key(kind: str, school_id: int, version: tuple[int, int], statement: str, params: object) -> str:
    digest = hashlib.sha256(repr((statement, params)).encode()).hexdigest()
    return f"dashboard:{kind}:{school_id}:{version[0]}:{version[1]}:{digest}"


def per_school(*, kind: str, statement: str, params: Mapping[int, object],
               compute: Callable[[list[int]], dict[int, T]]) -> dict[int, T]:
    """Each school's figures for its `params`: kept ones from the cache, the others from `compute`
    (called once, with every school missing). `statement` is the SQL that computes them, so a change to
    it is a new key."""
    versions = school_versions(school_ids=params)
    keys = {school_id: _key(kind, school_id, versions.get(school_id, (0, 0)), statement, params[school_id])
            for school_id in params}
    kept: dict[str, Any] = cache.get_many(list(keys.values()))
    found = {school_id: kept[key] for school_id, key in keys.items() if key in kept}
    missing = [school_id for school_id in params if school_id not in found]
    if missing:
        fresh = compute(missing)
        cache.set_many({keys[school_id]: fresh[school_id] for school_id in missing if school_id in fresh},
                       KEEP_SECONDS)
        found |= fresh
    return found
