"""Row-level tenancy that fails closed.

Every school-owned model inherits `SchoolOwned`: it carries its own `school` foreign key and a
django-scopes manager, so a query made without an active school scope raises `ScopeError`
instead of quietly returning every school's rows. Scopes are opened only by the web middleware,
the API base view, `SchoolTask` and management commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled

__all__ = ["SchoolOwned", "SchoolTask", "school_scope", "scope", "scopes_disabled"]


class SchoolOwned(models.Model):
    school = models.ForeignKey("attendance_portal.School", on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager(school="school")

    class Meta:
        abstract = True


@contextmanager
def school_scope(school: Any) -> Iterator[None]:
    """Open the scope for one school (management commands and services that fan out)."""
    with scope(school=school):
        yield


class SchoolTask(Task):
    """Celery base task: takes `school_id`, loads the school and runs the body in its scope."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .models import School

        school_id = kwargs.get("school_id")
        if school_id is None:
            raise TypeError(f"{self.name} must be called with school_id=")
        school = School.objects.get(pk=school_id)
        with scope(school=school):
            return super().__call__(*args, **kwargs)
