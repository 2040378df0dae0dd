"""The embedded engine: a ``driver: chdb`` for dbt-clickhouse, backed by chDB in-process.

dbt-clickhouse 1.10 knows only the ``http`` and ``native`` drivers and drops profile
keys its credentials class does not declare. ``install()`` teaches it a third driver
for this process: the credentials class gains ``chdb_path`` (the data directory) and
the client factory returns a clickhouse-connect ``chdb`` client for ``driver: chdb``.
Every other driver goes through dbt-clickhouse untouched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from refill.engine import faults
from refill.engine import querylog
from refill.errors import LockHeld

DRIVER = "chdb"
PATH_KEY = "chdb_path"
DEFAULT_DATA_DIR = Path(".refill") / "chdb"

_installed = False

# dbt-clickhouse defaults these to 3 ("wait for active replicas"), which did not wait on
# Replicated tables before ClickHouse 26.10: an ALTER/mutation could return while another
# replica still held the old parts. 2 waits for every replica (and equals 1 on a single
# server). A value the profile sets in custom_settings wins.
SYNC_SETTINGS = {"mutations_sync": "2", "alter_sync": "2", "lightweight_deletes_sync": "2"}


class DataDirectoryInUse(LockHeld):
    """Another process has the chDB data directory open (chDB allows one per directory)."""


def resolve_data_dir(chdb_path: str | None, project_dir: str | os.PathLike | None = None) -> Path:
    """The absolute data directory: relative paths are relative to the dbt project."""
    base = Path(project_dir) if project_dir else _current_project_dir()
    path = Path(os.path.expanduser(chdb_path)) if chdb_path else DEFAULT_DATA_DIR
    return (path if path.is_absolute() else base / path).resolve()


def _current_project_dir() -> Path:
    try:
        from dbt.flags import get_flags

        project_dir = getattr(get_flags(), "PROJECT_DIR", None)
    except Exception:  # flags are unset outside a dbt invocation
        project_dir = None
    return Path(project_dir) if project_dir else Path.cwd()


def holder_of(data_dir: Path) -> str | None:
    """Describe the process holding ``data_dir`` ("pid 123, started …"), or None if free.

    chDB (like clickhouse-server) keeps an exclusive ``flock`` on ``<dir>/status`` and
    writes its pid there. A probe from a process that itself has the engine open would
    also fail to lock, so only call this after opening the engine failed.
    """
    status = data_dir / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            fields = dict(
                line.split(": ", 1) for line in status.read_text().splitlines() if ": " in line
            )
            pid = fields.get("PID", "?")
            started = fields.get("Started at", "?")
            return f"pid {pid}, started {started}"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


_open_clients: dict[Path, int] = {}
_starts: dict[Path, int] = {}


def starts(data_dir: Path | None = None) -> int:
    """How many times this process started the engine (at ``data_dir``, or at any directory):
    chDB starts when a client opens while none is open and shuts down when the last closes,
    loading every table each time it starts (seconds on a large warehouse)."""
    if data_dir is not None:
        return _starts.get(Path(data_dir).resolve(), 0)
    return sum(_starts.values())


def open_client(data_dir: Path, *, settings: dict[str, Any] | None = None, database: str | None = None):
    """A clickhouse-connect client on the embedded engine at ``data_dir``.

    If this process does not hold the directory yet, the lock is probed first, so a busy
    directory is reported with its holder instead of an engine start-up failure.
    """
    import clickhouse_connect

    data_dir = Path(data_dir).resolve()
    cold = not _open_clients.get(data_dir)
    if cold:
        _refuse_if_held(data_dir)
        _forget_databases_of_the_previous_engine()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        client = clickhouse_connect.get_client(
            interface=DRIVER, path=str(data_dir), settings=settings or {}, database=database
        )
    except Exception as exc:
        _refuse_if_held(data_dir, cause=exc)
        raise
    _open_clients[data_dir] = _open_clients.get(data_dir, 0) + 1
    _starts[data_dir] = _starts.get(data_dir, 0) + cold
    _release_on_close(client, data_dir)
    querylog.attach(client, time.perf_counter() - started, cold=cold)  # off unless REFILL_QUERY_LOG is set
    return client


def _forget_databases_of_the_previous_engine() -> None:
    """dbt-clickhouse remembers per process which databases exist; a process that moves to
    another data directory meets a new engine, where those databases may not exist."""
    try:
        from dbt.adapters.clickhouse import dbclient
    except ImportError:
        return
    with dbclient._database_lock:
        dbclient._ensured_databases.clear()


def _refuse_if_held(data_dir: Path, cause: BaseException | None = None) -> None:
    holder = holder_of(data_dir)
    if holder:
        raise DataDirectoryInUse(
            f"chDB data directory {data_dir} is in use by another process ({holder}); "
            "chDB allows one process per directory: stop it or point chdb_path elsewhere"
        ) from cause


def _release_on_close(client, data_dir: Path) -> None:
    close = client.close
    released = False

    def close_and_release() -> None:
        nonlocal released
        try:
            close()
        finally:
            if not released:
                released = True
                _open_clients[data_dir] -= 1

    client.close = close_and_release


def with_sync_settings(credentials):
    """A copy of ``credentials`` whose custom_settings default the sync settings to 2."""
    import copy

    merged = {**SYNC_SETTINGS, **(credentials.custom_settings or {})}
    if merged == (credentials.custom_settings or {}):
        return credentials
    credentials = copy.copy(credentials)
    credentials.custom_settings = merged
    return credentials


def install() -> None:
    """Register the chdb driver with dbt-clickhouse in this process (idempotent)."""
    global _installed
    if _installed:
        return
    import dbt.adapters.clickhouse as clickhouse_plugin
    from dbt.adapters.clickhouse import connections
    from dbt.adapters.clickhouse.credentials import ClickHouseCredentials
    from dbt.adapters.clickhouse.httpclient import ChHttpClient
    from dbt.adapters.exceptions import FailedToConnectError

    @dataclass
    class ChdbAwareCredentials(ClickHouseCredentials):
        # Deliberately not in _connection_keys: dbt hashes those into its partial-parse
        # state, and the data directory changes nothing in a parse.
        chdb_path: Optional[str] = None

    class ChdbClient(ChHttpClient):
        """dbt-clickhouse's HTTP client wrapper with the transport swapped for chDB."""

        def _create_client(self, credentials):
            data_dir = resolve_data_dir(credentials.chdb_path)
            self._data_dir = data_dir
            try:
                return open_client(data_dir, settings=self._conn_settings)
            except DataDirectoryInUse as exc:
                raise FailedToConnectError(exc.message) from exc

        def close(self):
            self._client.close()

        def _open_probe(self):
            return open_client(self._data_dir)

        def query(self, sql, **kwargs):
            faults.at_statement(sql, self._open_probe)
            return super().query(sql, **kwargs)

        def command(self, sql, **kwargs):
            faults.at_statement(sql, self._open_probe)
            return super().command(sql, **kwargs)

    http_or_native = connections.get_db_client

    def get_db_client(credentials):
        credentials = with_sync_settings(credentials)
        if credentials.driver == DRIVER:
            return ChdbClient(credentials)
        return http_or_native(credentials)

    ChdbAwareCredentials.__name__ = ClickHouseCredentials.__name__
    clickhouse_plugin.Plugin.credentials = ChdbAwareCredentials
    connections.get_db_client = get_db_client
    _installed = True
