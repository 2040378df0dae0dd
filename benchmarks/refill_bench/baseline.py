"""The seed's recovery flow, as its operator runs it: one dbt CLI process per command.

Exactly the commands of seed ``000_db96ea357a7268e6.txt`` (``refill_after_price_gap.sh``),
on the embedded engine through ``python -m refill dbt`` (dbt's own CLI with the chdb
driver registered), in the seed's order:

* Phase 1, per affected month, two passes; each pass is
  ``dbt run --select tag:refill_append --vars '{"start_month": M, "end_month": M}'``, then
  ``dbt ls --select tag:refill_append --resource-type model --output name`` and, for every
  model it lists, ``dbt run-operation optimize_partition_final --args {database, table_name,
  partition: M}``;
* Phase 1.5, the canary: the adjacent-day ratio scan of the project's ``refill_canaries``
  entry, as ``dbt show --inline``;
* Phase 2, ``dbt run --select <prices>+ --exclude tag:refill_append --vars
  '{"price_lookback_days": N}'``;
* Phase 3, ``dbt run --select tag:refill_append+ --exclude tag:refill_append``.

The seed's script stops when the canary fires. Here the flow records the canary's verdict
and goes on, so that both flows are measured over the same planned work; the results say
when the seed's script would have stopped.

It exists only to be measured against; nothing else should run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import yaml

from refill_bench.flows import QUERY_LOG_FILE, TRANSCRIPT_FILE, FlowOutcome, FlowSpec, PhaseClock, close_dbt_flow, flow_main
from refill_bench.measure import DBT_ENV


class Operator:
    """Runs ``python -m refill dbt <args>`` as separate processes, as a shell script would."""

    def __init__(self, spec: FlowSpec) -> None:
        self.spec = spec
        run = spec.run_path
        self.env = {**os.environ, **DBT_ENV, "REFILL_QUERY_LOG": str(run / QUERY_LOG_FILE),
                    "DBT_LOG_PATH": str(run / "logs"), "DBT_TARGET_PATH": str(run / "target")}
        self.transcript = run / TRANSCRIPT_FILE
        self.calls: list[dict] = []

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "refill", "dbt", *args, "--project-dir", self.spec.project_dir,
                "--profiles-dir", self.spec.profiles_dir, "--target", self.spec.target]
        started = time.time()
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        self.calls.append({"args": list(args), "start": started, "seconds": time.time() - started,
                           "exit_code": result.returncode})
        with self.transcript.open("a") as transcript:
            transcript.write(f"$ dbt {' '.join(args)}\n{result.stdout}{result.stderr}[exit {result.returncode}]\n\n")
        if check and result.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args[:3])} failed with exit {result.returncode}; see {self.transcript}")
        return result


def phase1_month(op: Operator, month: str) -> None:
    month_vars = json.dumps({"start_month": month, "end_month": month})
    for _pass in ("A", "B"):
        op.dbt("run", "--select", f"tag:{op.spec.tag}", "--vars", month_vars)
        # --quiet: since dbt 1.5 `ls` prints its log lines to stdout too; the loop wants the names only.
        listed = op.dbt("ls", "--quiet", "--select", f"tag:{op.spec.tag}", "--resource-type", "model",
                        "--output", "name")
        for model in listed.stdout.split():
            op.dbt("run-operation", "optimize_partition_final", "--args",
                   f'{{database: {op.spec.schema}, table_name: {model}, partition: "{month}"}}')


def canary(op: Operator) -> list[dict]:
    """The project's canaries, scanned from 3 days before the first month to today (the scan
    itself starts 3 days before the month of ``start_date``, as refill's canary does)."""
    window = op.spec.window
    scan = {"start_date": window.first_month.isoformat(), "end_date": window.today.isoformat()}
    violations = []
    for entry in _canaries(Path(op.spec.project_dir)):
        args = ", ".join(f"{key}={value!r}" for key, value in {**entry, **scan}.items())
        args = args.replace("True", "true").replace("False", "false")
        shown = op.dbt("show", "--quiet", "--inline", f"{{{{ canary_scan({args}) }}}}", "--limit", "-1",
                       "--output", "json", check=False)
        violations += _shown_rows(shown.stdout)
    return violations


def run(spec: FlowSpec) -> FlowOutcome:
    op, clock = Operator(spec), PhaseClock()
    outcome = FlowOutcome(flow="baseline", started=time.time(), ended=0)
    window = spec.window
    try:
        clock.start("phase1")
        for month in window.months:
            phase1_month(op, month.isoformat())
        clock.start("phase1.5")
        violations = canary(op)
        outcome.details["canary_violations"] = len(violations)
        if violations:
            outcome.notes.append(f"canary flagged {len(violations)} row(s) after Phase 1: the seed's script "
                                 "stops here; this run goes on so that both flows do the same planned work")
        clock.start("phase2")
        op.dbt("run", "--select", f"{spec.prices_model}+", "--exclude", f"tag:{spec.tag}",
               "--vars", json.dumps({"price_lookback_days": window.lookback_days}))
        clock.start("phase3")
        op.dbt("run", "--select", f"tag:{spec.tag}+", "--exclude", f"tag:{spec.tag}")
    except RuntimeError as exc:
        outcome.exit_code = 1
        outcome.notes.append(str(exc))
    finally:
        close_dbt_flow(outcome, clock, op.calls)
    return outcome


def _canaries(project_dir: Path) -> list[dict]:
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    return list((config.get("vars") or {}).get("refill_canaries") or [])


def _shown_rows(stdout: str) -> list[dict]:
    start = stdout.find("{")
    if start < 0:
        return []
    try:
        return list(json.loads(stdout[start:]).get("show", []))
    except json.JSONDecodeError:
        return []


def main(argv: Sequence[str]) -> int:
    return flow_main(run, argv)
