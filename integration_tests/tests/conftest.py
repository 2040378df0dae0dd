"""Shared engine fixtures.

Replaying an incident costs a minute (the lab's own daily dbt runs), so each scenario is
built once per session into a data directory; every test gets a private copy of that
directory (chDB data directories copy cleanly while no process has them open).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refill.lab.simulator import Lab

SEED_GAP = dt.date(2026, 4, 17)
SEED_TODAY = dt.date(2026, 4, 27)
BOUNDARY_GAP = dt.date(2026, 3, 30)
BOUNDARY_TODAY = dt.date(2026, 4, 3)


@pytest.fixture(scope="session")
def dbt_artifacts(tmp_path_factory) -> Path:
    """One dbt target path for every in-process lab session: dbt's partial parse is keyed by
    project, target and vars, not by the data directory, so tests share parses."""
    return tmp_path_factory.mktemp("dbt-artifacts")


def _build(base: Path, gap: dt.date, today: dt.date, artifacts: Path) -> Path:
    with Lab(base / "work", data_dir=base / "chdb", artifacts_dir=artifacts) as lab:
        lab.replay_incident([gap], today)
        lab.build_truth(today)
    return base / "chdb"


@pytest.fixture(scope="session")
def seed_incident_dir(tmp_path_factory, dbt_artifacts) -> Path:
    """The seed's incident (gap 2026-04-17, today 2026-04-27) with its ground truth."""
    return _build(tmp_path_factory.mktemp("seed-incident"), SEED_GAP, SEED_TODAY, dbt_artifacts)


@pytest.fixture(scope="session")
def boundary_incident_dir(tmp_path_factory, dbt_artifacts) -> Path:
    """A gap on 2026-03-30, found on 2026-04-03: the refill spans two months."""
    return _build(tmp_path_factory.mktemp("boundary-incident"), BOUNDARY_GAP, BOUNDARY_TODAY, dbt_artifacts)


def open_lab_copy(source: Path, tmp_path: Path, **lab_options) -> Lab:
    data_dir = tmp_path / "chdb"
    shutil.copytree(source, data_dir, symlinks=True)  # Atomic databases link metadata relatively
    return Lab(tmp_path / "work", data_dir=data_dir, **lab_options)


@pytest.fixture
def lab_copy(tmp_path, dbt_artifacts):
    """``lab_copy(source, **lab_options)``: a private copy, always closed at teardown
    (a lab left open would keep this process on its data directory)."""
    opened: list[Lab] = []

    def make(source: Path, **lab_options) -> Lab:
        lab = open_lab_copy(source, tmp_path, **{"artifacts_dir": dbt_artifacts, **lab_options})
        opened.append(lab)
        return lab

    yield make
    for lab in opened:
        lab.close()


@pytest.fixture
def seed_lab(seed_incident_dir, tmp_path, dbt_artifacts):
    lab = open_lab_copy(seed_incident_dir, tmp_path, artifacts_dir=dbt_artifacts)
    yield lab
    lab.close()


@pytest.fixture
def boundary_lab(boundary_incident_dir, tmp_path, dbt_artifacts):
    lab = open_lab_copy(boundary_incident_dir, tmp_path, artifacts_dir=dbt_artifacts)
    yield lab
    lab.close()


def run_refill(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m refill …`` in a fresh process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "refill", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


REPO_ROOT = Path(__file__).resolve().parents[2]


def copy_lab_project(tmp_path: Path, edits: dict[str, tuple[str, str]] | None = None) -> Path:
    """A private copy of the lab project; ``edits`` maps a file to (old text, new text)."""
    from refill.lab import LAB_PROJECT_DIR

    project = tmp_path / "project"
    shutil.copytree(LAB_PROJECT_DIR, project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".refill", "tests", "__pycache__",
                                                  "package-lock.yml"))
    (project / "packages.yml").write_text(f"packages:\n  - local: {REPO_ROOT}\n")
    for relative, (old, new) in (edits or {}).items():
        path = project / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))
    result = run_refill("dbt", "deps", "--project-dir", str(project))
    assert result.returncode == 0, result.stdout
    return project


def refill_cli(lab: Lab, *args: str, fault: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m refill run …`` on ``lab`` in a subprocess (the lab must be closed)."""
    import json
    import os

    env = {**os.environ, "DBT_TARGET_PATH": str(lab.work_dir / "cli-target"),
           "DBT_LOG_PATH": str(lab.work_dir / "cli-logs")}
    env.pop("REFILL_FAULT_INJECT", None)
    if fault:
        env["REFILL_FAULT_INJECT"] = json.dumps(fault)
    return subprocess.run(
        [sys.executable, "-m", "refill", *args, "--project-dir", str(lab.project_dir),
         "--profiles-dir", str(lab.profiles_dir), "--state-dir", str(lab.work_dir / "state")],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def full_error(result: subprocess.CompletedProcess) -> str:
    """stderr with the whole error message: a run that stopped prints one line of at most
    300 characters and the path of the log that holds the rest."""
    for line in result.stderr.splitlines():
        if line.startswith("refill: full log: "):
            return result.stderr + "\n" + Path(line.removeprefix("refill: full log: ")).read_text()
    return result.stderr


@pytest.fixture(autouse=True)
def _close_incident_projects():
    """After each test, every small incident project lets go of its data directory."""
    yield
    import incident_project

    incident_project.close_all()
