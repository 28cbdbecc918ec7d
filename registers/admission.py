"""The admission register: pupils, their enrolments (admission register entries) and contacts.

Writes are the functions at the top (`pupil_create`, `pupil_update`, `enrolment_admit`,
`enrolment_leave`, `contact_add`, `contact_update`, `contact_remove`); each validates everything
first and raises `AdmissionError` with a message per field, so a bad request writes nothing.
Reads (`admission_register`, `pupil_detail`) are at the end.

Marks are never touched here: a leaving date is refused if it would leave saved marks outside the
enrolment, rather than moving or removing them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import guardian_invitations_cancel
from attendance_portal.models import School, User

from .models import (
    YEAR_GROUP_CHOICES,
    YEAR_GROUPS,
    DeletionGround,
    Enrolment,
    Guardian,
    Mark,
    Pupil,
    PupilContact,
    RegistrationGroup,
)
from .upn import upn_error, upn_temporary

MIN_AGE = 2  # nursery classes take two-year-olds
MAX_AGE = 19  # sixth forms keep pupils to the end of the year they turn 19
MAX_PRIORITY = 9
# A deletion at the end of the school's final year needs no deletion return unless the LA asks (R10).
NO_DELETION_RETURN = {DeletionGround.END_OF_SCHOOL}
PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-]+$")
# A UK postcode: outward code (area, district) and inward code (sector, unit), e.g. RB1 4DX or SW1A 1AA.
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


class AdmissionError(Exception):
    """Validation failed; `errors` maps a field name ("" for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if self.found:
            raise AdmissionError(self.found)


@dataclass(frozen=True)
class Cohort:
    """Cohort characteristics; only people allowed to see sensitive data may pass them in."""

    sen: str = Pupil.SEN.NONE
    fsm: bool = False
    eal: bool = False
    looked_after: bool = False
    child_in_need: bool = False
    has_social_worker: bool = False

    @classmethod
    def of(cls, pupil: Pupil) -> Cohort:
        return cls(sen=pupil.sen, fsm=pupil.fsm, eal=pupil.eal, looked_after=pupil.looked_after,
                   child_in_need=pupil.child_in_need, has_social_worker=pupil.has_social_worker)


def today() -> dt.date:
    return timezone.localdate()


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


# --------------------------------------------------------------------------- validation helpers


def expected_year_group(date_of_birth: dt.date, day: dt.date) -> str | None:
    """The year group of a child of this age in the school year containing `day` (age on 31 August)."""
    start = dt.date(day.year if day.month >= 9 else day.year - 1, 8, 31)
    index = age_on(date_of_birth, start) - MIN_AGE  # a two-year-old is in Nursery 1, a four-year-old in Reception
    return YEAR_GROUPS[index] if 0 <= index < len(YEAR_GROUPS) else None


def temporary_upn_next(*, school: School, day: dt.date) -> str:
    """A temporary UPN not yet used in this school, on the LA and establishment number its UPNs carry."""
    prefixes = Pupil.objects.filter(school=school).values_list("upn", flat=True)[:200]
    common = sorted({u[1:8] for u in prefixes if len(u) == 13 and u[1:8].isdigit()})
    prefix = common[0] if common else "9999999"
    used = set(Pupil.objects.filter(school=school, upn__regex=r"[A-Z]$").values_list("upn", flat=True))
    for n in range(100 * 23):
        candidate = upn_temporary(prefix, day.year, n)
        if candidate not in used:
            return candidate
    raise AdmissionError({"upn": ["No temporary UPN is left for this year; give the pupil's UPN."]})


def _check_pupil(errors: _Errors, *, school: School, pupil: Pupil | None, upn: str, forename: str, surname: str,
                 date_of_birth: dt.date, year_group: str, registration_group: RegistrationGroup | None,
                 age_day: dt.date | None, cohort: Cohort | None, out_of_year: bool = False) -> str:
    upn = upn.strip().upper()
    problem = upn_error(upn)
    if problem:
        errors.add("upn", problem)
    else:
        same = Pupil.objects.filter(school=school, upn=upn)
        if pupil is not None:
            same = same.exclude(pk=pupil.pk)
        holder = same.first()
        if holder:
            errors.add("upn", f"UPN {upn} is already used by {holder.full_name} in this school's admission "
                              "register. Each pupil has their own UPN.")
    for field, value, label in (("forename", forename, "forename"), ("surname", surname, "surname")):
        if not value.strip():
            errors.add(field, f"Give the pupil's {label}.")
        elif len(value.strip()) > 100:
            errors.add(field, f"The {label} can be at most 100 characters.")
    if date_of_birth > today():
        errors.add("date_of_birth", "The date of birth cannot be in the future.")
    elif age_day is not None:
        age = age_on(date_of_birth, age_day)
        if not MIN_AGE <= age <= MAX_AGE:
            errors.add("date_of_birth", f"On the admission date ({age_day:%d %B %Y}) the pupil would be {age} "
                                        f"years old; pupils must be between {MIN_AGE} and {MAX_AGE}. "
                                        "Check the date of birth and the admission date.")
    if year_group not in YEAR_GROUPS:
        errors.add("year_group", "Choose a year group from the list.")
    elif age_day is not None and date_of_birth <= today() and not out_of_year:
        expected = expected_year_group(date_of_birth, age_day)
        # A year either side is common (a summer-born child starting a year later); more is a typing slip.
        if expected is not None and abs(YEAR_GROUPS.index(year_group) - YEAR_GROUPS.index(expected)) > 1:
            names = dict(YEAR_GROUP_CHOICES)
            errors.add("year_group", f"A child born on {date_of_birth:%d %B %Y} would usually be in "
                                     f"{names[expected]}, not {names[year_group]}. Check the date of birth and the "
                                     "year group, or tick 'Taught outside their age group' if this is right.")
    if registration_group is not None and registration_group.school_id != school.pk:
        # The form only offers this school's groups; this guards any other caller.
        errors.add("registration_group", "Choose one of this school's registration groups.")
    if cohort is not None and cohort.sen not in Pupil.SEN.values:
        errors.add("sen", "Choose an SEN status from the list.")
    return upn


def _check_registration_type(errors: _Errors, registration_type: str) -> None:
    if registration_type not in Enrolment.RegistrationType.values:
        errors.add("registration_type", "Choose main, dual (main) or dual (subsidiary) registration.")


def _overlapping(*, school: School, pupil: Pupil, admission_date: dt.date) -> Enrolment | None:
    """An existing enrolment that a new, open-ended one from `admission_date` would overlap."""
    return (Enrolment.objects.filter(school=school, pupil=pupil)
            .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=admission_date))
            .order_by("admission_date").first())


def _apply_cohort(pupil: Pupil, cohort: Cohort) -> None:
    for name, value in vars(cohort).items():
        setattr(pupil, name, value)


# --------------------------------------------------------------------------- pupils


@transaction.atomic
def pupil_create(*, school: School, upn: str, forename: str, surname: str, date_of_birth: dt.date,
                 year_group: str, registration_group: RegistrationGroup | None, admission_date: dt.date,
                 registration_type: str = Enrolment.RegistrationType.MAIN,
                 cohort: Cohort | None = None, temporary_upn: bool = False, out_of_year: bool = False) -> Pupil:
    """Put a pupil on the admission register from their starting day (R8): Pupil and Enrolment together.

    With `temporary_upn` and no UPN given, the pupil gets a temporary UPN until the real one arrives.
    """
    errors = _Errors()
    if temporary_upn and not upn.strip():
        upn = temporary_upn_next(school=school, day=admission_date)
    upn = _check_pupil(errors, school=school, pupil=None, upn=upn, forename=forename, surname=surname,
                       date_of_birth=date_of_birth, year_group=year_group, registration_group=registration_group,
                       age_day=admission_date, cohort=cohort, out_of_year=out_of_year)
    _check_registration_type(errors, registration_type)
    errors.raise_any()
    pupil = Pupil(school=school, upn=upn, forename=forename.strip(), surname=surname.strip(),
                  date_of_birth=date_of_birth, year_group=year_group, registration_group=registration_group)
    if cohort is not None:
        _apply_cohort(pupil, cohort)
    pupil.save()
    Enrolment.objects.create(school=school, pupil=pupil, admission_date=admission_date,
                             registration_type=registration_type)
    return pupil


@transaction.atomic
def pupil_update(*, school: School, pupil: Pupil, upn: str, forename: str, surname: str, date_of_birth: dt.date,
                 year_group: str, registration_group: RegistrationGroup | None,
                 cohort: Cohort | None = None, out_of_year: bool = False) -> Pupil:
    """Change a pupil's details. `cohort=None` leaves the sensitive characteristics as they are."""
    if pupil.school_id != school.pk:
        raise AdmissionError({"": ["This pupil is not on this school's register."]})
    first = Enrolment.objects.filter(school=school, pupil=pupil).order_by("admission_date").first()
    errors = _Errors()
    upn = _check_pupil(errors, school=school, pupil=pupil, upn=upn, forename=forename, surname=surname,
                       date_of_birth=date_of_birth, year_group=year_group, registration_group=registration_group,
                       age_day=first.admission_date if first else today(), cohort=cohort,
                       out_of_year=out_of_year or pupil.year_group == year_group)
    errors.raise_any()
    pupil.upn, pupil.forename, pupil.surname = upn, forename.strip(), surname.strip()
    pupil.date_of_birth, pupil.year_group, pupil.registration_group = date_of_birth, year_group, registration_group
    if cohort is not None:
        _apply_cohort(pupil, cohort)
    pupil.save()
    return pupil


# --------------------------------------------------------------------------- enrolments


def _locked_pupil(school: School, pupil: Pupil) -> Pupil:
    # Two people admitting or removing the same pupil at once must not both pass the overlap checks.
    return Pupil.objects.select_for_update().get(school=school, pk=pupil.pk)


@transaction.atomic
def enrolment_admit(*, school: School, pupil: Pupil, admission_date: dt.date,
                    registration_type: str = Enrolment.RegistrationType.MAIN) -> Enrolment:
    """Re-admit a pupil who left: a new admission register entry, never reopening the old one."""
    pupil = _locked_pupil(school, pupil)
    errors = _Errors()
    _check_registration_type(errors, registration_type)
    clash = _overlapping(school=school, pupil=pupil, admission_date=admission_date)
    if clash and clash.leaving_date is None:
        errors.add("admission_date", f"{pupil.full_name} is still on roll (admitted {clash.admission_date:%d %B %Y}). "
                                     "Record their leaving before admitting them again.")
    elif clash:
        errors.add("admission_date", f"This would overlap the enrolment from {clash.admission_date:%d %B %Y} to "
                                     f"{clash.leaving_date:%d %B %Y}. Choose a day after "
                                     f"{clash.leaving_date:%d %B %Y}.")
    age = age_on(pupil.date_of_birth, admission_date)
    if not MIN_AGE <= age <= MAX_AGE:
        errors.add("admission_date", f"On {admission_date:%d %B %Y} the pupil would be {age} years old; pupils must "
                                     f"be between {MIN_AGE} and {MAX_AGE}.")
    errors.raise_any()
    return Enrolment.objects.create(school=school, pupil=pupil, admission_date=admission_date,
                                    registration_type=registration_type)


def last_mark_date(*, school: School, enrolment: Enrolment) -> dt.date | None:
    return (Mark.objects.filter(school=school, enrolment=enrolment).order_by("-date")
            .values_list("date", flat=True).first())


def enrolment_leave_check(*, school: School, enrolment: Enrolment, leaving_date: dt.date | None,
                          deletion_ground: str) -> None:
    """Everything `enrolment_leave` refuses, without writing (the confirmation page uses it first)."""
    errors = _Errors()
    if enrolment.leaving_date is not None:
        errors.add("", f"This enrolment already ended on {enrolment.leaving_date:%d %B %Y}.")
    if leaving_date is None:
        errors.add("leaving_date", "Give the leaving date.")
    elif leaving_date < enrolment.admission_date:
        errors.add("leaving_date", f"The leaving date cannot be before the admission date "
                                   f"({enrolment.admission_date:%d %B %Y}).")
    else:
        last = last_mark_date(school=school, enrolment=enrolment)
        if last and leaving_date < last:
            errors.add("leaving_date", f"Attendance is already recorded up to {last:%d %B %Y}; the leaving date "
                                       f"cannot be before that day. Marks stay in the register, so choose "
                                       f"{last:%d %B %Y} or later.")
    if not deletion_ground:
        errors.add("deletion_ground", "Choose the ground for deleting the pupil's name from the register.")
    elif deletion_ground not in DeletionGround.values:
        errors.add("deletion_ground", "Choose a ground from the list in the regulations.")
    errors.raise_any()


@transaction.atomic
def enrolment_leave(*, school: School, enrolment: Enrolment, leaving_date: dt.date,
                    deletion_ground: str) -> Enrolment:
    """Delete the pupil's name from the register from `leaving_date` on a prescribed ground (R11)."""
    _locked_pupil(school, enrolment.pupil)
    enrolment = Enrolment.objects.get(school=school, pk=enrolment.pk)  # fresh, under the pupil's lock
    enrolment_leave_check(school=school, enrolment=enrolment, leaving_date=leaving_date,
                          deletion_ground=deletion_ground)
    enrolment.leaving_date, enrolment.deletion_ground = leaving_date, deletion_ground
    enrolment.save(update_fields=["leaving_date", "deletion_ground"])
    return enrolment


def leaving_reminders(*, pupil: Pupil, deletion_ground: str) -> list[str]:
    """What the school still owes others when a name comes off the register (R10, R14)."""
    reminders = []
    if deletion_ground not in NO_DELETION_RETURN:
        reminders.append("Make a deletion return to the local authority (name, address, parents and their "
                         "addresses, emergency contact, the ground and the new school if known) as soon as the "
                         "ground is met and no later than the deletion.")
    if pupil.has_social_worker:
        reminders.append(f"{pupil.forename} has a social worker: tell them about the intended deletion from the "
                         "register.")
    return reminders


# --------------------------------------------------------------------------- contacts


def postcode_normal(text: str) -> str | None:
    """A postcode as the Royal Mail writes it (capitals, one space before the last three characters), or None
    if `text` is not a UK postcode."""
    found = POSTCODE.match(re.sub(r"\s+", "", text).upper())
    return f"{found[1]} {found[2]}" if found else None


def _check_address(errors: _Errors, *, address: str, postcode: str) -> None:
    lines = [line for line in address.splitlines() if line.strip()]
    if postcode.strip() and postcode_normal(postcode) is None:
        errors.add("postcode", "Give a UK postcode, for example RB1 4DX.")
    elif lines and not postcode.strip():
        errors.add("postcode", "Give the postcode with the address.")
    elif postcode.strip() and not lines:
        errors.add("address", "Give the house and street with the postcode.")
    if len(lines) > 6 or any(len(line.strip()) > 100 for line in lines):
        errors.add("address", "An address has at most 6 lines of up to 100 characters.")


def _address(address: str) -> str:
    return "\n".join(line.strip() for line in address.splitlines() if line.strip())


def _check_contact(errors: _Errors, *, forename: str, surname: str, relationship: str, phone: str, email: str,
                   priority: int) -> None:
    if not forename.strip():
        errors.add("forename", "Give the contact's forename.")
    if not surname.strip():
        errors.add("surname", "Give the contact's surname.")
    if len(forename.strip()) > 100 or len(surname.strip()) > 100:
        errors.add("surname", "Names can be at most 100 characters.")
    if not relationship.strip():
        errors.add("relationship", "Say how the contact is related to the pupil, for example Mother or Carer.")
    elif len(relationship.strip()) > 60:
        errors.add("relationship", "The relationship can be at most 60 characters.")
    phone = phone.strip()
    if phone:
        digits = sum(c.isdigit() for c in phone)
        if not PHONE_CHARS.match(phone) or not 7 <= digits <= 15:
            errors.add("phone", "Give a phone number of digits and spaces, for example 01632 960123 or "
                                "+44 7700 900123.")
    if email.strip():
        try:
            validate_email(email.strip())
        except ValidationError:
            errors.add("email", "Give an email address like name@example.org.")
    if not phone and not email.strip():
        errors.add("phone", "Give a phone number or an email address, so the school can reach this contact.")
    if not 1 <= priority <= MAX_PRIORITY:
        errors.add("priority", f"Priority is a number from 1 (call first) to {MAX_PRIORITY}.")


@transaction.atomic
def contact_add(*, school: School, pupil: Pupil, forename: str, surname: str, relationship: str,
                parental_responsibility: bool, lives_with_pupil: bool, phone: str = "", email: str = "",
                priority: int = 1, address: str = "", postcode: str = "") -> PupilContact:
    errors = _Errors()
    if pupil.school_id != school.pk:
        errors.add("", "This pupil is not on this school's register.")
    _check_contact(errors, forename=forename, surname=surname, relationship=relationship, phone=phone, email=email,
                   priority=priority)
    _check_address(errors, address=address, postcode=postcode)
    errors.raise_any()
    guardian = Guardian.objects.create(school=school, forename=forename.strip(), surname=surname.strip(),
                                       phone=phone.strip(), email=email.strip(), address=_address(address),
                                       postcode=postcode_normal(postcode) or "")
    return PupilContact.objects.create(school=school, pupil=pupil, guardian=guardian,
                                       relationship=relationship.strip(),
                                       parental_responsibility=parental_responsibility,
                                       lives_with_pupil=lives_with_pupil, priority=priority)


@transaction.atomic
def contact_update(*, school: School, contact: PupilContact, forename: str, surname: str, relationship: str,
                   parental_responsibility: bool, lives_with_pupil: bool, phone: str = "", email: str = "",
                   priority: int = 1, address: str = "", postcode: str = "", by: User | None = None) -> PupilContact:
    """Change a contact. The person (Guardian) may be a contact for siblings too; they see the change.

    A new email address cancels the contact's pending parent-portal invitations; an account already
    linked stays the account it is (its own sign-in address is never changed from here).
    """
    errors = _Errors()
    if contact.school_id != school.pk:
        errors.add("", "This contact is not in this school.")
    _check_contact(errors, forename=forename, surname=surname, relationship=relationship, phone=phone, email=email,
                   priority=priority)
    _check_address(errors, address=address, postcode=postcode)
    errors.raise_any()
    guardian = contact.guardian
    if guardian.email.strip().lower() != email.strip().lower():
        guardian_invitations_cancel(guardian=guardian, by=by, reason="The contact's email address was changed.")
    guardian.forename, guardian.surname = forename.strip(), surname.strip()
    guardian.phone, guardian.email = phone.strip(), email.strip()
    guardian.address, guardian.postcode = _address(address), postcode_normal(postcode) or ""
    guardian.save()
    contact.relationship, contact.priority = relationship.strip(), priority
    contact.parental_responsibility, contact.lives_with_pupil = parental_responsibility, lives_with_pupil
    contact.save()
    return contact


@transaction.atomic
def contact_remove(*, school: School, contact: PupilContact, confirmed: bool = False) -> None:
    """Remove a contact from one pupil. A parent-portal account linked through it loses this child."""
    if contact.school_id != school.pk:
        raise AdmissionError({"": ["This contact is not in this school."]})
    guardian = contact.guardian
    if guardian.user_id and not confirmed:
        raise AdmissionError({"": ["This contact signs in to the parent portal; confirm the removal."]})
    contact.delete()
    # A person with no other child here and no portal account is not kept on file.
    if not guardian.user_id and not PupilContact.objects.filter(school=school, guardian=guardian).exists():
        guardian.delete()
