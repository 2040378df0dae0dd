"""apply_monthly_incremental_filter on the engine: each branch rendered and run against
a real incremental model (issue #3, item 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject, node_results

pytestmark = pytest.mark.engine

FIRST_DAY = dt.date(2026, 1, 1)
LAST_DAY = dt.date(2026, 4, 27)

SOURCE = f"""
{{{{ config(materialized='table', engine='MergeTree()', order_by='(date, k)') }}}}
SELECT addDays(toDate('{FIRST_DAY}'), intDiv(number, 3)) AS date, toInt64(number % 3) AS k, toInt64(number) AS v
FROM numbers({((LAST_DAY - FIRST_DAY).days + 1) * 3})
"""


def _model(strategy: str, where: str, unique_key: str | None = "(date, k)") -> str:
    key = f", unique_key='{unique_key}'" if unique_key else ""
    return f"""
{{{{ config(materialized='incremental', incremental_strategy='{strategy}', engine='ReplacingMergeTree()',
            order_by='(date, k)', partition_by='toStartOfMonth(date)'{key}) }}}}
SELECT date, k, v, '{{{{ invocation_id }}}}' AS loaded_by
FROM {{{{ ref('src') }}}}
WHERE 1 = 1
{where}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("incremental"))
    # The seed calls the macro unprefixed, through a root-project shim.
    project.write("macros/shims.sql", """
        {% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, lookback_days=1) %}
          {{- return(refill.apply_monthly_incremental_filter(source_field, destination_field, add_and, lookback_days)) -}}
        {% endmacro %}
    """)
    project.model("src", SOURCE)
    project.model("by_day", _model("delete+insert", "{{ apply_monthly_incremental_filter('date', 'date', true) }}"))
    project.model("by_month", _model("insert_overwrite",
                                     "{{ refill.apply_monthly_incremental_filter('date', 'date', true) }}", None))
    # What a day-granular window does under insert_overwrite.
    project.model("by_month_naive", _model("insert_overwrite", """
        {% if is_incremental() %}
          AND date >= (SELECT subtractDays(max(date), 11) FROM {{ this }})
        {% endif %}""", None))
    project.parse()
    yield project
    project.close()


@pytest.fixture
def built(project):
    """Every model built from scratch: the first, non-incremental run."""
    run = project.dbt("run", "--full-refresh", reuse=True)
    return {name: result.node.compiled_code for name, result in node_results(run).items()}


def _rows_per_month(project, model):
    return dict(project.warehouse.rows(
        f"SELECT toStartOfMonth(date) AS month, count() FROM macro_tests.{model} GROUP BY month ORDER BY month"))


def _repulled(project, model, invocation):
    """(first day, last day, rows) the invocation wrote into ``model``."""
    (invocation_id,) = {
        r.node.compiled_code.split("' AS loaded_by")[0].rsplit("'", 1)[1] for r in invocation.result.result.results
    }
    return project.warehouse.rows(
        f"SELECT min(date), max(date), count() FROM macro_tests.{model} WHERE loaded_by = '{invocation_id}'")[0]


def _incremental(project, *models, **vars):
    return project.dbt("run", "--select", *models, vars=vars, reuse=True)


def test_first_build_has_no_window(project, built):
    for model in ("by_day", "by_month"):
        where = built[model].split("WHERE 1 = 1")[1]
        assert where.strip() == ""
    total = ((LAST_DAY - FIRST_DAY).days + 1) * 3
    assert project.warehouse.scalar("SELECT count() FROM macro_tests.by_day") == total


def test_lookback_var_widens_the_day_window_from_the_targets_last_day(project, built):
    run = _incremental(project, "by_day", price_lookback_days=12)
    assert "subtractDays(toDate('2026-04-27'), 11)" in node_results(run)["by_day"].node.compiled_code
    assert _repulled(project, "by_day", run) == (dt.date(2026, 4, 16), LAST_DAY, 12 * 3)
    # delete+insert: the re-pulled days replace themselves, nothing else changes
    assert project.warehouse.scalar("SELECT count() FROM macro_tests.by_day") == ((LAST_DAY - FIRST_DAY).days + 1) * 3


def test_default_lookback_is_the_models_own_argument(project, built):
    run = _incremental(project, "by_day")
    assert _repulled(project, "by_day", run) == (LAST_DAY, LAST_DAY, 3)


def test_incremental_end_date_bounds_the_window_above(project, built):
    run = _incremental(project, "by_day", price_lookback_days=12, incremental_end_date="2026-04-20")
    assert _repulled(project, "by_day", run) == (dt.date(2026, 4, 16), dt.date(2026, 4, 20), 5 * 3)


def test_insert_overwrite_rewrites_whole_months_and_loses_no_row(project, built):
    before = _rows_per_month(project, "by_month")
    naive_before = _rows_per_month(project, "by_month_naive")
    run = _incremental(project, "by_month", "by_month_naive", price_lookback_days=12)
    assert _repulled(project, "by_month", run) == (dt.date(2026, 4, 1), LAST_DAY, 27 * 3)
    assert _rows_per_month(project, "by_month") == before
    # a 12-day window under insert_overwrite replaces April with its last 12 days
    naive_after = _rows_per_month(project, "by_month_naive")
    assert naive_after[dt.date(2026, 4, 1)] == 12 * 3 < naive_before[dt.date(2026, 4, 1)]


def test_insert_overwrite_lookback_across_a_month_boundary_takes_both_months(project, built):
    before = _rows_per_month(project, "by_month")
    run = _incremental(project, "by_month", price_lookback_days=30)  # 2026-03-29 onward
    assert _repulled(project, "by_month", run) == (dt.date(2026, 3, 1), LAST_DAY, (31 + 27) * 3)
    assert _rows_per_month(project, "by_month") == before


def test_insert_overwrite_end_date_is_widened_to_the_end_of_its_month(project, built):
    run = _incremental(project, "by_month", price_lookback_days=40, incremental_end_date="2026-03-10")
    code = node_results(run)["by_month"].node.compiled_code
    assert "toLastDayOfMonth(toDate('2026-03-10'))" in code
    assert _repulled(project, "by_month", run) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), 31 * 3)


def test_month_vars_make_the_window_whole_months_never_a_lookback(project, built):
    """A refill's month rewrite compiles the model incremental and replaces each window
    month with what it computed: a day lookback there would replace the month with a slice."""
    run = _incremental(project, "by_day", price_lookback_days=12, start_month="2026-03-01", end_month="2026-04-01")
    assert _repulled(project, "by_day", run) == (dt.date(2026, 3, 1), LAST_DAY, (31 + 27) * 3)
    run = _incremental(project, "by_month", start_month="2026-02-01")  # end_month defaults to start_month
    assert _repulled(project, "by_month", run) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28), 28 * 3)


@pytest.mark.parametrize(
    "vars, message",
    [
        ({"price_lookback_days": "twelve"}, "price_lookback_days (or lookback_days) must be a whole number of days"),
        ({"price_lookback_days": 0}, "price_lookback_days (or lookback_days) must be a whole number of days"),
        ({"incremental_end_date": "2026-02-30"}, "incremental_end_date must be a date (YYYY-MM-DD)"),
        ({"start_month": "2026-03-15"}, "start_month must be the first day of a month (YYYY-MM-01)"),
        ({"start_month": "2026-04-01", "end_month": "2026-03-01"}, "end_month 2026-03-01 is before start_month"),
    ],
)
def test_bad_window_input_is_a_compiler_error_not_sql(project, vars, message):
    run = project.dbt("run", "--select", "by_day", vars=vars, check=False, reuse=True)
    assert not run.success
    assert message in run.text
    assert "Compilation Error" in run.text
