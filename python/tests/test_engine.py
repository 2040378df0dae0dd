"""The embedded engine's pure parts: data-directory resolution and lock probing."""

from __future__ import annotations

import subprocess
import sys

from refill.engine import embedded as engine


def test_relative_data_dir_resolves_against_the_project(tmp_path):
    assert engine.resolve_data_dir("data/ch", tmp_path) == (tmp_path / "data" / "ch").resolve()


def test_absolute_data_dir_is_kept(tmp_path):
    assert engine.resolve_data_dir(str(tmp_path / "x"), "/elsewhere") == (tmp_path / "x").resolve()


def test_default_data_dir_is_project_local_and_hidden(tmp_path):
    assert engine.resolve_data_dir(None, tmp_path) == (tmp_path / ".refill" / "chdb").resolve()


def test_free_directory_has_no_holder(tmp_path):
    assert engine.holder_of(tmp_path) is None
    (tmp_path / "status").write_text("PID: 1\nStarted at: then\n")
    assert engine.holder_of(tmp_path) is None  # a stale status file without a lock


def test_locked_status_file_names_the_holder(tmp_path):
    status = tmp_path / "status"
    status.write_text("PID: 4242\nStarted at: 2026-04-27 22:56:18\nRevision: 1\n")
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR);"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)", str(status)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        assert engine.holder_of(tmp_path) == "pid 4242, started 2026-04-27 22:56:18"
    finally:
        child.kill()
        child.wait()
