"""The package's generic tests, attached from a user's schema.yml and run by dbt test:
each with a passing and a failing case on the engine (issue #3, item 7)."""

from __future__ import annotations

import pytest

from macro_project import MacroProject, node_results

pytestmark = pytest.mark.engine

# 2026-03-01 .. 2026-04-27, two keys a day
DAYS = "SELECT addDays(toDate('2026-03-01'), intDiv(number, 2)) AS date, toInt64(number % 2) AS k FROM numbers(58 * 2)"

MODELS = {
    "grain_ok": f"""
        {{{{ config(materialized='table', engine='ReplacingMergeTree()', order_by='(date, k)', partition_by='toStartOfMonth(date)') }}}}
        SELECT date, k, toDecimal128(1, 6) AS v FROM ({DAYS})""",
    # every April key written twice, as an append without a barrier leaves it
    "grain_doubled": f"""
        {{{{ config(materialized='table', engine='MergeTree()', order_by='(date, k)', partition_by='toStartOfMonth(date)') }}}}
        SELECT date, k, toDecimal128(1, 6) AS v FROM ({DAYS})
        UNION ALL
        SELECT date, k, toDecimal128(2, 6) AS v FROM ({DAYS}) WHERE date >= '2026-04-01'""",
    "grain_doubled_view": "SELECT * FROM {{ ref('grain_doubled') }}",
    "supply_ok": f"""
        {{{{ config(materialized='table', engine='MergeTree()', order_by='(date, token)') }}}}
        SELECT date, if(k = 0, 'GNO', 'WETH') AS token, toDecimal128(100 * (k + 1), 6) AS supply_usd FROM ({DAYS})""",
    # April computed 2x: flat inside the month, a step at the boundary
    "supply_doubled": f"""
        {{{{ config(materialized='table', engine='MergeTree()', order_by='(date, token)') }}}}
        SELECT date, if(k = 0, 'GNO', 'WETH') AS token,
               toDecimal128(100 * (k + 1) * if(date >= '2026-04-01', 2, 1), 6) AS supply_usd FROM ({DAYS})""",
}

SCHEMA = """
version: 2
models:
  - name: grain_ok
    data_tests:
      - refill.unique_grain_per_partition: {arguments: {key: [date, k]}}
  - name: grain_doubled
    data_tests:
      - refill.unique_grain_per_partition: {arguments: {key: [date, k]}}
  - name: grain_doubled_view
    data_tests:
      - refill.unique_grain_per_partition:
          arguments: {key: [date, k], partition_by: toStartOfMonth(date)}
  - name: supply_ok
    columns:
      - name: supply_usd
        data_tests:
          - refill.adjacent_day_ratio: {arguments: {date_column: date, group_by: [token]}}
  - name: supply_doubled
    columns:
      - name: supply_usd
        data_tests:
          - refill.adjacent_day_ratio:
              name: ratio_whole_table
              arguments: {date_column: date, group_by: [token]}
          - refill.adjacent_day_ratio:
              name: ratio_march_only
              arguments: {date_column: date, group_by: [token]}
              config: {where: "date < '2026-04-01'"}
"""


@pytest.fixture(scope="module")
def tested(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("generic"))
    for name, sql in MODELS.items():
        project.model(name, sql)
    project.write("models/schema.yml", SCHEMA)
    project.dbt("run")
    run = project.dbt("test", check=False)
    yield node_results(run)
    project.close()


def _outcome(tested, model, test):
    (result,) = [r for name, r in tested.items() if name.startswith(test) and r.node.attached_node.endswith("." + model)]
    return str(result.status), result.failures


def test_unique_grain_per_partition_passes_a_clean_table(tested):
    assert _outcome(tested, "grain_ok", "refill_unique_grain_per_partition") == ("pass", 0)


def test_unique_grain_per_partition_fails_on_the_doubled_month_only(tested):
    assert _outcome(tested, "grain_doubled", "refill_unique_grain_per_partition") == ("fail", 1)


def test_unique_grain_per_partition_on_a_view_with_an_explicit_partition(tested):
    assert _outcome(tested, "grain_doubled_view", "refill_unique_grain_per_partition") == ("fail", 1)


def test_adjacent_day_ratio_passes_a_steady_series(tested):
    assert _outcome(tested, "supply_ok", "refill_adjacent_day_ratio") == ("pass", 0)


def test_adjacent_day_ratio_fails_on_the_month_boundary_step(tested):
    assert _outcome(tested, "supply_doubled", "ratio_whole_table") == ("fail", 2)  # GNO and WETH on April 1


def test_adjacent_day_ratio_honours_a_where_config(tested):
    assert _outcome(tested, "supply_doubled", "ratio_march_only") == ("pass", 0)
