"""The plan: everything a refill will do, resolved before anything runs.

Pure: the window arithmetic (from a gap's first day, or a lookback, to the lookback and the
months), which models each phase touches, and ``build_plan``, which assembles the
``RefillPlan`` from the project graph and what dbt and the warehouse answered
(``refill.run.plan_resolve`` asks them). Nothing here calls dbt or the engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from refill.dbt.graph import UNMATERIALIZED, ProjectGraph, Relation, by_database
from refill.dbt.settings import Settings
from refill.errors import BadInput, PreflightProblem
from refill.run.repull import Repull, RunSpec, schedule

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

    @property
    def repull_days(self) -> tuple[dt.date, ...]:
        """The days a re-pull covers: the lookback's (the buffer included), ending today."""
        first = self.today - dt.timedelta(days=self.lookback_days - 1)
        return tuple(first + dt.timedelta(days=i) for i in range(self.lookback_days))

    @property
    def repull_months(self) -> tuple[dt.date, ...]:
        """Every month the re-pulled days touch: what a materialized view's target has
        rewritten. It holds the cohort's months and every day a Phase 2 re-pull re-inserts."""
        return months_between(self.repull_days[0], self.today)

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


@dataclass(frozen=True)
class RefillPlan:
    """Everything a refill will do, resolved from the dbt graph before anything runs."""

    window: Window
    settings: Settings
    project_dir: str
    schema: str
    target: str
    cohort_layers: tuple[tuple[str, ...], ...]
    lineage_selector: tuple[str, ...]
    lineage_models: tuple[str, ...]
    downstream_models: tuple[str, ...]
    skip_cohort: bool = False
    skip_lineage: bool = False
    # Phase 0.5: what the cohort (and the price-coverage check) reads, re-pulled before Phase 1
    input_models: tuple[str, ...] = ()
    input_runs: tuple[Repull, ...] = ()
    lineage_runs: tuple[Repull, ...] = ()
    downstream_runs: tuple[Repull, ...] = ()
    partition_budget: int | None = 89  # partitions one re-pull may span (max_partitions_per_insert_block)
    mechanisms: tuple[tuple[str, str], ...] = ()  # (model, how it is repaired) of phases 0.5, 2 and 3
    refused: tuple[PreflightProblem, ...] = ()  # models no phase can repair: the run is refused
    # materialized views whose target's months are rewritten from their SELECT (refill.lineage.mv_targets),
    # in run order, and those months
    mv_targets: tuple[str, ...] = ()
    mv_months: tuple[dt.date, ...] = ()
    # those of them that read the cohort: backed up in preflight like the cohort and restored with
    # it by rollback (a target fed only by re-pulled models is re-derivable like those models,
    # which rollback leaves repaired: restoring it would contradict them)
    mv_backups: tuple[str, ...] = ()
    prices_relation: tuple[str, str] | None = None  # (schema, table) of the prices model; None: ephemeral
    prices_unique_key: tuple[str, ...] = ()  # its columns: one way to tell the priced entities apart
    prices_upstream: tuple[str, ...] = ()  # materialized models the prices model reads (not re-pulled)
    # where dbt put each model of the plan and the prices model (custom schema, alias)
    relations: Mapping[str, Relation] = field(default_factory=dict)
    # ALTERs preflight applies before the backup (on_schema_change, see refill.run.schema_drift);
    # not part of run_id: a resumed run finds them applied and the same plan otherwise
    schema_changes: tuple[str, ...] = ()
    # the columns those ALTERs add, per model: the audit lets them change (default -> recompute)
    new_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # cohort models whose parse-time config changes with the month vars, (model, why): Phase 1
    # then parses the project again with them; empty: the plan's manifest serves Phase 1
    month_dependent: tuple[tuple[str, str], ...] = ()

    @property
    def cohort(self) -> tuple[str, ...]:
        return tuple(name for layer in self.cohort_layers for name in layer)

    def relation(self, model: str) -> Relation:
        """The relation of one of the plan's models; a model the plan does not hold is a KeyError."""
        return self.relations[model]

    def tables_by_database(self, models: Iterable[str]) -> dict[str, list[str]]:
        """``{database: [table, …]}`` of ``models``, for the package's ``database`` + ``tables`` macros."""
        return by_database(self.relation(m) for m in models)

    @property
    def run_id(self) -> str:
        """Stable for the same project, target and plan: a re-run finds its own journal and backups."""
        # how the windows are cut may read the warehouse: a re-run finds its run by the models
        plan = {k: v for k, v in self.as_dict().items() if k not in ("runs", "mechanisms", "refused", "month_dependent")}
        identity = json.dumps({"project": self.project_dir, **plan}, sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:12]

    def summary(self) -> str:
        w = self.window
        return (f"from {w.from_date} to {w.today}, months {', '.join(m.isoformat() for m in w.months)}, "
                f"{len(self.input_models)} phase-0.5 / {len(self.cohort)} cohort / {len(self.lineage_models)} phase-2 / "
                f"{len(self.downstream_models)} phase-3 models")

    def as_dict(self) -> dict:
        return {
            "window": self.window.as_dict(),
            "schema": self.schema,
            "target": self.target,
            "prices_model": self.settings.prices_model,
            "tag": self.settings.tag,
            "phase1_layers": [list(layer) for layer in self.cohort_layers] if not self.skip_cohort else [],
            "phase0.5_models": list(self.input_models),
            "phase2_selector": list(self.lineage_selector),
            "phase2_models": list(self.lineage_models),
            "phase3_models": list(self.downstream_models),
            "skip_balances_rewrite": self.skip_cohort,
            "skip_price_dependent": self.skip_lineage,
            "relations": {name: self.relations[name].as_list() for name in sorted(self.relations)},
            "runs": {"phase0.5": [r.as_dict() for r in self.input_runs],
                     "phase2": [r.as_dict() for r in self.lineage_runs],
                     "phase3": [r.as_dict() for r in self.downstream_runs]},
            "mechanisms": dict(self.mechanisms),
            "mv_targets": {name: [m.isoformat() for m in self.mv_months] for name in self.mv_targets},
            "mv_backups": list(self.mv_backups),
            "refused": [p.as_dict() for p in self.refused],
            "month_dependent": [{"model": m, "reason": r} for m, r in self.month_dependent],
        }


@dataclass
class Repairs:
    """How each re-pulled model is repaired, by model name: its dbt run specs, the mechanism
    the plan shows, and the models no re-pull can repair (``refill.run.phases.lineage.decide_repairs``)."""

    specs: dict[str, tuple[RunSpec, ...]] = field(default_factory=dict)
    mechanisms: dict[str, str] = field(default_factory=dict)
    refused: list[PreflightProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """Which models each phase touches, as unique ids of the project graph."""

    prices: str  # the prices model
    cohort: frozenset[str]  # the tagged models (Phase 1 rewrites them unless --skip-balances-rewrite)
    inputs: frozenset[str] = frozenset()  # Phase 0.5: what the cohort reads, re-pulled before it
    lineage: frozenset[str] = frozenset()  # Phase 2: the selected consumers of the prices model
    downstream: frozenset[str] = frozenset()  # Phase 3: the cohort's other descendants

    @property
    def repulled(self) -> frozenset[str]:
        return self.inputs | self.lineage | self.downstream


def cohort_scope(graph: ProjectGraph, settings: Settings, *, skip_cohort: bool = False) -> Scope:
    """The prices model, the cohort and what the cohort reads (Phase 0.5).

    BadInput when the prices model or a ``refill_full_refresh`` model is not a model of the
    project, or (unless ``skip_cohort``) no model carries the cohort's tag."""
    prices = graph.by_name(settings.prices_model)
    if prices is None:
        raise BadInput(f"prices model '{settings.prices_model}' is not a model of this project (--prices-model)")
    unknown = [name for name in settings.full_refresh if graph.by_name(name) is None]
    if unknown:
        raise BadInput(f"var refill_full_refresh names {', '.join(unknown)}, not a model of this project")
    cohort = graph.tagged(settings.tag)
    if not cohort and not skip_cohort:
        raise BadInput(f"no model is tagged '{settings.tag}': the cohort is empty (--tag, or --skip-balances-rewrite)")
    # what Phase 1 (and the coverage check) reads is re-pulled before it: Phase 0.5
    inputs = graph.cohort_inputs(prices.unique_id, set() if skip_cohort else cohort)
    return Scope(prices.unique_id, frozenset(cohort), frozenset(inputs))


def lineage_selector(settings: Settings, select: str | None) -> tuple[str, ...]:
    """The dbt selection of Phase 2: ``--select`` (default: the prices model's descendants)
    without the cohort."""
    return ("--select", select or f"{settings.prices_model}+", "--exclude", f"tag:{settings.tag}")


def repull_scope(graph: ProjectGraph, scope: Scope, selected: Iterable[str] | None, *,
                 select: str | None = None, tag: str = "") -> Scope:
    """``scope`` with Phase 2 (the models dbt ``selected`` for ``lineage_selector``, None:
    Phase 2 skipped) and Phase 3 (every other model descending from the cohort).

    BadInput when ``--select`` matched no model."""
    lineage: set[str] = set()
    if selected is not None:
        names = list(selected)
        if select and not names:
            raise BadInput(f"--select {select} matches no model outside tag:{tag}")
        lineage = {graph.by_name(n).unique_id for n in names if graph.by_name(n)} - scope.inputs
    downstream = {uid for uid in graph.descendants(scope.cohort) - scope.cohort
                  if graph.nodes[uid].resource_type == "model"}
    return replace(scope, lineage=frozenset(lineage), downstream=frozenset(downstream - lineage - scope.inputs))


def phase_runs(graph: ProjectGraph, uids: Iterable[str], specs: Mapping[str, tuple[RunSpec, ...]]) -> tuple[Repull, ...]:
    """The dbt runs of a phase's models, in graph order (see ``refill.run.repull.schedule``)."""
    order = graph.topological(uids)
    members = set(order)
    upstream = {graph.nodes[u].name: graph.names(graph.ancestors(u) & members) for u in order}
    return tuple(schedule(graph.names(order), upstream, specs))


def build_plan(graph: ProjectGraph, scope: Scope, window: Window, settings: Settings, repairs: Repairs, *,
               project_dir: str, schema: str, target: str, lineage_selector: tuple[str, ...],
               skip_cohort: bool = False, skip_lineage: bool = False, partition_budget: int | None = None,
               prices_unique_key: tuple[str, ...] = (), schema_changes: tuple[str, ...] = (),
               new_columns: tuple[tuple[str, tuple[str, ...]], ...] = (),
               month_dependent: tuple[tuple[str, str], ...] = ()) -> RefillPlan:
    """The ``RefillPlan`` of ``scope`` (from ``cohort_scope`` then ``repull_scope``): phases in
    run order, the cohort in layers, each phase's dbt runs from ``repairs``, and which
    materialized views' targets are rewritten and backed up.

    The rest is what dbt and the warehouse answered, passed through (``refill.run.plan_resolve``):
    where the profile writes (``schema``, ``target``), the partitions one re-pull may span,
    the prices model's unique key columns, the schema ALTERs preflight applies and the
    columns they add, and the cohort models whose parse-time config depends on the month."""
    prices = graph.nodes[scope.prices]
    cohort = set(scope.cohort)
    repulled = scope.repulled
    mv_ids = [uid for uid in graph.topological(repulled)
              if any(spec.mv_rewrite for spec in repairs.specs.get(graph.nodes[uid].name, ()))]
    return RefillPlan(
        window=window,
        settings=settings,
        project_dir=project_dir,
        schema=schema,
        target=target,
        cohort_layers=tuple(tuple(graph.names(layer)) for layer in graph.cohort_layers(cohort).layers),
        lineage_selector=lineage_selector,
        lineage_models=tuple(graph.names(graph.topological(scope.lineage))),
        downstream_models=tuple(graph.names(graph.topological(scope.downstream))),
        skip_cohort=skip_cohort,
        skip_lineage=skip_lineage,
        input_models=tuple(graph.names(graph.topological(scope.inputs))),
        input_runs=phase_runs(graph, scope.inputs, repairs.specs),
        lineage_runs=phase_runs(graph, scope.lineage, repairs.specs),
        downstream_runs=phase_runs(graph, scope.downstream, repairs.specs),
        partition_budget=partition_budget,
        mechanisms=tuple(sorted(repairs.mechanisms.items())),
        mv_targets=tuple(graph.names(mv_ids)),
        mv_months=window.repull_months,
        # a target fed only by re-pulled models is not backed up: rollback leaves those repaired
        mv_backups=tuple(graph.names(uid for uid in mv_ids if not skip_cohort and graph.ancestors(uid) & cohort)),
        refused=tuple(repairs.refused),
        prices_relation=None if prices.materialized == "ephemeral" else (prices.relation.database, prices.relation.identifier),
        prices_upstream=tuple(sorted(graph.nodes[uid].name for uid in graph.ancestors(prices.unique_id)
                                     if graph.nodes[uid].resource_type == "model"
                                     and graph.nodes[uid].materialized not in UNMATERIALIZED)),
        prices_unique_key=prices_unique_key,
        relations=graph.relations({prices.unique_id, *cohort, *repulled}),
        schema_changes=schema_changes,
        new_columns=new_columns,
        month_dependent=month_dependent,
    )
