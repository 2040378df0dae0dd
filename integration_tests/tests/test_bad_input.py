"""Bad input, across commands: one line on stderr, the documented exit code, no traceback,
and nothing written to the warehouse."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SEED_GAP, SEED_TODAY, copy_lab_project
from refill.cli import main
from refill.lab.diff import checksums

pytestmark = pytest.mark.engine

WINDOW = ["--from-date", str(SEED_GAP), "--today", str(SEED_TODAY)]
NOT_A_PARTITION = "2026-04-01'; DROP TABLE refill_lab.int_execution_tokens_balances_daily; --"

CASES = [
    # (arguments, exit code, what the line must say)
    (["run", "--from-date", "2026-4-17", "--today", "2026-04-27"], 2, "--from-date must be a date"),
    (["run", "--from-date", "2026-02-30", "--today", "2026-04-27"], 2, "--from-date must be a date"),
    (["run", "--from-date", NOT_A_PARTITION], 2, "--from-date must be a date"),
    (["run", "--from-date", "2026-05-01", "--today", "2026-04-27"], 2, "is after today"),
    (["run", "--lookback-days", "0", "--today", "2026-04-27"], 2, "--lookback-days must be at least"),
    (["run", "--lookback-days", "-5"], 2, "--lookback-days must be at least"),
    (["run", "--lookback-days", "twelve"], 2, "invalid int value"),
    (["run", "--from-date", "2026-04-17", "--lookback-days", "12"], 2, "not allowed with argument"),
    (["run", "--today", "2026-04-27"], 2, "exactly one of --from-date and --lookback-days"),
    (["run", "--from-date", "2026-04-17", "--today", "27/04/2026"], 2, "--today must be a date"),
    (["run", *WINDOW, "--buffer-days", "-1"], 2, "--buffer-days"),
    (["run", *WINDOW, "--threads", "0"], 2, "--threads"),
    (["run", *WINDOW, "--report", "/nonexistent/dir/report.json"], 2, "does not exist"),
    (["run", *WINDOW, "--select", "no_such_model+"], 2, "matches no model"),
    (["run", *WINDOW, "--prices-model", "no_such_prices"], 2, "prices model 'no_such_prices' is not a model"),
    (["run", *WINDOW, "--tag", "no_such_tag"], 2, "no model is tagged 'no_such_tag'"),
    (["run", *WINDOW, "--target", "no_such_target"], 2, "no_such_target"),
    (["run", *WINDOW, "--resume"], 2, "no interrupted run of this plan"),
    (["plan", "--from-date", "2026-04-17", "--project-dir", "/nonexistent"], 2, "no dbt_project.yml"),
    (["plan", "--from-date", "2026-04-17", "--profiles-dir", "/nonexistent"], 2, "no profiles.yml"),
    (["rollback", "--run", "../../etc/passwd"], 2, "--run must be a refill run id"),
    (["rollback", "--run", "0123456789ab"], 2, "no refill run 0123456789ab"),
    (["kill-mutations", "--tables", NOT_A_PARTITION], 2, "not a model of this project"),
    (["canary", "--from-date", "yesterday"], 2, "--from-date must be a date"),
    (["canary", "--from-date", "2026-04-17", "--model", "x'; DROP TABLE y"], 2, "no canary to run"),
    (["lint", "--format", "xml"], 2, "invalid choice"),
    (["no-such-command"], 2, "invalid choice"),
]


def _target_flags(command, lab):
    flags = []
    if "--project-dir" not in command and command[0] not in ("no-such-command",):
        flags += ["--project-dir", str(lab.project_dir)]
    if "--profiles-dir" not in command and command[0] not in ("no-such-command", "lint"):
        flags += ["--profiles-dir", str(lab.profiles_dir)]
    if command[0] in ("run", "plan", "rollback"):
        flags += ["--state-dir", str(lab.work_dir / "state")]
    return flags


def test_bad_input_gets_one_line_an_exit_code_and_writes_nothing(seed_lab, capsys, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(seed_lab.work_dir / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(seed_lab.work_dir / "logs"))
    schemas = [seed_lab.schema, seed_lab.truth_schema, f"{seed_lab.schema}_raw"]
    before = checksums(seed_lab.warehouse, schemas)
    problems = []
    for command, code, message in CASES:
        capsys.readouterr()
        exit_code = main([*command, *_target_flags(command, seed_lab)])
        err = capsys.readouterr().err.strip().splitlines()
        errors = [line for line in err if not line.startswith("refill: warning:")]
        if exit_code != code or len(errors) != 1 or message not in errors[0] or "Traceback" in "\n".join(err):
            problems.append(f"{command}: exit {exit_code} (want {code}), stderr {err!r} (want one line with {message!r})")
    assert problems == []
    assert len(CASES) >= 20
    assert checksums(seed_lab.warehouse, schemas) == before


def test_a_data_directory_in_use_exits_4_with_one_line(seed_lab):
    seed_lab.close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from pathlib import Path; from refill.engine import embedded as engine;"
         f"engine.open_client(Path({str(seed_lab.data_dir)!r})); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = subprocess.run(
            [sys.executable, "-m", "refill", "run", *WINDOW, "--project-dir", str(seed_lab.project_dir),
             "--profiles-dir", str(seed_lab.profiles_dir), "--state-dir", str(seed_lab.work_dir / "state")],
            capture_output=True, text=True)
        assert result.returncode == 4
        (line,) = result.stderr.strip().splitlines()
        assert f"is in use by another process (pid {holder.pid}" in line
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("edit, rule", [
    (("partition_by='toStartOfMonth(date)'", "partition_by='toYYYYMMDD(date)'"), "RF005"),
    (("engine='ReplacingMergeTree()'", "engine='MergeTree()'"), "RF004"),
])
def test_a_cohort_model_that_breaks_the_contract_is_refused_with_exit_5(seed_lab, tmp_path, capsys, monkeypatch, edit, rule):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    project = copy_lab_project(tmp_path, {
        "models/intermediate/cohort/int_execution_tokens_supply_holders_daily.sql": edit})
    before = checksums(seed_lab.warehouse, [seed_lab.schema])
    exit_code = main(["run", *WINDOW, "--project-dir", str(project), "--profiles-dir", str(seed_lab.profiles_dir),
                      "--state-dir", str(tmp_path / "state")])
    captured = capsys.readouterr()
    err = [line for line in captured.err.strip().splitlines() if not line.startswith(("refill: warning:", "refill: note:"))]
    assert exit_code == 5
    assert len(err) == 1 and err[0].startswith("refill: error: contract: int_execution_tokens_supply_holders_daily: ")
    assert f"({rule}" in err[0] and err[0].endswith("nothing was written")
    assert any(row.split()[:2] == ["contract", "int_execution_tokens_supply_holders_daily"] and f"({rule}" in row
               for row in captured.out.splitlines())
    assert checksums(seed_lab.warehouse, [seed_lab.schema]) == before


def test_a_cohort_table_partitioned_by_year_is_refused_in_preflight_with_exit_5(seed_lab, tmp_path, capsys, monkeypatch):
    # the model still says toStartOfMonth (the lint passes); the live table was built by year
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    model = "int_execution_tokens_supply_holders_daily"
    table = f"`{seed_lab.schema}`.`{model}`"
    key = seed_lab.warehouse.scalar(f"SELECT sorting_key FROM system.tables WHERE database = '{seed_lab.schema}'"
                                    f" AND name = '{model}'")
    seed_lab.warehouse.execute_all([
        f"CREATE TABLE `{seed_lab.schema}`.by_year AS {table} ENGINE = ReplacingMergeTree ORDER BY ({key})"
        " PARTITION BY toYear(date)",
        f"INSERT INTO `{seed_lab.schema}`.by_year SELECT * FROM {table}",
        f"EXCHANGE TABLES `{seed_lab.schema}`.by_year AND {table}",
        f"DROP TABLE `{seed_lab.schema}`.by_year",
    ])
    before = checksums(seed_lab.warehouse, [seed_lab.schema])
    exit_code = main(["run", *WINDOW, "--project-dir", str(seed_lab.project_dir), "--profiles-dir",
                      str(seed_lab.profiles_dir), "--state-dir", str(tmp_path / "state")])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("refill: warning:")]
    assert exit_code == 5
    assert len(err) == 1 and f"partitioning: {model}: partitioned by toYear(date): toYear(date) is coarser than a month" in err[0]
    assert checksums(seed_lab.warehouse, [seed_lab.schema]) == before
