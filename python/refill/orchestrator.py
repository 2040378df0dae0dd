"""``refill run`` / ``refill plan``: resolve the plan from the dbt graph, then run its steps."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refill import faults, render
from refill.errors import BadInput, CheckFailed, LockHeld, PreflightProblem, PreflightRefused, RefillError, StepFailed
from refill.graph import UNMATERIALIZED, ProjectGraph, by_database
from refill.journal import DONE, FAILED, REFUSED, Journal, JournalStore, target_state_dir
from refill.lineage_scan import key_columns
from refill.lock import LocalLock, TargetLocks, holder_info
from refill.lint import month_dependent_config
from refill.phases import PHASE_TITLES, all_steps, lineage, models_by_phase, preflight
from refill.phases import cohort as cohort_phase
from refill.phases.context import RefillPlan, RunContext, Step, StepResult
from refill.plan import Window
from refill.progress import Progress, last_run_durations, say
from refill.repull import partition_budget
from refill.session import DbtSession
from refill.settings import resolve_settings
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


def build_plan(options: RunOptions, session: DbtSession, manifest) -> tuple[RefillPlan, ProjectGraph]:
    """Resolve every phase's models from one parsed manifest; refuse what cannot work.

    Reads the warehouse (partition keys, which tables hold rows) and compiles the
    incremental consumers twice, but writes nothing: ``plan`` runs this too.
    """
    settings = resolve_settings(session.project_dir, prices_model=options.prices_model, tag=options.tag,
                                cli_vars=session.cli_vars)
    graph = ProjectGraph.from_manifest(manifest)
    prices = graph.by_name(settings.prices_model)
    if prices is None:
        raise BadInput(f"prices model '{settings.prices_model}' is not a model of this project (--prices-model)")
    unknown = [name for name in settings.full_refresh if graph.by_name(name) is None]
    if unknown:
        raise BadInput(f"var refill_full_refresh names {', '.join(unknown)}, not a model of this project")
    cohort = graph.tagged(settings.tag)
    if not cohort and not options.skip_cohort:
        raise BadInput(f"no model is tagged '{settings.tag}': the cohort is empty (--tag, or --skip-balances-rewrite)")
    # what Phase 1 (and the coverage check) reads is re-pulled before it: Phase 0.5
    input_ids = graph.cohort_inputs(prices.unique_id, set() if options.skip_cohort else cohort)
    problems: list[PreflightProblem] = []  # one pass: every problem of every check, refused together
    if not options.skip_cohort:
        problems += preflight.check_graph(graph, cohort, settings.prices_model, repaired_first=input_ids)
        problems += preflight.check_contract(manifest, settings, session.project_dir, set(graph.names(cohort)))
        for database, tables in by_database(graph.relations(cohort).values()).items():
            problems += preflight.check_partitioning(session, manifest, database, set(tables))
    schema_changes: tuple[str, ...] = ()
    month_dependent: tuple[tuple[str, str], ...] = ()
    new_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if not options.skip_cohort:
        month_dependent = tuple((d.model, d.reason) for d in month_dependent_config(
            manifest, tag=settings.tag, select=set(graph.names(cohort)), project_dir=session.project_dir))
        # with one parse the audit's compile is this one (same manifest, same vars)
        audit_names = () if month_dependent else tuple(cohort_phase.audit_models(graph, cohort, prices.unique_id))
        # last: it compiles the cohort, which the problems above may break. It still runs
        # when they exist: each attempt on a large project costs a parse, so one refusal
        # names every class of problem (a compile failure then is one problem more).
        try:
            schema_changes, new_columns, drift = preflight.check_schema_drift(
                session, manifest, graph, cohort, options.window.first_month, also=audit_names)
        except (BadInput, StepFailed) as exc:
            if not problems:
                raise
            drift = [PreflightProblem("schema-drift", None, "not checked: the cohort does not compile "
                                      f"({exc.message[:200]}); fix the problems above and plan again")]
        problems += drift
    if problems:
        raise PreflightRefused(problems)
    selector = ("--select", options.select or f"{settings.prices_model}+", "--exclude", f"tag:{settings.tag}")
    lineage_ids = set()
    if not options.skip_lineage:
        names = session.select(selector, manifest=manifest)
        if options.select and not names:
            raise BadInput(f"--select {options.select} matches no model outside tag:{settings.tag}")
        lineage_ids = {graph.by_name(n).unique_id for n in names if graph.by_name(n)} - input_ids
    downstream_ids = {uid for uid in graph.descendants(cohort) - cohort if graph.nodes[uid].resource_type == "model"}
    downstream_ids -= lineage_ids | input_ids
    budget = partition_budget(lineage.partition_limit(session.credentials))
    with Warehouse(session.credentials, session.project_dir) as warehouse:
        how = lineage.plan_models(graph, input_ids | lineage_ids | downstream_ids, options.window, budget=budget,
                                  warehouse=warehouse, session=session, manifest=manifest,
                                  full_refresh=settings.full_refresh, cohort=set() if options.skip_cohort else cohort)
    unique_key = manifest.nodes[prices.unique_id].config.get("unique_key") or ()
    mv_ids = [uid for uid in graph.topological(input_ids | lineage_ids | downstream_ids)
              if any(spec.mv_rewrite for spec in how.specs.get(graph.nodes[uid].name, ()))]
    plan = RefillPlan(
        window=options.window,
        settings=settings,
        project_dir=str(session.project_dir),
        schema=session.schema,
        target=session.target_name,
        cohort_layers=tuple(tuple(graph.names(layer)) for layer in graph.cohort_layers(cohort).layers),
        lineage_selector=selector,
        lineage_models=tuple(graph.names(graph.topological(lineage_ids))),
        downstream_models=tuple(graph.names(graph.topological(downstream_ids))),
        skip_cohort=options.skip_cohort,
        skip_lineage=options.skip_lineage,
        input_models=tuple(graph.names(graph.topological(input_ids))),
        input_runs=lineage.phase_runs(graph, input_ids, how.specs),
        lineage_runs=lineage.phase_runs(graph, lineage_ids, how.specs),
        downstream_runs=lineage.phase_runs(graph, downstream_ids, how.specs),
        partition_budget=budget,
        mechanisms=tuple(sorted(how.mechanisms.items())),
        mv_targets=tuple(graph.names(mv_ids)),
        mv_months=lineage.mv_months(options.window),
        # a target fed only by re-pulled models is not backed up: rollback leaves those repaired
        mv_backups=tuple(graph.names(uid for uid in mv_ids if not options.skip_cohort and graph.ancestors(uid) & cohort)),
        refused=tuple(how.refused),
        prices_relation=None if prices.materialized == "ephemeral" else (prices.relation.database, prices.relation.identifier),
        prices_upstream=tuple(sorted(graph.nodes[uid].name for uid in graph.ancestors(prices.unique_id)
                                     if graph.nodes[uid].resource_type == "model"
                                     and graph.nodes[uid].materialized not in UNMATERIALIZED)),
        prices_unique_key=tuple(c for key in ([unique_key] if isinstance(unique_key, str) else unique_key)
                                for c in key_columns(f"({key})")),
        relations=graph.relations({prices.unique_id, *cohort, *input_ids, *lineage_ids, *downstream_ids}),
        schema_changes=schema_changes,
        new_columns=new_columns,
        month_dependent=month_dependent,
    )
    return plan, graph


def describe_plan(plan: RefillPlan, steps: list[Step], info: dict | None = None, *, verbose: bool = False) -> str:
    """The plan as the terminal shows it: per phase every model when the phase is small or
    ``verbose``, else counts by materialization and folder plus the models that need
    attention (``info``: ``render.model_info(graph)``); no line over ``render.LINE_LIMIT``."""
    w = plan.window
    how = dict(plan.mechanisms)
    info = info or {}

    def models(names) -> list[str]:
        return render.phase_models(names, info, how, verbose=verbose)

    lines = [
        f"refill plan {plan.run_id}  (target {plan.target}, schema {plan.schema})",
        f"  from-date           : {w.from_date}  (gap = {(w.today - w.from_date).days} d, +{w.buffer_days} buffer)",
        f"  today               : {w.today}",
        f"  price_lookback_days : {w.lookback_days}",
        *render.wrap("  affected months     : ", [m.isoformat() for m in w.months]),
        f"  prices model        : {plan.settings.prices_model}",
        f"  price entity        : {preflight.describe_entity(plan)}",
        f"  phase 1 selector    : tag:{plan.settings.tag}" + ("  (skipped)" if plan.skip_cohort else ""),
        render.abbreviate_statement(f"  phase 2 selector    : {' '.join(plan.lineage_selector)}"
                                    + ("  (skipped)" if plan.skip_lineage else "")),
        f"  partitions per run  : {plan.partition_budget or 'no limit'}  (max_partitions_per_insert_block, with a margin)",
        "  dbt parses          : "
        + (f"2 (Phase 1 parses again with the month vars: {len(plan.month_dependent)} cohort model(s)' config "
           "depends on them, see --report)" if plan.month_dependent else
           "1 (no cohort model's parse-time config depends on the month vars: the plan's manifest serves Phase 1)"),
    ]
    if plan.input_models:
        lines.append(f"\nPhase 0.5 — re-pull what the cohort reads, before Phase 1 and the price-coverage check "
                     f"({len(plan.input_models)} models, run order)")
        lines += models(plan.input_models)
    if not plan.skip_cohort:
        lines.append(f"\nPhase 1 — cohort rewrite, once per model per month ({len(plan.cohort)} models, "
                     f"{len(plan.cohort_layers)} layers; each layer reads only final months of the ones above)")
        for i, layer in enumerate(plan.cohort_layers, 1):
            lines += render.wrap(f"  layer {i}: ", list(layer))
        lines += [render.clip(f"  parses again for {model}: {why}") for model, why in plan.month_dependent]
    if not plan.skip_lineage:
        lines.append(f"\nPhase 2 — lineage re-pull, run order ({len(plan.lineage_models)} models)")
        lines += models(plan.lineage_models)
    lines.append(f"\nPhase 3 — downstream rebuild, run order ({len(plan.downstream_models)} models)")
    lines += models(plan.downstream_models) or ["  (none: Phase 2 rebuilt every descendant)"]
    if plan.refused:
        lines.append(f"\nCannot repair — the run is refused before anything is written ({len(plan.refused)} models)")
        lines += [render.clip(f"  {p.model}: {p.message}") for p in plan.refused]
    lines.append("\nStatements" + ("" if verbose else " (models after --select abbreviated; all: --verbose)"))
    lines += render.statements(steps, verbose=verbose)
    return "\n".join(render.clip(line) for block in lines for line in block.split("\n"))


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


def state_dir(root: Path | None, session: DbtSession) -> Path:
    """The target's journals and local lock (default root: <project>/.refill/state)."""
    return target_state_dir(root or session.project_dir / ".refill" / "state",
                            session.profile.profile_name, session.target_name, session.credentials)


def target_locks(session: DbtSession, directory: Path, holder: dict) -> TargetLocks:
    return TargetLocks(directory, holder, lambda: Warehouse(session.credentials, session.project_dir),
                       session.schema)


def refuse_other_pending_runs(store: JournalStore, run_id: str, *, resume: bool) -> None:
    """A refill that stopped half-way owns its months until it is finished or rolled back."""
    others = [j for j in store.pending() if j.run_id != run_id]
    if others:
        other = others[0]
        raise LockHeld(
            f"run {other.run_id} ({other.data.get('error') or other.status}) has not finished on this target; "
            "finish it or roll it back first (the commands below)",
            next_steps=(f"resume it: {resume_command(other.data.get('command'))}",
                        f"or restore its backups: python -m refill rollback --run {other.run_id}"))
    if resume and store.load(run_id) is None:
        raise BadInput(f"--resume: no interrupted run of this plan ({run_id}) to resume")


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


def resume_command(command: str | None) -> str:
    """The command that resumes a run started with ``command`` (as its journal records it)."""
    command = command or "the same command"
    return command if "--resume" in command.split() else f"{command} --resume"


def run_refill(options: RunOptions) -> int:
    started = time.monotonic()
    session = open_session(options)
    manifest = session.parse(reason="the plan")
    if not options.dry_run:  # a running refill first, by name: planning reads the warehouse it holds
        LocalLock(state_dir(options.state_dir, session) / "lock", {}).refuse_if_held()
    try:
        plan, graph = build_plan(options, session, manifest)
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
    store = JournalStore(state_dir(options.state_dir, session))
    holder = holder_info(plan.run_id, plan.summary())
    ctx = RunContext(plan=plan, session=session, manifest=manifest, graph=graph, state_root=options.state_dir)
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
