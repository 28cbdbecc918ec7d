"""Casework in aggregate for governors and trusts: counts per school, disclosed like every other table.

Reporting sits below the casework apps (interventions, letters, penalties) and never imports them. Each of
those apps registers a reader here when it is loaded (`AppConfig.ready`); a reader takes the schools and
the period and answers, in one set-based statement over all the schools, `Figure`s: named counts by school.
The dashboard views call `casework_figures` and pass the result to `casework_tables`, which puts every
count through `reporting.disclosure`. No reader returns a pupil, only counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import disclosure as d
from .dashboard_tables import DisplayTable, Row


@dataclass(frozen=True)
class Figure:
    """One count by school. The figures of a group in `TOTALLED` add up to that group's total (cases by
    stage, letters by kind); the others stand alone."""

    group: str
    key: str
    label: str
    counts: Mapping[int, int] = field(default_factory=dict)


Reader = Callable[..., Sequence[Figure]]
READERS: dict[str, Reader] = {}

GROUPS = {
    "stages": ("Cases by stage", "Cases", "Cases open at any time in the period, by the stage each has "
               "reached (or ended at, if it has closed since). A case is one enrolment's casework."),
    "letters": ("Letters sent by kind", "Letters", "Letters marked sent in the period (by post, e-mail or the "
                "parent portal), by kind. A letter to each of two parents counts twice."),
    "actions": ("Meetings, contracts and notices", "Number", "Meetings held (date of the meeting), attendance "
                "contracts and action plans started, notices to improve issued, referrals to the local "
                "authority for a penalty notice submitted, and penalty notices issued by the local authority "
                "from the school's referrals, each dated in the period. Each count stands alone."),
}
TOTALLED = {"stages", "letters"}


def reader_register(name: str, reader: Reader) -> None:
    """Called by a casework app when it is loaded. `reader(school_ids=[...], start=date, end=date)`."""
    READERS[name] = reader


def casework_figures(*, school_ids: list[int], start: dt.date, end: dt.date) -> list[Figure]:
    """Every registered reader's figures for these schools: one statement each, whatever the number of
    schools."""
    found: list[Figure] = []
    if not school_ids:
        return found
    for name in sorted(READERS):
        found += READERS[name](school_ids=school_ids, start=start, end=end)
    return found


def _disclosed(figures: Sequence[Figure], group: str, school_id: int, threshold: int) \
        -> tuple[list[Figure], d.Disclosed]:
    """One school's table of a group: parts add up to the group's total (secondary suppression); stand-alone
    counts are only hidden when small."""
    mine = [f for f in figures if f.group == group]
    counts = {f.key: f.counts.get(school_id, 0) for f in mine}
    if group in TOTALLED:
        table = d.counts_table(counts, total=sum(counts.values()), prefix=group)
    else:
        table = d.Table()
        for key, value in counts.items():
            table.add(f"{group}:{key}", value)
    return mine, d.disclose(table, threshold=threshold)


def casework_tables(figures: Sequence[Figure], *, school_id: int, threshold: int) -> list[DisplayTable]:
    """A school's casework tables: one per group, each with its total where its parts add up."""
    tables = []
    for group, (title, header, note) in GROUPS.items():
        mine, disc = _disclosed(figures, group, school_id, threshold)
        rows = [Row(f.label, [disc.count(f"{group}:{f.key}")]) for f in mine]
        has_total = group in TOTALLED
        if has_total:
            rows.append(Row(f"All {header.lower()}", [disc.count(f"{group}:{d.WHOLE}")]))
        tables.append(DisplayTable(f"casework_{group}", title, [header], rows,
                                   f"{note} Small counts are hidden as elsewhere.", has_total=has_total))
    return tables


def trust_casework_table(figures: Sequence[Figure], *, schools: Sequence[tuple[int, str]],
                         threshold: int) -> DisplayTable:
    """Every school's casework side by side. Each school's cells are disclosed exactly as on that school's
    own page; there is no whole-trust row, so a hidden cell cannot be worked out from the trust's total
    and the other schools'."""
    headers: list[str] = []
    columns: list[tuple[str, str]] = []
    for group, (_title, header, _note) in GROUPS.items():
        mine = [f for f in figures if f.group == group]
        for f in mine:  # "Cases: <stage>", "Letters: <kind>": a stage and a letter may share a name
            headers.append(f"{header}: {f.label}" if group in TOTALLED else f.label)
            columns.append((group, f.key))
        if group in TOTALLED:
            headers.append(f"All {header.lower()}")
            columns.append((group, d.WHOLE))
    rows = []
    for school_id, name in schools:
        disclosed = {group: _disclosed(figures, group, school_id, threshold)[1] for group in GROUPS}
        cells = []
        for group, key in columns:
            cells.append(disclosed[group].count(f"{group}:{key}"))
        rows.append(Row(name, cells))
    note = " ".join(note for _t, _h, note in GROUPS.values())
    return DisplayTable("casework", "Casework in each school, year to date", headers, rows, note, has_total=False)
