"""The one base class every school API view inherits: it owns scoping and permission checks.

The school comes from the URL (`/api/v1/s/<school_slug>/...`). A school the caller has no role in
is a 404, like one that does not exist. Subclasses provide `scoped_queryset()`; overriding
`get_queryset` is refused at class creation so nobody can bypass the scope by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django_scopes import scope
from rest_framework import exceptions, generics
from rest_framework.request import Request

from .models import School
from .permissions import Need, Requirement, roles_for

if TYPE_CHECKING:
    from .models import User


class SignedInAPIRequest(Request):
    """The request an API handler sees: IsAuthenticated, every API view's permission, has refused anonymous
    callers before any handler runs, so `user` is a `User` (typing only; DRF passes its own `Request`)."""

    user: User


class SchoolAPIView(generics.GenericAPIView):
    api_school_scoped = True  # the web middleware leaves these views to this class
    read_permission: ClassVar[str] = "view_pupils"
    write_permission: ClassVar[str] = "manage_school"
    # Built from the two names above: the same declaration `@requires` keeps on a web view.
    required: ClassVar[Requirement] = Requirement(read=Need(("view_pupils",)), write=Need(("manage_school",)))
    school: School
    request: SignedInAPIRequest

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ and cls.__name__ != "SchoolAPIView":
            raise TypeError(f"{cls.__name__} must override scoped_queryset(), not get_queryset()")
        cls.required = Requirement(read=Need((cls.read_permission,)), write=Need((cls.write_permission,)))

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        found = School.objects.select_related("trust").filter(slug=kwargs.get("school_slug")).first()
        self.school_or_none = found
        with scope(school=found if found is not None else []):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        school = self.school_or_none
        user = cast("User", request.user)  # super().initial ran IsAuthenticated
        if school is None or not roles_for(user, school):
            raise exceptions.NotFound("No such school.")
        self.school = school
        if not self.required.allows(user, school, request.method or "GET"):
            raise exceptions.PermissionDenied(self.required.message)

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:  # the one definition; subclasses implement scoped_queryset()
        if getattr(self, "swagger_fake_view", False) or not hasattr(self, "school"):
            # Schema generation runs without a request school; an empty queryset is enough to read types.
            return self.get_serializer_class().Meta.model._base_manager.none()  # type: ignore[attr-defined]  # a ModelSerializer
        return self.scoped_queryset()
