"""Marking routes: registers of a day, one register, late arrivals, the office board, closures, amendments."""

from __future__ import annotations

import datetime as dt

from django.urls import URLPattern, path, register_converter
from django.urls.converters import get_converters

from . import views


class IsoDateConverter:
    """A date in the URL as YYYY-MM-DD; an impossible date (2025-02-30) does not match, so it is a 404."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(value) from exc

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


class SessionConverter:
    regex = "AM|PM"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


# Other route modules may register the same names; registering twice is deprecated in Django 5.
for _name, _converter in (("date", IsoDateConverter), ("session", SessionConverter)):
    if _name not in get_converters():
        register_converter(_converter, _name)

urlpatterns: list[URLPattern] = [
    path("", views.register_index, name="index"),
    path("board/", views.register_board, name="board"),
    path("late/", views.late_arrival, name="late"),
    path("closure/", views.unexpected_closure, name="closure"),
    path("<int:group_id>/<date:date>/<session:session>/", views.register, name="register"),
    path("pupil/<int:pupil_id>/history/", views.pupil_history, name="pupil_history"),
    path("pupil/<int:pupil_id>/<date:date>/<session:session>/amend/", views.amend_mark, name="amend"),
]
