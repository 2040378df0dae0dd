"""The SQL facts the contract reads from sqlglot trees: month windows, engines, partitions."""

from __future__ import annotations

import datetime as dt

import pytest

from refill.lint.scenario import MONTH_WINDOW
from refill.lint.sqlshape import (
    NotSQL, column_names, engine_name, is_set_statement, parse, partition_month_column, windows,
)

S, E = "2026-03-01", "2026-04-01"  # the linter's start_month / end_month


def window_of(where: str):
    found = windows(parse(f"SELECT 1 FROM t WHERE {where}"))
    assert len(found) == 1, found
    return found[0].column, (found[0].low, found[0].high)


@pytest.mark.parametrize("where", [
    f"toStartOfMonth(date) >= toDate('{S}') AND toStartOfMonth(date) <= toDate('{E}')",
    f"toDate('{S}') <= toStartOfMonth(date) AND toDate('{E}') >= toStartOfMonth(date)",
    f"toStartOfMonth(date) BETWEEN toDate('{S}') AND toDate('{E}')",
    f"date BETWEEN toDate('{S}') AND toLastDayOfMonth(toDate('{E}'))",
    f"toYYYYMM(date) BETWEEN toYYYYMM(toDate('{S}')) AND toYYYYMM(toDate('{E}'))",
    "toYYYYMM(date) >= 202603 AND toYYYYMM(date) <= 202604",
    f"date >= '{S}' AND date < addMonths(toDate('{E}'), 1)",
    f"date >= toDate('{S}') AND date < toDate('{E}') + INTERVAL 1 MONTH",
    f"toDate(block_timestamp) >= DATE '{S}' AND toDate(block_timestamp) <= last_day(toDate('{E}'))",
    f"date_trunc('month', date) >= toDate('{S}') AND date_trunc('month', date) < toDate('2026-05-01')",
    f"(toStartOfMonth(date) >= toDate('{S}')) AND (toStartOfMonth(date) <= toDate('{E}')) AND x > 0",
])
def test_equivalent_spellings_of_the_month_window_are_the_same_window(where):
    assert window_of(where)[1] == MONTH_WINDOW


@pytest.mark.parametrize("where, low, high", [
    (f"date >= toDate('{S}') AND date < toDate('{E}')", "2026-03-01", "2026-03-31"),  # end month dropped
    (f"toStartOfMonth(date) >= toDate('{S}') AND toStartOfMonth(date) < toDate('{E}')", "2026-03-01", "2026-03-31"),
    (f"date > toDate('{S}') AND toStartOfMonth(date) <= toDate('{E}')", "2026-03-02", "2026-04-30"),  # first day lost
    (f"date >= addDays(toDate('{S}'), -1) AND toStartOfMonth(date) <= toDate('{E}')", "2026-02-28", "2026-04-30"),
    (f"toStartOfMonth(date) >= toDate('{S}')", "2026-03-01", None),  # no upper edge
])
def test_a_different_window_is_reported_as_the_days_it_lets_through(where, low, high):
    _, (got_low, got_high) = window_of(where)
    assert (got_low, got_high) == (dt.date.fromisoformat(low), dt.date.fromisoformat(high) if high else None)


def test_bounds_that_are_not_constant_dates_are_not_a_window():
    assert windows(parse("SELECT 1 FROM t WHERE date >= (SELECT max(date) FROM t) - 3 AND x = 'a'")) == []


def test_windows_are_found_in_ctes_prewhere_and_per_column():
    tree = parse(
        f"WITH a AS (SELECT * FROM s PREWHERE toStartOfMonth(d) >= toDate('{S}') AND toStartOfMonth(d) <= toDate('{E}')) "
        f"SELECT * FROM a WHERE other >= toDate('2020-01-01')"
    )
    assert {w.column: (w.low, w.high) for w in windows(tree)} == {
        "d": MONTH_WINDOW, "other": (dt.date(2020, 1, 1), None),
    }


@pytest.mark.parametrize("engine, name", [
    ("ReplacingMergeTree()", "ReplacingMergeTree"),
    ("ReplacingMergeTree", "ReplacingMergeTree"),
    ("ReplacingMergeTree(version)", "ReplacingMergeTree"),
    ("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/t', '{replica}', ver)", "ReplicatedReplacingMergeTree"),
    ("SharedReplacingMergeTree", "SharedReplacingMergeTree"),
    ("MergeTree()", "MergeTree"),
    ("not an engine (", None),
])
def test_engine_name_is_read_from_the_parsed_call(engine, name):
    assert engine_name(engine) == name


@pytest.mark.parametrize("partition_by, column", [
    ("toStartOfMonth(date)", "date"),
    ("toYYYYMM(date)", "date"),
    ("toStartOfMonth(toDate(block_timestamp))", "block_timestamp"),
    ("date_trunc('month', d)", "d"),
    ("date", None),
    ("toYYYYMMDD(date)", None),
    ("toMonday(date)", None),
    ("(toStartOfMonth(date), chain)", None),
])
def test_partition_must_be_the_month_of_a_column(partition_by, column):
    assert partition_month_column(partition_by) == column


def test_keys_compare_as_column_sets():
    assert column_names("(date, token_address)") == column_names("tuple(token_address, date)")
    assert column_names("date") == frozenset({"date"})


def test_set_statements_are_recognised_and_garbage_is_not_sql():
    assert is_set_statement("SET max_memory_usage = 1, join_algorithm = 'grace_hash'")
    assert not is_set_statement("SELECT 1")
    with pytest.raises(NotSQL):
        parse("SELECT FROM WHERE (")
