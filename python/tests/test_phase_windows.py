"""Phase 0.5/2/3 windows: one run normally, cut by each model's own partitions under
ClickHouse's partition limit otherwise, and grouped into dbt runs in graph order."""

from __future__ import annotations

import datetime as dt

from refill.run.plan import make_window, months_between
from refill.run.repull import Chunk, RunSpec, lookback_specs, partition_budget, schedule, split_days


def window_days(window):
    first = window.today - dt.timedelta(days=window.lookback_days - 1)
    return [first + dt.timedelta(days=i) for i in range(window.lookback_days)]


def monthly(days):
    return [frozenset({d.replace(day=1).isoformat()}) for d in days]


def daily(days):
    return [frozenset({d.isoformat()}) for d in days]


def test_a_normal_gap_is_one_run_with_the_widened_lookback():
    window = make_window(from_date=dt.date(2026, 4, 17), today=dt.date(2026, 4, 27))
    chunks = split_days(window_days(window), monthly(window_days(window)), partition_budget(100))
    assert lookback_specs(window.today, window.lookback_days, chunks) == (RunSpec((("price_lookback_days", 12),)),)


def test_a_gap_over_100_months_is_split_into_windows_that_cover_it_exactly():
    today = dt.date(2026, 4, 27)
    window = make_window(from_date=dt.date(2017, 1, 15), today=today)
    days = window_days(window)
    chunks = split_days(days, monthly(days), partition_budget(100))
    assert len(chunks) == 2
    assert all(len(months_between(c.first, c.last)) <= partition_budget(100) for c in chunks)
    assert chunks[0].first == days[0] and chunks[-1].last == today
    assert all(a.last + dt.timedelta(days=1) == b.first for a, b in zip(chunks, chunks[1:]))
    # a new month starts each later chunk: no month is re-pulled by two runs
    assert all(c.first.day == 1 for c in chunks[1:])
    specs = lookback_specs(today, window.lookback_days, chunks)
    assert [dict(s.vars)["incremental_end_date"] for s in specs] == [c.last.isoformat() for c in chunks]
    assert [dict(s.vars)["price_lookback_days"] for s in specs] == [(today - c.first).days + 1 for c in chunks]


def test_a_daily_partitioned_model_is_cut_by_days_where_a_monthly_one_is_not():
    today = dt.date(2026, 8, 9)
    window = make_window(from_date=today - dt.timedelta(days=114), today=today)
    days = window_days(window)
    assert len(split_days(days, monthly(days), partition_budget(100))) == 1
    chunks = split_days(days, daily(days), partition_budget(100))
    assert [(c.last - c.first).days + 1 for c in chunks] == [89, 27]


def test_window_size_follows_the_targets_partition_limit():
    assert partition_budget(100) == 89
    assert partition_budget(12) == 9
    assert partition_budget(0) is None  # 0 turns the limit off in ClickHouse
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(400)]
    assert split_days(days, daily(days), None) == [Chunk(days[0], days[-1])]


def test_a_day_over_the_budget_on_its_own_is_still_one_run():
    days = [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    wide = [frozenset(f"p{i}" for i in range(5)), frozenset({"q"})]
    assert split_days(days, wide, 3) == [Chunk(days[0], days[0]), Chunk(days[1], days[1])]


ONE = (RunSpec((("price_lookback_days", 12),)),)
TWO = (RunSpec((("price_lookback_days", 116), ("incremental_end_date", "2026-07-13"))),
       RunSpec((("price_lookback_days", 27), ("incremental_end_date", "2026-08-09"))))


def test_models_with_the_same_runs_share_dbt_invocations():
    runs = schedule(["a", "b", "c"], {"b": ["a"], "c": ["b"]}, {"a": ONE, "b": ONE, "c": ONE})
    assert [(r.models, r.spec) for r in runs] == [(("a", "b", "c"), ONE[0])]


def test_a_model_runs_every_window_before_the_models_that_read_it():
    # a (monthly) -> b (daily, two windows) -> c (monthly), d (daily) reads a only
    runs = schedule(["a", "b", "d", "c"], {"b": ["a"], "c": ["a", "b"], "d": ["a"]},
                    {"a": ONE, "b": TWO, "c": ONE, "d": TWO})
    assert [r.models for r in runs] == [("a",), ("b", "d"), ("b", "d"), ("c",)]
    assert [r.spec for r in runs] == [ONE[0], TWO[0], TWO[1], ONE[0]]
    assert runs[1].statement().startswith("dbt run --select b d --vars ")


def test_an_insert_overwrite_daily_partitioned_model_is_cut_at_month_starts_counting_whole_months():
    from refill.run.repull import split_months, whole_months

    today = dt.date(2026, 8, 9)
    first = today - dt.timedelta(days=115)  # 2026-04-16
    days = whole_months(first, today)
    chunks = split_months(days, daily(days), partition_budget(100), first, today)
    # April..June are 91 daily partitions once widened to whole months: over 89
    assert chunks == [Chunk(first, dt.date(2026, 5, 31)), Chunk(dt.date(2026, 6, 1), dt.date(2026, 7, 31)),
                      Chunk(dt.date(2026, 8, 1), today)]
    # each run's whole months stay under the budget
    assert all(len(whole_months(c.first, c.last)) <= partition_budget(100) for c in chunks)
    assert split_months(days, monthly(days), partition_budget(100), first, today) == [Chunk(first, today)]
