"""Crash injection for refill's own fault tests; inert unless REFILL_FAULT_INJECT is set.

The variable holds JSON, one of:

* ``{"step": "phase1:2026-04-01", "when": "before" | "after"}`` — SIGKILL the process at
  that journaled step boundary ("after" = once the step is journaled as done);
* ``{"sql": "<regex>", "after_ms": 50}`` — SIGKILL the process ``after_ms`` after a
  statement matching the regex starts, i.e. while the engine is executing it.

SIGKILL leaves no chance to clean up: with the embedded engine the storage dies with the
process, exactly like a crashed server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading

ENV = "REFILL_FAULT_INJECT"


def _config() -> dict | None:
    raw = os.environ.get(ENV)
    return json.loads(raw) if raw else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def at_step(step_key: str, when: str) -> None:
    config = _config()
    if config and config.get("step") == step_key and config.get("when", "before") == when:
        _die()


def at_statement(sql: str) -> None:
    config = _config()
    if config and config.get("sql") and re.search(config["sql"], sql, re.IGNORECASE | re.DOTALL):
        timer = threading.Timer(config.get("after_ms", 0) / 1000, _die)
        timer.daemon = True
        timer.start()
