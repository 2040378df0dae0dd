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


# -- every branch, every subquery: where the rows come from ------------------------------

from refill.lint.sqlshape import (  # noqa: E402
    FILTERED, NEUTRAL, UNBOUNDED, has_watermark, month_cutting_bounds, month_flow, reads_relation,
)

MONTH = f"toStartOfMonth(d) >= toDate('{S}') AND toStartOfMonth(d) <= toDate('{E}')"
NAMES = frozenset({"d"})


def flow(sql: str):
    return month_flow(parse(sql), NAMES, MONTH_WINDOW)


@pytest.mark.parametrize("wrapped", ["assumeNotNull(d)", "ifNull(d, toDate('1970-01-01'))", "toNullable(d)",
                                     "toDate(assumeNotNull(d))", "coalesce(d, toDate('1970-01-01'))"])
def test_null_handling_wrappers_are_the_column(wrapped):
    where = f"toStartOfMonth({wrapped}) >= toDate('{S}') AND toStartOfMonth({wrapped}) <= toDate('{E}')"
    assert window_of(where) == ("d", MONTH_WINDOW)


def test_every_union_branch_needs_the_window():
    branch = f"SELECT d, x FROM s{{i}} WHERE {MONTH}"
    six = " UNION ALL ".join(branch.format(i=i) for i in range(6))
    assert flow(f"WITH u AS ({six}) SELECT d, sum(x) FROM u GROUP BY d").state == FILTERED
    five = " UNION ALL ".join([*(branch.format(i=i) for i in range(5)), "SELECT d, x FROM s5"])
    broken = flow(f"WITH u AS ({five}) SELECT d, sum(x) FROM u GROUP BY d")
    assert (broken.state, broken.source) == (UNBOUNDED, "the query reading `s5`")


def test_a_filter_downstream_of_the_union_covers_every_branch():
    assert flow(f"SELECT d FROM (SELECT d FROM a UNION ALL SELECT d FROM b) WHERE {MONTH}").state == FILTERED


def test_a_subquery_reading_the_date_column_needs_the_window():
    sql = "SELECT d, x FROM (SELECT d, x FROM raw) AS r JOIN (SELECT k FROM lookup) AS l ON r.x = l.k WHERE r.x > 0"
    assert flow(sql).state == UNBOUNDED
    assert flow(sql.replace("FROM raw", f"FROM raw WHERE {MONTH}")).state == FILTERED


def test_left_joined_tables_do_not_add_dates_but_a_full_join_does():
    base = f"WITH b AS (SELECT d, k FROM bal WHERE {MONTH}) SELECT b.d AS d, p.price FROM b {{join}} prices AS p ON p.d = b.d"
    assert flow(base.format(join="LEFT JOIN")).state == FILTERED
    assert flow(base.format(join="INNER JOIN")).state == FILTERED
    assert flow(base.format(join="FULL OUTER JOIN").replace("b.d AS d", "p.d AS d")).state == UNBOUNDED


def test_lookups_and_generated_dates_carry_no_date_of_a_table():
    assert flow("SELECT address FROM non_users").state == NEUTRAL
    assert flow("SELECT addDays(toDate('2026-03-01'), number) AS d FROM numbers(10)").state == NEUTRAL


def test_a_bound_on_rows_whose_date_is_not_passed_on_is_not_the_window():
    # The seed day of a carried-forward balance: the last day before the month, not a window.
    sql = (f"WITH seed AS (SELECT max(d) AS seed_day FROM t WHERE d < toDate('{S}')), "
           f"x AS (SELECT d, v FROM s WHERE {MONTH}) SELECT x.d AS d, seed.seed_day FROM x CROSS JOIN seed")
    assert flow(sql).state == FILTERED


def test_a_wrong_window_in_one_branch_is_reported_with_its_days():
    sql = (f"SELECT d FROM a WHERE {MONTH} UNION ALL "
           f"SELECT d FROM b WHERE toStartOfMonth(d) >= toDate('{S}') AND toStartOfMonth(d) < toDate('{E}')")
    found = flow(sql)
    assert found.state == UNBOUNDED and (found.window.low, found.window.high) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_whole_months_and_cutting_bounds_of_a_daily_insert_overwrite():
    whole = ["toStartOfMonth(toDate(d)) >= (SELECT toStartOfMonth(subtractDays(max(d), 3)) FROM lint.m)",
             "d >= toStartOfMonth(subtractDays(toDate('2026-04-27'), 11))", "d >= toDate('2026-04-01')",
             "d >= (SELECT toStartOfMonth(max(d)) FROM lint.m) AND d <= toDate('2026-04-27')"]
    for where in whole:
        assert month_cutting_bounds(parse(f"SELECT d FROM s WHERE {where}"), NAMES) == [], where
    cutting = ["d >= (SELECT subtractDays(max(d), 2) FROM lint.m)", "d > toDate('2026-04-01')", "d >= today() - 3"]
    for where in cutting:
        assert month_cutting_bounds(parse(f"SELECT d FROM s WHERE {where}"), NAMES), where


def test_an_append_watermark_is_strictly_after_the_tables_last_day():
    def marked(where: str) -> bool:
        return has_watermark(parse(f"SELECT d FROM s WHERE {where}"), NAMES, "lint", "m")
    assert marked("toDate(d) > (SELECT coalesce(max(toDate(w.d)), toDate('1970-01-01')) FROM lint.m AS w)")
    assert not marked("toDate(d) >= (SELECT max(d) FROM lint.m)")          # the last day again
    assert not marked("toDate(d) > (SELECT max(d) FROM lint.other)")        # another table's last day
    assert not marked("toDate(d) >= subtractDays(toDate('2026-04-27'), 3)")  # a lookback


def test_reading_this_as_rows_is_not_a_watermark_on_it():
    assert reads_relation(parse("SELECT k, argMax(v, d) FROM lint.m GROUP BY k"), "lint", "m")
    assert not reads_relation(parse("SELECT d FROM s WHERE d > (SELECT max(d) FROM lint.m)"), "lint", "m")


def test_a_list_of_consecutive_months_is_the_window():
    assert window_of(f"toStartOfMonth(d) IN (toDate('{S}'), toDate('{E}'))") == ("d", MONTH_WINDOW)
    assert window_of("toYYYYMM(d) IN (202603, 202604)") == ("d", MONTH_WINDOW)
    assert windows(parse("SELECT 1 FROM t WHERE toYYYYMM(d) IN (202603, 202605)")) == []  # a hole: no window


def test_an_inner_join_condition_filters_the_branch_a_left_join_condition_does_not():
    sql = (f"SELECT s.d AS d FROM s JOIN months AS m ON m.k = s.k AND toStartOfMonth(s.d) >= toDate('{S}') "
           f"AND toStartOfMonth(s.d) <= toDate('{E}')")
    assert flow(sql).state == FILTERED
    assert flow(sql.replace(" JOIN ", " LEFT JOIN ")).state == UNBOUNDED
