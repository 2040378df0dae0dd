"""What the rules see: a model's source, its evaluated config per var combination, its renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from refill.lint.project import Project
from refill.lint.scenario import COMBINATIONS, Combination, Scenario

# The config keys the contract reads, evaluated under every combination.
CONTRACT_KEYS = (
    "materialized", "incremental_strategy", "engine", "partition_by",
    "order_by", "unique_key", "pre_hook", "post_hook",
)


@dataclass
class ModelSource:
    """A model file as found by files mode or manifest mode."""

    name: str
    path: str                      # as shown in findings
    source: str                    # the model's Jinja SQL
    project: Project
    external: dict[str, Any] = field(default_factory=dict)  # config set outside the file
    tags: frozenset[str] | None = None  # authoritative (manifest mode); None: evaluate
    # In manifest mode dbt's resolved hooks already end with the config() call's own.
    external_hooks_include_call: bool = False
    # Manifest mode: every other config set outside the file whose yml value is Jinja, as
    # written (dbt renders it at parse time, with the parse's vars).
    external_templates: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """Why (part of) a model could not be evaluated: the linter's own finding, RF000."""

    message: str
    line: int
    col: int = 1


@dataclass
class ConfigValue:
    """One config key under each combination, and where the model sets it."""

    values: dict[Combination, Any] = field(default_factory=dict)
    line: int | None = None        # the config() keyword; None: set outside the file
    col: int = 1
    failure: Failure | None = None

    @property
    def in_file(self) -> bool:
        return self.line is not None

    def at(self, combination: Combination) -> Any:
        return self.values.get(combination)


@dataclass
class Render:
    """The model body rendered under one scenario."""

    sql: str | None = None
    failure: Failure | None = None
    filter_calls: int = 0


@dataclass
class ModelFacts:
    model: ModelSource
    allow_insert_overwrite: bool
    config: dict[str, ConfigValue] = field(default_factory=dict)
    renders: dict[Scenario, Render] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    anchor_line: int = 1           # the first config() call, else line 1
    window_line: int | None = None  # where the body interpolates start_month/end_month
    branch_line: int | None = None  # the `{% if %}` that tests start_month
    filter_line: int | None = None  # the apply_monthly_incremental_filter call
    this_line: int | None = None    # the first `{{ this }}` written into the SQL

    _trees: dict[str, Any] = field(default_factory=dict, repr=False)
    verdicts: dict[str | None, Any] = field(default_factory=dict, repr=False)  # RF002/RF007's, by rendered SQL

    def tree(self, scenario: Scenario):
        """The sqlglot tree of a render (cached), the NotSQL error, or None if not rendered."""
        from refill.lint.sqlshape import NotSQL, parse

        render = self.renders.get(scenario)
        if render is None or render.sql is None:
            return None
        if render.sql not in self._trees:
            try:
                self._trees[render.sql] = parse(render.sql)
            except NotSQL as exc:
                self._trees[render.sql] = exc
        return self._trees[render.sql]

    def value(self, key: str, combination: Combination) -> Any:
        entry = self.config.get(key)
        return entry.at(combination) if entry else None

    def known(self, key: str) -> bool:
        entry = self.config.get(key)
        return entry is not None and entry.failure is None

    def config_location(self, key: str) -> tuple[int, int]:
        entry = self.config.get(key)
        if entry is not None and entry.line is not None:
            return entry.line, entry.col
        return self.anchor_line, 1

    def body_location(self) -> int:
        return self.window_line or self.branch_line or self.filter_line or self.anchor_line

    def all_values(self, key: str) -> list[tuple[Combination, Any]]:
        return [(c, self.value(key, c)) for c in COMBINATIONS]
