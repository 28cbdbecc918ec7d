"""The two database roles: an owner that migrates, and the role the running application connects as.

The owner (DATABASE_OWNER_URL) owns every table, function and trigger and is used only by `migrate`
(our override of it) and by the test suite's set-up and flushes. Web, workers and beat connect with
DATABASE_URL as a role that owns nothing: it reads and writes rows, and cannot TRUNCATE, ALTER or
DROP a table, disable a trigger or set `session_replication_role` (which needs a superuser). So the
append-only tables and the triggers that guard them hold against the application's own connection.

After every migration the owner grants the application role what it needs (one place, below), and
nothing more: no TRUNCATE anywhere, and no UPDATE or DELETE on the append-only tables.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

# Rows are only ever added: the application role may not change or remove them. Triggers refuse it too
# (for every role); the missing privilege is the first wall, and it does not depend on any trigger.
APPEND_ONLY_TABLES = (
    "registers_markevent",
    "accesslog_accessrecord",
    "interventions_caseevent",
    "staff_staffchange",
    "accounts_accountevent",
)
# Rows that are changed but never removed.
NEVER_DELETED_TABLES = ("registers_mark",)
# Functions that run as the owner (SECURITY DEFINER, made by migrations, revoked from PUBLIC), each doing one
# narrow thing the application role may not do itself; granted to it after every migrate. Name -> arguments.
OWNER_FUNCTIONS = {
    "attendance_analyze": "regclass",  # ANALYZE one table (attendance_portal.planner)
    "attendance_account_is_guardian": "bigint",  # is an account a parent anywhere (attendance_portal.selectors)
}

CONNECTION_KEYS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")

_owner_work: contextvars.ContextVar[bool] = contextvars.ContextVar("owner_work", default=False)


def owner_settings() -> dict[str, Any] | None:
    """The owner's connection settings (from DATABASE_OWNER_URL), or None when only one role is configured."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner or owner.get("USER") == settings.DATABASE_APP_ROLE:
        return None
    return owner


@contextlib.contextmanager
def connected_as_owner(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Run the body on `connection` reconnected as the owner; back to the application role afterwards.

    The database name is kept (the test databases have names of their own). Without an owner
    configured the body runs on the connection as it is.
    """
    owner = owner_settings()
    token = _owner_work.set(True)
    if owner is None or connection.settings_dict.get("USER") == owner.get("USER"):
        try:
            yield
        finally:
            _owner_work.reset(token)
        return
    saved = {key: connection.settings_dict.get(key) for key in CONNECTION_KEYS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key, saved[key]) for key in CONNECTION_KEYS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        _owner_work.reset(token)


def app_role_grant(connection: BaseDatabaseWrapper) -> None:
    """Give the application role its privileges on everything the owner has made (run as the owner)."""
    if owner_settings() is None:
        return
    role = connection.ops.quote_name(settings.DATABASE_APP_ROLE)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
                       "AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')",
                       [list(APPEND_ONLY_TABLES + NEVER_DELETED_TABLES)])
        present = {row[0] for row in cursor.fetchall()}
        statements = [
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            *(f"REVOKE UPDATE, DELETE ON {quote(t)} FROM {role}" for t in APPEND_ONLY_TABLES if t in present),
            *(f"REVOKE DELETE ON {quote(t)} FROM {role}" for t in NEVER_DELETED_TABLES if t in present),
        ]
        cursor.execute("SELECT proname FROM pg_proc WHERE proname = ANY(%s)", [list(OWNER_FUNCTIONS)])
        made = {row[0] for row in cursor.fetchall()}
        statements += [f"GRANT EXECUTE ON FUNCTION {name}({args}) TO {role}"
                       for name, args in OWNER_FUNCTIONS.items() if name in made]
        for statement in statements:
            cursor.execute(statement)


def privilege_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """What makes this connection too powerful to run the application on (empty when it is fine)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   (SELECT count(*) FROM pg_class c
                     WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace
                       AND c.relkind IN ('r', 'p'))
              FROM pg_roles r WHERE r.rolname = current_user""")
        name, superuser, bypass_rls, owned = cursor.fetchone()
    problems = []
    if superuser:
        problems.append(f"the role {name} is a superuser")
    elif bypass_rls:
        problems.append(f"the role {name} bypasses row-level security")
    if owned:
        problems.append(f"the role {name} owns {owned} tables")
    return problems


def refuse_privileged_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver (DATABASE_REFUSE_PRIVILEGED): the application never runs as owner or superuser."""
    if _owner_work.get():
        return
    problems = privilege_problems(connection)
    if problems:
        connection.close()
        raise ImproperlyConfigured(
            f"DATABASE_URL must connect as the application's own role, not the owner: {'; '.join(problems)}. "
            "Migrate with DATABASE_OWNER_URL and run the application as a role that owns nothing "
            "(README: Database roles).")
