"""After a bulk load, tell PostgreSQL's planner what is now in the tables.

A table the planner has never analysed is taken for nearly empty, and the statistics engine's joins
then run as nested loops over hundreds of thousands of marks: minutes instead of milliseconds, until
autovacuum comes (and it never comes inside the loading transaction). ANALYZE samples the table,
including the rows this transaction wrote, so what runs next in the same transaction is planned well.

The application's role owns no table, so it asks `attendance_analyze()` (a function that runs as the
owner and does only this; attendance_portal/migrations/0002_analyze_as_owner.py).
"""
from __future__ import annotations

from django.db import connection, models


def planner_statistics_refresh(*tables: type[models.Model] | str) -> None:
    """ANALYZE each table (a model or a table name); cheap: it reads a fixed-size sample."""
    with connection.cursor() as cursor:
        for table in tables:
            name = table if isinstance(table, str) else table._meta.db_table
            cursor.execute("SELECT attendance_analyze(%s::regclass)", [connection.ops.quote_name(name)])
