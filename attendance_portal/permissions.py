"""Who may do what: one table of role × action, evaluated over (user, school).

Every school view declares what it needs once, with `@requires(...)` (API views: `read_permission` and
`write_permission` on `SchoolAPIView`); the declaration is checked with `can()` and kept on the view, so
the route walk in the tests can send every role without it to every route. Templates and services ask
`can(user, action, school)` (or `user.has_perm("attendance.<action>", school)` through django-rules) for
what a page shows. Governors see aggregates only, so no pupil-level action lists them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import rules
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.functional import LazyObject, empty

from .roles import Role

if TYPE_CHECKING:
    from .models import School, User
    from .tenancy import Prepared

V = TypeVar("V", bound=Callable[..., HttpResponseBase])

CT = Role.CLASS_TEACHER
OFFICE = Role.OFFICE_STAFF
AO = Role.ATTENDANCE_OFFICER
SAC = Role.SENIOR_ATTENDANCE_CHAMPION
HEAD = Role.HEADTEACHER
GOV = Role.GOVERNOR
TRUST = Role.TRUST_OFFICER

ANY_ROLE = frozenset(Role)
LEADS = frozenset({SAC, HEAD})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "view_school": ANY_ROLE,
    "view_dashboard": frozenset({GOV, HEAD, SAC, AO, TRUST}),
    "view_pupils": frozenset({CT, OFFICE, AO, SAC, HEAD, TRUST}),
    "view_sensitive": frozenset({AO, SAC, HEAD, TRUST}),
    "mark_register": frozenset({CT, OFFICE, AO, SAC, HEAD}),
    "amend_mark": frozenset({OFFICE, AO, SAC, HEAD}),
    "view_register_board": frozenset({OFFICE, AO, SAC, HEAD}),
    "manage_school": frozenset({OFFICE, SAC, HEAD}),
    "import_data": frozenset({OFFICE, SAC, HEAD}),
    "follow_up_absence": frozenset({OFFICE, AO, SAC, HEAD}),
    "work_cases": frozenset({AO, SAC, HEAD, TRUST}),
    "send_letters": frozenset({AO, SAC, HEAD}),
    "edit_ladder": frozenset({SAC, HEAD}),
    "edit_letter_templates": LEADS,
    "decide_leave": frozenset({HEAD}),
    "authorise_penalty": frozenset({HEAD}),
    "manage_staff": frozenset({HEAD}),
    "view_access_log": frozenset({HEAD}),
    "export_census": frozenset({HEAD}),
    "reset_mfa": frozenset({HEAD}),
}


@dataclass(frozen=True)
class Held:
    """One role the account holds: in a school, a trust (every school of it), or a local authority
    (`la:<role>`, with neither)."""

    role: str
    school_id: int | None
    trust_id: int | None
    # The place's name and slug (the LA's code), for the place switcher.
    name: str = ""
    slug: str = ""


def request_memo(user: Any) -> dict[str, Any]:
    """Where reads about the signed-in account are kept for the rest of the request: on the user object
    itself, unwrapped from the request's lazy users (authentication's, and two-step sign-in's around it) so
    every caller shares one copy."""
    target = user
    while isinstance(target, LazyObject):
        if target._wrapped is empty:
            target.is_authenticated  # noqa: B018 - builds the lazy user
        target = target._wrapped
    return cast(dict[str, Any], target.__dict__)


def account_roles(user: User) -> tuple[Held, ...]:
    """Every role the account holds, in schools and trusts and in local authorities, with the place's name:
    one statement, read once a request (sign-in checks, tenancy, permissions and the place switcher use it)."""
    memo = request_memo(user)
    found = memo.get("_account_roles")
    if found is None:
        from django.db import connection

        with connection.cursor() as cursor:
            _account_roles_read().execute(cursor, {"user": user.pk})
            found = memo["_account_roles"] = tuple(Held(*row) for row in cursor.fetchall())
    return found


@functools.cache
def _account_roles_read() -> Prepared:
    """The read behind `account_roles`, prepared once per database session."""
    from penalties.models import LAOfficer, LocalAuthority

    from .models import Membership, School, Trust
    from .tenancy import Prepared

    return Prepared("account_roles", f"""
        SELECT m.role, m.school_id, m.trust_id, coalesce(s.name, t.name), coalesce(s.slug, t.slug)
          FROM {Membership._meta.db_table} m
          LEFT JOIN {School._meta.db_table} s ON s.id = m.school_id
          LEFT JOIN {Trust._meta.db_table} t ON t.id = m.trust_id
         WHERE m.user_id = %(user)s
        UNION ALL
        SELECT 'la:' || o.role, NULL, NULL, la.name, la.code
          FROM {LAOfficer._meta.db_table} o
          JOIN {LocalAuthority._meta.db_table} la ON la.id = o.local_authority_id
         WHERE o.user_id = %(user)s""")  # noqa: S608 - table names only


def roles_for(user: User, school: School) -> frozenset[Role]:
    """Roles the user holds in this school, directly or through the school's trust."""
    if not user.is_authenticated or school is None:
        return frozenset()
    return frozenset(Role(h.role) for h in account_roles(user)
                     if h.school_id == school.pk or (school.trust_id and h.trust_id == school.trust_id))


def can(user: User, action: str, school: School) -> bool:
    allowed = PERMISSIONS[action]
    return bool(roles_for(user, school) & allowed)


def _make_predicate(action: str) -> rules.Predicate:
    @rules.predicate(name=f"can_{action}")
    def predicate(user: User, school: School | None) -> bool:
        return school is not None and can(user, action, school)

    return predicate


for _action in PERMISSIONS:
    rules.add_perm(f"attendance.{_action}", _make_predicate(_action))


# ---------------------------------------------------------------- declared permissions of views

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Need:
    """Every action in `all_of`, and at least one of `any_of` when it is given."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.all_of + self.any_of) - PERMISSIONS.keys()
        if unknown:  # a typo fails when the module is imported, not when someone is refused
            raise ValueError(f"unknown actions {sorted(unknown)}; the table is PERMISSIONS in {__name__}")

    def met_by(self, roles: frozenset[Role]) -> bool:
        return all(roles & PERMISSIONS[a] for a in self.all_of) and (
            not self.any_of or any(roles & PERMISSIONS[a] for a in self.any_of))

    def __str__(self) -> str:
        parts = list(self.all_of)
        if self.any_of:
            parts.append(" or ".join(self.any_of))
        return " and ".join(parts)


@dataclass(frozen=True)
class Requirement:
    """What a school view needs: `read` for GET, HEAD and OPTIONS, `write` for every other method.

    `also_allowed(user, school)` lets a person through who lacks the actions but has been given the job
    another way (a headteacher's staff delegate); the role table alone decides for everyone else.
    """

    read: Need
    write: Need
    also_allowed: Callable[[User, School], bool] | None = None
    message: str = "Your role in this school does not allow this."

    def need(self, method: str) -> Need:
        return self.read if method.upper() in SAFE_METHODS else self.write

    def allows(self, user: User, school: School, method: str) -> bool:
        if self.need(method).met_by(roles_for(user, school)):
            return True
        return self.also_allowed is not None and self.also_allowed(user, school)


def requires(*actions: str, any_of: Iterable[str] = (), write: Iterable[str] = (),
             also_allowed: Callable[[User, School], bool] | None = None,
             message: str = "") -> Callable[[V], V]:
    """Declare, once, what a school view needs; the view answers 403 to a member without it.

        @requires("follow_up_absence")                          every method needs the action
        @requires(any_of=("follow_up_absence", "decide_leave"))  one of them is enough
        @requires("work_cases", write=("edit_ladder",))         a POST needs edit_ladder as well

    Put it above `require_POST` and the like, so a member without the action gets 403 whatever the
    method. The declaration is kept on the view as `required`: the route walk in the tests reads it to
    send every role without it to every route. Object-level rules (a ladder stage reserved to the
    headteacher) stay in the services.
    """
    read = Need(all_of=actions, any_of=tuple(any_of))
    requirement = Requirement(read=read, write=Need(all_of=read.all_of + tuple(write), any_of=read.any_of),
                              also_allowed=also_allowed, message=message or Requirement.message)

    def decorate(view: V) -> V:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            school = getattr(request, "school", None)
            if school is None:
                # Only TenantScopeMiddleware sets the school, and only under /s/<school_slug>/.
                raise ImproperlyConfigured(f"{view.__qualname__} declares a school permission outside a school route")
            if not requirement.allows(request.user, school, request.method or "GET"):  # type: ignore[arg-type]  # the middleware let only signed-in members through
                raise PermissionDenied(requirement.message)
            return view(request, *args, **kwargs)

        checked.required = requirement  # type: ignore[attr-defined]  # read by requirement_of()
        return cast(V, checked)

    return decorate


def requirement_of(view: Callable[..., Any]) -> Requirement | None:
    """The permission a routed view declared: `@requires` on a function, `required` on an API class."""
    found = getattr(view, "required", None)
    if found is None:
        found = getattr(getattr(view, "cls", None), "required", None)
    return found if isinstance(found, Requirement) else None
