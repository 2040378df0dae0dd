"""Statement timing on the embedded engine, for benchmarks; off unless ``REFILL_QUERY_LOG`` is set.

chDB has no ``system.query_log``. With ``REFILL_QUERY_LOG=/path/file.jsonl`` in the
environment, every statement a chdb client of this process runs is appended to that file
as one JSON line (pid, thread, start, seconds, first keyword, the statement's head past
dbt's query comment), and each
client's open and close append the engine's cumulative counters (``system.events``:
inserted and merged rows, engine-side query time); an open says whether it started the
engine. Subprocesses inherit the variable, so one file collects a whole multi-process flow.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from typing import Any, Callable

ENV = "REFILL_QUERY_LOG"
COUNTERS = ("Query", "InsertedRows", "MergedRows", "QueryTimeMicroseconds")
_COMMENTS = re.compile(r"^(\s*(/\*.*?\*/|--[^\n]*\n))*\s*", re.DOTALL)
_lock = threading.Lock()
_files: dict[str, Any] = {}
_inside = threading.local()  # query() hands DDL to command(): record the outer call only


def attach(client, open_seconds: float, *, cold: bool | None = None) -> None:
    """Record ``client``'s statements and counters if ``REFILL_QUERY_LOG`` is set; ``cold``
    says whether this open started the engine (no other client of the process had it open)."""
    path = os.environ.get(ENV)
    if not path:
        return
    query = client.query
    _write(path, {"event": "open", "seconds": open_seconds, "cold": cold, "counters": _counters(query)})
    for method in ("query", "command", "raw_query", "insert"):
        setattr(client, method, _timed(getattr(client, method), path))
    close = client.close

    def close_and_record() -> None:
        try:
            _write(path, {"event": "close", "counters": _counters(query)})
        finally:
            close()

    client.close = close_and_record


def statement_kind(sql: object) -> str:
    """The statement's first keyword, past dbt's leading query comment."""
    text = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
    head = _COMMENTS.sub("", text, count=1)
    return (head.split(None, 1) or [""])[0].upper()


def statement_head(sql: object, limit: int = 240) -> str:
    """The statement's first ``limit`` characters past dbt's leading query comment (which
    alone can fill them)."""
    text = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
    return _COMMENTS.sub("", text, count=1)[:limit]


def _timed(method: Callable, path: str) -> Callable:
    @functools.wraps(method)
    def timed(sql, *args, **kwargs):
        if getattr(_inside, "active", False):
            return method(sql, *args, **kwargs)
        started, clock = time.time(), time.perf_counter()
        ok = False
        _inside.active = True
        try:
            result = method(sql, *args, **kwargs)
            ok = True
            return result
        finally:
            _inside.active = False
            _write(path, {"event": "statement", "start": started, "seconds": time.perf_counter() - clock,
                          "kind": statement_kind(sql), "ok": ok, "sql": statement_head(sql),
                          # dbt runs models on a thread pool: a model's statements share a thread
                          "thread": threading.get_ident()})

    return timed


def _counters(query: Callable) -> dict[str, int]:
    names = ", ".join(f"'{name}'" for name in COUNTERS)
    try:
        rows = query(f"SELECT event, value FROM system.events WHERE event IN ({names})").result_rows
    except Exception:  # a counter probe must never break the statement it accompanies
        return {}
    return {str(name): int(value) for name, value in rows}


def _write(path: str, record: dict) -> None:
    line = json.dumps({"pid": os.getpid(), **record}, default=str) + "\n"
    with _lock:
        handle = _files.get(path)
        if handle is None:
            handle = _files[path] = open(path, "a", buffering=1)
        handle.write(line)
