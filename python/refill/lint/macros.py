"""The root project's macros (helpers, shims), each compiled on first use, as dbt calls them."""

from __future__ import annotations

from typing import Any, Iterator

from jinja2 import Environment, TemplateSyntaxError, nodes

from refill.lint.context import MacroReturn
from refill.lint.project import MacroSource


class ProjectMacro:
    """One `{% macro %}`, compiled alone (so a sibling's call resolves through the namespace,
    as in dbt) and called with dbt's `return()` semantics."""

    def __init__(self, env: Environment, node: nodes.Macro, filename: str) -> None:
        self.name = node.name
        self._env = env
        self._node = node
        self._filename = filename
        self._namespace: dict[str, Any] | None = None
        self._callable = None

    def bind(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._callable is None:
            self._callable = self._compile()
        try:
            return self._callable(*args, **kwargs)
        except MacroReturn as returned:
            return returned.value

    def _compile(self):
        template_node = nodes.Template([self._node], lineno=1)
        template_node.set_environment(self._env)
        code = self._env.compile(template_node, filename=self._filename)
        template = self._env.template_class.from_code(self._env, code, self._env.make_globals(None))
        # Not make_module(): it exports only public names, and `_helper` macros are common.
        context = template.new_context(self._namespace or {})
        for _ in template.root_render_func(context):
            pass
        return context.vars[self.name]


class MacroLibrary:
    """Macros by name; a macro file Jinja cannot parse is remembered, not fatal."""

    def __init__(self, env: Environment, sources: tuple[MacroSource, ...]) -> None:
        self._macros: dict[str, ProjectMacro] = {}
        self.broken: dict[str, str] = {}
        for source in sources:
            self._load(env, source)

    def _load(self, env: Environment, source: MacroSource) -> None:
        try:
            template = env.parse(source.text, filename=source.path)
        except TemplateSyntaxError as exc:
            self.broken[source.path] = f"{source.path}:{exc.lineno}: {exc.message}"
            return
        for node in template.find_all(nodes.Macro):
            self._macros[node.name] = ProjectMacro(env, node, source.path)

    def bind(self, namespace: dict[str, Any]) -> None:
        for macro in self._macros.values():
            macro.bind(namespace)

    def __contains__(self, name: str) -> bool:
        return name in self._macros

    def __getitem__(self, name: str) -> ProjectMacro:
        return self._macros[name]

    def items(self) -> Iterator[tuple[str, ProjectMacro]]:
        return iter(self._macros.items())
