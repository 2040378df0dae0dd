"""What every phase shares: the phase itself, the run context (with the plan), steps and their results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from refill.dbt.graph import ProjectGraph
from refill.dbt.session import DbtSession
from refill.engine.warehouse import Warehouse
from refill.run.plan import RefillPlan


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


def _counts_steps(plan: RefillPlan) -> list[str]:
    return []


@dataclass(frozen=True)
class Phase:
    """One phase of a refill: an entry of ``refill.run.phases.PHASES``, which the orchestrator walks
    in order.

    ``key`` names the phase in step keys and journals: each of its steps is keyed ``key`` or
    ``key:…`` (a resumed run finds its done steps by these keys, so a key never changes once
    released). ``title`` is its banner and progress line. ``steps(plan, graph)`` gives its
    journaled steps in run order (none: the phase has nothing to do for that plan).
    ``models(plan)`` gives the model executions its dbt runs make, what its progress line
    counts (a model once per run of it); empty counts steps instead. ``rebuilds_from_cohort``:
    its steps rebuild models from the cohort's tables, so a rollback that restores the cohort
    after one of them finished rebuilds the cohort's descendants again.
    """

    key: str
    title: str
    steps: Callable[[RefillPlan, ProjectGraph], list["Step"]]
    models: Callable[[RefillPlan], list[str]] = _counts_steps
    rebuilds_from_cohort: bool = False

    def owns(self, step_key: str) -> bool:
        """Whether ``step_key`` (as a journal records it) is a step of this phase."""
        return step_key == self.key or step_key.startswith(f"{self.key}:")


@dataclass
class RunContext:
    """One attempt of a run: the plan and what its steps share. Phase 1 fills in
    ``cohort_manifest`` and ``audit_var`` on its first month; a resumed attempt starts with
    neither and computes them again."""

    plan: RefillPlan
    session: DbtSession
    manifest: Any
    graph: ProjectGraph
    state_root: Any = None  # --state-dir, when the run was given one
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    _warehouse: Warehouse | None = None
    # the dbt Manifest Phase 1 runs the cohort through: routed to refill_swap, parsed again
    # with the month vars when a cohort model's config needs them (refill.run.phases.cohort.cohort_manifest)
    cohort_manifest: Any = None
    # the refill_audit var of this attempt (refill.run.phases.cohort.audit_var): a JSON-able dict
    # of each cohort model's key, day column and price-derived columns, the run id and gap days
    audit_var: dict[str, Any] | None = None

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.session.credentials, self.session.project_dir)
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
