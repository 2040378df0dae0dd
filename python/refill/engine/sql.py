"""SQL text helpers: identifier and literal quoting, cluster clauses.

The Python half of the package's vocabulary (macros/_internal/quoting.sql and cluster.sql):
each function here renders what its macro renders, and test_macros_cluster pins the two
equal, since the package's Jinja cannot call Python and refill's own statements should not
ask dbt to render every name."""

from __future__ import annotations

import datetime as dt



def ident(name: str) -> str:
    """A ClickHouse identifier, always back-quoted (quotes and backslashes escaped)."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def table(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(value) -> str:
    """A ClickHouse literal for str, int, float, bool, date or None."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return f"toDate('{value.isoformat()}')"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def on_cluster(cluster: str | None, database_engine: str = "") -> str:
    """`` ON CLUSTER `c` `` for a statement that changes tables, parts or mutations (the
    package's ``_on_cluster``): empty on a single server, and in a Replicated database, which
    replicates DDL itself and refuses ON CLUSTER."""
    if not cluster or "replicated" in (database_engine or "").lower():
        return ""
    return f" ON CLUSTER {ident(cluster)}"


def system_table(name: str, cluster: str | None) -> str:
    """``system.<name>``, or its union over every replica when a cluster is set."""
    if cluster:
        return f"clusterAllReplicas({literal(cluster)}, system.{name})"
    return f"system.{name}"


def data_table(schema: str, name: str, cluster: str | None, engine: str = "") -> str:
    """What a check reads a relation's rows from.

    On a cluster a MergeTree-family table is read as ``cluster('c', db.t)``: one replica
    per shard, so the rows of every shard and none twice (replicas hold the same rows).
    Views and Distributed tables already decide where their rows come from: read directly.
    """
    if cluster and "MergeTree" in engine:
        return f"cluster({literal(cluster)}, {table(schema, name)})"
    return table(schema, name)
