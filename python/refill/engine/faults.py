"""Crash injection for refill's own fault tests; inert unless REFILL_FAULT_INJECT is set.

The variable holds JSON, one of:

* ``{"step": "phase1:2026-04-01", "when": "before" | "after"}`` — SIGKILL the process at
  that journaled step boundary ("after" = once the step is journaled as done); with
  ``"sleep": seconds`` it pauses there instead (holding its locks), for lock tests;
* ``{"sql": "<regex>", "after_ms": 50}`` — SIGKILL the process ``after_ms`` after a
  statement matching the regex starts, i.e. while the engine is executing it;
* ``{"sql": "<regex>", "rows_in": "<database>.<table>"}`` — SIGKILL the process as soon as
  that table holds more committed rows than when the matching statement started (embedded
  engine only): the crash lands mid-INSERT, after some blocks were written.

SIGKILL leaves no chance to clean up: with the embedded engine the storage dies with the
process, exactly like a crashed server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from typing import Any, Callable

from refill import render

ENV = "REFILL_FAULT_INJECT"


def _config() -> dict | None:
    raw = os.environ.get(ENV)
    return json.loads(raw) if raw else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def at_step(step_key: str, when: str) -> None:
    config = _config()
    if config and config.get("step") == step_key and config.get("when", "before") == when:
        if config.get("sleep"):
            # the fault tests wait for this line on stdout: the process holds its locks from here
            render.emit(f"[fault] pausing {config['sleep']}s at {when} {step_key}")
            time.sleep(float(config["sleep"]))
        else:
            _die()


def at_statement(sql: str, open_probe: Callable[[], Any] | None = None) -> None:
    """Arm the statement fault for ``sql``. ``open_probe`` opens a second client on the same
    engine (the embedded engine's driver passes it; this module does not import the engine,
    which imports this one), needed by ``rows_in``."""
    config = _config()
    if not (config and config.get("sql") and re.search(config["sql"], sql, re.IGNORECASE | re.DOTALL)):
        return
    if config.get("rows_in") and open_probe is not None:
        database, _, table = config["rows_in"].partition(".")
        watcher = threading.Thread(target=_die_once_rows_land, args=(open_probe, database, table), daemon=True)
    else:
        watcher = threading.Timer(config.get("after_ms", 0) / 1000, _die)
        watcher.daemon = True
    watcher.start()


def engine_table(database: str, table: str) -> str:
    from refill.engine.sql import table as quoted

    return quoted(database, table)


def _die_once_rows_land(open_probe: Callable[[], Any], database: str, table: str) -> None:
    client = open_probe()
    # count() on the table itself, not system.parts: a freshly started engine loads tables
    # asynchronously, and an unloaded table lists no parts (a baseline of 0 would fire at once).
    probe = f"SELECT count() FROM {engine_table(database, table)}"

    def rows() -> int:
        return client.query(probe).result_rows[0][0]

    baseline = rows()
    while rows() <= baseline:
        time.sleep(0.001)
    _die()
