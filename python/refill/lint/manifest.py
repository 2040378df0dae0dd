"""Manifest mode: models, tags and configs as dbt resolved them (dbt_project.yml, schema.yml).

Takes a parsed ``Manifest`` (from ``DbtSession.parse()``), a ``manifest.json`` path, or its
loaded dict. The model's own ``config()`` arguments are still evaluated from its raw code
under every var combination; dbt's resolved config supplies everything set outside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from refill.errors import BadInput
from refill.lint.model import CONTRACT_KEYS, ModelSource
from refill.lint.project import MacroSource, Project, config_key, display_path


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read manifest {path}: {' '.join(str(exc).split())}") from exc


def default_project_dir(manifest_path: Path | None = None) -> Path:
    """`<project>/target/manifest.json` -> `<project>`; else the directory dbt last parsed; else cwd."""
    if manifest_path is not None:
        candidate = Path(manifest_path).resolve().parent.parent
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    try:
        from dbt.flags import get_flags

        project_dir = getattr(get_flags(), "PROJECT_DIR", None)
    except Exception:  # dbt not imported or flags never set: fall back to cwd
        project_dir = None
    return Path(project_dir or Path.cwd()).resolve()


def manifest_models(manifest: Any, project_dir: Path) -> list[ModelSource]:
    data = _as_mapping(manifest)
    project_name = _get(_get(data, "metadata"), "project_name")
    project = _project(project_dir, project_name, _root_macros(data, project_name))
    models = []
    for node in _values(_get(data, "nodes")):
        if _get(node, "resource_type") != "model" or _get(node, "package_name") != project.name:
            continue
        if _get(node, "language", "sql") != "sql":
            continue
        models.append(_model(node, project))
    return sorted(models, key=lambda model: model.path)


def _model(node: Any, project: Project) -> ModelSource:
    config = _config_dict(_get(node, "config"))
    unrendered = {config_key(k): v for k, v in (_get(node, "unrendered_config") or {}).items()}
    external: dict[str, Any] = {}
    for key in CONTRACT_KEYS:
        value = config.get(key)
        if _is_template(unrendered.get(key)):  # a yml value dbt rendered with the parse's vars
            value = unrendered[key]
        if value not in (None, []):
            external[key] = value
    templates = {key: value for key, value in unrendered.items()
                 if key not in CONTRACT_KEYS and _holds_template(value)}
    return ModelSource(
        name=_get(node, "name"),
        path=display_path(project.root / _get(node, "original_file_path")),
        source=_get(node, "raw_code") or "",
        project=project,
        external=external,
        tags=frozenset(_get(node, "tags") or []),
        external_hooks_include_call=True,
        external_templates=templates,
    )


def _project(project_dir: Path, project_name: str | None, macros: tuple[MacroSource, ...]) -> Project:
    root = Path(project_dir).resolve()
    if (root / "dbt_project.yml").is_file():
        project = Project.load(root)
    else:
        project = Project(root=root, name=project_name or root.name)
    if project_name and project.name != project_name:
        raise BadInput(f"the manifest is for project '{project_name}', not '{project.name}' in {root} (use --project-dir)")
    project.macro_sources = macros
    return project


def _root_macros(data: Any, project_name: str | None) -> tuple[MacroSource, ...]:
    return tuple(
        MacroSource(_get(macro, "original_file_path") or _get(macro, "name"), _get(macro, "macro_sql") or "")
        for macro in _values(_get(data, "macros"))
        if _get(macro, "package_name") == project_name
    )


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    raw = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    values = {config_key(k): v for k, v in raw.items()}
    for hook in ("pre_hook", "post_hook"):
        values[hook] = [h.get("sql") if isinstance(h, Mapping) else getattr(h, "sql", h) for h in values.get(hook) or []]
    return values


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _holds_template(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_template(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_template(v) for v in value)
    return _is_template(value)


def _as_mapping(manifest: Any) -> Any:
    if isinstance(manifest, (str, Path)):
        return load_manifest(Path(manifest))
    return manifest


def _get(item: Any, key: str, default: Any = None) -> Any:
    if item is None:
        return default
    if isinstance(item, Mapping):
        return item.get(key, default)
    return getattr(item, key, default)


def _values(collection: Any) -> Iterable[Any]:
    return (collection or {}).values()
