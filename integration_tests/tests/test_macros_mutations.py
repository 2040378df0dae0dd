"""kill_failed_mutations on the engine: the poisoned mutation a failed delete+insert
leaves behind, reproduced, blocking the next run, and cleared (issue #3, item 4)."""

from __future__ import annotations


import pytest

from conftest import run_refill
from lab_hazards import failed_mutations, poison_mutation
from macro_project import MacroProject, node_results

pytestmark = pytest.mark.engine

MODEL = """
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='k',
          engine='MergeTree()', order_by='k',
          pre_hook=refill.refill_safe_pre_hook(), post_hook=refill.refill_safe_post_hook()) }}
SELECT toInt64(number) AS k, toInt64(number * 10) AS v FROM numbers(10)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("mutations"))
    project.model("balances", MODEL)
    project.parse()
    yield project
    project.close()


def poison(project: MacroProject, database: str, table: str) -> None:
    """A table of ten rows with a poisoned mutation (see ``lab_hazards``)."""
    w = project.warehouse
    w.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    w.execute(f"CREATE TABLE IF NOT EXISTS {database}.{table} (k Int64, v Int64) ENGINE = MergeTree ORDER BY k")
    w.execute(f"INSERT INTO {database}.{table} SELECT number, number FROM numbers(10)")
    poison_mutation(w, database, table, column="k", column_type="Int64")


def failed(project: MacroProject, database: str, table: str) -> list[str]:
    return failed_mutations(project.warehouse, database, table)


def test_poisoned_mutation_blocks_a_delete_insert_model_until_it_is_killed(project):
    project.dbt("run", "--select", "balances", reuse=True)
    poison(project, "macro_tests", "balances")

    blocked = node_results(project.dbt("run", "--select", "balances", check=False, reuse=True))["balances"]
    assert str(blocked.status) == "error"
    assert "Code: 341" in blocked.message

    run = project.operation("kill_failed_mutations")  # default scope: the target schema
    assert "refill: failed mutation `macro_tests`.`balances` mutation_" in run.text
    assert "(DELETE WHERE k IN (SELECT k FROM macro_tests.balances__dbt_new_data_gone))" in run.text
    assert "Unknown table expression identifier" in run.text
    # the blocked run's own DELETE failed behind it and is cleared too
    assert "UPDATE _row_exists = 0 WHERE (k) IN (SELECT k FROM macro_tests.balances__dbt_new_data_" in run.text
    assert "killed 2 failed mutation(s) in `macro_tests`" in run.text
    assert failed(project, "macro_tests", "balances") == []

    project.dbt("run", "--select", "balances", reuse=True)
    assert project.warehouse.rows("SELECT count(), sum(v) FROM macro_tests.balances") == [(10, 450)]


def test_kills_only_the_given_scope_and_dry_run_kills_nothing(project):
    for table in ("t_a", "t_b"):
        poison(project, "mut_scope", table)
    poison(project, "mut_other", "t_c")
    listed = project.show("{{ refill.failed_mutations_query('mut_scope') }}")
    assert [(r["table_name"], r["mutation_id"]) for r in listed] == [("t_a", "mutation_2.txt"), ("t_b", "mutation_2.txt")]
    assert listed[0]["reason"].startswith("Code: 60.") and "\n" not in listed[0]["reason"]

    dry = project.operation("kill_failed_mutations", {"database": "mut_scope", "tables": ["t_a"], "dry_run": True})
    assert "dry run, would kill 1 failed mutation(s)" in dry.text
    assert "`mut_scope`.`t_a` mutation_2.txt" in dry.text and "t_b" not in dry.text
    assert failed(project, "mut_scope", "t_a") == ["mutation_2.txt"]

    project.operation("kill_failed_mutations", {"database": "mut_scope", "tables": "t_a"})
    assert failed(project, "mut_scope", "t_a") == []
    assert failed(project, "mut_scope", "t_b") == ["mutation_2.txt"]

    project.operation("kill_failed_mutations", {"database": "mut_scope"})
    assert failed(project, "mut_scope", "t_b") == []
    assert failed(project, "mut_other", "t_c") == ["mutation_2.txt"]


def test_nothing_to_kill_is_a_clean_success(project):
    run = project.operation("kill_failed_mutations", {"database": "mut_empty"})
    assert "no failed mutations in `mut_empty`" in run.text


def test_a_poisoned_mutation_is_killed_by_a_fresh_process(project):
    """The engine forgets failure reasons when it restarts (an embedded engine restarts with
    every process): right after the start a poisoned mutation looks merely pending, so the
    kill waits until it has been attempted instead of reporting "no failed mutations"."""
    poison(project, "macro_tests", "restarted")
    project.close()  # the subprocess starts the engine afresh

    killed = run_refill("kill-mutations", "--project-dir", str(project.project_dir), "--profiles-dir", str(project.root))
    assert killed.returncode == 0, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert "failed mutation `macro_tests`.`restarted` mutation_" in killed.stdout
    assert "killed 1 failed mutation(s) in `macro_tests`" in killed.stdout
    assert project.warehouse.rows("SELECT count() FROM system.mutations "
                                  "WHERE database = 'macro_tests' AND NOT is_done") == [(0,)]
