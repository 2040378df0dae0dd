"""The upstream project's failure modes, replayed on the lab: the naive sequence goes wrong,
refill converges to the from-scratch build (or refuses before doing harm)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from conftest import SEED_GAP, SEED_TODAY, copy_lab_project, refill_cli
from lab_hazards import failed_mutations, poison_mutation
from refill.lab.diff import checksums
from refill.lab.simulator import Lab
from refill.run import checks
from refill.run.orchestrator import RunOptions, run_refill
from refill.run.plan import make_window

pytestmark = pytest.mark.engine

RUN = ("run", "--from-date", str(SEED_GAP), "--today", str(SEED_TODAY))
APRIL = {"start_month": "2026-04-01", "end_month": "2026-04-01"}


def refill(lab: Lab, from_date=SEED_GAP, **overrides) -> int:
    return run_refill(RunOptions(
        window=make_window(from_date=from_date, today=SEED_TODAY), project_dir=lab.project_dir,
        profiles_dir=lab.profiles_dir, target="lab", quiet=True, artifacts_dir=lab.artifacts_dir,
        state_dir=lab.work_dir / "state", **overrides))


def differing(lab: Lab) -> dict[str, int]:
    return {d.model: d.differing for d in lab.diff() if d.differing}


def poison(lab: Lab, table: str) -> None:
    poison_mutation(lab.warehouse, lab.schema, table, column="token_address", column_type="String")


def failed(lab: Lab, table: str) -> list[str]:
    return failed_mutations(lab.warehouse, lab.schema, table)


def test_poisoned_mutation_blocks_the_naive_rerun_and_preflight_clears_it(seed_lab):
    consumer = "int_execution_transfers_usd_daily"
    poison(seed_lab, consumer)
    naive = seed_lab.session().invoke(["run", "--select", consumer], manifest=seed_lab.manifest(),
                                      vars={"price_lookback_days": 12}, check=False)
    assert not naive.success
    assert "Code: 341" in naive.result.results[0].message
    assert refill(seed_lab) == 0
    assert failed(seed_lab, consumer) == []
    assert differing(seed_lab) == {}


def test_append_over_a_populated_month_doubles_it_for_every_reader(seed_lab):
    session = seed_lab.session()
    session.invoke(["run", "--select", "int_execution_tokens_balances_daily"],
                   manifest=session.parse(vars=APRIL), vars=APRIL)  # the seed's append, no barrier yet
    dup = checks.duplicate_keys(seed_lab.warehouse, seed_lab.schema, ["int_execution_tokens_balances_daily"],
                                [dt.date(2026, 4, 1)], show=lambda sql: session.show(sql, manifest=seed_lab.manifest()))
    assert dup and dup[0].duplicates == 3780  # every April key twice until a merge
    assert refill(seed_lab) == 0
    assert differing(seed_lab) == {}


def test_an_append_killed_mid_insert_leaves_partial_rows_that_a_retry_stacks_on(seed_incident_dir, lab_copy, tmp_path):
    small = {"use_strict_insert_block_limits": 1, "max_insert_block_size_rows": 64,
             "min_insert_block_size_rows": 64, "min_insert_block_size_bytes": 0, "max_block_size": 64}
    lab = lab_copy(seed_incident_dir, custom_settings=small)
    table = "int_execution_tokens_balances_daily"
    april_parts = (f"FROM system.parts WHERE database = '{lab.schema}' AND table = '{table}'"
                   " AND partition = '2026-04-01'")
    last_block = lab.warehouse.scalar(f"SELECT max(max_block_number) {april_parts} AND active")
    lab.close()
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "t"), "DBT_LOG_PATH": str(tmp_path / "l"),
           "REFILL_FAULT_INJECT": json.dumps({"sql": rf"insert into\s+\S*{table}`?\s",
                                              "rows_in": f"{lab.schema}.{table}"})}
    # SIGKILL from the watcher; now and then chDB itself crashes first (SIGSEGV) under the
    # watcher's concurrent polling, sometimes before any block landed. A death before the first
    # block changed nothing (the count below is 0), so that attempt is simply made again.
    for _attempt in range(3):
        lab.close()
        naive = subprocess.run([sys.executable, "-m", "refill", "dbt", "run", "--select", table,
                                "--vars", json.dumps(APRIL), "--project-dir", str(lab.project_dir),
                                "--profiles-dir", str(lab.profiles_dir)], env=env, capture_output=True, text=True)
        assert naive.returncode in (-signal.SIGKILL, -signal.SIGSEGV), naive.stderr[-2000:]
        # The killed INSERT … SELECT committed some of its blocks. (A background merge may already
        # have folded them into the month, but the parts they were written as are still listed.)
        written = lab.warehouse.scalar(f"SELECT sum(rows) {april_parts} AND min_block_number > {last_block}"
                                       " AND min_block_number = max_block_number")
        if written:
            break
    assert 0 < written < 3780

    lab.warehouse.execute(f"SYSTEM STOP MERGES {lab.schema}.{table}")  # what readers see before the next merge
    session = lab.session()
    session.invoke(["run", "--select", table], manifest=session.parse(vars=APRIL), vars=APRIL)  # the naive retry
    duplicated = checks.duplicate_keys(lab.warehouse, lab.schema, [table], [dt.date(2026, 4, 1)],
                                       show=lambda sql: session.show(sql, manifest=lab.manifest()))
    assert duplicated and duplicated[0].duplicates >= 3780
    lab.close()

    result = refill_cli(lab, *RUN)
    assert result.returncode == 0, result.stdout[-3000:]
    assert differing(lab) == {}


def test_keys_whose_corrected_state_is_no_row_survive_append_and_optimize_but_not_refill(seed_lab):
    unpriced = (f"SELECT count() FROM {seed_lab.schema}.int_execution_tokens_balance_cohorts_daily"
                f" WHERE bucket = 'unpriced' AND date = '{SEED_GAP}'")
    before = seed_lab.warehouse.scalar(unpriced)
    session, table = seed_lab.session(), "int_execution_tokens_balance_cohorts_daily"
    session.invoke(["run", "--select", table], manifest=session.parse(vars=APRIL), vars=APRIL)
    seed_lab.warehouse.execute(f"OPTIMIZE TABLE {seed_lab.schema}.{table} PARTITION '2026-04-01' FINAL DEDUPLICATE")
    assert seed_lab.warehouse.scalar(unpriced) == before > 0  # append + OPTIMIZE cannot delete a key
    assert refill(seed_lab) == 0
    assert seed_lab.warehouse.scalar(unpriced) == 0
    assert differing(seed_lab) == {}


NARROW = ("    AND toStartOfMonth(tr.block_date) >= toDate('{{ start_month }}')\n"
          "    AND toStartOfMonth(tr.block_date) <= toDate('{{ end_month }}')",
          "    AND tr.block_date >= toDate('2026-04-16')")


def test_insert_overwrite_narrower_than_a_month_wipes_it_naively_and_refill_refuses(seed_lab, tmp_path, capsys):
    project = copy_lab_project(tmp_path, {"models/intermediate/cohort/int_execution_gpay_activity_daily.sql": NARROW})
    table = "int_execution_gpay_activity_daily"
    april = f"SELECT count() FROM {seed_lab.schema}.{table} WHERE toStartOfMonth(date) = '2026-04-01'"
    before_rows = seed_lab.warehouse.scalar(april)
    before = checksums(seed_lab.warehouse, [seed_lab.schema])

    refused = Lab(seed_lab.work_dir, data_dir=seed_lab.data_dir, project_dir=project)
    with pytest.raises(Exception) as info:
        refill(refused)
    assert info.value.exit_code == 5 and any(
        p.kind == "contract" and p.model == "int_execution_gpay_activity_daily" and "RF002" in p.message
        for p in info.value.problems)
    assert checksums(seed_lab.warehouse, [seed_lab.schema]) == before

    refused.session().invoke(["run", "--select", table], manifest=refused.session().parse(vars=APRIL), vars=APRIL)
    assert seed_lab.warehouse.scalar(april) < before_rows  # the naive run replaced April with 12 days


def test_a_missing_price_joins_as_zero_so_a_null_only_check_misses_the_damage(seed_lab):
    table = f"{seed_lab.schema}.int_execution_tokens_balances_daily"
    assert seed_lab.warehouse.scalar(f"SELECT countIf(balance_usd IS NULL) FROM {table} WHERE date = '{SEED_GAP}'") == 0

    def zero_usd():
        return checks.zero_usd_days(seed_lab.warehouse, seed_lab.schema, ["int_execution_tokens_balances_daily"],
                                    [SEED_GAP], date_column="date",
                                    priced_days_sql=f"SELECT DISTINCT date FROM {seed_lab.schema}.int_execution_token_prices_daily")

    assert [(z.column, z.rows) for z in zero_usd()] == [("balance_usd", 140)]
    assert refill(seed_lab) == 0
    assert zero_usd() == []


def test_a_window_over_the_partition_limit_fails_naively_and_refill_splits_it(seed_lab, tmp_path):
    limited = tmp_path / "limited-profiles"
    limited.mkdir()
    profiles = yaml.safe_load((seed_lab.profiles_dir / "profiles.yml").read_text())
    profiles["refill_lab"]["outputs"]["lab"]["custom_settings"] = {"max_partitions_per_insert_block": 1}
    (limited / "profiles.yml").write_text(yaml.safe_dump(profiles))
    session = Lab(seed_lab.work_dir / "limited", data_dir=seed_lab.data_dir).session()
    session.profiles_dir = limited
    from_date = dt.date(2026, 3, 20)  # two monthly partitions, over a limit of 1
    lookback = make_window(from_date=from_date, today=SEED_TODAY).lookback_days
    naive = session.invoke(["run", "--select", "int_execution_token_prices_daily+", "--exclude", "tag:refill_append"],
                           manifest=session.parse(), vars={"price_lookback_days": lookback}, check=False)
    assert not naive.success
    assert any("Code: 252" in str(r.message) for r in naive.result.results)
    assert run_refill(RunOptions(
        window=make_window(from_date=from_date, today=SEED_TODAY), project_dir=seed_lab.project_dir,
        profiles_dir=limited, target="lab", quiet=True, artifacts_dir=tmp_path / "a", state_dir=tmp_path / "s")) == 0
    assert differing(seed_lab) == {}
