"""The var combinations and run modes a cohort model is evaluated under."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# A two-month window, so a bound that reuses start_month for end_month (or the
# reverse) cannot pass by accident. The months are the seed's boundary example.
START_MONTH = "2026-03-01"
END_MONTH = "2026-04-01"
INCREMENTAL_END_DATE = "2026-04-27"


def last_day_of_month(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


MONTH_WINDOW = (dt.date.fromisoformat(START_MONTH), last_day_of_month(dt.date.fromisoformat(END_MONTH)))


@dataclass(frozen=True)
class Combination:
    """Which of the refill vars a dbt invocation sets (``--vars``)."""

    start_month: bool
    incremental_end_date: bool

    @property
    def is_refill(self) -> bool:
        """The orchestrator (or the seed's script) is rewriting a window."""
        return self.start_month or self.incremental_end_date

    def cli_vars(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.start_month:
            values.update(start_month=START_MONTH, end_month=END_MONTH)
        if self.incremental_end_date:
            values["incremental_end_date"] = INCREMENTAL_END_DATE
        return values

    def describe(self) -> str:
        if self.start_month and self.incremental_end_date:
            return "with start_month and incremental_end_date set"
        if self.start_month:
            return "with start_month set"
        if self.incremental_end_date:
            return "with incremental_end_date set"
        return "with neither start_month nor incremental_end_date set"


COMBINATIONS: tuple[Combination, ...] = (
    Combination(start_month=False, incremental_end_date=False),
    Combination(start_month=True, incremental_end_date=False),
    Combination(start_month=False, incremental_end_date=True),
    Combination(start_month=True, incremental_end_date=True),
)
DAILY = COMBINATIONS[0]
MONTH_REFILL = COMBINATIONS[1]
END_DATE = COMBINATIONS[2]
# The runs that are not a month refill: the plain daily run, and a runner that bounds the
# run with incremental_end_date (the seed's project batches its daily runs that way).
DAILY_COMBINATIONS = (DAILY, END_DATE)


@dataclass(frozen=True)
class Scenario:
    """A render of the model body: a var combination plus what ``is_incremental()`` returns."""

    combination: Combination
    incremental: bool

    def describe(self) -> str:
        return f"{self.combination.describe()} and is_incremental() {str(self.incremental).lower()}"


# A month is rewritten through the incremental path (the seed's append, and refill_swap,
# which compiles the model incremental) or built first with the month vars set
# (is_incremental() false): the month window must hold on both. The daily run must call
# the lookback filter.
MONTH_SCENARIOS = (Scenario(MONTH_REFILL, incremental=True), Scenario(MONTH_REFILL, incremental=False))
DAILY_SCENARIO = Scenario(DAILY, incremental=True)
DAILY_SCENARIOS = (DAILY_SCENARIO, Scenario(END_DATE, incremental=True))
