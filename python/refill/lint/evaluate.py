"""Evaluates a model's config() arguments and renders its body, with Jinja's own evaluator.

The arguments are taken from the parsed template as expression nodes and compiled, with
the top-level `{% set %}`/macro statements that precede the call, into a small template
of assignments: every spelling that evaluates the same (a helper macro, a nested
conditional, a variable) yields the same value, and a wrong branch yields the wrong one.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template, TemplateSyntaxError, nodes
from jinja2.nodes import EvalContext, Impossible

from refill.lint.context import CompilerError, RenderState, build_namespace
from refill.lint.environment import make_environment
from refill.lint.locate import filter_line, keyword_position, this_line, window_lines
from refill.lint.macros import MacroLibrary
from refill.lint.model import CONTRACT_KEYS, ConfigValue, Failure, ModelFacts, ModelSource, Render
from refill.lint.project import ADDITIVE_KEYS, Project, as_list
from refill.lint.scan import ConfigScanner
from refill.lint.scenario import COMBINATIONS, DAILY, DAILY_SCENARIOS, MONTH_SCENARIOS, Combination, Scenario

_RESULT = "refill_lint_value_"


class EvaluationFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def evaluator_for(evaluators: dict[Path, Evaluator], project: Project) -> Evaluator:
    """The one Evaluator of `project` in `evaluators` (keyed by project root), made on first use.

    Not ``dict.setdefault(root, Evaluator(project))``: that builds an Evaluator, and its Jinja
    environment, for every model only to throw it away."""
    evaluator = evaluators.get(project.root)
    if evaluator is None:
        evaluator = evaluators[project.root] = Evaluator(project)
    return evaluator


class Evaluator:
    """Evaluates the models of one project; the Jinja namespace is built once and reused."""

    def __init__(self, project: Project, env: Environment | None = None) -> None:
        self.project = project
        self.env = env or make_environment()
        self.state = RenderState(project_vars=dict(project.vars))
        self._templates: dict[str, Template] = {}
        self._arguments: dict[tuple, dict[str, Any]] = {}  # every argument's value, per model and combination

    @cached_property
    def library(self) -> MacroLibrary:
        return MacroLibrary(self.env, self.project.macros)

    @cached_property
    def namespace(self) -> dict[str, Any]:
        namespace = build_namespace(self.state, self.library)
        self.library.bind(namespace)
        return namespace

    # -- which models are in the cohort ------------------------------------------------

    def scan(self, model: ModelSource) -> ConfigScanner:
        """Parses up to the first config() call (raises EvaluationFailure on a syntax error)."""
        self.state.model_name = model.name
        scanner = ConfigScanner(self.env, model.source, filename=model.path)
        return _guard_syntax(scanner.until_first_call)

    def tags(self, model: ModelSource, scanner: ConfigScanner) -> frozenset[str]:
        if model.tags is not None:
            return model.tags
        tags = [str(t) for t in as_list(self._external(model, "tags", DAILY))]
        for expression in scanner.config.per_call.get("tags", []):
            tags += [str(t) for t in as_list(self._constant_or_evaluate(model, scanner, "tags", expression))]
        return frozenset(tags)

    def enabled(self, model: ModelSource, scanner: ConfigScanner) -> bool:
        expression = scanner.config.arguments.get("enabled")
        value = (
            self._constant_or_evaluate(model, scanner, "enabled", expression)
            if expression is not None
            else self._external(model, "enabled", DAILY)
        )
        return value is None or str(value).strip().lower() not in {"false", "0", "no", ""}

    # -- everything the rules read ------------------------------------------------------

    def facts(self, model: ModelSource, scanner: ConfigScanner, allow_insert_overwrite: bool) -> ModelFacts:
        self.state.model_name = model.name
        facts = ModelFacts(model, allow_insert_overwrite, anchor_line=scanner.config.first_line or 1)
        try:
            _guard_syntax(scanner.to_end)
        except EvaluationFailure as failed:
            facts.failures.append(failed.failure)
            return facts
        facts.window_line, facts.branch_line = window_lines(scanner.body)
        facts.filter_line = filter_line(scanner.body)
        facts.this_line = this_line(scanner.body)
        self._evaluate_config(model, scanner, facts)
        self._render_body(model, scanner, facts)
        return facts

    def _evaluate_config(self, model: ModelSource, scanner: ConfigScanner, facts: ModelFacts) -> None:
        lines = model.source.splitlines()
        for key in CONTRACT_KEYS:
            entry = ConfigValue()
            if key in scanner.config.arguments:
                entry.line, entry.col = keyword_position(lines, key, scanner.config.lines[key], facts.anchor_line)
            try:
                for combination in COMBINATIONS:
                    entry.values[combination] = self._config_value(model, scanner, key, combination)
            except EvaluationFailure as failed:
                entry.failure = Failure(f"cannot evaluate config {key}: {failed.failure.message}",
                                        entry.line or failed.failure.line, entry.col if entry.line else 1)
                facts.failures.append(entry.failure)
            facts.config[key] = entry

    def _config_value(self, model: ModelSource, scanner: ConfigScanner, key: str, combination: Combination) -> Any:
        expressions = scanner.config.per_call.get(key, [])
        if key in ("pre_hook", "post_hook"):
            return self._hooks(model, scanner, key, combination)
        if key in ADDITIVE_KEYS:
            values = as_list(self._external(model, key, combination))
            for index in range(len(expressions)):
                values += as_list(self._argument(model, scanner, key, combination, index))
            return values
        if expressions:
            return self._argument(model, scanner, key, combination, len(expressions) - 1)
        return self._external(model, key, combination)

    def _hooks(self, model: ModelSource, scanner: ConfigScanner, key: str, combination: Combination) -> list[str]:
        """Hook SQL as dbt would run it: the folder's hooks first, then the model's own."""
        from_call: list[Any] = []
        for index in range(len(scanner.config.per_call.get(key, []))):
            from_call += as_list(self._argument(model, scanner, key, combination, index))
        external = as_list(model.external.get(key))
        if model.external_hooks_include_call and from_call:
            external = external[: max(0, len(external) - len(from_call))]
        self._set_scenario(Scenario(combination, incremental=True))
        return [self._render_string(model, _hook_sql(hook)) for hook in [*external, *from_call]]

    # -- what a manifest parsed without the month vars would get wrong ------------------

    def all_arguments(self, model: ModelSource, scanner: ConfigScanner, combination: Combination) -> dict[str, Any]:
        """Every config() argument's value under ``combination`` (later calls win), keyed by
        config name. Raises EvaluationFailure when they cannot be evaluated."""
        self.state.model_name = model.name
        self._set_scenario(Scenario(combination, incremental=True))
        values = self._execute(self._arguments_template(model, scanner, None), model.path)
        found: dict[str, Any] = {}
        for key, expressions in scanner.config.per_call.items():
            found[key] = values.get(f"{_RESULT}{key}_{len(expressions) - 1}")
        return found

    def render_external(self, model: ModelSource, value: Any, combination: Combination) -> Any:
        """A config value set outside the file (yml), its Jinja strings rendered under ``combination``."""
        self._set_scenario(Scenario(combination, incremental=True))
        return self._render_tree(model, value)

    def _render_tree(self, model: ModelSource, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._render_tree(model, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._render_tree(model, v) for v in value]
        return self._render_string(model, value)

    def render_month(self, model: ModelSource, scanner: ConfigScanner, facts: ModelFacts,
                     config_from: Combination, incremental: bool) -> str | None:
        """The body as the month rewrite renders it (month vars set), but with the config
        evaluated under ``config_from``: what Phase 1 runs through a manifest parsed that way.
        None when it does not render."""
        self.state.model_name = model.name
        try:
            template = self._compile(scanner.template(without_config=True), model.path)
            self._set_scenario(Scenario(MONTH_SCENARIOS[0].combination, incremental),
                               {k: facts.value(k, config_from) for k in CONTRACT_KEYS})
            return self._render(template, model.path)
        except EvaluationFailure:
            return None

    # -- Jinja evaluation -------------------------------------------------------------

    def _constant_or_evaluate(self, model: ModelSource, scanner: ConfigScanner, key: str, expression: nodes.Expr) -> Any:
        try:
            return expression.as_const(EvalContext(self.env))
        except Impossible:
            index = scanner.config.per_call[key].index(expression)
            return self._argument(model, scanner, key, DAILY, index)

    def _argument(self, model: ModelSource, scanner: ConfigScanner, key: str, combination: Combination, index: int) -> Any:
        """One config() argument's value; if the arguments fail together, this one alone."""
        name = f"{_RESULT}{key}_{index}"
        calls = sum(len(expressions) for expressions in scanner.config.per_call.values())
        memo_key = (model.path, calls, combination)
        if memo_key not in self._arguments:
            self._set_scenario(Scenario(combination, incremental=True))
            try:
                self._arguments[memo_key] = self._execute(self._arguments_template(model, scanner, None), model.path)
            except EvaluationFailure:
                self._arguments[memo_key] = {}
        values = self._arguments[memo_key]
        if name in values:
            return values[name]
        self._set_scenario(Scenario(combination, incremental=True))
        return self._execute(self._arguments_template(model, scanner, (key, index)), model.path)[name]

    def _arguments_template(self, model: ModelSource, scanner: ConfigScanner, only: tuple[str, int] | None) -> Template:
        calls = sum(len(expressions) for expressions in scanner.config.per_call.values())
        cache_key = f"arguments:{model.path}:{len(scanner.prelude)}:{calls}:{only}"
        if cache_key not in self._templates:
            body = list(scanner.prelude)
            for key, expressions in scanner.config.per_call.items():
                for index, expression in enumerate(expressions):
                    if only is None or only == (key, index):
                        target = nodes.Name(f"{_RESULT}{key}_{index}", "store", lineno=expression.lineno)
                        body.append(nodes.Assign(target, expression, lineno=expression.lineno))
            self._templates[cache_key] = self._compile(nodes.Template(body, lineno=1), model.path)
        return self._templates[cache_key]

    def _render_body(self, model: ModelSource, scanner: ConfigScanner, facts: ModelFacts) -> None:
        try:
            template = self._compile(scanner.template(without_config=True), model.path)
        except EvaluationFailure as failed:
            facts.failures.append(failed.failure)
            return
        for scenario in (*MONTH_SCENARIOS, *DAILY_SCENARIOS):
            self._set_scenario(scenario, {k: facts.value(k, scenario.combination) for k in CONTRACT_KEYS})
            render = Render()
            try:
                render.sql = self._render(template, model.path)
            except EvaluationFailure as failed:
                render.failure = Failure(f"cannot render the model {scenario.describe()}: {failed.failure.message}",
                                         failed.failure.line)
                if all(f.line != render.failure.line for f in facts.failures):
                    facts.failures.append(render.failure)
            render.filter_calls = len(self.state.filter_calls)
            facts.renders[scenario] = render

    def _external(self, model: ModelSource, key: str, combination: Combination) -> Any:
        value = model.external.get(key)
        if value is None:
            return None
        self._set_scenario(Scenario(combination, incremental=True))
        if isinstance(value, list):
            return [self._render_string(model, item) for item in value]
        return self._render_string(model, value)

    def _render_string(self, model: ModelSource, value: Any) -> Any:
        """A yml config or hook string is itself a Jinja template (dbt renders it too)."""
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        if value not in self._templates:
            self._templates[value] = self._compile(value, model.path)
        return self._render(self._templates[value], model.path)

    def _set_scenario(self, scenario: Scenario, config: dict[str, Any] | None = None) -> None:
        self.state.cli_vars = scenario.combination.cli_vars()
        self.state.incremental = scenario.incremental
        self.state.config = config or {}
        self.state.filter_calls = []

    def _compile(self, source: str | nodes.Template, filename: str) -> Template:
        try:
            code = self.env.compile(source, filename=filename)
        except TemplateSyntaxError as exc:
            raise EvaluationFailure(Failure(exc.message or str(exc), exc.lineno or 1)) from None
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def _execute(self, template: Template, filename: str) -> dict[str, Any]:
        context = template.new_context(self.namespace)
        try:
            for _ in template.root_render_func(context):
                pass
        except Exception:  # any error in a model's Jinja is a finding, never a crash
            try:
                self.env.handle_exception()  # maps the traceback to template lines
            except Exception as rewritten:
                raise EvaluationFailure(self._explain(_failure(rewritten, filename))) from None
        return context.vars

    def _render(self, template: Template, filename: str) -> str:
        try:
            return template.render(self.namespace)
        except Exception as exc:  # as above: reported with the model's line
            raise EvaluationFailure(self._explain(_failure(exc, filename))) from None

    def _explain(self, failure: Failure) -> Failure:
        """An undefined macro may live in a macro file Jinja could not parse: say so."""
        broken = self.library.broken if "library" in self.__dict__ else {}
        if broken and "is undefined" in failure.message:
            return Failure(f"{failure.message} (unparsable macro file: {'; '.join(broken.values())})", failure.line)
        return failure


def _guard_syntax(step) -> Any:
    try:
        return step()
    except TemplateSyntaxError as exc:
        raise EvaluationFailure(Failure(f"Jinja syntax error: {exc.message}", exc.lineno or 1)) from None


def _failure(exc: Exception, filename: str) -> Failure:
    line = getattr(exc, "lineno", None) if getattr(exc, "filename", None) in (None, filename) else None
    traceback = exc.__traceback__
    while traceback is not None and line is None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    if isinstance(exc, CompilerError) or type(exc).__module__.startswith("jinja2"):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return Failure(" ".join(message.split()), line or 1)


def _hook_sql(hook: Any) -> Any:
    if isinstance(hook, dict):
        return hook.get("sql", "")
    return hook
