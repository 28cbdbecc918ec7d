"""Two browsers on one register, through the register page at the same moment (threads, each with its own
database connection, all released together):

- many people change the same saved mark from the same version: exactly one is saved and every other one is
  shown the conflict with the current value, and nothing is written for them;
- two people split one register between them: every mark of both halves is saved, with no conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from registers.marking import register_codes
from registers.models import Mark, MarkEvent
from registers.services import MarkEntry, marks_save
from tests.registers.conftest import MONDAY, make_class
from tests.registers.test_register_page import form, url

from . import say, scale

pytestmark = pytest.mark.django_db(transaction=True)
CONFLICT = "changed by someone else while you were marking"
SAVED = "Register saved:"


class K:
    def __init__(self, school: Any, group: Any) -> None:
        self.school, self.group = school, group


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread and database connection."""
    gate = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            gate.wait()
            results[n] = calls[n]()
        except Exception as exc:
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_many_writers_of_one_mark_one_is_saved_and_the_others_see_the_conflict(world, client_as):
    writers = scale(8, 16)
    group, pupils = make_class(world.school, 3)
    k, office = K(world.school, group), world.users["office_staff"]
    pupil = pupils[0]
    with scope(school=k.school):
        marks_save(school=k.school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "/")], by=office)
        saved = Mark.objects.get(pupil=pupil)
        codes = [c.code for c in register_codes(day=MONDAY, session="AM", allowed=None, ahead=False)
                 if c.code not in ("/", "L", "U")][:writers]
    assert len(codes) == writers
    clients = [client_as(office) for _ in codes]

    def write(client: Any, code: str) -> Callable[[], Any]:
        data = form([pupil], code=code, versions={pupil.pk: str(saved.version)}, reason="Office checked the call log")
        return lambda: client.post(url(k), data, HTTP_HX_REQUEST="true")

    responses = _together([write(c, code) for c, code in zip(clients, codes, strict=True)])
    problems = [r for r in responses if isinstance(r, Exception) or r.status_code != 200]
    assert not problems, problems
    texts = [r.content.decode() for r in responses]
    won = [codes[n] for n, t in enumerate(texts) if "Register saved: 1 mark" in t and CONFLICT not in t]
    lost = [n for n, t in enumerate(texts) if CONFLICT in t]
    assert len(won) == 1 and len(lost) == writers - 1, [t[:300] for t in texts]
    with scopes_disabled():
        stored = Mark.objects.get(pk=saved.pk)
        events = MarkEvent.objects.filter(pgh_obj_id=saved.pk).count()
    assert (stored.code, stored.version, events) == (won[0], saved.version + 1, 2)
    say(f"{writers} people changed the same mark at once: 1 saved ({won[0]}), {len(lost)} shown the conflict "
        f"with the current value; the mark has 2 versions in its history")


def test_two_people_splitting_a_register_save_every_mark_without_conflict(world, client_as):
    group, pupils = make_class(world.school, 30)
    k = K(world.school, group)
    first, second = pupils[:15], pupils[15:]
    a, b = client_as(world.users["office_staff"]), client_as(world.users["headteacher"])
    for client in (a, b):
        assert client.get(url(k)).status_code == 200  # both have the register open, nothing saved yet

    def half(client: Any, mine: list[Any], others: list[Any]) -> Callable[[], Any]:
        data = {**form(others, code=""), **form(mine, code="/")}  # the other half is left as it was shown
        return lambda: client.post(url(k), data, HTTP_HX_REQUEST="true")

    responses = _together([half(a, first, second), half(b, second, first)])
    texts = [r.content.decode() for r in responses]
    assert [r.status_code for r in responses] == [200, 200]
    assert all(SAVED in t and CONFLICT not in t for t in texts), [t[:300] for t in texts]
    with scopes_disabled():
        stored = Mark.objects.filter(school=k.school, date=MONDAY, session="AM").count()
    assert stored == 30
    say("two people saved the two halves of one 30-pupil register at the same moment: 30 marks, no conflict")
