"""Small-number suppression: an attacker who subtracts along every row, column and total never
recovers a hidden cell, whatever the threshold (property-based), and nothing more is hidden than needed."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting.disclosure import (
    Cell,
    PupilCounts,
    Table,
    counts_table,
    cross_table,
    csv_document,
    csv_text,
    disclose,
    pupils_table,
)

THRESHOLDS = [3, 5, 10]


def subtraction_attack(table: Table, hidden: frozenset[str]) -> set[str]:
    """Every hidden cell an attacker can work out by subtracting the known cells of a sum from its total
    (or a total from its parts), again and again with what each step reveals."""
    known = {k: v for k, v in table.values.items() if k not in hidden}
    recovered: set[str] = set()
    changed = True
    while changed:
        changed = False
        for total, parts in table.sums:
            members = [total, *parts]
            unknown = [k for k in set(members) if k not in known]
            if len(unknown) != 1:
                continue
            (key,) = unknown
            if key == total:
                value = sum(known[p] for p in parts)
            else:
                value = known[total] - sum(known[p] for p in parts if p != key)
                value //= parts.count(key)
            assert value == table.values[key]  # the attack is right, so it is a real recovery
            known[key] = value
            recovered.add(key)
            changed = True
    return recovered & hidden


def algebra_attack(table: Table, hidden: frozenset[str]) -> set[str]:
    """Hidden cells fixed by any combination of the sums (an independent check over exact fractions): x is
    fixed exactly when the unit vector of x lies in the row space of the sums restricted to hidden cells."""
    order = sorted(hidden)
    if not order:
        return set()
    position = {key: i for i, key in enumerate(order)}
    rows: list[list[Fraction]] = []
    for total, parts in table.sums:
        row = [Fraction(0)] * len(order)
        for key in parts:
            if key in position:
                row[position[key]] += 1
        if total in position:
            row[position[total]] -= 1
        if any(row):
            rows.append(row)
    basis: list[tuple[int, list[Fraction]]] = []  # (pivot column, row with 1 there)
    for row in rows:
        for column, pivot_row in basis:
            if row[column]:
                row = [a - row[column] * b for a, b in zip(row, pivot_row, strict=True)]
        lead = next((j for j, x in enumerate(row) if x), None)
        if lead is not None:
            basis.append((lead, [x / row[lead] for x in row]))
    recovered = set()
    for i, key in enumerate(order):
        vector = [Fraction(int(j == i)) for j in range(len(order))]
        for column, pivot_row in basis:
            if vector[column]:
                vector = [a - vector[column] * b for a, b in zip(vector, pivot_row, strict=True)]
        if not any(vector):
            recovered.add(key)
    return recovered


def assert_safe(table: Table, threshold: int) -> frozenset[str]:
    result = disclose(table, threshold=threshold)
    hidden = result.hidden
    for key, value in table.values.items():
        if 0 < value < threshold:
            assert key in hidden, f"{key}={value} is below {threshold} but shown"
    assert not subtraction_attack(table, hidden), "a hidden cell was recovered by subtraction"
    assert not algebra_attack(table, hidden), "a hidden cell follows from the sums"
    return hidden


pupils = st.builds(
    lambda n, pa_share, sa_share: PupilCounts(n, round(n * pa_share), round(round(n * pa_share) * sa_share)),
    st.integers(min_value=0, max_value=60), st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(pupils, min_size=1, max_size=9), threshold=st.sampled_from(THRESHOLDS))
def test_year_group_tables_never_give_a_hidden_cell_away(groups: list[PupilCounts], threshold: int) -> None:
    whole = PupilCounts(sum(g.pupils for g in groups), sum(g.persistent for g in groups),
                        sum(g.severe for g in groups))
    table = pupils_table({f"Year {i}": g for i, g in enumerate(groups)}, whole, partition=True)
    assert_safe(table, threshold)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), threshold=st.sampled_from(THRESHOLDS))
def test_cohort_tables_never_give_a_hidden_cell_away(data: st.DataObject, threshold: int) -> None:
    whole = data.draw(pupils.filter(lambda p: p.pupils > 0))
    cohorts = {}
    for name in ("SEN support", "EHCP", "FSM", "EAL", "Looked after"):
        n = data.draw(st.integers(0, whole.pupils))
        pa = data.draw(st.integers(max(0, whole.persistent - (whole.pupils - n)), min(n, whole.persistent)))
        lo = max(0, whole.severe - (whole.persistent - pa))
        sa = data.draw(st.integers(lo, min(pa, whole.severe)))
        cohorts[name] = PupilCounts(n, pa, sa)
    assert_safe(pupils_table(cohorts, whole, partition=False), threshold)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.integers(0, 40), min_size=1, max_size=10), threshold=st.sampled_from(THRESHOLDS))
def test_counts_adding_to_a_total_never_give_a_hidden_cell_away(parts: list[int], threshold: int) -> None:
    table = counts_table({f"band {i}": v for i, v in enumerate(parts)}, total=sum(parts), prefix="band")
    assert_safe(table, threshold)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=5), min_size=2, max_size=6),
       threshold=st.sampled_from(THRESHOLDS))
def test_two_way_tables_with_every_margin_never_give_a_hidden_cell_away(grid: list[list[int]],
                                                                       threshold: int) -> None:
    width = min(len(r) for r in grid)
    grid = [r[:width] for r in grid]
    table = Table()
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            table.add(f"{r},{c}", value)
        table.add(f"{r},T", sum(row), total=True)
        table.add_sum(f"{r},T", (f"{r},{c}" for c in range(width)))
    for c in range(width):
        table.add(f"T,{c}", sum(row[c] for row in grid), total=True)
        table.add_sum(f"T,{c}", (f"{r},{c}" for r in range(len(grid))))
    table.add("T,T", sum(map(sum, grid)), total=True)
    table.add_sum("T,T", (f"T,{c}" for c in range(width)))
    table.add_sum("T,T", (f"{r},T" for r in range(len(grid))))
    assert_safe(table, threshold)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_a_single_small_group_hides_a_partner_and_not_the_total(threshold: int) -> None:
    groups = {"Year 3": PupilCounts(30, 1, 0), "Year 4": PupilCounts(28, 12, 6), "Year 5": PupilCounts(31, 9, 0)}
    whole = PupilCounts(89, 22, 6)
    result = disclose(pupils_table(groups, whole, partition=True), threshold=threshold)
    assert "pa:Year 3" in result.hidden
    assert {"pa:Year 4", "pa:Year 5"} & result.hidden, "a second PA count must be hidden with it"
    assert "pa:all" not in result.hidden and "n:all" not in result.hidden
    assert str(result.count("pa:Year 3")) == "hidden"
    assert result.count("pa:Year 3").csv == "c"


def test_nothing_is_hidden_when_every_count_is_large_or_zero() -> None:
    groups = {"Year 3": PupilCounts(30, 10, 0), "Year 4": PupilCounts(28, 12, 6)}
    result = disclose(pupils_table(groups, PupilCounts(58, 22, 6), partition=True), threshold=5)
    assert result.hidden == frozenset()
    assert str(result.count("pa:Year 4")) == "12"


def test_the_threshold_changes_what_is_hidden() -> None:
    groups = {"Year 3": PupilCounts(30, 7, 0), "Year 4": PupilCounts(28, 12, 6)}
    table = pupils_table(groups, PupilCounts(58, 19, 6), partition=True)
    assert "pa:Year 3" not in disclose(table, threshold=5).hidden
    assert "pa:Year 3" in disclose(table, threshold=10).hidden


def test_rates_from_few_pupils_or_hidden_counts_are_hidden() -> None:
    groups = {"Year 3": PupilCounts(4, 0, 0), "Year 4": PupilCounts(28, 2, 0), "Year 5": PupilCounts(30, 8, 0)}
    result = disclose(pupils_table(groups, PupilCounts(62, 10, 0), partition=True), threshold=5)
    assert result.rate(95.0, pupils_key="n:Year 3").hidden
    assert result.rate(7.1, pupils_key="n:Year 4", count_key="pa:Year 4").hidden
    assert "n:Year 4" in result.hidden, "the smallest other year is hidden with Year 3, or 62 - 30 - 28 gives it"
    assert not result.rate(93.0, pupils_key="n:Year 5").hidden
    assert str(result.rate(93.04, pupils_key="n:Year 5")) == "93.0%"


def test_csv_cells_hide_suppressed_values_and_defuse_formulas() -> None:
    assert csv_text(Cell(3, hidden=True)) == "c"
    assert csv_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert csv_text("-1.5") == "-1.5"
    text = csv_document(["School", "Pupils"], [["+Alder", Cell(4, hidden=True)], ["Birch", Cell(40)]])
    assert text.splitlines() == ["School,Pupils", "'+Alder,c", "Birch,40"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), threshold=st.sampled_from(THRESHOLDS))
def test_a_drill_down_grid_keeps_the_margins_other_pages_show_and_gives_nothing_away(data: st.DataObject,
                                                                                    threshold: int) -> None:
    """Schools (or year groups) × cohorts, shown after the schools table and the cohort table: together the
    three pages still let no hidden cell be worked out, and the margins read the same on every page."""
    names = [f"r{i}" for i in range(data.draw(st.integers(2, 4)))]
    cohort_names = ["FSM", "EAL", "SEN"]
    pupils_of: dict[str, list[tuple[bool, bool, set[str]]]] = {}
    for name in names:
        size = data.draw(st.integers(0, 25))
        pupils_of[name] = [(pa, pa and data.draw(st.booleans()), {c for c in cohort_names if data.draw(st.booleans())})
                           for pa in (data.draw(st.booleans()) for _ in range(size))]

    def counts(people: list[tuple[bool, bool, set[str]]]) -> PupilCounts:
        return PupilCounts(len(people), sum(p[0] for p in people), sum(p[1] for p in people))

    everyone = [p for people in pupils_of.values() for p in people]
    whole = counts(everyone)
    rows = {r: counts(pupils_of[r]) for r in names}
    cohorts = {c: counts([p for p in everyone if c in p[2]]) for c in cohort_names}
    cells = {(r, c): counts([p for p in pupils_of[r] if c in p[2]]) for r in names for c in cohort_names}
    first = disclose(pupils_table(rows, whole, partition=True), threshold=threshold)
    second = disclose(pupils_table(cohorts, whole, partition=False), threshold=threshold, fixed=[first])
    grid = cross_table(rows, cohorts, cells, whole)
    third = disclose(grid, threshold=threshold, fixed=[first, second])
    for earlier in (first, second):
        for key in earlier.table.values:
            assert (key in earlier.hidden) == (key in third.hidden), f"{key} differs between pages"
    assert_safe_with(grid, third.hidden, threshold)


def assert_safe_with(table: Table, hidden: frozenset[str], threshold: int) -> None:
    for key, value in table.values.items():
        if 0 < value < threshold:
            assert key in hidden
    assert not subtraction_attack(table, hidden)
    assert not algebra_attack(table, hidden)


@pytest.mark.parametrize(("counts", "projection", "last_year"), [
    ((40, 6, 6, 40, 6), False, False),
    ((40, 0, 0, 40, 0), False, False),  # none is not a small number
    ((40, 6, 2, 40, 6), True, False),  # two projected
    ((40, 2, 6, 40, 6), True, False),  # the range's low end: two persistently absent today
    ((4, 0, 0, 40, 6), True, False),  # a projection over four pupils
    ((40, 6, 6, 40, 2), False, True),  # two persistently absent last year
    ((40, 6, 6, 4, 0), False, True),  # four pupils last year
    ((40, 6, 6, 0, 0), False, True),  # no last year: nothing to show either
])
def test_a_forecast_is_hidden_by_its_own_counts(counts, projection, last_year):
    from reporting.disclosure import forecast_hidden
    from reporting.forecasts import SchoolForecast

    assert forecast_hidden(SchoolForecast(*counts), threshold=5) == (projection, last_year)
