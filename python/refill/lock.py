"""One refill per target at a time.

Two locks, because they guard different things:

* a local lock file (``flock``) — refills started on this machine. The kernel drops it
  when its process dies, so a stale lock is recognised for free and taken over;
* a warehouse lock — refills started from other machines against the same schema. It is
  a table whose ``CREATE`` only one process can win (ClickHouse has no row locks); its
  holder refreshes a heartbeat, and a lock whose heartbeat stopped (or whose process on
  this host is gone) is taken over with a warning.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable

from refill import render
from refill.errors import LockHeld, StepFailed
from refill.sql import literal, table

LOCK_TABLE = "__refill_lock"
HEARTBEAT_SECONDS = 30
STALE_AFTER_SECONDS = 300


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def holder_info(run_id: str, plan_summary: str) -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _now().isoformat(timespec="seconds"),
        "heartbeat": _now().isoformat(timespec="seconds"),
        "run_id": run_id,
        "plan": plan_summary,
    }


def describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}, "
            f"run {holder.get('run_id', '?')} ({holder.get('plan', '?')})")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: dict[str, Any], stale_after: float = STALE_AFTER_SECONDS) -> bool:
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        return not process_alive(holder["pid"])
    try:
        beat = dt.datetime.fromisoformat(holder["heartbeat"])
    except (KeyError, TypeError, ValueError):
        return True
    return (_now() - beat).total_seconds() > stale_after


def _warn(message: str) -> None:
    render.warn(message)


def read_holder(warehouse, schema: str) -> dict[str, Any]:
    """The holder recorded in ``__refill_lock``'s comment, or {} when nobody holds the target.

    Read on every replica: a lock whose ON CLUSTER create reached only some of them is
    still held.
    """
    comment = warehouse.scalar(
        f"SELECT any(comment) FROM {warehouse.system_table('tables')}"
        f" WHERE database = {literal(schema)} AND name = {literal(LOCK_TABLE)}"
    )
    try:
        return json.loads(comment or "{}")
    except ValueError:
        return {}


class LocalLock:
    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = Path(path)
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise LockHeld(f"another refill holds this target: {describe(self._read())}") from None
        previous = self._read()
        if previous:
            _warn(f"taking over a stale refill lock ({describe(previous)}): its process is gone")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self.holder).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def refuse_if_held(self) -> None:
        """LockHeld naming the holder if another refill holds this lock now; takes nothing.
        Planning reads the warehouse, and on chDB a running refill holds the data directory,
        so without this probe a second refill would name the process, not the run."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise LockHeld(f"another refill holds this target: {describe(self._read())}") from None
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class WarehouseLock:
    """A ``__refill_lock`` table in the target schema; its comment names the holder.

    On a cluster the table is created, refreshed and dropped ON CLUSTER (the distributed
    DDL queue orders two CREATEs, so still only one wins) and looked up on every replica.
    """

    def __init__(
        self,
        open_warehouse: Callable[[], Any],
        schema: str,
        holder: dict[str, Any],
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_after: float = STALE_AFTER_SECONDS,
    ) -> None:
        self.open_warehouse = open_warehouse
        self.schema = schema
        self.holder = dict(holder)
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after = stale_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warehouse = None

    @property
    def relation(self) -> str:
        return table(self.schema, LOCK_TABLE)

    def acquire(self) -> None:
        self._warehouse = self.open_warehouse()
        for attempt in (1, 2):
            try:
                self._warehouse.execute(
                    f"CREATE TABLE {self.relation}{self._warehouse.on_cluster()} (held UInt8) "
                    f"ENGINE = MergeTree ORDER BY tuple() COMMENT {literal(json.dumps(self.holder))}"
                )
                break
            except StepFailed as exc:
                if "already exists" not in exc.message.lower() and "TABLE_ALREADY_EXISTS" not in exc.message:
                    raise
                current = self.current_holder()
                if attempt == 2 or not is_stale(current, self.stale_after):
                    raise LockHeld(f"another refill holds this target: {describe(current)}") from None
                _warn(f"taking over a stale refill lock ({describe(current)})")
                self._warehouse.execute(f"DROP TABLE IF EXISTS {self.relation}{self._warehouse.on_cluster()} SYNC")
        self._thread = threading.Thread(target=self._beat, name="refill-lock-heartbeat", daemon=True)
        self._thread.start()

    def current_holder(self) -> dict[str, Any]:
        return read_holder(self._warehouse, self.schema)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            self.holder["heartbeat"] = _now().isoformat(timespec="seconds")
            try:
                self._warehouse.execute(
                    f"ALTER TABLE {self.relation}{self._warehouse.on_cluster()} MODIFY COMMENT {literal(json.dumps(self.holder))}"
                    " SETTINGS alter_sync = 2"
                )
            except StepFailed as exc:  # a missed beat only ages the lock; the refill goes on
                _warn(f"could not refresh the refill lock: {exc.message}")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._warehouse is not None:
            if self.current_holder().get("pid") == self.holder["pid"]:
                self._warehouse.execute(f"DROP TABLE IF EXISTS {self.relation}{self._warehouse.on_cluster()} SYNC")
            self._warehouse.close()
            self._warehouse = None


class TargetLocks:
    """Both locks, taken in order (local first: it is free and needs no warehouse)."""

    def __init__(self, state_dir: Path, holder: dict[str, Any], open_warehouse: Callable[[], Any],
                 schema: str) -> None:
        self.local = LocalLock(Path(state_dir) / "lock", holder)
        self.remote = WarehouseLock(open_warehouse, schema, holder)
        self._remote_held = False

    def __enter__(self) -> "TargetLocks":
        self.local.acquire()
        try:
            self.remote.acquire()
            self._remote_held = True
        except BaseException:
            self.local.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._remote_held:
                self.remote.release()
        finally:
            self.local.release()
