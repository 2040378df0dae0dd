"""Where in a model file a finding belongs: Jinja's parse tree knows lines, not columns."""

from __future__ import annotations

import re
from typing import Iterable

from jinja2 import nodes

from refill.lint.context import FILTER_MACRO

_WINDOW_VARS = frozenset({"start_month", "end_month"})


def keyword_position(lines: list[str], key: str, value_line: int, call_line: int) -> tuple[int, int]:
    """The line and column of `key=`: Jinja records the value's line, not the keyword's."""
    pattern = re.compile(rf"\b{re.escape(key)}\s*=")
    for number in range(value_line, max(call_line, 1) - 1, -1):
        if 0 < number <= len(lines):
            match = pattern.search(lines[number - 1])
            if match:
                return number, match.start() + 1
    return value_line, 1


def window_lines(body: Iterable[nodes.Node]) -> tuple[int | None, int | None]:
    """Where the body writes start_month/end_month into SQL, and the `{% if %}` testing them."""
    template = nodes.Template(list(body), lineno=1)
    outputs = [
        child.lineno
        for output in template.find_all(nodes.Output)
        for child in output.nodes
        if not isinstance(child, nodes.TemplateData) and not _is_config_call(child) and _mentions_window(child)
    ]
    branches = [branch.lineno for branch in template.find_all(nodes.If) if _mentions_window(branch.test)]
    return (min(outputs) if outputs else None), (min(branches) if branches else None)


def filter_line(body: Iterable[nodes.Node]) -> int | None:
    """Where the body calls apply_monthly_incremental_filter (prefixed or not)."""
    for call in nodes.Template(list(body), lineno=1).find_all(nodes.Call):
        callee = call.node
        name = callee.name if isinstance(callee, nodes.Name) else getattr(callee, "attr", None)
        if name == FILTER_MACRO:
            return call.lineno
    return None


def _is_config_call(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "config"


def _mentions_window(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Name) and node.name in _WINDOW_VARS:
        return True
    for name in node.find_all(nodes.Name):
        if name.name in _WINDOW_VARS:
            return True
    for call in [node, *node.find_all(nodes.Call)]:
        if (isinstance(call, nodes.Call) and isinstance(call.node, nodes.Name) and call.node.name == "var" and call.args
                and isinstance(call.args[0], nodes.Const) and call.args[0].value in _WINDOW_VARS):
            return True
    return False


def this_line(body: Iterable[nodes.Node]) -> int | None:
    """The first line that writes `{{ this }}` into the SQL (outside a macro call's arguments)."""
    for output in nodes.Template(list(body), lineno=1).find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.Name) and child.name == "this":
                return child.lineno
    return None
