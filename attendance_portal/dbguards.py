"""The SQL of the append-only rule, in one place, for the migrations that guard a table with it.

A plain trigger rather than pgtrigger.Protect: pgtrigger's triggers step aside for anyone who sets
`pgtrigger.ignore`, which needs no privilege. This one has no way round it short of dropping or
disabling it, which only the tables' owner can do (attendance_portal.dbroles).

Migrations call these when they are written and keep what they got: changing the text here changes
no applied migration, so a changed rule needs a new migration.
"""

from __future__ import annotations


def append_only_sql(*, table: str, trigger: str, function: str, what: str,
                    operations: str = "UPDATE OR DELETE") -> tuple[str, str]:
    """(forward, backward) SQL: a row trigger on `table` that refuses `operations` whatever the role.

    `what` starts the error message, e.g. "the access log is append-only" gives "… : UPDATE refused".
    """
    what = what.replace("'", "''")
    forward = f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{what}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER {trigger}
    BEFORE {operations} ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    backward = f"""
DROP TRIGGER IF EXISTS {trigger} ON {table};
DROP FUNCTION IF EXISTS {function}();
"""
    return forward, backward
