"""The target (one warehouse + schema of a dbt profile): its state directory, the locks that
let one refill at a time hold it, its run journals, and the rule that a run which stopped
half-way owns its months until it is finished or rolled back.

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
import hashlib
import json
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any, Callable

from refill import render
from refill.dbt.session import DbtSession
from refill.engine.sql import literal, table
from refill.engine.warehouse import Warehouse
from refill.errors import BadInput, LockHeld, StepFailed
from refill.run.journal import Journal, JournalStore

LOCK_TABLE = "__refill_lock"
LOCK_FILE = "lock"  # in the state directory
RUN_ID = re.compile(r"^[0-9a-f]{12}$")
PENDING_RUN = "pending"  # --run pending: the target's unfinished run, whatever its id
HEARTBEAT_SECONDS = 30
STALE_AFTER_SECONDS = 300


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def holder_info(run_id: str, doing: str) -> dict[str, Any]:
    """Who holds the target: this process, for ``run_id``; ``doing`` says what in a few words
    (a refill's plan summary, "rollback of …")."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _now().isoformat(timespec="seconds"),
        "heartbeat": _now().isoformat(timespec="seconds"),
        "run_id": run_id,
        "doing": doing,
    }


def describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}, "
            f"run {holder.get('run_id', '?')} ({holder.get('doing', '?')})")


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
            render.warn(f"taking over a stale refill lock ({describe(previous)}): its process is gone")
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
                render.warn(f"taking over a stale refill lock ({describe(current)})")
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
                render.warn(f"could not refresh the refill lock: {exc.message}")

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
        self.local = LocalLock(Path(state_dir) / LOCK_FILE, holder)
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


# -- the state directory -------------------------------------------------------------------

def state_dir(root: Path | None, session: DbtSession) -> Path:
    """Where the target's journals and local lock live: one directory per warehouse + schema
    under ``root`` (default: <project>/.refill/state)."""
    credentials = session.credentials
    identity = "|".join(str(getattr(credentials, key, "") or "") for key in
                        ("driver", "host", "port", "schema", "chdb_path", "cluster"))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    root = root or session.project_dir / ".refill" / "state"
    return Path(root) / f"{session.profile.profile_name}.{session.target_name}.{credentials.schema}.{digest}"


def journal_store(root: Path | None, session: DbtSession) -> JournalStore:
    """The target's run journals (see ``state_dir``)."""
    return JournalStore(state_dir(root, session))


# -- the locks -----------------------------------------------------------------------------

def target_locks(session: DbtSession, directory: Path, holder: dict) -> TargetLocks:
    """Both locks of the target whose state directory is ``directory``, for ``holder``."""
    return TargetLocks(directory, holder, lambda: Warehouse(session.credentials, session.project_dir),
                       session.schema)


def refuse_if_held(directory: Path) -> None:
    """LockHeld naming the holder when a refill on this machine holds the target now; takes nothing."""
    LocalLock(Path(directory) / LOCK_FILE, {}).refuse_if_held()


# -- pending runs --------------------------------------------------------------------------

def resume_command(command: str | None) -> str:
    """The command that resumes a run started with ``command`` (as its journal records it)."""
    command = command or "the same command"
    return command if "--resume" in command.split() else f"{command} --resume"


def refuse_other_pending_runs(store: JournalStore, run_id: str, *, resume: bool) -> None:
    """A refill that stopped half-way owns its months until it is finished or rolled back:
    LockHeld naming how to do either when another run of the target is pending; BadInput
    for ``resume`` when ``run_id`` has no journal to resume."""
    others = [j for j in store.pending() if j.run_id != run_id]
    if others:
        other = others[0]
        raise LockHeld(
            f"run {other.run_id} ({other.data.get('error') or other.status}) has not finished on this target; "
            "finish it or roll it back first (the commands below)",
            next_steps=(f"resume it: {resume_command(other.data.get('command'))}",
                        f"or restore its backups: python -m refill rollback --run {other.run_id}"))
    if resume and store.load(run_id) is None:
        raise BadInput(f"--resume: no interrupted run of this plan ({run_id}) to resume")


def find_run(store: JournalStore, run_id: str, target_name: str, *, none_pending: str = "") -> Journal:
    """The journal a ``--run`` argument names: a run id, or ``pending`` for the target's
    unfinished run. Raises BadInput (one line) for a malformed id or a run not found;
    ``none_pending`` ends the message when ``pending`` finds none."""
    if not RUN_ID.match(run_id or "") and run_id != PENDING_RUN:
        raise BadInput(f"--run must be a refill run id (12 hex digits, printed by `refill run`) "
                       f"or '{PENDING_RUN}', got {run_id!r}")
    if run_id == PENDING_RUN:
        # a target has at most one unfinished run: `refill run` refuses to start another
        unfinished = store.pending()
        if not unfinished:
            raise BadInput(f"no unfinished refill run on target {target_name}{none_pending}")
        run_id = unfinished[0].run_id
    journal = store.load(run_id)
    if journal is None:
        raise BadInput(f"no refill run {run_id} on target {target_name} (journals: {store.directory / 'runs'})")
    return journal
