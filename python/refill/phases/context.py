"""What every phase shares: the plan, the run context, steps and their results."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from refill.graph import ProjectGraph
from refill.plan import Window
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
    months_per_run: int | None = 89  # phase 2/3 windows, under max_partitions_per_insert_block

    @property
    def cohort(self) -> tuple[str, ...]:
        return tuple(name for layer in self.cohort_layers for name in layer)

    @property
    def run_id(self) -> str:
        """Stable for the same project, target and plan: a re-run finds its own journal and backups."""
        identity = json.dumps({"project": self.project_dir, **self.as_dict()}, sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:12]

    def summary(self) -> str:
        w = self.window
        return (f"from {w.from_date} to {w.today}, months {', '.join(m.isoformat() for m in w.months)}, "
                f"{len(self.cohort)} cohort / {len(self.lineage_models)} phase-2 / {len(self.downstream_models)} phase-3 models")

    def as_dict(self) -> dict:
        return {
            "window": self.window.as_dict(),
            "schema": self.schema,
            "target": self.target,
            "prices_model": self.settings.prices_model,
            "tag": self.settings.tag,
            "phase1_layers": [list(layer) for layer in self.cohort_layers] if not self.skip_cohort else [],
            "phase2_selector": list(self.lineage_selector),
            "phase2_models": list(self.lineage_models),
            "phase3_models": list(self.downstream_models),
            "skip_balances_rewrite": self.skip_cohort,
            "skip_price_dependent": self.skip_lineage,
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


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    value = fn()
    return value, time.monotonic() - started
