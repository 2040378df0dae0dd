"""The audit before publish: what Phase 1 may change in a month, and what each month changed.

Write-audit-publish. The ``refill_swap`` materialization computes a cohort month into a staging
twin; between that build and the swap it calls the package macro ``refill.audit_month``, which
diffs the staged month against the live one (rows, keys only on one side with their days, per
column rows changed and sums) and raises — so nothing of the month is swapped and dbt skips the
cohort models reading it — when the diff is not what a prices gap explains. Why in the
materialization and not between two dbt invocations: a later cohort layer runs in the same
invocation and must never read an unaudited month.

This module is the orchestrator's side: it gives the macro its parameters through the var
``refill_audit`` (keys, the day column, the price-derived columns from ``price_lineage``, the gap
days) and reads the verdicts back from ``<schema>.refill_audit``, the table the macro writes.

Why not a data-diff library: reladiff (the maintained fork of data-diff) reaches ClickHouse only
through its own clickhouse-driver connection (the native TCP port), so it cannot open the
embedded chDB engine at all, and on a server it would run outside the dbt invocation — after
the swap, too late to stop a publish. It reports keys and changed columns, not the days and the
price lineage the verdict needs. The three month-bounded queries of ``audit_month`` do the job
on every engine refill supports (README, "Audit before publish").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from refill.dbt.graph import ProjectGraph
from refill.engine.sql import literal, table
from refill.errors import BadInput, CheckFailed
from refill.lineage.price_lineage import ALL, DIALECT, PriceDependence, trace_models

AUDIT_TABLE = "refill_audit"
PUBLISHED, REFUSED = "published", "refused"
OVERRIDE_VAR = "refill_price_columns"


# -- pure: keys and columns from configs and table metadata -------------------------------


def key_expressions(unique_key: Any, sorting_key: str | None) -> list[str]:
    """The audit's key: the model's ``unique_key`` (a string, a tuple text or a list), else the
    table's ORDER BY, as a list of ClickHouse expressions. Empty when neither is set."""
    if isinstance(unique_key, (list, tuple)):
        parts = [str(part) for part in unique_key if str(part).strip()]
        if parts:
            return [p for part in parts for p in _split_key(part)]
    elif isinstance(unique_key, str) and unique_key.strip():
        return _split_key(unique_key)
    return _split_key(sorting_key or "")


def _split_key(text: str) -> list[str]:
    text = text.strip()
    if not text or text == "tuple()":
        return []
    try:
        select = sqlglot.parse_one(f"SELECT {text}", dialect=DIALECT)
    except SqlglotError:
        return [part.strip() for part in text.strip("()").split(",") if part.strip()]
    items = list(select.expressions)
    if len(items) == 1 and isinstance(items[0], (exp.Tuple, exp.Paren)):
        inner = items[0]
        items = list(inner.expressions) if isinstance(inner, exp.Tuple) else [inner.this]
    return [item.sql(dialect=DIALECT) for item in items]


def columns_in(expressions: Iterable[str]) -> set[str]:
    """Column names the key expressions read (lower-cased)."""
    found = set()
    for text in expressions:
        try:
            tree = sqlglot.parse_one(text, dialect=DIALECT)
        except SqlglotError:
            found.add(text.strip("`\"").lower())
            continue
        found |= {c.name.lower() for c in tree.find_all(exp.Column)}
    return found


def day_column(partition_key: str | None, fallback: str) -> str:
    """The column a month's days are read from: the one the partition key reads (a month is a
    partition, so this is the column that decides which month a row belongs to), else ``fallback``."""
    if partition_key:
        try:
            tree = sqlglot.parse_one(partition_key, dialect=DIALECT)
            column = next(tree.find_all(exp.Column), None)
            if column is not None:
                return column.name
        except SqlglotError:
            pass
    return fallback


def price_overrides(project_vars: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``refill_price_columns`` var: ``{model: [column, ...]}``; BadInput when malformed."""
    value = project_vars.get(OVERRIDE_VAR) or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v) for k, v in value.items()
    ):
        raise BadInput(f"var {OVERRIDE_VAR} must map model names to lists of column names, got {value!r}")
    return value


# -- the audit's verdicts -------------------------------------------------------------------


@dataclass(frozen=True)
class MonthAudit:
    """One cohort model's month as the audit saw it (a row of ``refill_audit``)."""

    model: str
    month: str
    verdict: str
    rows_live: int
    rows_staged: int
    keys_only_live: int
    keys_only_staged: int
    columns_changed: tuple[str, ...]
    unexplained: tuple[str, ...]
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def refused(self) -> bool:
        return self.verdict == REFUSED

    def summary_line(self) -> str:
        """``model  month  rows a→b (±n)  keys -x/+y  columns changed: c(n), …  verdict``."""
        counts = {c["name"]: c["changed"] for c in self.detail.get("columns", []) if c.get("changed")}
        changed = ", ".join(f"{name}({counts.get(name, '?')})" for name in self.columns_changed) or "none"
        delta = self.rows_staged - self.rows_live
        return (f"{self.model}  {self.month}  rows {self.rows_live}→{self.rows_staged} ({delta:+d})  "
                f"keys -{self.keys_only_live}/+{self.keys_only_staged}  columns changed: {changed}  {self.verdict}")

    def refusal_line(self) -> str:
        return f"{self.model} month {self.month}: " + "; ".join(self.unexplained)

    def as_dict(self) -> dict:
        return {"model": self.model, "month": self.month, "verdict": self.verdict, "rows_live": self.rows_live,
                "rows_staged": self.rows_staged, "keys_only_live": self.keys_only_live,
                "keys_only_staged": self.keys_only_staged, "columns_changed": list(self.columns_changed),
                "unexplained": list(self.unexplained), "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MonthAudit":
        return cls(model=data["model"], month=data["month"], verdict=data["verdict"],
                   rows_live=int(data["rows_live"]), rows_staged=int(data["rows_staged"]),
                   keys_only_live=int(data["keys_only_live"]), keys_only_staged=int(data["keys_only_staged"]),
                   columns_changed=tuple(data.get("columns_changed") or ()),
                   unexplained=tuple(data.get("unexplained") or ()), detail=dict(data.get("detail") or {}))


class AuditRefused(CheckFailed):
    """A cohort month whose diff a prices gap does not explain; it was not published (exit 3)."""

    def __init__(self, message: str, audits: list[MonthAudit], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.details = {"audit": [a.as_dict() for a in audits]}


def read_month(warehouse, schema: str, run_id: str, month: dt.date, since: dt.datetime) -> list[MonthAudit]:
    """The latest verdict per model for ``month`` of ``run_id`` recorded since ``since``
    (this attempt), from ``<schema>.refill_audit``; [] when the table does not exist yet."""
    relation = table(schema, AUDIT_TABLE)
    if warehouse.cluster:  # the macro's INSERT landed on whichever replica dbt talked to
        relation = f"clusterAllReplicas({literal(warehouse.cluster)}, {relation})"
    exists = warehouse.scalar(f"SELECT count() FROM {warehouse.system_table('tables')} WHERE database = {literal(schema)}"
                              f" AND name = {literal(AUDIT_TABLE)}")
    if not exists:
        return []
    rows = warehouse.rows(
        f"SELECT model, toString(month), verdict, rows_live, rows_staged, keys_only_live, keys_only_staged,"
        f" columns_changed, unexplained, detail FROM {relation}"
        f" WHERE run_id = {literal(run_id)} AND month = {literal(month)}"
        f" AND audited_at >= toDateTime64({literal(since.strftime('%Y-%m-%d %H:%M:%S'))}, 3)"
        " ORDER BY model, audited_at DESC LIMIT 1 BY model"
    )
    return [MonthAudit(model=r[0], month=r[1], verdict=r[2], rows_live=int(r[3]), rows_staged=int(r[4]),
                       keys_only_live=int(r[5]), keys_only_staged=int(r[6]), columns_changed=tuple(r[7]),
                       unexplained=tuple(r[8]), detail=json.loads(r[9] or "{}")) for r in rows]


def render(audits: Iterable[MonthAudit]) -> list[str]:
    return [a.summary_line() for a in audits]


# -- the parameters of a run ----------------------------------------------------------------


@dataclass(frozen=True)
class ModelAuditSpec:
    keys: tuple[str, ...]
    date_column: str
    dependence: PriceDependence

    @property
    def key_price_derived(self) -> bool:
        return bool(columns_in(self.keys) & self.dependence.columns) or "*" in self.dependence.columns

    def as_var(self) -> dict:
        return {"keys": list(self.keys), "date_column": self.date_column,
                "price_columns": sorted(self.dependence.columns),
                "key_price_derived": self.key_price_derived,
                "rows_depend_on_prices": self.dependence.rows}


def price_scope(graph: ProjectGraph, cohort_ids: set[str], prices_id: str) -> list[str]:
    """Unique ids whose SQL decides the cohort's price lineage, in dependency order: the cohort
    and its ancestors that descend from the prices model."""
    wanted = set(cohort_ids)
    for uid in cohort_ids:
        wanted |= graph.ancestors(uid)
    wanted &= graph.descendants({prices_id}) | set(cohort_ids)
    return graph.topological(wanted)


def build_specs(*, graph: ProjectGraph, cohort_ids: set[str], prices_id: str, compiled: Mapping[str, str],
                table_meta: Mapping[tuple[str, str], tuple[str, str]], schema: Mapping,
                unique_keys: Mapping[str, Any], fallback_date_column: str,
                overrides: Mapping[str, list[str]]) -> dict[str, ModelAuditSpec]:
    """Per cohort model name: its audit parameters. ``table_meta`` maps (database, table) to
    (partition_key, sorting_key) as system.tables has them; ``compiled`` maps model names to SQL."""
    order = [graph.nodes[uid].name for uid in price_scope(graph, cohort_ids, prices_id)]
    relations = {graph.nodes[uid].name: (graph.nodes[uid].relation.database.lower(), graph.nodes[uid].relation.identifier.lower())
                 for uid in graph.nodes}
    prices_name = graph.nodes[prices_id].name
    dependence = trace_models(order, compiled, relations, schema, {prices_name: ALL}, overrides)
    specs = {}
    for uid in sorted(cohort_ids):
        node = graph.nodes[uid]
        partition_key, sorting_key = table_meta.get((node.relation.database, node.relation.identifier), ("", ""))
        specs[node.name] = ModelAuditSpec(
            keys=tuple(key_expressions(unique_keys.get(node.name), sorting_key)),
            date_column=day_column(partition_key, fallback_date_column),
            dependence=dependence.get(node.name, PriceDependence(error="not traced")),
        )
    return specs


def audit_var(run_id: str, gap_days: Iterable[dt.date], specs: Mapping[str, ModelAuditSpec],
              new_columns: Mapping[str, Iterable[str]] | None = None) -> dict:
    """The ``refill_audit`` var ``refill.audit_month`` reads.

    ``new_columns`` (model -> columns this run added under on_schema_change) may change like
    price-derived ones: the live month holds their default, the recompute fills them, as
    dbt's own incremental would on its next run."""
    models = {name: spec.as_var() for name, spec in specs.items()}
    for name, columns in (new_columns or {}).items():
        if name in models:
            models[name]["price_columns"] = sorted(set(models[name]["price_columns"]) | set(columns))
    return {"run_id": run_id, "gap_days": [d.isoformat() for d in gap_days], "models": models}


def describe_specs(specs: Mapping[str, ModelAuditSpec]) -> list[str]:
    lines = []
    for name, spec in sorted(specs.items()):
        dep = spec.dependence
        cols = ", ".join(sorted(dep.columns)) or "none"
        how = " (refill_price_columns)" if dep.overridden else ""
        lines.append(f"  {name}: key ({', '.join(spec.keys)}), days from {spec.date_column}, price-derived: {cols}{how}"
                     + ("; rows depend on prices" if dep.rows else ""))
        if dep.error and not dep.overridden:
            lines.append(f"    lineage unavailable ({dep.error}): no column counts as price-derived; "
                         f"name them in var {OVERRIDE_VAR}: {{{name}: [...]}} if this model's repair changes any")
    return lines
