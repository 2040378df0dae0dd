"""Phase 4 and detect judge each model on the columns its SQL derives from prices (column
lineage, not a `*_usd` name), weekly and monthly models on the period holding the gap day, and
never crash on a Date32, a DateTime64 in a time zone, a Nullable value or a model without a date."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incident_project import IncidentProject, differing, report_of, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, cohort_config, feed, month_window

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)
GAP_WEEK, GAP_MONTH = dt.date(2026, 4, 12), dt.date(2026, 4, 1)  # toStartOfWeek (Sunday), toStartOfMonth

# A cohort model whose price value is not called *_usd, beside a *_usd column no price reaches.
VALUE_DAILY = cohort_config("(date, token)") + """
SELECT t.day AS date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS value_in_dollars,
       toFloat64(0) AS fee_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1
""" + month_window("t.day") + """
GROUP BY date, token
"""


def table(order_by: str, partition_by: str | None = None, tags: str = "[]") -> str:
    partition = f", partition_by='{partition_by}'" if partition_by else ""
    return (f"{{{{ config(materialized='table', engine='MergeTree()', order_by='{order_by}'{partition},"
            f" tags={tags}) }}}}\n")


def period_model(period: str, tags: str = "[]") -> str:
    """A weekly/monthly table pricing the transfers itself: a gap day makes its period short, not 0."""
    return table(f"({period}, token)", f"toStartOfMonth({period})", tags) + f"""
SELECT {'toStartOfWeek' if period == 'week' else 'toStartOfMonth'}(t.day) AS {period}, t.token AS token,
       sum(t.amount * p.price) AS value_usd
FROM {{{{ source('raw', 'transfers') }}}} AS t
LEFT JOIN {{{{ ref('prices') }}}} AS p ON p.token = t.token AND p.date = t.day
GROUP BY {period}, token
"""


PRICED = """
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
"""
SHAPES = {
    # Date32 day, a Nullable value (join_use_nulls-style), partitioned by its month
    "shape_date32.sql": table("(day32, token)", "toStartOfMonth(day32)") +
    "SELECT toDate32(t.day) AS day32, t.token AS token, toNullable(t.amount * p.price) AS worth" + PRICED,
    # a DateTime64 in a time zone far from UTC
    "shape_tz.sql": table("(ts, token)", "toStartOfMonth(ts)") +
    "SELECT toDateTime64(t.day, 3, 'Asia/Tokyo') AS ts, t.token AS token, t.amount * p.price AS worth" + PRICED,
    # no date column at all
    "shape_totals.sql": table("token") + "SELECT t.token AS token, sum(t.amount * p.price) AS worth" + PRICED +
    "GROUP BY token",
}

MODELS = {"prices.sql": PRICES_VIEW, "value_daily.sql": VALUE_DAILY,
          "value_weekly.sql": period_model("week"), "value_monthly.sql": period_model("month"), **SHAPES}


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> IncidentProject:
    """The incident (gap on GAP, backfilled) and the truth, replayed once for the module."""
    project = IncidentProject(tmp_path_factory.mktemp("verify-lineage"), models=MODELS, raw_tables=RAW_TABLES,
                              feed=feed, prices_model="prices")
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert set(differing(project.diff())) == {"value_daily", "value_weekly", "value_monthly", "shape_date32",
                                                  "shape_tz", "shape_totals"}
    return project


def phase4_of(report_path) -> dict:
    (phase4,) = [s for s in report_of(report_path)["steps"] if s["key"] == "phase4"]
    return phase4


def test_a_correct_repair_passes_on_lineage_columns_at_each_grain_and_every_shape_is_checked_or_named(
        incident, tmp_path):
    """Was exit 3: `fee_usd` is 0 by definition (no price reaches it) and was read as damage. The
    weekly and monthly models were counted as checked although no row of theirs sits on a gap day."""
    project = incident.copy_to(tmp_path)
    report_path = tmp_path / "report.json"
    result = project.refill(*run_args(GAP, TODAY, "--report", str(report_path)))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    with project:
        assert differing(project.diff()) == {}
    details = phase4_of(report_path)["details"]
    how = details["how_checked"]
    assert how["value_daily"].startswith("0/NULL in value_in_dollars on the gap days of date"), how
    assert "fee_usd" not in how["value_daily"]
    assert how["value_weekly"] == "each week of week holding a gap day equals a recompute of its SQL on value_usd"
    assert how["value_monthly"] == "each month of month holding a gap day equals a recompute of its SQL on value_usd"
    assert how["shape_date32"].startswith("0/NULL in worth on the gap days of day32")
    assert how["shape_tz"].startswith("0/NULL in worth on the gap days of ts")
    assert details["not_checked"] == {
        "prices": "the prices model itself (its gap days are checked before the run)",
        "shape_totals": "no date column: its partition key reads none and it has no Date/DateTime columns "
                        "(var refill_date_column)",
    }
    assert details["models_checked"] == 5 == len(details["checked"])
    assert "damage check: 5 of 7 model(s) checked" in result.stdout
    assert "not checked: shape_totals: no date column" in result.stdout


def test_models_left_damaged_are_caught_by_their_price_value_column_and_their_gap_week_and_month(
        incident, tmp_path):
    """--skip-balances-rewrite leaves the cohort as the incident left it. Was: `value_in_dollars`
    unread (no *_usd suffix), the weekly and monthly models passed (no row on the gap day), and
    the run failed only on the constant `fee_usd`."""
    tagged = "['refill_append']"
    project = incident.copy_to(tmp_path, models={**MODELS, "value_weekly.sql": period_model("week", tagged),
                                                 "value_monthly.sql": period_model("month", tagged)})
    result = project.refill(*run_args(GAP, TODAY, "--skip-balances-rewrite"))
    assert result.returncode == 3, result.stdout[-4000:] + result.stderr[-3000:]
    error = result.stderr
    assert f"value_daily.value_in_dollars is 0/NULL on {GAP} in 3 row(s) where a price exists" in error, error
    assert f"value_weekly period {GAP_WEEK} differs from a recompute of its SQL in 3 key(s) (value_usd)" in error
    assert f"value_monthly period {GAP_MONTH} differs from a recompute of its SQL in 3 key(s) (value_usd)" in error
    assert "fee_usd" not in error


def test_detect_reads_the_lineage_and_a_feed_within_its_expected_lag_is_not_missing(incident, tmp_path):
    """Was: every day 'damaged' by the constant fee_usd, value_in_dollars and the weekly/monthly
    models unread; and --today itself listed as missing a price when the feed lands a day late
    (the day after the replay: nothing has arrived for it yet)."""
    project = incident.copy_to(tmp_path)
    tomorrow = TODAY + dt.timedelta(days=1)
    found = project.refill("detect", "--today", str(tomorrow), "--format", "json")
    assert found.returncode == 3, found.stdout[-3000:] + found.stderr[-3000:]
    report = json.loads(found.stdout)
    assert report["expected_lag_days"] == 1
    (day,) = report["days"]
    assert day["day"] == str(GAP) and day["missing_entities"] == []
    assert set(day["damaged"]) == {"value_daily", "shape_date32", "shape_tz"}
    assert report["periods"] == [
        {"model": "value_monthly", "unit": "month", "first_day": str(GAP_MONTH), "keys": 3},
        {"model": "value_weekly", "unit": "week", "first_day": str(GAP_WEEK), "keys": 3},
    ]
    assert report["not_checked"]["shape_totals"].startswith("no date column")
    assert report["command"].startswith(f"python -m refill run --from-date {GAP} --today {tomorrow}")

    strict = project.refill("detect", "--today", str(tomorrow), "--format", "json", "--expected-lag", "0")
    assert strict.returncode == 3
    missing = {d["day"]: d["missing_entities"] for d in json.loads(strict.stdout)["days"]}
    assert len(missing[str(tomorrow)]) == 3
