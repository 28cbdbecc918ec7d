"""Row-level tenancy that fails closed.

Every school-owned model inherits `SchoolOwned`: it carries its own `school` foreign key and a
django-scopes manager, so a query made without an active school scope raises `ScopeError`
instead of quietly returning every school's rows. Scopes are opened only by the web middleware,
the API base view, `SchoolTask` and management commands.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any, ClassVar, Self, TypeVar

from celery import Task
from django.db import connection, models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from . import rls

M = TypeVar("M", bound=models.Model)

__all__ = ["SchoolOwned", "SchoolTask", "model_columns", "school_objects", "school_rows", "school_scope",
           "schools_fan_out", "scope", "scopes_disabled"]


class SchoolOwned(models.Model):
    school = models.ForeignKey("attendance_portal.School", on_delete=models.PROTECT, related_name="+")

    objects: ClassVar[models.Manager[Self]] = ScopedManager(school="school")

    class Meta:
        abstract = True


def school_rows(*, school_id: int, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a read written in SQL for one school's tables: the few reads on the morning's hottest
    pages, where building and compiling the ORM's query cost more than running it. The open scope must
    cover the school, or `ScopeError` is raised exactly as a scoped manager would (a read outside the scope
    fails rather than finding nothing); the statement filters by `school_id` itself, and row-level security
    applies to it as to every statement."""
    setting = rls.setting_for(rls.current_state())
    if setting != rls.ALL and str(int(school_id)) not in setting.split(","):
        raise ScopeError(f"a scope covering school {school_id} needs to be active for this query")
    with connection.cursor() as cursor:
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


def school_objects(model: type[M], *, school_id: int, where: str = "",
                   params: Mapping[str, Any] | None = None) -> list[M]:
    """Instances of a school-owned model read through `school_rows`, every stored field loaded: the school's
    rows, narrowed by `where` (SQL on alias `t`, with named parameters)."""
    names, columns = model_columns(model, "t")
    sql = (f"SELECT {columns} FROM {model._meta.db_table} t WHERE t.school_id = %(school)s"  # noqa: S608 - names only
           + (f" AND {where}" if where else ""))
    rows = school_rows(school_id=school_id, sql=sql, params={**(params or {}), "school": school_id})
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
