"""Phase 1 when a cohort model's columns no longer match its table (issue #12, kind 4): a
column added under on_schema_change='append_new_columns' / 'sync_all_columns' is honoured as
dbt's incremental honours it; anything a month swap cannot do (a changed type, a changed
column set dbt itself would refuse) is refused in preflight, before anything is written."""

from __future__ import annotations

import datetime as dt

import pytest

from incident_project import IncidentProject, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, VOLUME_COHORT, cohort_config, feed, month_window

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)
APRIL = "toStartOfMonth(date) = '2026-04-01'"


def share_model(volume_usd: str = "v.volume_usd", on_schema_change: str = "ignore") -> str:
    """Second cohort layer: each token's share of the day's USD volume (reads volume_daily)."""
    return cohort_config("(date, token)", extra=f"on_schema_change='{on_schema_change}',") + f"""
SELECT
    v.date AS date,
    v.token AS token,
    {volume_usd} AS volume_usd,
    if(sum(v.volume_usd) OVER (PARTITION BY v.date) = 0, 0,
       v.volume_usd / sum(v.volume_usd) OVER (PARTITION BY v.date)) AS share
FROM {{{{ ref('volume_daily') }}}} AS v
WHERE 1 = 1
""" + month_window("v.date")


def volume_model(columns: str, on_schema_change: str) -> str:
    """volume_daily with its SELECT list changed (the new column in the middle, as users write)."""
    return cohort_config("(date, token)", extra=f"on_schema_change='{on_schema_change}',") + f"""
SELECT t.day AS date, t.token AS token, {columns}
FROM {{{{ source('raw', 'transfers') }}}} AS t
LEFT JOIN {{{{ ref('prices') }}}} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1
""" + month_window("t.day") + """
GROUP BY date, token
"""


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """The gap replayed once on a two-layer cohort; each test refills its own copy."""
    project = IncidentProject(
        tmp_path_factory.mktemp("drift-base"),
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT, "token_share_daily.sql": share_model()},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
    return project


def columns(project: IncidentProject, table: str) -> list[tuple[str, str]]:
    return project.rows(f"SELECT name, type FROM system.columns WHERE database = 'inc' AND table = '{table}'"
                        " ORDER BY position")


def april_differs(project: IncidentProject, table: str, names: str) -> tuple[int, int]:
    ours = f"SELECT {names} FROM inc.{table} WHERE {APRIL}"
    truth = f"SELECT {names} FROM inc_truth.{table} WHERE {APRIL}"
    return project.rows(f"SELECT (SELECT count() FROM ({ours} EXCEPT ALL {truth})),"
                        f" (SELECT count() FROM ({truth} EXCEPT ALL {ours}))")[0]


def test_a_column_turning_nullable_is_refused_in_preflight_before_anything_is_written(replayed, tmp_path):
    project = replayed.copy_to(tmp_path / "nullable")
    project.write_model("token_share_daily.sql", share_model(volume_usd="toNullable(v.volume_usd)"))
    with project:
        before = project.checksums()
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    assert "schema-drift: token_share_daily: column type changed (volume_usd is Float64 in inc.token_share_daily," \
           " Nullable(Float64) in the model)" in line
    with project:
        assert project.checksums() == before


@pytest.mark.parametrize("on_schema_change", ["ignore", "fail"])
def test_a_new_column_dbt_itself_would_refuse_is_refused_in_preflight(replayed, tmp_path, on_schema_change):
    project = replayed.copy_to(tmp_path / on_schema_change)
    project.write_model("volume_daily.sql", volume_model(
        "toInt64(count()) AS transfers, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd", on_schema_change))
    with project:
        before = project.checksums()
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    assert (f"schema-drift: volume_daily: the model adds column(s) transfers with on_schema_change='{on_schema_change}'"
            in result.stderr)
    with project:
        assert project.checksums() == before


def test_append_new_columns_adds_the_column_and_the_refilled_month_equals_the_fresh_build(replayed, tmp_path):
    project = replayed.copy_to(tmp_path / "append")
    project.write_model("volume_daily.sql", volume_model(
        "toInt64(count()) AS transfers, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd",
        "append_new_columns"))
    with project:
        project.build_truth(TODAY, history_start=HISTORY_START)
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with project:
        # dbt-clickhouse's append_new_columns: ADD COLUMN at the end; earlier months read its default
        assert columns(project, "volume_daily") == [("date", "Date"), ("token", "String"), ("volume", "Float64"),
                                                    ("volume_usd", "Float64"), ("transfers", "Int64")]
        assert april_differs(project, "volume_daily", "date, token, transfers, volume, volume_usd") == (0, 0)
        assert project.rows("SELECT countIf(transfers != 0) FROM inc.volume_daily WHERE date < '2026-04-01'") == [(0,)]
        assert april_differs(project, "token_share_daily", "*") == (0, 0)


def test_sync_all_columns_drops_and_adds_and_the_refilled_month_equals_the_fresh_build(replayed, tmp_path):
    project = replayed.copy_to(tmp_path / "sync")
    project.write_model("volume_daily.sql", volume_model(
        "sum(t.amount * p.price) AS volume_usd, max(p.price) AS price", "sync_all_columns"))
    with project:
        project.build_truth(TODAY, history_start=HISTORY_START)
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with project:
        assert columns(project, "volume_daily") == [("date", "Date"), ("token", "String"),
                                                    ("volume_usd", "Float64"), ("price", "Float64")]
        assert april_differs(project, "volume_daily", "date, token, volume_usd, price") == (0, 0)
        assert april_differs(project, "token_share_daily", "*") == (0, 0)


def test_a_cohort_model_without_a_table_is_refused_in_preflight(replayed, tmp_path):
    """A month of a model that reads only its window is not the whole model, so refill does
    not build a table one month at a time. (Before: the backup failed with `failed (?: None)`
    after kill-mutations had already run.)"""
    project = replayed.copy_to(tmp_path / "unbuilt")
    project.write_model("volume_again_daily.sql", VOLUME_COHORT)
    with project:
        before = project.checksums()
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    assert "relation: volume_again_daily: has no table inc.volume_again_daily" in result.stderr
    with project:
        assert project.checksums() == before


def test_one_preflight_pass_reports_the_contract_and_the_schema_drift_problems_together(replayed, tmp_path):
    """Issue #15 (6): each attempt on a 1,000-model project costs a parse, so one refusal
    lists every class of problem; a contract error does not hide a schema drift."""
    project = replayed.copy_to(tmp_path / "together")
    no_window = VOLUME_COHORT.replace(month_window("t.day"), "\n")  # RF002: no month window
    assert no_window != VOLUME_COHORT
    project.write_model("volume_daily.sql", no_window)
    project.write_model("token_share_daily.sql", share_model(volume_usd="toNullable(v.volume_usd)"))
    with project:
        before = project.checksums()
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout[result.stdout.index("preflight refused the plan"):]
    rows = [line.split()[:2] for line in table.splitlines()[2:] if line.strip()]
    assert ["contract", "volume_daily"] in rows and ["schema-drift", "token_share_daily"] in rows, table
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "2 problem(s) (contract, schema-drift)" in line
    with project:
        assert project.checksums() == before
