"""Phase 2/3 windows: one run normally, windows under ClickHouse's 100-partition limit otherwise."""

from __future__ import annotations

import datetime as dt

from refill.phases.lineage import lookback_runs, months_per_run
from refill.plan import make_window, months_between


def test_a_normal_gap_is_one_run_with_the_widened_lookback():
    window = make_window(from_date=dt.date(2026, 4, 17), today=dt.date(2026, 4, 27))
    assert lookback_runs(window) == [{"price_lookback_days": 12}]


def test_a_gap_over_100_months_is_split_into_windows_that_cover_it_exactly():
    today = dt.date(2026, 4, 27)
    window = make_window(from_date=dt.date(2017, 1, 15), today=today)
    runs = lookback_runs(window, months_per_run(100))
    assert len(runs) == 2
    first_day = today - dt.timedelta(days=window.lookback_days - 1)
    covered = []
    for run in runs:
        start = today - dt.timedelta(days=run["price_lookback_days"] - 1)
        end = dt.date.fromisoformat(run["incremental_end_date"])
        assert len(months_between(start, end)) <= months_per_run(100)
        covered.append((start, end))
    assert covered[0][0] == first_day and covered[-1][1] == today
    assert all(prev_end + dt.timedelta(days=1) == start for (_, prev_end), (start, _) in zip(covered, covered[1:]))


def test_window_size_follows_the_targets_partition_limit():
    assert months_per_run(100) == 89
    assert months_per_run(12) == 9
    assert months_per_run(0) is None  # 0 turns the limit off in ClickHouse
    window = make_window(from_date=dt.date(2017, 1, 15), today=dt.date(2026, 4, 27))
    assert lookback_runs(window, None) == [{"price_lookback_days": window.lookback_days}]
