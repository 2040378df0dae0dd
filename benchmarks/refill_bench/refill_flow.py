"""refill's recovery flow, as its operator runs it: ``refill run`` in one process.

The flow is ``refill.run.orchestrator.run_refill`` — what ``python -m refill run --from-date
… --report …`` calls — in a fresh process. The only addition is a clock, an observer of the
run told when each step's action starts, so the harness can split the wall time by phase.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import time
from pathlib import Path
from typing import Sequence

from refill_bench.flows import QUERY_LOG_FILE, FlowOutcome, FlowSpec, PhaseClock, flow_main
from refill_bench.measure import DBT_ENV

REPORT_FILE = "refill-report.json"


def _step_clock(clock: PhaseClock):
    """An observer of the run (refill.run.observer.RunObserver) that moves the clock to a step's
    phase when its action starts."""
    from refill.run.observer import RunObserver

    class StepClock(RunObserver):
        def step_started(self, step) -> None:
            clock.start(step.phase)

    return StepClock()


def _time_audit_trace(spans: list[tuple[float, float]]) -> None:
    """Time the audit's parameters (the cohort's column lineage: a dbt compile and sqlglot),
    computed once per refill on the first month; part of what the audit costs."""
    from refill.run.phases import cohort

    audit_var = cohort.audit_var

    def timed(ctx):
        fresh = ctx.audit_var is None
        if fresh:
            # the cohort's refill-mode parse, which audit_var asks for first: Phase 1 needs it
            # whatever the audit does (it is cached on ctx), so it is not the audit's cost
            cohort.cohort_manifest(ctx)
        started = time.time()
        try:
            return audit_var(ctx)
        finally:
            if fresh:
                spans.append((started, time.time()))

    cohort.audit_var = timed


def run(spec: FlowSpec) -> FlowOutcome:
    # dbt's imports belong to start-up, as they do for every dbt process of the seed's flow.
    for module in ("dbt.cli.main", "dbt.adapters.clickhouse"):
        importlib.import_module(module)
    from refill.errors import RefillError
    from refill.run.orchestrator import RunOptions, run_refill

    run_dir = spec.run_path
    os.environ.update({**DBT_ENV, "REFILL_QUERY_LOG": str(run_dir / QUERY_LOG_FILE)})
    clock = PhaseClock()
    trace_spans: list[tuple[float, float]] = []
    _time_audit_trace(trace_spans)
    options = RunOptions(window=spec.window, project_dir=Path(spec.project_dir),
                         profiles_dir=Path(spec.profiles_dir), target=spec.target,
                         artifacts_dir=run_dir / "refill", report_path=run_dir / REPORT_FILE,
                         state_dir=run_dir / "state")
    outcome = FlowOutcome(flow="refill", started=time.time(), ended=0)
    clock.start("plan")
    try:
        outcome.exit_code = run_refill(options, observer=_step_clock(clock))
    except RefillError as exc:
        outcome.exit_code = int(exc.exit_code)
        outcome.notes.append(f"refill failed: {exc.message}")
    finally:
        clock.stop()
        outcome.ended = time.time()
        outcome.phases = clock.spans
        outcome.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcome.details["audit_trace_spans"] = trace_spans
    report_path = run_dir / REPORT_FILE
    if report_path.exists():
        report = json.loads(report_path.read_text())
        # the list, not its length: the results name why each parse ran
        outcome.parses, outcome.dbt_invocations = report["parses"], report["dbt_invocations"]
        outcome.details["report"] = {k: report[k] for k in ("steps", "seconds", "exit_code", "error")}
        canary = [step for step in report["steps"] if step["phase"] == "phase1.5"]
        if canary:  # the step fails closed, so a finished step found nothing
            outcome.details["canary_violations"] = 0 if canary[0]["status"] == "ok" else None
    return outcome


def main(argv: Sequence[str]) -> int:
    return flow_main(run, argv)
