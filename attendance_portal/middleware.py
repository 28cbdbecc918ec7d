"""Opens the tenant scope for every web request under /s/<school_slug>/, /t/<trust_slug>/ or /la/<la_code>/,
and for a signed-in parent under /parent/ the scope of the schools where their account is linked to a guardian.

A school the user has no role in is a 404, exactly like a school that does not exist, so a
URL never confirms that another school's data is there. A school view that declares no permission
(`attendance_portal.permissions.requires`) is refused outright: a forgotten declaration fails closed.
API views open their own scope after DRF has authenticated the token (see
`attendance_portal.api.SchoolAPIView`).

What this sets on the request is typed in `attendance_portal.http` (SchoolRequest, TrustRequest).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django_scopes import scope

from .models import Trust
from .permissions import account_roles, requirement_of, roles_for
from .roles import TRUST_ROLES
from .selectors import school_at

PARENT_PREFIX = "parent/"  # the parent portal's routes (attendance_portal.urls)


class TenantScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if hasattr(getattr(match.func, "cls", None), "api_school_scoped"):
            return self.get_response(request)

        if match.route.startswith(PARENT_PREFIX) and request.user.is_authenticated:
            from registers.selectors import guardian_school_ids

            with scope(school=guardian_school_ids(user=request.user)):
                return self._render(self.get_response(request))

        school_slug = match.kwargs.get("school_slug")
        trust_slug = match.kwargs.get("trust_slug")
        la_code = match.kwargs.get("la_code")
        if school_slug is None and trust_slug is None and la_code is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())

        if la_code is not None:  # a local authority's workspace: its officers only (penalties.workspace)
            from penalties.workspace import la_scope

            with la_scope(request, la_code, match.func):
                return self._render(self.get_response(request))

        if school_slug is not None:
            school = school_at(school_slug)
            if school is None or not roles_for(request.user, school):
                raise Http404("No such school")
            if requirement_of(match.func) is None:
                raise ImproperlyConfigured(f"{match.view_name} declares no permission; add @requires(...)")
            request.school = school  # type: ignore[attr-defined]  # typed as SchoolRequest in views
            request.roles = roles_for(request.user, school)  # type: ignore[attr-defined]  # typed as SchoolRequest
            with scope(school=school):
                return self._render(self.get_response(request))

        trust = Trust.objects.filter(slug=trust_slug).first()
        if trust is None or not any(held.trust_id == trust.pk and held.role in TRUST_ROLES
                                    for held in account_roles(request.user)):
            raise Http404("No such trust")
        request.trust = trust  # type: ignore[attr-defined]  # typed as TrustRequest in views
        with scope(school=list(trust.schools.all())):
            return self._render(self.get_response(request))

    @staticmethod
    def _render(response: HttpResponse) -> HttpResponse:
        # Lazy template responses must render while the scope is still open.
        render = getattr(response, "render", None)
        if render is not None and not getattr(response, "is_rendered", True):
            render()
        return response
