"""Throwaway dbt projects that install the refill package, for the macro tests.

The lab carries only what a token warehouse needs; the macro tests also need models the
lab must not have (a GROUP BY sized to overflow a cap, a model that fails on purpose, a
profile with a cluster). Each test writes the smallest project that shows its behaviour,
in its own directory and chDB data directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from refill.dbt.session import DbtSession
from refill.engine import embedded as engine
from refill.engine.sql import ident
from refill.engine.warehouse import Warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "refill_macro_tests"


@dataclass
class Invocation:
    result: Any  # dbtRunnerResult
    messages: list[str]

    @property
    def success(self) -> bool:
        return bool(self.result.success)

    @property
    def text(self) -> str:
        """Everything dbt logged, exceptions included, as one string."""
        extra = [str(self.result.exception)] if self.result.exception else []
        return "\n".join(self.messages + extra)


@dataclass
class MacroProject:
    """A dbt project in ``root`` with the refill package installed from this checkout."""

    root: Path
    schema: str = "macro_tests"
    threads: int = 1
    custom_settings: dict[str, Any] = field(default_factory=dict)
    cluster: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    # more targets of the same profile: {name: keys that differ from the default target}
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # more dbt_project.yml keys, e.g. {"models": {...}}
    project_config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.project_dir = self.root / "project"
        self.data_dir = self.root / "chdb"
        for sub in ("models", "macros", "tests", "dbt_packages"):
            (self.project_dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_project()
        self._create_schema()
        self._warehouse: Warehouse | None = None
        self._session: DbtSession | None = None
        self.manifest = None

    def _write_project(self) -> None:
        project = {
            "name": PROJECT,
            "version": "1.0.0",
            "config-version": 2,
            "profile": PROJECT,
            "flags": {"send_anonymous_usage_stats": False},
            "vars": self.vars,
            **self.project_config,
        }
        (self.project_dir / "dbt_project.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        (self.project_dir / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(REPO_ROOT)}]}))
        link = self.project_dir / "dbt_packages" / "refill"
        if not link.exists():
            link.symlink_to(REPO_ROOT)  # what `dbt deps` does for a local package
        output: dict[str, Any] = {
            "type": "clickhouse",
            "driver": "chdb",
            "chdb_path": str(self.data_dir),
            "schema": self.schema,
            "threads": self.threads,
        }
        if self.custom_settings:
            output["custom_settings"] = self.custom_settings
        if self.cluster:
            output["cluster"] = self.cluster
        outputs = {"dev": output, **{name: {**output, **keys} for name, keys in self.targets.items()}}
        profiles = {PROJECT: {"target": "dev", "outputs": outputs}}
        (self.root / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))

    def _create_schema(self) -> None:
        """dbt-clickhouse remembers per process which databases it has created, not per
        data directory: in a process that already used another chDB directory it would
        skip creating this project's schema. Create it here, on the engine directly."""
        client = engine.open_client(self.data_dir)
        try:
            client.command(f"CREATE DATABASE IF NOT EXISTS {ident(self.schema)}")
        finally:
            client.close()

    def write(self, relative: str, text: str) -> Path:
        path = self.project_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def model(self, name: str, sql: str) -> Path:
        return self.write(f"models/{name}.sql", sql)

    # -- running -----------------------------------------------------------------------

    @property
    def session(self) -> DbtSession:
        if self._session is None:
            self._session = DbtSession(
                project_dir=self.project_dir,
                profiles_dir=self.root,
                threads=self.threads,
                quiet=True,
                artifacts_dir=self.root / "artifacts",
            )
        return self._session

    def parse(self, vars: dict[str, Any] | None = None):
        """Parse once; later invocations with ``reuse=True`` skip parsing (vars fixed here)."""
        self.manifest = self.session.parse(vars)
        return self.manifest

    def dbt(self, *args: str, vars: dict[str, Any] | None = None, check: bool = True, reuse: bool = False) -> "Invocation":
        """One in-process dbt invocation, with the messages dbt logged (what a user sees)."""
        from dbt.cli.main import dbtRunner

        messages: list[str] = []

        def collect(event) -> None:
            message = getattr(event.info, "msg", "")
            if message and event.info.level != "debug":
                messages.append(str(message))

        command = list(args) + self.session.common_args(args[0], vars)
        if args[0] in {"run", "build", "test", "seed", "compile"}:
            command += ["--threads", str(self.threads)]
        runner = dbtRunner(manifest=self.manifest if reuse else None, callbacks=[collect])
        result = runner.invoke(command)
        invocation = Invocation(result, messages)
        if check and not result.success:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n" + invocation.text[-3000:])
        return invocation

    def operation(self, macro: str, args: dict[str, Any] | None = None, *, check: bool = True) -> "Invocation":
        """``dbt run-operation`` on the parsed project (how the orchestrator calls operations)."""
        command = ["run-operation", macro]
        if args is not None:
            command += ["--args", json.dumps(args)]
        return self.dbt(*command, check=check, reuse=self.manifest is not None)

    def show(self, sql: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Rows of ``dbt show --inline`` (how the orchestrator reads query builders)."""
        result = self.dbt("show", "--inline", sql, "--limit", str(limit), reuse=self.manifest is not None).result
        (node_result,) = result.result.results
        table = node_result.agate_table
        return [dict(zip(table.column_names, row)) for row in table.rows]

    def compile_inline(self, sql: str, target: str | None = None) -> str:
        """The SQL ``dbt compile --inline`` renders (nothing runs)."""
        extra = ["--target", target] if target else []
        result = self.dbt("compile", "--inline", sql, *extra, reuse=self.manifest is not None).result
        (node_result,) = result.result.results
        return node_result.node.compiled_code

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.session.credentials, self.project_dir)
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


def node_results(invocation: Invocation) -> dict[str, Any]:
    """{model name: node result} of a run/build/test invocation."""
    return {r.node.name: r for r in invocation.result.result.results}


def killed_at(project: MacroProject, sql: str, *dbt_args: str) -> None:
    """``python -m refill dbt <dbt_args>`` on ``project`` in a fresh process, SIGKILLed as soon
    as a statement matching the regex ``sql`` starts: a server crashing right after the
    statement before it (the embedded engine dies with its process). Closes ``project``."""
    project.close()
    env = {**os.environ, "REFILL_FAULT_INJECT": json.dumps({"sql": sql, "after_ms": 0}),
           "DBT_TARGET_PATH": str(project.root / "cli-target"), "DBT_LOG_PATH": str(project.root / "cli-logs")}
    result = subprocess.run(
        [sys.executable, "-m", "refill", "dbt", *dbt_args,
         "--project-dir", str(project.project_dir), "--profiles-dir", str(project.root)],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == -9, result.stdout[-3000:] + result.stderr[-2000:]


def rows_after_restart(data_dir: Path, sql: str, *, crash_after: str | None = None,
                       while_reading: str | None = None) -> list[list[Any]]:
    """Rows of ``sql`` (JSON values, so cast dates with toString) read by a fresh process on
    ``data_dir``: the engine starts again and loads every table from its parts on disk, as a
    server does after a restart or a crash. With ``crash_after``, a process first runs that
    statement and is SIGKILLed the moment it returns; with ``while_reading`` (a table), a
    slow query is reading that table meanwhile, so its parts are in use. The calling
    process must have closed the directory (``MacroProject.close()``)."""
    code = ("import json, os, signal, sys, threading, time\n"
            "from refill.engine import embedded as engine\n"
            "client = engine.open_client(sys.argv[1])\n"
            "if sys.argv[4]:\n"
            "    reader = engine.open_client(sys.argv[1])\n"
            "    threading.Thread(target=reader.query, daemon=True, args=(\n"
            "        f'SELECT count(), sum(sleepEachRow(0.05)) FROM {sys.argv[4]} '\n"
            "        'SETTINGS max_block_size = 1, max_threads = 1',\n"
            "    )).start()\n"
            "    time.sleep(1)\n"
            "if sys.argv[3]:\n"
            "    client.command(sys.argv[3])\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "print(json.dumps(client.query(sys.argv[2]).result_rows))\n")

    def fresh_process(crash: str, reading: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, str(data_dir), sql, crash, reading],
                              capture_output=True, text=True, timeout=300)

    if crash_after:
        crashed = fresh_process(crash_after, while_reading or "")
        assert crashed.returncode == -9, crashed.stderr[-3000:]
    result = fresh_process("", "")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def server_version(warehouse: Warehouse) -> tuple[int, ...]:
    """The engine's ClickHouse version as numbers, e.g. (25, 8, 2, 1)."""
    return tuple(int(part) for part in str(warehouse.scalar("SELECT version()")).split("."))
