"""The phases of a refill, in the order they run: ``PHASES``, which the orchestrator walks.

preflight → phase 0.5 (what the cohort reads) → price coverage and backup → phase 1 (cohort
rewrite) → phase 1.5 (canary) → phase 2 (lineage re-pull) → phase 3 (downstream rebuild) →
phase 4 (verify) → finish. Each module declares its ``Phase`` (key, title, ``steps(plan,
graph)``); a new phase is a module and one line here.
"""

from __future__ import annotations

from typing import Sequence

from refill.dbt.graph import ProjectGraph
from refill.run.phases import canary, cohort, downstream, finish, lineage, preflight, verify
from refill.run.phases.context import Phase, Step
from refill.run.plan import RefillPlan

PHASES: tuple[Phase, ...] = (
    preflight.CLEAR,
    lineage.INPUTS,
    preflight.GATE,
    cohort.PHASE,
    canary.PHASE,
    lineage.PHASE,
    downstream.PHASE,
    verify.PHASE,
    finish.PHASE,
)


def planned(plan: RefillPlan, graph: ProjectGraph, phases: Sequence[Phase] | None = None
            ) -> list[tuple[Phase, list[Step]]]:
    """Each phase of ``phases`` (default ``PHASES``) with the steps it has for ``plan``, in run
    order; a phase without steps is left out. ValueError for a step keyed outside its phase
    (a resumed run and rollback find a step's phase by its key)."""
    result = []
    for phase in PHASES if phases is None else phases:
        steps = list(phase.steps(plan, graph))
        strays = [s.key for s in steps if s.phase != phase.key or not phase.owns(s.key)]
        if strays:
            raise ValueError(f"phase {phase.key}: step(s) {', '.join(strays)} must have phase={phase.key!r} "
                             f"and a key that is {phase.key!r} or starts with '{phase.key}:'")
        if steps:
            result.append((phase, steps))
    return result


def all_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    """Every step of the run, in order (what ``refill plan`` lists and the report records)."""
    return [step for _, steps in planned(plan, graph) for step in steps]


def models_by_phase(plan: RefillPlan) -> dict[str, list[str]]:
    """``{phase key: the model executions its dbt runs make}``, what a phase's progress line
    counts (a cohort model once per month); a phase that counts steps has an empty list."""
    return {phase.key: list(phase.models(plan)) for phase in PHASES}

