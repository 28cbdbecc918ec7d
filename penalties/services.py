"""Writes for penalty notices: notices to improve, penalty notices and the per-parent, per-child ledger.

The amounts, periods and limits are never written here: they are the `NationalFramework` row in force
on the day (see `penalties.selectors.framework_on`). A notice copies them when it is issued and keeps
them: a later framework never reprices a notice already issued.
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from attendance_portal.models import School, User
from registers.models import Guardian
from registers.upn import upn_error

from .models import NationalFramework, NoticeKind, NoticeStatus, PenaltyNotice
from .selectors import amount_due, framework_on, notices_counted, parent_key_make, upn_normal, years_before

# Advisory-lock namespace for one parent's ledger for one child ("PN"); the second key hashes the pair.
LEDGER_LOCK = 0x504E

ALTERNATIVES = ("an attendance contract, an education supervision order, or prosecution under section 444 "
                "of the Education Act 1996")


def _ledger_lock(child_upn: str, parent_key: str) -> None:
    """Serialise issues for one parent and child until the transaction ends, so two officers issuing at
    once cannot both find room under the limit (a row lock cannot do it: there may be no row to lock yet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LEDGER_LOCK, f"{child_upn}|{parent_key}"])


def penalty_notice_issue(
    *, kind: str, issued_on: dt.date, number: str, child_upn: str, child_name: str,
    school: School | None = None, local_authority: str = "", guardian: Guardian | None = None,
    parent_forename: str = "", parent_surname: str = "", by: User | None = None,
) -> PenaltyNotice:
    """Issue a penalty notice to one parent for one child, priced from the framework in force on `issued_on`.

    A notice under the 2-in-3-years rule is refused once the parent already has the framework's most
    notices for the child in the repeat period (withdrawn notices aside), wherever they were issued. s105
    notices (excluded pupil in a public place) are outside that count.
    """
    if kind not in NoticeKind.values:
        raise ValidationError("Choose irregular attendance (s444A) or an excluded pupil in a public place (s105).")
    if issued_on > timezone.localdate():
        raise ValidationError("A notice cannot be dated in the future.")
    number = number.strip()
    if not number:
        raise ValidationError("Give the notice number.")
    upn = upn_normal(child_upn)
    if problem := upn_error(upn):
        raise ValidationError(problem)
    if not child_name.strip():
        raise ValidationError("Give the child's name.")
    if school is not None and not school.state_funded:
        raise ValidationError(f"{school.name} is not state-funded: penalty notices apply only to state-funded schools.")
    if guardian is not None:
        if school is not None and guardian.school_id != school.pk:
            raise ValidationError("That parent is not a contact of this school.")
        parent_forename, parent_surname = guardian.forename, guardian.surname
    parent_name = f"{parent_forename.strip()} {parent_surname.strip()}".strip()
    key = parent_key_make(parent_forename, parent_surname)
    if not parent_forename.strip() or not parent_surname.strip() or key.startswith("|") or key.endswith("|"):
        raise ValidationError("Give the parent's forename and surname.")
    la = (local_authority or (school.local_authority if school else "")).strip()
    if not la:
        raise ValidationError("Say which local authority the notice is issued for.")
    framework = framework_on(issued_on, kind)
    if framework is None:
        raise ValidationError(
            f"No penalty-notice framework for {NoticeKind(kind).label} was in force on {issued_on:%-d %B %Y}.")

    with transaction.atomic():
        ordinal: int | None = None
        if framework.counts_toward_limit:
            _ledger_lock(upn, key)
            # A notice dated before one already issued whose window it falls in would change that notice's
            # place in the count and so its amounts, which are frozen: such notices go in date order.
            later = next((n for n in PenaltyNotice.objects.filter(
                child_upn=upn, parent_key=key, issued_on__gt=issued_on, framework__counts_toward_limit=True)
                .exclude(status=NoticeStatus.WITHDRAWN).select_related("framework").order_by("issued_on")
                if n.framework.repeat_years and years_before(n.issued_on, n.framework.repeat_years) <= issued_on),
                None)
            if later is not None:
                raise ValidationError(
                    f"This parent already has notice {later.number} for this child dated {later.issued_on:%-d %B %Y}, "
                    "after this one: record notices in the order they were issued.")
            ordinal = 1
            if framework.repeat_years:
                earlier = notices_counted(child_upn=upn, parent_key=key, on=issued_on,
                                          years=framework.repeat_years).count()
                if framework.most_notices is not None and earlier >= framework.most_notices:
                    raise ValidationError(
                        f"{parent_name} already has {earlier} penalty notices for this child within "
                        f"{framework.repeat_years} years: no more than {framework.most_notices} may be issued to "
                        f"the same parent for the same child within {framework.repeat_years} years (the "
                        f"{framework.most_notices}-in-{framework.repeat_years}-years rule of the National "
                        f"Framework). Consider {ALTERNATIVES} instead.")
                ordinal = earlier + 1
        if ordinal is not None and ordinal > 1:
            if framework.second_pence is None or framework.second_days is None:
                raise ValidationError(f"{framework} sets no amount for a repeat notice.")
            lower_pence, lower_due = None, None
            full_pence, full_due = framework.second_pence, issued_on + dt.timedelta(days=framework.second_days)
        else:
            lower_pence = framework.first_lower_pence
            lower_due = issued_on + dt.timedelta(days=framework.first_lower_days)
            full_pence, full_due = framework.first_full_pence, issued_on + dt.timedelta(days=framework.first_full_days)
        try:
            with transaction.atomic():
                return PenaltyNotice.objects.create(
                    local_authority=la, number=number, school=school, kind=kind, child_upn=upn,
                    child_name=child_name.strip(), parent_name=parent_name, parent_key=key, guardian=guardian,
                    issued_on=issued_on, framework=framework, ordinal=ordinal, lower_pence=lower_pence,
                    lower_due_on=lower_due, full_pence=full_pence, full_due_on=full_due, issued_by=by)
        except IntegrityError as e:
            if "notice_unique_number_per_la" in str(e):
                raise ValidationError(f"{la} already has a notice numbered {number}.") from e
            raise


def _locked(notice: PenaltyNotice) -> PenaltyNotice:
    return PenaltyNotice.objects.select_for_update().get(pk=notice.pk)


def _locked_unpaid(notice: PenaltyNotice, *, to: str) -> PenaltyNotice:
    """The notice, locked, if it is still unpaid (issued); else a refusal naming what it is instead."""
    current = _locked(notice)
    if current.status != NoticeStatus.ISSUED:
        raise ValidationError(f"Notice {current.number} is {current.get_status_display().lower()}: "
                              f"only an unpaid notice can {to}.")
    return current


def penalty_notice_pay(*, notice: PenaltyNotice, paid_on: dt.date, amount_pence: int,
                       by: User | None = None) -> PenaltyNotice:
    """Record payment of a notice. The amount must be what was due on the day paid, as issued: the lower
    amount within the lower period of a first notice, the full amount after it; nothing after the deadline."""
    if paid_on > timezone.localdate():
        raise ValidationError("A payment cannot be dated in the future.")
    with transaction.atomic():
        current = _locked(notice)
        if current.status == NoticeStatus.WITHDRAWN:
            raise ValidationError(f"Notice {current.number} was withdrawn: nothing is due on it.")
        if current.status == NoticeStatus.PAID:
            raise ValidationError(f"Notice {current.number} is already paid ({current.paid_on:%-d %B %Y}).")
        if current.status == NoticeStatus.PROSECUTED:
            raise ValidationError(f"Notice {current.number} went to prosecution: it can no longer be paid.")
        if paid_on < current.issued_on:
            raise ValidationError(f"Notice {current.number} was issued on {current.issued_on:%-d %B %Y}, "
                                  "after that payment date.")
        due = amount_due(current, paid_on)
        if due is None:
            raise ValidationError(
                f"The period to pay notice {current.number} ended on {current.full_due_on:%-d %B %Y}: "
                "the local authority prosecutes or withdraws it.")
        pence, which = due
        if amount_pence != pence:
            offered = NationalFramework.pounds(amount_pence) if amount_pence > 0 else amount_pence
            raise ValidationError(f"On {paid_on:%-d %B %Y} notice {current.number} was due "
                                  f"{NationalFramework.pounds(pence)} ({which}), not {offered}.")
        current.status, current.paid_on, current.paid_pence, current.status_changed_by = (
            NoticeStatus.PAID, paid_on, amount_pence, by)
        current.save(update_fields=["status", "paid_on", "paid_pence", "status_changed_by"])
        return current


def penalty_notice_withdraw(*, notice: PenaltyNotice, reason: str, withdrawn_on: dt.date | None = None,
                            by: User | None = None) -> PenaltyNotice:
    """Withdraw an unpaid notice, with the reason. A withdrawn notice no longer counts toward the limit."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason for withdrawing the notice.")
    withdrawn_on = withdrawn_on or timezone.localdate()
    if withdrawn_on > timezone.localdate():
        raise ValidationError("A withdrawal cannot be dated in the future.")
    with transaction.atomic():
        current = _locked_unpaid(notice, to="be withdrawn")
        if withdrawn_on < current.issued_on:
            raise ValidationError(f"Notice {current.number} was issued on {current.issued_on:%-d %B %Y}, "
                                  "after that withdrawal date.")
        current.status, current.withdrawn_on, current.withdrawal_reason, current.status_changed_by = (
            NoticeStatus.WITHDRAWN, withdrawn_on, reason, by)
        current.save(update_fields=["status", "withdrawn_on", "withdrawal_reason", "status_changed_by"])
        return current


def penalty_notice_prosecute(*, notice: PenaltyNotice, prosecuted_on: dt.date,
                             by: User | None = None) -> PenaltyNotice:
    """Record that an unpaid notice went to prosecution. It still counts toward the limit (dfe-rules §4.2)."""
    if prosecuted_on > timezone.localdate():
        raise ValidationError("A prosecution cannot be dated in the future.")
    with transaction.atomic():
        current = _locked_unpaid(notice, to="go to prosecution")
        if prosecuted_on <= current.full_due_on:
            raise ValidationError(f"Notice {current.number} can be paid until {current.full_due_on:%-d %B %Y}: "
                                  "prosecution follows only once that has passed unpaid.")
        current.status, current.prosecuted_on, current.status_changed_by = (
            NoticeStatus.PROSECUTED, prosecuted_on, by)
        current.save(update_fields=["status", "prosecuted_on", "status_changed_by"])
        return current
