"""Crash safety, resume, locks and rollback, on the embedded engine.

The orchestrator runs in a subprocess and is killed with SIGKILL (the embedded engine
dies with it, like a crashed server); the next run of the same command resumes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEED_GAP, SEED_TODAY, copy_lab_project, refill_cli
from refill.lab.diff import checksums
from refill.lab.simulator import Lab

pytestmark = pytest.mark.engine

RUN = ("run", "--from-date", str(SEED_GAP), "--today", str(SEED_TODAY))
SCHEMA = "refill_lab"
BALANCES = "int_execution_tokens_balances_daily"
# Inserts commit a part every 64 rows, so a kill during an INSERT leaves some of them.
SMALL_BLOCKS = {"use_strict_insert_block_limits": 1, "max_insert_block_size_rows": 64,
                "min_insert_block_size_rows": 64, "min_insert_block_size_bytes": 0, "max_block_size": 64}


def leftovers(lab: Lab) -> list[str]:
    return [r[0] for r in lab.warehouse.rows(
        f"SELECT name FROM system.tables WHERE database = '{SCHEMA}'"
        " AND (name LIKE '%\\_\\_refill%' OR name LIKE '%\\_\\_dbt\\_%') ORDER BY name")]


def month_checksum(lab: Lab, table: str) -> tuple:
    return tuple(lab.warehouse.rows(
        f"SELECT count(), groupBitXor(cityHash64(*)) FROM {SCHEMA}.{table} WHERE toStartOfMonth(date) = '2026-04-01'")[0])


def killed(lab: Lab, fault: dict) -> subprocess.CompletedProcess:
    lab.close()
    result = refill_cli(lab, *RUN, fault=fault)
    assert result.returncode == -9, result.stdout[-3000:] + result.stderr[-2000:]
    return result


def test_killed_at_every_phase_the_same_command_converges_to_the_fresh_build(seed_incident_dir, lab_copy):
    lab = lab_copy(seed_incident_dir, custom_settings=SMALL_BLOCKS)
    original = month_checksum(lab, BALANCES)

    killed(lab, {"step": "phase1:2026-04-01", "when": "before"})  # preflight done

    killed(lab, {"sql": rf"insert into\s+\S*{BALANCES}__refill_stage",
                 "rows_in": f"{SCHEMA}.{BALANCES}__refill_stage"})
    staged = lab.warehouse.scalar(f"SELECT count() FROM {SCHEMA}.{BALANCES}__refill_stage")
    assert 0 < staged < original[0]  # the kill landed mid-INSERT: partial rows exist…
    assert month_checksum(lab, BALANCES) == original  # …but only in staging, never in the target

    killed(lab, {"step": "phase1.5", "when": "after"})

    killed(lab, {"sql": r"delete from\s+\S*int_execution_gpay_payments_daily`?\s", "after_ms": 0})
    assert any("int_execution_gpay_payments_daily__dbt_new_data" in name for name in leftovers(lab))

    killed(lab, {"step": "phase4", "when": "before"})
    killed(lab, {"step": "finish:drop-backups", "when": "after"})

    lab.close()
    final = refill_cli(lab, *RUN)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-2000:]
    assert "done by an earlier attempt" in final.stdout
    assert "taking over a stale refill lock" in final.stderr
    assert {d.model: d.differing for d in lab.diff() if d.differing} == {}
    assert leftovers(lab) == []


@pytest.mark.ch258
def test_killed_right_after_phase1_the_resumed_run_equals_the_fresh_build(seed_incident_dir, lab_copy):
    """Issue #12, kind 5: the crash lands right after the last cohort swap. Before
    ClickHouse 26.6 a replaced month could come back beside its rewrite when the engine
    starts again; CI runs this on 25.8 LTS too."""
    lab = lab_copy(seed_incident_dir)
    for (table,) in lab.warehouse.rows(f"SELECT name FROM system.tables WHERE database = '{SCHEMA}' "
                                       "AND engine LIKE '%MergeTree'"):
        # a server's default (chDB's is 0): outdated parts stay as long as they would there
        lab.warehouse.execute(f"ALTER TABLE {SCHEMA}.`{table}` MODIFY SETTING old_parts_lifetime = 480")

    killed(lab, {"step": "phase1:2026-04-01", "when": "after"})
    final = refill_cli(lab, *RUN)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-2000:]
    assert "done by an earlier attempt" in final.stdout
    assert {d.model: d.differing for d in lab.diff() if d.differing} == {}
    assert leftovers(lab) == []


def test_second_refill_on_the_target_exits_4_and_names_the_holder(seed_lab):
    seed_lab.close()
    holder = subprocess.Popen(
        [sys.executable, "-m", "refill", *RUN, "--project-dir", str(seed_lab.project_dir),
         "--profiles-dir", str(seed_lab.profiles_dir), "--state-dir", str(seed_lab.work_dir / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "REFILL_FAULT_INJECT": json.dumps({"step": "phase1:2026-04-01", "when": "before",
                                                              "sleep": 300})},
    )
    try:
        for line in holder.stdout:  # wait until it holds the locks, paused before Phase 1
            if line.startswith("[fault] pausing"):
                break
        second = refill_cli(seed_lab, *RUN)
        assert second.returncode == 4
        assert "Traceback" not in second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert re.search(rf"pid {holder.pid} on .+, started .+, run [0-9a-f]{{12}} \(from {SEED_GAP} to {SEED_TODAY}", line)
    finally:
        holder.kill()
        holder.wait()


def test_a_different_plan_is_refused_while_a_run_is_pending(seed_lab):
    killed(seed_lab, {"step": "phase1:2026-04-01", "when": "after"})
    other = refill_cli(seed_lab, "run", "--from-date", "2026-04-20", "--today", str(SEED_TODAY))
    assert other.returncode == 4
    error, resume, rollback = other.stderr.strip().splitlines()[-3:]  # after a stale-lock warning, if any
    assert error.startswith("refill: error: run ") and "has not finished on this target" in error
    # each command whole on a line of its own, however long the paths in it
    assert resume.startswith("refill: next: resume it: python -m refill run --from-date ") and resume.endswith(" --resume")
    assert re.fullmatch(r"refill: next: or restore its backups: python -m refill rollback --run [0-9a-f]{12}", rollback)


def test_canary_failure_keeps_backups_and_rollback_restores_byte_for_byte(seed_incident_dir, lab_copy, tmp_path):
    # a canary stricter than the lab's own daily price moves: it trips after Phase 1
    project = copy_lab_project(tmp_path, {"dbt_project.yml": ("threshold: 1.5", "threshold: 1.000001")})
    lab = lab_copy(seed_incident_dir, project_dir=project)
    schemas = [SCHEMA, f"{SCHEMA}_raw"]
    before = checksums(lab.warehouse, schemas)
    lab.close()

    failed = refill_cli(lab, *RUN)
    assert failed.returncode == 3
    # one error line (at most 300 characters), each violation on its own line when that line
    # cannot hold them all, the full log, and the rollback to type next
    line, *violations, log, next_step = failed.stderr.strip().splitlines()
    assert line.startswith("refill: error: canary failed:") and len(line) <= 300, failed.stderr
    assert all(v.startswith(("refill:   - ", "refill:   … ")) for v in violations), failed.stderr
    assert log.startswith("refill: full log: "), failed.stderr
    assert "next: restore the backups: python -m refill rollback" in Path(log.removeprefix("refill: full log: ")).read_text()
    rollback = re.search(r"^refill: next: restore the backups: (python -m refill rollback .*)$", next_step).group(1)
    backups = [n for n in leftovers(lab) if "__refill_backup_" in n]
    assert len(backups) == 6  # one per cohort model, kept for the rollback
    assert month_checksum(lab, BALANCES) != tuple(before[f"{SCHEMA}.{BALANCES}"])  # Phase 1 did rewrite
    lab.close()

    args = shlex.split(rollback)[3:]  # after "python -m refill"
    restored = subprocess.run([sys.executable, "-m", "refill", *args], capture_output=True, text=True)
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr
    assert checksums(lab.warehouse, schemas) == before
    assert leftovers(lab) == []
    lab.close()  # the next rollback runs in a subprocess
    again = subprocess.run([sys.executable, "-m", "refill", *args], capture_output=True, text=True)
    assert again.returncode == 2 and "only a failed or interrupted run can be rolled back" in again.stderr


def test_leftovers_are_found_for_a_plan_of_thousands_of_models(seed_lab):
    """The orphan query once named every model of the plan and outgrew max_query_size
    (256 KiB) at about 1,000 models; a verified refill then failed in its last step."""
    from types import SimpleNamespace

    from refill.dbt.graph import Relation, by_database
    from refill.run.phases.finish import orphan_tables

    names = ["int_execution_tokens_balances_daily__dbt_new_data_6f1c",
             "int_execution_tokens_balances_daily__refill_stage",
             "api_unrelated_model__dbt_tmp",  # not a model of the plan
             "int_execution_tokens_balances_daily_v2"]  # a model's name, no marker
    for name in names:
        seed_lab.warehouse.execute(f"CREATE TABLE {SCHEMA}.`{name}` (x Int64) ENGINE = MergeTree ORDER BY x")
    padding = [f"int_generated_model_with_a_long_descriptive_name_{i:05d}_daily" for i in range(6000)]
    plan = SimpleNamespace(schema=SCHEMA, input_models=(), cohort=(BALANCES,), lineage_models=tuple(padding),
                           downstream_models=(),
                           tables_by_database=lambda models: by_database(Relation(SCHEMA, m) for m in models))
    ctx = SimpleNamespace(plan=plan, session=seed_lab.session(), manifest=seed_lab.manifest())
    later = dt.datetime.now() + dt.timedelta(minutes=1)

    assert orphan_tables(ctx, later) == [Relation(SCHEMA, name) for name in sorted(names[:2])]
