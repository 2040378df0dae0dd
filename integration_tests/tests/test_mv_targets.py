"""Materialized views on repaired models (issue #13, kind 5).

A ClickHouse materialized view is an insert trigger: it sees the blocks INSERTed into the
table it reads, nothing else. Phase 1 publishes a cohort month with REPLACE PARTITION,
which inserts nothing, so a dbt-clickhouse ``materialized_view`` model reading the cohort
keeps the rows it computed from the damaged month, and ``dbt run`` of an existing MV only
re-issues ``ALTER … MODIFY QUERY``. A Phase 2 re-pull of a ``delete+insert`` consumer is
the opposite: the lightweight DELETE is not seen by the trigger, the INSERT is, so an MV
reading the consumer gets the window's rows a second time.

refill rewrites the affected months of such an MV's target table from the MV's SELECT
(staging twin + month swap, backed up first), where that is provably what a from-scratch
build holds; otherwise it refuses before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from conftest import BOUNDARY_GAP, BOUNDARY_TODAY
from incident_project import IncidentProject, differing, report_of, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, VOLUME_COHORT, feed, priced_consumer

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)


def mv(select: str, *, engine: str = "SummingMergeTree()", order_by: str = "date",
       partition_by: str | None = "toStartOfMonth(date)") -> str:
    partition = f", partition_by='{partition_by}'" if partition_by else ""
    return f"{{{{ config(materialized='materialized_view', engine='{engine}', order_by='{order_by}'{partition}) }}}}\n{select}"


# per day over the cohort: what a dashboard's daily total reads (the gap day's sum is 0)
VOLUME_BY_DAY = mv("""
SELECT date, sum(volume) AS volume, sum(volume_usd) AS volume_usd, count() AS tokens
FROM {{ ref('volume_daily') }}
GROUP BY date
""")
# per token per month: the gap day is one of thirty, so nothing reads 0 and verify passes it
VOLUME_BY_MONTH = mv("""
SELECT toStartOfMonth(date) AS month, token, sum(volume_usd) AS usd
FROM {{ ref('volume_daily') }}
GROUP BY month, token
""", order_by="(month, token)", partition_by="month")
# per day over a Phase 2 consumer (delete+insert): its re-pull fires the trigger again
CONSUMER_BY_DAY = mv("""
SELECT date, sum(amount_usd) AS amount_usd
FROM {{ ref('consumer') }}
GROUP BY date
""")
# two views into one target (dbt-clickhouse's `--name:begin/--name:end` markers: views
# volume_sides_cohort and volume_sides_consumer), one over the cohort, one over the consumer
VOLUME_SIDES = mv("""
--cohort:begin
SELECT date, 'cohort' AS side, sum(volume_usd) AS usd FROM {{ ref('volume_daily') }} GROUP BY date
--cohort:end
UNION ALL
--consumer:begin
SELECT date, 'consumer' AS side, sum(amount_usd) AS usd FROM {{ ref('consumer') }} GROUP BY date
--consumer:end
""", order_by="(date, side)")
# one row per token over all time: no month partition to swap
VOLUME_TOTAL = mv("""
SELECT token, sum(volume_usd) AS usd
FROM {{ ref('volume_daily') }}
GROUP BY token
""", order_by="token", partition_by=None)
# a running total: a month's rows read every month before it
VOLUME_RUNNING = mv("""
SELECT date, token, sum(volume_usd) OVER (PARTITION BY token ORDER BY date) AS usd_to_date
FROM {{ ref('volume_daily') }}
""", engine="MergeTree()", order_by="(date, token)")

MONTH_LOCAL = {"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT, "consumer.sql": priced_consumer(),
               "volume_by_day.sql": VOLUME_BY_DAY, "volume_by_month.sql": VOLUME_BY_MONTH,
               "consumer_by_day.sql": CONSUMER_BY_DAY}
MV_MODELS = ("volume_by_day", "volume_by_month", "consumer_by_day")


def replayed(root, gap: dt.date, today: dt.date, models=MONTH_LOCAL) -> IncidentProject:
    project = IncidentProject(root, models=models, raw_tables=RAW_TABLES, feed=feed, prices_model="prices")
    with project:
        project.replay([gap], today, history_start=HISTORY_START)
        project.build_truth(today, history_start=HISTORY_START)
    return project


def test_mv_targets_on_cohort_and_consumer_equal_the_fresh_build_after_refill(tmp_path):
    project = replayed(tmp_path, GAP, TODAY)
    with project:
        damaged = differing(project.diff())
        # the replay damages every MV target through its source (and the daily runs'
        # re-inserted day doubles consumer_by_day's and volume_by_day's April rows)
        assert set(MV_MODELS) <= set(damaged), damaged
    result = project.refill(*run_args(GAP, TODAY, "--report", str(tmp_path / "run.json")))
    with project:
        assert (result.returncode, differing(project.diff())) == (0, {}), result.stdout[-4000:] + result.stderr[-3000:]
    mechanisms = report_of(tmp_path / "run.json")["plan"]["mechanisms"]
    for name in MV_MODELS:  # the plan says how each target is repaired, in text and JSON
        assert mechanisms[name].startswith("mv-target month rewrite"), (name, mechanisms[name])
        assert re.search(rf"^  {name} +mv-target month rewrite: 2026-04-01 of inc.{name}", result.stdout, re.M)
    # the backups (cohort and MV targets) are dropped at the end, the staging twins too
    assert project.rows("SELECT count() FROM system.tables WHERE database = 'inc'"
                        " AND (name LIKE '%refill_backup%' OR name LIKE '%refill_stage%')") == [(0,)]
    # the triggers still work: the next day's insert reaches the repaired target
    assert project.rows("SELECT count() FROM system.tables WHERE database = 'inc' AND engine = 'MaterializedView'") \
        == [(len(MV_MODELS),)]


def test_mv_target_repaired_across_a_month_boundary_and_restored_by_rollback(tmp_path):
    # no target column reads 0 here (a monthly sum, a doubled daily one): before refill
    # repaired MV targets, this run passed verify with exit 0 and both targets wrong
    models = {name: sql for name, sql in MONTH_LOCAL.items() if name != "volume_by_day.sql"}
    project = replayed(tmp_path, BOUNDARY_GAP, BOUNDARY_TODAY, {**models, "volume_sides.sql": VOLUME_SIDES})
    with project:
        assert {"volume_by_month", "consumer_by_day", "volume_sides"} <= set(differing(project.diff()))
        assert project.rows("SELECT name FROM system.tables WHERE database = 'inc' AND name LIKE 'volume_sides_%'"
                            " AND engine = 'MaterializedView' ORDER BY name") \
            == [("volume_sides_cohort",), ("volume_sides_consumer",)]
        before = project.checksums()
    # crashed once every target is rewritten, then rolled back: the cohort and the target
    # that reads it are what they were (a target fed only by a re-pulled model is re-derivable
    # like that model, and stays repaired with it)
    crashed = project.refill(*run_args(BOUNDARY_GAP, BOUNDARY_TODAY),
                             env={"REFILL_FAULT_INJECT": json.dumps({"step": "phase4", "when": "before"})})
    assert crashed.returncode != 0
    assert "mv-target month rewrite: 2026-03-01, 2026-04-01 of inc.volume_by_month" in crashed.stdout
    run_id = re.search(r"^refill plan ([0-9a-f]{12})", crashed.stdout, re.M).group(1)
    with project:
        after_crash = project.checksums()
    assert after_crash["inc.volume_by_month"] != before["inc.volume_by_month"]
    rolled = project.refill("rollback", "--run", run_id)
    assert rolled.returncode == 0, rolled.stdout[-3000:] + rolled.stderr[-3000:]
    with project:
        restored = project.checksums()
    for table in ("inc.volume_daily", "inc.volume_by_month", "inc.volume_sides"):
        assert restored[table] == before[table], table
    assert restored["inc.consumer_by_day"] == after_crash["inc.consumer_by_day"]
    assert not [t for t in restored if "refill_backup" in t]
    result = project.refill(*run_args(BOUNDARY_GAP, BOUNDARY_TODAY))
    with project:
        assert (result.returncode, differing(project.diff())) == (0, {}), result.stdout[-4000:] + result.stderr[-3000:]


def test_mv_target_not_month_local_is_refused_before_anything_is_written_then_rebuilt_whole_on_request(tmp_path):
    models = {"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
              "volume_by_day.sql": VOLUME_BY_DAY, "volume_total.sql": VOLUME_TOTAL,
              "volume_running.sql": VOLUME_RUNNING}
    project = replayed(tmp_path / "a", GAP, TODAY, models)
    with project:
        assert {"volume_by_day", "volume_total", "volume_running"} <= set(differing(project.diff()))
        before = project.checksums()
    refused = project.refill(*run_args(GAP, TODAY))
    assert refused.returncode == 5, refused.stdout[-4000:] + refused.stderr[-3000:]
    errors = [line for line in refused.stderr.splitlines() if line.startswith("refill: error:")]
    assert errors == ["refill: error: preflight refused the plan: 2 problem(s) (materialized-view), listed on stdout;"
                      " nothing was written"], refused.stderr
    # one row per model: what is wrong and what to do
    # (a long message wraps under its column: its continuation lines are indented)
    rows = {name: " ".join(re.search(rf"^materialized-view +{name} +5 +(.*(?:\n {{20,}}\S.*)*)",
                                     refused.stdout, re.M).group(1).split())
            for name in ("volume_total", "volume_running")}
    assert "not partitioned" in rows["volume_total"] and "refill_full_refresh" in rows["volume_total"]
    assert "window function" in rows["volume_running"] and "refill_full_refresh" in rows["volume_running"]
    assert "volume_by_day" not in "".join(rows.values())
    with project:
        assert project.checksums() == before
    # the operator's way out: rebuild those targets whole (dbt's --full-refresh of the MV model)
    opted = project.copy_to(tmp_path / "b", vars={"refill_full_refresh": ["volume_total", "volume_running"]})
    result = opted.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert differing(opted.diff()) == {}
