"""The whole lineage on real project shapes (issue 13): what sits between prices and the
cohort, a refill started before the feed is backfilled, consumers whose window is not the
lookback var, and consumers partitioned finer than by month.

Each test writes the smallest project of its shape, replays the incident, runs refill as a
user does and compares every model with the from-scratch build, or checks the refusal:
its exit code, one line naming the model and what to do, and every table unchanged.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incident_project import IncidentProject, RawTable, differing, run_args
from incident_shapes import (
    HISTORY_START, PRICES_TABLE, PRICES_VIEW, RAW_TABLES, TOKENS, VOLUME_COHORT, feed, priced_consumer,
    volume_cohort,
)

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)


def refill_ok(project: IncidentProject, *args: str) -> None:
    result = project.refill(*args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("refill: error:")]


def test_a_table_prices_model_is_rebuilt_before_phase_1_reads_it(tmp_path):
    project = IncidentProject(
        tmp_path, models={"prices.sql": PRICES_TABLE, "volume_daily.sql": VOLUME_COHORT},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert differing(project.diff()) == {"prices": (0, 3), "volume_daily": (3, 3)}
    refill_ok(project, *run_args(GAP, TODAY))
    with project:
        assert differing(project.diff()) == {}


def test_an_incremental_price_consumer_read_by_the_cohort_is_re_pulled_before_phase_1(tmp_path):
    project = IncidentProject(
        tmp_path,
        models={
            "prices.sql": PRICES_VIEW,
            "token_prices.sql": TOKEN_PRICES,
            "volume_daily.sql": volume_cohort("token_prices"),
            "amount_usd.sql": priced_consumer("token_prices"),
        },
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert set(differing(project.diff())) == {"token_prices", "volume_daily", "amount_usd"}
    plan = project.refill("plan", *run_args(GAP, TODAY)[1:])
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    phase_0_5 = plan.stdout.split("\nPhase 0.5 —", 1)[1].split("\nPhase 1 —", 1)[0]
    assert "token_prices" in phase_0_5 and "amount_usd" not in phase_0_5, plan.stdout
    refill_ok(project, *run_args(GAP, TODAY))
    with project:
        assert differing(project.diff()) == {}


# An incremental, gap-filled copy of the prices (the upstream project's shape): the cohort reads it.
TOKEN_PRICES = """
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', engine='ReplacingMergeTree()',
    order_by='(date, token)', unique_key='(date, token)', partition_by='toStartOfMonth(date)'
) }}
SELECT date, token, price FROM {{ ref('prices') }}
WHERE 1 = 1 {{ refill.apply_monthly_incremental_filter('date', 'date', true) }}
"""


def test_a_refill_before_the_feed_is_backfilled_refuses_with_the_missing_day_and_writes_nothing(tmp_path):
    project = IncidentProject(
        tmp_path, models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START, backfill=False)
        before = project.checksums()
    # the run: Phase 2 skipped, the feed not backfilled (was "verified", exit 0)
    result = project.refill(*run_args(GAP, TODAY, "--skip-price-dependent"))
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    (line,) = error_lines(result)
    assert f"the prices model still lacks {GAP} for 3 of 3 entities" in line and "backfill the feed first" in line, line
    with project:
        assert project.checksums() == before
        # one token's price for the gap day arrived, the others not yet
        project.lab.warehouse.execute(f"INSERT INTO inc_raw.prices VALUES ('{GAP}', '{TOKENS[0]}', 3.0)")
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    (line,) = error_lines(result)
    assert f"the prices model still lacks {GAP} for 2 of 3 entities" in line, line
    with project:
        assert project.checksums() == before


def test_a_daily_partitioned_consumer_of_a_gap_114_days_back_is_split_under_the_partition_limit(tmp_path):
    today = dt.date(2026, 8, 9)
    gap = today - dt.timedelta(days=114)
    history_start = gap - dt.timedelta(days=10)
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "amount_usd_daily.sql": priced_consumer("prices", partition_by="date")},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
        # the from-scratch truth writes 125 daily partitions in one INSERT; the incident keeps the default 100
        truth_settings={"max_partitions_per_insert_block": 1000},
    )
    with project:
        project.replay([gap], today, history_start=history_start, run_every=7)
        project.build_truth(today, history_start=history_start)
        assert set(differing(project.diff())) == {"volume_daily", "amount_usd_daily"}
    refill_ok(project, *run_args(gap, today))
    with project:
        assert differing(project.diff()) == {}


HAND_WRITTEN_WINDOW = """
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', engine='ReplacingMergeTree()',
    order_by='(block_date, token)', unique_key='(block_date, token)', partition_by='toStartOfMonth(block_date)'
) }}
SELECT t.day AS block_date, t.token AS token, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
{% if is_incremental() %}
WHERE t.day >= (SELECT max(block_date) FROM {{ this }})
{% endif %}
GROUP BY block_date, token
"""


def test_a_consumer_with_a_hand_written_window_is_refused_before_anything_is_written(tmp_path):
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "volume_by_block_date.sql": HAND_WRITTEN_WINDOW},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        assert project.rows(f"SELECT countIf(volume_usd = 0) FROM inc.volume_by_block_date "
                            f"WHERE block_date = '{GAP}'") == [(3,)]
        before = project.checksums()
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    (line,) = error_lines(result)
    assert "volume_by_block_date" in line and "price_lookback_days" in line, line
    # the refusal is the run's first journaled step: the journal says refused, and why
    (journal,) = [json.loads(path.read_text()) for path in (project.root / "state").glob("*/runs/*.json")]
    refusal = journal["steps"]["preflight:refusals"]
    assert (journal["status"], list(journal["steps"]), refusal["status"]) == ("refused", ["preflight:refusals"], "failed")
    assert [p["model"] for p in refusal["details"]["problems"]] == ["volume_by_block_date"]
    with project:
        assert project.checksums() == before


# dbt-clickhouse renders microbatch input filters as `col >= 'YYYY-MM-DD hh:mm:ss'`, which a
# Date column refuses (Code 53): the transfers carry a DateTime event time.
MICROBATCH_RAW = (
    RAW_TABLES[0],
    RawTable("transfers", "day Date, token String, amount Float64, ts DateTime", order_by="(day, token)",
             event_time="ts"),
)


def microbatch_feed(day: dt.date) -> dict[str, list[tuple]]:
    rows = feed(day)
    return {**rows, "transfers": [(*row, row[0]) for row in rows["transfers"]]}


# dbt picks a microbatch model's batches from event_time, lookback and the clock: a daily
# run re-reads the last batches before now, never a gap days or months earlier.
MICROBATCH_CONSUMER = """
{{ config(
    materialized='incremental', incremental_strategy='microbatch', event_time='date', begin='2026-03-01',
    batch_size='month', lookback=1, unique_key='(date, token)', engine='ReplacingMergeTree()',
    order_by='(date, token)', partition_by='toStartOfMonth(date)'
) }}
SELECT t.day AS date, t.token AS token, t.amount * p.price AS amount_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
"""


def test_a_microbatch_consumer_is_re_pulled_over_the_window_by_event_time(tmp_path):
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "amount_usd_batches.sql": MICROBATCH_CONSUMER},
        raw_tables=MICROBATCH_RAW, feed=microbatch_feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert "amount_usd_batches" in differing(project.diff())
    refill_ok(project, *run_args(GAP, TODAY))
    with project:
        assert differing(project.diff()) == {}


OWN_LOOKBACK = """
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', engine='ReplacingMergeTree()',
    order_by='(date, token)', unique_key='(date, token)', partition_by='toStartOfMonth(date)'
) }}
SELECT t.day AS date, t.token AS token, t.amount * p.price AS amount_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
{% if is_incremental() %}
WHERE t.day >= subtractDays(today(), {{ var('amount_usd_days_back', 3) }})
{% endif %}
"""


def test_the_plan_flags_a_consumer_with_a_lookback_of_its_own_and_refuses(tmp_path):
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "amount_usd_own_window.sql": OWN_LOOKBACK,
                "amount_usd.sql": priced_consumer("prices")},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        before = project.checksums()
    result = project.refill("plan", *run_args(GAP, TODAY)[1:])
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    cannot = result.stdout.split("Cannot repair", 1)[1].split("Statements", 1)[0]
    assert "amount_usd_own_window" in cannot and "amount_usd:" not in cannot, cannot
    assert "amount_usd_own_window" in error_lines(result)[0]
    with project:
        assert project.checksums() == before


def test_a_daily_partitioned_insert_overwrite_consumer_is_cut_at_month_starts_under_the_limit(tmp_path):
    # insert_overwrite widens each window to whole months: April and May are 61 daily
    # partitions in one INSERT, over a limit of 40, although the window itself is 42 days
    today, gap = dt.date(2026, 5, 20), dt.date(2026, 4, 10)
    history_start = dt.date(2026, 3, 20)
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "amount_usd_overwritten.sql": priced_consumer("prices", partition_by="date").replace(
                    "incremental_strategy='delete+insert'", "incremental_strategy='insert_overwrite'").replace(
                    " unique_key='(date, token)',", "")},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
        custom_settings={"max_partitions_per_insert_block": 40},
        truth_settings={"max_partitions_per_insert_block": 1000},
    )
    with project:
        project.replay([gap], today, history_start=history_start, run_every=5)
        project.build_truth(today, history_start=history_start)
        assert set(differing(project.diff())) == {"volume_daily", "amount_usd_overwritten"}
    refill_ok(project, *run_args(gap, today))
    with project:
        assert differing(project.diff()) == {}


def test_a_hand_written_window_listed_in_refill_full_refresh_is_rebuilt_whole(tmp_path):
    project = IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                "volume_by_block_date.sql": HAND_WRITTEN_WINDOW},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
        vars={"refill_full_refresh": ["volume_by_block_date"]},
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert set(differing(project.diff())) == {"volume_daily", "volume_by_block_date"}
    refill_ok(project, *run_args(GAP, TODAY))
    with project:
        assert differing(project.diff()) == {}
