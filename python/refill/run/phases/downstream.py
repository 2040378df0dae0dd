"""Phase 3: rebuild the cohort's descendants outside the cohort that Phase 2 did not rebuild.

``fct_*`` tables hold stale aggregates of the cohort until re-run. Incremental
descendants get the same widened lookback as Phase 2, so they re-read the refilled days,
and are split by their own partitions as Phase 2 is.
"""

from __future__ import annotations

from refill.dbt.graph import ProjectGraph
from refill.run.phases.context import Phase, Step
from refill.run.phases.lineage import run_steps
from refill.run.plan import RefillPlan

KEY = "phase3"


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    return run_steps(KEY, "rebuild descendants of the cohort", plan.downstream_runs)


def models(plan: RefillPlan) -> list[str]:
    return [m for run in plan.downstream_runs for m in run.models]


PHASE = Phase(KEY, "Phase 3: downstream rebuild", steps, models=models, rebuilds_from_cohort=True)
