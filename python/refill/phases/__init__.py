"""The phases of a refill, in the order they run.

preflight → phase 0.5 (what the cohort reads) → price coverage and backup → phase 1 (cohort rewrite) → phase 1.5 (canary) → phase 2 (lineage re-pull)
→ phase 3 (downstream rebuild) → phase 4 (verify) → finish. Each module turns the plan
into journaled steps.
"""

from __future__ import annotations

from refill.graph import ProjectGraph
from refill.phases import canary, cohort, downstream, finish, lineage, preflight, verify
from refill.phases.context import Step
from refill.plan import RefillPlan

PHASE_TITLES = {
    preflight.PHASE: "Preflight",
    lineage.INPUTS_PHASE: "Phase 0.5: re-pull what the cohort reads",
    cohort.PHASE: "Phase 1: cohort rewrite",
    canary.PHASE: "Phase 1.5: canary",
    lineage.PHASE: "Phase 2: lineage re-pull",
    downstream.PHASE: "Phase 3: downstream rebuild",
    verify.PHASE: "Phase 4: verify",
    finish.PHASE: "Finish",
}


def models_by_phase(plan: RefillPlan) -> dict[str, list[str]]:
    """The model executions each phase's dbt runs make, in order (a cohort model once per
    month): what a phase's progress line counts. Phases absent here count steps."""
    return {
        lineage.INPUTS_PHASE: [m for run in plan.input_runs for m in run.models],
        cohort.PHASE: [] if plan.skip_cohort else [m for _ in plan.window.months for m in plan.cohort],
        lineage.PHASE: [] if plan.skip_lineage else [m for run in plan.lineage_runs for m in run.models],
        downstream.PHASE: [m for run in plan.downstream_runs for m in run.models],
    }


def all_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    return [
        *preflight.clear_steps(plan, graph),
        *lineage.input_steps(plan),
        *preflight.gate_steps(plan),
        *cohort.steps(plan),
        *canary.steps(plan),
        *lineage.steps(plan),
        *downstream.steps(plan),
        *verify.steps(plan),
        *finish.steps(plan),
    ]
