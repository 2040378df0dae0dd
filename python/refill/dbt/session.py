"""The dbt session: in-process dbt invocations (``dbtRunner``), parses, and the profile."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from refill.engine import embedded as engine
from refill.errors import BadInput, LockHeld, StepFailed
from refill.render import abbreviate_statement


def operation_command(macro: str, args: Mapping[str, Any]) -> list[str]:
    """The dbt command that runs the package macro ``refill.<macro>`` with ``args``
    (``["run-operation", "refill.<macro>", "--args", <JSON>]``): what ``DbtSession.run_operation``
    invokes and what a plan prints for it, so the two cannot differ."""
    return ["run-operation", f"refill.{macro}", "--args", json.dumps(dict(args), sort_keys=True)]


_NO_TARGET = {"deps", "clean", "init"}
_NO_TARGET_PATH = {"deps", "debug", "init"}


@dataclass(frozen=True)
class ParseRecord:
    """One dbt parse (or compile) of a refill, for ``--report``: why it ran, with which vars
    (as passed to dbt, the user's included), how long, and how dbt parsed (``partial``,
    ``full: <dbt's reason>``; for a compile, the models)."""

    reason: str
    vars: dict[str, Any]
    seconds: float
    how: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "vars": self.vars, "seconds": round(self.seconds, 3), "how": self.how}


@dataclass
class SessionStats:
    parses: list[ParseRecord] = field(default_factory=list)
    compiles: list[ParseRecord] = field(default_factory=list)
    invocations: int = 0


def default_profiles_dir(project_dir: Path) -> Path:
    """dbt's own order: $DBT_PROFILES_DIR, the project directory, the cwd, then ~/.dbt."""
    env = os.environ.get("DBT_PROFILES_DIR")
    if env:
        return Path(env)
    for candidate in (project_dir, Path.cwd()):
        if (candidate / "profiles.yml").exists():
            return candidate
    return Path.home() / ".dbt"


@dataclass
class DbtSession:
    """One dbt project + profile + target, driven in-process.

    Every invocation passes the same project, profiles directory and target, so a
    refill never mixes warehouses. ``cli_vars`` are the user's ``--vars``: every
    invocation and parse carries them, under the vars refill sets itself (refill's win on
    a conflict). ``stats`` counts parses and invocations for reports.
    """

    project_dir: Path
    profiles_dir: Path | None = None
    target: str | None = None
    threads: int | None = None
    quiet: bool = False
    artifacts_dir: Path | None = None  # target/ and logs/ here instead of the project's
    cli_vars: Mapping[str, Any] = field(default_factory=dict)
    stats: SessionStats = field(default_factory=SessionStats)
    # callables every invocation hands dbt's events to (refill.run.progress.Progress)
    listeners: list = field(default_factory=list)
    dbt_stdout: bool = True  # False: dbt prints nothing (its lines go to the listeners' log)

    def __post_init__(self) -> None:
        self.project_dir = Path(self.project_dir).resolve()
        if not (self.project_dir / "dbt_project.yml").is_file():
            raise BadInput(f"no dbt_project.yml in {self.project_dir} (use --project-dir)")
        self.profiles_dir = Path(self.profiles_dir or default_profiles_dir(self.project_dir)).resolve()
        if not (self.profiles_dir / "profiles.yml").is_file():
            raise BadInput(f"no profiles.yml in {self.profiles_dir} (use --profiles-dir)")
        engine.install()
        self._profile = None
        self._compiled: dict[tuple[int, str], dict[str, Any]] = {}  # (manifest, vars) -> {name: node}

    # -- dbt invocations -------------------------------------------------------------

    def run_vars(self, vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What one invocation passes to ``--vars``: the user's, then refill's on top."""
        return {**self.cli_vars, **(vars or {})}

    def common_args(self, command: str, vars: dict[str, Any] | None = None) -> list[str]:
        vars = self.run_vars(vars)
        args = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.profiles_dir)]
        if self.target and command not in _NO_TARGET:
            args += ["--target", self.target]
        if self.artifacts_dir:
            args += ["--log-path", str(Path(self.artifacts_dir) / "logs")]
        if command == "parse":
            args += ["--target-path", str(self.parse_cache_dir(vars))]
        elif self.artifacts_dir and command not in _NO_TARGET_PATH:
            args += ["--target-path", str(Path(self.artifacts_dir) / "target")]
        if vars:
            args += ["--vars", json.dumps(vars, sort_keys=True, default=str)]
        return args

    def invoke(
        self,
        command: Sequence[str],
        *,
        manifest=None,
        vars: dict[str, Any] | None = None,
        check: bool = True,
        quiet: bool | None = None,
        callbacks: Sequence = (),
    ):
        """Run one dbt command in-process; a reused ``manifest`` skips parsing.
        ``callbacks`` receive dbt's events (``EventMsg``)."""
        from dbt.cli.main import dbtRunner

        args = list(command) + self.common_args(command[0], vars)
        if self.threads and command[0] in {"run", "build", "test", "seed", "compile"}:
            args += ["--threads", str(self.threads)]
        if self.quiet if quiet is None else quiet:
            args = ["--quiet", *args]
        if not self.dbt_stdout and "--log-level" not in args:
            args += ["--log-level", "none"]
        result = dbtRunner(manifest=manifest, callbacks=[*self.listeners, *callbacks]).invoke(args)
        self.stats.invocations += 1
        if check and not result.success:
            held = _lock_refusal(result.exception)
            if held is not None:  # another process holds the engine: exit 4 naming it, not a failed step
                raise held from None
            # the models of a 500-model run are in the plan: the error names the failing one
            shown = abbreviate_statement(f"dbt {' '.join(command)}", 120)
            raise StepFailed(f"{shown} failed{_failure_detail(result)}")
        return result

    def run_operation(self, macro: str, args: Mapping[str, Any], *, manifest=None):
        """Run the package macro ``refill.<macro>`` (see ``operation_command``); a failure is a
        StepFailed, as for ``invoke``."""
        return self.invoke(operation_command(macro, args), manifest=manifest)

    def select(self, selector: Sequence[str], *, manifest) -> list[str]:
        """Model names dbt's own selector syntax resolves to (``dbt ls``, silenced)."""
        result = self.invoke(
            ["ls", "--log-level", "none", *selector, "--resource-type", "model", "--output", "name"],
            manifest=manifest,
            check=False,
        )
        if not result.success:
            raise BadInput(f"dbt could not resolve {' '.join(selector)}{_failure_detail(result)}")
        return sorted(result.result or [])

    def show(self, sql: str, *, manifest, vars: dict[str, Any] | None = None):
        """Rows of an inline (Jinja) query, compiled and run by dbt (``dbt show``, silenced)."""
        result = self.invoke(
            ["show", "--log-level", "none", "--inline", sql, "--limit", "-1"],
            manifest=manifest,
            vars=vars,
        )
        return result.result.results[0].agate_table

    def parse_cache_dir(self, vars: dict[str, Any] | None) -> Path:
        """One target path per (target, vars) (``vars`` as passed to dbt, the user's
        included): dbt keeps a single partial-parse state per
        target path and drops it when the vars change, so a refill's two parses (with and
        without the month vars) would otherwise re-parse the whole project every time."""
        key = json.dumps({"target": self.target, "vars": self.run_vars(vars)}, sort_keys=True, default=str)
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        if self.artifacts_dir:
            base = Path(self.artifacts_dir) / "target"
        else:
            base = self.project_target_path()
        return base / f"refill-parse-{digest}"

    def compile(self, names: Sequence[str], *, manifest, vars: dict[str, Any] | None, reason: str) -> dict[str, Any]:
        """``{model name: compiled node}`` of ``names``, rendered with ``vars`` against the parsed
        ``manifest`` (``dbt compile``, silenced); recorded under ``reason``.

        A compile of the same manifest with the same vars is not repeated: the preflight's
        compile of the cohort and its price inputs also serves the audit's column lineage."""
        key = (id(manifest), json.dumps(self.run_vars(vars), sort_keys=True, default=str))
        memo = self._compiled.setdefault(key, {})
        missing = [name for name in names if name not in memo]
        if missing:
            started = time.monotonic()
            # --log-level none: `dbt compile` prints every selected node's SQL, even with --quiet
            result = self.invoke(["compile", "--log-level", "none", "--select", *missing], manifest=manifest,
                                 vars=vars, quiet=True)
            self.stats.compiles.append(ParseRecord(reason, self.run_vars(vars), time.monotonic() - started,
                                                   f"{len(missing)} model(s)"))
            memo.update({r.node.name: r.node for r in (result.result.results or [])})
        return {name: memo[name] for name in names if name in memo}

    def project_target_path(self) -> Path:
        """Where the project's own dbt commands keep their artifacts and partial-parse state."""
        return Path(os.environ.get("DBT_TARGET_PATH") or self.project_dir / "target")

    def parse(self, vars: dict[str, Any] | None = None, *, reason: str = "the project"):
        """Parse the project; ``config()`` is resolved here, so pass the vars that matter.

        Starts from dbt's own partial-parse state in the project's target path when it is
        newer than refill's own for these vars: dbt accepts it only when the vars, profile,
        project and dbt version match (else it parses in full and says why, recorded as
        ``how``)."""
        vars = self.run_vars(vars)
        cache = self.parse_cache_dir(vars)
        _seed_partial_parse(self.project_target_path() / PARTIAL_PARSE_FILE, cache / PARTIAL_PARSE_FILE)
        how = _PartialParseWatch()
        started = time.monotonic()
        result = self.invoke(["parse"], vars=vars, check=False, quiet=True, callbacks=[how])
        self.stats.parses.append(ParseRecord(reason, vars, time.monotonic() - started, how.verdict))
        if not result.success:
            raise BadInput(f"dbt could not parse {self.project_dir}{_failure_detail(result)}")
        return result.result

    # -- profile -----------------------------------------------------------------------

    @property
    def profile(self) -> "ResolvedTarget":
        if self._profile is None:
            self._profile = self._load_profile()
        return self._profile

    @property
    def credentials(self):
        return self.profile.credentials

    @property
    def schema(self) -> str:
        return self.credentials.schema

    @property
    def target_name(self) -> str:
        return self.profile.target_name

    def _load_profile(self) -> "ResolvedTarget":
        """The target's credentials, resolved by dbt's own profile code (no invocation)."""
        from dbt.config.profile import Profile, read_profile
        from dbt.config.project import load_raw_project
        from dbt.config.renderer import ProfileRenderer
        from dbt_common.context import set_invocation_context, try_get_invocation_context
        from dbt_common.exceptions import DbtBaseException

        if try_get_invocation_context() is None:
            # env_var() in profiles.yml reads dbt's invocation context, which only a dbt
            # invocation sets; a command that needs the profile before any invocation sets it.
            set_invocation_context(dict(os.environ))
        try:
            raw_project = load_raw_project(str(self.project_dir))
            renderer = ProfileRenderer({})
            profile_name = renderer.render_value(raw_project.get("profile"))
            raw_profiles = read_profile(str(self.profiles_dir))
            if profile_name not in raw_profiles:
                raise BadInput(f"profile '{profile_name}' not found in {self.profiles_dir / 'profiles.yml'}")
            target_name, data = Profile.render_profile(
                raw_profiles[profile_name], profile_name, self.target, renderer
            )
            threads = data.pop("threads", 1)
            credentials = Profile._credentials_from_profile(data, profile_name, target_name)
        except DbtBaseException as exc:
            raise BadInput(_one_line(str(exc))) from exc
        return ResolvedTarget(profile_name, target_name, credentials, int(self.threads or threads))


@dataclass(frozen=True)
class ResolvedTarget:
    profile_name: str
    target_name: str
    credentials: Any
    threads: int


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def _seed_partial_parse(project_state: Path, cache_state: Path) -> None:
    """Copy the project's partial-parse state over refill's when it is newer (the user ran
    dbt since refill last parsed): dbt then re-parses only the files that changed, instead
    of the whole project (55 s at 1,250 models). dbt checks the state itself and falls back
    to a full parse when the vars or the profile differ, so a wrong guess costs nothing."""
    try:
        if not project_state.is_file():
            return
        if cache_state.is_file() and cache_state.stat().st_mtime >= project_state.stat().st_mtime:
            return
        cache_state.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_state, cache_state)
    except OSError:  # an unreadable state is a full parse, not a failure
        return


class _PartialParseWatch:
    """Listens to dbt's events during a parse and says how dbt parsed."""

    def __init__(self) -> None:
        self.verdict = "partial"

    def __call__(self, event) -> None:
        name = event.info.name
        if name == "UnableToPartialParse":
            self.verdict = f"full: {event.data.reason}"
        elif name == "PartialParsingNotEnabled":
            self.verdict = "full: partial parsing is off"
        elif name == "PartialParsingSkipParsing":
            self.verdict = "partial: no file changed"


def _lock_refusal(exc: BaseException | None) -> LockHeld | None:
    """The LockHeld that made a dbt invocation fail, if any: dbt wraps the driver's error
    (``FailedToConnectError``), keeping it as the cause."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LockHeld):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _failure_detail(result) -> str:
    if result.exception is not None:
        return f": {_one_line(str(result.exception))}"
    failures = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", ""))
        if status in {"error", "fail", "runtime error"}:
            name = getattr(getattr(node_result, "node", None), "name", "?")
            failures.append(f"{name}: {_one_line(str(node_result.message))}")
    return f" ({'; '.join(failures)})" if failures else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def records(table, columns: Sequence[str], source: str) -> list[dict[str, Any]]:
    """The rows of a ``show`` result (an agate table) as ``{column: value}`` over ``columns``.

    Read by name, never by position: the queries are package macros a project may override
    through dispatch, and an override that orders its columns otherwise must still be read
    right. One that lacks a column is a StepFailed naming ``source`` and the columns, not a
    value silently read from the wrong place. dbt returns an empty result without its
    columns, so there is nothing to check then.
    """
    if not table.rows:
        return []
    missing = [column for column in columns if column not in table.column_names]
    if missing:
        raise StepFailed(f"{source} returned columns ({', '.join(table.column_names)}) without "
                         f"{', '.join(missing)}: an override of it must keep the package's columns")
    return [{column: row[column] for column in columns} for row in table.rows]
