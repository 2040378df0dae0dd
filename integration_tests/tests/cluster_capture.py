"""Run refill against a profile with ``cluster:`` set, on the embedded engine.

No cluster runs here, and chDB cannot run ON CLUSTER DDL or reach other replicas. So
every statement is captured at the client exactly as refill and dbt issued it (with its
ON CLUSTER and cluster table functions), and the engine then runs it *declustered*:
``ON CLUSTER c`` removed, ``clusterAllReplicas('c', t)`` and ``cluster('c', t)`` read
as ``t``, their ``_shard_num`` as 1 — on a one-server cluster that is what they mean. The data the run produces is
real, and the test asserts the clauses on the captured text.

Who issued a statement is recorded too: refill's Python (``Warehouse``), a macro of the
refill package (the innermost non-``dbt`` macro on the call stack), or anyone else
(dbt-clickhouse's own materializations and introspection, which are not refill's).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import refill.engine.warehouse
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.tokens import TokenType

DDL_VERBS = {"CREATE", "DROP", "ALTER", "OPTIMIZE", "KILL", "RENAME", "EXCHANGE", "TRUNCATE", "ATTACH", "DETACH"}
_WAREHOUSE_FILE = refill.engine.warehouse.__file__
# what dbt-clickhouse runs whenever it opens a connection (probes, SETs): not refill's
_CONNECTION_SETUP = {"__init__", "_ensure_database", "_check_atomic_exchange", "_run_exchange_test",
                     "_check_lightweight_deletes", "_server_version", "get_ch_setting"}


class Tokenizer(ClickHouse.Tokenizer):
    COMMANDS: set = set()  # tokenize OPTIMIZE/ALTER/KILL bodies instead of one opaque string


def tokens(sql: str):
    return Tokenizer().tokenize(sql)


def texts(sql: str) -> list[str]:
    return [t.text for t in tokens(sql)]


@dataclass(frozen=True)
class Captured:
    sql: str
    origin: str  # "python" | "refill-macro" | "other"
    macro: str  # the innermost non-dbt macro, if any

    @property
    def verb(self) -> str:
        words = texts(self.sql)
        return words[0].upper() if words else ""

    @property
    def is_ddl(self) -> bool:
        return self.verb in DDL_VERBS

    @property
    def by_refill(self) -> bool:
        return self.origin in ("python", "refill-macro")


def _matching_paren(toks, open_index: int) -> int:
    depth = 0
    for i in range(open_index, len(toks)):
        if toks[i].token_type == TokenType.L_PAREN:
            depth += 1
        elif toks[i].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses")


def decluster(sql: str) -> str:
    """The statement as a one-server cluster runs it (see the module docstring)."""
    toks = tokens(sql)
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement) in characters
    i = 0
    while i < len(toks):
        word = toks[i].text.upper()
        if word == "ON" and i + 2 < len(toks) and toks[i + 1].text.upper() == "CLUSTER":
            edits.append((toks[i].start, toks[i + 2].end + 1, ""))
            i += 3
            continue
        if word in ("CLUSTERALLREPLICAS", "CLUSTER") and i + 1 < len(toks) and toks[i + 1].token_type == TokenType.L_PAREN:
            close = _matching_paren(toks, i + 1)
            comma = next(j for j in range(i + 2, close) if toks[j].token_type == TokenType.COMMA)
            inner = sql[toks[comma + 1].start: toks[close - 1].end + 1]
            edits.append((toks[i].start, toks[close].end + 1, inner))
            i = close + 1
            continue
        if word == "_SHARD_NUM":  # the virtual column cluster() adds: one server, shard 1
            edits.append((toks[i].start, toks[i].end + 1, "toUInt32(1)"))
        i += 1
    for start, end, replacement in sorted(edits, reverse=True):
        sql = sql[:start] + replacement + sql[end:]
    return sql


class _MacroStack(threading.local):
    def __init__(self) -> None:
        self.frames: list[tuple[str, str]] = []


@dataclass
class Capture:
    statements: list[Captured]

    def by_refill(self) -> list[Captured]:
        return [s for s in self.statements if s.by_refill]


@contextmanager
def capture_statements() -> Iterator[Capture]:
    """Record every statement dbt and refill send (with its origin) and run it declustered."""
    from dbt.adapters.clickhouse.httpclient import ChHttpClient
    from dbt.clients.jinja import MacroGenerator

    stack = _MacroStack()
    captured = Capture([])
    original_call = MacroGenerator.__call__
    original_query, original_command = ChHttpClient.query, ChHttpClient.command

    def call(self, *args, **kwargs):
        stack.frames.append((self.macro.package_name, self.macro.name))
        try:
            return original_call(self, *args, **kwargs)
        finally:
            stack.frames.pop()

    def origin() -> tuple[str, str]:
        frame, python = sys._getframe(2), False
        while frame is not None:
            code = frame.f_code
            if code.co_name in _CONNECTION_SETUP and code.co_filename.endswith("dbclient.py"):
                return "other", "dbt-clickhouse connection setup"
            python = python or code.co_filename == _WAREHOUSE_FILE
            frame = frame.f_back
        if python:
            return "python", ""
        for package, name in reversed(stack.frames):
            if package != "dbt":
                return ("refill-macro" if package == "refill" else "other"), f"{package}.{name}"
        return "other", ""

    def record(sql: str) -> str:
        where, macro = origin()
        captured.statements.append(Captured(sql, where, macro))
        return decluster(sql)

    def query(self, sql, **kwargs):
        return original_query(self, record(sql), **kwargs)

    def command(self, sql, **kwargs):
        return original_command(self, record(sql), **kwargs)

    MacroGenerator.__call__ = call
    ChHttpClient.query, ChHttpClient.command = query, command
    try:
        yield captured
    finally:
        MacroGenerator.__call__ = original_call
        ChHttpClient.query, ChHttpClient.command = original_query, original_command
