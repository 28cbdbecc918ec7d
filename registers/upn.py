"""Unique pupil numbers: 13 characters, a check letter then LA (3), establishment (4), year (2), serial (3).

The check letter follows the DfE algorithm (as in python-stdnum's `stdnum.gb.upn`), but any
three-digit LA number is accepted: a fixed list of LA codes would reject authorities created since
(for example 940 and 941).
"""

from __future__ import annotations

ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it."""
    total = sum(weight * ALPHABET.index(char) for weight, char in enumerate(body, start=2))
    return ALPHABET[total % 23]


def upn_error(value: str) -> str | None:
    """Why `value` is not a valid UPN, or None when it is."""
    upn = value.strip().upper()
    if len(upn) != 13:
        return f"UPN '{value}' must be 13 characters long."
    if not upn[1:12].isdigit() or upn[12] not in ALPHABET:
        return f"UPN '{value}' must be a letter, eleven digits, then a digit or letter."
    if upn[0] not in ALPHABET[:23]:
        return f"UPN '{value}' must start with a check letter."
    if not 100 <= int(upn[1:4]) <= 999:
        return f"UPN '{value}' has no valid local authority number."
    if upn_check_letter(upn[1:]) != upn[0]:
        # The right letter is not shown: it would turn a mistyped number into a valid-looking wrong one.
        return f"UPN '{value}' does not add up: its check letter does not match. Check each character."
    return None


def upn_make(la: int, establishment: int, year: int, serial: int) -> str:
    body = f"{la:03d}{establishment:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def upn_is_temporary(upn: str) -> bool:
    """A temporary UPN ends in a letter (a permanent one ends in a digit)."""
    return len(upn) == 13 and upn[12].isalpha()


def upn_temporary(prefix: str, year: int, n: int) -> str:
    """The n-th temporary UPN for an LA and establishment number (`prefix`, 7 digits) and year.

    Schools use one until the pupil's permanent UPN arrives from the previous school or the LA.
    """
    serial, letter = divmod(n, 23)
    body = f"{prefix}{year % 100:02d}{serial % 100:02d}{ALPHABET[letter]}"
    return upn_check_letter(body) + body
