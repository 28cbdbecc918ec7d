"""Writes for penalty notices: notices to improve, penalty notices and the per-parent, per-child ledger.

The amounts, periods and limits are never written here: they are the `NationalFramework` row in force
on the day (see `penalties.selectors.framework_on`). A notice copies them when it is issued and keeps
them: a later framework never reprices a notice already issued.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from attendance_portal.permissions import can, roles_for
from attendance_portal.queueing import task_send
from interventions.models import Case, ClockKind, EventKind, StatutoryClock
from interventions.selectors import context_for
from interventions.services import case_close, event_add
from letters.models import LetterKind
from letters.services import letter_request
from registers import codes as code_table
from registers.calendar import calendar_for
from registers.models import Guardian, Mark, PupilContact
from registers.upn import upn_error

from .case_selectors import context_snapshot, local_authority_of, pack_missing, threshold_concern
from .models import (
    Consideration,
    EvidencePack,
    HeadDelegate,
    LAOfficer,
    LocalAuthority,
    NationalFramework,
    NoticeKind,
    NoticeStatus,
    NoticeToImprove,
    PenaltyNotice,
    Referral,
)
from .selectors import amount_due, framework_on, notices_counted, parent_key_make, upn_normal, years_before

# Advisory-lock namespace for one parent's ledger for one child ("PN"); the second key hashes the pair.
LEDGER_LOCK = 0x504E

# Who besides the headteacher may authorise a referral, when the headteacher has said so (dfe-rules §4.2).
DELEGATE_POSITIONS = ("deputy headteacher", "assistant headteacher")

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
    referral: Referral | None = None,
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
                    referral=referral,
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


# ---------------------------------------------------------------- at the school: considering a notice


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationError("This case is closed.")


def penalty_consider(
    *, case: Case, by: User, decision: str, support: str, other_step_better: str, equality: str, reasons: str,
    term_time_holiday: bool = False, on: dt.date | None = None,
) -> Consideration:
    """Record the school's consideration of a penalty notice once the pupil met the national threshold.

    The framework's questions must be answered (support, another step, Equality Act duties) and the
    context review is kept as it was shown. A notice to improve or a referral needs support to have been
    offered and not engaged with or not worked, or to be inappropriate (a term-time holiday).
    """
    on = on or timezone.localdate()
    _require_open(case)
    if decision not in Consideration.Decision.values:
        raise ValidationError("Choose a decision: support first, notice to improve, refer, or not appropriate.")
    if support not in Consideration.Support.values:
        raise ValidationError("Say whether support has been offered and how it went.")
    if not other_step_better.strip() or not equality.strip() or not reasons.strip():
        raise ValidationError("Answer each of the framework's questions: whether another step would change "
                              "behaviour, the Equality Act duties, and the reasons for the decision.")
    threshold = threshold_concern(school=case.school, case=case)
    if threshold is None:
        raise ValidationError("The pupil has not met the penalty-notice threshold: there is nothing to consider.")
    la = local_authority_of(case.school)
    if la is None:
        raise ValidationError(f"{case.school.name}'s local authority is not set up here: ask for it to be added.")
    formal = decision in (Consideration.Decision.NOTICE_TO_IMPROVE, Consideration.Decision.REFER)
    if formal and support == Consideration.Support.NOT_YET:
        raise ValidationError("Support comes first: a notice to improve or a referral needs support to have been "
                              "offered and not engaged with or not worked, or to be inappropriate.")
    if (decision == Consideration.Decision.REFER and term_time_holiday and not la.holiday_straight_to_referral):
        raise ValidationError(f"{la.name}'s code of conduct asks for a notice to improve before a referral, "
                              "even for a term-time holiday.")
    context = context_for(school=case.school, case=case, on=on)
    with transaction.atomic():
        consideration = Consideration.objects.create(
            school_id=case.school_id, case=case, pupil_id=case.pupil_id, local_authority=la, decision=decision,
            support=support, other_step_better=other_step_better.strip(), equality=equality.strip(),
            reasons=reasons.strip(), term_time_holiday=term_time_holiday, context=context_snapshot(context),
            sessions=threshold.evidence.get("sessions", []) if isinstance(threshold.evidence, dict) else [],
            decided_by=by)
        event_add(case=case, kind=EventKind.CONTEXT_REVIEW, by=by, approved_by=by, title="Context reviewed",
                  why=reasons.strip(), detail={**context_snapshot(context), "consideration_id": consideration.pk})
        event_add(case=case, kind=EventKind.NOTICE, by=by, approved_by=by,
                  title=f"Penalty notice considered: {consideration.get_decision_display()}", why=reasons.strip(),
                  detail={"consideration_id": consideration.pk, "support": consideration.get_support_display()})
    return consideration


# ---------------------------------------------------------------- notices to improve


def notice_to_improve_issue(*, consideration: Consideration, by: User, weeks: int | None = None,
                            allowed_sessions: int | None = None, on: dt.date | None = None,
                            for_la: LocalAuthority | None = None) -> NoticeToImprove:
    """Give a notice to improve: a letter to each parent with parental responsibility, an improvement period
    in school weeks (the LA's, inside the framework's range) and the number of unauthorised sessions that
    still counts as sufficient improvement.

    Given by the school, or, where the LA's code of conduct says the LA gives them, by an officer of that
    LA (`for_la`) for a pupil at one of its schools; either way it is the same notice on the school's case,
    with who gave it recorded."""
    on = on or timezone.localdate()
    case = consideration.case
    _require_open(case)
    if consideration.decision != Consideration.Decision.NOTICE_TO_IMPROVE:
        raise ValidationError("The consideration did not decide on a notice to improve.")
    la = consideration.local_authority
    issuer = LocalAuthority.NoticeIssuer.SCHOOL if for_la is None else LocalAuthority.NoticeIssuer.LA
    if for_la is not None and (for_la.pk != la.pk or case.school.local_authority != la.name
                               or not LAOfficer.objects.filter(local_authority=la, user=by).exists()):
        raise PermissionDenied("Only an officer of the pupil's school's local authority can give its notice.")
    if la.nti_issued_by != issuer:
        if issuer == LocalAuthority.NoticeIssuer.SCHOOL:
            raise ValidationError(f"{la.name} gives notices to improve itself: its officers give this one from "
                                  "the local authority's workspace, where the consideration is waiting.")
        raise ValidationError(f"{la.name}'s schools give their own notices to improve: the school gives this one.")
    framework = framework_on(on, NoticeKind.ATTENDANCE)
    low = framework.notice_to_improve_min_weeks if framework else None
    high = framework.notice_to_improve_max_weeks if framework else None
    if framework is None or low is None or high is None:
        raise ValidationError(f"No framework in force on {on:%-d %B %Y} provides for notices to improve.")
    if la.nti_weeks_fixed or weeks is None:
        if weeks is not None and weeks != la.nti_weeks:
            raise ValidationError(f"{la.name} fixes the improvement period at {la.nti_weeks} school weeks.")
        weeks = la.nti_weeks
    if not low <= weeks <= high:
        raise ValidationError(f"The improvement period must be {low} to {high} school weeks.")
    allowed = la.nti_allowed_sessions if allowed_sessions is None else allowed_sessions
    if allowed < 0 or (framework.threshold_sessions and allowed >= framework.threshold_sessions):
        raise ValidationError("Sufficient improvement must allow fewer unauthorised sessions than the threshold.")
    ends_on = calendar_for(school=case.school).school_weeks_after(on, weeks)
    try:
        with transaction.atomic():
            notice = NoticeToImprove.objects.create(
                school_id=case.school_id, case=case, pupil_id=case.pupil_id, enrolment_id=case.enrolment_id,
                consideration=consideration, local_authority=la, issued_on=on, weeks=weeks, ends_on=ends_on,
                allowed_sessions=allowed, approved_by=by, issuer=issuer)
            try:
                letters = letter_request(
                    school=case.school, pupil=case.pupil, kind=LetterKind.NOTICE_TO_IMPROVE, by=by, approved_by=by,
                    sessions=consideration.sessions, extra={"deadline": ends_on}, case_ref=f"case:{case.pk}")
            except ValueError as error:
                raise ValidationError(str(error)) from error
            notice.letter_ids = [letter.pk for letter in letters]
            notice.save(update_fields=["letter_ids"])
            StatutoryClock.objects.get_or_create(
                school_id=case.school_id, enrolment_id=case.enrolment_id, kind=ClockKind.NOTICE_PERIOD, since=on,
                defaults={"pupil_id": case.pupil_id, "case": case, "due": ends_on})
            given_by = f" given by {la.name}" if for_la is not None else ""
            event_add(case=case, kind=EventKind.NOTICE, by=by, approved_by=by, status="sent to the letters",
                      title=f"Notice to improve{given_by}: {weeks} school weeks, to {ends_on:%-d %B %Y}",
                      why=f"Sufficient improvement: no more than {allowed} unauthorised sessions in the period.",
                      detail={"notice_to_improve_id": notice.pk, "letter_ids": notice.letter_ids})
    except IntegrityError as error:
        if "nti_one_active_per_case" in str(error):
            raise ValidationError("This case already has a notice to improve in its period.") from error
        raise
    return notice


def notices_to_improve_check(*, school: School, on: dt.date | None = None) -> dict[str, int]:
    """The daily check of every notice to improve in its period: count the unauthorised sessions since it was
    given; past the allowance the grounds arose again (outcome now), at the period's end it improved or not.
    Each outcome is set by compare-and-set, so a second run the same day changes nothing."""
    on = on or timezone.localdate()
    counts = {"checked": 0, "improved": 0, "not_improved": 0, "grounds_again": 0}
    for notice in NoticeToImprove.objects.filter(school=school, status=NoticeToImprove.Status.ACTIVE,
                                                 issued_on__lt=on).select_related("case"):
        found = Mark.objects.filter(school=school, enrolment_id=notice.enrolment_id, date__gt=notice.issued_on,
                                    date__lte=min(on, notice.ends_on), code__in=code_table.UNAUTHORISED).count()
        status = NoticeToImprove.Status.ACTIVE
        if found > notice.allowed_sessions:
            status = (NoticeToImprove.Status.GROUNDS_AGAIN if on < notice.ends_on
                      else NoticeToImprove.Status.NOT_IMPROVED)
        elif on >= notice.ends_on:
            status = NoticeToImprove.Status.IMPROVED
        counts["checked"] += 1
        with transaction.atomic():
            changed = NoticeToImprove.objects.filter(school=school, pk=notice.pk, status=NoticeToImprove.Status.ACTIVE)\
                .update(sessions_so_far=found, checked_on=on, status=status,
                        outcome_on=None if status == NoticeToImprove.Status.ACTIVE else on)
            if changed and status != NoticeToImprove.Status.ACTIVE:
                counts[status] += 1
                event_add(case=notice.case, kind=EventKind.NOTICE, by=None,
                          title=f"Notice to improve: {NoticeToImprove.Status(status).label.lower()}",
                          why=f"{found} unauthorised sessions since {notice.issued_on:%-d %B %Y} "
                              f"(sufficient improvement allowed {notice.allowed_sessions}).",
                          detail={"notice_to_improve_id": notice.pk}, on=on)
    return counts


# ---------------------------------------------------------------- referral, the head's authorisation


def head_delegate_set(*, school: School, user: User, position: str, by: User) -> HeadDelegate:
    """The headteacher authorises a deputy or assistant head to authorise referrals for them."""
    if not can(by, "authorise_penalty", school):
        raise PermissionDenied("Only the headteacher can authorise someone to authorise referrals.")
    if position.strip().lower() not in DELEGATE_POSITIONS:
        raise ValidationError("Only a deputy or assistant headteacher can be authorised.")
    if not roles_for(user, school):
        raise ValidationError(f"{user.display_name()} has no role at {school.name}.")
    delegate, _ = HeadDelegate.objects.update_or_create(
        school=school, user=user, defaults={"position": position.strip(), "authorised_by": by,
                                            "authorised_at": timezone.now()})
    return delegate


def referral_make(*, case: Case, by: User) -> Referral:
    """Prepare a referral on the case's latest consideration, for the headteacher to authorise. It needs a
    decision to refer, or a notice to improve that ended without sufficient improvement."""
    _require_open(case)
    consideration = Consideration.objects.filter(school_id=case.school_id, case=case).first()
    if consideration is None:
        raise ValidationError("Record the consideration of a penalty notice first.")
    nti = None
    if consideration.decision == Consideration.Decision.NOTICE_TO_IMPROVE:
        nti = NoticeToImprove.objects.filter(school_id=case.school_id, consideration=consideration).first()
        if nti is None or nti.status not in (NoticeToImprove.Status.NOT_IMPROVED,
                                             NoticeToImprove.Status.GROUNDS_AGAIN):
            raise ValidationError("A referral follows the notice to improve only once it ends without "
                                  "sufficient improvement.")
    elif consideration.decision != Consideration.Decision.REFER:
        raise ValidationError(f"The consideration decided '{consideration.get_decision_display().lower()}', "
                              "not a referral: record a new consideration first.")
    if Referral.objects.filter(school_id=case.school_id, case=case).exclude(
            status=Referral.Status.DECLINED).exists():
        raise ValidationError("This case already has a referral.")
    parents = [{"guardian_id": c.guardian_id, "name": f"{c.guardian.forename} {c.guardian.surname}"}
               for c in PupilContact.objects.filter(school_id=case.school_id, pupil_id=case.pupil_id,
                                                    parental_responsibility=True).select_related("guardian")]
    with transaction.atomic():
        referral = Referral.objects.create(
            school_id=case.school_id, case=case, pupil_id=case.pupil_id, consideration=consideration,
            notice_to_improve=nti, local_authority=consideration.local_authority, made_by=by, parents=parents)
        event_add(case=case, kind=EventKind.REFERRAL, by=by, title="Referral prepared for the headteacher",
                  detail={"referral_id": referral.pk})
    return referral


def may_authorise(user: User, school: School) -> bool:
    return can(user, "authorise_penalty", school) or HeadDelegate.objects.filter(school=school, user=user).exists()


def referral_authorise(*, referral: Referral, by: User) -> Referral:
    """The headteacher's authorisation of the referral (or a deputy or assistant head they authorised)."""
    school = referral.school
    if can(by, "authorise_penalty", school):
        authorised_as = "Headteacher"
    else:
        delegate = HeadDelegate.objects.filter(school=school, user=by).first()
        if delegate is None:
            raise PermissionDenied("Only the headteacher, or a deputy or assistant head they authorised, can "
                                   "authorise a penalty-notice referral.")
        authorised_as = f"{delegate.position}, authorised by the headteacher"
    with transaction.atomic():
        done = Referral.objects.filter(school=school, pk=referral.pk, status=Referral.Status.DRAFT).update(
            status=Referral.Status.AUTHORISED, authorised_by=by, authorised_at=timezone.now(),
            authorised_as=authorised_as)
        if not done:
            raise ValidationError("This referral is not waiting for authorisation.")
        referral.refresh_from_db()
        event_add(case=referral.case, kind=EventKind.REFERRAL, by=by, approved_by=by,
                  title=f"Referral authorised ({authorised_as})", detail={"referral_id": referral.pk})
    return referral


def referral_submit(*, referral: Referral, by: User, incomplete_reason: str = "") -> Referral:
    """Submit the authorised referral to the local authority. The completeness check runs first: a pack
    missing what the LA asks for is submitted only with a recorded reason."""
    school = referral.school
    if referral.status not in (Referral.Status.AUTHORISED, Referral.Status.RETURNED):
        raise ValidationError("Only an authorised referral (or one the local authority returned) can be submitted.")
    missing = pack_missing(referral=referral)
    if missing and not incomplete_reason.strip():
        raise ValidationError("The evidence pack is missing: " + "; ".join(missing) + ". Add them, or give the "
                              "reason for submitting without them.")
    with transaction.atomic():
        done = Referral.objects.filter(school=school, pk=referral.pk, status=referral.status).update(
            status=Referral.Status.SUBMITTED, submitted_at=timezone.now(), submitted_by=by, missing=missing,
            incomplete_reason=incomplete_reason.strip() if missing else "", answer="")
        if not done:
            raise ValidationError("This referral changed meanwhile: look at it again.")
        referral.refresh_from_db()
        evidence_pack_request(referral=referral)
        why = f"Submitted without: {'; '.join(missing)}. Reason: {incomplete_reason.strip()}" if missing else ""
        event_add(case=referral.case, kind=EventKind.REFERRAL, by=by,
                  title=f"Referral submitted to {referral.local_authority.name}", why=why,
                  detail={"referral_id": referral.pk, "missing": missing})
    return referral


# ---------------------------------------------------------------- the local authority's answer


def _answered(referral: Referral, *, status: str, by: User, answer: str, title: str) -> Referral:
    with transaction.atomic():
        done = Referral.objects.filter(school_id=referral.school_id, pk=referral.pk,
                                       status=Referral.Status.SUBMITTED).update(
            status=status, answered_at=timezone.now(), answered_by=by, answer=answer)
        if not done:
            raise ValidationError("Only a submitted referral can be accepted, returned or declined.")
        referral.refresh_from_db()
        event_add(case=referral.case, kind=EventKind.REFERRAL, by=by, title=title, why=answer,
                  detail={"referral_id": referral.pk})
    return referral


def referral_accept(*, referral: Referral, by: User) -> Referral:
    return _answered(referral, status=Referral.Status.ACCEPTED, by=by, answer="",
                     title=f"Referral accepted by {referral.local_authority.name}")


def referral_return(*, referral: Referral, by: User, missing: str) -> Referral:
    if not missing.strip():
        raise ValidationError("Say what is missing, so the school can add it.")
    return _answered(referral, status=Referral.Status.RETURNED, by=by, answer=missing.strip(),
                     title=f"Referral returned by {referral.local_authority.name}: something is missing")


def referral_decline(*, referral: Referral, by: User, reason: str) -> Referral:
    if not reason.strip():
        raise ValidationError("Give the reason for declining the referral.")
    return _answered(referral, status=Referral.Status.DECLINED, by=by, answer=reason.strip(),
                     title=f"Referral declined by {referral.local_authority.name}")


def referral_notice_issue(*, referral: Referral, guardian_id: int, number: str, issued_on: dt.date,
                          by: User) -> PenaltyNotice:
    """Issue a notice on an accepted referral to one of the parents referred (the ledger's rules apply)."""
    if referral.status != Referral.Status.ACCEPTED:
        raise ValidationError("Accept the referral before issuing notices on it.")
    if guardian_id not in {p["guardian_id"] for p in referral.parents}:
        raise ValidationError("Choose one of the parents named in the referral.")
    guardian = Guardian.objects.get(school_id=referral.school_id, pk=guardian_id)
    pupil = referral.pupil
    notice = penalty_notice_issue(
        kind=NoticeKind.ATTENDANCE, issued_on=issued_on, number=number, child_upn=pupil.upn,
        child_name=pupil.full_name, school=referral.school, local_authority=referral.local_authority.name,
        guardian=guardian, by=by, referral=referral)
    event_add(case=referral.case, kind=EventKind.NOTICE, by=by,
              title=f"Penalty notice {notice.number} issued to {notice.parent_name}",
              detail={"referral_id": referral.pk, "notice_id": notice.pk})
    return notice


def referral_case_settle(*, notice: PenaltyNotice, by: User) -> bool:
    """Close the referral's case once every notice issued on it is paid or withdrawn. True if it closed."""
    if notice.referral_id is None:
        return False
    referral = Referral.objects.select_related("case").get(school_id=notice.school_id, pk=notice.referral_id)  # type: ignore[misc]  # a notice issued on a referral carries the referral's school
    notices = PenaltyNotice.objects.filter(referral=referral)
    if notices.filter(status__in=[NoticeStatus.ISSUED]).exists() or not referral.case.is_open:
        return False
    settled = ", ".join(f"{n.number} {n.get_status_display().lower()}" for n in notices)
    case_close(case=referral.case, outcome=Case.Outcome.REFERRED, by=by,
               why=f"The local authority's notices are settled: {settled}.")
    return True


def notices_overdue_raise(*, on: dt.date | None = None) -> int:
    """The nightly "unpaid, deadline passed" items: every issued notice whose last day to pay has gone is
    marked once, for its local authority to decide on prosecution or withdrawal."""
    on = on or timezone.localdate()
    return PenaltyNotice.objects.filter(status=NoticeStatus.ISSUED, full_due_on__lt=on,
                                        overdue_since__isnull=True).update(overdue_since=on)


# ---------------------------------------------------------------- the evidence pack


def pack_lease() -> dt.timedelta:
    """How long a build's claim holds before another worker may take it over (a killed worker's)."""
    return dt.timedelta(seconds=getattr(settings, "LETTERS_LEASE_SECONDS", 300))


def _pack_send(pack: EvidencePack) -> None:
    from .tasks import evidence_pack_build_task

    task_send(evidence_pack_build_task, school_id=pack.school_id, pack_id=pack.pk)


def evidence_pack_request(*, referral: Referral) -> EvidencePack:
    """Freeze the pack's data as it is now, in the caller's transaction, and build its files once it commits."""
    from .evidence import file_stem, pack_data

    pupil = referral.pupil
    pack = EvidencePack.objects.create(
        school_id=referral.school_id, referral=referral, data=pack_data(referral=referral),
        file_stem=file_stem(upn=pupil.upn, surname=pupil.surname, forename=pupil.forename,
                            day=f"{timezone.localdate():%Y%m%d}"))
    transaction.on_commit(lambda: _pack_send(pack))
    return pack


def evidence_pack_build(*, pack_id: int, now: dt.datetime | None = None) -> bool:
    """Claim a queued pack (or one whose claim ran out) by compare-and-set and make its files from its frozen
    data. True when this call built it; a duplicate task, or a pack already built, changes nothing."""
    from .evidence import pack_files, sha256

    now = now or timezone.now()
    token = secrets.token_hex(8)
    claimable = Q(status=EvidencePack.Status.QUEUED) | Q(status=EvidencePack.Status.BUILDING,
                                                         claimed_at__lt=now - pack_lease())
    if not EvidencePack.objects.filter(claimable, pk=pack_id).update(
            status=EvidencePack.Status.BUILDING, claim=token, claimed_at=now, attempts=F("attempts") + 1):
        return False
    pack = EvidencePack.objects.get(pk=pack_id)
    try:
        pdf, archive = pack_files(pack.data, pack.file_stem)
    except Exception as error:  # a pack that cannot be made is recorded, not retried for ever
        EvidencePack.objects.filter(pk=pack_id, claim=token).update(status=EvidencePack.Status.FAILED,
                                                                    error=str(error)[:300])
        raise
    folder = f"packs/{pack.school_id}/{pack.pk}-{token}"
    pdf_name = default_storage.save(f"{folder}/{pack.file_stem}.pdf", ContentFile(pdf))
    zip_name = default_storage.save(f"{folder}/{pack.file_stem}.zip", ContentFile(archive))
    return bool(EvidencePack.objects.filter(pk=pack_id, claim=token, status=EvidencePack.Status.BUILDING).update(
        status=EvidencePack.Status.BUILT, built_at=timezone.now(), pdf=pdf_name, pdf_sha256=sha256(pdf),
        zip=zip_name, zip_sha256=sha256(archive), error=""))


def evidence_packs_sweep(*, now: dt.datetime | None = None) -> int:
    """Send again the builds a lost broker message or a killed worker left behind, across every school."""
    now = now or timezone.now()
    cutoff = now - pack_lease()
    with scopes_disabled():  # the sweeper looks across schools; each task it sends opens its own scope
        stuck = list(EvidencePack.objects.filter(
            Q(status=EvidencePack.Status.QUEUED) | Q(status=EvidencePack.Status.BUILDING, claimed_at__lt=cutoff),
            enqueued_at__lt=cutoff)[:500])
        EvidencePack.objects.filter(pk__in=[p.pk for p in stuck]).update(enqueued_at=now)
    for pack in stuck:
        _pack_send(pack)
    return len(stuck)
