"""On a target with a cluster, every statement refill issues carries ON CLUSTER and every
system-table scan reads all replicas (issue #3, item 8). No cluster runs here, so the
SQL is rendered by dbt on a profile with `cluster:` set and checked with sqlglot."""

from __future__ import annotations

import json

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse

from macro_project import MacroProject

pytestmark = pytest.mark.engine

CLUSTER = "prod_cluster"
SPLIT = "-- refill-test-split --"
STATEMENTS = {
    "optimize": "refill._optimize_sql('db', 'daily balances', '20260401')",
    "kill": "refill._kill_mutations_sql('db', [{'table': 't', 'mutation_id': 'mutation_7.txt'}])",
    "replace": "refill._replace_partitions_sql('db', 't', 't__refill_backup_r1', ['20260401'])",
    "replace_two": "refill._replace_partitions_sql('db', 't', 't__refill_backup_r1', ['20260401', '20260501'])",
    "create_backup": "refill._create_backup_sql('db', 't', 't__refill_backup_r1', 'refill backup of t')",
    "comment": "refill._comment_sql('db', 't__refill_backup_r1', 'refill backup of t')",
    "drop_backup": "refill._drop_table_sql('db', 't__refill_backup_r1')",
    "partitions": "refill._month_partitions_sql('db', {'t': \"toStartOfMonth(CAST(partition, 'Date'))\"}, ['2026-04-01'])",
    "mutations": "refill.failed_mutations_query('db', ['t'])",
    "copy_check": "refill._partition_counts_sql('db', 't', 't__refill_backup_r1', ['20260401'])",
    "duplicates": "refill._duplicate_keys_sql('db', {'t': ['20260401']}, {'t': 'date, k'})",
    # the vocabulary Python renders too (refill.engine.sql): a name with a back-quote, a backslash and a quote
    "quote": "refill._quote('a`b\\\\c\\'d')",
    "literal": "refill._string_literal('a`b\\\\c\\'d')",
    "table": "refill._table('db', 'a`b\\\\c\\'d')",
    "on_cluster": "'[' ~ refill._on_cluster() ~ ']'",
    "system_parts": "refill._system_table('parts')",
}
WEIRD = "a`b\\c'd"
DDL = ("replace", "create_backup", "comment", "drop_backup")
SYSTEM_SCANS = {"partitions": "parts", "mutations": "mutations", "copy_check": "parts"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{target: {statement: SQL}} for a single server, a cluster, and a Replicated database."""
    project = MacroProject(
        tmp_path_factory.mktemp("cluster"),
        targets={"cluster": {"cluster": CLUSTER}, "replicated_db": {"cluster": CLUSTER, "database_engine": "Replicated"}},
    )
    project.parse()
    inline = f"\n{SPLIT}\n".join("{{ " + call + " }}" for call in STATEMENTS.values())
    out = {}
    for target in ("dev", "cluster", "replicated_db"):
        parts = project.compile_inline(inline, target=target).split(SPLIT)
        out[target] = {name: sql.strip() for name, sql in zip(STATEMENTS, parts)}
    project.close()
    return out


class _Tokenizer(ClickHouse.Tokenizer):
    COMMANDS: set = set()  # tokenize OPTIMIZE/ALTER bodies too instead of one opaque string


def _tokens(sql: str) -> list[str]:
    return [token.text for token in _Tokenizer().tokenize(sql)]


def _follows(tokens: list[str], *sequence: str) -> bool:
    return any(tokens[i:i + len(sequence)] == list(sequence) for i in range(len(tokens)))


def _clusters(sql: str) -> list[str]:
    return [node.this.name for node in sqlglot.parse_one(sql, read="clickhouse").find_all(exp.OnCluster)]


def _table_functions(sql: str) -> list[tuple[str, str, str]]:
    """(function, first argument, second argument) of every cluster table function."""
    found = []
    for node in sqlglot.parse_one(sql, read="clickhouse").find_all(exp.Anonymous):
        if node.name in ("clusterAllReplicas", "cluster"):
            first, second = node.expressions
            found.append((node.name, first.name, ".".join(part.name for part in second.parts)))
    return found


def test_ddl_carries_on_cluster(rendered):
    sql = rendered["cluster"]
    for name in DDL:
        assert _clusters(sql[name]) == [CLUSTER], name
    alter = sqlglot.parse_one(sql["replace"], read="clickhouse")
    assert [alter.this.db, alter.this.name] == ["db", "t"]
    # sqlglot reads an ALTER with several actions and SETTINGS as an opaque command
    two = _tokens(sql["replace_two"])
    assert _follows(two, "ALTER", "TABLE", "db", ".", "t", "ON", "CLUSTER", CLUSTER, "REPLACE", "PARTITION")
    assert two.count("REPLACE") == 2
    assert sqlglot.parse_one(sql["drop_backup"], read="clickhouse").find(exp.Table).name == "t__refill_backup_r1"


def test_optimize_and_kill_carry_on_cluster(rendered):
    # sqlglot reads OPTIMIZE as an opaque command and cannot parse KILL MUTATION: check tokens
    optimize = _tokens(rendered["cluster"]["optimize"])
    assert _follows(optimize, "OPTIMIZE", "TABLE", "db", ".", "daily balances", "ON", "CLUSTER", CLUSTER, "PARTITION")
    assert _follows(optimize, "alter_sync", "=", "2")
    kill = _tokens(rendered["cluster"]["kill"])
    assert _follows(kill, "KILL", "MUTATION", "ON", "CLUSTER", CLUSTER, "WHERE")
    assert kill[-1] == "SYNC"


def test_system_tables_are_read_on_every_replica(rendered):
    for name, table in SYSTEM_SCANS.items():
        assert _table_functions(rendered["cluster"][name]) == [("clusterAllReplicas", CLUSTER, f"system.{table}")], name
    # data: one replica per shard (replicas hold the same rows), checked shard by shard
    duplicates = rendered["cluster"]["duplicates"]
    assert _table_functions(duplicates) == [("cluster", CLUSTER, "db.t")]
    group = sqlglot.parse_one(duplicates, read="clickhouse").find(exp.Group)
    assert [e.name for e in group.expressions] == ["_shard_num", "_partition_id"]


def test_single_server_renders_plain_statements(rendered):
    sql = rendered["dev"]
    for name in DDL:
        assert _clusters(sql[name]) == [], name
    for name in ("optimize", "kill", "replace_two"):
        assert "CLUSTER" not in _tokens(sql[name]), name
    for name, table in SYSTEM_SCANS.items():
        assert _table_functions(sql[name]) == [], name
        assert f"system.{table}" in sql[name]


def test_replicated_database_replicates_ddl_itself_but_scans_every_replica(rendered):
    sql = rendered["replicated_db"]
    for name in DDL:
        assert _clusters(sql[name]) == [], name
    assert "CLUSTER" not in _tokens(sql["optimize"])
    assert _table_functions(sql["mutations"]) == [("clusterAllReplicas", CLUSTER, "system.mutations")]


def test_python_renders_the_vocabulary_as_the_package_does(rendered):
    """Quoting and the cluster clauses have a Jinja half (macros/_internal) and a Python half
    (refill.engine.sql, for refill's own statements): the same rules, pinned here on every target."""
    from refill.engine.sql import ident, literal, on_cluster, system_table, table

    for target, cluster, database_engine in (("dev", None, ""), ("cluster", CLUSTER, ""),
                                             ("replicated_db", CLUSTER, "Replicated")):
        sql = rendered[target]
        assert (sql["quote"], sql["literal"], sql["table"]) == (ident(WEIRD), literal(WEIRD), table("db", WEIRD)), target
        assert sql["on_cluster"] == f"[{on_cluster(cluster, database_engine)}]", target
        assert sql["system_parts"] == system_table("parts", cluster), target
    assert rendered["cluster"]["on_cluster"] == f"[ ON CLUSTER `{CLUSTER}`]"


def test_the_month_swap_follows_the_same_on_cluster_rule_as_the_backup_and_restore(tmp_path):
    """swap_months, backup_partitions and restore_partitions move the same partitions of the
    same table: on a cluster all three must run on every replica, by one rule (_on_cluster).
    The swap followed dbt-clickhouse's per-relation rule instead, so a swap of relations made
    with api.Relation.create (or of a model with disable_on_cluster) ran on one replica
    only while its backup ran on all of them."""
    from cluster_capture import capture_statements

    project = MacroProject(tmp_path, schema="swap_cluster", targets={"cluster": {"cluster": CLUSTER}})
    project.write("macros/swap_by_name.sql", """
        {% macro swap_by_name(database, target_table, staging_table, month) %}
          {%- set target_relation = api.Relation.create(schema=database, identifier=target_table, type='table') -%}
          {%- set staging_relation = api.Relation.create(schema=database, identifier=staging_table, type='table') -%}
          {%- do refill.swap_months(staging_relation, target_relation, month, month) -%}
        {% endmacro %}
    """)
    w = project.warehouse
    for name in ("t", "t__stage"):
        w.execute(f"CREATE TABLE swap_cluster.{name} (date Date, k Int64) ENGINE = MergeTree ORDER BY k"
                  " PARTITION BY toStartOfMonth(date)")
    w.execute("INSERT INTO swap_cluster.t VALUES ('2026-04-02', 1)")
    w.execute("INSERT INTO swap_cluster.t__stage VALUES ('2026-04-02', 2)")
    project.parse()
    month = {"database": "swap_cluster", "tables": ["t"], "partitions": ["2026-04-01"]}
    try:
        with capture_statements() as captured:
            for macro, args in (("refill.backup_partitions", {**month, "suffix": "r1"}),
                                ("swap_by_name", {"database": "swap_cluster", "target_table": "t",
                                                  "staging_table": "t__stage", "month": "2026-04-01"}),
                                ("refill.restore_partitions", {**month, "suffix": "r1"})):
                project.dbt("run-operation", macro, "--args", json.dumps(args), "--target", "cluster", reuse=True)
    finally:
        project.close()
    writes = [s for s in captured.by_refill() if s.verb == "ALTER" and "PARTITION" in _tokens(s.sql)]
    # backup and restore issue their ALTER through the copy helper they share
    assert [s.macro for s in writes] == ["refill._copy_month_partitions", "refill.default__swap_months",
                                         "refill._copy_month_partitions"], writes
    for statement in writes:
        assert _follows(_tokens(statement.sql), "ON", "CLUSTER", CLUSTER), statement
