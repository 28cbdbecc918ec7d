"""The local authority as a tenant: who may enter `/la/<la-code>/` and what scope their requests run in.

An officer of the LA (an `LAOfficer` row) gets in; anyone else, school staff included, gets a 404 exactly
like an LA that does not exist. An LA's pages read referrals made to it (and the decisions on a notice to
improve it is asked to give), and through them those schools' rows: the request runs in a school scope over
the schools of the LA's area that have referred to it or asked it, and nothing else. A school row outside
that scope fails closed like anywhere else. Every LA view declares itself with `@la_view`; one that does
not is refused by the middleware.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_scopes import scope, scopes_disabled

from .models import Consideration, LAOfficer, LocalAuthority, Referral

if TYPE_CHECKING:
    from attendance_portal.models import User

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


class LARequest(HttpRequest):
    """A request under /la/<la_code>/: a signed-in officer of `local_authority` (typing only)."""

    user: User
    local_authority: LocalAuthority
    la_roles: frozenset[str]


def la_view(view: V) -> V:
    """Declare a view as a local authority page (every officer role of the LA may use it)."""
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "local_authority", None) is None:
            raise ImproperlyConfigured(f"{view.__qualname__} is a local authority page outside /la/<la_code>/")
        return view(request, *args, **kwargs)

    checked.la_page = True  # type: ignore[attr-defined]  # read by the middleware
    return cast(V, checked)


def referring_school_ids(la: LocalAuthority) -> list[int]:
    """The schools of the LA's area with a referral made to it, or a decision on a notice to improve addressed
    to it (which the LA gives where its code of conduct says so): the only school rows its pages may reach."""
    with scopes_disabled():  # listing which schools to open, by the LA's own key
        referred = Referral.objects.filter(local_authority=la, school__local_authority=la.name)
        asked = Consideration.objects.filter(local_authority=la, school__local_authority=la.name,
                                             decision=Consideration.Decision.NOTICE_TO_IMPROVE)
        return sorted(set(referred.values_list("school_id", flat=True)) | set(asked.values_list("school_id",
                                                                                                flat=True)))


@contextmanager
def la_scope(request: HttpRequest, la_code: str, view: Callable[..., Any]) -> Iterator[None]:
    la = LocalAuthority.objects.filter(code=la_code).first()
    roles = frozenset(LAOfficer.objects.filter(local_authority=la, user_id=request.user.pk)  # type: ignore[misc]  # an anonymous pk (None) matches no officer
                      .values_list("role", flat=True)) if la is not None else frozenset()
    if la is None or not roles:
        raise Http404("No such local authority")
    if not getattr(view, "la_page", False):
        raise ImproperlyConfigured(f"{view} is routed under /la/ but is not declared with @la_view")
    request.local_authority = la  # type: ignore[attr-defined]  # typed as LARequest in views
    request.la_roles = roles  # type: ignore[attr-defined]  # typed as LARequest in views
    with scope(school=referring_school_ids(la)):
        yield
