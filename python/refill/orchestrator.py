"""``refill run`` / ``refill plan``: resolve the plan (``refill.plan_resolve``), then run its
steps under the target's locks (``refill.target``), journaling each."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refill import faults, render
from refill.errors import CheckFailed, LockHeld, PreflightRefused, RefillError
from refill.journal import DONE, FAILED, REFUSED, Journal
from refill.phases import PHASE_TITLES, all_steps, models_by_phase
from refill.phases.context import RunContext, Step, StepResult
from refill.plan import Window
from refill.plan_describe import describe_plan
from refill.plan_resolve import resolve_plan
from refill.progress import Progress, last_run_durations, say
from refill.session import DbtSession
from refill.target import (holder_info, journal_store, refuse_if_held, refuse_other_pending_runs, resume_command,
                           target_locks)
from refill.warehouse import Warehouse


@dataclass(frozen=True)
class RunOptions:
    window: Window
    project_dir: Path
    profiles_dir: Path | None = None
    target: str | None = None
    threads: int | None = None
    select: str | None = None
    prices_model: str | None = None
    tag: str | None = None
    skip_cohort: bool = False
    skip_lineage: bool = False
    dry_run: bool = False
    resume: bool = False
    report_path: Path | None = None
    quiet: bool = False
    artifacts_dir: Path | None = None
    state_dir: Path | None = None  # journals and the local lock (default <project>/.refill/state)
    command: str = ""
    verbose: bool = False  # the plan lists every model of every phase
    dbt_output: bool = False  # dbt's own lines on stdout even on a terminal (no progress line)
    cli_vars: dict[str, Any] = field(default_factory=dict)  # the user's --vars, under refill's own


@dataclass
class RunReport:
    plan: dict[str, Any]
    steps: list[StepResult] = field(default_factory=list)
    parses: list = field(default_factory=list)  # ParseRecord, in order: why each dbt parse ran
    compiles: list = field(default_factory=list)  # ParseRecord of each dbt compile
    dbt_invocations: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "steps": [vars(s) for s in self.steps],
            "parses": [p.as_dict() for p in self.parses],
            "compiles": [c.as_dict() for c in self.compiles],
            "dbt_invocations": self.dbt_invocations,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
            "error": self.error,
            "audit": self.audit(),
        }

    def audit(self) -> list[dict]:
        """Every cohort month's audit before publish, in run order (see refill.audit)."""
        return [entry for s in self.steps for entry in s.details.get("audit", [])]


def open_session(options: RunOptions) -> DbtSession:
    return DbtSession(
        project_dir=options.project_dir,
        profiles_dir=options.profiles_dir,
        target=options.target,
        threads=options.threads,
        quiet=options.quiet,
        artifacts_dir=options.artifacts_dir,
        cli_vars=options.cli_vars,
    )


def execute(ctx: RunContext, steps: list[Step], report: RunReport, journal: Journal,
            progress: Progress | None = None) -> None:
    progress = progress or Progress(None, live=False)
    expected = models_by_phase(ctx.plan)
    per_phase: dict[str, int] = {}
    for step in steps:
        per_phase[step.phase] = per_phase.get(step.phase, 0) + 1
    phase_started: dict[str, float] = {}
    current = None
    for step in steps:
        if step.phase != current:
            progress.end_phase()
            current = step.phase
            phase_started[current] = time.monotonic()
            say(f"\n=== {PHASE_TITLES[current]} ===")
            progress.start_phase(PHASE_TITLES[current], expected.get(current, []), per_phase[current])
        result = StepResult(step.key, step.phase, step.title)
        report.steps.append(result)
        if journal.is_done(step.key) and not step.repeat_on_resume:
            result.status = "skipped"
            say(f"[{step.key}] done by an earlier attempt of run {journal.run_id}: skipped")
            progress.step_done()
            continue
        started = time.monotonic()
        faults.at_step(step.key, "before")
        try:
            result.details = step.action(ctx) or {}
            result.status = "ok"
        except RefillError as exc:
            result.status = "failed"
            result.details = getattr(exc, "details", None) or result.details  # e.g. the refused month's audit
            raise
        finally:
            result.seconds = time.monotonic() - started
            journal.record_step(step.key, result.status, result.seconds, result.details)
        faults.at_step(step.key, "after")
        say(f"[{step.key}] OK in {result.seconds:.2f}s  (phase elapsed {time.monotonic() - phase_started[current]:.1f}s)")
        progress.step_done()
    progress.end_phase()


def summary_table(report: RunReport) -> str:
    from refill.audit import MonthAudit

    audits = [MonthAudit.from_dict(entry) for entry in report.audit()]
    lines = ["audit before publish (one line per cohort model and month):"] if audits else []
    lines += [f"  {audit.summary_line()}" for audit in audits]
    return "\n".join(lines + [step_table(report)])


def step_table(report: RunReport) -> str:
    width = max([len(s.key) for s in report.steps] + [4])
    lines = [f"{'step'.ljust(width)}  {'status':<7}  {'seconds':>8}"]
    lines += [f"{s.key.ljust(width)}  {s.status:<7}  {s.seconds:>8.2f}" for s in report.steps]
    lines.append(f"{'total'.ljust(width)}  {'':<7}  {report.seconds:>8.2f}   "
                 f"(dbt parses: {len(report.parses)}, compiles: {len(report.compiles)}, "
                 f"dbt invocations: {report.dbt_invocations})")
    return "\n".join(lines)


def open_progress(options: RunOptions, session: DbtSession, log_path: Path) -> Progress:
    """On a terminal (unless ``--dbt-output``): dbt silenced, its lines in ``log_path``, and a
    progress line per phase. Elsewhere dbt prints as always; ``log_path`` gets refill's errors."""
    from refill import progress as terminal

    live = sys.stdout.isatty() and not options.dbt_output
    progress = Progress(log_path, live=live, last_run=last_run_durations(session.project_target_path()))
    if live:
        session.dbt_stdout = False
        session.listeners.append(progress)
        terminal._live = progress
        say(f"dbt's output: {log_path}  (on the terminal instead: --dbt-output)")
    return progress


def next_steps(ctx: RunContext, options: RunOptions, exc: RefillError) -> tuple[str, ...]:
    """What to type after a run stopped with ``exc``: resume once the cause is fixed, or
    restore the backups of the months Phase 1 replaced."""
    from refill.phases.check_failure import rollback_command

    rollback = () if ctx.plan.skip_cohort else (f"restore the backups: {rollback_command(ctx)}",)
    if isinstance(exc, LockHeld):
        return ()
    if isinstance(exc, CheckFailed):
        return rollback
    return (f"fix the cause, then resume: {resume_command(options.command)}", *(f"or {r}" for r in rollback))


def run_refill(options: RunOptions) -> int:
    started = time.monotonic()
    session = open_session(options)
    manifest = session.parse(reason="the plan")
    store = journal_store(options.state_dir, session)
    if not options.dry_run:  # a running refill first, by name: planning reads the warehouse it holds
        refuse_if_held(store.directory)
    # One connection for the plan and every phase, open until the run ends: on the embedded
    # engine chDB stops when its last client closes (each dbt invocation closes its own), and
    # each start loads every table again; held here, it starts once per run.
    warehouse = Warehouse(session.credentials, session.project_dir)
    try:
        return _run(options, session, manifest, store, warehouse, started)
    finally:
        warehouse.close()


def _run(options: RunOptions, session: DbtSession, manifest, store, warehouse: Warehouse, started: float) -> int:
    try:
        plan, graph = resolve_plan(session, manifest, options.window, select=options.select,
                                   prices_model=options.prices_model, tag=options.tag,
                                   skip_cohort=options.skip_cohort, skip_lineage=options.skip_lineage,
                                   warehouse=warehouse)
    except PreflightRefused as refused:
        if options.report_path:  # the problems as data, for whoever reads the report
            Path(options.report_path).write_text(json.dumps({
                "exit_code": int(refused.exit_code), "error": refused.message,
                "problems": [p.as_dict() for p in refused.problems],
                "parses": [p.as_dict() for p in session.stats.parses],
                "compiles": [c.as_dict() for c in session.stats.compiles]}, indent=2, default=str) + "\n")
        raise
    steps = all_steps(plan, graph)
    say(describe_plan(plan, steps, render.model_info(graph), verbose=options.verbose))
    report = RunReport(plan=plan.as_dict() | {"run_id": plan.run_id,
                                              "statements": {step.key: list(step.statements) for step in steps}})

    def write_report() -> None:
        report.seconds = time.monotonic() - started
        report.parses, report.compiles = list(session.stats.parses), list(session.stats.compiles)
        report.dbt_invocations = session.stats.invocations
        if options.report_path:
            Path(options.report_path).write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")

    if plan.refused or options.dry_run:  # `plan --report` and a refused plan leave the plan as data too
        refused = PreflightRefused(list(plan.refused)) if plan.refused else None
        if refused is not None:
            report.exit_code, report.error = int(refused.exit_code), refused.message
        write_report()
        if refused is not None:
            raise refused
        say("\n--dry-run: nothing was run and nothing was written.")
        return 0
    holder = holder_info(plan.run_id, plan.summary())
    ctx = RunContext(plan=plan, session=session, manifest=manifest, graph=graph, state_root=options.state_dir,
                     _warehouse=warehouse)
    progress = open_progress(options, session, store.directory / "logs" / f"{plan.run_id}.log")
    journal = None
    try:
        with target_locks(session, store.directory, holder):
            refuse_other_pending_runs(store, plan.run_id, resume=options.resume)
            ctx.started_at = ctx.warehouse.scalar("SELECT now()")  # the server's clock, for orphan ages
            journal = store.start(plan.run_id, report.plan, options.command)
            execute(ctx, steps, report, journal, progress)
            journal.finish(DONE)
    except RefillError as exc:
        report.exit_code, report.error = int(exc.exit_code), exc.message
        if journal is not None:
            # a refusal comes before the backup and Phase 1: the next attempt starts afresh
            # (Phase 0.5's re-pulls are redone, e.g. after the feed is backfilled)
            journal.finish(REFUSED if isinstance(exc, PreflightRefused) else FAILED, exc.message)
            exc.log_path = progress.log_path
            exc.next_steps = (*exc.next_steps, *next_steps(ctx, options, exc))
            progress.write_log("\n".join([f"error: {exc.message}", *(f"next: {s}" for s in exc.next_steps)]))
        raise
    finally:
        progress.close()
        ctx.close()
        write_report()
        say("\n" + summary_table(report))
    return 0
