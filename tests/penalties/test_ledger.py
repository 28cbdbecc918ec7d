"""The penalty-notice ledger per parent per child: amounts from the framework in force, the 2-in-3-years
rule across schools and local authorities, payments, withdrawals and prosecutions (dfe-rules §4.2–§4.6)."""
from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from penalties.models import NationalFramework, NoticeKind, NoticeStatus, PenaltyNotice
from penalties.selectors import ledger_for, parent_key_make, years_before
from penalties.services import (
    penalty_notice_issue,
    penalty_notice_pay,
    penalty_notice_prosecute,
    penalty_notice_withdraw,
)
from registers.upn import upn_make
from tests import factories as f

_numbers = itertools.count(1)
_children = itertools.count(1)

ATTENDANCE, S105 = NoticeKind.ATTENDANCE, NoticeKind.EXCLUDED_IN_PUBLIC


def a_upn() -> str:
    return upn_make(936, 2001, 20, next(_children))


def issue(on: dt.date, *, upn: str, parent: tuple[str, str] = ("Jo", "Bloggs"), kind: str = ATTENDANCE,
          **kw: Any) -> PenaltyNotice:
    args: dict[str, Any] = {"local_authority": "Essex", "parent_forename": parent[0], "parent_surname": parent[1]}
    args.update(kw)
    return penalty_notice_issue(kind=kind, issued_on=on, number=f"PN-{next(_numbers)}", child_upn=upn,
                                child_name="Alex Bloggs", **args)


def refused(fn: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(ValidationError) as e:
        fn(*args, **kw)
    return " ".join(e.value.messages)


pytestmark = pytest.mark.usefixtures("national_framework")


# ------------------------------------------------------------------ amounts from the framework in force


@pytest.mark.django_db
def test_first_notice_under_the_2024_framework_is_80_within_21_days_or_160_within_28():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    assert (n.ordinal, n.lower_pence, n.lower_due_on, n.full_pence, n.full_due_on) == (
        1, 8000, dt.date(2025, 1, 27), 16000, dt.date(2025, 2, 3))
    assert n.framework.effective_from == dt.date(2024, 8, 19) and n.status == NoticeStatus.ISSUED


@pytest.mark.django_db
def test_second_notice_within_3_years_is_160_flat_within_28_days():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    n = issue(dt.date(2025, 3, 3), upn=upn)
    assert (n.ordinal, n.lower_pence, n.lower_due_on, n.full_pence, n.full_due_on) == (
        2, None, None, 16000, dt.date(2025, 3, 31))


@pytest.mark.django_db
@pytest.mark.parametrize(("issued_on", "lower", "full"), [
    (dt.date(2020, 3, 2), (6000, dt.date(2020, 3, 23)), (12000, dt.date(2020, 3, 30))),  # 2013 amounts
    (dt.date(2024, 8, 18), (6000, dt.date(2024, 9, 8)), (12000, dt.date(2024, 9, 15))),  # the day before 2024's
    (dt.date(2012, 10, 1), (6000, dt.date(2012, 10, 29)), (12000, dt.date(2012, 11, 12))),  # 2012: 28/42 days
    (dt.date(2010, 5, 4), (5000, dt.date(2010, 6, 1)), (10000, dt.date(2010, 6, 15))),  # 2004 regulations
])
def test_a_notice_before_19_august_2024_gets_the_amounts_then_in_force(issued_on, lower, full):
    n = issue(issued_on, upn=a_upn())
    assert ((n.lower_pence, n.lower_due_on), (n.full_pence, n.full_due_on)) == (lower, full)


@pytest.mark.django_db
def test_before_any_framework_a_notice_is_refused_and_nothing_is_written():
    message = refused(issue, dt.date(2004, 2, 26), upn=a_upn())
    assert "No penalty-notice framework" in message and "26 February 2004" in message
    assert not PenaltyNotice.objects.exists()


@pytest.mark.django_db
def test_amounts_are_frozen_on_the_notice_when_the_framework_changes_later():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    NationalFramework.objects.filter(pk=n.framework_id).update(first_lower_pence=9900, first_full_days=60)
    n.refresh_from_db()
    assert (n.lower_pence, n.full_due_on) == (8000, dt.date(2025, 2, 3))


# ------------------------------------------------------------------ the 2-in-3-years rule


@pytest.mark.django_db
def test_a_third_notice_within_3_years_is_refused_naming_the_rule_and_the_alternatives():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    issue(dt.date(2025, 3, 3), upn=upn)
    message = refused(issue, dt.date(2025, 6, 2), upn=upn)
    for words in ("2-in-3-years rule", "no more than 2", "within 3 years", "attendance contract",
                  "education supervision order", "prosecution"):
        assert words in message
    assert PenaltyNotice.objects.count() == 2


# "Within 3 years of the first notice" is read with the corresponding-date rule: the first notice still
# counts on its third anniversary and no longer the day after (penalties.selectors.years_before).
@pytest.mark.django_db
@time_machine.travel(dt.datetime(2028, 1, 10, 12, tzinfo=dt.UTC))
def test_a_second_notice_on_the_third_anniversary_is_still_a_second():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    n = issue(dt.date(2027, 9, 2), upn=upn)
    assert (n.ordinal, n.lower_pence, n.full_pence) == (2, None, 16000)


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2028, 1, 10, 12, tzinfo=dt.UTC))
def test_the_day_after_the_third_anniversary_a_notice_is_a_first_again():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    n = issue(dt.date(2027, 9, 3), upn=upn)
    assert (n.ordinal, n.lower_pence, n.full_pence) == (1, 8000, 16000)


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2028, 1, 10, 12, tzinfo=dt.UTC))
def test_a_third_notice_is_refused_on_the_anniversary_and_allowed_the_day_after():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    issue(dt.date(2025, 3, 3), upn=upn)
    assert "2-in-3-years" in refused(issue, dt.date(2027, 9, 2), upn=upn)
    # The first has left the window; the second (March 2025) is still in it, so this is a second notice.
    n = issue(dt.date(2027, 9, 3), upn=upn)
    assert (n.ordinal, n.full_pence) == (2, 16000)


def test_window_start_for_29_february():
    assert years_before(dt.date(2027, 9, 2), 3) == dt.date(2024, 9, 2)
    assert years_before(dt.date(2028, 2, 29), 3) == dt.date(2025, 3, 1)


@pytest.mark.django_db
def test_a_withdrawn_notice_does_not_count():
    upn = a_upn()
    first = issue(dt.date(2024, 9, 2), upn=upn)
    issue(dt.date(2025, 3, 3), upn=upn)
    penalty_notice_withdraw(notice=first, reason="Served at the wrong address", withdrawn_on=dt.date(2024, 9, 9))
    n = issue(dt.date(2025, 6, 2), upn=upn)
    assert n.ordinal == 2


@pytest.mark.django_db
def test_paid_and_prosecuted_notices_count():
    upn = a_upn()
    first = issue(dt.date(2024, 9, 2), upn=upn)
    second = issue(dt.date(2025, 3, 3), upn=upn)
    penalty_notice_pay(notice=first, paid_on=dt.date(2024, 9, 10), amount_pence=8000)
    penalty_notice_prosecute(notice=second, prosecuted_on=dt.date(2025, 5, 1))
    assert "2-in-3-years" in refused(issue, dt.date(2025, 6, 2), upn=upn)


@pytest.mark.django_db
def test_two_parents_of_one_child_are_counted_apart():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn, parent=("Jo", "Bloggs"))
    issue(dt.date(2025, 3, 3), upn=upn, parent=("Jo", "Bloggs"))
    n = issue(dt.date(2025, 3, 3), upn=upn, parent=("Sam", "Bloggs"))
    assert (n.ordinal, n.lower_pence) == (1, 8000)


@pytest.mark.django_db
def test_two_children_of_one_parent_are_counted_apart():
    older, younger = a_upn(), a_upn()
    issue(dt.date(2024, 9, 2), upn=older)
    issue(dt.date(2025, 3, 3), upn=older)
    n = issue(dt.date(2025, 3, 3), upn=younger)
    assert (n.ordinal, n.lower_pence) == (1, 8000)


@pytest.mark.django_db
def test_the_same_parent_at_two_schools_in_two_local_authorities_is_counted_together():
    first_school = f.SchoolFactory(local_authority="Essex")
    new_school = f.SchoolFactory(local_authority="Suffolk")
    upn = a_upn()
    at_first = f.GuardianFactory(school=first_school, forename="Mary-Jane", surname="O'Neill")
    at_new = f.GuardianFactory(school=new_school, forename="mary jane", surname="ONeill ")
    issue(dt.date(2024, 9, 2), upn=upn, school=first_school, guardian=at_first, local_authority="")
    second = issue(dt.date(2025, 3, 3), upn=upn.lower(), school=new_school, guardian=at_new, local_authority="")
    assert (second.ordinal, second.local_authority, second.parent_key) == (2, "Suffolk", "maryjane|oneill")
    message = refused(issue, dt.date(2025, 6, 2), upn=upn, school=new_school, guardian=at_new, local_authority="")
    assert "2-in-3-years" in message


@pytest.mark.django_db
def test_s105_notices_have_their_own_amounts_and_are_outside_the_count():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    issue(dt.date(2025, 3, 3), upn=upn)
    excluded = issue(dt.date(2025, 4, 7), upn=upn, kind=S105)  # the limit does not stop it
    assert (excluded.ordinal, excluded.lower_pence, excluded.full_pence) == (None, 6000, 12000)
    other = a_upn()
    issue(dt.date(2024, 10, 7), upn=other, kind=S105)
    assert issue(dt.date(2025, 1, 6), upn=other).ordinal == 1  # and does not count toward it
    assert issue(dt.date(2025, 2, 3), upn=other).ordinal == 2


@pytest.mark.django_db
def test_notices_are_recorded_in_date_order():
    upn = a_upn()
    issue(dt.date(2025, 3, 3), upn=upn)
    assert "in the order they were issued" in refused(issue, dt.date(2025, 1, 6), upn=upn)


@pytest.mark.django_db
def test_an_earlier_notice_outside_a_later_ones_window_may_still_be_recorded():
    upn = a_upn()
    issue(dt.date(2025, 3, 3), upn=upn)
    n = issue(dt.date(2019, 1, 7), upn=upn)  # under the 2013 amounts, no limit: the 2025 notice is unaffected
    assert (n.ordinal, n.lower_pence) == (1, 6000)


@pytest.mark.django_db
def test_ledger_lists_the_window_and_how_many_more_may_be_issued():
    upn, key = a_upn(), parent_key_make("Jo", "Bloggs")
    first = issue(dt.date(2024, 9, 2), upn=upn)
    withdrawn = issue(dt.date(2024, 12, 2), upn=upn)
    penalty_notice_withdraw(notice=withdrawn, reason="Illness evidenced", withdrawn_on=dt.date(2024, 12, 9))
    ledger = ledger_for(upn, key, dt.date(2025, 1, 6))
    assert [n.pk for n in ledger.notices] == [first.pk, withdrawn.pk]
    assert [n.pk for n in ledger.counted] == [first.pk]
    assert (ledger.remaining, ledger.may_issue, ledger.window_start) == (1, True, dt.date(2022, 1, 6))
    issue(dt.date(2025, 3, 3), upn=upn)
    assert (ledger_for(upn, key, dt.date(2025, 3, 3)).remaining, ledger_for(upn, key, dt.date(2025, 3, 3)).may_issue) \
        == (0, False)
    assert ledger_for(upn, key, dt.date(2027, 9, 3)).remaining == 1


# ------------------------------------------------------------------ bad input writes nothing


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "words"), [
    ({"number": " "}, "notice number"),
    ({"upn": "A123"}, "13 characters"),
    ({"parent": ("", "Bloggs")}, "forename and surname"),
    ({"local_authority": ""}, "local authority"),
    ({"kind": "truancy"}, "Choose"),
    ({"on": dt.date(2099, 1, 1)}, "future"),
])
def test_a_notice_with_bad_input_is_refused_and_nothing_is_written(change, words):
    args: dict[str, Any] = {"on": dt.date(2025, 1, 6), "upn": a_upn(), **change}
    number = args.pop("number", None)
    if number is not None:
        assert words in refused(penalty_notice_issue, kind=ATTENDANCE, issued_on=args["on"], number=number,
                                child_upn=args["upn"], child_name="Alex", local_authority="Essex",
                                parent_forename="Jo", parent_surname="Bloggs")
    else:
        assert words in refused(issue, args.pop("on"), **args)
    assert not PenaltyNotice.objects.exists()


@pytest.mark.django_db
def test_a_notice_number_is_unique_within_a_local_authority_only():
    kw = {"kind": ATTENDANCE, "issued_on": dt.date(2025, 1, 6), "number": "PN-1", "child_name": "Alex",
          "parent_forename": "Jo", "parent_surname": "Bloggs"}
    penalty_notice_issue(child_upn=a_upn(), local_authority="Essex", **kw)
    assert "already has a notice numbered PN-1" in refused(
        penalty_notice_issue, child_upn=a_upn(), local_authority="Essex", **kw)
    penalty_notice_issue(child_upn=a_upn(), local_authority="Suffolk", **kw)
    assert PenaltyNotice.objects.count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_notice_with_no_amount_or_a_lower_amount_above_the_full():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    for bad in ({"full_pence": 0}, {"lower_pence": 20000}, {"lower_due_on": dt.date(2025, 1, 1)},
                {"status": NoticeStatus.WITHDRAWN}, {"status": NoticeStatus.PAID}):
        with pytest.raises(IntegrityError), transaction.atomic():
            PenaltyNotice.objects.filter(pk=n.pk).update(**bad)


# ------------------------------------------------------------------ payment, withdrawal, prosecution


@pytest.mark.django_db
def test_a_first_notice_paid_within_the_lower_period_is_the_lower_amount():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    paid = penalty_notice_pay(notice=n, paid_on=dt.date(2025, 1, 27), amount_pence=8000)  # the 21st day
    assert (paid.status, paid.paid_on, paid.paid_pence) == (NoticeStatus.PAID, dt.date(2025, 1, 27), 8000)


@pytest.mark.django_db
def test_a_first_notice_paid_after_the_lower_period_is_the_full_amount():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    message = refused(penalty_notice_pay, notice=n, paid_on=dt.date(2025, 1, 28), amount_pence=8000)
    assert "was due £160 (the full amount" in message
    assert penalty_notice_pay(notice=n, paid_on=dt.date(2025, 2, 3), amount_pence=16000).paid_pence == 16000


@pytest.mark.django_db
def test_a_second_notice_has_no_lower_amount():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    second = issue(dt.date(2025, 3, 3), upn=upn)
    assert "was due £160" in refused(penalty_notice_pay, notice=second, paid_on=dt.date(2025, 3, 4),
                                     amount_pence=8000)


@pytest.mark.django_db
@pytest.mark.parametrize(("paid_on", "amount", "words"), [
    (dt.date(2025, 2, 4), 16000, "ended on 3 February 2025"),
    (dt.date(2025, 1, 5), 8000, "after that payment date"),
    (dt.date(2025, 1, 7), 0, "was due £80"),
    (dt.date(2025, 1, 7), -8000, "was due £80"),
    (dt.date(2025, 1, 7), 16000, "was due £80"),
])
def test_a_wrong_payment_is_refused_and_nothing_is_written(paid_on, amount, words):
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    assert words in refused(penalty_notice_pay, notice=n, paid_on=paid_on, amount_pence=amount)
    n.refresh_from_db()
    assert (n.status, n.paid_on, n.paid_pence) == (NoticeStatus.ISSUED, None, None)


@pytest.mark.django_db
def test_a_withdrawn_notice_cannot_be_paid():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    penalty_notice_withdraw(notice=n, reason="Parent was not liable", withdrawn_on=dt.date(2025, 1, 8))
    assert "was withdrawn" in refused(penalty_notice_pay, notice=n, paid_on=dt.date(2025, 1, 9), amount_pence=8000)
    n.refresh_from_db()
    assert (n.status, n.paid_on) == (NoticeStatus.WITHDRAWN, None)


@pytest.mark.django_db
def test_a_paid_notice_cannot_be_paid_again_or_withdrawn():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    penalty_notice_pay(notice=n, paid_on=dt.date(2025, 1, 7), amount_pence=8000)
    assert "already paid" in refused(penalty_notice_pay, notice=n, paid_on=dt.date(2025, 1, 8), amount_pence=8000)
    assert "only an unpaid notice" in refused(penalty_notice_withdraw, notice=n, reason="Changed mind")
    n.refresh_from_db()
    assert (n.status, n.paid_on, n.withdrawal_reason) == (NoticeStatus.PAID, dt.date(2025, 1, 7), "")


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_withdrawal_needs_a_reason_and_without_one_nothing_is_written(reason):
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    assert "reason" in refused(penalty_notice_withdraw, notice=n, reason=reason)
    n.refresh_from_db()
    assert (n.status, n.withdrawn_on, n.withdrawal_reason) == (NoticeStatus.ISSUED, None, "")


@pytest.mark.django_db
def test_a_notice_goes_to_prosecution_only_once_its_payment_period_has_passed():
    n = issue(dt.date(2025, 1, 6), upn=a_upn())
    assert "can be paid until 3 February 2025" in refused(
        penalty_notice_prosecute, notice=n, prosecuted_on=dt.date(2025, 2, 3))
    n.refresh_from_db()
    assert n.status == NoticeStatus.ISSUED
    done = penalty_notice_prosecute(notice=n, prosecuted_on=dt.date(2025, 2, 4))
    assert (done.status, done.prosecuted_on) == (NoticeStatus.PROSECUTED, dt.date(2025, 2, 4))
    assert "can no longer be paid" in refused(penalty_notice_pay, notice=n, paid_on=dt.date(2025, 2, 1),
                                              amount_pence=16000)


# ------------------------------------------------------------------ two officers at once


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_notices_beyond_the_limit_only_one_is_issued():
    upn = a_upn()
    issue(dt.date(2024, 9, 2), upn=upn)
    start = threading.Barrier(2)
    results: list[Any] = []

    def officer(number: str, la: str) -> None:
        try:
            start.wait()
            with transaction.atomic():
                n = penalty_notice_issue(kind=ATTENDANCE, issued_on=dt.date(2025, 3, 3), number=number,
                                         child_upn=upn, child_name="Alex Bloggs", local_authority=la,
                                         parent_forename="Jo", parent_surname="Bloggs")
                time.sleep(0.5)  # hold the transaction open so the other officer's issue overlaps it
            results.append(n)
        except ValidationError as e:
            results.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=officer, args=(f"PN-T{i}", la)) for i, la in enumerate(["Essex", "Suffolk"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    issued = [r for r in results if isinstance(r, PenaltyNotice)]
    errors = [r for r in results if isinstance(r, ValidationError)]
    assert len(issued) == 1 and len(errors) == 1, results
    assert "2-in-3-years" in " ".join(errors[0].messages)
    assert PenaltyNotice.objects.filter(child_upn=upn).count() == 2


# ------------------------------------------------------------------ platform admin


@pytest.mark.django_db
def test_platform_admin_lists_notices_read_only(client_as):
    n = issue(dt.date(2025, 1, 6), upn=a_upn(), school=f.SchoolFactory(local_authority="Essex"),
              local_authority="")
    client = client_as(f.UserFactory(is_staff=True, is_superuser=True))
    listing = client.get("/platform-admin/penalties/penaltynotice/")
    assert listing.status_code == 200 and n.number in listing.content.decode()
    page = client.get(f"/platform-admin/penalties/penaltynotice/{n.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/platform-admin/penalties/penaltynotice/add/").status_code == 403
    assert client.post(f"/platform-admin/penalties/penaltynotice/{n.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PenaltyNotice.objects.filter(pk=n.pk, status=NoticeStatus.ISSUED).exists()
