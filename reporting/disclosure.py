"""Small-number suppression: the one place where figures about few pupils are hidden.

Every aggregate that leaves the school (governor and trust pages, CSV exports, PDF reports) is built as
a `Table` of named counts and the sums that tie them together, then passed through `disclose`.

* Primary suppression: a count from 1 to threshold − 1 is hidden ("hidden" on a page, "c" in a CSV, as
  DfE writes it). Cells that are not printed but follow from printed ones (pupils in a group
  who are *not* persistently absent, pupils outside a cohort) are judged the same way, because
  subtraction shows them.
* Secondary suppression: a sum with exactly one hidden term gives that term away, and so can a chain
  of sums. Further cells are hidden until no hidden cell is determined by the printed ones: no sum has
  exactly one hidden term, and no hidden cell follows from any combination of the sums (checked by
  exact linear algebra over the hidden cells). Cells that are not printed are hidden first (free),
  then the smallest printed ones; a total only when nothing else will do.
* Rates: a rate computed from fewer pupils than the threshold, or whose count is hidden, is hidden.
* Forecasts (`forecast_hidden`): a school's projected year-end PA rate, its range and last year's actual
  year-end PA rate are each a count over pupils; with the school's pupils printed beside them, the count
  can be worked back, so each is hidden when its count or its pupils are small.
* Every hidden cell reads the same: a cell hidden only to protect another is not a small number, so
  labelling small ones "fewer than 5" would be untrue of it, and labelling the two kinds apart would tell
  the reader which is which (with a total of 4, a hidden 0 beside a hidden 4 would give the 4 away).

The threshold is 5 unless the trust sets another (`DisclosureSetting`); DfE itself hides 1 and 2.
A zero is shown: "none" is not a small number of pupils.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from attendance_portal import csvsafe

if TYPE_CHECKING:
    from .forecasts import SchoolForecast

DEFAULT_THRESHOLD = 5
CSV_HIDDEN = "c"
# Spreadsheet programs run a cell that starts with one of these as a formula.


# How a hidden figure reads on a page, whatever hid it; `hidden_reason` says why.
HIDDEN_TEXT = "hidden"


def hidden_reason(threshold: int) -> str:
    return (f"Hidden: fewer than {threshold}, or a figure that would let one fewer than {threshold} be worked "
            "out (which may be large).")


@dataclass
class Table:
    """Counts by key, and the sums among them: each sum says `total == sum(parts)`.

    `printed` keys are shown to the reader; the others are derived cells that subtraction reveals.
    `totals` rank last when a cell must be chosen for secondary suppression.
    """

    values: dict[str, int] = field(default_factory=dict)
    sums: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    printed: set[str] = field(default_factory=set)
    totals: set[str] = field(default_factory=set)

    def add(self, key: str, value: int, *, printed: bool = True, total: bool = False) -> str:
        self.values[key] = int(value)
        if printed:
            self.printed.add(key)
        if total:
            self.totals.add(key)
        return key

    def add_sum(self, total: str, parts: Iterable[str]) -> None:
        parts = tuple(parts)
        if parts:
            self.sums.append((total, parts))

    def partition(self, total: str, parts: Mapping[str, int], *, printed: bool = True) -> None:
        """`parts` (new keys with their values) add up to the existing cell `total`."""
        for key, value in parts.items():
            self.add(key, value, printed=printed)
        self.add_sum(total, parts)


def primary(value: int, threshold: int) -> bool:
    return 0 < value < threshold


class ForecastHidden(NamedTuple):
    """Which of a school's forecast figures may not be shown."""

    projection: bool  # the projected year-end PA rate and its range
    last_year: bool  # last year's actual year-end PA rate


def forecast_hidden(forecast: SchoolForecast, *, threshold: int) -> ForecastHidden:
    """The one rule for a school's forecast, wherever it is shown (governors' page and PDF, trust's table).

    The projection is hidden when it rests on fewer pupils than the threshold, or when fewer than the
    threshold are projected persistently absent, or are persistently absent today (the range's other end
    is that share). Last year's rate is hidden when last year's pupils, or those persistently absent at
    its end, were fewer than the threshold. There is no total of projections to hide a partner in, so
    each figure is judged on its own counts."""
    projection = (forecast.pupils < threshold or primary(forecast.pa_projected, threshold)
                  or primary(forecast.pa_now, threshold))
    last_year = forecast.last_year_pupils < threshold or primary(forecast.last_year_pa, threshold)
    return ForecastHidden(projection, last_year)


def _equations(table: Table) -> list[dict[str, int]]:
    """Each sum as coefficients: parts +1, total −1 (a part may also be the total of another sum)."""
    found = []
    for total, parts in table.sums:
        coefficients: dict[str, int] = {}
        for part in parts:
            coefficients[part] = coefficients.get(part, 0) + 1
        coefficients[total] = coefficients.get(total, 0) - 1
        found.append({k: v for k, v in coefficients.items() if v})
    return found


def determined(equations: Sequence[Mapping[str, int]], hidden: set[str]) -> set[str]:
    """Hidden cells whose value follows from the shown ones through the sums (any combination of them).

    Hidden cells that share no sum are independent, so each group of connected ones is solved apart.
    """
    parent = {key: key for key in hidden}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for equation in equations:
        members = [k for k in equation if k in hidden]
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    groups: dict[str, set[str]] = {}
    for key in hidden:
        groups.setdefault(root(key), set()).add(key)
    found: set[str] = set()
    for group in groups.values():
        found |= _determined_in(equations, group)
    return found


PRIME = 2**61 - 1  # exact rank over the rationals, with coefficients this small, but in machine integers


def _determined_in(equations: Sequence[Mapping[str, int]], hidden: set[str]) -> set[str]:
    """The sums restricted to the hidden cells are reduced to row echelon form (modulo a large prime: the
    coefficients are ±1 and ±2, so the rank is the rational one); a hidden cell is determined exactly when
    it is a pivot whose row has no other hidden cell left."""
    order = sorted(hidden)
    index = {key: i for i, key in enumerate(order)}
    rows = []
    for equation in equations:
        row = [0] * len(order)
        for key, coefficient in equation.items():
            if key in index:
                row[index[key]] = (row[index[key]] + coefficient) % PRIME
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    r = 0
    for column in range(len(order)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][column]), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        inverse = pow(rows[r][column], PRIME - 2, PRIME)
        rows[r] = [x * inverse % PRIME for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][column]:
                factor = rows[i][column]
                rows[i] = [(a - factor * b) % PRIME for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(column)
        r += 1
    # The rows are final only now (each elimination replaces them).
    return {order[column] for column, row in zip(pivots, rows, strict=False)
            if all(x == 0 for j, x in enumerate(row) if j != column)}


def _cost(table: Table, key: str) -> tuple[int, int, str]:
    """Which cell to hide next: derived cells first (hiding them costs the reader nothing), then the
    smallest printed cells, totals last."""
    rank = 0 if key not in table.printed else (2 if key in table.totals else 1)
    return (rank, table.values[key], key)


def suppressed_cells(table: Table, threshold: int, *, hidden_elsewhere: frozenset[str] = frozenset(),
                     shown_elsewhere: frozenset[str] = frozenset()) -> set[str]:
    """The cells to hide: primary, then secondary until no hidden cell can be worked out.

    Cells another table has already published (`shown_elsewhere`) are never chosen to hide, and cells it
    has hidden stay hidden, so figures that appear on two pages are the same on both.

    The answer depends on nothing but its arguments, so it is remembered: a trust's page discloses one
    table per school, and the same figures come back on every request until they change."""
    return set(_suppressed(tuple(table.values.items()), tuple(table.sums), frozenset(table.printed),
                           frozenset(table.totals), threshold, frozenset(hidden_elsewhere),
                           frozenset(shown_elsewhere)))


@functools.lru_cache(maxsize=4096)
def _suppressed(values: tuple[tuple[str, int], ...], sums: tuple[tuple[str, tuple[str, ...]], ...],
                printed: frozenset[str], totals: frozenset[str], threshold: int, hidden_elsewhere: frozenset[str],
                shown_elsewhere: frozenset[str]) -> frozenset[str]:
    table = Table(dict(values), list(sums), set(printed), set(totals))
    return frozenset(_suppress(table, threshold, hidden_elsewhere, shown_elsewhere))


def _suppress(table: Table, threshold: int, hidden_elsewhere: frozenset[str],
              shown_elsewhere: frozenset[str]) -> set[str]:
    hidden = {key for key, value in table.values.items() if primary(value, threshold)} | set(hidden_elsewhere)
    hidden &= set(table.values)
    if not hidden:
        return hidden
    equations = _equations(table)
    while True:
        exposed = next((eq for eq in equations if sum(k in hidden for k in eq) == 1), None)
        if exposed is not None:
            near = [exposed]
        else:
            found = determined(equations, hidden)
            if not found:
                return hidden
            # A chain of sums gives a cell away: hide a partner in one of its sums.
            key = min(found)
            near = [eq for eq in equations if key in eq]
        touching = [eq for eq in equations if any(k in hidden for k in eq)]
        # Hide the cheapest partner not yet published: beside the exposed cell, else beside any hidden cell,
        # else anywhere on this page. A published cell is known already, so hiding it protects nothing: it is
        # chosen only when every other cell is hidden, to end the search.
        free = [k for eq in near for k in eq if k not in hidden and k not in shown_elsewhere] or \
            [k for eq in touching for k in eq if k not in hidden and k not in shown_elsewhere] or \
            [k for k in table.values if k not in hidden and k not in shown_elsewhere] or \
            [k for eq in near for k in eq if k not in hidden]
        if not free:  # everything the hidden cells touch is hidden: nothing more to do
            return hidden
        hidden.add(min(free, key=lambda k: _cost(table, k)))


@dataclass(frozen=True)
class Cell:
    """A figure as it may be shown: the value, or hidden."""

    value: int | float | None
    hidden: bool = False
    threshold: int = DEFAULT_THRESHOLD
    percent: bool = False

    def __str__(self) -> str:
        if self.hidden:
            return HIDDEN_TEXT
        if self.value is None:
            return "–"
        if self.percent:
            return f"{self.value:.1f}%"
        return f"{self.value:,}"

    @property
    def csv(self) -> str:
        if self.hidden:
            return CSV_HIDDEN
        if self.value is None:
            return ""
        return f"{self.value:.2f}" if self.percent else str(self.value)

    @property
    def number(self) -> float | None:
        """For charts: hidden cells are not drawn."""
        return None if self.hidden or self.value is None else float(self.value)


@dataclass(frozen=True)
class Disclosed:
    """A table after suppression: look cells up by key."""

    table: Table
    hidden: frozenset[str]
    threshold: int

    def count(self, key: str) -> Cell:
        return Cell(self.table.values.get(key, 0), key in self.hidden, self.threshold)

    def rate(self, value: float | None, *, pupils_key: str, count_key: str | None = None) -> Cell:
        """A percentage that rests on the pupils of `pupils_key` (and, for a rate of pupils, on the
        count `count_key`): hidden when that group is small or either count is hidden."""
        pupils = self.table.values.get(pupils_key, 0)
        hide = (pupils_key in self.hidden or pupils < self.threshold
                or (count_key is not None and count_key in self.hidden))
        return Cell(None if hide else value, hide, self.threshold, percent=True)

    def session_count(self, value: int, *, pupils_key: str) -> Cell:
        """A count of sessions of a group: shown only when the group itself may be."""
        pupils = self.table.values.get(pupils_key, 0)
        hide = pupils_key in self.hidden or pupils < self.threshold
        return Cell(None if hide else value, hide, self.threshold)


def disclose(table: Table, *, threshold: int = DEFAULT_THRESHOLD, fixed: Iterable[Disclosed] = ()) -> Disclosed:
    """Suppress `table`; `fixed` are tables already shown whose cells (same keys) must not change."""
    hidden: set[str] = set()
    shown: set[str] = set()
    for other in fixed:
        hidden |= other.hidden
        shown |= set(other.table.values) - other.hidden
    return Disclosed(table, frozenset(suppressed_cells(table, threshold, hidden_elsewhere=frozenset(hidden),
                                                       shown_elsewhere=frozenset(shown))), threshold)


def threshold_for(*, trust_id: int | None) -> int:
    """The trust's threshold, else the default."""
    from .models import DisclosureSetting

    if trust_id is None:
        return DEFAULT_THRESHOLD
    found = DisclosureSetting.objects.filter(trust_id=trust_id).values_list("threshold", flat=True).first()
    return found or DEFAULT_THRESHOLD


def csv_text(value: Any) -> str:
    """A cell for a CSV file: hidden figures are "c", and text a spreadsheet would run is defused."""
    text = value.csv if isinstance(value, Cell) else ("" if value is None else str(value))
    return str(csvsafe.cell_safe(text))


def csv_document(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in header])
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
    return out.getvalue()


@dataclass(frozen=True)
class PupilCounts:
    """Pupils in a group and how many of them are persistently and severely absent."""

    pupils: int
    persistent: int
    severe: int


WHOLE = "all"
MEASURES = (("pa", "persistent"), ("sa", "severe"))
PREFIXES = ("n", "pa", "npa", "sa", "nsa")


def pupils_table(groups: Mapping[str, PupilCounts], whole: PupilCounts, *, partition: bool,
                 table: Table | None = None, whole_key: str = WHOLE) -> Table:
    """A table of groups next to the whole school (keys `n:<group>`, `pa:<group>`, `sa:<group>`).

    With `partition` the groups split the school (year groups), so each column adds up to the whole.
    Otherwise each group is a cohort (FSM, EAL…) and the pupils outside it follow by subtraction, so
    they are cells too (not printed). Pupils not persistently (severely) absent are derived cells."""
    table = table or Table()
    if f"n:{whole_key}" not in table.values:
        _group_cells(table, whole_key, whole, printed=True, total=True)
    for name, counts in groups.items():
        _group_cells(table, name, counts, printed=True, total=False)
        if not partition:
            outside = PupilCounts(whole.pupils - counts.pupils, whole.persistent - counts.persistent,
                                  whole.severe - counts.severe)
            _group_cells(table, f"not {name}", outside, printed=False, total=False)
            for prefix in PREFIXES:
                table.add_sum(f"{prefix}:{whole_key}", (f"{prefix}:{name}", f"{prefix}:not {name}"))
    if partition and groups:
        for prefix in PREFIXES:
            table.add_sum(f"{prefix}:{whole_key}", (f"{prefix}:{name}" for name in groups))
    return table


def cross_table(rows: Mapping[str, PupilCounts], cohorts: Mapping[str, PupilCounts],
                cells: Mapping[tuple[str, str], PupilCounts], whole: PupilCounts) -> Table:
    """Rows that split the whole (schools, year groups) against cohorts: cell `n:<row>|<cohort>`; the rows
    are `n:<row>`, the cohorts over all rows `n:<cohort>`. Every row, column and total ties up."""
    table = pupils_table(rows, whole, partition=True)
    pupils_table(cohorts, whole, partition=False, table=table)
    for row, counts in rows.items():
        inside = {f"{row}|{k}": cells.get((row, k), PupilCounts(0, 0, 0)) for k in cohorts}
        pupils_table(inside, counts, partition=False, table=table, whole_key=row)
    for k in cohorts:
        for prefix in PREFIXES:
            table.add_sum(f"{prefix}:{k}", (f"{prefix}:{row}|{k}" for row in rows))
            table.add_sum(f"{prefix}:not {k}", (f"{prefix}:not {row}|{k}" for row in rows))
    return table


def _group_cells(table: Table, name: str, counts: PupilCounts, *, printed: bool, total: bool) -> None:
    table.add(f"n:{name}", counts.pupils, printed=printed, total=total)
    for prefix, attribute in MEASURES:
        value = getattr(counts, attribute)
        table.add(f"{prefix}:{name}", value, printed=printed, total=total)
        table.add(f"n{prefix}:{name}", counts.pupils - value, printed=False)
        table.add_sum(f"n:{name}", (f"{prefix}:{name}", f"n{prefix}:{name}"))


def counts_table(parts: Mapping[str, int], *, total: int, prefix: str) -> Table:
    """Counts that add up to a printed total (pupils by band, sessions by reason or by day)."""
    table = Table()
    table.add(f"{prefix}:{WHOLE}", total, total=True)
    table.partition(f"{prefix}:{WHOLE}", {f"{prefix}:{k}": v for k, v in parts.items()})
    return table
