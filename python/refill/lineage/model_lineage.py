"""Per model, what verify and detect judge: its price-derived columns, its date column's grain, its key.

The same column lineage the audit before publish uses (``refill.lineage.price_lineage`` over the SQL dbt
compiles), so the three readers of "which columns a prices gap reaches" agree. The SQL is
compiled as a full build (``--full-refresh``): it is the model's definition over its whole
history, and the recompute a weekly or monthly model is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from refill.dbt.graph import ProjectGraph
from refill.engine.sql import literal
from refill.lineage import audit
from refill.lineage.price_lineage import ALL, Grain, PriceDependence, grain_of, tables_of, trace_models


@dataclass(frozen=True)
class ModelLineage:
    """One model as verify/detect see it. ``sql`` is its compiled full-build SELECT (None when dbt
    compiled none); ``keys`` its ``unique_key`` else ORDER BY, as expressions."""

    name: str
    database: str
    table: str
    dependence: PriceDependence
    sql: str | None
    keys: tuple[str, ...]
    is_prices: bool = False
    # ``sql`` parsed and qualified (``price_lineage.qualified``), shared with the grain walk
    tree: Any = field(default=None, compare=False, repr=False)

    @property
    def relation(self) -> str:
        return f"{self.database}.{self.table}"


def table_columns(warehouse, relations: Iterable[tuple[str, str]]) -> dict:
    """``{database: {table: {column: type}}}`` of ``relations`` (sqlglot's schema shape); on a
    cluster one row per column, the first type any replica has."""
    pairs = ", ".join(f"({literal(db)}, {literal(name)})" for db, name in sorted(set(relations))) or "('', '')"
    schema: dict = {}
    for db, name, column, type_ in warehouse.rows(
        f"SELECT database, table, name, any(type) FROM {warehouse.system_table('columns')}"
        f" WHERE (database, table) IN ({pairs})"
        " GROUP BY database, table, name ORDER BY database, table, min(position)"
    ):
        schema.setdefault(db, {}).setdefault(name, {})[column] = type_
    return schema


def trace(session, manifest, graph: ProjectGraph, warehouse, prices_model: str, names: Iterable[str],
          overrides: Mapping[str, list[str]]) -> tuple[dict[str, ModelLineage], dict]:
    """``({model name: ModelLineage}, sqlglot schema)`` for ``names`` and the models between them
    and the prices model (ephemeral models are inlined by dbt and skipped). One ``dbt compile --full-refresh`` of the models and their ancestors
    between them and the prices model; raises StepFailed when dbt cannot compile them."""
    prices = graph.by_name(prices_model)
    wanted = {graph.by_name(n).unique_id for n in names if graph.by_name(n) is not None}
    wanted = {uid for uid in wanted if graph.nodes[uid].materialized != "ephemeral"}
    order_ids = audit.price_scope(graph, wanted, prices.unique_id) if prices is not None else graph.topological(wanted)
    compile_names = [graph.nodes[uid].name for uid in order_ids
                     if graph.nodes[uid].materialized != "ephemeral" and graph.nodes[uid].resource_type == "model"]
    compiled: dict[str, str] = {}
    if compile_names:
        result = session.invoke(["compile", "--full-refresh", "--log-level", "none", "--select", *compile_names],
                                manifest=manifest, quiet=True)
        compiled = {r.node.name: r.node.compiled_code for r in (result.result.results or [])
                    if getattr(r.node, "compiled_code", None)}
    own = {(graph.nodes[uid].relation.database, graph.nodes[uid].relation.identifier) for uid in graph.nodes}
    read = set().union(*(tables_of(sql) for sql in compiled.values())) if compiled else set()
    schema = table_columns(warehouse, read | own)
    relations = {node.name: (node.relation.database.lower(), node.relation.identifier.lower())
                 for node in graph.nodes.values()}
    roots = {prices.name: ALL} if prices is not None else {}
    trees: dict = {}
    dependence = trace_models([graph.nodes[uid].name for uid in order_ids], compiled, relations, schema, roots,
                              overrides, trees=trees)
    sorting = dict(((db, name), key) for db, name, key in warehouse.rows(
        f"SELECT database, name, any(sorting_key) FROM {warehouse.system_table('tables')}"
        f" WHERE (database, name) IN ({', '.join(f'({literal(d)}, {literal(t)})' for d, t in sorted(own))})"
        " GROUP BY database, name")) if own else {}
    found = {}
    for uid in sorted(wanted | {u for u in order_ids if graph.nodes[u].materialized != "ephemeral"}):
        node = graph.nodes[uid]
        config = getattr(manifest.nodes.get(uid), "config", None)
        unique_key = config.get("unique_key") if config is not None else None
        where = (node.relation.database, node.relation.identifier)
        found[node.name] = ModelLineage(
            name=node.name, database=where[0], table=where[1],
            dependence=dependence.get(node.name, PriceDependence(error="not traced")),
            sql=compiled.get(node.name), keys=tuple(audit.key_expressions(unique_key, sorting.get(where))),
            is_prices=node.name == prices_model, tree=trees.get(node.name),
        )
    return found, schema


def grain(models: Mapping[str, ModelLineage], schema: Mapping, relations: Mapping[tuple[str, str], str],
          name: str, date_column: str, depth: int = 0, memo: dict | None = None) -> Grain:
    """The grain of ``name``'s ``date_column``: decided by its own SQL (``toStartOfWeek(day)``), or
    inherited from the model it reads that column from unchanged (a weekly model over a weekly
    one); ``relations`` maps (database, table) to the model it holds.

    ``memo`` ({(model, column): Grain}) shares the answers between calls over the same models:
    many models read the same upstream date column, and each answer is a sqlglot ``lineage``
    over that model's SQL (most of Phase 4's time at 1,250 models before it was shared)."""
    memo = {} if memo is None else memo
    key = (name, date_column)
    if key not in memo:
        memo[key] = _grain(models, schema, relations, name, date_column, depth, memo)
    return memo[key]


def _grain(models, schema, relations, name: str, date_column: str, depth: int, memo: dict) -> Grain:
    model = models.get(name)
    if model is None or model.sql is None:
        return Grain()
    found = grain_of(model.sql, date_column, schema, tree=model.tree)
    if found.period or found.upstream is None or depth > 8:  # the depth stops a cycle of models
        return found
    upstream = relations.get(found.upstream[:2])
    if upstream is None or upstream == name:
        return Grain()
    return grain(models, schema, relations, upstream, found.upstream[2], depth + 1, memo)
