"""Django's PostgreSQL backend, telling the database which schools the current scope may see.

Before a statement runs, the connection's `attendance.school_ids` setting is brought in line with the
django-scopes scope of the code running it (`attendance_portal.rls.setting_for`). The row-level
security policies on every school-owned table read that setting, so a query that forgot its school
filter still sees only the scope's schools, and a query outside any scope sees no school's rows.

The setting is session-wide and only sent when the scope has changed since the last statement on this
connection: when a request enters its school's scope and when the next one reads its session outside it.
It travels in the same round trip as the statement that needs it (`SELECT set_config(…); <statement>`,
the way django-pghistory sends its context), added at the last step before the driver, after every
execute wrapper (pghistory's looks at the statement as the application wrote it). Django's query log shows
the statement as sent, prefix included, and counts it once, as the query-count assertions expect. A
server-side (named) cursor, a batch (`executemany`) or a statement that is not plain text gets the setting
in a round trip of its own first. Whenever a statement fails, or a rollback may have undone a change, what
the session holds is unknown and the next statement sends it again. Because the setting belongs to the
session, a connection pooler in front of PostgreSQL must keep sessions (README: Scale).

The hottest reads (opening and saving a register) are prepared once per session and run by name
(`attendance_portal.tenancy.Prepared`, `DatabaseWrapper.prepare`): PostgreSQL parses and plans them once, not
on every request. Prepared statements also belong to the session, another reason for session pooling.

Django's connection health check (CONN_HEALTH_CHECKS: a `SELECT 1` before the first statement of a request,
in a round trip of its own) is skipped when the connection answered a statement less than `RECENTLY` seconds
ago, as it has on every request of a busy morning. Should the connection have died within that second, the
request's statement fails, the request gets the "try again" page (`attendance_portal.unavailable`) and Django
drops the connection at the end of it, so the next request connects afresh; after a longer quiet the check is
made as before.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper

from attendance_portal import rls

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
# What `rls.setting_for` can give: school ids, ALL, or nothing. Checked before it is written into a statement.
_VALUE = re.compile(rf"^(?:{rls.ALL}|[0-9]+(?:,[0-9]+)*|)$")
RECENTLY = 1.0  # seconds since the connection last answered, within which no health check is made


class _Carrying:
    """The cursor wrappers' last step, carrying a changed scope setting with the statement."""

    db: DatabaseWrapper
    cursor: Any

    def _execute(self, sql: Any, params: Any, *rest: Any) -> Any:
        value = self.db._scope_needed(sql)
        if value is None:
            done = super()._execute(sql, params, *rest)  # type: ignore[misc]  # the wrapper's own, below in the MRO
        elif not isinstance(sql, str) or getattr(self.cursor, "name", None):
            self.db._scope_send(value)  # a named cursor runs its statement inside DECLARE: only that one
            done = super()._execute(sql, params, *rest)  # type: ignore[misc]  # as above
        else:
            self.db._scope_sent = None  # unknown until the statement has run: a failed one takes the setting with it
            done = super()._execute(f"{rls.SET_SQL % _literal(value)}; {sql}", params, *rest)  # type: ignore[misc]  # as above
            self.db._scope_sent = value
        self.db._answered_at = time.monotonic()
        return done

    def _executemany(self, sql: Any, param_list: Any, *rest: Any) -> Any:
        value = self.db._scope_needed(sql)
        if value is not None:
            self.db._scope_send(value)
        done = super()._executemany(sql, param_list, *rest)  # type: ignore[misc]  # as above
        self.db._answered_at = time.monotonic()
        return done


def _literal(value: str) -> str:
    if not _VALUE.match(value):
        raise ValueError(f"not a scope setting: {value!r}")
    return f"'{value}'"


class ScopeCarryingCursor(_Carrying, CursorWrapper):
    pass


class ScopeCarryingDebugCursor(_Carrying, base.CursorDebugWrapper):
    pass


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_sent: str | None = None  # what the session holds; None when unknown
        self._scope_state: object = rls.UNSET  # the scope object that value was worked out from
        self._scope_value = ""
        self._answered_at = -RECENTLY  # when the connection last answered a statement (time.monotonic)
        self._prepared: set[str] = set()  # the statements prepared in this session (`prepare`)

    def _scope_needed(self, sql: Any) -> str | None:
        """The setting to send before `sql`, or None when the session already holds it (or `sql` reads no rows)."""
        if isinstance(sql, str) and sql.startswith(TRANSACTION_CONTROL):
            return None  # reads no rows, and may be ending a failed transaction
        state = rls.current_state()
        if state is not self._scope_state:
            self._scope_state = state
            self._scope_value = rls.setting_for(state)
        return None if self._scope_value == self._scope_sent else self._scope_value

    def _scope_send(self, value: str) -> None:
        # A cursor of its own: the statement's may be a named (server-side) cursor, which runs only once.
        self._scope_sent = None
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(rls.SET_SQL, [value])
        self._scope_sent = value

    def make_cursor(self, cursor: Any) -> CursorWrapper:
        return ScopeCarryingCursor(cursor, self)

    def make_debug_cursor(self, cursor: Any) -> base.CursorDebugWrapper:
        return ScopeCarryingDebugCursor(cursor, self)

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self._answered_at < RECENTLY:
            self.health_check_done = True  # it has just answered: no round trip to ask whether it is there
            return
        super().close_if_health_check_failed()

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        self._scope_sent = ""  # a new session sees no school until a scope says otherwise
        self._prepared = set()  # and has prepared nothing
        return super().get_new_connection(conn_params)

    def prepare(self, name: str, text: str) -> None:
        """`PREPARE name AS text` in this session, once: PostgreSQL keeps the statement until the session ends,
        whatever becomes of the transaction that prepared it. Sent on a cursor of its own, so it is neither
        logged nor counted as one of the request's statements (it reads no rows)."""
        if name in self._prepared:
            return
        self.ensure_connection()
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} AS {text}")
        self._prepared.add(name)

    def _rollback(self) -> None:
        self._scope_sent = None
        super()._rollback()  # type: ignore[misc]  # private in Django's database wrapper; the stubs leave it out

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in Django's database wrapper; the stubs leave it out
        self._scope_sent = None
