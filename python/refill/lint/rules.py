"""The refill contract as lint rules: one class per rule, and the registry, a list."""

from __future__ import annotations

from typing import Any, ClassVar, Iterator

from refill.lint.context import FILTER_MACRO, POST_HOOK_MARK, PRE_HOOK_MARK
from refill.lint.finding import ERROR, WARNING, Finding, Severity
from refill.lint.model import ModelFacts
from refill.lint.project import OPT_IN_VAR, as_list
from refill.lint.scenario import (
    COMBINATIONS, DAILY, DAILY_SCENARIO, END_MONTH, MONTH_REFILL, MONTH_SCENARIOS, MONTH_WINDOW,
    START_MONTH, Combination, Scenario,
)
from refill.lint.sqlshape import (
    REPLACING_ENGINES, NotSQL, Window, aliases_of, column_names, engine_name, is_set_statement,
    partition_month_column, windows,
)

REFILL_STRATEGIES = ("append", "insert_overwrite")
DAILY_STRATEGY = "delete+insert"


class Rule:
    """A clause of the refill contract. Subclasses set the class attributes and `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]   # one line: what the contract requires
    hint: ClassVar[str]      # how to fix it
    severity: ClassVar[Severity] = ERROR

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return " ".join((cls.__doc__ or "").split())

    def finding(self, facts: ModelFacts, line: int, col: int, message: str) -> Finding:
        return Finding(
            path=facts.model.path, line=line, col=col, code=self.code, message=message,
            model=facts.model.name, severity=self.severity, hint=self.hint,
        )


class Unrenderable(Rule):
    """The linter could not evaluate the model's Jinja (syntax error, unknown macro, a
    compiler error), so the clauses that need it are unchecked."""

    code = "RF000"
    name = "unrenderable"
    message = "the model's Jinja cannot be evaluated"
    hint = "fix the Jinja error; an unprefixed refill macro needs the root-project shims (`python -m refill init`)"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        for failure in facts.failures:
            yield self.finding(facts, failure.line, failure.col, failure.message)


class StrategyBranches(Rule):
    """incremental_strategy, evaluated under every combination of start_month and
    incremental_end_date, is append (or insert_overwrite) when either is set and
    delete+insert when neither is."""

    code = "RF001"
    name = "strategy-branches"
    message = "incremental_strategy must be append when refilling and delete+insert otherwise"
    hint = ("incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) "
            "else 'delete+insert')")

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("incremental_strategy"):
            return
        wrong = [
            f"{_show(value)} {combination.describe()} (expected {_expected(combination)})"
            for combination, value in facts.all_values("incremental_strategy")
            if value not in (REFILL_STRATEGIES if combination.is_refill else (DAILY_STRATEGY,))
        ]
        if wrong:
            line, col = facts.config_location("incremental_strategy")
            yield self.finding(facts, line, col, "incremental_strategy is " + "; ".join(wrong) + _origin(facts, "incremental_strategy"))


class MonthWindow(Rule):
    """With start_month/end_month set, the rendered SQL restricts the date column to exactly
    the months [start_month, end_month] (checked on the sqlglot tree, under is_incremental()
    true and false); without them, the incremental run calls apply_monthly_incremental_filter."""

    code = "RF002"
    name = "month-window"
    message = "the refill must rewrite exactly the months [start_month, end_month]"
    hint = ("{% if start_month and end_month %} AND toStartOfMonth(date) >= toDate('{{ start_month }}') "
            "AND toStartOfMonth(date) <= toDate('{{ end_month }}') {% else %} "
            "{{ refill.apply_monthly_incremental_filter('date', 'date', true) }} {% endif %}")

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        line = facts.body_location()
        for scenario in MONTH_SCENARIOS:
            verdict = window_verdict(facts, scenario)
            if isinstance(verdict, Window):
                yield self.finding(facts, line, _col(facts, line),
                    f"with start_month={START_MONTH}, end_month={END_MONTH} (is_incremental() {_flag(scenario)}) "
                    f"`{verdict.column}` is restricted to {verdict.describe()}, not the months "
                    f"[{MONTH_WINDOW[0]}, {MONTH_WINDOW[1]}]")
                break
            if verdict == MISSING and facts.value("incremental_strategy", MONTH_REFILL) != "append":
                yield self.finding(facts, line, _col(facts, line),
                    f"with start_month/end_month set (is_incremental() {_flag(scenario)}) the SQL does not "
                    f"restrict {_date_column_text(facts)} to the months{_lookback_note(facts, scenario)}")
                break
        daily = facts.renders.get(DAILY_SCENARIO)
        if daily is not None and daily.sql is not None and daily.filter_calls == 0:
            line = facts.branch_line or facts.anchor_line
            yield self.finding(facts, line, _col(facts, line),
                f"without start_month/end_month the incremental run does not call {FILTER_MACRO}")


class MemoryHooks(Rule):
    """pre_hook and post_hook call refill_safe_pre_hook() and refill_safe_post_hook()
    (prefixed `refill.` or through root-project shims), not hand-written SET statements."""

    code = "RF003"
    name = "memory-hooks"
    message = "the refill-safe memory hooks must wrap the model"
    hint = "pre_hook=refill.refill_safe_pre_hook(), post_hook=refill.refill_safe_post_hook()"
    severity = WARNING

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        for key, mark, macro in (("pre_hook", PRE_HOOK_MARK, "refill_safe_pre_hook"),
                                 ("post_hook", POST_HOOK_MARK, "refill_safe_post_hook")):
            if not facts.known(key):
                continue
            hooks = [str(hook) for hook in as_list(facts.value(key, MONTH_REFILL))]
            if any(mark in hook for hook in hooks):
                continue
            inlined = next((hook for hook in hooks if is_set_statement(hook)), None)
            problem = (f"inlines `{_clip(inlined)}` instead of calling {macro}()" if inlined
                       else f"does not call {macro}()")
            line, col = facts.config_location(key)
            yield self.finding(facts, line, col, f"{key} {problem}{_origin(facts, key)}")


class ReplacingEngine(Rule):
    """The engine is in the ReplacingMergeTree family (plain, Replicated or Shared):
    OPTIMIZE … DEDUPLICATE cannot replace wrong rows with corrected ones on a MergeTree."""

    code = "RF004"
    name = "replacing-engine"
    message = "a refilled model must use a ReplacingMergeTree engine"
    hint = "engine='ReplacingMergeTree()' (or ReplicatedReplacingMergeTree(...) on a cluster)"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("engine"):
            return
        engine = facts.value("engine", MONTH_REFILL)
        line, col = facts.config_location("engine")
        if engine is None:
            yield self.finding(facts, line, col, "engine is not set: dbt-clickhouse creates a MergeTree")
        elif engine_name(str(engine)) not in REPLACING_ENGINES:
            yield self.finding(facts, line, col, f"engine {_show(engine)} is not a ReplacingMergeTree{_origin(facts, 'engine')}")


class MonthlyPartition(Rule):
    """The table is partitioned by the month of its date column (toStartOfMonth(…) or
    toYYYYMM(…)) and nothing else: a refill rewrites whole months."""

    code = "RF005"
    name = "monthly-partition"
    message = "a refilled model must be partitioned by month"
    hint = "partition_by='toStartOfMonth(date)'"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("partition_by"):
            return
        partition_by = _single(facts.value("partition_by", MONTH_REFILL))
        line, col = facts.config_location("partition_by")
        if partition_by is None:
            yield self.finding(facts, line, col, "partition_by is not set: a refill rewrites whole months")
        elif partition_month_column(str(partition_by)) is None:
            yield self.finding(facts, line, col,
                f"partition_by {_show(partition_by)} is not the month of the date column{_origin(facts, 'partition_by')}")


class InsertOverwriteOptIn(Rule):
    """insert_overwrite replaces whole partitions, so a narrower window silently drops the
    rest of the month: it is allowed only where the project sets the opt-in var."""

    code = "RF006"
    name = "insert-overwrite-opt-in"
    message = f"insert_overwrite needs the project opt-in (var {OPT_IN_VAR})"
    hint = f"use 'append' in the refill branch, or set vars: {{{OPT_IN_VAR}: true}} in dbt_project.yml"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if facts.allow_insert_overwrite or not facts.known("incremental_strategy"):
            return
        where = [c for c, value in facts.all_values("incremental_strategy") if value == "insert_overwrite"]
        if where:
            line, col = facts.config_location("incremental_strategy")
            yield self.finding(facts, line, col,
                f"incremental_strategy is 'insert_overwrite' {_combinations(where)}, but the project does not "
                f"opt in (var {OPT_IN_VAR})")


class AppendWithoutWindow(Rule):
    """An append refill with no month filter re-appends every row the model selects: the
    whole history is duplicated, not just the refilled months."""

    code = "RF007"
    name = "append-without-window"
    message = "an append refill without a month filter duplicates data"
    hint = MonthWindow.hint

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if facts.value("incremental_strategy", MONTH_REFILL) != "append":
            return
        for scenario in MONTH_SCENARIOS:
            if window_verdict(facts, scenario) == MISSING:
                line = facts.body_location()
                yield self.finding(facts, line, _col(facts, line),
                    f"with start_month/end_month set (is_incremental() {_flag(scenario)}) the append does not "
                    f"restrict {_date_column_text(facts)} to the months: rows outside them are appended "
                    f"again{_lookback_note(facts, scenario)}")
                return


class Incremental(Rule):
    """A refilled model is materialized incremental (or, where start_month is set,
    refill_swap): a table or view rebuilt with the month vars set keeps only the refilled
    months."""

    code = "RF008"
    name = "incremental"
    message = "a refilled model must be materialized incremental"
    hint = "materialized='incremental' (or drop the refill tag)"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("materialized"):
            return
        wrong = [(c, value) for c, value in facts.all_values("materialized") if value not in _materializations(c)]
        if wrong:
            line, col = facts.config_location("materialized")
            shown = sorted({_show(value) for _, value in wrong})
            yield self.finding(facts, line, col,
                f"materialized is {' or '.join(shown)} {_combinations([c for c, _ in wrong])}, not 'incremental'"
                f"{_origin(facts, 'materialized')}")


def _materializations(combination: Combination) -> tuple[str, ...]:
    # refill_swap computes the month aside and needs start_month (it refuses to run without).
    return ("incremental", "refill_swap") if combination.start_month else ("incremental",)


class DedupKey(Rule):
    """ORDER BY names the same columns as unique_key: ReplacingMergeTree deduplicates by its
    sorting key, so a finer key keeps wrong rows beside corrected ones and a coarser key
    merges distinct rows."""

    code = "RF009"
    name = "dedup-key"
    message = "order_by must be the model's grain (unique_key)"
    hint = "order_by='(date, token_address)' with unique_key='(date, token_address)'"
    severity = WARNING

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not (facts.known("order_by") and facts.known("unique_key")):
            return
        unique_key = _key_text(facts.value("unique_key", DAILY))
        order_by = _key_text(facts.value("order_by", DAILY))
        if unique_key is None:
            return
        line, col = facts.config_location("order_by")
        if order_by is None:
            yield self.finding(facts, line, col, "order_by is not set: ReplacingMergeTree deduplicates by ORDER BY")
            return
        try:
            same = column_names(order_by) == column_names(unique_key)
        except NotSQL:
            return
        if not same:
            yield self.finding(facts, line, col, f"order_by {order_by} is not unique_key {unique_key}")


class UnparsedSQL(Rule):
    """sqlglot (dialect clickhouse) could not parse the rendered SQL, so the month window
    is unchecked."""

    code = "RF010"
    name = "unparsed-sql"
    message = "the rendered SQL does not parse; the month window is unchecked"
    hint = "check the model compiles (`dbt compile`); if it does, suppress with `{# noqa: RF010 #}` on line 1"
    severity = WARNING

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        for scenario in MONTH_SCENARIOS:
            tree = facts.tree(scenario)
            if isinstance(tree, NotSQL):
                line = facts.body_location()
                yield self.finding(facts, line, _col(facts, line),
                    f"the SQL rendered {scenario.describe()} does not parse: {tree}")
                return


RULES: list[Rule] = [
    Unrenderable(), StrategyBranches(), MonthWindow(), MemoryHooks(), ReplacingEngine(),
    MonthlyPartition(), InsertOverwriteOptIn(), AppendWithoutWindow(), Incremental(), DedupKey(),
    UnparsedSQL(),
]


# -- the month window, shared by RF002 and RF007 ----------------------------------------

OK, MISSING, UNKNOWN = "ok", "missing", "unknown"


def window_verdict(facts: ModelFacts, scenario: Scenario) -> Window | str:
    """OK, MISSING (no bound on the date column), UNKNOWN (not rendered/parsed) or the wrong Window."""
    render = facts.renders.get(scenario)
    key = render.sql if render is not None else None  # the scenarios often render the same SQL
    if key not in facts.verdicts:
        facts.verdicts[key] = _window_verdict(facts, scenario)
    return facts.verdicts[key]


def _window_verdict(facts: ModelFacts, scenario: Scenario) -> Window | str:
    tree = facts.tree(scenario)
    if tree is None or isinstance(tree, NotSQL):
        return UNKNOWN
    column = _date_column(facts)
    names = aliases_of(tree, column) if column else None
    candidates = [w for w in windows(tree) if names is None or w.column in names]
    if any((w.low, w.high) == MONTH_WINDOW for w in candidates):
        return OK
    return candidates[0] if candidates else MISSING


def _date_column(facts: ModelFacts) -> str | None:
    if not facts.known("partition_by"):
        return None
    partition_by = _single(facts.value("partition_by", MONTH_REFILL))
    return partition_month_column(str(partition_by)) if partition_by is not None else None


def _date_column_text(facts: ModelFacts) -> str:
    column = _date_column(facts)
    return f"`{column}`" if column else "the date column"


def _lookback_note(facts: ModelFacts, scenario: Scenario) -> str:
    render = facts.renders.get(scenario)
    if render is not None and render.filter_calls:
        return f" ({FILTER_MACRO} is a day lookback, not the month window)"
    return ""


# -- message helpers --------------------------------------------------------------------

def _expected(combination: Combination) -> str:
    return "'append'" if combination.is_refill else f"'{DAILY_STRATEGY}'"


def _combinations(combinations: list[Combination]) -> str:
    if len(combinations) == len(COMBINATIONS):
        return "in every run"
    if sorted(combinations, key=str) == sorted((c for c in COMBINATIONS if c.is_refill), key=str):
        return "when start_month or incremental_end_date is set"
    return ", ".join(c.describe() for c in combinations)


def _show(value: Any) -> str:
    return "unset" if value is None else repr(value)


def _flag(scenario: Scenario) -> str:
    return str(scenario.incremental).lower()


def _origin(facts: ModelFacts, key: str) -> str:
    entry = facts.config.get(key)
    return "" if entry is not None and entry.in_file else " (set outside the model file)"


def _single(value: Any) -> Any:
    """dbt-clickhouse accepts partition_by as a string or a list of expressions."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) == 1 else f"({', '.join(map(str, value))})"
    return value


def _key_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return f"({', '.join(map(str, value))})"
    return str(value)


def _clip(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _col(facts: ModelFacts, line: int) -> int:
    lines = facts.model.source.splitlines()
    if 0 < line <= len(lines):
        text = lines[line - 1]
        return len(text) - len(text.lstrip()) + 1
    return 1
