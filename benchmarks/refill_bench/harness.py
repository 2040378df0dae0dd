"""Runs scenarios: generate the project, build the incident once, then for every repeat copy
the incident's data directory and recover it with each flow, measuring as it goes.

Every heavy step is a child process (``python -m refill_bench …``); this process never
opens the engine, so a flow's subprocesses always find the data directory free.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from refill_bench import project as gen
from refill_bench.config import Scenario
from refill_bench.flows import QUERY_LOG_FILE, RESULT_FILE, TRANSCRIPT_FILE, FlowOutcome, FlowSpec, PhaseSpan
from refill_bench.incident import FINGERPRINTS_FILE
from refill_bench.measure import audit_spans, is_audit, read_dbt_logs, read_query_log, union_length
from refill_bench.plan_speed import RESULT_FILE as PLAN_SPEED_FILE

BENCH_DIR = Path(__file__).resolve().parents[1]
FLOWS = ("baseline", "refill", "rebuild")  # child commands that are flows: a failure is measured, not raised
# An open that takes longer started the engine (it loads every table); on a running engine
# an open takes a few milliseconds.
COLD_START_SECONDS = 0.5
# Bump when the way incidents are built changes, so cached ones are not reused.
BUILD_VERSION = "2"


@dataclass
class Prepared:
    scenario: Scenario
    root: Path
    project_dir: Path
    incident_dir: Path
    generated: gen.GeneratedProject
    facts: dict
    build_seconds: float | None  # None when an earlier build was reused


@dataclass
class FlowRun:
    """One measured recovery."""

    flow: str
    repeat: int
    exit_code: int
    wall_seconds: float
    phases: dict[str, float]
    phase_busy: dict[str, float]  # engine-busy seconds inside each phase
    dbt_invocations: int
    parses: int
    full_parses: int
    cohort_executions: int
    model_executions: int
    optimize_statements: int
    statements: int
    query_seconds: float
    busy_seconds: float
    overhead_seconds: float
    engine_query_seconds: float
    engine_starts: int  # cold: the engine loaded the warehouse (an open on a running engine is not one)
    engine_start_seconds: float  # every client open, cold or not
    rows_inserted: int
    rows_merged: int
    peak_rss_mb: float
    differing_rows: int
    models_differing: dict[str, int]
    supply_vs_truth: dict[str, float | None]
    stale_unpriced_rows: int
    load_before: float
    # the audit before publish (refill only): wall during which an audit ran (in refill_swap,
    # and refill reading the verdicts back), Σ of its statements, and the orchestrator's
    # column-lineage trace that parameterizes it (a dbt compile, once per refill)
    audit_seconds: float = 0.0
    audit_statement_seconds: float = 0.0
    audit_trace_seconds: float = 0.0
    parse_reasons: list[dict] = field(default_factory=list)  # when refill's report names them
    notes: list[str] = field(default_factory=list)
    canary_violations: int | None = None
    calls: list[dict] = field(default_factory=list)  # the seed's flow: one entry per dbt command


def child(command: str, *args: str, log: Path | None = None) -> float:
    """Run ``python -m refill_bench <command>``; returns its wall time; raises on failure."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with open(log or os.devnull, "a") as out:
        code = subprocess.run([sys.executable, "-m", "refill_bench", command, *args], cwd=BENCH_DIR, env=env,
                              stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - started
    if code != 0 and command not in FLOWS:
        raise RuntimeError(f"refill_bench {command} failed (exit {code}); see {log}")
    return seconds


def prepare(scenario: Scenario, work_dir: Path, rebuild: bool = False) -> Prepared:
    """The generated project, the incident's data directory and the truth's files (built once
    per identity; a directory whose build did not finish is rebuilt)."""
    generated = gen.generate(scenario.project)
    root = Path(work_dir).resolve() / f"{scenario.name}-{_identity(scenario, generated)}"
    incident_dir, truth_chdb = root / "incident" / "chdb", root / "incident" / "truth-chdb"
    project_dir = gen.write_project(generated, root / "project", incident_dir, truth_chdb, scenario.threads)
    facts_file = root / "incident" / "facts.json"
    build_seconds = None
    if rebuild or not facts_file.exists() or not (root / "incident" / "truth" / FINGERPRINTS_FILE).exists():
        shutil.rmtree(root / "incident", ignore_errors=True)
        (root / "incident").mkdir(parents=True)
        scenario_file, models_file = root / "scenario.json", root / "incident" / "models.json"
        scenario_file.write_text(json.dumps(scenario.as_dict(), indent=2))
        models_file.write_text(json.dumps([m.name for m in generated.models]))
        print(f"[{scenario.name}] building the incident and its truth ({scenario.project.models} models, "
              f"scale {scenario.data.scale}) …", flush=True)
        log, work = root / "incident" / "build.log", str(root / "incident" / "work")
        build_seconds = child("truth", str(scenario_file), str(project_dir), work, str(root / "incident" / "truth"),
                              str(models_file), log=log)
        shutil.rmtree(truth_chdb, ignore_errors=True)  # the truth lives on as files
        build_seconds += child("incident", str(scenario_file), str(project_dir), work, str(facts_file), log=log)
    return Prepared(scenario, root, project_dir, incident_dir, generated, json.loads(facts_file.read_text()),
                    build_seconds)


def _identity(scenario: Scenario, generated: gen.GeneratedProject) -> str:
    """Same scenario and same model SQL: the incident on disk can be reused."""
    text = BUILD_VERSION + scenario.incident_key() + "".join(m.sql for m in generated.models)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def run_flow(prepared: Prepared, flow: str, repeat: int, keep_copy: bool = False) -> FlowRun:
    scenario = prepared.scenario
    run_dir = prepared.root / "runs" / f"{flow}-{repeat}"
    shutil.rmtree(run_dir, ignore_errors=True)
    data_dir = run_dir / "chdb"
    run_dir.mkdir(parents=True)
    # The same machine state for every flow: a copy of the closed incident directory.
    shutil.copytree(prepared.incident_dir, data_dir, symlinks=True)  # Atomic databases link metadata relatively
    profiles_dir = run_dir / "profiles"
    profiles_dir.mkdir()
    (profiles_dir / "profiles.yml").write_text(_profiles_for(prepared.project_dir, data_dir))
    spec = FlowSpec(flow=flow, project_dir=str(prepared.project_dir), profiles_dir=str(profiles_dir),
                    target=gen.TARGET, schema=gen.SCHEMA, gap=scenario.incident.gap.isoformat(),
                    today=scenario.incident.today.isoformat(), run_dir=str(run_dir))
    spec_file = run_dir / "spec.json"
    spec.save(spec_file)
    load = os.getloadavg()[0]
    spawned = time.time()
    wall = child(flow, str(spec_file), log=run_dir / TRANSCRIPT_FILE)
    outcome = FlowOutcome.load(run_dir / RESULT_FILE)
    outcome.phases.insert(0, _startup_span(spawned, outcome))
    correctness = _check(prepared, run_dir, profiles_dir)
    if not keep_copy:
        shutil.rmtree(data_dir, ignore_errors=True)
    return _measure(prepared, flow, repeat, wall, outcome, run_dir, correctness, load)


def _startup_span(spawned: float, outcome: FlowOutcome) -> PhaseSpan:
    first = outcome.phases[0].start if outcome.phases else outcome.started
    return PhaseSpan("startup", spawned, first)


def _profiles_for(project_dir: Path, data_dir: Path) -> str:
    profiles = yaml.safe_load((project_dir / "profiles.yml").read_text())
    profiles[gen.PROJECT_NAME]["outputs"][gen.TARGET]["chdb_path"] = str(data_dir)
    return yaml.safe_dump(profiles, sort_keys=False)


def _check(prepared: Prepared, run_dir: Path, profiles_dir: Path) -> dict:
    """Correctness in its own process, against the flow's copy, after the flow has exited."""
    request = run_dir / "correctness-request.json"
    names = [m.name for m in prepared.generated.models]
    request.write_text(json.dumps({
        "project_dir": str(prepared.project_dir), "profiles_dir": str(profiles_dir), "models": names,
        "truth_dir": str(prepared.root / "incident" / "truth"),
        "cohort": prepared.generated.cohort,
        "months": [m.isoformat() for m in prepared.scenario.incident.window.months],
        "gap": prepared.scenario.incident.gap.isoformat()}))
    result = run_dir / "correctness.json"
    child("correctness", str(request), str(result), log=run_dir / "correctness.log")
    return json.loads(result.read_text())


def _measure(prepared: Prepared, flow: str, repeat: int, wall: float, outcome: FlowOutcome, run_dir: Path,
             correctness: dict, load: float) -> FlowRun:
    queries = read_query_log(run_dir / QUERY_LOG_FILE)
    dbt_log = read_dbt_logs(run_dir)
    busy = queries.busy_seconds()
    kinds = queries.kinds()
    trace = sum(end - start for start, end in outcome.details.get("audit_trace_spans", []))
    parses = outcome.parses
    reasons = []
    if isinstance(parses, list):  # refill's report lists its parses with their reasons
        reasons, parses = parses, len(parses)
    return FlowRun(
        flow=flow,
        repeat=repeat,
        exit_code=outcome.exit_code,
        wall_seconds=wall,
        phases={span.phase: span.seconds for span in outcome.phases},
        phase_busy={span.phase: queries.busy_seconds((span.start, span.end)) for span in outcome.phases},
        dbt_invocations=outcome.dbt_invocations or dbt_log.invocations,
        parses=parses if parses is not None else dbt_log.parses,
        full_parses=dbt_log.full_parses,
        cohort_executions=dbt_log.executions_of(prepared.generated.cohort),
        model_executions=sum(dbt_log.executions.values()),
        optimize_statements=kinds.get("OPTIMIZE", 0),
        statements=len(queries.statements),
        query_seconds=queries.query_seconds(),
        busy_seconds=busy,
        overhead_seconds=wall - busy,
        engine_query_seconds=queries.engine_delta("QueryTimeMicroseconds") / 1e6,
        # the engine's own word where the log has it; else a slow open is taken for a start
        engine_starts=sum(1 for seconds, cold in zip(queries.engine_opens, queries.engine_cold)
                          if (cold if cold is not None else seconds > COLD_START_SECONDS)),
        engine_start_seconds=sum(queries.engine_opens),
        rows_inserted=queries.engine_delta("InsertedRows"),
        rows_merged=queries.engine_delta("MergedRows"),
        peak_rss_mb=outcome.peak_rss_kb / 1024,
        differing_rows=correctness["differing_rows"],
        models_differing=correctness["models_differing"],
        supply_vs_truth=correctness.get("supply_vs_truth", {}),
        stale_unpriced_rows=correctness["stale_unpriced_rows"],
        load_before=load,
        audit_seconds=union_length(audit_spans(queries.statements)) + trace,
        audit_statement_seconds=sum(st.seconds for st in queries.statements if is_audit(st)),
        audit_trace_seconds=trace,
        parse_reasons=reasons,
        notes=outcome.notes,
        canary_violations=outcome.details.get("canary_violations"),
        calls=outcome.details.get("calls", []),
    )


@dataclass
class ScenarioResult:
    scenario: dict
    incident: dict
    build_seconds: float | None
    runs: list[FlowRun]
    plan_speed: dict | None = None

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "incident": self.incident, "build_seconds": self.build_seconds,
                "runs": [asdict(r) for r in self.runs], "plan_speed": self.plan_speed}


def run_scenario(scenario: Scenario, work_dir: Path, *, rebuild: bool = False, keep_copies: bool = False) -> ScenarioResult:
    prepared = prepare(scenario, work_dir, rebuild)
    runs = []
    for repeat in range(scenario.repeats):
        # Alternate the order so neither flow always runs on a warmer machine.
        for flow in scenario.flows if repeat % 2 == 0 else tuple(reversed(scenario.flows)):
            print(f"[{scenario.name}] {flow} #{repeat + 1}/{scenario.repeats} …", flush=True)
            result = run_flow(prepared, flow, repeat, keep_copies)
            runs.append(result)
            print(f"[{scenario.name}] {flow} #{repeat + 1}: {result.wall_seconds:.1f}s wall, "
                  f"{result.dbt_invocations} dbt invocations, {result.differing_rows} differing rows"
                  + (f", exit {result.exit_code}" if result.exit_code else ""), flush=True)
    speed = None
    if scenario.plan_speed:
        print(f"[{scenario.name}] refill plan and dbt ls, cold then warm …", flush=True)
        speed = measure_plan_speed(prepared)
        if speed:
            print(f"[{scenario.name}] plan warm {speed['plan'][-1]:.1f}s (exit {speed['plan_exit'][-1]}), "
                  f"dbt ls warm {speed['ls'][-1]:.1f}s", flush=True)
    return ScenarioResult(scenario.as_dict(), prepared.facts, prepared.build_seconds, runs, speed)


def measure_plan_speed(prepared: Prepared) -> dict:
    """``refill plan`` and ``dbt ls`` of the same selection, each twice (cold, then warm), on a copy
    of the incident; see ``plan_speed``."""
    scenario = prepared.scenario
    run_dir = prepared.root / "runs" / "plan-speed"
    shutil.rmtree(run_dir, ignore_errors=True)
    data_dir = run_dir / "chdb"
    run_dir.mkdir(parents=True)
    shutil.copytree(prepared.incident_dir, data_dir, symlinks=True)
    profiles_dir = run_dir / "profiles"
    profiles_dir.mkdir()
    (profiles_dir / "profiles.yml").write_text(_profiles_for(prepared.project_dir, data_dir))
    spec = FlowSpec(flow="plan-speed", project_dir=str(prepared.project_dir), profiles_dir=str(profiles_dir),
                    target=gen.TARGET, schema=gen.SCHEMA, gap=scenario.incident.gap.isoformat(),
                    today=scenario.incident.today.isoformat(), run_dir=str(run_dir))
    spec.save(run_dir / "spec.json")
    try:
        child("plan-speed", str(run_dir / "spec.json"), log=run_dir / "plan-speed.transcript")
    except RuntimeError as exc:  # measured anyway: the exits are in the result, the cause in the logs
        print(f"[{scenario.name}] {exc}", flush=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    result_file = run_dir / PLAN_SPEED_FILE
    return json.loads(result_file.read_text()) if result_file.exists() else None
