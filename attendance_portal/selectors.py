"""Reads for the tenancy core."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Membership, School, Trust, User


@dataclass(frozen=True)
class Place:
    kind: str  # "school" or "trust"
    name: str
    slug: str
    roles: tuple[str, ...]


def user_places(user: User) -> list[Place]:
    """Every school and trust the user can switch to, with the roles held there."""
    memberships = Membership.objects.filter(user=user).select_related("school", "trust")
    schools: dict[int, tuple[School, set[str]]] = {}
    trusts: dict[int, tuple[Trust, set[str]]] = {}
    trust_ids: dict[int, set[str]] = {}
    for m in memberships:
        if m.school is not None:
            schools.setdefault(m.school.pk, (m.school, set()))[1].add(m.get_role_display())
        elif m.trust is not None:
            trusts.setdefault(m.trust.pk, (m.trust, set()))[1].add(m.get_role_display())
            trust_ids.setdefault(m.trust.pk, set()).add(m.get_role_display())
    if trust_ids:
        for school in School.objects.filter(trust_id__in=trust_ids):
            schools.setdefault(school.pk, (school, set()))[1].update(trust_ids[school.trust_id])  # type: ignore[index]  # filtered on trust_id__in, so set
    places = [Place("trust", t.name, t.slug, tuple(sorted(r))) for t, r in trusts.values()]
    places += [Place("school", s.name, s.slug, tuple(sorted(r))) for s, r in schools.values()]
    places += _la_places(user)
    return sorted(places, key=lambda p: ({"la": 0, "trust": 1}.get(p.kind, 2), p.name))


def _la_places(user: User) -> list[Place]:
    """The local authorities whose workspace the user works in (`penalties`), as places to switch to."""
    from accounts.policy import holds_la_role
    from penalties.models import LAOfficer

    if not holds_la_role(user):  # known already from the roles read at sign-in checks: no query for most people
        return []
    found: dict[str, tuple[str, set[str]]] = {}
    for officer in LAOfficer.objects.filter(user=user).select_related("local_authority"):
        la = officer.local_authority
        found.setdefault(la.code, (la.name, set()))[1].add(officer.get_role_display())
    return [Place("la", name, code, tuple(sorted(roles))) for code, (name, roles) in found.items()]


def user_is_parent(user: User) -> bool:
    """Whether the user is linked as a guardian anywhere (guardian rows span schools, so no single scope)."""
    from django_scopes import scopes_disabled

    from registers.models import Guardian

    with scopes_disabled():
        return Guardian.objects.filter(user_id=user.pk).exists()
