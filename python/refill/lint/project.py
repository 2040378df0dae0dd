"""A dbt project as the linter sees it: vars, model paths, folder-level configs, macros."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping


from refill.dbt.settings import (
    BANNED_STRATEGIES_VAR, DEFAULT_TAG, OPT_IN_VAR, flag, name_list, read_project_file, scoped_vars,
)

TAG_VAR = "refill_tag"

# dbt accumulates these across folder levels and the model's own config(); every other
# key is taken from the most specific level that sets it.
ADDITIVE_KEYS = frozenset({"tags", "pre_hook", "post_hook"})


def config_key(key: str) -> str:
    """dbt spells configs `+pre-hook` in yml and `pre_hook` in config()."""
    return key.lstrip("+").replace("-", "_")


@dataclass(frozen=True)
class MacroSource:
    path: str
    text: str


@dataclass
class Project:
    """The root project of the models being linted."""

    root: Path
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    model_paths: tuple[str, ...] = ("models",)
    macro_paths: tuple[str, ...] = ("macros",)
    models_config: Mapping[str, Any] = field(default_factory=dict)
    macro_sources: tuple[MacroSource, ...] | None = None  # None: read macro_paths on demand

    @classmethod
    def load(cls, root: Path) -> "Project":
        root = Path(root).resolve()
        raw = read_project_file(root)
        name = str(raw.get("name") or root.name)
        return cls(
            root=root,
            name=name,
            vars=scoped_vars(raw),
            model_paths=tuple(raw.get("model-paths") or raw.get("source-paths") or ["models"]),
            macro_paths=tuple(raw.get("macro-paths") or ["macros"]),
            models_config=(raw.get("models") or {}).get(name) or {},
        )

    @property
    def tag(self) -> str:
        return str(self.vars.get(TAG_VAR) or DEFAULT_TAG)

    @property
    def allows_insert_overwrite(self) -> bool:
        return flag(self.vars, OPT_IN_VAR)

    @property
    def house_strategy(self) -> str | None:
        """The project-wide `+incremental_strategy` of dbt_project.yml: the project's choice."""
        value = self.models_config.get("+incremental_strategy", self.models_config.get("incremental_strategy"))
        return value if isinstance(value, str) and "{" not in value else None

    @property
    def banned_strategies(self) -> frozenset[str]:
        """Strategies fix hints must not recommend: the var refill_banned_strategies."""
        return frozenset(name_list(self.vars, BANNED_STRATEGIES_VAR))

    @cached_property
    def macros(self) -> tuple[MacroSource, ...]:
        if self.macro_sources is not None:
            return self.macro_sources
        found = []
        for folder in self.macro_paths:
            for path in sorted((self.root / folder).rglob("*.sql")):
                found.append(MacroSource(display_path(path), path.read_text()))
        return tuple(found)

    def model_location(self, path: Path) -> tuple[str, ...] | None:
        """The folders between a model path and the file, or None if not a model."""
        resolved = Path(path).resolve()
        for folder in self.model_paths:
            base = (self.root / folder).resolve()
            if resolved.is_relative_to(base):
                return resolved.relative_to(base).parent.parts
        return None

    def folder_config(self, folders: Iterable[str], model_name: str) -> dict[str, Any]:
        """Configs dbt_project.yml gives a model through `models: <project>: <folder>: ...`."""
        merged: dict[str, Any] = {}
        level: Mapping[str, Any] | None = self.models_config
        for step in [*folders, model_name, None]:
            if not isinstance(level, Mapping):
                break
            _merge(merged, _level_configs(level))
            level = level.get(step) if step is not None else None
        return merged

    def folder_configs(self, folders: tuple[str, ...]) -> "FolderConfigs":
        """folder_config() for every model of one folder (the folder's part computed once)."""
        return FolderConfigs(self, folders)


class FolderConfigs:
    def __init__(self, project: Project, folders: tuple[str, ...]) -> None:
        self._project = project
        self._folders = folders
        level: Any = project.models_config
        for step in folders:
            level = level.get(step) if isinstance(level, Mapping) else None
        self._level = level if isinstance(level, Mapping) else {}
        self._shared = project.folder_config(folders, "")

    def for_model(self, name: str) -> dict[str, Any]:
        if isinstance(self._level.get(name), Mapping):  # configs for this one model by name
            return self._project.folder_config(self._folders, name)
        return dict(self._shared)


def _level_configs(level: Mapping[str, Any]) -> dict[str, Any]:
    # A mapping without `+` is a sub-folder; a scalar or list is a config either way.
    return {
        config_key(key): value
        for key, value in level.items()
        if str(key).startswith("+") or not isinstance(value, Mapping)
    }


def _merge(into: dict[str, Any], configs: Mapping[str, Any]) -> None:
    for key, value in configs.items():
        if key in ADDITIVE_KEYS:
            into[key] = [*as_list(into.get(key)), *as_list(value)]
        else:
            into[key] = value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def find_project_root(path: Path) -> Path | None:
    for candidate in [Path(path).resolve(), *Path(path).resolve().parents]:
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    return None


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute.startswith(cwd + os.sep):
        return absolute[len(cwd) + 1:]
    return absolute
