"""``refill run`` / ``refill plan``: resolve the plan (``refill.run.plan_resolve``), then run its
steps under the target's locks (``refill.run.target``), journaling each."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from refill import render
from refill.dbt.session import DbtSession
from refill.engine import faults
from refill.errors import CheckFailed, LockHeld, PreflightRefused, RefillError
from refill.lineage.audit import MonthAudit
from refill.run import phases
from refill.run.journal import DONE, FAILED, REFUSED, Journal
from refill.run.observer import Observers, RunObserver, TerminalObserver
from refill.run.phases import preflight
from refill.run.phases.context import Phase, RunContext, Step, StepResult
from refill.run.plan import Window
from refill.run.plan_describe import describe_plan
from refill.run.plan_resolve import resolve_plan
from refill.run.progress import Progress, last_run_durations, say
from refill.run.target import (holder_info, journal_store, refuse_if_held, refuse_other_pending_runs, resume_command,
                           target_locks)
from refill.engine.warehouse import Warehouse


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
        """Every cohort month's audit before publish, in run order (see refill.lineage.audit)."""
        return [entry for s in self.steps for entry in s.details.get("audit", [])]

    def month_audits(self) -> list[MonthAudit]:
        return [MonthAudit.from_dict(entry) for entry in self.audit()]


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


def execute(ctx: RunContext, planned: Sequence[tuple[Phase, Sequence[Step]]], report: RunReport, journal: Journal,
            observer: RunObserver | None = None) -> None:
    """Run each phase's steps in order (``refill.run.phases.planned``), journaling each and telling
    ``observer``; a step the journal has as done is skipped unless it repeats on resume.
    A step's RefillError is journaled (status failed) and raised."""
    observer = observer or Observers()
    for phase, steps in planned:
        observer.phase_started(phase, steps, phase.models(ctx.plan))
        for step in steps:
            result = StepResult(step.key, step.phase, step.title)
            report.steps.append(result)
            if journal.is_done(step.key) and not step.repeat_on_resume:
                result.status = "skipped"
                observer.step_finished(step, result)
                continue
            observer.step_started(step)
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
            observer.step_finished(step, result)
        observer.phase_finished(phase)


def open_progress(options: RunOptions, session: DbtSession, log_path: Path) -> Progress:
    """On a terminal (unless ``--dbt-output``): dbt silenced, its lines in ``log_path``, and a
    progress line per phase. Elsewhere dbt prints as always; ``log_path`` gets refill's errors."""
    from refill.run import progress as terminal

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
    from refill.run.phases.check_failure import rollback_command

    rollback = () if ctx.plan.skip_cohort else (f"restore the backups: {rollback_command(ctx)}",)
    if isinstance(exc, LockHeld):
        return ()
    if isinstance(exc, CheckFailed):
        return rollback
    return (f"fix the cause, then resume: {resume_command(options.command)}", *(f"or {r}" for r in rollback))


def ended_status(exc: RefillError, journal: Journal) -> str:
    """The journal's status once ``exc`` stopped the run. REFUSED for a preflight refusal
    before the backup: the cohort is as it was, so the next attempt starts afresh (Phase 0.5's
    re-pulls are redone, e.g. after the feed is backfilled). Else FAILED, pending until resumed
    or rolled back, a resumed run refused after its backup included: its backups and the
    months Phase 1 replaced stay the run's to finish or restore."""
    if isinstance(exc, PreflightRefused) and not journal.is_done(preflight.BACKUP_KEY):
        return REFUSED
    return FAILED


def run_refill(options: RunOptions, observer: RunObserver | None = None) -> int:
    """``refill run`` (``refill plan`` with ``options.dry_run``): the exit code, 0; a
    RefillError with its own. ``observer`` is told of each phase and step besides the
    terminal (a benchmark's clock)."""
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
        return _run(options, session, manifest, store, warehouse, started, observer)
    finally:
        warehouse.close()


def _run(options: RunOptions, session: DbtSession, manifest, store, warehouse: Warehouse, started: float,
         observer: RunObserver | None) -> int:
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
    planned = phases.planned(plan, graph)
    steps = [step for _, phase_steps in planned for step in phase_steps]
    say(describe_plan(plan, steps, render.model_info(graph), verbose=options.verbose))
    report = RunReport(plan=plan.as_dict() | {"run_id": plan.run_id,
                                              "statements": {step.key: list(step.statements) for step in steps}})

    def write_report() -> None:
        report.seconds = time.monotonic() - started
        report.parses, report.compiles = list(session.stats.parses), list(session.stats.compiles)
        report.dbt_invocations = session.stats.invocations
        if options.report_path:
            Path(options.report_path).write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")

    if options.dry_run:  # `plan --report` leaves the plan as data, a refused one too
        # (a run refuses in its first step, preflight:refusals, so its journal has the refusal)
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
            terminal = TerminalObserver(progress, plan.run_id)
            execute(ctx, planned, report, journal, terminal if observer is None else Observers(terminal, observer))
            journal.finish(DONE)
    except RefillError as exc:
        report.exit_code, report.error = int(exc.exit_code), exc.message
        if journal is not None:
            journal.finish(ended_status(exc, journal), exc.message)
            exc.log_path = progress.log_path
            exc.next_steps = (*exc.next_steps, *next_steps(ctx, options, exc))
            progress.write_log("\n".join([f"error: {exc.message}", *(f"next: {s}" for s in exc.next_steps)]))
        raise
    finally:
        progress.close()
        ctx.close()
        write_report()
        say("\n" + render.run_summary(report))
    return 0
