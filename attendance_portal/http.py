"""Typed requests for tenant pages: what TenantScopeMiddleware has set on the request, for the type checker.

Nothing here is instantiated: the middleware sets these attributes on Django's own `HttpRequest`, and views
annotate their parameter with the class so `request.school` is a `School`, not an unknown attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from .models import School, Trust, User
    from .roles import Role


class SignedInRequest(HttpRequest):
    """A request to a `@login_required` view: `user` is a `User`, never the anonymous one."""

    user: User


class SchoolRequest(SignedInRequest):
    """A request under /s/<school_slug>/: a signed-in member of `school`, with every role they hold there.

    A person can hold several roles in one school (a teacher who also works in the office, a trust
    officer who is also a governor), so the request carries the set, not one role or one membership.
    """

    user: User
    school: School
    roles: frozenset[Role]
    htmx: HtmxDetails


class TrustRequest(SignedInRequest):
    """A request under /t/<trust_slug>/: a signed-in trust officer or trustee of `trust`."""

    user: User
    trust: Trust
    htmx: HtmxDetails
