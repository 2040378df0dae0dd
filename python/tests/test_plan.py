"""The window arithmetic: the seed's worked example and the edges around it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from refill.errors import BadInput, ExitCode
from refill.run.plan import make_window, months_between, parse_date

D = dt.date


def test_seed_worked_example_lookback_12_one_month():
    window = make_window(from_date=D(2026, 4, 17), today=D(2026, 4, 27))
    assert window.lookback_days == 12  # 10 + 1 inclusive + 1 buffer
    assert window.months == (D(2026, 4, 1),)


def test_gap_across_a_month_boundary_touches_both_months():
    window = make_window(from_date=D(2026, 3, 30), today=D(2026, 4, 27))
    assert window.months == (D(2026, 3, 1), D(2026, 4, 1))
    assert window.lookback_days == 28 + 1 + 1


def test_buffer_days_widen_the_lookback_only():
    window = make_window(from_date=D(2026, 4, 17), today=D(2026, 4, 27), buffer_days=3)
    assert window.lookback_days == 14
    assert window.months == (D(2026, 4, 1),)


def test_lookback_days_maps_back_to_the_same_from_date():
    window = make_window(lookback_days=12, today=D(2026, 4, 27))
    assert window.from_date == D(2026, 4, 17)
    assert make_window(from_date=window.from_date, today=window.today).lookback_days == 12


def test_gap_on_today_is_a_one_day_gap():
    window = make_window(from_date=D(2026, 4, 27), today=D(2026, 4, 27), buffer_days=0)
    assert window.lookback_days == 1
    assert window.gap_days == (D(2026, 4, 27),)


def test_months_cover_year_boundaries():
    assert months_between(D(2025, 12, 31), D(2026, 2, 1)) == (D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of"),
        ({"from_date": D(2026, 4, 17), "lookback_days": 12}, "exactly one of"),
        ({"from_date": D(2026, 4, 28)}, "after today"),
        ({"lookback_days": 0}, "at least 1 + buffer"),
        ({"lookback_days": -3}, "at least 1 + buffer"),
        ({"lookback_days": 1}, "at least 1 + buffer (2)"),
        ({"from_date": D(2026, 4, 17), "buffer_days": -1}, "--buffer-days"),
        ({"from_date": D(2000, 1, 1)}, "over the limit"),
    ],
)
def test_bad_windows_are_refused_with_exit_2(kwargs, message):
    with pytest.raises(BadInput, match=re.escape(message)) as info:
        make_window(today=D(2026, 4, 27), **kwargs)
    assert info.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("text", ["2026-4-17", "2026-02-30", "yesterday", "", "2026-04-17; DROP TABLE x"])
def test_malformed_dates_are_refused(text):
    with pytest.raises(BadInput, match="must be a date"):
        parse_date(text, "--from-date")
