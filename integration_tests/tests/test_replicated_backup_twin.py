"""A partition backup of a Replicated table on the real engine (issue #8, item 4).

ClickHouse stores a Replicated table's replication path with {database}/{table}/{uuid}
unfolded, so `CREATE TABLE twin AS table` registers the twin as a second replica of the
*same* path. The engine here runs Replicated tables against an in-memory keeper
(`testkeeper`, via a config file), in a subprocess of its own: it cannot insert there
(the replica stays read-only without a real keeper session), but the DDL is real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from macro_project import MacroProject

pytestmark = pytest.mark.engine

CONFIG = """<clickhouse>
  <zookeeper><implementation>testkeeper</implementation></zookeeper>
  <macros><shard>01</shard><replica>r1</replica></macros>
</clickhouse>
"""

# Creates a Replicated table with an explicit path, tries the naive twin, prints the
# table's engine_full; then runs the statement it reads on stdin and prints both paths.
ENGINE = textwrap.dedent("""
    import json, os, sys
    import chdb
    connection = chdb.connect(f"{sys.argv[1]}?config-file={sys.argv[2]}")
    cursor = connection.cursor()

    def run(sql):
        try:
            cursor.execute(sql)
            return cursor.fetchall(), None
        except Exception as exc:
            return None, str(exc)

    run("CREATE DATABASE x")
    _, error = run("CREATE TABLE x.t (d Date, k String, v Int64) "
                   "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/x/t', '{replica}') "
                   "PARTITION BY toStartOfMonth(d) ORDER BY (d, k)")
    assert error is None, error
    _, naive = run("CREATE TABLE x.t__refill_backup_naive AS x.t")
    (engine_full,), = run("SELECT engine_full FROM system.tables WHERE database = 'x' AND name = 't'")[0]
    print(json.dumps({"engine_full": engine_full, "naive_error": naive}), flush=True)
    _, error = run(sys.stdin.readline())
    paths, _ = run("SELECT table, zookeeper_path FROM system.replicas WHERE database = 'x' ORDER BY table")
    comment, _ = run("SELECT comment FROM system.tables WHERE database = 'x' AND name = 't__refill_backup_r1'")
    print(json.dumps({"error": error, "paths": paths, "comment": comment}, default=list), flush=True)
    os._exit(0)  # the in-memory keeper does not shut down cleanly inside chDB
""")


def test_backup_twin_of_a_replicated_table_gets_its_own_replication_path(tmp_path):
    config = tmp_path / "config.xml"
    config.write_text(CONFIG)
    engine = subprocess.Popen([sys.executable, "-c", ENGINE, str(tmp_path / "data"), str(config)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(engine.stdout.readline())
        assert "REPLICA_ALREADY_EXISTS" in first["naive_error"]  # the collision, reproduced

        project = MacroProject(tmp_path / "render")
        project.parse()
        call = ("{{ refill._create_backup_sql('x', 't', 't__refill_backup_r1', 'refill backup of t', "
                f"refill._backup_engine({json.dumps(first['engine_full'])}, 'r1')) }}}}")
        statement = project.compile_inline(call).strip()
        project.close()

        engine.stdin.write(" ".join(statement.split()) + "\n")
        engine.stdin.flush()
        second = json.loads(engine.stdout.readline())
    finally:
        engine.kill()
        engine.wait()
    assert second["error"] is None, second["error"]
    assert dict(map(tuple, second["paths"])) == {
        "t": "/clickhouse/tables/01/x/t",
        "t__refill_backup_r1": "/clickhouse/tables/01/x/t/refill_backup_r1",
    }
    assert second["comment"] == [["refill backup of t"]]


def test_only_replicated_engines_get_a_storage_of_their_own(tmp_path):
    project = MacroProject(tmp_path)
    project.parse()
    rendered = project.compile_inline(
        "{{ refill._backup_engine(\"ReplicatedMergeTree('/p/{shard}/db/t', '{replica}', ver) ORDER BY k\", 's1') }}|"
        "{{ refill._backup_engine('SharedReplacingMergeTree ORDER BY k', 's1') }}|"
        "{{ refill._backup_engine('ReplacingMergeTree ORDER BY k', 's1') }}|"
        "{{ refill._create_backup_sql('db', 't', 't__refill_backup_s1', 'c') }}").strip().split("|")
    project.close()
    assert rendered[0] == "ReplicatedMergeTree('/p/{shard}/db/t/refill_backup_s1', '{replica}', ver) ORDER BY k"
    assert rendered[1:3] == ["None", "None"]
    assert "ENGINE" not in rendered[3]  # CREATE … AS alone: the twin has the table's storage
