"""Structural facts about ClickHouse SQL, read from sqlglot ASTs (dialect ``clickhouse``).

Nothing here matches text: partition keys, engines and the month window are recognised
by their syntax tree, and bounds are folded to dates (``toDate('…')``, ``addMonths``,
``toLastDayOfMonth``, ``INTERVAL``, ``toYYYYMM``…), so every equivalent spelling of the
same window is the same window. sqlglot turns ``toStartOfMonth(x)`` into a month
``TimestampTrunc`` node (and prints it as ``dateTrunc``), so the tree is analysed, never
regenerated SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from refill.lint.scenario import last_day_of_month

DIALECT = "clickhouse"
REPLACING_ENGINES = frozenset({"ReplacingMergeTree", "ReplicatedReplacingMergeTree", "SharedReplacingMergeTree"})
_DAY_CASTS = frozenset({"todate", "todate32", "todatetime", "todatetime64", "parsedatetimebesteffort"})
# Null-handling wrappers return the column's own value for every non-NULL row, so a bound
# on `assumeNotNull(d)` or `toNullable(d)` is a bound on d (`ifNull(d, x)` is parsed as COALESCE).
_NULL_WRAPPERS = frozenset({"assumenotnull", "tonullable"})
_OPS = {exp.GTE: ">=", exp.GT: ">", exp.LTE: "<=", exp.LT: "<", exp.EQ: "="}
_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "=": "="}


class NotSQL(ValueError):
    """sqlglot could not parse the text."""


def parse(sql: str) -> exp.Expression:
    try:
        tree = sqlglot.parse_one(sql, dialect=DIALECT)
    except SqlglotError as exc:
        raise NotSQL(" ".join(str(exc).split())[:200]) from None
    if tree is None:
        raise NotSQL("empty")
    return tree


# -- engine, partition, keys ----------------------------------------------------------

@lru_cache(maxsize=1024)
def engine_name(engine: str) -> str | None:
    """`ReplicatedReplacingMergeTree('/p', '{replica}', ver)` -> its name; None if not one."""
    try:
        tree = parse(engine)
    except NotSQL:
        return None
    if isinstance(tree, exp.Anonymous):
        return str(tree.this)
    if isinstance(tree, exp.Column) and not tree.table:
        return tree.name
    return None


def month_column(expression: exp.Expression) -> exp.Column | None:
    """The column of `toStartOfMonth(c)`, `toYYYYMM(c)`, `date_trunc('month', c)`."""
    expression = _unwrap(expression)
    if isinstance(expression, (exp.TimestampTrunc, exp.DateTrunc)) and _unit(expression) == "MONTH":
        return _day_column(expression.this)
    if isinstance(expression, exp.Anonymous) and str(expression.this).lower() in {"toyyyymm", "tostartofmonth"}:
        return _day_column(expression.expressions[0]) if len(expression.expressions) == 1 else None
    return None


@lru_cache(maxsize=1024)
def partition_month_column(partition_by: str) -> str | None:
    try:
        column = month_column(parse(partition_by))
    except NotSQL:
        return None
    return column.name if column is not None else None


@lru_cache(maxsize=1024)
def column_names(key: str) -> frozenset[str]:
    """Columns named by an ORDER BY or unique key: `(date, token)`, `date`, `tuple(a, b)`."""
    return frozenset(column.name for column in parse(key).find_all(exp.Column))


@lru_cache(maxsize=1024)
def is_set_statement(sql: str) -> bool:
    try:
        return isinstance(parse(sql), exp.Set)
    except NotSQL:
        return False


# -- the month window -----------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """The days a WHERE/PREWHERE/HAVING lets through for one column (None: unbounded)."""

    column: str
    low: dt.date | None
    high: dt.date | None

    def describe(self) -> str:
        return f"[{self.low or 'unbounded'}, {self.high or 'unbounded'}]"


def windows(tree: exp.Expression) -> list[Window]:
    """Per filter clause and column, the day range its AND-ed date bounds allow."""
    found: list[Window] = []
    for clause in tree.find_all(exp.Where, exp.PreWhere, exp.Having):
        bounds: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
        for condition in _conjuncts(clause.this):
            for column, low, high in _bounds(condition):
                bounds.setdefault(column, []).append((low, high))
        for column, ranges in bounds.items():
            lows = [low for low, _ in ranges if low is not None]
            highs = [high for _, high in ranges if high is not None]
            found.append(Window(column, max(lows) if lows else None, min(highs) if highs else None))
    return found


def aliases_of(tree: exp.Expression, column: str) -> frozenset[str]:
    """`column` and the source columns projected as it (`tr.block_date AS date`)."""
    names = {column}
    for alias in tree.find_all(exp.Alias):
        if alias.alias == column:
            source = _day_column(alias.this)
            if source is not None:
                names.add(source.name)
    return frozenset(names)


def _conjuncts(condition: exp.Expression) -> Iterator[exp.Expression]:
    condition = _unwrap(condition)
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.this)
        yield from _conjuncts(condition.expression)
    else:
        yield condition


def _bounds(condition: exp.Expression) -> Iterable[tuple[str, dt.date | None, dt.date | None]]:
    if isinstance(condition, exp.In) and condition.expressions and not condition.args.get("query"):
        yield from _in_bounds(condition)
        return
    if isinstance(condition, exp.Between):
        yield from _bounds(exp.GTE(this=condition.this, expression=condition.args["low"]))
        yield from _bounds(exp.LTE(this=condition.this, expression=condition.args["high"]))
        return
    op = _OPS.get(type(condition))
    if op is None:
        return
    left, right = condition.this, condition.expression
    view = _column_view(left)
    if view is None:
        view, right, op = _column_view(right), left, _FLIPPED[op]
    if view is None:
        return
    column, grain = view
    value = _constant(right)
    if value is None:
        return
    low, high = _day_range(grain, op, value)
    if low is not None or high is not None:
        yield column, low, high


def _in_bounds(condition: exp.In) -> Iterable[tuple[str, dt.date | None, dt.date | None]]:
    """`toStartOfMonth(d) IN ('2026-03-01', '2026-04-01')`: a window when the months are consecutive."""
    view = _column_view(condition.this)
    if view is None or view[1] == "day":
        return
    column, grain = view
    months = []
    for value in (_constant(e) for e in condition.expressions):
        month = _month_of_yyyymm(value) if grain == "yyyymm" else _as_date(value)
        if month is None or month.day != 1:
            return
        months.append(month)
    months = sorted(set(months))
    if all(_add_months(a, 1) == b for a, b in zip(months, months[1:])):
        yield column, months[0], last_day_of_month(months[-1])


def _day_range(grain: str, op: str, value: dt.date | int | str) -> tuple[dt.date | None, dt.date | None]:
    """The days d for which `grain(d) op value` holds, as an interval."""
    if grain == "yyyymm":
        value = _month_of_yyyymm(value)
    if not isinstance(value, dt.date):
        return None, None
    if grain == "day":
        one = dt.timedelta(days=1)
        return {">=": (value, None), ">": (value + one, None), "<=": (None, value),
                "<": (None, value - one), "=": (value, value)}[op]
    # month granularity: compare the month start of d with value
    floor = value.replace(day=1)
    on_start = value.day == 1
    if op == ">=":
        return (floor if on_start else _add_months(floor, 1)), None
    if op == ">":
        return _add_months(floor, 1), None
    if op == "<=":
        return None, last_day_of_month(floor)
    if op == "<":
        return None, last_day_of_month(_add_months(floor, -1) if on_start else floor)
    return (floor, last_day_of_month(floor)) if on_start else (None, None)


def _column_view(expression: exp.Expression) -> tuple[str, str] | None:
    """(column, "day" | "month" | "yyyymm") for a column and the functions of it we understand."""
    expression = _unwrap(expression)
    column = month_column(expression)
    if column is not None:
        is_yyyymm = isinstance(_unwrap(expression), exp.Anonymous) and str(_unwrap(expression).this).lower() == "toyyyymm"
        return column.name, "yyyymm" if is_yyyymm else "month"
    column = _day_column(expression)
    return (column.name, "day") if column is not None else None


def _day_column(expression: exp.Expression) -> exp.Column | None:
    expression = _unwrap(expression)
    if isinstance(expression, exp.Column):
        return expression
    if isinstance(expression, exp.Cast) and expression.to.is_type(*exp.DataType.TEMPORAL_TYPES):
        return _day_column(expression.this)
    if isinstance(expression, (exp.TimestampTrunc, exp.DateTrunc)) and _unit(expression) == "DAY":
        return _day_column(expression.this)
    if isinstance(expression, exp.Anonymous) and str(expression.this).lower() in _DAY_CASTS | _NULL_WRAPPERS \
            and expression.expressions:
        return _day_column(expression.expressions[0])
    if isinstance(expression, exp.Coalesce):
        return _day_column(expression.this)
    return None


def _constant(expression: exp.Expression) -> dt.date | int | str | None:
    """Folds a constant date expression; None when it depends on data or functions we don't know."""
    expression = _unwrap(expression)
    if isinstance(expression, exp.Literal):
        if expression.is_string:
            return _date(expression.this) or expression.this
        return int(expression.this) if str(expression.this).lstrip("-").isdigit() else None
    if isinstance(expression, exp.Neg):
        inner = _constant(expression.this)
        return -inner if isinstance(inner, int) else None
    if isinstance(expression, exp.Cast):
        return _as_date(_constant(expression.this))
    if isinstance(expression, (exp.TimestampTrunc, exp.DateTrunc)):
        day = _as_date(_constant(expression.this))
        return day.replace(day=1) if day and _unit(expression) == "MONTH" else day if _unit(expression) == "DAY" else None
    if isinstance(expression, exp.LastDay):
        day = _as_date(_constant(expression.this))
        return last_day_of_month(day) if day else None
    if isinstance(expression, (exp.Add, exp.Sub)) and isinstance(expression.expression, exp.Interval):
        return _shift(_as_date(_constant(expression.this)), expression.expression, -1 if isinstance(expression, exp.Sub) else 1)
    if isinstance(expression, exp.Anonymous):
        return _function(str(expression.this).lower(), [_constant(a) for a in expression.expressions])
    return None


def _function(name: str, arguments: list) -> dt.date | int | None:
    first = _as_date(arguments[0]) if arguments else None
    if name in _DAY_CASTS or name == "tostartofday":
        return first
    if name == "tostartofmonth":
        return first.replace(day=1) if first else None
    if name == "tolastdayofmonth":
        return last_day_of_month(first) if first else None
    if name == "toyyyymm":
        return first.year * 100 + first.month if first else None
    if len(arguments) == 2 and first and isinstance(arguments[1], int):
        step = {"adddays": (1, "DAY"), "subtractdays": (-1, "DAY"), "addmonths": (1, "MONTH"), "subtractmonths": (-1, "MONTH")}.get(name)
        if step:
            sign, unit = step
            return _add_months(first, sign * arguments[1]) if unit == "MONTH" else first + dt.timedelta(days=sign * arguments[1])
    return None


def _shift(day: dt.date | None, interval: exp.Interval, sign: int) -> dt.date | None:
    amount = _constant(interval.this)
    if isinstance(amount, str) and amount.lstrip("-").isdigit():
        amount = int(amount)
    unit = interval.text("unit").upper().rstrip("S")
    if day is None or not isinstance(amount, int):
        return None
    if unit == "MONTH":
        return _add_months(day, sign * amount)
    if unit == "DAY":
        return day + dt.timedelta(days=sign * amount)
    return None


def _unit(expression: exp.Expression) -> str:
    unit = expression.args.get("unit")
    return (unit.name if unit is not None else "").upper()


def _unwrap(expression: exp.Expression) -> exp.Expression:
    while isinstance(expression, exp.Paren):
        expression = expression.this
    return expression


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _date(value)
    return None


def _month_of_yyyymm(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and 100001 <= value <= 999912 and 1 <= value % 100 <= 12:
        return dt.date(value // 100, value % 100, 1)
    return None


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, last_day_of_month(dt.date(year, month + 1, 1)).day))


# -- where each row comes from: the month window per UNION branch and subquery ---------

FILTERED, NEUTRAL, UNBOUNDED = "filtered", "neutral", "unbounded"


@dataclass(frozen=True)
class Flow:
    """What reaches a query's output, as far as the date column goes.

    ``FILTERED``: every row passed the month window; ``NEUTRAL``: the rows carry no date read
    from a table (a lookup, a generated calendar); ``UNBOUNDED``: rows of a table's date
    column reach the output with no month window on the way (``source`` names the query
    that reads them); a wrong ``window`` is a window that is not the months asked for.
    """

    state: str
    source: str = ""
    window: "Window | None" = None
    table: str = ""  # the table whose rows pass unfiltered

    @property
    def bad(self) -> bool:
        return self.state == UNBOUNDED


def month_flow(tree: exp.Expression, names: frozenset[str], month: tuple[dt.date, dt.date]) -> Flow:
    """Follows rows from every table that supplies the date column (``names``: it and the
    source columns projected as it) through CTEs, subqueries, joins and every UNION branch
    to the output. A branch that reads the date column without the month window ``month``
    makes the whole model UNBOUNDED, whatever the other branches filter.

    Subqueries in predicates (`WHERE d > (SELECT max(d) FROM this)`) are not row sources.
    """
    return _RowFlow(names, month).query(tree, {})


class _RowFlow:
    def __init__(self, names: frozenset[str], month: tuple[dt.date, dt.date]) -> None:
        self.names = names
        self.month = month

    def query(self, node: exp.Expression, ctes: dict[str, "_Lazy"]) -> Flow:
        node = _unwrap(node)
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes)
        if isinstance(node, exp.SetOperation):
            ctes = self._with(node, ctes)
            left, right = self.query(node.this, ctes), self.query(node.expression, ctes)
            if isinstance(node, exp.Except):
                return left
            return _union(left, right) if isinstance(node, exp.Union) else _inner(left, right)
        if isinstance(node, exp.Select):
            return self.select(node, self._with(node, ctes))
        return Flow(NEUTRAL)

    def _with(self, node: exp.Expression, ctes: dict[str, "_Lazy"]) -> dict[str, "_Lazy"]:
        with_ = node.args.get("with_") or node.args.get("with")
        if not with_:
            return ctes
        scoped = dict(ctes)
        for cte in with_.expressions:
            scoped[cte.alias_or_name] = _Lazy(self, cte.this, dict(scoped))
        return scoped

    def select(self, select: exp.Select, ctes: dict[str, "_Lazy"]) -> Flow:
        own = self._own_window(select)
        if own is not None and (own.low, own.high) == self.month:
            return Flow(FILTERED)
        sources = self._sources(select, ctes)
        if not sources:
            flow = Flow(NEUTRAL)
        else:
            flow = sources[0][2]
            for side, kind, right in sources[1:]:
                flow = _join(flow, right, side, kind)
        if own is None:
            return flow
        if flow.state == NEUTRAL and self._dated_aliases(select) == set():
            return flow  # a bound on rows whose date is not passed on (`SELECT max(d) … WHERE d < …`)
        covers = (own.low is None or own.low <= self.month[0]) and (own.high is None or own.high >= self.month[1])
        if flow.state == FILTERED and covers:
            return flow
        return Flow(UNBOUNDED, _describe(select), own)

    def _own_window(self, select: exp.Select) -> Window | None:
        found = None
        clauses = [select.args[key].this for key in ("where", "prewhere", "having") if select.args.get(key)]
        # An inner join keeps only the rows its ON condition lets through: a filter too.
        clauses += [join.args["on"] for join in select.args.get("joins") or []
                    if join.args.get("on") is not None and not join.side and (join.kind or "INNER").upper() == "INNER"]
        for condition in clauses:
            for window in _clause_windows(condition):
                if window.column in self.names:
                    if (window.low, window.high) == self.month:
                        return window
                    found = found or window
        return found

    def _sources(self, select: exp.Select, ctes: dict[str, "_Lazy"]) -> list[tuple[str, str, Flow]]:
        from_ = select.args.get("from_") or select.args.get("from")
        items: list[tuple[str, str, exp.Expression]] = []
        if from_ is not None:
            items.append(("", "", from_.this))
        for join in select.args.get("joins") or []:
            kind = (join.kind or "").upper()
            if kind == "ARRAY":
                continue  # unnests the rows it is given; adds none of another table's
            items.append(((join.side or "").upper(), kind, join.this))
        dated = self._dated_aliases(select)
        return [(side, kind, self._source(item, ctes, dated)) for side, kind, item in items]

    def _source(self, item: exp.Expression, ctes: dict[str, "_Lazy"], dated: set[str] | None) -> Flow:
        if isinstance(item, exp.Subquery) or isinstance(item, (exp.Select, exp.SetOperation)):
            return self.query(item, ctes)
        if isinstance(item, exp.Table):
            if not item.args.get("db") and item.name in ctes:
                return ctes[item.name].flow()
            alias = item.alias_or_name
            if item.this is not None and not isinstance(item.this, exp.Identifier):
                return Flow(NEUTRAL)  # a table function (numbers(), …)
            if dated is None or alias in dated:
                return Flow(UNBOUNDED, f"the query reading {_table_name(item)}", table=item.name)
        return Flow(NEUTRAL)

    def _dated_aliases(self, select: exp.Select) -> set[str] | None:
        """The sources the output's date column is read from; None: any of them (unqualified or *)."""
        aliases: set[str] = set()
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                return None
            if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                aliases.add(projection.table)
                continue
            column = _day_column(projection.unalias())
            if column is None or not (column.name in self.names or projection.alias_or_name in self.names):
                continue
            if not column.table:
                return None
            aliases.add(column.table)
        return aliases


class _Lazy:
    """A CTE's flow, computed once and only if something reads it."""

    def __init__(self, flows: _RowFlow, node: exp.Expression, ctes: dict[str, "_Lazy"]) -> None:
        self._flows, self._node, self._ctes = flows, node, ctes
        self._flow: Flow | None = None

    def flow(self) -> Flow:
        if self._flow is None:
            self._flow = Flow(NEUTRAL)  # a recursive CTE reads itself: no new source there
            self._flow = self._flows.query(self._node, self._ctes)
        return self._flow


def _clause_windows(condition: exp.Expression) -> list[Window]:
    bounds: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
    for conjunct in _conjuncts(condition):
        for column, low, high in _bounds(conjunct):
            bounds.setdefault(column, []).append((low, high))
    result = []
    for column, ranges in bounds.items():
        lows = [low for low, _ in ranges if low is not None]
        highs = [high for _, high in ranges if high is not None]
        result.append(Window(column, max(lows) if lows else None, min(highs) if highs else None))
    return result


def _union(left: Flow, right: Flow) -> Flow:
    for flow in (left, right):
        if flow.bad:
            return flow
    return left if left.state == FILTERED else right


def _inner(left: Flow, right: Flow) -> Flow:
    """Rows must match on both sides: a month-filtered side bounds the result."""
    for flow in (left, right):
        if flow.state == FILTERED:
            return flow
    return left if left.bad else right


def _join(left: Flow, right: Flow, side: str, kind: str) -> Flow:
    if side == "LEFT":
        return left if left.state != NEUTRAL or not right.bad else right
    if side == "RIGHT":
        return right if right.state != NEUTRAL or not left.bad else left
    if side == "FULL" or kind == "CROSS":
        return _union(left, right)
    return _inner(left, right)


def _describe(select: exp.Select) -> str:
    tables = [_table_name(t) for t in select.find_all(exp.Table)]
    return f"the query reading {tables[0]}" if tables else "a query"


def _table_name(table: exp.Table) -> str:
    return f"`{table.name}`"


def reads_relation(tree: exp.Expression, schema: str, name: str) -> bool:
    """Whether the query reads ``schema.name`` as a source of rows: a FROM or JOIN outside
    any WHERE/PREWHERE/HAVING (a watermark `WHERE d > (SELECT max(d) FROM t)` is not)."""
    for table in tree.find_all(exp.Table):
        if table.name != name or (table.db and table.db != schema):
            continue
        if table.find_ancestor(exp.Where, exp.PreWhere, exp.Having) is None:
            return True
    return False


# -- the daily window: whole months, or past the table's last day ---------------------

def _row_clauses(tree: exp.Expression) -> Iterator[exp.Expression]:
    """The WHERE/PREWHERE conditions of queries whose rows are written (not the ones of a
    subquery inside a predicate, such as a watermark's `SELECT max(d) FROM this WHERE …`)."""
    for clause in tree.find_all(exp.Where, exp.PreWhere):
        if clause.parent is not None and clause.parent.find_ancestor(exp.Where, exp.PreWhere, exp.Having) is None:
            yield from _conjuncts(clause.this)


def _date_comparisons(tree: exp.Expression, names: frozenset[str]) -> Iterator[tuple[str, str, exp.Expression]]:
    """(grain, operator, other side) for each comparison of a date column, column on the left."""
    for condition in _row_clauses(tree):
        op = _OPS.get(type(condition))
        if op is None:
            continue
        view, other = _column_view(condition.this), condition.expression
        if view is None:
            view, other, op = _column_view(condition.expression), condition.this, _FLIPPED[op]
        if view is not None and view[0] in names:
            yield view[1], op, other


def month_cutting_bounds(tree: exp.Expression, names: frozenset[str]) -> list[str]:
    """Lower bounds (and equalities) on the date column that can start inside a month:
    insert_overwrite would replace that month with the rows after the bound."""
    cutting = []
    for grain, op, other in _date_comparisons(tree, names):
        if grain != "day" or op not in (">=", ">", "="):
            continue
        if op == ">=" and _is_month_start(other):
            continue
        cutting.append(f"{op} {other.sql(dialect=DIALECT)}")
    return cutting


def has_watermark(tree: exp.Expression, names: frozenset[str], schema: str, name: str) -> bool:
    """Whether the rows are bounded below by the table's own last day, strictly:
    `d > (SELECT max(d) FROM this)` (also through coalesce, toDate…). Only then does an
    append never write a day the table already holds."""
    for _, op, other in _date_comparisons(tree, names):
        if op != ">":
            continue
        subquery = other if isinstance(_unwrap(other), exp.Subquery) else other.find(exp.Subquery)
        if subquery is None or subquery.find(exp.Max) is None:
            continue
        if any(t.name == name and (not t.db or t.db == schema) for t in subquery.find_all(exp.Table)):
            return True
    return False


def _is_month_start(expression: exp.Expression) -> bool:
    expression = _unwrap(expression)
    if isinstance(expression, exp.Subquery) and isinstance(expression.this, exp.Select) \
            and len(expression.this.expressions) == 1:
        return _is_month_start(expression.this.expressions[0].unalias())
    constant = _as_date(_constant(expression))
    if constant is not None:
        return constant.day == 1
    if isinstance(expression, (exp.TimestampTrunc, exp.DateTrunc)):
        return _unit(expression) == "MONTH"
    return isinstance(expression, exp.Anonymous) and str(expression.this).lower() in {"tostartofmonth", "tostartofquarter", "tostartofyear"}
