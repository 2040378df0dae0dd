"""What a person reads: refill's own lines held to 200 characters on the lab's plan and run
(dbt's own lines, timestamped, are dbt's), and a failing Phase 3 ending in one error line of
at most 300 characters, the path of the full log and the commands to type next."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import SEED_GAP, SEED_TODAY, copy_lab_project, refill_cli

pytestmark = pytest.mark.engine

RUN = ("--from-date", str(SEED_GAP), "--today", str(SEED_TODAY))
DBT_LINE = re.compile(r"^(\x1b\[\d+m)?\d\d:\d\d:\d\d ")  # dbt's own output (kept off a terminal)
FCT = "models/marts/fct_execution_tokens_metrics_daily.sql"
BOOM = "phase three broke on purpose " * 400  # a ClickHouse error as long as the upstream project's 23 KB one


def refill_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not DBT_LINE.match(line)]


def test_lab_plan_and_run_lines_are_at_most_200_characters(seed_incident_dir, lab_copy, tmp_path):
    lab = lab_copy(seed_incident_dir)
    lab.close()
    plan = refill_cli(lab, "plan", *RUN, "--report", str(tmp_path / "plan.json"))
    assert plan.returncode == 0, plan.stderr[-2000:]
    # the full lists the text summarises are in the plan's --report (it wrote nothing before)
    report = json.loads((tmp_path / "plan.json").read_text())
    assert report["exit_code"] == 0 and report["steps"] == []
    assert len(report["plan"]["phase1_layers"][0]) > 0 and report["plan"]["statements"]
    assert len(report["parses"]) == 1
    run = refill_cli(lab, "run", *RUN)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for output in (plan.stdout, run.stdout, plan.stderr, run.stderr):
        too_long = [line for line in refill_lines(output) if len(line) > 200]
        assert too_long == []
    # each month's line shows its own vars
    assert '--vars \'{"end_month": "2026-04-01", "start_month": "2026-04-01"}\'' in plan.stdout


def test_a_failing_phase_3_ends_in_one_short_error_line_the_log_and_the_next_commands(
        seed_incident_dir, lab_copy, tmp_path):
    project = copy_lab_project(tmp_path, {FCT: (
        "GROUP BY date, symbol, supply, holders, supply_usd",
        f"GROUP BY date, symbol, supply, holders, supply_usd\nHAVING throwIf(count() > 0, '{BOOM}') = 0")})
    lab = lab_copy(seed_incident_dir, project_dir=project)
    lab.close()
    # Phase 2 re-pulls one consumer, so the cohort's other descendants are Phase 3's
    result = refill_cli(lab, "run", *RUN, "--select", "int_execution_transfers_usd_daily")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "=== Phase 3: downstream rebuild ===" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("refill: ")]
    assert len(errors) >= 2, result.stdout[-3000:] + result.stderr[-3000:]
    error, log, *next_steps = errors
    assert error.startswith("refill: error: dbt run") and len(error) <= 300, error
    log_path = Path(log.removeprefix("refill: full log: "))
    assert BOOM.strip() in log_path.read_text()  # the whole message, where the line points
    run_id = re.search(r"rollback --run (\w+)", next_steps[-1]).group(1)
    assert next_steps[0].startswith("refill: next: fix the cause, then resume: python -m refill run")
    assert next_steps[0].endswith("--resume") or " --resume " in next_steps[0]
    assert next_steps[1].startswith(f"refill: next: or restore the backups: python -m refill rollback --run {run_id}")
    # dbt's own lines echo the ClickHouse error whole (refill keeps them off a terminal only)
    too_long = [line for line in refill_lines(result.stdout) if len(line) > 200 and "broke on purpose" not in line]
    assert too_long == []


def on_a_terminal(lab, *args: str) -> tuple[int, str, str]:
    """``python -m refill <args>`` with stdout on a pseudo-terminal: (exit code, what the
    terminal showed, stderr)."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    master, slave = pty.openpty()
    env = {**os.environ, "DBT_TARGET_PATH": str(lab.work_dir / "cli-target"),
           "DBT_LOG_PATH": str(lab.work_dir / "cli-logs")}
    process = subprocess.Popen(
        [sys.executable, "-m", "refill", *args, "--project-dir", str(lab.project_dir),
         "--profiles-dir", str(lab.profiles_dir), "--state-dir", str(lab.work_dir / "state")],
        stdout=slave, stderr=subprocess.PIPE, text=True, env=env)
    os.close(slave)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    stderr = process.stderr.read()
    code = process.wait(timeout=900)
    reader.join(timeout=30)
    os.close(master)
    return code, shown.decode(errors="replace"), stderr


def test_on_a_terminal_each_phase_shows_progress_and_dbt_writes_to_the_printed_log(seed_incident_dir, lab_copy):
    lab = lab_copy(seed_incident_dir)
    lab.close()
    code, shown, stderr = on_a_terminal(lab, "run", *RUN)
    assert code == 0, shown[-3000:] + stderr[-2000:]
    log_path = Path(re.search(r"dbt's output: (\S+)", shown).group(1))
    # dbt's lines went to the log, not to the terminal
    assert " START sql " in log_path.read_text() and " START sql " not in shown
    redraws = [part.replace("\x1b[K", "") for part in re.split(r"[\r\n]+", shown)]
    assert "Phase 1: cohort rewrite  6/6 models  elapsed " in "\n".join(redraws)
    assert any(re.match(r"Phase 2: lineage re-pull  \d+/\d+ models  elapsed \d+s  ETA ", r) for r in redraws)
    assert all(len(r) <= 200 for r in redraws)


def test_dbt_output_keeps_dbts_lines_on_the_terminal(seed_incident_dir, lab_copy):
    lab = lab_copy(seed_incident_dir)
    lab.close()
    code, shown, stderr = on_a_terminal(lab, "run", *RUN, "--dbt-output")
    assert code == 0, shown[-3000:] + stderr[-2000:]
    assert " START sql " in shown and "dbt's output:" not in shown
