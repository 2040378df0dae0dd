"""Which materialized views' target months refill can rewrite from their SELECT (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from refill.mv_targets import date_columns, month_local_problem, months_of

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
    assert months_of(dt.date(2026, 3, 29), dt.date(2026, 4, 3)) == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert date_columns("toStartOfMonth(date)") == ["date"]
    assert sorted(date_columns(["toYYYYMM(day)", "token"])) == ["day", "token"]
    # a key that subdivides the month by another column: the month column decides
    assert problem("SELECT date, token, sum(volume) AS v FROM inc.volume_daily GROUP BY date, token",
                   dates=("token", "date")) is None
    assert date_columns(None) == []
