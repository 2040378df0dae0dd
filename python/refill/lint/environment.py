"""The Jinja environment dbt models and macros are parsed with: dbt's extensions and filters."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from refill.lint.context import LintUndefined


class DbtBlocks(Extension):
    """dbt's own block tags in macro files: `{% test %}` is a macro named `test_<name>`,
    `{% materialization %}` and `{% snapshot %}` are parsed and dropped (models never call them)."""

    tags = {"test", "materialization", "snapshot", "docs"}

    def parse(self, parser: Parser) -> nodes.Node | list[nodes.Node]:
        tag = next(parser.stream)
        if tag.value == "test":
            return self._test_macro(parser, tag.lineno)
        while parser.stream.current.type != "block_end":
            next(parser.stream)
        parser.parse_statements((f"name:end{tag.value}",), drop_needle=True)
        return []

    @staticmethod
    def _test_macro(parser: Parser, lineno: int) -> nodes.Macro:
        macro = nodes.Macro(lineno=lineno)
        macro.name = f"test_{parser.parse_assign_target(name_only=True).name}"
        parser.parse_signature(macro)
        macro.body = parser.parse_statements(("name:endtest",), drop_needle=True)
        return macro


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def make_environment() -> Environment:
    env = Environment(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", DbtBlocks],
        undefined=LintUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(as_bool=_as_bool, as_native=lambda v: v, as_number=float, as_text=str)
    # Constant folding at compile time costs more than it saves: each template renders
    # a handful of times. The values are the same either way.
    env.optimized = False
    return env
