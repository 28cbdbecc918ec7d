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
            schools.setdefault(school.pk, (school, set()))[1].update(trust_ids[school.trust_id])
    places = [Place("trust", t.name, t.slug, tuple(sorted(r))) for t, r in trusts.values()]
    places += [Place("school", s.name, s.slug, tuple(sorted(r))) for s, r in schools.values()]
    return sorted(places, key=lambda p: (p.kind != "trust", p.name))


def user_is_parent(user: User) -> bool:
    """Whether the user is linked as a guardian anywhere (guardian rows span schools, so no single scope)."""
    from django_scopes import scopes_disabled

    from registers.models import Guardian

    with scopes_disabled():
        return Guardian.objects.filter(user_id=user.pk).exists()
