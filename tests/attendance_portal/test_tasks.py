"""SchoolTask: the Celery base task opens the school's scope, through a real broker and worker."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django_scopes import scopes_disabled

from attendance_portal.celery import app
from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask
from registers.models import Pupil
from tests import factories as f


@app.task(base=SchoolTask, name="tests.count_pupils", acks_late=True)
def count_pupils(*, school: School) -> int:
    assert isinstance(school, School)  # loaded once by the base task and handed to the body
    count = Pupil.objects.count()  # no explicit filter: the scope does it, or this raises
    cache.set(f"pupils-{school.pk}", count)
    return count


def test_task_body_runs_in_the_schools_scope(world):
    f.PupilFactory(school=world.school)
    f.PupilFactory(school=world.other)
    f.PupilFactory(school=world.other)
    assert count_pupils.apply(kwargs={"school_id": world.school.pk}).get() == 1
    assert count_pupils.apply(kwargs={"school_id": world.other.pk}).get() == 2


def test_task_without_school_id_is_refused(world):
    with pytest.raises(TypeError, match="school_id"):
        count_pupils.apply(kwargs={}, throw=True).get()


@pytest.mark.django_db(transaction=True)
def test_task_sent_through_the_broker_runs_on_a_worker(world):
    with scopes_disabled():
        f.PupilFactory(school=world.sister)
    cache.delete(f"pupils-{world.sister.pk}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        count_pupils.delay(school_id=world.sister.pk)
        for _ in range(100):
            if cache.get(f"pupils-{world.sister.pk}") is not None:
                break
            import time

            time.sleep(0.1)
    assert cache.get(f"pupils-{world.sister.pk}") == 1


def test_a_send_whose_arguments_do_not_fit_the_body_is_refused_before_it_leaves(world):
    with pytest.raises(TypeError, match="school_id"):
        count_pupils.apply_async(kwargs={})
    with pytest.raises(TypeError):
        count_pupils.apply_async(kwargs={"school_id": world.school.pk, "colour": "red"})
