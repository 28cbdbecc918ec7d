"""Django's PostgreSQL backend, telling the database which schools the current scope may see.

Before a statement runs, the connection's `attendance.school_ids` setting is brought in line with the
django-scopes scope of the code running it (`attendance_portal.rls.setting_for`). The row-level
security policies on every school-owned table read that setting, so a query that forgot its school
filter still sees only the scope's schools, and a query outside any scope sees no school's rows.

The setting is session-wide and only sent when the scope has changed since the last statement on this
connection: one extra round trip when a request enters its school's scope and one when it leaves.
It goes through the driver's cursor directly, so it is not one of the statements Django records (the
query-count assertions count the application's own statements). A rollback may undo a change made
inside the transaction, so after one the next statement sends it again. Because the setting belongs to the
session, a connection pooler in front of PostgreSQL must keep sessions (README: Scale).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from attendance_portal import rls

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_sent: str | None = None  # what the session holds; None when unknown
        self._scope_state: object = rls.UNSET  # the scope object that value was worked out from
        self._scope_value = ""
        self.execute_wrappers.append(self._scope_carry)

    def _scope_carry(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if sql.startswith(TRANSACTION_CONTROL):  # reads no rows, and may be ending a failed transaction
            return execute(sql, params, many, context)
        state = rls.current_state()
        if state is not self._scope_state:
            self._scope_state = state
            self._scope_value = rls.setting_for(state)
        if self._scope_value != self._scope_sent:
            # A cursor of its own: the statement's may be a named (server-side) cursor, which runs only once.
            with self.wrap_database_errors, self.connection.cursor() as cursor:
                cursor.execute(rls.SET_SQL, [self._scope_value])
            self._scope_sent = self._scope_value
        return execute(sql, params, many, context)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        self._scope_sent = ""  # a new session sees no school until a scope says otherwise
        return super().get_new_connection(conn_params)

    def _rollback(self) -> None:
        self._scope_sent = None
        super()._rollback()  # type: ignore[misc]  # private in Django's database wrapper; the stubs leave it out

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in Django's database wrapper; the stubs leave it out
        self._scope_sent = None
