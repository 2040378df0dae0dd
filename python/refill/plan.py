"""Plan arithmetic: from a gap's first day (or a lookback) to the lookback and the months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from refill.errors import BadInput

# Beyond this a "gap" is more likely a typo than an incident (10 years of months).
MAX_LOOKBACK_DAYS = 3660


@dataclass(frozen=True)
class Window:
    """What a refill covers: consumers re-pull ``lookback_days``; the cohort rewrites ``months``."""

    from_date: dt.date
    today: dt.date
    buffer_days: int
    lookback_days: int
    months: tuple[dt.date, ...]

    @property
    def gap_days(self) -> tuple[dt.date, ...]:
        return tuple(self.from_date + dt.timedelta(days=i) for i in range((self.today - self.from_date).days + 1))

    @property
    def first_month(self) -> dt.date:
        return self.months[0]

    def as_dict(self) -> dict:
        return {
            "from_date": self.from_date.isoformat(),
            "today": self.today.isoformat(),
            "buffer_days": self.buffer_days,
            "lookback_days": self.lookback_days,
            "months": [m.isoformat() for m in self.months],
        }


def parse_date(value: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadInput(f"{flag} must be a date like 2026-04-17, got {value!r}") from None


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_between(first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """Every month touched by [first, last], as first days of month, ascending."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


def make_window(
    *,
    from_date: dt.date | None = None,
    lookback_days: int | None = None,
    today: dt.date | None = None,
    buffer_days: int = 1,
) -> Window:
    """lookback = (today - from_date) + 1 + buffer; months = every month touched by [from_date, today].

    Given ``lookback_days`` instead, ``from_date`` is the day that formula maps it back to.
    """
    today = today or utc_today()
    if (from_date is None) == (lookback_days is None):
        raise BadInput("give exactly one of --from-date and --lookback-days")
    if buffer_days < 0:
        raise BadInput(f"--buffer-days must be 0 or more, got {buffer_days}")
    if lookback_days is not None:
        if lookback_days < 1 + buffer_days:
            raise BadInput(
                f"--lookback-days must be at least 1 + buffer ({1 + buffer_days}), got {lookback_days}"
            )
        from_date = today - dt.timedelta(days=lookback_days - 1 - buffer_days)
    assert from_date is not None
    if from_date > today:
        raise BadInput(f"--from-date {from_date} is after today ({today}); use --today to replay the past")
    lookback = (today - from_date).days + 1 + buffer_days
    if lookback > MAX_LOOKBACK_DAYS:
        raise BadInput(f"a lookback of {lookback} days is over the limit of {MAX_LOOKBACK_DAYS}")
    return Window(from_date, today, buffer_days, lookback, months_between(from_date, today))
