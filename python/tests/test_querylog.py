"""Statement timing for benchmarks: off by default, one line per statement when asked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from refill.engine import querylog


def test_statement_kind_skips_dbt_query_comments():
    sql = '/* {"app": "dbt", "node_id": "model.x.y"} */\n\n  optimize TABLE `a`.`b` FINAL'
    assert querylog.statement_kind(sql) == "OPTIMIZE"
    assert querylog.statement_kind("-- why\nSELECT 1") == "SELECT"
    assert querylog.statement_kind(b"  insert into t values (1)") == "INSERT"
    assert querylog.statement_kind("") == ""


_SCRIPT = """
import sys
from pathlib import Path
from refill.engine import embedded as engine
client = engine.open_client(Path(sys.argv[1]))
client.command("CREATE TABLE t (a Int64) ENGINE = MergeTree ORDER BY a")
client.command("INSERT INTO t SELECT number FROM numbers(10)")
client.query("SELECT sum(a) FROM t")
client.close()
"""


def _run(tmp_path, env_extra: dict) -> None:
    env = {"PATH": "/usr/bin:/bin", **env_extra}
    subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "chdb")], env=env, check=True, timeout=120)


@pytest.mark.engine
def test_every_statement_and_the_engine_counters_are_logged_when_asked(tmp_path):
    log = tmp_path / "queries.jsonl"
    _run(tmp_path, {querylog.ENV: str(log)})
    records = [json.loads(line) for line in log.read_text().splitlines()]
    statements = [r for r in records if r["event"] == "statement"]
    # query() hands DDL to command(): each statement is logged once, by the outer call
    assert [s["kind"] for s in statements] == ["CREATE", "INSERT", "SELECT"]
    assert all(s["ok"] and s["seconds"] >= 0 for s in statements)
    opened, closed = (next(r for r in records if r["event"] == e) for e in ("open", "close"))
    assert closed["counters"]["InsertedRows"] - opened["counters"].get("InsertedRows", 0) == 10


@pytest.mark.engine
def test_nothing_is_logged_by_default(tmp_path):
    _run(tmp_path, {})
    assert list(tmp_path.glob("*.jsonl")) == []
