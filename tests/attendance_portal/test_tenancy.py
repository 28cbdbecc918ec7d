"""School-owned tables are scoped, and no table reaches a school's rows without being school-owned itself.

A school-owned model has its own `school` foreign key and a django-scopes default manager that filters on
it (the row-level security policy is made for exactly those tables, `attendance_portal.rls`). A model that
points at a school-owned model (foreign key, one-to-one, or a many-to-many's table) must be school-owned
too, or be listed in `NOT_SCHOOL_OWNED` with the reason it belongs to someone other than one school.
"""

# The deliberately bad models near the end exist only to be inspected; they need no __str__.
# ruff: noqa: DJ008
from __future__ import annotations

from collections.abc import Iterable

import pytest
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.test.utils import isolate_apps
from django_scopes import ScopedManager, ScopeError, scope

from attendance_portal.models import School
from registers.models import Guardian, Pupil
from tests import factories as f

# Tables that carry a `school` or point at a school's rows but are not one school's. Each says why.
NOT_SCHOOL_OWNED: dict[str, str] = {
    "attendance_portal.Membership":
        "Tenancy core: a membership says which school or trust a user belongs to; it is read to decide the "
        "scope, so it cannot need one.",
    "accounts.Invitation":
        "A user-level table: an invitation is found by its token's hash before any school is known; read only "
        "through accounts.selectors, filtered by school.",
    "accounts.AccountEvent":
        "A user-level trail: one person's invitations, links and sign-in changes span schools; read only "
        "through accounts.selectors, filtered by school.",
    "penalties.PenaltyNotice":
        "The local authority's ledger: one parent's notices for one child follow them across schools and "
        "authorities; `school` only says which school referred a notice. Read through penalties.selectors.",
}

# A school id no test makes: the scoped query is only compiled, never run.
PROBE_SCHOOL_ID = 987_654_321


def school_owned(model: type[models.Model]) -> bool:
    """Its own `school` foreign key to School, and a default manager that filters on it in a school scope
    (and so refuses to run without one)."""
    try:
        field = model._meta.get_field("school")
    except FieldDoesNotExist:
        return False
    if not isinstance(field, models.ForeignKey) or field.related_model is not School:
        return False
    manager = model._default_manager
    if not hasattr(manager, "with_scopes_disabled"):  # not a django-scopes manager
        return False
    with scope(school=PROBE_SCHOOL_ID):
        sql, params = manager.all().query.sql_with_params()
    return f'."{field.column}" = %s' in sql and PROBE_SCHOOL_ID in params


def _points_at(model: type[models.Model]) -> list[str]:
    """The school-owned models this model points at: foreign keys, one-to-ones and many-to-manys."""
    found = []
    for field in [*model._meta.fields, *model._meta.many_to_many]:
        target = field.related_model
        if field.is_relation and isinstance(target, type) and target is not model and school_owned(target):
            found.append(f"{field.name} → {target._meta.label}")
    return found


def tenancy_gaps(candidates: Iterable[type[models.Model]], allowed: dict[str, str]) -> list[str]:
    """Every model that holds a school's rows without being school-owned, and is not allowed to."""
    gaps = []
    for model in candidates:
        label = model._meta.label
        if label in allowed or model._meta.proxy or school_owned(model):
            continue
        school_fks = [fld.name for fld in model._meta.fields
                      if isinstance(fld, models.ForeignKey) and fld.related_model is School]
        if school_fks:
            gaps.append(f"{label} has a school foreign key ({', '.join(school_fks)}) but no manager scoped on "
                        "its own `school`")
        targets = _points_at(model)
        if targets:
            gaps.append(f"{label} points at school-owned rows ({'; '.join(targets)}) but is not school-owned")
    return gaps


def all_models() -> list[type[models.Model]]:
    return list(apps.get_models(include_auto_created=True))  # many-to-many tables too


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


def test_every_model_with_a_school_or_a_school_owned_parent_is_school_owned():
    gaps = tenancy_gaps(all_models(), NOT_SCHOOL_OWNED)
    assert not gaps, "\n".join(gaps)


def test_every_exception_is_real_and_gives_its_reason():
    models_by_label = {m._meta.label: m for m in all_models()}
    for label, reason in NOT_SCHOOL_OWNED.items():
        assert label in models_by_label, f"{label} is listed but is no model; remove it"
        assert not school_owned(models_by_label[label]), f"{label} is school-owned now; remove it from the list"
        assert len(reason.split()) >= 8, f"{label}: say why it is not one school's"


def test_unique_constraints_on_school_owned_models_include_school():
    offenders = []
    for model in all_models():
        if not school_owned(model):
            continue
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and "school" not in constraint.fields:
                offenders.append(f"{model._meta.label}.{constraint.name}")
    assert not offenders, offenders


# ---------------------------------------------------------------- the check can fail


def test_the_check_knows_school_owned_models_from_others():
    assert school_owned(Pupil) and school_owned(Guardian)
    assert not school_owned(School)
    assert not school_owned(apps.get_model("attendance_portal.Membership"))  # a school, but not scoped on it


@isolate_apps("tests")
def test_the_check_fails_for_child_tables_that_are_not_school_owned():
    class PupilNote(models.Model):  # a child of a pupil with no school of its own
        pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tests"

    class GuardianBadge(models.Model):  # one-to-one is a pointer too
        guardian = models.OneToOneField(Guardian, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tests"

    class UnscopedNote(models.Model):  # a school column, but a plain manager: nothing filters on it
        school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
        pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tests"

    class ScopedElsewhere(models.Model):  # scoped, but on the pupil's school rather than its own
        pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
        objects = ScopedManager(school="pupil__school")

        class Meta:
            app_label = "tests"

    class GoodNote(models.Model):
        school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
        pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="+")
        objects = ScopedManager(school="school")

        class Meta:
            app_label = "tests"

    class PupilList(models.Model):  # a many-to-many to pupils, from a table that is not a school's
        pupils = models.ManyToManyField(Pupil, related_name="+")

        class Meta:
            app_label = "tests"

    class Unrelated(models.Model):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "tests"

    candidates = [PupilNote, GuardianBadge, UnscopedNote, ScopedElsewhere, GoodNote, PupilList, Unrelated]
    gaps = tenancy_gaps(candidates, {})
    assert gaps == [
        "tests.PupilNote points at school-owned rows (pupil → registers.Pupil) but is not school-owned",
        "tests.GuardianBadge points at school-owned rows (guardian → registers.Guardian) but is not school-owned",
        "tests.UnscopedNote has a school foreign key (school) but no manager scoped on its own `school`",
        "tests.UnscopedNote points at school-owned rows (pupil → registers.Pupil) but is not school-owned",
        "tests.ScopedElsewhere points at school-owned rows (pupil → registers.Pupil) but is not school-owned",
        "tests.PupilList points at school-owned rows (pupils → registers.Pupil) but is not school-owned",
    ]
    # The many-to-many's own table (made by Django, no school of its own) is caught too.
    through = PupilList._meta.get_field("pupils").remote_field.through
    assert tenancy_gaps([through], {}) == [
        f"tests.{through.__name__} points at school-owned rows (pupil → registers.Pupil) but is not school-owned"]
    # Listing a table with its reason lets it through; nothing else does.
    assert tenancy_gaps([PupilNote], {"tests.PupilNote": "a reason"}) == []


def test_the_check_fails_for_a_real_table_taken_off_the_list():
    allowed = {k: v for k, v in NOT_SCHOOL_OWNED.items() if k != "penalties.PenaltyNotice"}
    gaps = tenancy_gaps(all_models(), allowed)
    assert len(gaps) == 2 and all(g.startswith("penalties.PenaltyNotice ") for g in gaps), gaps
    assert "guardian → registers.Guardian" in gaps[1] and "referral → penalties.Referral" in gaps[1]
