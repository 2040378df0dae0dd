"""On a profile with ``cluster:`` set, every statement refill issues — its Python (lock,
checks, detect, cleanup, finish) and its macros — carries ON CLUSTER where it is DDL-like
and reads system tables on every replica (issue #8, item 4).

The whole recovery runs on the incident lab with a cluster profile: every statement is
captured at the client as issued and executed declustered on the embedded engine
(``cluster_capture``), so the result is still proven against the fresh build, and the
clauses are asserted on the captured text — with sqlglot where it parses the statement,
with its tokens otherwise (sqlglot reads ALTER … REPLACE PARTITION and KILL as opaque).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
import sqlglot
import yaml
from sqlglot import exp

from cluster_capture import Captured, capture_statements, texts
from conftest import SEED_GAP, SEED_TODAY
from lab_hazards import poison_mutation
from refill.commands.cleanup import run_cleanup
from refill.commands.detect import DetectOptions, detect
from refill.dbt.session import DbtSession
from refill.engine import embedded as engine
from refill.engine.warehouse import Warehouse
from refill.lab import LAB_PROJECT_DIR
from refill.lab.simulator import Lab
from refill.run.orchestrator import RunOptions, run_refill
from refill.run.plan import make_window
from refill.run.target import WarehouseLock, holder_info

pytestmark = pytest.mark.engine

CLUSTER = "prod_cluster"
SCHEMA = "refill_lab"
POISONED = "int_execution_transfers_usd_daily"
ORPHAN = "stg_execution_transfers__dbt_new_data_0a1b2c"  # no model of the plan: finish leaves it


def _profiles(root, data_dir) -> None:
    output = {"type": "clickhouse", "driver": "chdb", "chdb_path": str(data_dir), "schema": SCHEMA, "threads": 2,
              "cluster": CLUSTER}
    outputs = {
        "lab": output,
        "truth": {**output, "schema": f"{SCHEMA}_truth"},
        # a Replicated database replicates DDL itself and refuses ON CLUSTER
        "replicated_db": {**output, "database_engine": "Replicated"},
    }
    (root / "profiles.yml").write_text(yaml.safe_dump({"refill_lab": {"target": "lab", "outputs": outputs}}))


def _poison(data_dir) -> None:
    """A failed delete+insert's mutation on a table the plan touches (preflight kills it),
    and an interrupted run's leftover outside the plan (cleanup drops it)."""
    client = engine.open_client(data_dir)
    try:
        poison_mutation(client, SCHEMA, POISONED)
        client.command(f"CREATE TABLE {SCHEMA}.{ORPHAN} AS {SCHEMA}.{POISONED}")
    finally:
        client.close()


@pytest.fixture(scope="module")
def on_cluster(seed_incident_dir, tmp_path_factory):
    """The seed incident recovered through a cluster profile, every statement captured."""
    root = tmp_path_factory.mktemp("cluster-run")
    data_dir = root / "chdb"
    shutil.copytree(seed_incident_dir, data_dir, symlinks=True)
    _profiles(root, data_dir)
    _poison(data_dir)
    artifacts = root / "artifacts"
    with capture_statements() as captured:
        found = detect(DetectOptions(today=SEED_TODAY, project_dir=LAB_PROJECT_DIR, profiles_dir=root, target="lab"))
        code = run_refill(RunOptions(
            window=make_window(from_date=SEED_GAP, today=SEED_TODAY), project_dir=LAB_PROJECT_DIR,
            profiles_dir=root, target="lab", quiet=True, artifacts_dir=artifacts, state_dir=root / "state"))
        run_cleanup(project_dir=LAB_PROJECT_DIR, profiles_dir=root, target="lab", older_than=dt.timedelta(0),
                    dry_run=False, state_root=root / "state")
        session = DbtSession(project_dir=LAB_PROJECT_DIR, profiles_dir=root, target="lab", quiet=True,
                             artifacts_dir=artifacts)
        lock = WarehouseLock(lambda: Warehouse(session.credentials, session.project_dir), SCHEMA,
                             holder_info("0123456789ab", "heartbeat"), heartbeat_seconds=0.05)
        lock.acquire()
        time.sleep(0.3)  # a few heartbeats: ALTER … MODIFY COMMENT
        lock.release()
        compiled = session.invoke(["compile", "--select", "package:refill"], vars={"refill_observability": True,
                                                                                    "refill_observability_months": 12})
    with Lab(root / "lab", data_dir=data_dir) as lab:
        differing = {d.model: d.differing for d in lab.diff() if d.differing}
    views = {r.node.name: r.node.compiled_code for r in compiled.result.results}
    return {"root": root, "statements": captured.statements, "detected": found, "exit": code,
            "differing": differing, "views": views, "session": session}


# -- how a clause is recognised ----------------------------------------------------------


def _on_cluster(sql: str) -> list[str]:
    """The cluster names of every ON CLUSTER clause (sqlglot's tree, else the tokens)."""
    try:
        tree = sqlglot.parse_one(sql, read="clickhouse")
        if not isinstance(tree, exp.Command):
            return [node.this.name for node in tree.find_all(exp.OnCluster)]
    except sqlglot.errors.ParseError:
        pass
    words = texts(sql)
    return [words[i + 2].strip('`"') for i in range(len(words) - 2) if [w.upper() for w in words[i:i + 2]] == ["ON", "CLUSTER"]]


def _system_reads(sql: str) -> list[tuple[str, bool]]:
    """(system table, read through clusterAllReplicas(CLUSTER, …)) for every system table read:
    sqlglot reads a bare one as a Table, the wrapped one as the table function's argument."""
    try:
        tree = sqlglot.parse_one(sql, read="clickhouse")
    except sqlglot.errors.ParseError:
        tree = None
    if tree is not None and not isinstance(tree, exp.Command):
        found = [(f"system.{t.name}", False) for t in tree.find_all(exp.Table) if t.db == "system"]
        for call in tree.find_all(exp.Anonymous):
            if call.name == "clusterAllReplicas":
                cluster, target = call.expressions
                found.append((target.sql(), cluster.name == CLUSTER))
        return found
    words = texts(sql)
    return [(f"system.{words[i + 2]}", words[i - 4:i] == ["clusterAllReplicas", "(", f"'{CLUSTER}'", ","])
            for i in range(4, len(words) - 2) if words[i] == "system" and words[i + 1] == "."]


def _refills(on_cluster) -> list[Captured]:
    return [s for s in on_cluster["statements"] if s.by_refill]


# -- the run itself ----------------------------------------------------------------------


def test_recovery_through_a_cluster_profile_equals_the_fresh_build(on_cluster):
    assert on_cluster["exit"] == 0
    assert on_cluster["differing"] == {}


def test_detect_through_a_cluster_profile_finds_the_gap(on_cluster):
    found = on_cluster["detected"]
    assert [d.day for d in found.days] == [SEED_GAP]
    assert found.days[0].damaged["int_execution_tokens_balances_daily"] > 0


# -- the clauses -------------------------------------------------------------------------


def test_every_ddl_statement_refill_issues_carries_on_cluster(on_cluster):
    ddl = [s for s in _refills(on_cluster) if s.is_ddl]
    verbs = {(s.verb, s.origin) for s in ddl}
    # not vacuous: the lock, backups, swaps, kills and drops all ran
    assert {("CREATE", "python"), ("DROP", "python"), ("ALTER", "python"), ("CREATE", "refill-macro"),
            ("ALTER", "refill-macro"), ("KILL", "refill-macro"), ("DROP", "refill-macro")} <= verbs
    for statement in ddl:
        assert _on_cluster(statement.sql) == [CLUSTER], statement


def test_ddl_on_refills_own_tables_carries_on_cluster_whoever_issues_it(on_cluster):
    """refill_swap's staging table is created and dropped by dbt-clickhouse's macros on
    refill's behalf; the lock and backups by refill itself. All of them on every replica."""
    own = [s for s in on_cluster["statements"] if s.is_ddl and ("__refill_" in s.sql)]
    assert any("__refill_stage" in s.sql for s in own) and any("__refill_lock" in s.sql for s in own)
    for statement in own:
        assert _on_cluster(statement.sql) == [CLUSTER], statement


def test_every_system_table_refill_reads_is_read_on_every_replica(on_cluster):
    reads = [(s, read) for s in _refills(on_cluster) for read in _system_reads(s.sql)]
    assert {"system.tables", "system.columns", "system.parts", "system.mutations"} <= {
        name for _, (name, wrapped) in reads if wrapped}
    for statement, (name, wrapped) in reads:
        assert wrapped, (name, statement)


def test_checks_read_merge_tree_rows_once_per_shard(on_cluster):
    """detect and Phase 4 count rows through cluster() (one replica per shard); the prices
    view is read as it is (a view decides where its rows come from)."""
    python_selects = [s.sql for s in _refills(on_cluster) if s.origin == "python" and s.verb == "SELECT"]
    balances = [sql for sql in python_selects if "int_execution_tokens_balances_daily`" in sql
                and "system." not in sql]
    assert balances
    for sql in balances:
        calls = [c for c in sqlglot.parse_one(sql, read="clickhouse").find_all(exp.Anonymous) if c.name == "cluster"]
        assert [c.expressions[0].name for c in calls] == [CLUSTER], sql
    priced = [sql for sql in python_selects if "FROM `refill_lab`.`int_execution_token_prices_daily`" in sql]
    assert priced


def test_explicit_sync_settings_are_2(on_cluster):
    for statement in _refills(on_cluster):
        words = texts(statement.sql)
        for i, word in enumerate(words[:-2]):
            if word in ("alter_sync", "mutations_sync", "lightweight_deletes_sync"):
                assert words[i + 1:i + 3] == ["=", "2"], statement


def test_connections_wait_for_every_replica(on_cluster):
    """dbt-clickhouse defaults mutations_sync/alter_sync to 3, which did not wait on
    Replicated tables before ClickHouse 26.10; every connection refill opens uses 2."""
    session = on_cluster["session"]
    with Warehouse(session.credentials, session.project_dir) as warehouse:
        assert warehouse.rows("SELECT getSetting('mutations_sync'), getSetting('alter_sync'),"
                              " getSetting('lightweight_deletes_sync')") == [(2, 2, 2)]
    with capture_statements():  # dbt-clickhouse lists relations with clusterAllReplicas
        shown = session.show("select getSetting('mutations_sync') as m, getSetting('alter_sync') as a",
                             manifest=session.parse())
    assert [tuple(row) for row in shown.rows] == [(2, 2)]


def test_a_profile_setting_wins_over_the_sync_default(on_cluster):
    session = on_cluster["session"]
    credentials = session.credentials
    original = credentials.custom_settings
    credentials.custom_settings = {"alter_sync": "1"}
    try:
        with Warehouse(credentials, session.project_dir) as warehouse:
            assert warehouse.scalar("SELECT getSetting('alter_sync')") == 1
    finally:
        credentials.custom_settings = original


def test_cleanup_drops_orphans_on_every_replica(on_cluster):
    drops = [s for s in _refills(on_cluster) if s.verb == "DROP" and ORPHAN in s.sql]
    assert len(drops) == 1 and _on_cluster(drops[0].sql) == [CLUSTER]
    assert texts(drops[0].sql)[-1] == "SYNC"


def test_observability_views_read_every_replica(on_cluster):
    views = on_cluster["views"]
    assert set(views) == {"refill_stuck_mutations", "refill_crowded_partitions", "refill_duplicate_keys",
                          "refill_orphan_tables"}
    for name, sql in views.items():
        sqlglot.parse_one(sql, read="clickhouse")  # raises if a view is not valid ClickHouse SQL
        reads = _system_reads(sql)
        assert reads and all(wrapped for _, wrapped in reads), (name, reads)
    duplicates = sqlglot.parse_one(views["refill_duplicate_keys"], read="clickhouse")
    shards = [c for c in duplicates.find_all(exp.Anonymous) if c.name == "cluster"]
    assert shards and all(c.expressions[0].name == CLUSTER for c in shards)


def test_replicated_database_ddl_has_no_on_cluster_but_reads_every_replica(on_cluster):
    root = on_cluster["root"]
    session = DbtSession(project_dir=LAB_PROJECT_DIR, profiles_dir=root, target="replicated_db", quiet=True)
    with capture_statements() as captured:
        lock = WarehouseLock(lambda: Warehouse(session.credentials, session.project_dir), SCHEMA,
                             holder_info("0123456789ab", "replicated database"))
        lock.acquire()
        lock.release()
    mine = [s for s in captured.statements if s.origin == "python"]
    assert [s.verb for s in mine if s.is_ddl] == ["CREATE", "DROP"]
    assert all(_on_cluster(s.sql) == [] for s in mine if s.is_ddl)
    reads = [read for s in mine for read in _system_reads(s.sql)]
    assert reads and all(wrapped for _, wrapped in reads)
