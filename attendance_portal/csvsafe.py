"""CSV for spreadsheets: every export writes through here, so no cell can run as a formula.

A name such as `=HYPERLINK(...)` or `@SUM(...)` is stored as given (it is someone's data), but a
spreadsheet would treat a cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return) as a
formula. Such a cell is written with a leading apostrophe, which spreadsheets show as text. Plain
numbers (`-3`, `+44 1632 960123` is not one) and a lone `-` are left alone: they cannot be formulas.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def cell_safe(value: Any) -> Any:
    """The value as a spreadsheet will read it as text; non-strings (numbers, None) pass through."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if value == "-" or _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


class SafeWriter:
    """`csv.writer` whose every cell goes through `cell_safe`."""

    def __init__(self, out: SupportsWrite[str], **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell_safe(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: SupportsWrite[str], **kwargs: Any) -> SafeWriter:
    return SafeWriter(out, **kwargs)
