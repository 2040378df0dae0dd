"""Phase 4 checks every model refill wrote on that model's own columns, says which it could
not check and why, and never fails on its own query for a project's shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from incident_project import IncidentProject, differing, report_of, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, VOLUME_COHORT, cohort_config, feed

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)

PRICES_BY_PRICE_DATE = """
{{ config(materialized='view') }}
SELECT day AS price_date, token, price FROM {{ source('raw', 'prices') }}
"""

VOLUME_BY_BLOCK_DATE = cohort_config("(block_date, token)", partition_by="toStartOfMonth(block_date)") + """
SELECT t.day AS block_date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.price_date = t.day
WHERE 1 = 1
{% if start_month and end_month %}
    AND toStartOfMonth(t.day) >= toDate('{{ start_month }}')
    AND toStartOfMonth(t.day) <= toDate('{{ end_month }}')
{% else %}
    {{ refill.apply_monthly_incremental_filter('t.day', 'block_date', true) }}
{% endif %}
GROUP BY block_date, token
"""


def test_prices_on_price_date_and_a_block_date_model_are_verified_after_a_correct_repair(tmp_path):
    """Verify read a global `date` column: on a prices model keyed by `price_date` its own
    query failed (exit 1) after a correct repair, and a `block_date` model was counted as
    checked while skipped."""
    project = IncidentProject(tmp_path, models={"prices.sql": PRICES_BY_PRICE_DATE,
                                                "volume_daily.sql": VOLUME_BY_BLOCK_DATE},
                              raw_tables=RAW_TABLES, feed=feed, prices_model="prices")
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert differing(project.diff()) == {"volume_daily": (3, 3)}
    report_path = tmp_path / "report.json"
    result = project.refill(*run_args(GAP, TODAY, "--report", str(report_path)))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    with project:  # one embedded engine per process: let go of it for the next test
        assert differing(project.diff()) == {}
    (phase4,) = [s for s in report_of(report_path)["steps"] if s["key"] == "phase4"]
    assert phase4["details"]["checked"] == ["volume_daily"]
    assert phase4["details"]["not_checked"] == {
        "prices": "the prices model itself (its gap days are checked before the run)"}
    assert "damage check: 1 of 2 model(s) checked" in result.stdout
    assert "checked: volume_daily: 0/NULL in volume_usd on the gap days of block_date" in result.stdout
    assert "not checked: prices: the prices model itself" in result.stdout


def feed_with_a_never_priced_token(day: dt.date) -> dict[str, list[tuple]]:
    """The usual feeds, plus a long-tail token that moves every day and never has a price."""
    rows = feed(day)
    return {**rows, "transfers": [*rows["transfers"], (day, "LONGTAIL", 5.0)]}


def test_a_never_priced_entity_is_not_damage_and_a_correct_repair_exits_0(tmp_path):
    """LONGTAIL's volume_usd is 0 every day because it never has a price: that is its true
    value, not damage. Judged per day (any token priced that day) it made every refill exit 3."""
    project = IncidentProject(tmp_path, models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT},
                              raw_tables=RAW_TABLES, feed=feed_with_a_never_priced_token, prices_model="prices")
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert differing(project.diff()) == {"volume_daily": (3, 3)}
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    with project:
        assert differing(project.diff()) == {}
        assert project.rows(f"SELECT count() FROM inc.volume_daily WHERE token = 'LONGTAIL' AND volume_usd = 0"
                            f" AND date >= '{GAP}'") == [(11,)]


# A price consumer outside the cohort that appends into a ReplacingMergeTree (no unique_key):
# each run re-appends its lookback, and the engine keeps the last row of a key at merge time.
APPEND_INTO_RMT = """
{{ config(materialized='incremental', incremental_strategy='append', engine='ReplacingMergeTree()',
          order_by='(date, token)', partition_by='toStartOfMonth(date)') }}
SELECT t.day AS date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
{% if is_incremental() %}
WHERE t.day >= (SELECT max(date) FROM {{ this }}) - {{ var('price_lookback_days', 1) }}
{% endif %}
GROUP BY date, token
"""


def test_an_append_into_rmt_consumer_repaired_correctly_is_judged_by_its_final_rows(tmp_path):
    """After the re-pull its gap day holds the old zero row beside the corrected one until a
    merge; readers (FINAL, or after the merge) get the corrected one: not damage. The unmerged
    duplicates are still said, apart from damage, with the command that merges them (they were
    not mentioned at all: the duplicate-key check read the cohort only)."""
    project = IncidentProject(tmp_path, models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT,
                                                "usd_append.sql": APPEND_INTO_RMT},
                              raw_tables=RAW_TABLES, feed=feed, prices_model="prices")
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        project.lab.warehouse.execute("SYSTEM STOP MERGES inc.usd_append")  # keep the physical duplicates
    report_path = tmp_path / "report.json"
    result = project.refill(*run_args(GAP, TODAY, "--report", str(report_path)))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    (phase4,) = [s for s in report_of(report_path)["steps"] if s["key"] == "phase4"]
    (duplicates,) = phase4["details"]["physical_duplicates_not_damage"]
    assert duplicates["model"] == "usd_append" and duplicates["relation"] == "inc.usd_append"
    assert duplicates["duplicates"] > 0 and duplicates["key"] == "date, token"
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "physical duplicates" in line)
    assert "not damage" in lines[at] and "inc.usd_append" in lines[at]
    assert "to merge now:" in lines[at + 1] and "refill.optimize_partitions_final" in lines[at + 1]
    assert "usd_append" in phase4["details"]["checked"]
    with project:
        assert project.rows(f"SELECT countIf(volume_usd = 0) FROM inc.usd_append WHERE date = '{GAP}'") == [(3,)]
        final = project.rows("SELECT * FROM inc.usd_append FINAL EXCEPT SELECT * FROM inc_truth.usd_append")
        assert final == []
        assert differing(project.diff(["volume_daily"])) == {}
