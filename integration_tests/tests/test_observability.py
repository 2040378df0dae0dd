"""The package's observability views and `refill cleanup` on the lab (issue #8, item 2):
each hazard produced with the engine's own statements shows up in its view, and cleanup
drops only what no refill needs."""

from __future__ import annotations

import json
import os
import socket

import pytest

from conftest import SEED_GAP, run_refill
from lab_hazards import poison_mutation
from refill.engine import embedded as engine
from refill.lab import LAB_PROJECT_DIR
from refill.run.journal import DONE, FAILED
from refill.run.target import LOCK_TABLE, holder_info, journal_store

pytestmark = pytest.mark.engine

PARTS = "int_execution_tokens_supply_holders_daily"
POISONED = "int_execution_transfers_usd_daily"


def views(lab, max_parts: int) -> dict[str, list[dict]]:
    session = lab.session()
    session.invoke(["run", "--select", "package:refill"], vars={
        "refill_observability": True, "refill_max_parts_per_partition": max_parts,
        "refill_observability_months": 1200})  # the lab's months, whatever today is
    client = engine.open_client(lab.data_dir)
    try:
        found = {}
        for name in ("refill_stuck_mutations", "refill_crowded_partitions", "refill_duplicate_keys",
                     "refill_orphan_tables"):
            result = client.query(f"SELECT * FROM {lab.schema}.{name}")
            found[name] = [dict(zip(result.column_names, row)) for row in result.result_rows]
        return found
    finally:
        client.close()


def test_the_views_are_off_unless_the_project_opts_in(seed_lab):
    assert not seed_lab.session().select(["--select", "package:refill"], manifest=seed_lab.manifest())


def test_each_hazard_shows_in_its_view(seed_lab):
    w, schema = seed_lab.warehouse, seed_lab.schema
    w.execute(f"SYSTEM STOP MERGES {schema}.{PARTS}")
    april = f"WHERE active AND database = '{schema}' AND table = '{PARTS}' AND partition_id = '20260401'"
    max_parts = w.scalar(f"SELECT count() FROM system.parts {april}") + 3
    before = views(seed_lab, max_parts)
    assert before["refill_stuck_mutations"] == before["refill_duplicate_keys"] == before["refill_orphan_tables"] == []
    assert (PARTS, "20260401") not in {(r["table_name"], r["partition_id"]) for r in before["refill_crowded_partitions"]}

    client = engine.open_client(seed_lab.data_dir)
    try:
        poison_mutation(client, schema, POISONED)
    finally:
        client.close()
    for _ in range(3):  # three more parts in April, each repeating rows already there
        w.execute(f"INSERT INTO {schema}.{PARTS} SELECT * FROM {schema}.{PARTS} WHERE date = '{SEED_GAP}'")
    w.execute(f"CREATE TABLE {schema}.{POISONED}__dbt_tmp AS {schema}.{POISONED}")
    found = views(seed_lab, max_parts)

    (mutation,) = found["refill_stuck_mutations"]
    assert (mutation["table_name"], mutation["state"]) == (POISONED, "failed")
    assert "DELETE WHERE" in mutation["command"] and mutation["reason"]

    crowded = {(r["table_name"], r["partition_id"]) for r in found["refill_crowded_partitions"]}
    assert (PARTS, "20260401") in crowded

    (duplicates,) = found["refill_duplicate_keys"]
    assert (duplicates["table_name"], duplicates["partition_id"]) == (PARTS, "20260401")
    assert duplicates["duplicate_rows"] == 3 * 4  # three copies of the gap day's four tokens

    (orphan,) = found["refill_orphan_tables"]
    assert (orphan["table_name"], orphan["kind"], orphan["model_name"]) == (
        f"{POISONED}__dbt_tmp", "dbt_tmp", POISONED)


def _journal(lab, run_id: str, status: str) -> None:
    store = journal_store(lab.work_dir / "state", lab.session())
    store.start(run_id, {"window": {}}, "python -m refill run …").finish(status)


def _backup(lab, suffix: str) -> str:
    lab.session().invoke(["run-operation", "refill.backup_partitions", "--args",
                          f'{{database: {lab.schema}, tables: [{PARTS}], partitions: ["2026-04-01"], suffix: {suffix}}}'],
                         manifest=lab.manifest())
    return f"{PARTS}__refill_backup_{suffix}"


def _tables(lab) -> set[str]:
    try:
        return {r[0] for r in lab.warehouse.rows(f"SELECT name FROM system.tables WHERE database = '{lab.schema}'")}
    finally:
        lab.close()  # the next cleanup runs in a process of its own


def test_cleanup_drops_only_what_no_refill_needs(seed_lab):
    lab, schema = seed_lab, seed_lab.schema
    leftovers = {f"{POISONED}__dbt_tmp", f"{POISONED}__dbt_new_data_0a1b", f"{POISONED}__dbt_backup"}
    for name in leftovers | {f"{PARTS}__refill_stage"}:
        lab.warehouse.execute(f"CREATE TABLE {schema}.`{name}` AS {schema}.{PARTS}")
    pending, finished, running, unknown = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"
    backups = {run: _backup(lab, run) for run in (pending, finished, running, unknown)}
    _journal(lab, pending, FAILED)
    _journal(lab, finished, DONE)
    # a live refill holds the target: this test process, on this host
    holder = holder_info(running, "a refill that is running")
    lab.warehouse.execute(f"CREATE TABLE {schema}.{LOCK_TABLE} (held UInt8) ENGINE = MergeTree ORDER BY tuple() "
                          f"COMMENT '{json.dumps(holder)}'")
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    lab.close()
    common = ["--project-dir", str(lab.project_dir), "--profiles-dir", str(lab.profiles_dir),
              "--state-dir", str(lab.work_dir / "state")]

    young = run_refill("cleanup", *common)  # default --older-than 24h: everything here is minutes old
    assert young.returncode == 0 and "dropped 0 table(s), kept 8." in young.stdout
    dry = run_refill("cleanup", "--older-than", "0s", "--dry-run", *common)
    assert dry.returncode == 0 and "4 table(s) would be dropped; nothing was dropped" in dry.stdout
    assert leftovers <= _tables(lab)

    result = run_refill("cleanup", "--older-than", "0s", *common)
    assert result.returncode == 0, result.stdout + result.stderr
    left = _tables(lab)
    assert not leftovers & left and backups[finished] not in left
    assert {backups[pending], backups[running], backups[unknown], f"{PARTS}__refill_stage", LOCK_TABLE} <= left
    assert f"run {pending} is unfinished: `python -m refill rollback --run {pending}` needs it" in result.stdout
    assert f"a refill is running (run {running})" in result.stdout

    # the refill finished (its lock is gone): its staging table is an orphan now; an
    # unknown run's backup goes only when asked
    lab.warehouse.execute(f"DROP TABLE {schema}.{LOCK_TABLE} SYNC")
    lab.close()
    final = run_refill("cleanup", "--older-than", "0s", "--drop-unjournaled-backups", *common)
    assert final.returncode == 0, final.stdout + final.stderr
    left = _tables(lab)
    assert f"{PARTS}__refill_stage" not in left and backups[unknown] not in left and backups[running] not in left
    assert backups[pending] in left
    assert LOCK_TABLE not in left  # cleanup held the lock while it dropped, and gave it back


def test_cleanup_refuses_a_bad_threshold(tmp_path):
    result = run_refill("cleanup", "--older-than", "soon", "--project-dir", str(LAB_PROJECT_DIR))
    assert result.returncode == 2 and result.stderr.startswith("refill: error: --older-than")
