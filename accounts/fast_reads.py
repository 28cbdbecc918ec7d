"""The three reads every signed-in request makes before any view runs, written in SQL.

Each request reads its session, its user and, for an account with two-step sign-in, the device the session was
verified with. Through the ORM, building and compiling those small statements cost more than running them, on
every request of the morning. The behaviour is the libraries' own: Django's database sessions (same table, same
expiry rule, same decoding), Django's model backend (the same user, refused when inactive) and django-otp's
middleware (same device look-up by persistent id, same binding of the device to the user, which django-otp
checks after this read). Each read is prepared once per database session (`attendance_portal.tenancy.Prepared`),
so PostgreSQL does not parse and plan it again on every request.
"""

from __future__ import annotations

from contextlib import suppress
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib.auth import backends, get_user_model
from django.contrib.sessions.backends import db
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django_otp.middleware import OTPMiddleware as _OTPMiddleware
from django_otp.models import Device

from attendance_portal.tenancy import Prepared, model_columns


@cache
def _read(model: type[Model], columns: str, where: str) -> Prepared:
    """A read of one table (`columns`, or every stored field) prepared once per database session, named after
    the table."""
    columns = columns or model_columns(model, "t")[1]
    return Prepared(f"read_{model._meta.db_table}", f"SELECT {columns} FROM {model._meta.db_table} t WHERE {where}")  # noqa: S608 - names only


class SessionStore(db.SessionStore):
    """Django's database session store (SESSION_ENGINE "accounts.fast_reads"), loading the session in SQL."""

    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if key is None:
            return None
        with connection.cursor() as cursor:
            _read(self.model, "session_data, expire_date", "session_key = %(key)s AND expire_date > %(now)s").execute(
                cursor, {"key": key, "now": timezone.now()})
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=key, session_data=row[0], expire_date=row[1])


# Where AUTHENTICATION_BACKENDS names the backend below (a session records the backend that signed it in).
BACKEND = f"{__name__}.ModelBackend"


class ModelBackend(backends.ModelBackend):
    """Django's model backend (AUTHENTICATION_BACKENDS), reading the signed-in user in SQL on each request."""

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        names, _ = model_columns(model, "t")
        with connection.cursor() as cursor:
            _read(model, "", "t.id = %(id)s").execute(cursor, {"id": user_id})
            row = cursor.fetchone()
        if row is None:
            return None
        user = model.from_db(connection.alias, names, row)
        return user if self.user_can_authenticate(user) else None


class OTPMiddleware(_OTPMiddleware):
    """django-otp's middleware, reading the session's device in SQL (every stored field, as `from_db` builds it)."""

    def _device_from_persistent_id(self, persistent_id: str) -> Device | None:
        persistent_id = self._normalize_persistent_id(persistent_id)
        with suppress(ValueError, LookupError):
            label, device_id = persistent_id.rsplit("/", 1)
            app_label, model_name = label.split(".")
            model: type[Model] = apps.get_model(app_label, model_name)
            if not issubclass(model, Device):
                return None
            names, _ = model_columns(model, "t")
            with connection.cursor() as cursor:
                _read(model, "", "t.id = %(id)s").execute(cursor, {"id": int(device_id)})
                row = cursor.fetchone()
            return model.from_db(connection.alias, names, row) if row is not None else None
        return None
