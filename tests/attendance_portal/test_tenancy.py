from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django_scopes import ScopeError, scope

from attendance_portal.models import School
from registers.models import Pupil
from tests import factories as f

UNSCOPED_ALLOWED = {
    # Tenancy core: these rows define the tenants and who belongs to them.
    "attendance_portal.Membership",
    # Accounts: an invitation is found by its token's hash before any school is known, and one person's
    # trail spans schools; both are read only through accounts.selectors, filtered by school.
    "accounts.Invitation",
    "accounts.AccountEvent",
    # The local authority's penalty-notice ledger: one parent's notices for one child follow them across
    # schools and authorities; `school` only says which school referred a notice. Read through penalties.selectors.
    "penalties.PenaltyNotice",
}


def test_query_without_scope_raises(world):
    f.PupilFactory(school=world.school)
    with pytest.raises(ScopeError):
        Pupil.objects.count()


def test_scope_sees_only_its_own_school(world):
    f.PupilFactory(school=world.school, surname="Mine")
    f.PupilFactory(school=world.other, surname="Theirs")
    with scope(school=world.school):
        assert list(Pupil.objects.values_list("surname", flat=True)) == ["Mine"]
        assert Pupil.objects.filter(school=world.other).count() == 0


def test_every_school_owned_model_has_its_own_school_fk_and_a_scoped_manager():
    offenders = []
    for model in apps.get_models():
        label = model._meta.label
        fk_to_school = [
            fld for fld in model._meta.fields
            if isinstance(fld, models.ForeignKey) and fld.related_model is School
        ]
        if not fk_to_school or label in UNSCOPED_ALLOWED:
            continue
        manager = model._default_manager
        if "ScopedManager" not in type(manager).__name__ and not hasattr(manager, "_scope_dimensions") \
                and not getattr(type(manager), "__module__", "").startswith("django_scopes"):
            offenders.append(label)
    assert not offenders, f"school-owned models without a scoped default manager: {offenders}"


def test_unique_constraints_on_school_owned_models_include_school():
    offenders = []
    for model in apps.get_models():
        if not any(fld.name == "school" for fld in model._meta.fields) or model._meta.label in UNSCOPED_ALLOWED:
            continue
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and "school" not in constraint.fields:
                offenders.append(f"{model._meta.label}.{constraint.name}")
    assert not offenders, offenders
