"""Finds a model's ``config(...)`` calls with Jinja's own parser, lexing no further than needed.

dbt's ``config(...)`` is an ordinary Jinja call, so its keyword arguments are Jinja
expression nodes. Untagged models only need the first call's ``tags``: the template is
parsed one top-level statement at a time and parsing stops there, which keeps files mode
fast on large projects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment, nodes
from jinja2.parser import Parser

# Top-level statements a config() argument may refer to: `{% set %}`, inline macros, imports.
_PRELUDE_TYPES = (nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.Import, nodes.FromImport)


@dataclass
class ConfigCall:
    """The keyword arguments of the model's config() calls; later calls override earlier ones."""

    arguments: dict[str, nodes.Expr] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    first_line: int | None = None
    per_call: dict[str, list[nodes.Expr]] = field(default_factory=dict)  # every call's value, in order

    def add(self, call: nodes.Call) -> None:
        if self.first_line is None:
            self.first_line = call.lineno
        for name, value, line in _keywords(call):
            self.arguments[name] = value
            self.lines[name] = line
            self.per_call.setdefault(name, []).append(value)


class ConfigScanner:
    """Parses a template statement by statement, collecting config() calls and the prelude."""

    def __init__(self, env: Environment, source: str, filename: str) -> None:
        self._parser = Parser(env, source, filename=filename)
        self.body: list[nodes.Node] = []
        self.prelude: list[nodes.Node] = []
        self.config = ConfigCall()
        self.complete = False
        self._calls_seen = 0

    def until_first_call(self) -> "ConfigScanner":
        while not self.complete and self._calls_seen == 0:
            self._step()
        return self

    def to_end(self) -> "ConfigScanner":
        while not self.complete:
            self._step()
        return self

    def template(self, without_config: bool = False) -> nodes.Template:
        """The whole model as one Jinja template node (call ``to_end`` first).

        ``without_config`` drops the top-level config() outputs: their arguments are
        evaluated on their own, and a failure there should be reported once, not again
        as a failure of the body.
        """
        body = [node for node in self.body if not (without_config and _config_calls(node))]
        template = nodes.Template(body, lineno=1)
        template.set_environment(self._parser.environment)
        return template

    def _step(self) -> None:
        stream = self._parser.stream
        token = stream.current
        if token.type == "eof":
            self.complete = True
            return
        if token.type == "data":
            next(stream)
            self.body.append(nodes.Output([nodes.TemplateData(token.value, lineno=token.lineno)], lineno=token.lineno))
            return
        if token.type == "variable_begin":
            next(stream)
            expression = self._parser.parse_tuple(with_condexpr=True)
            stream.expect("variable_end")
            self._take(nodes.Output([expression], lineno=token.lineno))
            return
        if token.type == "block_begin":
            next(stream)
            statement = self._parser.parse_statement()
            stream.expect("block_end")
            for node in statement if isinstance(statement, list) else [statement]:
                self._take(node)
            return
        self._parser.fail(f"unexpected {token.type!r}", token.lineno)

    def _take(self, node: nodes.Node) -> None:
        self.body.append(node)
        calls = _config_calls(node)
        for call in calls:
            self.config.add(call)
        self._calls_seen += len(calls)
        if not self._calls_seen and isinstance(node, _PRELUDE_TYPES):
            self.prelude.append(node)


def _config_calls(node: nodes.Node) -> list[nodes.Call]:
    """config() calls made directly by a top-level `{{ }}` or `{% do %}` (dbt's spellings)."""
    if isinstance(node, nodes.Output):
        roots = node.nodes
    elif isinstance(node, nodes.ExprStmt):
        roots = [node.node]
    else:
        return []
    return [
        root for root in roots
        if isinstance(root, nodes.Call) and isinstance(root.node, nodes.Name) and root.node.name == "config"
    ]


def _keywords(call: nodes.Call):
    for keyword in call.kwargs:
        yield keyword.key, keyword.value, keyword.lineno or call.lineno
    # config({'materialized': 'table'}) is the dict spelling of the same call.
    for argument in call.args:
        if isinstance(argument, nodes.Dict):
            for pair in argument.items:
                if isinstance(pair.key, nodes.Const) and isinstance(pair.key.value, str):
                    yield pair.key.value, pair.value, pair.lineno or call.lineno
