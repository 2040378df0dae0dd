"""Phase 1.5: the canary, an adjacent-day ratio scan across every touched month boundary.

The scan starts 3 days before the first affected month, so a step that sits exactly on a
month boundary (the upstream incident's uniform 2x July) is inside the window. The SQL
is the package's ``refill.canary_query`` macro; dbt compiles and runs it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from refill import render
from refill.dbt.graph import ProjectGraph
from refill.dbt.session import records
from refill.dbt.settings import Canary
from refill.run.phases.check_failure import fail_with_rollback
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.plan import RefillPlan
from refill.run.progress import say

KEY = "phase1.5"
LEAD_DAYS = 3
_QUERY = "{{ refill.canary_query(**var('refill_canary_args')) }}"
COLUMNS = ("entity", "day", "previous", "value", "ratio", "reason")  # what scan reads of canary_query


@dataclass(frozen=True)
class Violation:
    model: str
    entity: str
    day: dt.date
    previous: object
    value: object
    ratio: object
    reason: str

    def describe(self) -> str:
        return f"{self.model} {self.entity} {self.day}: {self.previous} -> {self.value} ({self.reason})"


def scan_window(plan: RefillPlan) -> tuple[dt.date, dt.date]:
    """What the macro scans: from 3 days before the first affected month to today."""
    return plan.window.first_month - dt.timedelta(days=LEAD_DAYS), plan.window.today


def scan_args(plan: RefillPlan, canary: Canary) -> dict:
    # canary_query itself starts LEAD_DAYS before the month of start_date
    return {**canary.as_macro_args(), "start_date": plan.window.first_month.isoformat(),
            "end_date": plan.window.today.isoformat()}


def scan(session, manifest, canary: Canary, first_month: dt.date, end: dt.date) -> list[Violation]:
    """Violations of one canary from 3 days before ``first_month`` to ``end``."""
    args = {**canary.as_macro_args(), "start_date": first_month.isoformat(), "end_date": end.isoformat()}
    rows = records(session.show(_QUERY, manifest=manifest, vars={"refill_canary_args": args}), COLUMNS,
                   "refill.canary_query")
    return [Violation(canary.model, str(r["entity"]), r["day"], r["previous"], r["value"], r["ratio"], str(r["reason"]))
            for r in rows]


def scan_all(ctx: RunContext) -> list[Violation]:
    plan = ctx.plan
    return [v for canary in plan.settings.canaries
            for v in scan(ctx.session, ctx.manifest, canary, plan.window.first_month, plan.window.today)]


def skipped_message(settings) -> str:
    """Why no canary runs: the var is missing, or declared and empty (`[]`)."""
    what = "refill_canaries is empty" if settings.canaries_declared else "no refill_canaries var in the project"
    return f"{what}: Phase 1.5 and the canary in Phase 4 are skipped"


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    if not plan.settings.canaries:
        render.warn(skipped_message(plan.settings))
        return []
    def run(ctx: RunContext) -> dict:
        violations = scan_all(ctx)
        start, end = scan_window(plan)
        say(f"[phase1.5] canary {start}..{end}: {len(plan.settings.canaries)} scan(s), "
            f"{len(violations)} violation(s)")
        if violations:
            fail_with_rollback(ctx, "canary", [v.describe() for v in violations])
        return {"violations": 0}

    return [
        Step(
            key="phase1.5",
            phase=KEY,
            title=f"canary: {', '.join(c.model for c in plan.settings.canaries)}",
            statements=tuple(
                f"dbt show --inline \"{_QUERY}\" --vars '{json.dumps({'refill_canary_args': scan_args(plan, c)})}'"
                for c in plan.settings.canaries
            ),
            action=run,
        )
    ]


PHASE = Phase(KEY, "Phase 1.5: canary", steps)
