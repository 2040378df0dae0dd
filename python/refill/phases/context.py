"""What every phase shares: the plan, the run context, steps and their results."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from refill.errors import PreflightProblem
from refill.graph import ProjectGraph, Relation, by_database
from refill.plan import Window
from refill.repull import Repull
from refill.session import DbtSession
from refill.settings import Settings
from refill.warehouse import Warehouse


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
    # materialized views whose target's months are rewritten from their SELECT (refill.mv_targets),
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
    # ALTERs preflight applies before the backup (on_schema_change, see refill.schema_drift);
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
class StepResult:
    key: str
    phase: str
    title: str
    seconds: float = 0.0
    status: str = "pending"  # pending | ok | failed | skipped
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One journaled unit of a refill: what it issues (for --dry-run) and how it runs."""

    key: str
    phase: str
    title: str
    statements: tuple[str, ...]
    action: Callable[["RunContext"], dict[str, Any] | None]
    repeat_on_resume: bool = False  # cheap and idempotent: worth redoing after a crash


@dataclass
class RunContext:
    plan: RefillPlan
    session: DbtSession
    manifest: Any
    graph: ProjectGraph
    state_root: Any = None  # --state-dir, when the run was given one
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    _warehouse: Warehouse | None = None
    _cohort_manifest: Any = None
    _audit_var: Any = None  # the refill_audit var of this attempt (phase 1)

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.session.credentials, self.session.project_dir)
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
