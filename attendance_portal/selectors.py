"""Reads for the tenancy core."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connection

from .models import School, Trust, User
from .permissions import account_roles
from .roles import Role
from .tenancy import Prepared, model_columns


@dataclass(frozen=True)
class Place:
    kind: str  # "school" or "trust"
    name: str
    slug: str
    roles: tuple[str, ...]


def user_places(user: User) -> list[Place]:
    """Every school, trust and local authority the user can switch to, with the roles held there: from the
    account's roles read once a request, plus one query for the schools of any trust they work for."""
    from penalties.models import LAOfficer

    schools: dict[str, tuple[str, set[str]]] = {}  # slug -> (name, roles)
    trusts: dict[str, tuple[str, set[str]]] = {}
    las: dict[str, tuple[str, set[str]]] = {}
    trust_roles: dict[int, set[str]] = {}
    for held in account_roles(user):
        if held.role.startswith("la:"):
            las.setdefault(held.slug, (held.name, set()))[1].add(LAOfficer.Role(held.role[3:]).label)
        elif held.school_id is not None:
            schools.setdefault(held.slug, (held.name, set()))[1].add(Role(held.role).label)
        elif held.trust_id is not None:
            trusts.setdefault(held.slug, (held.name, set()))[1].add(Role(held.role).label)
            trust_roles.setdefault(held.trust_id, set()).add(Role(held.role).label)
    if trust_roles:
        for school in School.objects.filter(trust_id__in=trust_roles).only("name", "slug", "trust_id"):
            schools.setdefault(school.slug, (school.name, set()))[1].update(trust_roles[school.trust_id])  # type: ignore[index]  # filtered on trust_id__in, so set
    places = [Place(kind, name, slug, tuple(sorted(roles)))
              for kind, found in (("trust", trusts), ("school", schools), ("la", las))
              for slug, (name, roles) in found.items()]
    return sorted(places, key=lambda p: ({"la": 0, "trust": 1}.get(p.kind, 2), p.name))


def user_is_parent(user: User) -> bool:
    """Whether the user is linked as a guardian anywhere. Guardian rows span schools, and row-level security
    shows only the open scope's, so a function running as the tables' owner answers this one yes or no
    (registers migration 0008): one statement, no scope opened on every school."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attendance_account_is_guardian(%s)", [user.pk])
        return bool(cursor.fetchone()[0])


@cache
def _school_at_read() -> Prepared:
    _, columns = model_columns(School, "s")
    _, trust_columns = model_columns(Trust, "t")
    return Prepared("school_at", f"SELECT {columns}, {trust_columns} FROM {School._meta.db_table} s "  # noqa: S608 - names only
                                 f"LEFT JOIN {Trust._meta.db_table} t ON t.id = s.trust_id WHERE s.slug = %(slug)s")


def school_at(slug: str) -> School | None:
    """The school at /s/<slug>/ with its trust: read by every school page before its view runs, so in SQL (the
    ORM's building of this small query cost more than running it), prepared once per database session. Both
    are whole instances, as `select_related("trust")` would give."""
    names, _ = model_columns(School, "s")
    trust_names, _ = model_columns(Trust, "t")
    with connection.cursor() as cursor:
        _school_at_read().execute(cursor, {"slug": slug})
        row = cursor.fetchone()
    if row is None:
        return None
    school = School.from_db(connection.alias, names, row[:len(names)])
    trust = Trust.from_db(connection.alias, trust_names, row[len(names):]) if school.trust_id is not None else None
    School._meta.get_field("trust").set_cached_value(school, trust)
    return school
