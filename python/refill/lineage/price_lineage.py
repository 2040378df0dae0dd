"""Which columns of each model derive from the prices model: column lineage over compiled SQL.

The audit before publish (``refill.lineage.audit``) may let a refill change only what a prices gap
can explain, so it needs, per cohort model, the output columns whose *values* come from the
prices model, and whether the model's *row set* depends on prices.

Why scopes and not one ``sqlglot.lineage.lineage()`` call per column: lineage() answers "which
source columns feed this output value", but a price gap also changes values through rows — the
lab's cohorts model groups holders into a bucket computed from ``balance_usd``, so ``holders``
(a bare ``count()``, no source column at all) changes when the bucket does. Walking sqlglot's
scopes of the qualified query (the same scopes lineage() walks) answers both questions in one
pass per model:

* an output is **price-derived** when an expression of its SELECT (window specs and scalar
  subqueries included) reads a price-derived column of one of the scope's sources;
* a scope's **rows depend on prices** when a WHERE / HAVING / QUALIFY / GROUP BY / DISTINCT /
  inner-join condition reads a price-derived column, or a source whose rows depend on prices is
  joined without being the null-supplying side of an outer join (a LEFT JOIN to prices keeps
  every left row: there a gap shows as 0 in a value, not as a missing row).

Across models the answers chain through the graph: every column of the prices model is a
price source and its rows depend on prices (a gap day has no row); a model reading its own
table (state carried forward from ``{{ this }}``) is iterated to a fixpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

DIALECT = "clickhouse"

Relation = tuple[str, str]  # (database, table), lower-cased as sqlglot normalises them


@dataclass(frozen=True)
class PriceDependence:
    """What prices reach in one model: ``columns`` whose values derive from prices, and whether
    its ``rows`` depend on prices. ``error`` says why the SQL could not be traced (then both
    are empty/False unless the user's override names the columns)."""

    columns: frozenset[str] = frozenset()
    rows: bool = False
    error: str | None = None
    overridden: bool = False
    # the columns (a subset of ``columns``) that carry a price-derived *value* — an amount times
    # a price, a price passed through — rather than a count or a label decided by a condition on
    # one: a gap day reads 0/NULL only in these, so only these are judged by "0 where a price
    # exists" (``unpriced_holders = sumIf(holders, bucket = 'unpriced')`` is legitimately 0)
    values: frozenset[str] = field(default=frozenset(), compare=False)

    def as_dict(self) -> dict:
        return {"price_columns": sorted(self.columns), "price_value_columns": sorted(self.values),
                "rows_depend_on_prices": self.rows, "lineage_error": self.error, "overridden": self.overridden}


ALL = PriceDependence(columns=frozenset({"*"}), rows=True, values=frozenset({"*"}))


@dataclass
class _ScopeInfo:
    columns: list[str] = field(default_factory=list)
    price: set[str] = field(default_factory=set)
    rows: bool = False
    values: set[str] = field(default_factory=set)


def tables_of(sql: str) -> set[Relation]:
    """Every ``(database, table)`` the SQL reads, as spelled (CTE names excluded); parse errors give none."""
    try:
        tree = sqlglot.parse_one(sql, dialect=DIALECT)
    except SqlglotError:
        return set()
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return {(t.db, t.name) for t in tree.find_all(exp.Table)
            if t.name and not (not t.db and t.name.lower() in ctes)}


def qualified(sql: str, schema: Mapping) -> exp.Expression:
    """The compiled SELECT parsed and qualified against ``schema`` (``{db: {table: {column: type}}}``,
    stars expanded from it): the tree both the price trace and the grain walk read. Raises
    sqlglot's errors, RecursionError or ValueError when it cannot be qualified.

    Why one home: qualifying is most of a trace's cost (about 25 ms for a small model, seconds
    for a large one); a model is qualified once per run and its tree shared, never re-parsed
    per column or per fixpoint round."""
    return qualify(sqlglot.parse_one(sql, dialect=DIALECT), dialect=DIALECT, schema=dict(schema),
                   validate_qualify_columns=False, identify=False)


_TRACE_ERRORS = (SqlglotError, RecursionError, ValueError)


def _trace_error(exc: BaseException) -> PriceDependence:
    return PriceDependence(error=f"sqlglot could not trace the compiled SQL: {' '.join(str(exc).split())[:200]}")


def analyse(sql: str | exp.Expression, schema: Mapping,
            sources: Mapping[Relation, PriceDependence]) -> PriceDependence:
    """Trace one compiled SELECT (text, or a tree from ``qualified``). ``schema`` is
    ``{db: {table: {column: type}}}`` (stars are expanded from it); ``sources`` gives the
    dependence of each relation it may read."""
    try:
        tree = qualified(sql, schema) if isinstance(sql, str) else sql
        scopes = list(traverse_scope(tree))
    except _TRACE_ERRORS as exc:
        return _trace_error(exc)
    if not scopes:
        return PriceDependence(error="the compiled SQL is not a SELECT")
    info: dict[int, _ScopeInfo] = {}
    for scope in scopes:  # innermost first: every child scope is known before its parent
        info[id(scope.expression)] = _trace_scope(scope, info, sources)
    root = info[id(scopes[-1].expression)]
    return PriceDependence(columns=frozenset(c.lower() for c in root.price), rows=root.rows,
                           values=frozenset(c.lower() for c in root.values))


def _source_dependence(source, info: Mapping[int, _ScopeInfo],
                       sources: Mapping[Relation, PriceDependence]) -> tuple[set[str] | None, bool]:
    """(price-derived columns — None meaning all — , rows depend on prices) of one scope source.

    Every value read from a source whose rows depend on prices depends on prices: which rows
    are there on a gap day decides it (a LEFT JOIN to a model whose buckets moved)."""
    if isinstance(source, Scope):
        child = info.get(id(source.expression))
        if child is None:
            return set(), False
        return (None if child.rows else set(child.price)), child.rows
    if isinstance(source, exp.Table):
        found = sources.get((source.db.lower(), source.name.lower()))
        if found is None:
            return set(), False
        return (None if "*" in found.columns or found.rows else set(found.columns)), found.rows
    return set(), False


def _source_values(source, info: Mapping[int, _ScopeInfo],
                   sources: Mapping[Relation, PriceDependence]) -> set[str] | None:
    """The price-value columns of one scope source (None: all of them, the prices model)."""
    if isinstance(source, Scope):
        child = info.get(id(source.expression))
        return set(child.values) if child is not None else set()
    if isinstance(source, exp.Table):
        found = sources.get((source.db.lower(), source.name.lower()))
        if found is None:
            return set()
        return None if "*" in found.values else set(found.values)
    return set()


def _is_array_join(join: exp.Join) -> bool:
    return (join.kind or "").upper() == "ARRAY" or bool(join.args.get("array"))


def _trace_scope(scope: Scope, info: Mapping[int, _ScopeInfo],
                 sources: Mapping[Relation, PriceDependence]) -> _ScopeInfo:
    expression = scope.expression
    if isinstance(expression, exp.SetOperation):  # UNION: position by position over its branches
        branches = [info.get(id(s.expression)) for s in scope.set_operation_scopes]
        branches = [b for b in branches if b is not None]
        if not branches:
            return _ScopeInfo()
        names = branches[0].columns
        price = {names[i] for b in branches for i, c in enumerate(b.columns) if c in b.price and i < len(names)}
        values = {names[i] for b in branches for i, c in enumerate(b.columns) if c in b.values and i < len(names)}
        return _ScopeInfo(columns=list(names), price=price, rows=any(b.rows for b in branches), values=values)
    if not isinstance(expression, exp.Select):
        return _ScopeInfo()

    by_alias = {alias: _source_dependence(source, info, sources) for alias, source in scope.sources.items()}
    array_aliases: dict[str, exp.Expression] = {}
    for join in expression.args.get("joins") or []:
        if _is_array_join(join):
            for alias_node in join.this.find_all(exp.Alias) if join.this else ():
                array_aliases[alias_node.alias.lower()] = alias_node.this

    def reads_prices(node: exp.Expression | None) -> bool:
        if node is None:
            return False
        for sub in node.walk():
            if isinstance(sub, exp.Column):
                if sub.table and sub.table in by_alias:
                    columns, _ = by_alias[sub.table]
                    if columns is None or sub.name.lower() in columns:
                        return True
                elif not sub.table and sub.name.lower() in array_aliases:
                    if reads_prices(array_aliases[sub.name.lower()]):
                        return True
            elif isinstance(sub, (exp.Select, exp.SetOperation)) and sub is not expression:
                child = info.get(id(sub))
                if child is not None and (child.price or child.rows):
                    return True
        return False

    value_of = {alias: _source_values(source, info, sources) for alias, source in scope.sources.items()}

    def reads_price_value(node: exp.Expression | None) -> bool:
        """Reads a price value other than through a condition (a predicate decides a count or a
        label, it does not carry the price into the value)."""
        if node is None or isinstance(node, exp.Predicate):
            return False
        if isinstance(node, exp.Column):
            if node.table and node.table in value_of:
                values = value_of[node.table]
                return values is None or node.name.lower() in values
            if not node.table and node.name.lower() in array_aliases:
                return reads_price_value(array_aliases[node.name.lower()])
            return False
        if isinstance(node, (exp.Select, exp.SetOperation)) and node is not expression:
            child = info.get(id(node))
            return child is not None and bool(child.values)
        return any(reads_price_value(child) for child in node.iter_expressions())

    rows = False
    joins = expression.args.get("joins") or []
    from_outer = any((j.side or "").upper() in ("RIGHT", "FULL") for j in joins)
    from_clause = expression.args.get("from_") or expression.args.get("from")
    if from_clause is not None and not from_outer:
        alias = from_clause.this.alias_or_name
        rows |= by_alias.get(alias, (set(), False))[1]
    for join in joins:
        if _is_array_join(join):  # ARRAY JOIN multiplies rows by an expression's length
            rows |= reads_prices(join.this)
            continue
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        filters = kind in ("SEMI", "ANTI") or side not in ("LEFT", "FULL")
        if not filters:
            continue
        rows |= by_alias.get(join.this.alias_or_name, (set(), False))[1]
        rows |= reads_prices(join.args.get("on"))
    for clause in ("where", "having", "qualify", "group"):
        rows |= reads_prices(expression.args.get(clause))
    if expression.args.get("distinct"):
        rows |= any(reads_prices(select) for select in expression.selects)

    columns, price, values = [], set(), set()
    for select in expression.selects:
        name = select.alias_or_name
        columns.append(name)
        if reads_prices(select):
            price.add(name)
            if reads_price_value(select):
                values.add(name)
    return _ScopeInfo(columns=columns, price=price, rows=rows, values=values)


def trace_models(
    order: Iterable[str],
    compiled: Mapping[str, str],
    relations: Mapping[str, Relation],
    schema: Mapping,
    roots: Mapping[str, PriceDependence],
    overrides: Mapping[str, Iterable[str]] | None = None,
    trees: dict[str, exp.Expression] | None = None,
) -> dict[str, PriceDependence]:
    """Per model name, in ``order`` (dependency order): its dependence on prices.

    ``roots`` are given outright (the prices model: ``ALL``); ``compiled`` holds each other
    model's compiled SQL; ``relations`` maps a model to the (database, table) others read it
    as. ``overrides`` (the ``refill_price_columns`` var) replaces a model's traced columns.
    A model reading itself (state from ``{{ this }}``) is traced until its answer stops growing.
    ``trees``, when given, receives each traced model's qualified tree, for ``grain_of``.
    """
    overrides = {name: frozenset(c.lower() for c in cols) for name, cols in (overrides or {}).items()}
    known: dict[Relation, PriceDependence] = {}
    result: dict[str, PriceDependence] = {}
    for name, dependence in roots.items():
        result[name] = dependence
        if name in relations:
            known[relations[name]] = dependence
    for name in order:
        if name in result:
            continue
        sql = compiled.get(name)
        own = relations.get(name)
        tree = None
        if sql is None:
            dependence = PriceDependence(error="no compiled SQL")
        else:
            try:
                tree = qualified(sql, schema)
            except _TRACE_ERRORS as exc:
                dependence = _trace_error(exc)
            else:
                if trees is not None:
                    trees[name] = tree
                dependence = PriceDependence()
                # carried-forward state: reading {{ this }} feeds the answer back; any other
                # model's first answer is final (its sources are all known already)
                reads_itself = own is not None and any((t.db.lower(), t.name.lower()) == own
                                                       for t in tree.find_all(exp.Table))
                for _ in range(5 if reads_itself else 1):
                    if own is not None:
                        known[own] = dependence
                    traced = analyse(tree, schema, known)
                    if (traced, traced.values) == (dependence, dependence.values):
                        break
                    dependence = traced
        if name in overrides:
            # the user's columns are judged as values: they named them for what a gap zeroes
            dependence = PriceDependence(columns=overrides[name], rows=dependence.rows, error=dependence.error,
                                         overridden=True, values=overrides[name])
        result[name] = dependence
        if own is not None:
            known[own] = dependence
    return result


# -- the grain of a model's date column --------------------------------------------------------

DAY_PLACEHOLDER = "__refill_day"
_PERIOD_FUNCTIONS = {"tostartofweek", "tomonday", "tostartofmonth", "tostartofquarter", "tostartofyear",
                     "tostartofisoyear", "tostartoffortnight"}


@dataclass(frozen=True)
class Grain:
    """How a model's date column relates to a day: ``period`` is a ClickHouse expression of
    ``__refill_day`` giving the period a day falls in (``toStartOfWeek(__refill_day, 1)``), None
    for a daily column; ``upstream`` is the (database, table, column) the column is read
    from unchanged when the period is decided there (a weekly model over a weekly model)."""

    period: str | None = None
    upstream: tuple[str, str, str] | None = None

    @property
    def unit(self) -> str | None:
        """``week``, ``month``, ``quarter``, ``year``, ``fortnight`` (None: daily)."""
        if not self.period:
            return None
        text = self.period.lower()
        for unit in ("fortnight", "week", "monday", "quarter", "month", "year"):
            if unit in text:
                return "week" if unit == "monday" else unit
        return "period"

    def on(self, day_sql: str) -> str | None:
        return self.period.replace(DAY_PLACEHOLDER, day_sql) if self.period else None


def _period_call(node: exp.Expression) -> exp.Expression | None:
    for sub in node.walk():  # outermost first: toStartOfMonth(toStartOfWeek(d)) is a month
        if isinstance(sub, (exp.TimestampTrunc, exp.DateTrunc)):
            unit = sub.args.get("unit")
            unit = (unit.name if isinstance(unit, exp.Expression) else str(unit or "")).upper()
            if unit in ("WEEK", "MONTH", "QUARTER", "YEAR") or unit.startswith("WEEK"):
                return sub  # a day, an hour or a minute is still a day's row
        if isinstance(sub, exp.Anonymous) and str(sub.this).lower() in _PERIOD_FUNCTIONS:
            return sub
    return None


def grain_of(sql: str, column: str, schema: Mapping, tree: exp.Expression | None = None) -> Grain:
    """The grain of output ``column`` of a compiled SELECT (``Grain()``: daily, or not traced).
    ``tree`` is the SELECT's tree from ``qualified`` when the caller has it (saves qualifying again).

    Why from the SQL: a weekly model's ``week`` is a Date like a daily one; only the expression
    that computed it says a row stands for the seven days from it."""
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.scope import build_scope

    try:
        if tree is None:
            root = lineage(column, sql, schema=dict(schema), dialect=DIALECT)
        else:  # lineage() walks the scope it is given; a copy keeps the shared tree untouched
            own = tree.copy()
            root = lineage(column, own, schema=dict(schema), dialect=DIALECT, scope=build_scope(own), copy=False)
        nodes = list(root.walk())
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError):
        return Grain()
    for node in nodes:
        if isinstance(node.expression, exp.Table):
            continue
        call = _period_call(node.expression)
        if call is None:
            continue
        call = call.copy()
        target = call.this if isinstance(call, (exp.TimestampTrunc, exp.DateTrunc)) else call.expressions[0]
        target.replace(exp.column(DAY_PLACEHOLDER))
        return Grain(period=call.sql(dialect=DIALECT))
    leaves = [n for n in nodes if isinstance(n.expression, exp.Table)]
    if len(leaves) == 1:
        table_node = leaves[0].expression
        return Grain(upstream=(table_node.db.lower(), table_node.name.lower(), leaves[0].name.split(".")[-1]))
    return Grain()
