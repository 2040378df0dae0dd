"""swap_months under the refill_swap materialization: a month is replaced whole, a month
the recompute leaves empty is emptied, and a month neither table holds is a no-op (on
ClickHouse 25.8 LTS too: CI runs this module there)."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject

pytestmark = [pytest.mark.engine, pytest.mark.ch258]

MODEL = """
{{ config(materialized='refill_swap', engine='ReplacingMergeTree()', order_by='(date, k)',
          partition_by='toStartOfMonth(date)',
          pre_hook=refill.refill_safe_pre_hook(), post_hook=refill.refill_safe_post_hook()) }}
SELECT date, k, {{ var('wrap', '') }}(toInt64(v * {{ var('factor', 1) }})) AS v, getSetting('max_memory_usage') AS cap
FROM (
    SELECT addDays(toDate('2026-02-01'), intDiv(number, 2)) AS date, toInt64(number % 2) AS k, toInt64(number) AS v
    FROM numbers(2 * 89)  -- February .. April
)
WHERE toStartOfMonth(date) BETWEEN toDate('{{ var('start_month') }}') AND toDate('{{ var('end_month', var('start_month')) }}')
  AND date NOT IN ({{ var('absent_days', "'1970-01-01'") }})
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("swap"), vars={"refill_max_memory_usage": 5_000_000_000})
    project.model("months", MODEL)
    project.parse({"start_month": "2026-02-01"})
    yield project
    project.close()


def _months(project):
    return {m: (n, s, cap) for m, n, s, cap in project.warehouse.rows(
        "SELECT toStartOfMonth(date) AS m, count(), sum(v), any(cap) FROM macro_tests.months GROUP BY m ORDER BY m")}


def test_swap_replaces_a_month_empties_a_vanished_one_and_ignores_an_empty_one(project):
    project.dbt("run", vars={"start_month": "2026-02-01", "end_month": "2026-04-01"}, reuse=True)  # first build
    before = _months(project)
    assert set(before) == {dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)}

    project.dbt("run", vars={"start_month": "2026-03-01", "factor": 10}, reuse=True)
    after = _months(project)
    assert after[dt.date(2026, 3, 1)] == (62, before[dt.date(2026, 3, 1)][1] * 10, 5_000_000_000)
    assert after[dt.date(2026, 2, 1)] == before[dt.date(2026, 2, 1)]  # other months untouched

    # April's recompute is empty (every April day absent): the month must disappear
    april = ", ".join(f"'2026-04-{day:02d}'" for day in range(1, 31))
    project.dbt("run", vars={"start_month": "2026-04-01", "absent_days": april}, reuse=True)
    assert dt.date(2026, 4, 1) not in _months(project)

    # a month neither the table nor the recompute holds: nothing to swap, no error
    project.dbt("run", vars={"start_month": "2026-07-01"}, reuse=True)
    assert set(_months(project)) == {dt.date(2026, 2, 1), dt.date(2026, 3, 1)}


def test_swap_months_rejects_a_window_that_is_not_months(project):
    run = project.dbt("run", vars={"start_month": "2026-03-15"}, check=False, reuse=True)
    assert not run.success
    assert "start_month must be the first day of a month (YYYY-MM-01), got '2026-03-15'" in run.text


def test_a_recompute_whose_columns_differ_fails_before_any_partition_moves(project):
    """Preflight refuses schema drift; should one reach the swap, it fails naming the column
    (not Code 122 half-way through the partitions) and the table keeps its months."""
    project.dbt("run", vars={"start_month": "2026-02-01", "end_month": "2026-04-01"}, reuse=True)
    before = _months(project)
    run = project.dbt("run", vars={"start_month": "2026-03-01", "factor": 10, "wrap": "toNullable"},
                      check=False, reuse=True)
    assert not run.success
    assert ("the month recompute's columns differ from the table's, so its months cannot be swapped: "
            "v (months: Int64, months__refill_stage: Nullable(Int64))") in run.text
    assert _months(project) == before
