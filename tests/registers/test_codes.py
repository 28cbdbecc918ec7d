"""The code table in code matches shared/spec/attendance-codes.csv exactly."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from django.conf import settings

from registers import codes

CSV = settings.SHARED_DIR / "spec" / "attendance-codes.csv"


def _rows() -> list[dict[str, str]]:
    if not CSV.exists():
        pytest.fail(f"reference table missing: {CSV}")
    with CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def test_every_code_matches_the_reference_table():
    rows = _rows()
    assert {r["code"] for r in rows} == set(codes.CODES)
    for row in rows:
        code = codes.CODES[row["code"]]
        assert code.meaning == row["meaning"]
        assert code.category.value == row["category"]
        assert code.possible_session is (row["possible_session"] == "Y"), row["code"]
        assert code.counts_as_attendance is (row["counts_as_attendance"] == "Y"), row["code"]
        assert code.absence_type.value == row["absence_type"], row["code"]
        assert code.penalty_threshold is (row["penalty_threshold"] == "Y"), row["code"]
        assert code.late is (row["late"] == "Y"), row["code"]
        assert code.valid_from == _date(row["valid_from"]), row["code"]
        assert code.valid_to == _date(row["valid_to"]), row["code"]


def test_derived_sets_follow_the_dfe_model():
    assert codes.PENALTY_THRESHOLD == {"G", "N", "O", "U"}
    assert codes.LATE == {"L", "U"}
    assert not ({"D", "X", "Q", "Z", "#", "Y", *[f"Y{n}" for n in range(1, 8)]} & codes.POSSIBLE)
    assert codes.ATTENDANCE == codes.PRESENT | codes.APPROVED_EDUCATIONAL_ACTIVITY


@pytest.mark.parametrize(("code", "day", "valid"), [
    ("H", dt.date(2024, 8, 18), True), ("H", dt.date(2024, 8, 19), False),
    ("J1", dt.date(2024, 8, 18), False), ("J1", dt.date(2024, 8, 19), True),
    ("F", dt.date(2013, 8, 31), True), ("F", dt.date(2013, 9, 1), False),
    ("/", dt.date(2001, 1, 1), True), ("Y4", dt.date(2024, 8, 19), True), ("Y", dt.date(2025, 1, 6), False),
])
def test_validity_dates(code, day, valid):
    assert codes.code_valid_on(code, day) is valid
