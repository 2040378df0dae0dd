"""The refill contract as lint rules: one class per rule, and the registry, a list."""

from __future__ import annotations

from typing import Any, ClassVar, Iterator

import re
from dataclasses import dataclass

from refill.lint.context import FILTER_MACRO, LINT_SCHEMA, POST_HOOK_MARK, PRE_HOOK_MARK
from refill.lint.finding import ERROR, INFO, WARNING, Finding, Severity
from refill.lint.model import ModelFacts
from refill.lint.project import as_list
from refill.lint.scenario import (
    COMBINATIONS, DAILY, DAILY_COMBINATIONS, DAILY_SCENARIO, END_MONTH, MONTH_REFILL, MONTH_SCENARIOS,
    MONTH_WINDOW, START_MONTH, Combination, Scenario,
)
from refill.lint.sqlshape import (
    FILTERED, REPLACING_ENGINES, NotSQL, Window, aliases_of, column_names, engine_name, has_watermark,
    is_set_statement, month_cutting_bounds, month_flow, partition_month_column, reads_relation, windows,
)

# The daily strategies whose exactness the lint can check: delete+insert replaces the
# unique keys it rewrites, insert_overwrite the partitions (RF006 checks they are whole
# months), append only adds (RF007 checks it adds days the table does not hold yet).
# Under `refill run` the refill branch does not matter: refill_swap replaces it.
DAILY_STRATEGIES = ("delete+insert", "insert_overwrite", "append")


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

    def hint_for(self, facts: ModelFacts) -> str:
        """The fix hint for this model's project (never a strategy the project bans)."""
        return self.hint

    def finding(self, facts: ModelFacts, line: int, col: int, message: str) -> Finding:
        return Finding(
            path=facts.model.path, line=line, col=col, code=self.code, message=message,
            model=facts.model.name, severity=self.severity, hint=self.hint_for(facts),
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
    """incremental_strategy, evaluated for the daily run (neither start_month nor
    incremental_end_date set) and for a run bounded by incremental_end_date, is one whose
    exactness refill can check: delete+insert, insert_overwrite (whole months, RF006) or
    append (past the table's last day, RF007). The refill branch is not checked: `refill
    run` rewrites a month through refill_swap, whatever the model's strategy."""

    code = "RF001"
    name = "daily-strategy"
    message = "the daily run's incremental_strategy must be delete+insert, insert_overwrite or append"
    hint = "the project's own daily strategy; insert_overwrite with a whole-month window needs no mutation"

    def hint_for(self, facts: ModelFacts) -> str:
        return strategy_hint(facts)

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("incremental_strategy"):
            return
        wrong = [
            f"{_show(value)} {combination.describe()}"
            for combination in DAILY_COMBINATIONS
            if (value := facts.value("incremental_strategy", combination)) not in DAILY_STRATEGIES
        ]
        if wrong:
            line, col = facts.config_location("incremental_strategy")
            yield self.finding(facts, line, col, "incremental_strategy is " + "; ".join(wrong)
                               + f", not one of {', '.join(DAILY_STRATEGIES)}" + _origin(facts, "incremental_strategy"))


def strategy_hint(facts: ModelFacts) -> str:
    """The daily strategy to recommend: the project's own default when it declares one
    (its choice, e.g. a project that bans delete+insert makes insert_overwrite its
    default), otherwise the first the project does not ban."""
    project = facts.model.project
    banned = project.banned_strategies
    choices = [project.house_strategy] if project.house_strategy in DAILY_STRATEGIES else []
    choices += [s for s in ("insert_overwrite", "delete+insert", "append") if s not in choices]
    chosen = next((s for s in choices if s not in banned), None)
    if chosen == "insert_overwrite":
        return ("incremental_strategy='insert_overwrite' with a whole-month daily window "
                "(`toStartOfMonth(d) >= …`, as apply_monthly_incremental_filter gives it)")
    if chosen == "delete+insert":
        return "incremental_strategy='delete+insert' with unique_key = the grain"
    if chosen == "append":
        return "incremental_strategy='append' with a strict watermark: `d > (SELECT max(d) FROM {{ this }})`"
    return "a daily strategy the project allows, with a window refill can check"


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
            if isinstance(verdict, Missing):
                line = _reading_line(facts, verdict.table) or line
                yield self.finding(facts, line, _col(facts, line),
                    f"with start_month/end_month set (is_incremental() {_flag(scenario)}) "
                    f"{verdict.where or 'the SQL'} does not restrict {_date_column_text(facts)} to the "
                    f"months{_lookback_note(facts, scenario)}")
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
            inlined = next((hook for hook in hooks if _sets_memory_contract(hook)), None)
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
    """A daily insert_overwrite replaces every partition its rows touch, so its window must
    be whole months: a lower bound on the date column that can fall inside a month replaces
    that month with the rows after it. A project that vouches for its windows sets
    `vars: {refill_allow_insert_overwrite: true}` and this rule is not checked."""

    code = "RF006"
    name = "insert-overwrite-whole-months"
    message = "a daily insert_overwrite must select whole months"
    hint = ("bound the month, not the day: `toStartOfMonth(d) >= …` (apply_monthly_incremental_filter does "
            "this under insert_overwrite)")

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if facts.allow_insert_overwrite or not facts.known("incremental_strategy"):
            return
        for scenario in _daily_scenarios(facts, "insert_overwrite"):
            tree = facts.tree(scenario)
            names = _date_names(facts, scenario)
            if tree is None or isinstance(tree, NotSQL) or names is None:
                continue
            cutting = month_cutting_bounds(tree, names)
            if cutting:
                line = facts.filter_line or facts.body_location()
                yield self.finding(facts, line, _col(facts, line),
                    f"incremental_strategy is 'insert_overwrite' {scenario.combination.describe()}, but "
                    f"{_date_column_text(facts)} is bounded by `{_clip(cutting[0], 60)}`, which can start inside "
                    "a month: the month would be replaced by the days after it")
                return


class AppendWithoutWindow(Rule):
    """A daily append (neither start_month nor incremental_end_date set) only adds rows:
    unless its window starts strictly after the last day the table holds
    (`d > (SELECT max(d) FROM {{ this }})`), every run appends the overlap again and the
    table holds it twice. A run bounded by incremental_end_date is not checked: that is the
    seed's manual refill (append, then OPTIMIZE), which `refill run` replaces."""

    code = "RF007"
    name = "append-without-unique-window"
    message = "a daily append must start after the table's last day"
    hint = "`AND d > (SELECT max(d) FROM {{ this }})`, or the project's daily strategy"

    def hint_for(self, facts: ModelFacts) -> str:
        return f"{self.hint}; or {strategy_hint(facts)}"

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if not facts.known("incremental_strategy"):
            return
        # Only the plain daily run: with incremental_end_date set, the seed's manual refill
        # appends a lookback and relies on OPTIMIZE afterwards (`refill run` replaces that
        # flow), and a project's batch runner brings its own watermark.
        for scenario in _daily_scenarios(facts, "append", (DAILY,)):
            tree = facts.tree(scenario)
            if tree is None or isinstance(tree, NotSQL):
                continue
            names = _date_names(facts, scenario)
            if names is None or not has_watermark(tree, names, LINT_SCHEMA, facts.model.name):
                line = facts.filter_line or facts.body_location()
                yield self.finding(facts, line, _col(facts, line),
                    f"incremental_strategy is 'append' {scenario.combination.describe()}, but the rows are not "
                    f"bounded by {_date_column_text(facts)} > the table's last day: every run appends the "
                    f"days it shares with the table again{_lookback_note(facts, scenario)}")
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


class ReadsOwnTable(Rule):
    """The model reads its own table (`{{ this }}`) as rows when incremental: it carries
    state forward (a running balance seeded from the last day already written). It is exact
    only if a month's rewrite sees the live table with every earlier month final, so the
    plan must run it that way; this is a fact for the plan, not a violation."""

    code = "RF011"
    name = "reads-own-table"
    message = "the model reads {{ this }} when incremental (carried-forward state)"
    hint = "nothing to fix: the refill rewrites its months oldest first against the live table"
    severity = INFO

    def check(self, facts: ModelFacts) -> Iterator[Finding]:
        if reads_own_table(facts):
            line = facts.this_line or facts.body_location()
            yield self.finding(facts, line, _col(facts, line),
                "reads {{ this }} as rows when incremental (state carried forward): a month's rewrite must see "
                "the live table, with every earlier month final")


def reads_own_table(facts: ModelFacts) -> bool:
    """Whether the month refill's incremental render reads the model's own table as rows
    (a watermark subquery in a WHERE does not count)."""
    tree = facts.tree(MONTH_SCENARIOS[0])
    return tree is not None and not isinstance(tree, NotSQL) and reads_relation(tree, LINT_SCHEMA, facts.model.name)


RULES: list[Rule] = [
    Unrenderable(), StrategyBranches(), MonthWindow(), MemoryHooks(), ReplacingEngine(),
    MonthlyPartition(), InsertOverwriteOptIn(), AppendWithoutWindow(), Incremental(), DedupKey(),
    UnparsedSQL(), ReadsOwnTable(),
]


# -- the month window, shared by RF002 and RF007 ----------------------------------------

OK, UNKNOWN = "ok", "unknown"


@dataclass(frozen=True)
class Missing:
    """No month window on the way from a source of the date column to the output."""

    where: str = ""  # the query that lets unfiltered rows through, when one is to blame
    table: str = ""  # the table it reads


def _reading_line(facts: ModelFacts, table: str) -> int | None:
    """The line that refs the table a branch reads without the window, when only one does."""
    if not table:
        return None
    pattern = re.compile(rf"""\b(ref|source)\s*\([^)]*['"]{re.escape(table)}['"]""")
    source = facts.model.source.splitlines()
    lines = [n for n, text in enumerate(source, start=1) if pattern.search(text)]
    if len(lines) > 1:  # several branches read it: the one whose text never writes the window
        any_read = re.compile(r"\b(ref|source)\s*\(")
        reads = [n for n, text in enumerate(source, start=1) if any_read.search(text)] + [len(source) + 1]
        ends = [next(r for r in reads if r > n) for n in lines]
        writes_window = re.compile(r"\{\{[^}]*start_month")  # `{{ start_month }}` or `{{ var('start_month') }}`
        lines = [n for n, end in zip(lines, ends) if not any(writes_window.search(t) for t in source[n - 1:end - 1])]
    return lines[0] if len(lines) == 1 else None


MISSING = Missing()


def window_verdict(facts: ModelFacts, scenario: Scenario) -> Window | Missing | str:
    """OK, Missing (no bound on the date column), UNKNOWN (not rendered/parsed) or the wrong Window."""
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
    if names is not None:
        # Every UNION branch and subquery that reads the date column needs the window.
        flow = month_flow(tree, names, MONTH_WINDOW)
        if flow.state == FILTERED:
            return OK
        if flow.bad:
            return flow.window if flow.window is not None else Missing(flow.source, flow.table)
    candidates = [w for w in windows(tree) if names is None or w.column in names]
    if any((w.low, w.high) == MONTH_WINDOW for w in candidates):
        return OK
    return candidates[0] if candidates else MISSING


def _date_names(facts: ModelFacts, scenario: Scenario) -> frozenset[str] | None:
    """The date column and the source columns projected as it, in the render of ``scenario``."""
    column = _date_column(facts)
    tree = facts.tree(scenario)
    if column is None or tree is None or isinstance(tree, NotSQL):
        return frozenset({column}) if column else None
    return aliases_of(tree, column)


def _daily_scenarios(facts: ModelFacts, strategy: str,
                     combinations: tuple[Combination, ...] = DAILY_COMBINATIONS) -> list[Scenario]:
    return [Scenario(c, incremental=True) for c in combinations if facts.value("incremental_strategy", c) == strategy]


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
    """Said only when something outside the file really sets the key (dbt_project.yml, schema.yml)."""
    entry = facts.config.get(key)
    if entry is not None and entry.in_file:
        return ""
    return " (set outside the model file)" if facts.model.external.get(key) not in (None, [], "") else ""


_MEMORY_SETTINGS = ("max_memory_usage", "max_bytes_before_external", "join_algorithm")


def _sets_memory_contract(hook: str) -> bool:
    """A hand-written SET of the memory contract's own settings (other SETs, such as
    join_use_nulls, are the model's business and not a copy of the contract)."""
    return is_set_statement(hook) and any(setting in hook for setting in _MEMORY_SETTINGS)


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
