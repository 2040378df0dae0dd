"""How a phase re-pulls models: each model's window cut under the partition limit, and the
models grouped into dbt runs that respect the graph.

ClickHouse refuses one INSERT into more than ``max_partitions_per_insert_block`` partitions
(default 100, Code 252). How many partitions a window spans depends on the model's own
``partition_by``: 116 days are 5 partitions of a monthly model and 116 of a daily one. So
each model's window is cut by the partitions its days fall in (see ``lineage_scan`` for
where those come from), and models whose cuts agree share dbt invocations.

Pure logic: no dbt, no warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

# A model's window is counted from its own latest day, which can lag today by a few days
# (so its window starts a few partitions earlier): runs are cut a margin below the limit.
DEFAULT_PARTITION_LIMIT = 100


def partition_budget(partition_limit: int) -> int | None:
    """Partitions one re-pull may span under ``max_partitions_per_insert_block`` (None: no limit)."""
    if partition_limit <= 0:
        return None
    return max(1, partition_limit * 9 // 10 - 1)


@dataclass(frozen=True)
class Chunk:
    """Consecutive days one run re-pulls, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date


def split_days(days: Sequence[dt.date], partitions: Sequence[frozenset[str]], budget: int | None) -> list[Chunk]:
    """Cut ``days`` (ascending) into the fewest consecutive chunks that each span at most
    ``budget`` distinct partitions; ``partitions[i]`` are the partitions ``days[i]`` writes.

    A single day spanning more than ``budget`` partitions is a chunk of its own (nothing
    narrower than a day can be asked of the lookback var).
    """
    if not days:
        return []
    if budget is None:
        return [Chunk(days[0], days[-1])]
    chunks, start, seen = [], 0, set()
    for i, day_partitions in enumerate(partitions):
        if seen and len(seen | day_partitions) > budget:
            chunks.append(Chunk(days[start], days[i - 1]))
            start, seen = i, set()
        seen |= day_partitions
    chunks.append(Chunk(days[start], days[-1]))
    return chunks


def split_months(days: Sequence[dt.date], partitions: Sequence[frozenset[str]], budget: int | None,
                 first: dt.date, last: dt.date) -> list[Chunk]:
    """``split_days`` for ``insert_overwrite`` models, whose lookback window is widened to
    whole months (a narrower one would replace a month with a slice): runs are cut only at
    month starts, and a month counts every partition of all its days.

    ``days``/``partitions`` cover whole months around the window [``first``, ``last``];
    chunks are clipped to the window.
    """
    months: dict[dt.date, set[str]] = {}
    for day, day_partitions in zip(days, partitions):
        months.setdefault(day.replace(day=1), set()).update(day_partitions)
    starts = sorted(m for m in months if m <= last)
    units = [max(first, m) for m in starts]
    chunks = split_days(units, [frozenset(months[m]) for m in starts], budget)
    return [Chunk(c.first, min(last, _month_end(c.last))) for c in chunks]


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def whole_months(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day of the months [``first``, ``last``] touches."""
    start, end = first.replace(day=1), _month_end(last)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class RunSpec:
    """What one dbt run of a model is given: vars, and event-time bounds for microbatch."""

    vars: tuple[tuple[str, Any], ...]
    event_time: tuple[str, str] | None = None  # [start, end) for --event-time-start/-end
    full_refresh: bool = False  # rebuilt whole: no window at all
    # a materialized view's target: the months start_month..end_month rewritten from its
    # SELECT through refill_mv_swap (refill.lineage.mv_targets says why)
    mv_rewrite: bool = False

    @property
    def vars_dict(self) -> dict[str, Any]:
        return dict(self.vars)


def lookback_specs(today: dt.date, lookback_days: int, chunks: Sequence[Chunk]) -> tuple[RunSpec, ...]:
    """The lookback var of each chunk: one run with the whole lookback, or per chunk the
    days from its first day to today, bounded above by ``incremental_end_date``."""
    if len(chunks) <= 1:
        return (RunSpec((("price_lookback_days", lookback_days),)),)
    return tuple(
        RunSpec((("price_lookback_days", (today - c.first).days + 1), ("incremental_end_date", c.last.isoformat())))
        for c in chunks
    )


def microbatch_spec(first_day: dt.date, today: dt.date, lookback_days: int) -> tuple[RunSpec, ...]:
    """dbt microbatch windows come from event_time and the clock, not from a var: the
    window's days are asked for explicitly (the end is exclusive)."""
    end = today + dt.timedelta(days=1)
    return (RunSpec((("price_lookback_days", lookback_days),), (first_day.isoformat(), end.isoformat())),)


@dataclass(frozen=True)
class Repull:
    """One dbt invocation of a phase: these models, with these vars (and event-time bounds)."""

    models: tuple[str, ...]
    spec: RunSpec

    def args(self) -> list[str]:
        args = ["run", "--select", *self.models]
        if self.spec.full_refresh:
            args.append("--full-refresh")
        if self.spec.event_time:
            args += ["--event-time-start", self.spec.event_time[0], "--event-time-end", self.spec.event_time[1]]
        return args

    def statement(self) -> str:
        text = "dbt " + " ".join(shlex.quote(a) for a in self.args())
        if self.spec.vars:
            text += " --vars " + shlex.quote(json.dumps(self.spec.vars_dict, sort_keys=True))
        if self.spec.mv_rewrite:
            text += "  (as refill_mv_swap: each month recomputed from the view's SELECT into a staging twin, then swapped)"
        return text

    def as_dict(self) -> dict:
        return {"models": list(self.models), "vars": self.spec.vars_dict,
                "event_time": list(self.spec.event_time) if self.spec.event_time else None,
                "full_refresh": self.spec.full_refresh, "mv_rewrite": self.spec.mv_rewrite}


def schedule(order: Sequence[str], upstream: Mapping[str, Iterable[str]],
             specs: Mapping[str, tuple[RunSpec, ...]]) -> list[Repull]:
    """The dbt runs of a phase: ``order`` (model names in dependency order), grouped into
    segments of models with the same run specs, each segment run spec by spec.

    A model runs all its specs before any model that reads it starts (paths through other
    nodes count: ``upstream[m]`` are the models of the phase ``m`` reads); inside a segment
    dbt orders the models. Ready models with the current segment's specs join it first,
    so the usual phase (every model alike) is one segment.
    """
    remaining = list(order)
    placed: set[str] = set()
    segments: list[tuple[tuple[RunSpec, ...], list[str]]] = []
    while remaining:
        ready = [m for m in remaining if set(upstream.get(m, ())) <= placed]
        if not ready:
            raise ValueError("dependency cycle among " + ", ".join(remaining))
        current = segments[-1][0] if segments else None
        joining = [m for m in ready if specs[m] == current]
        if not joining:
            current = specs[ready[0]]
            segments.append((current, []))
            joining = [m for m in ready if specs[m] == current]
        segments[-1][1].extend(joining)
        placed.update(joining)
        remaining = [m for m in remaining if m not in placed]
    return [Repull(tuple(models), spec) for run_specs, models in segments for spec in run_specs]


def step_keys(phase: str, count: int) -> list[str]:
    """Journal keys of a phase's runs: the phase itself for one run, ``phase:i/n`` for more."""
    return [phase] if count == 1 else [f"{phase}:{i}/{count}" for i in range(1, count + 1)]
