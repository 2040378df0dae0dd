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
    if isinstance(expression, exp.Anonymous) and str(expression.this).lower() in _DAY_CASTS and expression.expressions:
        return _day_column(expression.expressions[0])
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
