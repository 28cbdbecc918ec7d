"""Changing the ladder: every stage's entry conditions, offered actions, movers and escalation, saved as a new
ladder from a day (history untouched), with a policy preview that writes nothing; the same rules in the
nightly sync (opening at the stage entered, proposing moves, escalation after N school weeks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from attendance_portal.roles import Role
from interventions import services
from interventions.ladders import RATE
from interventions.models import Action, Case, CaseEvent, Ladder, LadderStage
from interventions.rules import escalation_cutoff
from interventions.selectors import ladder_for, ladder_preview, ladder_stages
from registers.calendar import calendar_for
from reporting.models import SignalKind
from tests import factories as f
from tests.absence.conftest import at

from .conftest import ON, absent_pupil, ladder_for_tests, open_case, run_night, sync
from .factories import STAGE_FIELDS, make_case, payload, stage_specs

TODAY = dt.date(2025, 10, 27)  # the Monday after the night the signals were found (half term)


def url(school):
    return reverse("interventions:ladder", args=[school.slug])


def rows_touched() -> dict[str, int]:
    """Per table, rows inserted, updated or deleted so far in the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
                       "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0")
        return dict(cursor.fetchall())


@pytest.fixture
def travel():
    with time_machine.travel(at(TODAY, 9, 0), tick=True):
        yield


@pytest.fixture
def data(school, travel):
    """Year 4: a severe absentee on a case at stage 1, and a case whose pupil has no concern left; year 5: a
    persistent absentee the nightly found after its sync (no case yet)."""
    severe = absent_pupil(school, upn="A00000000001A", year_group="4")
    run_night(school)
    sync(school)
    absent_pupil(school, upn="A00000000002A", codes="." * 34 + "G" * 6, year_group="5")  # 85 %
    run_night(school)
    with scopes_disabled():
        recovered = make_case(school)
        recovered.pupil.year_group = "4"
        recovered.pupil.save()
    return {"severe": open_case(school, severe), "recovered": recovered}


# ---------------------------------------------------------------- the page: preview and save


def test_the_head_changes_every_part_of_a_later_stage_and_saves_a_new_ladder(school, data, world, client_as):
    stages = stage_specs(school, TODAY)
    stages[1] |= {"entry_kinds": ["severe_absence"], "entry_below_percent": "60.0", "letter": "Letter 2",
                  "meeting_type": "Support meeting with the SENCo", "movers": ["headteacher"],
                  "escalate_after_weeks": 3, "escalate_on_did_not_attend": True}
    stages[2] |= {"plan": "action_plan", "review_after_weeks": 5, "extend_weeks": 4, "referral": "Early help"}
    new = {"name": "Final warning", "notice": "Notice to improve", "movers": ["senior_attendance_champion"]}
    head = client_as(world.users["headteacher"])
    response = head.post(url(school), payload(stages, extra=new, remove=(3,), praise_letter="Well done",
                                              effective_from=(TODAY + dt.timedelta(days=7)).isoformat(), save="1"))
    assert response.status_code == 302
    with scopes_disabled():
        old, saved = Ladder.objects.order_by("effective_from")
        assert saved.effective_from == TODAY + dt.timedelta(days=7) and saved.created_by == world.users["headteacher"]
        assert saved.praise_letter == "Well done" and saved.hold_sen == old.hold_sen
        got = list(saved.stages.order_by("position"))
        assert [s.name for s in got] == ["Listen and understand", "Facilitate support", "Formalise support",
                                         "Final warning"]
        second = got[1]
        assert second.entry_kinds == ["severe_absence"] and second.entry_below_percent == Decimal("60.0")
        assert (second.letter, second.meeting_type, second.movers) == ("Letter 2", "Support meeting with the SENCo",
                                                                       ["headteacher"])
        assert second.escalate_after_weeks == 3 and second.escalate_on_did_not_attend
        assert (got[2].plan, got[2].review_after_weeks, got[2].extend_weeks, got[2].referral) == \
            ("action_plan", 5, 4, "Early help")
        assert got[3].notice == "Notice to improve" and got[3].movers == ["senior_attendance_champion"]
        # The ladder in force until then is as it was.
        assert [s.name for s in old.stages.order_by("position")][3] == "Enforce"
        assert old.stages.get(position=2).letter == ""
    page = head.get(url(school)).content.decode()
    assert "Ladder saved, in force from 3 November 2025" in page


def test_the_preview_counts_what_would_open_move_and_close_by_year_group_and_writes_nothing(school, data, world,
                                                                                           client_as):
    stages = stage_specs(school, TODAY)
    stages[0]["entry_kinds"] = ["persistent_absence", "below_threshold"]
    stages[1] |= {"entry_kinds": ["severe_absence"], "letter": "Letter 2"}
    head = client_as(world.users["headteacher"])
    head.get(url(school))  # the session and the sign-in are written before anything is counted
    with scopes_disabled():
        counts = (Ladder.objects.count(), LadderStage.objects.count(), Case.objects.count(), Action.objects.count(),
                  CaseEvent.objects.count())
    before = rows_touched()
    page = head.post(url(school), payload(stages, praise_letter="Well done", preview="1"))
    assert rows_touched() == before  # not a row inserted, updated or deleted
    with scopes_disabled():
        assert counts == (Ladder.objects.count(), LadderStage.objects.count(), Case.objects.count(),
                          Action.objects.count(), CaseEvent.objects.count())
    assert page.status_code == 200
    preview = page.context["preview"]
    assert (preview.would_open, preview.would_move, preview.would_close) == ({"5": 1}, {"4": 1}, {"4": 1})
    assert {r.year_group: r.letters for r in preview.rows} == {
        "4": {"Letter 2": 1, "Well done": 1}, "5": {"Attendance concern letter": 1}}
    # Beside the ladder in force: the same pupil opens, the severe absentee stays where it is.
    now = preview.current
    assert (now.would_open, now.would_move, now.would_close) == ({"5": 1}, {}, {"4": 1})
    html = page.content.decode()
    assert "What this would do today (nothing is saved)" in html and "1 × Letter 2" in html
    assert "(now 0)" in html
    # The form keeps what was typed, to change again or save.
    assert 'value="Letter 2"' in html


def test_the_preview_counts_a_case_whose_escalation_has_run_out(school, data, world, client_as):
    with scopes_disabled():
        Case.objects.filter(pk=data["severe"].pk).update(stage_since=dt.date(2025, 9, 8))  # 7 school weeks ago
    head = client_as(world.users["headteacher"])
    stages = stage_specs(school, TODAY)
    page = head.post(url(school), payload(stages, preview="1"))
    assert page.context["preview"].would_move == {"4": 1}  # stage 1: no improvement after 4 school weeks
    stages[0]["escalate_after_weeks"] = 8
    page = head.post(url(school), payload(stages, preview="1"))
    assert page.context["preview"].would_move == {} and page.context["preview"].current.would_move == {"4": 1}


def test_an_attendance_threshold_enters_a_stage_in_the_preview(school, data, world, client_as):
    stages = stage_specs(school, TODAY)
    stages[0] |= {"entry_kinds": [], "entry_below_percent": "90.0"}  # 85 % and 50 % are below it
    page = client_as(world.users["headteacher"]).post(url(school), payload(stages, preview="1"))
    assert page.context["preview"].would_open == {"5": 1}
    stages[0]["entry_below_percent"] = "80.0"
    page = client_as(world.users["headteacher"]).post(url(school), payload(stages, preview="1"))
    assert page.context["preview"].would_open == {}


def test_the_officer_reads_the_ladder_but_cannot_preview_or_change_it(school, data, world, client_as):
    officer = client_as(world.users["attendance_officer"])
    page = officer.get(url(school)).content.decode()
    assert "Listen and understand" in page and "Save the change" not in page
    assert officer.post(url(school), payload(stage_specs(school, TODAY), preview="1")).status_code == 403
    assert officer.post(url(school), payload(stage_specs(school, TODAY), save="1")).status_code == 403
    with scopes_disabled():
        assert Ladder.objects.count() == 1
    champion = client_as(world.users["senior_attendance_champion"])
    assert "Save the change" in champion.get(url(school)).content.decode()


def _bad(stages: list[dict[str, Any]], n: int, **change: Any) -> list[dict[str, Any]]:
    changed = [dict(s) for s in stages]
    changed[n] |= change
    return changed


BAD = [
    ("no opening condition", lambda s: payload(_bad(s, 0, entry_kinds=[], entry_below_percent=None), save="1"),
     "Stage 1: choose at least one concern or an attendance threshold"),
    ("unknown concern", lambda s: payload(_bad(s, 1, entry_kinds=["nonsense"]), save="1"),
     "Select a valid choice. nonsense is not one of the available choices"),
    ("the last stage escalates", lambda s: payload(_bad(s, 3, escalate_after_weeks=4), save="1"),
     "is the last: there is no stage to move a case on to"),
    ("a day in the past", lambda s: payload(s, effective_from="2025-10-01", save="1"),
     "A change starts today or later"),
    ("a threshold over 100", lambda s: payload(_bad(s, 0, entry_below_percent="120"), save="1"),
     "less than or equal to 100"),
    ("no weeks", lambda s: payload(_bad(s, 1, escalate_after_weeks=0), save="1"), "greater than or equal to 1"),
    ("weeks that are not a number", lambda s: payload(_bad(s, 2, review_after_weeks="six"), save="1"),
     "Enter a whole number"),
    ("a stage without a name", lambda s: payload(_bad(s, 2, name=""), save="1"),
     "Stage 3, name of the stage: This field is required"),
    ("every stage removed", lambda s: payload(s, remove=(0, 1, 2, 3), save="1"), "A ladder needs at least one stage"),
    ("a role that cannot move cases", lambda s: payload(_bad(s, 1, movers=["governor"]), save="1"),
     "Select a valid choice. governor is not one of the available choices"),
    ("an unknown plan", lambda s: payload(_bad(s, 2, plan="bond"), save="1"), "Select a valid choice"),
    ("no ladder name", lambda s: payload(s, name="", save="1"), "Name of the ladder: This field is required"),
    ("the form's bookkeeping missing", lambda s: {"name": "x", "save": "1"}, "ManagementForm data is missing"),
    ("too many stages", lambda s: payload(s * 4, save="1"), "Please submit at most 12 forms"),
    ("the day a ladder already starts", lambda s: payload(s, effective_from=TODAY.isoformat(), save="1"),
     "A ladder already starts on 27 October 2025"),
]


@pytest.mark.parametrize(("what", "make", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_ladder_input_gives_a_clear_message_and_writes_nothing(what, make, message, school, data, world,
                                                                  client_as):
    head = client_as(world.users["headteacher"])
    if what == "the day a ladder already starts":
        assert head.post(url(school), payload(stage_specs(school, TODAY), save="1")).status_code == 302  # today's
    head.get(url(school))
    with scopes_disabled():
        ladders = list(Ladder.objects.values_list("pk", flat=True))
        stages = LadderStage.objects.count()
    before = rows_touched()
    response = head.post(url(school), make(stage_specs(school, TODAY)))
    assert response.status_code == 400
    assert message in response.content.decode(), response.content.decode()[:3000]
    assert rows_touched() == before
    with scopes_disabled():
        assert list(Ladder.objects.values_list("pk", flat=True)) == ladders
        assert LadderStage.objects.count() == stages


# ---------------------------------------------------------------- history is never rewritten


def test_a_change_applies_to_new_actions_and_never_rewrites_a_cases_history(school, data, world, client_as):
    case = data["severe"]
    officer, head = world.users["attendance_officer"], world.users["headteacher"]
    with scope(school=school):
        old_ladder = ladder_for(school=school, day=TODAY)
        first = services.stage_letter_propose(case=case, by=officer)
        services.action_decide(action=first, decision="approve", by=officer, reason="Checked the context")
        history = list(CaseEvent.objects.filter(case=case).order_by("pk")
                       .values_list("pk", "kind", "title", "why", "detail", "sessions", "figures", "at"))
        actions = list(Action.objects.filter(case=case).values_list("pk", "title", "status", "stage_id", "sessions"))
        old_stages = list(old_ladder.stages.order_by("position").values_list("pk", *STAGE_FIELDS))
    assert actions[0][3] == case.stage_id
    stages = stage_specs(school, TODAY)
    stages[0] |= {"letter": "First letter, new wording", "movers": ["headteacher"]}
    stages[1] |= {"name": "Support plan meeting"}
    assert client_as(head).post(url(school), payload(stages, save="1")).status_code == 302

    with scope(school=school):
        new_ladder = ladder_for(school=school, day=TODAY)
        assert new_ladder.pk != old_ladder.pk and new_ladder.effective_from == TODAY
        # Nothing written before the change has changed: the old ladder, the case's stage, the timeline, actions.
        assert list(old_ladder.stages.order_by("position").values_list("pk", *STAGE_FIELDS)) == old_stages
        assert Case.objects.get(pk=case.pk).stage_id == case.stage_id
        assert list(CaseEvent.objects.filter(case=case).order_by("pk")
                    .values_list("pk", "kind", "title", "why", "detail", "sessions", "figures", "at")) == history
        assert list(Action.objects.filter(case=case).values_list("pk", "title", "status", "stage_id",
                                                                 "sessions")) == actions
    # New actions follow the new ladder: its letter, at its stage row...
    page = client_as(officer).get(reverse("interventions:case", args=[school.slug, case.pk])).content.decode()
    assert 'Propose "First letter, new wording"' in page and "Support plan meeting" in page
    with scope(school=school):
        second = services.stage_letter_propose(case=Case.objects.get(pk=case.pk), by=officer)
        assert second.title == "First letter, new wording"
        assert second.stage.ladder_id == new_ladder.pk and second.stage.position == 1
        following = new_ladder.stages.get(position=2)
    # ...and its rule on who may move the case on from this stage.
    move = reverse("interventions:case_stage", args=[school.slug, case.pk])
    assert client_as(officer).post(move, {"stage": following.pk, "why": "No change"}).status_code == 403
    client_as(head).post(move, {"stage": following.pk, "why": "No change in four weeks"})
    with scope(school=school):
        moved = Case.objects.get(pk=case.pk)
        assert moved.stage_id == following.pk
        assert CaseEvent.objects.filter(case=case, title="Moved from Listen and understand to Support plan meeting") \
            .exists()
        # The history before the move still reads as it was.
        assert list(CaseEvent.objects.filter(case=case, pk__lte=history[-1][0]).order_by("pk")
                    .values_list("pk", "kind", "title", "why", "detail", "sessions", "figures", "at")) == history


# ---------------------------------------------------------------- the same rules in the nightly sync


STAGED = {
    "name": "Staged",
    "stages": [
        {"name": "Letter", "entry_kinds": [SignalKind.PERSISTENT_ABSENCE.value], "letter": "Letter 1"},
        {"name": "Meeting", "entry_kinds": [SignalKind.SEVERE_ABSENCE.value], "meeting_type": "Meeting",
         "movers": [Role.HEADTEACHER.value]},
        {"name": "Referral", "referral": "LA"},
    ],
}


def test_the_nightly_opens_a_case_at_the_stage_its_concerns_enter_and_proposes_moving_on_an_open_one(school):
    ladder_for_tests(school, STAGED, day=dt.date(2025, 9, 2))
    severe = absent_pupil(school, upn="A00000000001A")  # 50 %: severe and persistent
    by_hand = absent_pupil(school, upn="A00000000002A")
    persistent = absent_pupil(school, upn="A00000000003A", codes="." * 34 + "G" * 6)
    with scope(school=school):
        services.case_open(school=school, enrolment=by_hand, by=f.UserFactory(), reason="Known to us",
                           on=dt.date(2025, 9, 15))
    run_night(school)
    result = sync(school)
    assert result.opened == 2 and result.moves == 1
    assert open_case(school, severe).stage.name == "Meeting"
    assert open_case(school, persistent).stage.name == "Letter"
    with scope(school=school):
        opened = CaseEvent.objects.get(case=open_case(school, severe), kind="opened")
    assert opened.why == "Raised by the data: Severe absence (50%+)"
    proposed = open_case(school, by_hand)
    assert proposed.stage.name == "Letter"  # a person moves it (the stage says who)
    assert proposed.next_action == "Move on to Meeting (Severe absence (50%+))" and proposed.next_due == ON
    again = sync(school)
    assert (again.opened, again.moves) == (0, 0)


def test_the_nightly_proposes_moving_on_when_a_stages_escalation_runs_out(school):
    enrolment = absent_pupil(school, upn="A00000000001A")
    reviewed = absent_pupil(school, upn="A00000000002A")
    run_night(school)
    sync(school)
    case = open_case(school, enrolment)
    with scopes_disabled():  # a review booked ahead: nothing to propose until it has happened
        Case.objects.filter(pk=open_case(school, reviewed).pk).update(next_due=dt.date(2025, 12, 12))
    with scope(school=school):
        calendar = calendar_for(school=school)
    due = calendar.school_weeks_after(ON, 4)  # NATIONAL stage 1: no improvement after 4 school weeks
    assert due == dt.date(2025, 11, 28)
    assert sync(school, due - dt.timedelta(days=1)).moves == 0
    assert sync(school, due).moves == 1
    f.reload(case)
    assert case.next_action == "Move on to Facilitate support (no improvement after 4 school weeks)"
    with scopes_disabled():
        assert case.next_due == due and case.stage.position == 1
    assert sync(school, due + dt.timedelta(days=3)).moves == 0  # proposed once
    assert open_case(school, reviewed).next_action != case.next_action


def test_escalation_cutoff_is_the_inverse_of_school_weeks_after(school):
    with scope(school=school):
        calendar = calendar_for(school=school)
    days = [dt.date(2025, 9, 1) + dt.timedelta(days=n) for n in range(0, 300, 3)]
    for weeks in (1, 4, 6):
        for on in days:
            cutoff = escalation_cutoff(calendar, on, weeks)
            for since in days:
                if since > on or calendar.school_weeks_after(since, weeks) > calendar.week_mondays[-1]:
                    continue
                assert (calendar.school_weeks_after(since, weeks) <= on) == (cutoff is not None and since < cutoff), \
                    (weeks, on, since, cutoff)


def test_the_service_refuses_a_bad_ladder_whoever_calls_it(school, world):
    with scope(school=school):
        with pytest.raises(ValidationError, match="today or later"):
            services.ladder_change(school=school, stages=[{"name": "x", "entry_kinds": RATE}],
                                   effective_from=dt.date(2025, 1, 1), by=world.users["headteacher"],
                                   today=TODAY)
        with pytest.raises(ValidationError, match="not governor"):
            services.ladder_change(school=school, stages=[{"name": "x", "entry_kinds": RATE, "movers": ["governor"]}],
                                   effective_from=TODAY, by=world.users["headteacher"], today=TODAY)
        with pytest.raises(ValidationError, match="Unknown ladder rule"):
            services.ladder_change(school=school, stages=[{"name": "x", "entry_kinds": RATE}], effective_from=TODAY,
                                   by=world.users["headteacher"], today=TODAY, hold_everything=True)
        assert Ladder.objects.count() == 1


def test_the_preview_of_the_ladder_in_force_is_what_the_nightly_would_open(school):
    """The preview and the nightly read the same rules: on a fresh night, what the preview says would open is
    what the sync opens, at the same stages."""
    ladder_for_tests(school, STAGED, day=dt.date(2025, 9, 2))
    for n, codes in enumerate(["." * 20 + "G" * 20, "." * 34 + "G" * 6, "." * 40, "." * 30 + "G" * 10]):
        absent_pupil(school, upn=f"A0000000000{n}A", codes=codes, year_group=str(n + 1))
    run_night(school)
    with scope(school=school):
        ladder = ladder_for(school=school, day=ON)
        preview = ladder_preview(school=school, stages=ladder_stages(ladder=ladder), today=ON)
    sync(school)
    with scope(school=school):
        opened = dict(Case.objects.values_list("pupil__year_group", "stage__name"))
    assert preview.would_open == dict.fromkeys(opened, 1)
    assert preview.letters == {"Letter 1": sum(1 for s in opened.values() if s == "Letter")}
