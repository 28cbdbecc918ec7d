"""The restore check: each school's register and amendment trail reduce to digests that any change alters."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_scopes import scope

from registers.backup import register_digest, register_digests
from registers.services import MarkEntry, marks_save

from .conftest import MONDAY


def test_a_mark_or_an_amendment_changes_the_digest_of_its_school_only(klass, world):
    k = klass
    with scope(school=k.school):
        marks_save(school=k.school, entries=[MarkEntry(p.pk, MONDAY, "AM", "/") for p in k.pupils], by=k.office)
    first = register_digest(school=k.school)
    other = register_digest(school=world.other)
    assert (first.marks, first.events) == (5, 5)
    assert register_digest(school=k.school) == first  # the same data, the same digest

    with scope(school=k.school):
        marks_save(school=k.school, entries=[MarkEntry(k.pupils[0].pk, MONDAY, "AM", "I", expected_version=1)],
                   by=k.office, reason="Parent phoned")
    amended = register_digest(school=k.school)
    assert amended.marks_sha256 != first.marks_sha256 and amended.events == 6
    assert amended.events_sha256 != first.events_sha256
    assert register_digest(school=world.other) == other


@pytest.mark.django_db(transaction=True)
def test_restore_check_passes_for_an_identical_database_and_needs_a_target(klass):
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(p.pk, MONDAY, "AM", "/") for p in klass.pupils],
                   by=klass.office)
    params = connection.get_connection_params()
    url = f"postgres://{quote(params['user'])}@/{params['dbname']}?host={quote(params.get('host') or '')}"
    if params.get("port"):
        url += f"&port={params['port']}"
    out = io.StringIO()
    call_command("restore_check", "--against", url, stdout=out)
    assert f"restore identical: {len(register_digests())} schools, 5 marks" in out.getvalue()
    with pytest.raises(CommandError, match="--against"):
        call_command("restore_check")
