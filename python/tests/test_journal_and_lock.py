"""The journal's resume semantics and the local lock, without an engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from refill.errors import ExitCode, LockHeld
from refill.run.journal import DONE, FAILED, JournalStore
from refill.run.target import LocalLock, describe, holder_info, is_stale


def test_same_run_resumes_its_pending_journal(tmp_path):
    store = JournalStore(tmp_path)
    first = store.start("run1", {"months": ["2026-04-01"]}, "cmd")
    first.record_step("preflight:backup", "ok", 1.0)
    # the process dies here: the journal stays "running"
    again = store.start("run1", {"months": ["2026-04-01"]}, "cmd")
    assert again.is_done("preflight:backup")
    assert not again.is_done("phase1:2026-04-01")
    assert again.data["attempts"] == 2


def test_a_finished_run_starts_afresh(tmp_path):
    store = JournalStore(tmp_path)
    journal = store.start("run1", {}, "cmd")
    journal.record_step("phase2", "ok", 1.0)
    journal.finish(DONE)
    assert not store.start("run1", {}, "cmd").is_done("phase2")


def test_failed_runs_are_pending(tmp_path):
    store = JournalStore(tmp_path)
    store.start("run1", {}, "cmd").finish(FAILED, "canary failed")
    store.start("run2", {}, "cmd").finish(DONE)
    assert [j.run_id for j in store.pending()] == ["run1"]


def test_journal_writes_are_atomic_files(tmp_path):
    store = JournalStore(tmp_path)
    store.start("run1", {}, "cmd").record_step("phase2", "ok", 2.5, {"models": ["a"]})
    data = json.loads(store.path("run1").read_text())
    assert data["steps"]["phase2"]["details"] == {"models": ["a"]}
    assert not list(tmp_path.rglob("*.tmp"))


def _hold_lock_in_child(path):
    code = ("import sys, time; from refill.run.target import LocalLock, holder_info;"
            "lock = LocalLock(sys.argv[1], holder_info('abc123', 'from 2026-04-17 to 2026-04-27'));"
            "lock.acquire(); print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_refill_is_refused_and_told_who_holds_the_target(tmp_path):
    child = _hold_lock_in_child(tmp_path / "lock")
    try:
        with pytest.raises(LockHeld) as info:
            LocalLock(tmp_path / "lock", holder_info("def456", "other")).acquire()
        assert info.value.exit_code == ExitCode.LOCKED
        assert f"pid {child.pid} on " in info.value.message
        assert "run abc123 (from 2026-04-17 to 2026-04-27)" in info.value.message
    finally:
        child.kill()
        child.wait()


def test_stale_lock_is_taken_over_with_a_warning(tmp_path, capsys):
    child = _hold_lock_in_child(tmp_path / "lock")
    child.kill()
    child.wait()
    lock = LocalLock(tmp_path / "lock", holder_info("def456", "mine"))
    lock.acquire()
    assert f"taking over a stale refill lock (pid {child.pid}" in capsys.readouterr().err
    lock.release()


def test_holder_on_this_host_is_stale_once_its_process_is_gone():
    me = holder_info("r", "p")
    assert not is_stale(me)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert is_stale({**me, "pid": child.pid})


def test_holder_on_another_host_is_stale_when_its_heartbeat_stops():
    other = {**holder_info("r", "p"), "host": "elsewhere", "heartbeat": "2026-01-01T00:00:00+00:00"}
    assert is_stale(other)
    assert not is_stale({**other, "heartbeat": holder_info("r", "p")["heartbeat"]})
    assert "pid" in describe(other) and os.getpid() == other["pid"]


def test_another_pending_run_owns_the_target_until_it_is_finished_or_rolled_back(tmp_path):
    from refill.errors import BadInput
    from refill.run.target import refuse_other_pending_runs

    store = JournalStore(tmp_path)
    store.start("aaaaaaaaaaaa", {}, "python -m refill run --from-date 2026-04-17").finish(FAILED, "canary failed")
    with pytest.raises(LockHeld) as held:
        refuse_other_pending_runs(store, "bbbbbbbbbbbb", resume=False)
    assert "run aaaaaaaaaaaa (canary failed) has not finished" in held.value.message
    assert held.value.next_steps == ("resume it: python -m refill run --from-date 2026-04-17 --resume",
                                     "or restore its backups: python -m refill rollback --run aaaaaaaaaaaa")
    refuse_other_pending_runs(store, "aaaaaaaaaaaa", resume=True)  # its own run resumes
    store.load("aaaaaaaaaaaa").finish(DONE)
    refuse_other_pending_runs(store, "bbbbbbbbbbbb", resume=False)
    with pytest.raises(BadInput, match="no interrupted run of this plan"):
        refuse_other_pending_runs(store, "bbbbbbbbbbbb", resume=True)


def test_run_pending_finds_the_targets_unfinished_run(tmp_path):
    from refill.errors import BadInput
    from refill.run.target import find_run

    store = JournalStore(tmp_path)
    with pytest.raises(BadInput, match="no unfinished refill run on target prod: nothing to roll back"):
        find_run(store, "pending", "prod", none_pending=": nothing to roll back")
    store.start("cccccccccccc", {}, "cmd")
    assert find_run(store, "pending", "prod").run_id == "cccccccccccc"
    assert find_run(store, "cccccccccccc", "prod").run_id == "cccccccccccc"
    with pytest.raises(BadInput, match="12 hex digits"):
        find_run(store, "latest", "prod")


def test_rollback_cleanup_and_report_reach_the_target_without_the_orchestrator():
    """They act on a target's runs and locks: importing the run's driver for that made every
    command depend on every phase (issue #17)."""
    from test_import_cycles import import_graph

    graph = import_graph()

    def reaches(module: str) -> set[str]:
        seen, stack = set(), [module]
        while stack:
            for imported in graph[stack.pop()] - seen:
                seen.add(imported)
                stack.append(imported)
        return seen

    for command in ("refill.commands.rollback", "refill.commands.cleanup", "refill.commands.runreport"):
        assert "refill.run.target" in graph[command]
        assert "refill.run.orchestrator" not in reaches(command), command
