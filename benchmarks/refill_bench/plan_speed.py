"""``refill plan`` against a warm ``dbt ls`` of the same selection, each in a fresh process.

Both are run twice against the same target path; the second run is the warm one (dbt's
partial-parse state, and refill's own parse cache, left by the first). The selection is the
prices model's lineage, ``<prices>+``: what the plan resolves (the cohort is in it).

The plan reads the warehouse (partition keys, rows), so on the embedded engine its wall
includes starting chDB; the statement log gives that start-up, which a process connecting to a
ClickHouse server does not pay, and ``dbt ls`` never connects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from refill_bench.flows import FlowSpec
from refill_bench.measure import DBT_ENV, read_dbt_logs, read_query_log

RESULT_FILE = "plan-speed.json"


def _timed(argv: list[str], env: dict, transcript: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    with transcript.open("a") as out:
        out.write(f"$ {' '.join(argv[2:])}\n{result.stdout}{result.stderr}[exit {result.returncode}, {seconds:.1f}s]\n\n")
    return seconds, result


def measure(spec: FlowSpec) -> dict:
    run = spec.run_path
    transcript = run / "plan-speed.log"
    target = ["--project-dir", spec.project_dir, "--profiles-dir", spec.profiles_dir, "--target", spec.target]
    out: dict = {"plan": [], "ls": [], "plan_engine_open": [], "plan_exit": [], "ls_exit": []}
    for attempt in range(2):
        log = run / f"plan-queries-{attempt}.jsonl"
        logs = run / f"logs-plan-{attempt}"
        env = {**os.environ, **DBT_ENV, "DBT_TARGET_PATH": str(run / "target-plan"),
               "DBT_LOG_PATH": str(logs), "REFILL_QUERY_LOG": str(log)}
        seconds, result = _timed([sys.executable, "-m", "refill", "plan", "--from-date", spec.gap, "--today", spec.today,
                                  "--state-dir", str(run / "state"), *target], env, transcript)
        out["plan"].append(seconds)
        out["plan_exit"].append(result.returncode)
        queries = read_query_log(log)
        out["plan_engine_open"].append(sum(queries.engine_opens))
        out.setdefault("plan_engine_busy", []).append(queries.busy_seconds())
        out["plan_statements"] = len(queries.statements)
        lines = result.stdout.splitlines()
        out["plan_output_lines"], out["plan_output_widest"] = len(lines), max((len(x) for x in lines), default=0)
        dbt_log = read_dbt_logs(logs)  # manifest loads, and how many of them were full parses
        out["plan_parses"], out["plan_full_parses"] = dbt_log.parses, dbt_log.full_parses
        env = {**os.environ, **DBT_ENV, "DBT_TARGET_PATH": str(run / "target-ls"), "DBT_LOG_PATH": str(run / "logs-ls")}
        seconds, result = _timed([sys.executable, "-m", "refill", "dbt", "ls", "--quiet", "--select",
                                  f"{spec.prices_model}+", "--resource-type", "model", "--output", "name", *target],
                                 env, transcript)
        out["ls"].append(seconds)
        out["ls_exit"].append(result.returncode)
        out["ls_models"] = len(result.stdout.split())
    return out


def main(argv: Sequence[str]) -> int:
    spec = FlowSpec.load(Path(argv[0]))
    result = measure(spec)
    (spec.run_path / RESULT_FILE).write_text(json.dumps(result, indent=2))
    return 0 if not any(result["plan_exit"]) and not any(result["ls_exit"]) else 1
