"""Phase 1 on cohort models that carry their state forward from ``{{ this }}`` (issue #12,
kind 1): balances and running totals read the last value before their window from their own
table when incremental. The month rewrite must give them the seed's view: ``is_incremental()``
true, ``{{ this }}`` the live table, every earlier month already final."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import BOUNDARY_GAP, BOUNDARY_TODAY
from incident_project import IncidentProject, RawTable, differing, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, cohort_config
from refill.run.orchestrator import RunOptions, run_refill as run_in_process
from refill.run.plan import make_window

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)

RAW = (
    RawTable("prices", "day Date, token String, price Float64", order_by="(day, token)", is_prices=True),
    RawTable("deposits", "day Date, user String, amount Float64", order_by="(day, user)"),
)

# The input: A deposits 100 in March and nothing after; B 50 in March and 10 on 04-10.
DEPOSITS = {
    dt.date(2026, 3, 5): [("A", 100.0)],
    dt.date(2026, 3, 10): [("B", 50.0)],
    dt.date(2026, 4, 10): [("B", 10.0)],
}


def feed(day: dt.date) -> dict[str, list[tuple]]:
    return {
        "prices": [(day, "GNO", float(100 + day.toordinal() % 13))],
        "deposits": [(day, user, amount) for user, amount in DEPOSITS.get(day, [])],
    }


def window(column: str, lookback_days: int) -> str:
    """The contract's month window, else the daily lookback (a trailing month here)."""
    return f"""
    {{% if start_month and end_month %}}
        AND toStartOfMonth({column}) >= toDate('{{{{ start_month }}}}')
        AND toStartOfMonth({column}) <= toDate('{{{{ end_month }}}}')
    {{% else %}}
        {{{{ refill.apply_monthly_incremental_filter('{column}', 'date', true, lookback_days={lookback_days}) }}}}
    {{% endif %}}"""


# A row per user per day through the end of the feed's month, the balance starting from the
# last one in {{ this }} before the window (the upstream user-balances shape).
BALANCES = cohort_config("(date, user)") + """
WITH
bounds AS (
    SELECT min(day) AS first_day, toLastDayOfMonth(max(day)) AS last_day FROM {{ source('raw', 'prices') }}
),
days AS (
    SELECT addDays(b.first_day, n) AS date
    FROM bounds AS b
    ARRAY JOIN range(toUInt32(dateDiff('day', b.first_day, b.last_day) + 1)) AS n
    WHERE 1 = 1
""" + window("date", 31) + """
),
opening AS (
{% if is_incremental() %}
    SELECT user, argMax(balance, date) AS balance, toUInt8(1) AS opened
    FROM {{ this }}
    WHERE date < (SELECT min(date) FROM days)
    GROUP BY user
{% else %}
    SELECT '' AS user, toFloat64(0) AS balance, toUInt8(1) AS opened WHERE 0
{% endif %}
),
movements AS (
    SELECT user, day, sum(amount) AS amount
    FROM {{ source('raw', 'deposits') }}
    WHERE day >= (SELECT min(date) FROM days)
    GROUP BY user, day
),
users AS (
    SELECT user FROM opening UNION DISTINCT SELECT user FROM movements
),
running AS (
    SELECT
        d.date AS date,
        u.user AS user,
        sum(m.amount) OVER w AS moved,
        max(toUInt8(m.amount != 0)) OVER w AS active
    FROM days AS d
    CROSS JOIN users AS u
    LEFT JOIN movements AS m ON m.user = u.user AND m.day = d.date
    WINDOW w AS (PARTITION BY u.user ORDER BY d.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT
    r.date AS date,
    r.user AS user,
    o.balance + r.moved AS balance,
    (o.balance + r.moved) * p.price AS balance_usd
FROM running AS r
LEFT JOIN opening AS o ON o.user = r.user
LEFT JOIN {{ ref('prices') }} AS p ON p.date = r.date AND p.token = 'GNO'
WHERE o.opened = 1 OR r.active = 1
"""


def balances_project(root) -> IncidentProject:
    return IncidentProject(root, models={"prices.sql": PRICES_VIEW, "user_balances.sql": BALANCES},
                           raw_tables=RAW, feed=feed, prices_model="prices")


def test_refilled_month_carries_balances_forward_from_the_month_before(tmp_path):
    project = balances_project(tmp_path)
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert differing(project.diff()) == {"user_balances": (2, 2)}  # the gap day of A and B
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with project:
        april = project.rows(
            "SELECT user, min(date), max(date), count(), groupUniqArray(balance) FROM inc.user_balances"
            " WHERE toStartOfMonth(date) = '2026-04-01' GROUP BY user ORDER BY user")
        b_from = project.rows("SELECT min(date) FROM inc.user_balances WHERE user = 'B' AND balance = 60")
        assert differing(project.diff()) == {}
    assert sum(row[3] for row in april) == 60
    assert april[0][:4] == ("A", dt.date(2026, 4, 1), dt.date(2026, 4, 30), 30) and april[0][4] == [100.0]
    assert april[1][:4] == ("B", dt.date(2026, 4, 1), dt.date(2026, 4, 30), 30)
    assert sorted(april[1][4]) == [50.0, 60.0] and b_from == [(dt.date(2026, 4, 10),)]


# -- the lab: a carried-forward balance and a running total, gap across a month boundary ----

CARRIED = ("int_execution_gpay_wallet_balances_daily", "int_execution_gpay_volume_cumulative_daily")


def lab_refill(lab, from_date: dt.date, today: dt.date) -> int:
    options = RunOptions(window=make_window(from_date=from_date, today=today), project_dir=lab.project_dir,
                         profiles_dir=lab.profiles_dir, target="lab", artifacts_dir=lab.artifacts_dir, quiet=True)
    return run_in_process(options)


def lab_differing(lab) -> dict[str, int]:
    return {d.model: d.differing for d in lab.diff() if d.differing}


def test_refill_equals_fresh_build_for_carried_state_across_month_boundary(boundary_lab):
    """Gap 03-30, today 04-03: March is rewritten first, and April's balances and totals
    start from March as the refill left it (the running total carries the gap's zero USD
    into every later day, April included)."""
    damaged = lab_differing(boundary_lab)
    assert set(CARRIED) <= set(damaged)
    assert boundary_lab.warehouse.scalar(
        f"SELECT count() FROM ({_except(boundary_lab, CARRIED[1])}) WHERE date >= '2026-04-01'") > 0

    assert lab_refill(boundary_lab, BOUNDARY_GAP, BOUNDARY_TODAY) == 0

    assert lab_differing(boundary_lab) == {}


def test_without_the_incremental_compile_carried_state_is_lost_and_the_audit_refuses_it(boundary_lab, monkeypatch):
    """Phase 1 as it was: the cohort switched to refill_swap, so is_incremental() is false and
    every month starts from nothing. That used to exit 0 with both carried models wrong; the
    audit before publish (issue 14) now catches the lost state: exit 3, a carried model named."""
    import pytest

    from refill.errors import CheckFailed
    from refill.run.phases import cohort

    def as_fresh_builds(manifest, cohort_ids):
        for uid in cohort_ids:
            manifest.nodes[uid].config.materialized = cohort.MATERIALIZATION

    monkeypatch.setattr(cohort, "route_to_swap", as_fresh_builds)
    with pytest.raises(CheckFailed) as refused:
        lab_refill(boundary_lab, BOUNDARY_GAP, BOUNDARY_TODAY)
    assert refused.value.exit_code == 3
    assert any(model in refused.value.message for model in CARRIED), refused.value.message


def _except(lab, model: str) -> str:
    return (f"SELECT * FROM {lab.schema}.{model} EXCEPT ALL SELECT * FROM {lab.truth_schema}.{model}")
