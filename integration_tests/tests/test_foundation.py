"""The ground everything stands on: the chdb driver, the lab, the incident, the ground truth."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, SEED_GAP, SEED_TODAY, run_refill
from refill.engine import embedded as engine
from refill.lab import LAB_PROJECT_DIR
from refill.lab.diff import diff_schemas

pytestmark = pytest.mark.engine

PRICE_FREE_MODELS = {"lab_tokens", "stg_execution_transfers", "int_execution_token_prices_daily"}


def test_lab_installs_the_package_with_a_real_dbt_deps(tmp_path):
    # in a checkout of its own: `dbt deps` deletes dbt_packages/ first, and the other pytest
    # workers are parsing this checkout's lab meanwhile
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, repo, symlinks=True,
                    ignore=shutil.ignore_patterns(".*", "target", "logs", "dbt_packages", "__pycache__", "*.egg-info",
                                                  "package-lock.yml", "benchmarks"))
    lab = repo / LAB_PROJECT_DIR.relative_to(REPO_ROOT)
    result = run_refill("dbt", "deps", "--project-dir", str(lab))
    assert result.returncode == 0, result.stdout + result.stderr
    installed = lab / "dbt_packages" / "refill"
    assert installed.resolve() == repo.resolve()  # the lab's packages.yml: `local: ../`
    assert "name: refill" in (installed / "dbt_project.yml").read_text()


def test_incident_zeroes_usd_only_on_the_gap_day(seed_lab):
    damage = {row.day: row for row in seed_lab.damage(SEED_GAP - dt.timedelta(days=3), SEED_TODAY)}
    assert damage[SEED_GAP].rows > 0
    assert damage[SEED_GAP].zero_usd == damage[SEED_GAP].rows
    assert all(row.zero_usd == 0 for day, row in damage.items() if day != SEED_GAP)


def test_incident_leaves_the_gpay_api_view_at_zero_on_the_gap_day(seed_lab):
    values = dict(seed_lab.gpay_api_on(SEED_GAP))
    assert set(values) == {"EURe", "USDC"}
    assert all(value == 0 for value in values.values())
    assert all(value > 0 for _, value in seed_lab.gpay_api_on(SEED_GAP - dt.timedelta(days=1)))


def test_backfilled_prices_view_already_shows_the_gap_day(seed_lab):
    rows = seed_lab.warehouse.scalar(
        f"SELECT count() FROM {seed_lab.schema}.int_execution_token_prices_daily WHERE date = '{SEED_GAP}'"
    )
    assert rows == 4


def test_ground_truth_equals_itself(seed_lab):
    models = [d.model for d in seed_lab.diff()]
    diffs = diff_schemas(seed_lab.warehouse, seed_lab.truth_schema, seed_lab.truth_schema, models)
    assert sum(d.differing for d in diffs) == 0


def test_incident_differs_from_truth_exactly_in_price_dependent_models(seed_lab):
    diffs = {d.model: d for d in seed_lab.diff()}
    assert {m for m, d in diffs.items() if d.differing == 0} == PRICE_FREE_MODELS
    # the stale 'unpriced' bucket: keys that exist only because the price was missing
    cohorts = diffs["int_execution_tokens_balance_cohorts_daily"]
    assert cohorts.only_left > 0 and cohorts.only_right > 0


def test_diff_counts_physical_duplicates(seed_lab):
    schema = seed_lab.schema
    seed_lab.warehouse.execute(
        f"INSERT INTO {schema}.int_execution_tokens_supply_holders_daily "
        f"SELECT * FROM {schema}.int_execution_tokens_supply_holders_daily WHERE date = '2026-02-02'"
    )
    (diff,) = seed_lab.diff(["int_execution_tokens_supply_holders_daily"])
    assert diff.only_left == 4 + 4  # the 4 gap-day rows and 4 duplicated rows


def test_profile_key_chdb_path_survives_dbt_profile_parsing(seed_lab):
    credentials = seed_lab.session().credentials
    assert credentials.driver == "chdb"
    assert credentials.chdb_path == str(seed_lab.data_dir)


@pytest.mark.parametrize(
    "args",
    [["--version"], ["run", "--no-such-flag"], ["run-operation", "no_such_macro"], ["parse", "--project-dir", "/nonexistent"]],
)
def test_dbt_passthrough_exits_like_the_dbt_executable(args):
    dbt = subprocess.run([sys.executable, "-m", "dbt.cli.main", *args], capture_output=True, text=True,
                         cwd=LAB_PROJECT_DIR)
    ours = run_refill("dbt", *args, cwd=LAB_PROJECT_DIR)
    assert ours.returncode == dbt.returncode


def test_dbt_passthrough_runs_models_on_chdb_and_reports_failures(seed_lab):
    common = ["--project-dir", str(LAB_PROJECT_DIR), "--profiles-dir", str(seed_lab.profiles_dir)]
    seed_lab.close()  # the subprocess needs the data directory
    ok = run_refill("dbt", "run", "--select", "api_execution_tokens_supply_daily", *common)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert "1 of 1 OK created sql view model" in ok.stdout
    bad_month = '{"start_month": "not-a-date", "end_month": "not-a-date"}'
    failing = run_refill("dbt", "run", "--select", "int_execution_tokens_supply_holders_daily",
                         "--vars", bad_month, *common)
    # the package refuses a month that is not a month when the project compiles: dbt's own
    # exit code for a compilation error (2) and its message come through unchanged
    assert failing.returncode == 2, failing.stdout[-2000:]
    assert "start_month must be the first day of a month (YYYY-MM-01), got 'not-a-date'" in failing.stdout


def test_second_process_on_the_data_directory_gets_one_clear_line(seed_lab):
    seed_lab.close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from refill.engine import embedded as engine; from pathlib import Path;"
         f"engine.open_client(Path({str(seed_lab.data_dir)!r})); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(engine.DataDirectoryInUse, match=rf"in use by another process \(pid {holder.pid}"):
            engine.open_client(seed_lab.data_dir)
        result = run_refill("dbt", "run", "--project-dir", str(LAB_PROJECT_DIR),
                            "--profiles-dir", str(seed_lab.profiles_dir))
        assert result.returncode == 2
        assert f"is in use by another process (pid {holder.pid}" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        assert "Cannot lock file" not in result.stderr  # refused before the engine tries
    finally:
        holder.kill()
        holder.wait()
