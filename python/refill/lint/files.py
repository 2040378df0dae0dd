"""Files mode: model files (paths, directories, globs) and their project's dbt_project.yml."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from refill.errors import BadInput
from refill.lint.model import ModelSource
from refill.lint.project import FolderConfigs, Project, display_path, find_project_root

# Never models, and dbt_packages may link back to the project itself (`local: ../`).
_SKIPPED_DIRS = frozenset({"dbt_packages", "dbt_modules", "target", "logs", ".refill", ".git", "node_modules"})
_GLOB_CHARS = frozenset("*?[")


@dataclass
class FileSelection:
    models: list[ModelSource] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # deleted in the change, or mistyped
    not_models: list[str] = field(default_factory=list)  # .sql outside every model path


class ProjectCache:
    """Projects by root, and each folder's project and place in it (resolved once per folder:
    path resolution is the slowest part of walking a large project)."""

    def __init__(self) -> None:
        self._projects: dict[Path, Project] = {}
        self._folders: dict[str, tuple[Project, FolderConfigs] | None] = {}

    def get(self, root: Path) -> Project:
        if root not in self._projects:
            self._projects[root] = Project.load(root)
        return self._projects[root]

    def locate(self, folder: Path) -> tuple[Project, FolderConfigs] | None:
        """The project a folder's .sql files belong to, and their dbt_project.yml configs."""
        key = os.path.abspath(folder)
        if key not in self._folders:
            root = find_project_root(Path(key))
            place = None
            if root is not None:
                project = self.get(root)
                folders = project.model_location(Path(key) / "model.sql")
                place = (project, project.folder_configs(folders)) if folders is not None else None
            self._folders[key] = place
        return self._folders[key]


def select_files(paths: Iterable[str], projects: ProjectCache | None = None) -> FileSelection:
    """The models among `paths`; a path that no longer exists is skipped, not an error."""
    projects = projects or ProjectCache()
    selection = FileSelection()
    seen: set[str] = set()
    for argument in paths:
        for path in _expand(argument, selection):
            resolved = os.path.abspath(path)
            if resolved in seen:
                continue
            seen.add(resolved)
            model = _model_file(path, projects)
            if model is None:
                selection.not_models.append(str(path))
            else:
                selection.models.append(model)
    return selection


def project_models(project_dir: Path, projects: ProjectCache | None = None) -> FileSelection:
    """Every model of the project under its model-paths."""
    projects = projects or ProjectCache()
    root = Path(project_dir).resolve()
    if not (root / "dbt_project.yml").is_file():
        raise BadInput(f"no dbt_project.yml in {project_dir} (use --project-dir, or pass model files)")
    project = projects.get(root)
    folders = [display_path(root / folder) for folder in project.model_paths if (root / folder).is_dir()]
    return select_files(folders, projects)


def _expand(argument: str, selection: FileSelection) -> Iterable[Path]:
    path = Path(argument)
    if path.is_dir():
        return _walk(path)
    if path.is_file():
        return [path] if path.suffix == ".sql" else []
    if _GLOB_CHARS & set(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        found = [Path(m) for m in matches if m.endswith(".sql") and Path(m).is_file()]
        found += [p for m in matches if Path(m).is_dir() for p in _walk(Path(m))]
        if found:
            return found
    selection.missing.append(argument)
    return []


def _walk(folder: Path) -> Iterable[Path]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".sql"):
                yield Path(current) / name


def _model_file(path: Path, projects: ProjectCache) -> ModelSource | None:
    place = projects.locate(path.parent)
    if place is None:
        return None
    project, configs = place
    name = path.stem
    return ModelSource(
        name=name,
        path=display_path(path),
        source=path.read_text(),
        project=project,
        external=configs.for_model(name),
    )
