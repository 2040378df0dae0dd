"""The SQL vocabulary's Python half (issue #17): one rule for ON CLUSTER, one way to call a
package macro, and the plan's line for that call is the command refill runs."""

from __future__ import annotations

import shlex

from refill.dbt.session import operation_command
from refill.engine.sql import on_cluster
from refill.run.phases.invocation import run_operation_statement


def test_on_cluster_only_on_a_cluster_outside_a_replicated_database():
    assert on_cluster(None) == on_cluster("") == ""
    assert on_cluster("prod") == " ON CLUSTER `prod`"
    assert on_cluster("prod", "Replicated") == on_cluster("prod", "replicated") == ""
    assert on_cluster("we`ird", "Atomic") == " ON CLUSTER `we\\`ird`"


def test_the_plans_line_for_a_macro_call_is_the_command_refill_runs():
    args = {"tables": ["it's", "b"], "database": "db x", "partitions": ["2026-04-01"], "suffix": "r1"}
    line = run_operation_statement("backup_partitions", args)
    assert line.startswith("dbt run-operation refill.backup_partitions --args '")
    assert shlex.split(line) == ["dbt", *operation_command("backup_partitions", args)]
    assert operation_command("backup_partitions", args)[:3] == ["run-operation", "refill.backup_partitions", "--args"]
