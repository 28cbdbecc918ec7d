"""The register page: one request saves a whole register, with conflicts, errors and fixed query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers.models import Mark, MarkEvent
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, make_class


def url(k, day=MONDAY, session="AM"):
    return reverse("registers:register", kwargs={"school_slug": k.school.slug, "group_id": k.group.pk,
                                                 "date": day, "session": session})


def form(pupils, code="/", versions=None, **extra):
    data = {}
    for p in pupils:
        data[f"code_{p.pk}"] = code
        data[f"minutes_{p.pk}"] = ""
        data[f"note_{p.pk}"] = ""
        data[f"version_{p.pk}"] = (versions or {}).get(p.pk, "")
    data.update(extra)
    return data


def marks(k):
    with scope(school=k.school):
        return {m.pupil_id: m for m in Mark.objects.filter(school=k.school)}


def test_page_lists_every_enrolled_pupil_with_only_valid_codes(klass, client_as):
    with scopes_disabled():
        left = f.EnrolmentFactory(pupil__school=klass.school, pupil__registration_group=klass.group,
                                  pupil__surname="Gone", leaving_date=MONDAY.replace(day=1)).pupil
    page = client_as(klass.office).get(url(klass))
    assert page.status_code == 200
    html = page.content.decode()
    for p in klass.pupils:
        assert f'name="code_{p.pk}"' in html
        assert f'name="version_{p.pk}"' in html
    assert f'name="code_{left.pk}"' not in html  # left before this date
    assert 'value="Y4"' in html
    assert 'value="H"' not in html
    assert 'value="#"' not in html
    assert "register.js" in html
    assert "register.css" in html


def test_plain_post_saves_the_whole_register_and_redirects(klass, client_as):
    client = client_as(klass.teacher)
    data = form(klass.pupils)
    data[f"code_{klass.pupils[1].pk}"] = "l"
    data[f"minutes_{klass.pupils[1].pk}"] = "7"
    data[f"code_{klass.pupils[2].pk}"] = ""  # left unmarked
    response = client.post(url(klass), data)
    assert response.status_code == 302
    assert response["Location"] == url(klass)
    saved = marks(klass)
    assert len(saved) == 4
    assert (saved[klass.pupils[1].pk].code, saved[klass.pupils[1].pk].minutes_late) == ("L", 7)
    page = client.get(url(klass)).content.decode()
    assert "Register saved: 4 marks" in page
    assert "4</span> of 5" in page


def test_afternoon_present_code_and_fill_button_without_javascript(klass, client_as):
    data = form(klass.pupils, code="", fill="present")
    data[f"code_{klass.pupils[0].pk}"] = "N"
    client_as(klass.teacher).post(url(klass, session="PM"), data)
    saved = marks(klass)
    assert saved[klass.pupils[0].pk].code == "N"
    assert {saved[p.pk].code for p in klass.pupils[1:]} == {"\\"}


def test_htmx_save_the_page_already_shows_gets_only_the_changed_parts(klass, client_as):
    """The open page shows what was saved: the answer is the notice, the count and each row's new version
    and links, swapped in by id; the register is not drawn again."""
    response = client_as(klass.office).post(url(klass), form(klass.pupils), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert response["HX-Trigger-After-Settle"] == "register-saved"
    html = response.content.decode()
    assert "<select" not in html and "<html" not in html
    assert "Register saved: 5 marks recorded or changed. The register is complete." in html
    assert '<div id="register-status" hx-swap-oob="true">' in html
    assert "5</span> of 5 pupils" in html
    saved = marks(klass)
    assert len(saved) == 5
    for p in klass.pupils:
        # The next save must send the stored version, or it would be refused as someone else's change.
        assert (f'<input type="hidden" id="version_{p.pk}" name="version_{p.pk}" '
                f'value="{saved[p.pk].version}" hx-swap-oob="true">') in html
        assert f'<template><td class="row-msg" id="msg_{p.pk}" hx-swap-oob="true">' in html
    assert html.count(">Amend</a>") == 5  # the office may amend the marks it has just saved
    assert len(response.content) < 8_000


def test_htmx_save_of_a_register_changed_meanwhile_draws_it_again(klass, client_as):
    """A row left blank on this page was marked by someone else while it was open: the page must show that
    mark, so the whole register comes back."""
    data = form(klass.pupils)
    data[f"code_{klass.pupils[4].pk}"] = ""
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(klass.pupils[4].pk, MONDAY, "AM", "N")], by=klass.office)
    response = client_as(klass.teacher).post(url(klass), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Reswap" not in response
    assert html.lstrip().startswith('<div id="register"')
    assert "Register saved: 4 marks" in html and "The register is complete" in html
    assert '<option value="N" selected>' in html


def test_htmx_fill_present_without_javascript_draws_the_register_again(klass, client_as):
    data = form(klass.pupils, code="", fill="present")
    response = client_as(klass.teacher).post(url(klass, session="PM"), data, HTTP_HX_REQUEST="true")
    assert "HX-Reswap" not in response
    assert response.content.decode().lstrip().startswith('<div id="register"')
    assert {m.code for m in marks(klass).values()} == {"\\"}


def test_htmx_save_with_a_tidied_value_draws_the_register_again(klass, client_as):
    data = form(klass.pupils)
    data[f"code_{klass.pupils[0].pk}"] = "L"
    data[f"minutes_{klass.pupils[0].pk}"] = "07"  # stored as 7: the page must show what was stored
    response = client_as(klass.teacher).post(url(klass), data, HTTP_HX_REQUEST="true")
    assert "HX-Reswap" not in response
    pk = klass.pupils[0].pk
    assert f'id="minutes_{pk}" name="minutes_{pk}" value="7"' in response.content.decode()


def test_repeat_submission_changes_nothing(klass, client_as):
    client = client_as(klass.teacher)
    client.post(url(klass), form(klass.pupils))
    versions = {p.pk: 1 for p in klass.pupils}
    assert client.post(url(klass), form(klass.pupils, versions=versions)).status_code == 302
    with scope(school=klass.school):
        assert MarkEvent.objects.filter(school=klass.school).count() == 5


@pytest.mark.parametrize(("field", "value", "message"), [
    ("code", "Q9", "is not a code that can be used on 08 September 2025"),
    ("code", "#", "is not a code that can be used"),
    ("code", "H", "is not a code that can be used"),  # legacy, ended 2024
    ("minutes", "seven", "Minutes late must be a whole number"),
    ("minutes", "-3", "Minutes late must be a whole number"),
    ("minutes", "5", "Minutes late can only be given with L or U"),
    ("minutes", "301", "Minutes late must be between 0 and 300"),
    ("note", "x" * 301, "Notes are limited to 300 characters"),
    ("version", "abc", "This row was not sent correctly"),
])
def test_bad_row_is_reported_and_nothing_is_written(klass, client_as, field, value, message):
    data = form(klass.pupils)
    target = klass.pupils[3]
    if field == "minutes" and value in ("301",):
        data[f"code_{target.pk}"] = "L"
    data[f"{field}_{target.pk}"] = value
    response = client_as(klass.teacher).post(url(klass), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Nothing was saved" in html
    assert marks(klass) == {}


def test_minutes_without_a_code_is_an_error(klass, client_as):
    data = form(klass.pupils)
    data[f"code_{klass.pupils[0].pk}"] = ""
    data[f"minutes_{klass.pupils[0].pk}"] = "5"
    response = client_as(klass.teacher).post(url(klass), data)
    assert response.status_code == 400
    assert "Choose a code before giving minutes late" in response.content.decode()
    assert marks(klass) == {}


def test_changing_a_saved_mark_needs_amend_permission_and_a_reason(klass, client_as):
    client_as(klass.teacher).post(url(klass), form(klass.pupils))
    versions = {p.pk: 1 for p in klass.pupils}
    change = form(klass.pupils, versions=versions)
    change[f"code_{klass.pupils[0].pk}"] = "I"
    # A class teacher may make first marks but not change saved ones.
    teacher = client_as(klass.teacher).post(url(klass), change)
    assert teacher.status_code == 400
    assert "cannot change a saved mark" in teacher.content.decode()
    # The office may, with a reason.
    office = client_as(klass.office)
    no_reason = office.post(url(klass), change)
    assert no_reason.status_code == 400
    assert "A reason is needed" in no_reason.content.decode()
    assert marks(klass)[klass.pupils[0].pk].code == "/"
    ok = office.post(url(klass), {**change, "reason": "Mother phoned: flu"})
    assert ok.status_code == 302
    assert marks(klass)[klass.pupils[0].pk].code == "I"
    with scope(school=klass.school):
        event = MarkEvent.objects.filter(school=klass.school, pupil_id=klass.pupils[0].pk).latest("pgh_id")
    assert event.pgh_context["reason"] == "Mother phoned: flu"


def test_teacher_sees_saved_marks_locked(klass, client_as):
    client_as(klass.teacher).post(url(klass), form(klass.pupils[:1]))
    html = client_as(klass.teacher).get(url(klass)).content.decode()
    assert f'id="code_{klass.pupils[0].pk}" name="code_{klass.pupils[0].pk}" class="code" disabled' in html
    # Locked rows send nothing, so a teacher can still save the rest.
    data = form(klass.pupils[1:])
    assert client_as(klass.teacher).post(url(klass), data).status_code == 302
    assert len(marks(klass)) == 5


def test_conflict_shows_current_value_and_saves_the_rest(klass, client_as):
    first, second = client_as(klass.office), client_as(klass.head)
    # Both opened the blank register; the first saves pupil 0 as present.
    first.post(url(klass), form(klass.pupils[:1], code="/"))
    data = form(klass.pupils, code="/")
    data[f"code_{klass.pupils[0].pk}"] = "N"
    response = second.post(url(klass), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "changed by someone else" in html
    assert "It is now <strong>/</strong>" in html
    saved = marks(klass)
    assert saved[klass.pupils[0].pk].code == "/"
    assert len(saved) == 5


def test_different_pupils_of_one_register_never_conflict(klass, client_as):
    office, head = client_as(klass.office), client_as(klass.head)
    office.post(url(klass), form(klass.pupils))
    versions = {p.pk: 1 for p in klass.pupils}
    # Both open the saved register; each changes a different pupil and sends every row back.
    a = form(klass.pupils, versions=versions, reason="late bus")
    a[f"code_{klass.pupils[0].pk}"] = "L"
    a[f"minutes_{klass.pupils[0].pk}"] = "6"
    b = form(klass.pupils, versions=versions, reason="phoned in")
    b[f"code_{klass.pupils[1].pk}"] = "I"
    assert office.post(url(klass), a).status_code == 302
    response = head.post(url(klass), b)
    assert response.status_code == 302, response.content.decode()[:500]
    saved = marks(klass)
    assert (saved[klass.pupils[0].pk].code, saved[klass.pupils[1].pk].code) == ("L", "I")


def test_closed_session_cannot_be_marked(klass, client_as):
    inset = MONDAY.replace(month=11, day=14)
    page = client_as(klass.teacher).get(url(klass, day=inset))
    assert "no AM session" in page.content.decode()
    assert "INSET" in page.content.decode()
    response = client_as(klass.teacher).post(url(klass, day=inset), form(klass.pupils))
    assert response.status_code == 400
    assert "INSET day" in response.content.decode()
    assert marks(klass) == {}


def test_pupil_from_another_group_or_school_cannot_be_slipped_in(klass, client_as, world):
    with scopes_disabled():
        other = f.EnrolmentFactory(pupil__school=world.other).pupil
    data = {**form(klass.pupils), f"code_{other.pk}": "N", f"version_{other.pk}": ""}
    assert client_as(klass.teacher).post(url(klass), data).status_code == 302
    with scopes_disabled():
        assert not Mark.objects.filter(pupil=other).exists()


@pytest.mark.parametrize("bad", ["2025-02-30", "2025-9-8", "tomorrow"])
def test_bad_dates_and_sessions_are_404(klass, client_as, bad):
    base = f"/s/{klass.school.slug}/registers/{klass.group.pk}/"
    client = client_as(klass.teacher)
    assert client.get(f"{base}{bad}/AM/").status_code == 404
    assert client.get(f"{base}2025-09-08/XX/").status_code == 404


def test_roles_without_marking_are_refused(klass, client_as, world):
    assert client_as(world.users["governor"]).get(url(klass)).status_code == 403
    assert client_as(world.users["governor"]).post(url(klass), form(klass.pupils)).status_code == 403
    assert marks(klass) == {}


def _queries(client, method, target, data=None):
    with CaptureQueriesContext(connection) as ctx:
        extra = {"HTTP_HX_REQUEST": "true"} if method == "post" else {}
        response = getattr(client, method)(target, data or {}, **extra)
    assert response.status_code == 200, response.content.decode()[:300]
    return len(ctx.captured_queries)


def test_page_and_save_use_a_fixed_number_of_queries(world, client_as):
    from .conftest import Klass

    small_group, small = make_class(world.school, 5, name="5S")
    big_group, big = make_class(world.school, 30, name="5L", calendar=False)
    user = world.users["office_staff"]
    client = client_as(user)
    counts = {}
    for label, group, pupils in (("small", small_group, small), ("big", big_group, big)):
        k = Klass(world.school, group, pupils, user, user, user)
        counts[label] = (
            _queries(client, "get", url(k)),
            _queries(client, "post", url(k), form(pupils)),  # first marks
            _queries(client, "post", url(k), {**form(pupils, code="N", versions={p.pk: 1 for p in pupils}),
                                              "reason": "recount"}),  # amendments
        )
    assert counts["small"] == counts["big"], counts
    # The morning's two requests are the hottest in the product: the session, the account's roles, the
    # school, the register's reads and the write, and nothing read twice.
    assert max(counts["big"]) <= 15, counts


def test_plain_save_query_count_is_fixed(world, client_as):
    small_group, small = make_class(world.school, 5, name="5S")
    big_group, big = make_class(world.school, 30, name="5L", calendar=False)
    client = client_as(world.users["office_staff"])
    counts = []
    for group, pupils in ((small_group, small), (big_group, big)):
        target = reverse("registers:register", kwargs={"school_slug": world.school.slug, "group_id": group.pk,
                                                       "date": MONDAY, "session": "AM"})
        with CaptureQueriesContext(connection) as ctx:
            assert client.post(target, form(pupils)).status_code == 302
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_saving_through_the_service_shows_on_the_page(klass, client_as):
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(klass.pupils[0].pk, MONDAY, "AM", "M")], by=klass.office)
    html = client_as(klass.teacher).get(url(klass)).content.decode()
    assert '<option value="M" selected>' in html


def test_each_row_offers_every_code_with_only_its_own_selected(klass, client_as):
    """The menus are joined once per code a register shows: rows with different saved codes, and unmarked
    rows, each get the full menu with only their own code chosen."""
    import re

    first, second = klass.pupils[0], klass.pupils[1]
    with scope(school=klass.school):
        marks_save(school=klass.school, by=klass.office, entries=[
            MarkEntry(first.pk, MONDAY, "AM", "M"), MarkEntry(second.pk, MONDAY, "AM", "I")])
    html = client_as(klass.office).get(url(klass)).content.decode()
    menus = dict(re.findall(r'<select id="code_(\d+)"[^>]*>(.*?)</select>', html, re.S))
    assert set(menus) == {str(p.pk) for p in klass.pupils}
    offered = {p.pk: re.findall(r'<option value="([^"]*)"', menus[str(p.pk)]) for p in klass.pupils}
    assert len({tuple(v) for v in offered.values()}) == 1  # the same codes on every row
    chosen = {p.pk: re.findall(r'<option value="([^"]*)" selected', menus[str(p.pk)]) for p in klass.pupils}
    assert chosen[first.pk] == ["M"]
    assert chosen[second.pk] == ["I"]
    assert all(chosen[p.pk] == [] for p in klass.pupils[2:])


def test_a_register_finds_each_pupils_row_and_follows_new_rows():
    from registers.marking import Register, RegisterRow
    from registers.models import Pupil

    rows = [RegisterRow(pupil=Pupil(pk=n), mark=None) for n in (5, 9)]
    reg = Register(group=None, day=MONDAY, session="AM", rows=rows, times=None)  # type: ignore[arg-type]
    assert reg.row_for(9) is rows[1]
    assert reg.row_for(7) is None
    reg.rows.append(RegisterRow(pupil=Pupil(pk=7), mark=None))
    assert reg.row_for(7) is reg.rows[2]
    reg.rows = [RegisterRow(pupil=Pupil(pk=9), mark=None)]
    assert reg.row_for(9) is reg.rows[0]
    assert reg.row_for(5) is None


def test_locking_a_register_reads_the_clock_once_and_keeps_the_rules(monkeypatch):
    """Whether the register is still open is asked once per register, not once per row; a mark someone else
    saved, or a code outside the role's, is locked whatever the time."""
    import datetime as dt

    from attendance_portal.models import User
    from registers import marking
    from registers.marking import Register, RegisterRow, register_lock_rows
    from registers.models import Mark, Pupil

    reads = []
    monkeypatch.setattr(marking, "local_now", lambda: reads.append(1) or dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
    me = User(pk=1)
    rows = [RegisterRow(pupil=Pupil(pk=n), mark=Mark(code="/", recorded_by_id=1)) for n in range(30)]
    rows.append(RegisterRow(pupil=Pupil(pk=30), mark=Mark(code="/", recorded_by_id=2)))
    rows.append(RegisterRow(pupil=Pupil(pk=31), mark=Mark(code="M", recorded_by_id=1)))
    rows.append(RegisterRow(pupil=Pupil(pk=32), mark=None))
    closes = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    reg = Register(group=None, day=MONDAY, session="AM", rows=rows, times=None, closes_at=closes,  # type: ignore[arg-type]
                   allowed=frozenset({"/", "L", "N"}))
    register_lock_rows(register=reg, user=me, may_amend=False)
    assert len(reads) == 1
    assert [r.locked for r in rows[:30]] == [False] * 30  # my own marks, still open
    assert rows[30].locked and rows[31].locked and not rows[32].locked
    reg.closes_at = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)  # closed: my own marks lock too
    register_lock_rows(register=reg, user=me, may_amend=False)
    assert all(r.locked for r in rows[:32]) and not rows[32].locked
