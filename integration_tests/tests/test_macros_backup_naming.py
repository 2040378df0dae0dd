"""A project that overrides `refill.backup_table_name` (dispatch) keeps a working cleanup and
observability (issue #17): a refill backup is known by the marker comment it is created with
(`_backup_comment`: source table, run suffix, months), never by the default name's
`__refill_backup_` infix, which an override need not contain."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import PROJECT, MacroProject
from refill.commands.cleanup import Protection, decide, list_orphans

pytestmark = [pytest.mark.engine]

RENAMED = "bk_run1_balances"  # what the project's override names run1's backup of `balances`


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(
        tmp_path_factory.mktemp("backup_naming"), schema="bk_naming",
        project_config={"dispatch": [{"macro_namespace": "refill", "search_order": [PROJECT, "refill"]}]})
    project.write("macros/backup_naming.sql", """
        {% macro default__backup_table_name(table_name, suffix) %}
          {{ return('bk_' ~ suffix ~ '_' ~ table_name) }}
        {% endmacro %}
    """)
    project.model("balances", """
        {{ config(materialized='table', engine='ReplacingMergeTree', order_by='(date, k)',
                  partition_by='toStartOfMonth(date)') }}
        SELECT addDays(toDate('2026-03-01'), number % 60) AS date, toInt64(number % 7) AS k FROM numbers(420)
    """)
    project.parse()
    project.dbt("run", reuse=True)
    project.operation("refill.backup_partitions", {"database": "bk_naming", "tables": ["balances"],
                                                   "partitions": ["2026-04-01"], "suffix": "run1"})
    yield project
    project.close()


def test_the_override_names_the_backup(project):
    tables = {r[0] for r in project.warehouse.rows("SELECT name FROM system.tables WHERE database = 'bk_naming'")}
    assert RENAMED in tables and not any("__refill_backup_" in name for name in tables)


def test_the_orphan_view_knows_a_renamed_backup_by_its_marker(project):
    rows = project.show("{{ refill.orphan_tables_query() }}")
    assert [(r["table_name"], r["kind"], r["run_id"], r["model_name"], bool(r["is_refill_backup"])) for r in rows] == [
        (RENAMED, "refill_backup", "run1", "balances", True)]


def test_cleanup_drops_a_renamed_backup_of_a_finished_run_and_keeps_a_pending_one(project):
    (orphan,) = list_orphans(project.session, project.manifest)
    assert (orphan.table_name, orphan.kind, orphan.run_id, orphan.is_refill_backup) == (
        RENAMED, "refill_backup", "run1", True)
    done = Protection(older_than=dt.timedelta(0), known_runs=frozenset({"run1"}))
    assert decide(orphan, done).drop
    pending = Protection(older_than=dt.timedelta(0), known_runs=frozenset({"run1"}), pending_runs=frozenset({"run1"}))
    assert not decide(orphan, pending).drop


def test_the_duplicate_keys_view_skips_a_renamed_backup(project):
    """The backup holds the month's rows a second time by design; it is not a model's table."""
    project.warehouse.execute("INSERT INTO bk_naming.bk_run1_balances SELECT * FROM bk_naming.bk_run1_balances")
    project.warehouse.execute("INSERT INTO bk_naming.balances SELECT * FROM bk_naming.balances WHERE date = '2026-04-02'")
    project.dbt("run", "--select", "package:refill", vars={"refill_observability": True,
                                                            "refill_observability_months": 1200})
    tables = {r[0] for r in project.warehouse.rows("SELECT table_name FROM bk_naming.refill_duplicate_keys")}
    assert tables == {"balances"}
