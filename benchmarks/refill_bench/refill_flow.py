"""refill's recovery flow, as its operator runs it: ``refill run`` in one process.

The flow is ``refill.orchestrator.run_refill`` — what ``python -m refill run --from-date
… --report …`` calls — in a fresh process. The only addition is a clock around each
step's action, so the harness can split the wall time by phase.

Until the package's preflight and canary macros (``refill.kill_failed_mutations``,
``refill.backup_partitions``, ``refill.canary_query``) are on this branch, the steps that
call them are left out and the run says so in its notes; everything else runs as shipped.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import resource
import time
from pathlib import Path
from typing import Sequence

from refill_bench.flows import QUERY_LOG_FILE, RESULT_FILE, FlowOutcome, FlowSpec, PhaseClock
from refill_bench.measure import DBT_ENV
from refill_bench.project import REPO_ROOT

REPORT_FILE = "refill-report.json"
# Package macros the full flow calls, and the steps that call them.
PACKAGE_MACROS = {
    "kill_failed_mutations": ("preflight:kill-failed-mutations",),
    "backup_partitions": ("preflight:backup",),
    "canary_query": ("phase1.5",),
}


def missing_package_macros(repo_root: Path = REPO_ROOT) -> list[str]:
    text = "\n".join(p.read_text() for p in sorted((repo_root / "macros").rglob("*.sql")))
    return [name for name in PACKAGE_MACROS if not re.search(r"{%-?\s*macro\s+" + name + r"\s*\(", text)]


def _instrument(clock: PhaseClock, missing: list[str]) -> None:
    """Time each step; leave out the steps whose package macros are missing."""
    from refill import orchestrator
    from refill.phases import canary

    skipped = {key for name in missing for key in PACKAGE_MACROS[name]}
    all_steps = orchestrator.all_steps

    def timed(step):
        def action(ctx):
            clock.start(step.phase)
            return step.action(ctx)

        return dataclasses.replace(step, action=action)

    def steps(plan, graph):
        return [timed(step) for step in all_steps(plan, graph) if step.key not in skipped]

    orchestrator.all_steps = steps
    if "canary_query" in missing:
        canary.scan_all = lambda ctx: []  # Phase 4's canary re-scan needs the same macro


def _declared(cls, **options) -> dict:
    """The options ``cls`` knows. A run's journal and lock must be its own (a journal left by
    an earlier repeat would make this one resume a finished run), where refill keeps them."""
    fields = getattr(cls, "__dataclass_fields__", {})
    return {name: value for name, value in options.items() if name in fields}


def run(spec: FlowSpec) -> FlowOutcome:
    # dbt's imports belong to start-up, as they do for every dbt process of the seed's flow.
    for module in ("dbt.cli.main", "dbt.adapters.clickhouse"):
        importlib.import_module(module)
    from refill.errors import RefillError
    from refill.orchestrator import RunOptions, run_refill

    run_dir = spec.run_path
    os.environ.update({**DBT_ENV, "REFILL_QUERY_LOG": str(run_dir / QUERY_LOG_FILE)})
    missing = missing_package_macros()
    clock = PhaseClock()
    _instrument(clock, missing)
    options = RunOptions(window=spec.window, project_dir=Path(spec.project_dir),
                         profiles_dir=Path(spec.profiles_dir), target=spec.target,
                         artifacts_dir=run_dir / "refill", report_path=run_dir / REPORT_FILE,
                         **_declared(RunOptions, state_dir=run_dir / "state"))
    outcome = FlowOutcome(flow="refill", started=time.time(), ended=0)
    if missing:
        outcome.notes.append("package macros not on this branch: " + ", ".join(missing)
                             + "; their steps (preflight kill/backup, canary) were left out")
    clock.start("plan")
    try:
        outcome.exit_code = run_refill(options)
    except RefillError as exc:
        outcome.exit_code = int(exc.exit_code)
        outcome.notes.append(f"refill failed: {exc.message}")
    finally:
        clock.stop()
        outcome.ended = time.time()
        outcome.phases = clock.spans
        outcome.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report_path = run_dir / REPORT_FILE
    if report_path.exists():
        report = json.loads(report_path.read_text())
        outcome.parses, outcome.dbt_invocations = report["parses"], report["dbt_invocations"]
        outcome.details["report"] = {k: report[k] for k in ("steps", "seconds", "exit_code", "error")}
        canary = [step for step in report["steps"] if step["phase"] == "phase1.5"]
        if canary:  # the step fails closed, so a finished step found nothing
            outcome.details["canary_violations"] = 0 if canary[0]["status"] == "ok" else None
    return outcome


def main(argv: Sequence[str]) -> int:
    spec = FlowSpec.load(Path(argv[0]))
    outcome = run(spec)
    outcome.save(spec.run_path / RESULT_FILE)
    return outcome.exit_code
