"""A lightweight dbt-like Jinja context: enough of dbt to evaluate configs and render models.

Nothing here touches dbt or a warehouse. ``ref``/``source``/``this`` render as quoted
ClickHouse relations, ``run_query`` returns None (as at dbt parse time, ``execute`` is
false), the ``refill`` package's macros are recording stubs, and a call into any other
package renders as ``NULL`` so the model's own SQL can still be analysed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import yaml
from jinja2 import Undefined
from jinja2.utils import missing

if TYPE_CHECKING:
    from refill.lint.macros import MacroLibrary

LINT_SCHEMA = "lint"
# What the hook stubs return. A hook may be a list, or a yml string that is itself Jinja
# (`"{{ refill.refill_safe_pre_hook() }}"`): whatever dbt would run, the mark is in it
# exactly when the macro's result is.
PRE_HOOK_MARK = "__refill_safe_pre_hook__"
POST_HOOK_MARK = "__refill_safe_post_hook__"
FILTER_MACRO = "apply_monthly_incremental_filter"
HOOK_MACROS = {"refill_safe_pre_hook": PRE_HOOK_MARK, "refill_safe_post_hook": POST_HOOK_MARK}
# The names the contract is about. A project may define them itself (the seed's project
# did, with more arguments): calling them by name is calling the contract's macro.
CONTRACT_MACROS = frozenset({FILTER_MACRO, *HOOK_MACROS})
# What the filter stub renders on an incremental run: it restricts the column, but not to
# anything a reader could mistake for the month window.
LOOKBACK_BOUND = "refill_lookback_start()"


class CompilerError(Exception):
    """exceptions.raise_compiler_error(), or a dbt rule a model broke while rendering."""


class MacroReturn(Exception):
    """dbt's `return(value)`: leaves the macro with a value (the macro wrapper catches it)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


@dataclass
class RenderState:
    """What changes between evaluations: the model, the --vars, is_incremental()."""

    project_vars: dict[str, Any]
    cli_vars: dict[str, Any] = field(default_factory=dict)
    incremental: bool = True
    model_name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    filter_calls: list[dict[str, Any]] = field(default_factory=list)

    def var(self, name: str, default: Any = missing) -> Any:
        if name in self.cli_vars:
            return self.cli_vars[name]
        if name in self.project_vars:
            return self.project_vars[name]
        if default is not missing:
            return default
        raise CompilerError(f"Required var '{name}' not found in config")


class _Var:
    def __init__(self, state: RenderState) -> None:
        self._state = state

    def __call__(self, name: str, default: Any = missing) -> Any:
        return self._state.var(name, default)

    def has_var(self, name: str) -> bool:
        return name in self._state.cli_vars or name in self._state.project_vars


@dataclass(frozen=True)
class Relation:
    schema: str
    identifier: str
    database: str | None = None

    @property
    def name(self) -> str:
        return self.identifier

    @property
    def table(self) -> str:
        return self.identifier

    def incorporate(self, **_: Any) -> "Relation":
        return self

    def render(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"`{self.schema}`.`{self.identifier}`"


class _This:
    """`this`: the model being rendered, whichever that is right now."""

    def __init__(self, state: RenderState) -> None:
        self._state = state

    def __getattr__(self, name: str) -> Any:
        return getattr(Relation(LINT_SCHEMA, self._state.model_name), name)

    def __str__(self) -> str:
        return str(Relation(LINT_SCHEMA, self._state.model_name))


class _Model(dict):
    """`model`: the node being rendered (its name; dbt's full node is not needed here)."""

    def __init__(self, state: RenderState) -> None:
        super().__init__()
        self._state = state

    def __getitem__(self, key: str) -> Any:
        return {"name": self._state.model_name, "resource_type": "model", "config": self._state.config}[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


class _Config:
    """`config(...)` is a no-op while rendering; `config.get` reads the evaluated config."""

    def __init__(self, state: RenderState) -> None:
        self._state = state

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return ""

    def get(self, key: str, default: Any = None) -> Any:
        value = self._state.config.get(key)
        return default if value is None else value

    def require(self, key: str) -> Any:
        if self._state.config.get(key) is None:
            raise CompilerError(f"config '{key}' is required")
        return self._state.config[key]


class _UnknownMacro:
    """A macro of a package the linter does not load: renders as NULL, a valid expression."""

    def __init__(self, name: str, result: Any = "NULL") -> None:
        self._name = name
        self._result = result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._result

    def __getattr__(self, name: str) -> "_UnknownMacro":
        if name.startswith("__"):
            raise AttributeError(name)
        return _UnknownMacro(f"{self._name}.{name}", self._result)

    def __str__(self) -> str:
        return ""


class LintUndefined(Undefined):
    """An unknown top-level name used as a package (`dbt_utils.star(...)`) is lenient.

    Calling an unknown name directly still fails, as in dbt: an unprefixed package macro
    without a root-project shim is "'name' is undefined".
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self._undefined_obj is not missing:
            return super().__getattr__(name)
        return _UnknownMacro(f"{self._undefined_name}.{name}")


class RefillStubs:
    """The `refill` package's macros as the contract sees them: recognisable, recorded."""

    def __init__(self, state: RenderState) -> None:
        self._state = state

    def refill_safe_pre_hook(self, *args: Any, **kwargs: Any) -> str:
        return PRE_HOOK_MARK

    def refill_safe_post_hook(self, *args: Any, **kwargs: Any) -> str:
        return POST_HOOK_MARK

    def apply_monthly_incremental_filter(
        self, source_field: Any, destination_field: Any = None, add_and: bool = False,
        lookback_days: Any = 1, **kwargs: Any,
    ) -> str:
        self._state.filter_calls.append({"source_field": source_field, "add_and": add_and})
        if not self._state.incremental:
            return ""
        day = f"toDate({source_field})"
        prefix = "AND " if add_and else ""
        start_month = self._state.var("start_month", None)
        if start_month:  # the macro's month branch: the whole months, never a day lookback
            end_month = self._state.var("end_month", None) or start_month
            return (f"{prefix}toStartOfMonth({day}) >= toDate('{start_month}')"
                    f" AND toStartOfMonth({day}) <= toDate('{end_month}')")
        # As the package macro: whole months under insert_overwrite, bounded above by
        # incremental_end_date, else a day lookback from the target's last day.
        if self._state.config.get("incremental_strategy") == "insert_overwrite":
            conditions = [f"{day} >= toStartOfMonth({LOOKBACK_BOUND})"]
        else:
            conditions = [f"{day} >= {LOOKBACK_BOUND}"]
        end = self._state.var("incremental_end_date", None)
        if end:
            conditions.append(f"{day} <= toDate('{end}')")
        return prefix + " AND ".join(conditions)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _UnknownMacro(f"refill.{name}", "")


class _Adapter:
    def __init__(self, refill: RefillStubs, library: "MacroLibrary", state: RenderState) -> None:
        self._refill = refill
        self._library = library
        self._state = state

    def dispatch(self, macro_name: str, macro_namespace: str | None = None, packages: Any = None) -> Callable:
        if macro_namespace == "refill":
            return getattr(self._refill, macro_name)
        for name in (f"clickhouse__{macro_name}", f"default__{macro_name}", macro_name):
            if name in self._library:
                if macro_name in CONTRACT_MACROS:  # the project's own implementation of a contract macro
                    return ProjectContractMacro(macro_name, self._library[name], self._state)
                return self._library[name]
        return _UnknownMacro(macro_name)

    def quote(self, identifier: str) -> str:
        return f"`{identifier}`"

    def is_at_or_after_version(self, version: str) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _UnknownMacro(f"adapter.{name}", None)


class _Exceptions:
    def raise_compiler_error(self, message: str, node: Any = None) -> None:
        raise CompilerError(str(message))

    def raise_not_implemented(self, message: str) -> None:
        raise CompilerError(str(message))

    def warn(self, message: str, node: Any = None) -> str:
        return ""


def _return(value: Any) -> None:
    raise MacroReturn(value)


def _statement(name: str | None = None, fetch_result: bool = False, auto_begin: bool = True,
               language: str = "sql", caller: Any = None) -> str:
    return ""


def _ref(*names: str, **kwargs: Any) -> Relation:
    if not names:
        raise CompilerError("ref() needs a model name")
    return Relation(LINT_SCHEMA, str(names[-1]))


def _source(source_name: str, table_name: str) -> Relation:
    return Relation(str(source_name), str(table_name))


def _env_var(name: str, default: Any = missing) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is not missing:
        return default
    raise CompilerError(f"Env var required but not provided: '{name}'")


_TARGET = {
    "name": "lint", "target_name": "lint", "type": "clickhouse", "schema": LINT_SCHEMA,
    "database": "", "threads": 1, "profile_name": "lint", "cluster": None,
}

# Context members a project macro cannot shadow: they are what the scenarios vary.
PROTECTED = frozenset({
    "var", "ref", "source", "config", "this", "return", "is_incremental", "target",
    "adapter", "execute", "exceptions", "modules", "refill", "env_var",
})


def build_namespace(state: RenderState, library: "MacroLibrary") -> dict[str, Any]:
    refill = RefillStubs(state)
    namespace: dict[str, Any] = {
        "var": _Var(state),
        "env_var": _env_var,
        "ref": _ref,
        "source": _source,
        "config": _Config(state),
        "this": _This(state),
        "model": _Model(state),
        "is_incremental": lambda: state.incremental,
        "should_full_refresh": lambda: False,
        "target": _TARGET,
        "adapter": _Adapter(refill, library, state),
        "execute": False,
        "flags": {"FULL_REFRESH": False, "WHICH": "run"},
        "run_query": lambda sql=None: None,
        "statement": _statement,
        "load_result": lambda name=None: None,
        "log": lambda message="", info=False: "",
        "print": lambda *args: "",
        "return": _return,
        "exceptions": _Exceptions(),
        "modules": {"datetime": dt, "re": re, "itertools": itertools},
        "fromjson": lambda text, default=None: json.loads(text),
        "tojson": lambda value, default=None, sort_keys=False: json.dumps(value, sort_keys=sort_keys, default=str),
        "fromyaml": lambda text, default=None: yaml.safe_load(text),
        "toyaml": lambda value, default=None, sort_keys=False: yaml.safe_dump(value, sort_keys=sort_keys),
        "zip": zip,
        "set": set,
        "local_md5": lambda text: hashlib.md5(str(text).encode()).hexdigest(),
        "invocation_id": "00000000-0000-0000-0000-000000000000",
        "run_started_at": dt.datetime(2026, 4, 27, tzinfo=dt.timezone.utc),
        "graph": {"nodes": {}, "sources": {}, "macros": {}},
        "refill": refill,
    }
    for name, macro in library.items():
        if name in CONTRACT_MACROS:
            namespace[name] = ProjectContractMacro(name, macro, state)
        elif name not in PROTECTED:
            namespace[name] = macro
    return namespace


class ProjectContractMacro:
    """A project's own macro under a contract name: it runs as written (its SQL is what
    the window checks read) and its call is recorded as the contract's."""

    def __init__(self, name: str, macro: Callable, state: RenderState) -> None:
        self.name = name
        self._macro = macro
        self._state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        recorded = len(self._state.filter_calls)
        result = self._macro(*args, **kwargs)
        if self.name == FILTER_MACRO:
            if len(self._state.filter_calls) == recorded:  # a shim to refill's stub records itself
                source = args[0] if args else kwargs.get("source_field")
                self._state.filter_calls.append({"source_field": source, "add_and": kwargs.get("add_and")})
            return result
        return _marked(result, HOOK_MACROS[self.name])


def _marked(hooks: Any, mark: str) -> Any:
    """The hook SQL with the contract's mark in a comment: still the project's statements."""
    if isinstance(hooks, (list, tuple)):
        return [_marked(hook, mark) for hook in hooks] or [f"/* {mark} */"]
    text = str(hooks if hooks is not None else "")
    return text if mark in text else f"{text} /* {mark} */"
