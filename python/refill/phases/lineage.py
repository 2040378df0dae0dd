"""Phase 0.5 and Phase 2: every prices consumer outside the cohort re-pulls the widened lookback.

``apply_monthly_incremental_filter`` reads ``var('price_lookback_days')``, so one var
widens every consumer; lineage (``<prices model>+``) finds them, not a hand-kept tag.
The graph orders them: what the cohort reads (the materialized models between the prices
model and the cohort, the prices model itself when materialized) is re-pulled before
Phase 1 (Phase 0.5), the rest after it (Phase 2).

How each model is re-pulled is decided here, per model:

* incremental: the lookback var, its window cut by its own partitions under the
  profile's ``max_partitions_per_insert_block`` (``refill.repull``);
* dbt microbatch: ``--event-time-start/--event-time-end`` over the window (its batches
  come from ``event_time`` and the clock, not from a var);
* incremental with a window that does not follow the var (hand-written, or a lookback of
  its own): cannot be repaired by a re-pull, refused before anything is written, unless
  the project lists it in var ``refill_full_refresh``: then rebuilt whole
  (``--full-refresh``), which equals a from-scratch build;
* table: rebuilt whole; view: read live (dbt re-creates it); ephemeral: nothing to run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from refill import lineage_scan
from refill.errors import PreflightProblem
from refill.graph import UNMATERIALIZED, ProjectGraph
from refill.phases.context import RefillPlan, RunContext, Step
from refill.plan import Window
from refill.progress import say
from refill.render import abbreviate_statement
from refill.repull import (
    DEFAULT_PARTITION_LIMIT, Repull, RunSpec, lookback_specs, microbatch_spec, schedule, split_days, split_months,
    step_keys, whole_months,
)

PHASE = "phase2"
INPUTS_PHASE = "phase0.5"


def partition_limit(credentials) -> int:
    settings = getattr(credentials, "custom_settings", None) or {}
    return int(settings.get("max_partitions_per_insert_block", DEFAULT_PARTITION_LIMIT))


def window_days(window: Window) -> list[dt.date]:
    """The days a re-pull covers: the lookback's, ending today."""
    first = window.today - dt.timedelta(days=window.lookback_days - 1)
    return [first + dt.timedelta(days=i) for i in range(window.lookback_days)]


@dataclass
class RepullPlan:
    """Per model: its run specs and how it is repaired (for the plan); the refused ones."""

    specs: dict[str, tuple[RunSpec, ...]] = field(default_factory=dict)
    mechanisms: dict[str, str] = field(default_factory=dict)
    refused: list[PreflightProblem] = field(default_factory=list)


def plan_models(graph: ProjectGraph, uids: Iterable[str], window: Window, *, budget: int | None,
                warehouse, session=None, manifest=None, check_windows: bool = True,
                full_refresh: Iterable[str] = ()) -> RepullPlan:
    """Decide how each of ``uids`` is re-pulled (see the module docstring).

    ``warehouse`` counts partitions (reads only); ``session`` and ``manifest`` compile the
    incremental models twice to find windows that ignore the var (skipped when
    ``check_windows`` is false or no session is given).
    """
    result = RepullPlan()
    days = window_days(window)
    base = lookback_specs(window.today, window.lookback_days, [])
    nodes = [graph.nodes[uid] for uid in uids]
    rebuilt = set(full_refresh)
    incremental = [n for n in nodes if n.is_incremental and n.strategy != "microbatch" and n.name not in rebuilt]
    ignoring: set[str] = set()
    if check_windows and session is not None and incremental:
        candidates = lineage_scan.windows_ignoring_lookback(
            session, manifest, [n.name for n in incremental], window.lookback_days)
        if candidates:
            by_name = {n.name: n for n in incremental}
            live = lineage_scan.populated(warehouse, [(by_name[c].relation.database, by_name[c].relation.identifier) for c in candidates])
            ignoring = {c for c in candidates if (by_name[c].relation.database, by_name[c].relation.identifier) in live}
    cache: dict[object, list[frozenset[str]]] = {}
    for node in nodes:
        if node.materialized in UNMATERIALIZED:
            result.specs[node.name], result.mechanisms[node.name] = base, f"{node.materialized}: read live (re-created)"
        elif node.name in rebuilt:
            result.specs[node.name] = (RunSpec((), full_refresh=True),)
            result.mechanisms[node.name] = "rebuilt whole: dbt run --full-refresh (var refill_full_refresh)"
        elif not node.is_incremental:
            result.specs[node.name], result.mechanisms[node.name] = base, f"{node.materialized}: rebuilt whole"
        elif node.strategy == "microbatch":
            result.specs[node.name] = microbatch_spec(days[0], window.today, window.lookback_days)
            result.mechanisms[node.name] = f"microbatch: --event-time-start {days[0]} --event-time-end {window.today + dt.timedelta(days=1)}"
        elif node.name in ignoring:
            result.specs[node.name] = base
            result.mechanisms[node.name] = "cannot repair: its incremental window ignores price_lookback_days"
            result.refused.append(PreflightProblem(
                kind="lineage", model=node.name,
                message=(f"its incremental window ignores price_lookback_days (the same SQL for {window.lookback_days}"
                         f" and {window.lookback_days + 1} days), so a re-pull would keep the gap: make the window call"
                         f" refill.apply_monthly_incremental_filter, or add it to var refill_full_refresh to have"
                         f" refill rebuild it whole"),
            ))
        else:
            expression = lineage_scan.partition_expression(node.partition_by)
            overwrite = node.strategy == "insert_overwrite"
            counted = whole_months(days[0], days[-1]) if overwrite else days
            key = expression if expression and len(lineage_scan.key_columns(expression)) <= 1 else node.unique_id
            if (key, overwrite) not in cache:
                cache[key, overwrite] = lineage_scan.day_partitions(
                    warehouse, node.relation.database, node.relation.identifier, node.partition_by, counted)
            partitions = cache[key, overwrite]
            chunks = (split_months(counted, partitions, budget, days[0], days[-1]) if overwrite
                      else split_days(days, partitions, budget))
            result.specs[node.name] = lookback_specs(window.today, window.lookback_days, chunks)
            spanned = len(set().union(*partitions)) if partitions else 0
            result.mechanisms[node.name] = (
                f"lookback var, {len(chunks)} run(s): {spanned} partition(s) of {expression or 'one table'}"
                + (" over whole months (insert_overwrite)" if overwrite else "")
                + (f", at most {budget} per run" if budget and len(chunks) > 1 else "")
            )
    return result


def phase_runs(graph: ProjectGraph, uids: Iterable[str], specs: dict[str, tuple[RunSpec, ...]]) -> tuple[Repull, ...]:
    """The dbt runs of a phase's models, in graph order (see ``refill.repull.schedule``)."""
    order = graph.topological(uids)
    members = set(order)
    upstream = {graph.nodes[u].name: graph.names(graph.ancestors(u) & members) for u in order}
    return tuple(schedule(graph.names(order), upstream, specs))


def re_pull(ctx: RunContext, phase: str, run: Repull) -> dict:
    say(abbreviate_statement(f"[{phase}] {' '.join(run.args()[1:])}  ({', '.join(f'{k}={v}' for k, v in run.spec.vars)})"))
    ctx.session.invoke(run.args(), manifest=ctx.manifest, vars=run.spec.vars_dict)
    return run.as_dict()


def run_steps(phase: str, title: str, runs: tuple[Repull, ...]) -> list[Step]:
    return [
        Step(
            key=key,
            phase=phase,
            title=f"{title} ({len(run.models)} model(s))",
            statements=(run.statement(),),
            action=lambda ctx, run=run: re_pull(ctx, phase, run),
        )
        for key, run in zip(step_keys(phase, len(runs)), runs)
    ]


def input_steps(plan: RefillPlan) -> list[Step]:
    """Phase 0.5: what Phase 1 and the price-coverage check read, re-pulled first."""
    return run_steps(INPUTS_PHASE, "re-pull what the cohort reads", plan.input_runs)


def steps(plan: RefillPlan) -> list[Step]:
    if plan.skip_lineage:
        return []
    return run_steps(PHASE, "re-pull price consumers", plan.lineage_runs)

