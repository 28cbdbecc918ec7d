"""Celery tasks for penalty notices: the daily check of notices to improve, and the nightly raising of
unpaid notices past their deadline.

Both work from the state of the rows, not from a message: a day the broker lost is caught up by the next
run (the check counts the sessions since each notice was given; the overdue mark is set once, by
compare-and-set), so neither needs a sweeper of its own.
"""
from __future__ import annotations

from celery import shared_task

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask, schools_fan_out

from .services import (
    evidence_pack_build,
    evidence_packs_sweep,
    notices_overdue_raise,
    notices_to_improve_check,
)


@shared_task(base=SchoolTask, name="penalties.notices_to_improve_check_school", acks_late=True)
def notices_to_improve_check_school(*, school: School) -> dict[str, int]:
    return notices_to_improve_check(school=school)


@shared_task(name="penalties.notices_to_improve_check_all", acks_late=True)
def notices_to_improve_check_all() -> int:
    return schools_fan_out(notices_to_improve_check_school)


@shared_task(name="penalties.notices_overdue", acks_late=True)
def notices_overdue() -> int:
    return notices_overdue_raise()


@shared_task(base=SchoolTask, acks_late=True, name="penalties.evidence_pack_build")
def evidence_pack_build_task(*, school: School, pack_id: int) -> bool:
    return evidence_pack_build(pack_id=pack_id)


@shared_task(acks_late=True, name="penalties.evidence_packs_sweep")
def evidence_packs_sweep_task() -> int:
    return evidence_packs_sweep()
