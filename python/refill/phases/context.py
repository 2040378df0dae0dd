"""What every phase shares: the run context (with the plan), steps and their results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from refill.graph import ProjectGraph
from refill.plan import RefillPlan
from refill.session import DbtSession
from refill.warehouse import Warehouse


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
