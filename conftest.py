"""Suite-wide settings that must hold for every test folder (pytest loads this file first).

The suite runs under pytest-xdist (``-n auto`` in pyproject.toml): each worker is its own
process, so each opens its own chDB data directories, as the engine requires (one process
per directory); every test already works in its own ``tmp_path``.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
LAB_PROJECT_DIR = REPO_ROOT / "integration_tests"
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config) -> int:
    """One worker per core, at most MAX_WORKERS: each worker replays the session's lab
    incidents for itself (about a minute each) and holds its own engine in memory, so more
    workers stop paying for themselves sooner than the cores run out."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


@pytest.fixture(scope="session", autouse=True)
def _lab_packages_installed() -> None:
    """The lab project's ``dbt_packages/``, installed once before any test parses the lab.

    ``dbt deps`` deletes ``dbt_packages/`` before it links the package again, so two workers
    each installing it on a clean checkout would pull it from under each other's parses. The
    first worker installs it under an exclusive lock; the others find it there."""
    installed = LAB_PROJECT_DIR / "dbt_packages" / "refill" / "dbt_project.yml"
    lock_path = LAB_PROJECT_DIR / "target" / "refill-deps.lock"  # target/ is ignored by git
    lock_path.parent.mkdir(exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.is_file():
            result = subprocess.run([sys.executable, "-m", "refill", "dbt", "deps", "--project-dir",
                                     str(LAB_PROJECT_DIR)], capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
