"""Row-level tenancy that fails closed.

Every school-owned model inherits `SchoolOwned`: it carries its own `school` foreign key and a
django-scopes manager, so a query made without an active school scope raises `ScopeError`
instead of quietly returning every school's rows. Scopes are opened only by the web middleware,
the API base view, `SchoolTask` and management commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Self, TypeVar

from celery import Task
from django.db import connection, models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from . import rls

M = TypeVar("M", bound=models.Model)

__all__ = ["Prepared", "SchoolOwned", "SchoolTask", "model_columns", "school_objects", "school_rows", "school_scope",
           "schools_fan_out", "scope", "scopes_disabled"]


class SchoolOwned(models.Model):
    school = models.ForeignKey("attendance_portal.School", on_delete=models.PROTECT, related_name="+")

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

    class Meta:
        abstract = True


_NAMED = re.compile(r"%\((\w+)\)s|%%")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PREPARED_NAMES: set[str] = set()


@dataclass(frozen=True)
class Prepared:
    """A read that each database session prepares once and then runs by name (`EXECUTE name(…)`), so PostgreSQL
    parses and plans it once per session rather than on every request: for the register's pupils, with row-level
    security on three tables, planning took longer than running. `sql` is written as for `school_rows`, with
    `%(name)s` parameters; PostgreSQL infers each one's type from where it is used."""

    name: str
    sql: str
    text: str = field(init=False)  # the statement with $1, $2… for PREPARE
    order: tuple[str, ...] = field(init=False)  # the parameters' names in $ order

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.name in _PREPARED_NAMES:
            raise ValueError(f"a prepared statement needs a name of its own: {self.name!r}")
        _PREPARED_NAMES.add(self.name)
        order: list[str] = []

        def number(found: re.Match[str]) -> str:
            if found.group(0) == "%%":
                return "%"
            if found.group(1) not in order:
                order.append(found.group(1))
            return f"${order.index(found.group(1)) + 1}"

        object.__setattr__(self, "text", _NAMED.sub(number, self.sql))
        object.__setattr__(self, "order", tuple(order))

    def execute(self, cursor: Any, params: Mapping[str, Any]) -> None:
        connection.prepare(self.name, self.text)  # type: ignore[attr-defined]  # attendance_portal.pgbackend's
        cursor.execute(f"EXECUTE {self.name}({', '.join(['%s'] * len(self.order))})" if self.order
                       else f"EXECUTE {self.name}", [params[name] for name in self.order])


def school_rows(*, school_id: int, sql: str | Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a read written in SQL for one school's tables: the few reads on the morning's hottest
    pages, where building and compiling the ORM's query cost more than running it. The open scope must
    cover the school, or `ScopeError` is raised exactly as a scoped manager would (a read outside the scope
    fails rather than finding nothing); the statement filters by `school_id` itself, and row-level security
    applies to it as to every statement. A `Prepared` read is run by name."""
    setting = rls.setting_for(rls.current_state())
    if setting != rls.ALL and str(int(school_id)) not in setting.split(","):
        raise ScopeError(f"a scope covering school {school_id} needs to be active for this query")
    with connection.cursor() as cursor:
        if isinstance(sql, Prepared):
            sql.execute(cursor, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def model_columns(model: type[models.Model], alias: str) -> tuple[tuple[str, ...], str]:
    """A model's stored fields in its own order: as attribute names (for `Model.from_db`) and as SQL columns.
    `from_db` takes values as the driver gives them, so a model with a field that converts what it reads
    (a JSON field, say) is refused rather than built with raw values. Worked out once per model and alias:
    the reads on every request (session, user, school, register) ask for the same few."""
    fields = model._meta.concrete_fields
    converting = [f.name for f in fields if hasattr(f, "from_db_value")]
    if converting:
        raise TypeError(f"{model.__name__} converts {', '.join(converting)} when read: read it through the ORM")
    return tuple(f.attname for f in fields), ", ".join(f'{alias}."{f.column}"' for f in fields)


@cache
def _objects_read(model: type[models.Model], where: str, prepared: str) -> str | Prepared:
    _, columns = model_columns(model, "t")
    sql = (f"SELECT {columns} FROM {model._meta.db_table} t WHERE t.school_id = %(school)s"  # noqa: S608 - names only
           + (f" AND {where}" if where else ""))
    return Prepared(prepared, sql) if prepared else sql


def school_objects(model: type[M], *, school_id: int, where: str = "",
                   params: Mapping[str, Any] | None = None, prepared: str = "") -> list[M]:
    """Instances of a school-owned model read through `school_rows`, every stored field loaded: the school's
    rows, narrowed by `where` (SQL on alias `t`, with named parameters). With `prepared`, the read is a
    `Prepared` statement of that name (one name, one read)."""
    rows = school_rows(school_id=school_id, sql=_objects_read(model, where, prepared),
                       params={**(params or {}), "school": school_id})
    names, _ = model_columns(model, "t")
    return [model.from_db(connection.alias, names, row) for row in rows]


@contextmanager
def school_scope(school: Any) -> Iterator[None]:
    """Open the scope for one school (management commands and services that fan out)."""
    with scope(school=school):
        yield


class SchoolTask(Task):
    """Celery base task: sent with `school_id=`, it loads the school once and runs the body in its scope
    with `school=` (the body never fetches it again)."""

    abstract = True
    # The message carries `school_id` and the body takes `school`: Celery's own check of the arguments
    # against the body's signature would refuse every send, so apply_async checks them this way instead.
    typing = False

    def apply_async(self, args: Any = None, kwargs: Any = None, *rest: Any, **options: Any) -> Any:
        import inspect

        sent = dict(kwargs or {})
        if sent.pop("school_id", None) is None:
            raise TypeError(f"{self.name} must be sent with school_id=")
        inspect.signature(self.run).bind(*(args or ()), school=None, **sent)  # TypeError if they do not fit
        return super().apply_async(args, kwargs, *rest, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .models import School

        body_kwargs = dict(kwargs)
        school_id = body_kwargs.pop("school_id", None)
        if school_id is None:
            raise TypeError(f"{self.name} must be called with school_id=")
        school = School.objects.get(pk=school_id)
        with scope(school=school):
            return super().__call__(*args, school=school, **body_kwargs)


def schools_fan_out(task: Any, **kwargs: Any) -> int:
    """Send `task` once for every school (each then runs in its own scope and can fail alone); the one way
    a periodic job is spread over the tenants. A send the broker refuses is logged (`task_send`)."""
    from .models import School
    from .queueing import task_send

    with scopes_disabled():  # listing the tenants themselves; School rows are not school-owned
        school_ids = list(School.objects.order_by("pk").values_list("pk", flat=True))
    for school_id in school_ids:
        task_send(task, school_id=school_id, **kwargs)
    return len(school_ids)
