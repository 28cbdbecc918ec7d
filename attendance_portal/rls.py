"""Row-level security: the database's own check that a school's rows are read only in that school's scope.

The first layer is django-scopes (`attendance_portal.tenancy`): every query on a school-owned model
is filtered by the open scope, or refused when none is open. This is the second: PostgreSQL policies
on the same tables, reading the school ids the scope sets on the connection (`pgbackend`), so a raw
SQL statement or a manager that lost its filter still cannot reach another school's rows.

What the setting holds, worked out from the django-scopes state of the running code:
- a school scope (the web middleware, the API base view, `SchoolTask`): that school's id;
- a trust scope: the ids of the trust's schools;
- `scopes_disabled()` (the tenant fan-outs, sweepers, fixtures, each with its reason beside it): ALL;
- no scope at all: nothing, so a school-owned table reads as empty and refuses inserts.

The policies are made by the owner after every `migrate` (`rls_apply`), on the table of every model
with a django-scopes manager on its `school`, so a new school-owned model is covered as soon as it is
migrated. The application role owns no table and cannot bypass them (`dbroles.privilege_problems`);
the owner, which only migrates, is not subject to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django_scopes.state import state

SETTING = "attendance.school_ids"
ALL = "all"
POLICY = "school_scope"
SET_SQL = f"SELECT set_config('{SETTING}', %s, false)"
UNSET = object()

FUNCTIONS_SQL = f"""
CREATE OR REPLACE FUNCTION attendance_scope_all() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('{SETTING}', true), '') = '{ALL}' $$;
CREATE OR REPLACE FUNCTION attendance_scope_schools() RETURNS bigint[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN coalesce(current_setting('{SETTING}', true), '') IN ('', '{ALL}') THEN '{{}}'::bigint[]
                      ELSE string_to_array(current_setting('{SETTING}', true), ',')::bigint[] END $$;
"""
# Each function is wrapped in a sub-select so it runs once per statement, not once per row.
RULE = "((SELECT attendance_scope_all()) OR school_id = ANY ((SELECT attendance_scope_schools())::bigint[]))"


def current_state() -> Any:
    return state.get()


def setting_for(scope_state: dict[str, Any] | None) -> str:
    """The value of the setting for a django-scopes state (see the module's list)."""
    if not scope_state:
        return ""
    if not scope_state.get("_enabled", True):
        return ALL
    schools = scope_state.get("school")
    if schools is None:
        return ""
    if not isinstance(schools, (list, tuple, set, frozenset)):
        schools = [schools]
    return ",".join(str(int(getattr(s, "pk", s))) for s in schools)


def school_owned_tables() -> list[str]:
    """The tables of every model whose manager is scoped on its own `school`."""
    tables = []
    for model in apps.get_models():
        manager = model._default_manager
        if not hasattr(manager, "with_scopes_disabled") or model._meta.proxy:
            continue
        try:
            column = model._meta.get_field("school").column  # type: ignore[union-attr]  # a model's own school field is a ForeignKey
        except Exception:
            raise TypeError(f"{model.__name__} is scoped but has no school column of its own") from None
        if column != "school_id":
            raise TypeError(f"{model.__name__}.school is stored as {column}, the policy reads school_id")
        tables.append(model._meta.db_table)
    return sorted(set(tables))


def rls_apply(connection: BaseDatabaseWrapper, tables: Iterable[str] | None = None) -> list[str]:
    """Turn on the policy for every school-owned table (as the owner, after migrating; idempotent)."""
    quote = connection.ops.quote_name
    tables = list(school_owned_tables() if tables is None else tables)
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS_SQL)
        cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")
        present = {row[0] for row in cursor.fetchall()}
        done = []
        for table in tables:
            if table not in present:
                continue
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {quote(table)} USING {RULE} WITH CHECK {RULE}")
            done.append(table)
    return done


def tables_without_policy(connection: BaseDatabaseWrapper) -> list[str]:
    """School-owned tables where row-level security is off or the policy is missing (should be none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relname = ANY(%s) AND (NOT c.relrowsecurity OR NOT EXISTS "
            "(SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s))",
            [school_owned_tables(), POLICY],
        )
        return sorted(row[0] for row in cursor.fetchall())
