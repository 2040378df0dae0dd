"""Which materialized views' target months refill can rewrite from their SELECT (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from refill.lineage.mv_targets import date_columns, month_local_problem
from refill.run.plan import months_between

COHORT = ("inc", "volume_daily")
OTHER = ("inc", "other")
SOURCES = {COHORT: ["date"], OTHER: ["day"], ("raw", "tokens"): []}


def problem(sql: str, dates=("date",), repaired=(COHORT,)) -> str | None:
    return month_local_problem(sql, list(dates), SOURCES, set(repaired))


@pytest.mark.parametrize("sql, dates", [
    ("SELECT date, sum(volume) AS volume FROM `inc`.`volume_daily` GROUP BY date", ["date"]),
    ("SELECT toStartOfMonth(date) AS month, token, sum(volume_usd) AS usd FROM inc.volume_daily GROUP BY month, token",
     ["month"]),
    ("SELECT CAST(v.date AS Date) AS date, t.name FROM inc.volume_daily AS v JOIN raw.tokens AS t ON t.token = v.token",
     ["date"]),
    ("SELECT v.date AS date, o.x FROM inc.volume_daily AS v JOIN inc.other AS o ON o.day = v.date", ["date"]),
    ("SELECT date, volume FROM inc.volume_daily\n--mv2:end\nUNION ALL SELECT toDate(date) AS date, volume FROM inc.volume_daily",
     ["date"]),
])
def test_month_local_selects_are_rewritten_by_month(sql, dates):
    assert problem(sql, dates, repaired=(COHORT, OTHER)) is None


@pytest.mark.parametrize("sql, dates, why", [
    ("SELECT token, sum(volume_usd) AS usd FROM inc.volume_daily GROUP BY token", [], "not partitioned"),
    ("SELECT date, token, sum(volume_usd) OVER (PARTITION BY token ORDER BY date) AS u FROM inc.volume_daily",
     ["date"], "window function"),
    ("SELECT max(date) AS date, token FROM inc.volume_daily GROUP BY token", ["date"], "aggregate"),
    ("SELECT toMonday(date) AS date FROM inc.volume_daily", ["date"], "not a date of its source"),
    ("SELECT addDays(date, 1) AS date FROM inc.volume_daily", ["date"], "not a date of its source"),
    ("SELECT v.date AS date, o.x FROM inc.volume_daily AS v JOIN inc.other AS o ON o.token = v.token", ["date"],
     "joins inc.other"),
    ("SELECT date FROM inc.volume_daily WHERE token IN (SELECT token FROM inc.volume_daily WHERE volume > 5)",
     ["date"], "subquery"),
    ("SELECT created AS date FROM inc.volume_daily", ["date"], "not that table's partition date"),
    ("SELECT date FROM inc.volume_daily ORDER BY date LIMIT 10", ["date"], "LIMIT"),
    ("SELECT day AS date FROM inc.volume_daily", ["date"], "not that table's partition date"),
])
def test_selects_a_month_rewrite_cannot_prove_are_named_with_the_reason(sql, dates, why):
    assert why in (problem(sql, dates, repaired=(COHORT, OTHER)) or "")


def test_months_and_partition_columns():
    assert months_between(dt.date(2026, 3, 29), dt.date(2026, 4, 3)) == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert date_columns("toStartOfMonth(date)") == ["date"]
    assert sorted(date_columns(["toYYYYMM(day)", "token"])) == ["day", "token"]
    # a key that subdivides the month by another column: the month column decides
    assert problem("SELECT date, token, sum(volume) AS v FROM inc.volume_daily GROUP BY date, token",
                   dates=("token", "date")) is None
    assert date_columns(None) == []


def test_plan_rewrites_mv_targets_after_their_sources_and_backs_up_only_those_on_the_cohort():
    from refill.dbt.graph import Node, ProjectGraph
    from refill.run.phases.lineage import decide_repairs
    from refill.run.plan import make_window, phase_runs

    def node(name, *parents, materialized, tags=()):
        return Node(f"model.p.{name}", name, materialized=materialized, tags=frozenset(tags), schema="inc",
                    parents=tuple(f"model.p.{p}" for p in parents), partition_by="toStartOfMonth(date)")

    g = ProjectGraph({n.unique_id: n for n in [
        node("prices", materialized="view"),
        node("volume_daily", "prices", materialized="incremental", tags=("refill_append",)),
        node("volume_by_day", "volume_daily", materialized="materialized_view"),
        node("consumer", "prices", materialized="table"),
        node("consumer_by_day", "consumer", materialized="materialized_view"),
        node("fct_daily", "volume_by_day", materialized="table"),
    ]})
    window = make_window(from_date=dt.date(2026, 3, 31), today=dt.date(2026, 4, 3), buffer_days=1)
    assert window.repull_months == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    uids = {f"model.p.{n}" for n in ("prices", "volume_by_day", "consumer", "consumer_by_day", "fct_daily")}
    how = decide_repairs(g, uids, window, budget=None, warehouse=None, cohort={"model.p.volume_daily"})
    assert how.mechanisms["volume_by_day"].startswith("mv-target month rewrite: 2026-03-01, 2026-04-01 of inc.volume_by_day")
    assert "restored by rollback with the cohort" in how.mechanisms["volume_by_day"]
    assert "not backed up" in how.mechanisms["consumer_by_day"]
    (spec,) = how.specs["volume_by_day"]
    assert spec.mv_rewrite and spec.vars_dict == {"start_month": "2026-03-01", "end_month": "2026-04-01"}
    runs = phase_runs(g, uids, how.specs)
    order = [m for run in runs for m in run.models]
    # a target is rewritten after what it reads, and before what reads it
    assert order.index("consumer") < order.index("consumer_by_day")
    assert order.index("volume_by_day") < order.index("fct_daily")
    assert all(run.spec.mv_rewrite == (set(run.models) <= {"volume_by_day", "consumer_by_day"}) for run in runs)


def test_a_view_whose_target_is_not_built_yet_is_created_by_dbt_run():
    from refill.dbt.graph import Node, ProjectGraph
    from refill.run.phases.lineage import decide_repairs
    from refill.run.plan import make_window

    class Built:  # the warehouse holds volume_by_day's target only
        def system_table(self, name):
            return f"system.{name}"

        def rows(self, sql):
            assert "system.tables" in sql
            return [("inc", "volume_by_day")]

    g = ProjectGraph({n.unique_id: n for n in [
        Node("model.p.volume_daily", "volume_daily", materialized="incremental", schema="inc"),
        Node("model.p.volume_by_day", "volume_by_day", materialized="materialized_view", schema="inc",
             parents=("model.p.volume_daily",)),
        Node("model.p.volume_new", "volume_new", materialized="materialized_view", schema="inc",
             parents=("model.p.volume_daily",)),
    ]})
    window = make_window(from_date=dt.date(2026, 4, 17), today=dt.date(2026, 4, 27))
    how = decide_repairs(g, {"model.p.volume_by_day", "model.p.volume_new"}, window, budget=None, warehouse=Built(),
                         cohort={"model.p.volume_daily"})
    assert how.mechanisms["volume_by_day"].startswith("mv-target month rewrite")
    assert how.mechanisms["volume_new"].startswith("materialized_view not built yet: dbt run creates")
    assert not any(spec.mv_rewrite for spec in how.specs["volume_new"])
