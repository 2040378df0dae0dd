"""Command line: parses arguments and dispatches; every error becomes one line on stderr."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Callable, Sequence

from refill import __version__, render
from refill.dbt.settings import RUN_VARS, parse_vars
from refill.errors import BadInput, ExitCode, PreflightRefused, RefillError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        raise BadInput(f"{self.prog}: {message}")


def _add_dbt_target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", type=Path, default=None, help="dbt project (default: cwd)")
    parser.add_argument("--profiles-dir", type=Path, default=None, help="directory with profiles.yml")
    parser.add_argument("--target", default=None, help="profile target (default: the profile's)")
    parser.add_argument("--vars", default=None, metavar="YAML",
                        help="the project's dbt vars, YAML or JSON as dbt's --vars (e.g. '{raw_schema: raw}'); "
                             "every dbt invocation of the command gets them, merged under the vars refill sets "
                             "itself: refill's win on a conflict, and its own run vars (" + ", ".join(RUN_VARS)
                             + ") given here are ignored, with a warning")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--from-date", help="first day of the gap, YYYY-MM-DD")
    when.add_argument("--lookback-days", type=int, help="re-pull this many days instead of naming the gap")
    parser.add_argument("--today", help="the day the refill runs as (default: UTC today), YYYY-MM-DD")
    parser.add_argument("--buffer-days", type=_non_negative_int, default=1, help="extra lookback days (default 1)")
    parser.add_argument("--select", help="phase-2 selector (default: <prices model>+)")
    parser.add_argument("--prices-model", help="the prices model (default: var prices_model, then the seed's)")
    parser.add_argument("--tag", help="the cohort tag (default: var refill_tag, then refill_append)")
    parser.add_argument("--skip-balances-rewrite", action="store_true", help="skip Phase 1 (and its canary)")
    parser.add_argument("--skip-price-dependent", action="store_true", help="skip Phase 2")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the statements; write nothing")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run of the same plan")
    parser.add_argument("--report", type=Path, help="write the run report as JSON here")
    parser.add_argument("--dbt-output", action="store_true",
                        help="print dbt's own lines on the terminal as they come (default on a terminal: a "
                             "progress line per phase, dbt's lines in a log file whose path is printed)")
    parser.add_argument("--verbose", action="store_true",
                        help="list every model of every phase in the plan (default: a summary per phase past "
                             "20 models; the --report JSON always has every list)")
    parser.add_argument("--threads", type=_positive_int, help="dbt threads (default: the profile's)")
    parser.add_argument("--state-dir", type=Path, help="journals and locks (default: <project>/.refill/state)")
    _add_dbt_target_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="refill", description="Repair ClickHouse dbt models after an upstream data gap.")
    parser.add_argument("--version", action="version", version=f"refill {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    dbt = commands.add_parser(
        "dbt", help="run any dbt command with refill's drivers (e.g. driver: chdb)", add_help=False
    )
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)

    for name, help_text in (
        ("run", "repair the models a data gap damaged: preflight, cohort rewrite, canary, re-pull, rebuild, verify"),
        ("plan", "print what `run` would do (same as run --dry-run); writes nothing"),
    ):
        _add_run_flags(commands.add_parser(name, help=help_text))

    rollback = commands.add_parser("rollback", help="restore the months a failed or interrupted refill replaced")
    rollback.add_argument("--run", required=True,
                          help="the run id `refill run` printed, or 'pending' for the target's unfinished run")
    rollback.add_argument("--state-dir", type=Path, help="journals and locks (default: <project>/.refill/state)")
    _add_dbt_target_flags(rollback)

    report = commands.add_parser("report", help="show a run's journal and its audit before publish")
    report.add_argument("--run", required=True,
                        help="the run id `refill run` printed, or 'pending' for the target's unfinished run")
    report.add_argument("--format", dest="output_format", choices=["text", "json"], default="text")
    report.add_argument("--state-dir", type=Path, help="journals and locks (default: <project>/.refill/state)")
    _add_dbt_target_flags(report)

    kill = commands.add_parser("kill-mutations", help="kill failed (poisoned) mutations in the project's databases")
    kill.add_argument("--tables", default="",
                      help="comma-separated model names, each where dbt put it (default: every database the "
                           "project writes, custom schemas included)")
    kill.add_argument("--dry-run", action="store_true", help="list what would be killed")
    _add_dbt_target_flags(kill)

    canary = commands.add_parser("canary", help="run the project's refill_canaries (adjacent-day ratio scans)")
    canary.add_argument("--from-date", required=True, help="scan from 3 days before this day's month, YYYY-MM-DD")
    canary.add_argument("--today", help="scan up to this day (default: UTC today)")
    canary.add_argument("--model", action="append", default=[], help="only the canaries of this model")
    _add_dbt_target_flags(canary)

    detect = commands.add_parser("detect", help="find days the prices gap damaged and print the run that repairs them")
    detect.add_argument("--window-days", type=_positive_int, default=60, help="days to scan, ending --today (default 60)")
    detect.add_argument("--today", help="the last day to scan (default: UTC today), YYYY-MM-DD")
    detect.add_argument("--prices-model", help="the prices model (default: var prices_model, then the seed's)")
    detect.add_argument("--expected-lag", type=int, default=None, metavar="DAYS",
                        help="days the prices feed normally runs behind --today (default: var refill_price_lag_days, 1)")
    detect.add_argument("--format", dest="output_format", choices=["text", "json"], default="text")
    _add_dbt_target_flags(detect)

    cleanup = commands.add_parser("cleanup", help="drop old temporary tables left by interrupted dbt runs and refills")
    cleanup.add_argument("--older-than", default="24h", help="only tables older than this (30m, 24h, 7d; default 24h)")
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be dropped; drop nothing")
    cleanup.add_argument("--drop-unjournaled-backups", action="store_true",
                         help="also drop refill backups of runs with no journal on this machine")
    cleanup.add_argument("--state-dir", type=Path, help="journals and locks (default: <project>/.refill/state)")
    _add_dbt_target_flags(cleanup)

    init = commands.add_parser("init", help="adopt refill in a dbt project: package, shims, vars, hook and profile")
    init.add_argument("--project-dir", type=Path, default=None, help="dbt project (default: cwd)")
    init.add_argument("--force", action="store_true", help="overwrite a refill_shims.sql that differs")
    init.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    init.add_argument("--prices-model", default=None,
                      help="the prices model (default: the seed's name if the project has it, else left for you)")
    init.add_argument("--tag", default=None, help="the cohort tag (default: refill_append)")
    init.add_argument("--package", default=None,
                      help="where dbt installs refill from: a git URL or a local path (default: this checkout)")
    init.add_argument("--revision", default=None, help="git tag or commit of --package")

    demo = commands.add_parser("demo", help="replay the 2026-04-17 price-gap incident on the embedded engine")
    demo.add_argument("--work-dir", type=Path, default=None, help="where the demo warehouse lives")
    demo.add_argument("--scale", type=int, default=1, help="data size multiplier (default 1)")
    demo.add_argument("--incident-only", action="store_true",
                      help="stop before the recovery, leaving the incident to rehearse the runbook on")

    lint = commands.add_parser("lint", help="check the cohort's models against the refill contract")
    lint.add_argument("paths", nargs="*", help="model files, folders or globs (default: every model of the project)")
    _add_dbt_target_flags(lint)
    lint.add_argument("--manifest", type=Path, default=None, help="read configs and tags from this manifest.json")
    lint.add_argument("--parse", action="store_true", help="read configs and tags from a fresh dbt parse")
    lint.add_argument("--select", action="append", default=None, metavar="MODEL",
                      help="only these models (names or globs; repeatable, comma-separated)")
    lint.add_argument("--tag", default=None, help="the refill tag (default: var refill_tag, else refill_append)")
    lint.add_argument("--format", dest="output_format", choices=["text", "json", "github"], default="text")
    lint.add_argument("--jobs", type=int, default=None, help="worker processes for large projects (default: CPUs, at most 4)")
    return parser


def _cli_vars(args: argparse.Namespace) -> dict:
    """The user's ``--vars``, without the run vars refill alone sets (said on stderr)."""
    found = parse_vars(args.vars)
    ignored = [name for name in RUN_VARS if name in found]
    if ignored:
        render.warn(f"--vars {', '.join(ignored)}: refill sets {'these' if len(ignored) > 1 else 'this'} "
                    "itself for each phase; the value given is ignored")
    return {name: value for name, value in found.items() if name not in RUN_VARS}


def _run_dbt(args: argparse.Namespace) -> int:
    from refill.commands.passthrough import run_dbt

    return run_dbt(args.dbt_args)


def _run_refill(args: argparse.Namespace) -> int:
    from refill.run.orchestrator import RunOptions, run_refill
    from refill.run.plan import make_window, parse_date

    window = make_window(
        from_date=parse_date(args.from_date, "--from-date") if args.from_date else None,
        lookback_days=args.lookback_days,
        today=parse_date(args.today, "--today") if args.today else None,
        buffer_days=args.buffer_days,
    )
    if args.report and not args.report.resolve().parent.is_dir():
        raise BadInput(f"--report: directory {args.report.resolve().parent} does not exist")
    cli_vars = _cli_vars(args)
    options = RunOptions(
        window=window,
        project_dir=args.project_dir or Path.cwd(),
        profiles_dir=args.profiles_dir,
        target=args.target,
        threads=args.threads,
        select=args.select,
        prices_model=args.prices_model,
        tag=args.tag,
        skip_cohort=args.skip_balances_rewrite,
        skip_lineage=args.skip_price_dependent,
        dry_run=args.dry_run or args.command == "plan",
        resume=args.resume,
        report_path=args.report,
        state_dir=args.state_dir,
        command=shlex.join(["python", "-m", "refill", *args.argv]),
        verbose=args.verbose,
        dbt_output=args.dbt_output,
        cli_vars=cli_vars,
    )
    return run_refill(options)


def _session(args: argparse.Namespace):
    from refill.dbt.session import DbtSession

    return DbtSession(project_dir=args.project_dir or Path.cwd(), profiles_dir=args.profiles_dir, target=args.target,
                      cli_vars=_cli_vars(args))


def _run_rollback(args: argparse.Namespace) -> int:
    from refill.commands.rollback import run_rollback

    return run_rollback(args.run, project_dir=args.project_dir or Path.cwd(), profiles_dir=args.profiles_dir,
                        target=args.target, state_root=args.state_dir, cli_vars=_cli_vars(args))


def _run_report(args: argparse.Namespace) -> int:
    from refill.commands.runreport import run_report

    return run_report(args.run, project_dir=args.project_dir or Path.cwd(), profiles_dir=args.profiles_dir,
                      target=args.target, state_root=args.state_dir, output_format=args.output_format)


def _run_kill_mutations(args: argparse.Namespace) -> int:
    from refill.commands.operations import kill_mutations

    tables = [name.strip() for name in args.tables.split(",") if name.strip()]
    return kill_mutations(_session(args), tables, dry_run=args.dry_run)


def _run_canary(args: argparse.Namespace) -> int:
    from refill.commands.operations import run_canaries
    from refill.run.plan import parse_date, utc_today

    first = parse_date(args.from_date, "--from-date")
    today = parse_date(args.today, "--today") if args.today else utc_today()
    if first > today:
        raise BadInput(f"--from-date {first} is after --today {today}")
    return run_canaries(_session(args), first_month=first, end=today, models=args.model)


def _target_flags_as_typed(args: argparse.Namespace, *names: str) -> tuple[str, ...]:
    """The flags the user gave (as typed), for commands refill prints for them to run next."""
    typed = []
    for name in names:
        value = getattr(args, name.replace("-", "_"), None)
        if value is not None:
            typed += [f"--{name}", str(value)]
    return tuple(typed)


def _run_detect(args: argparse.Namespace) -> int:
    from refill.commands.detect import DetectOptions, run_detect
    from refill.run.plan import parse_date, utc_today

    options = DetectOptions(
        cli_vars=_cli_vars(args),
        today=parse_date(args.today, "--today") if args.today else utc_today(),
        window_days=args.window_days,
        project_dir=args.project_dir or Path.cwd(),
        profiles_dir=args.profiles_dir,
        target=args.target,
        prices_model=args.prices_model,
        expected_lag=args.expected_lag,
        passthrough=_target_flags_as_typed(args, "prices-model", "project-dir", "profiles-dir", "target", "vars"),
    )
    return run_detect(options, output_format=args.output_format)


def _run_cleanup(args: argparse.Namespace) -> int:
    from refill.commands.cleanup import parse_duration, run_cleanup

    return run_cleanup(project_dir=args.project_dir or Path.cwd(), profiles_dir=args.profiles_dir,
                       target=args.target, cli_vars=_cli_vars(args),
                       older_than=parse_duration(args.older_than), dry_run=args.dry_run,
                       drop_unjournaled_backups=args.drop_unjournaled_backups, state_root=args.state_dir)


def _run_init(args: argparse.Namespace) -> int:
    from refill.commands.adopt import InitOptions, run_init
    from refill.dbt.settings import DEFAULT_TAG

    return run_init(InitOptions(
        project_dir=args.project_dir or Path.cwd(), force=args.force, dry_run=args.dry_run,
        prices_model=args.prices_model, tag=args.tag or DEFAULT_TAG,
        package=args.package, revision=args.revision,
    ))


def _run_demo(args: argparse.Namespace) -> int:
    from refill.commands.demo import run_demo

    return run_demo(work_dir=args.work_dir, scale=args.scale, incident_only=args.incident_only)


def _run_lint(args: argparse.Namespace) -> int:
    from refill.lint.command import run_lint

    select = [name for value in args.select or [] for name in value.replace(",", " ").split()]
    return run_lint(
        paths=args.paths, project_dir=args.project_dir, profiles_dir=args.profiles_dir, target=args.target,
        manifest=args.manifest, parse=args.parse, cli_vars=_cli_vars(args), select=select, tag=args.tag,
        output_format=args.output_format,
        jobs=args.jobs,
    )


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "dbt": _run_dbt,
    "run": _run_refill,
    "plan": _run_refill,
    "rollback": _run_rollback,
    "report": _run_report,
    "kill-mutations": _run_kill_mutations,
    "canary": _run_canary,
    "detect": _run_detect,
    "cleanup": _run_cleanup,
    "init": _run_init,
    "demo": _run_demo,
    "lint": _run_lint,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["dbt"]:  # everything after `dbt` belongs to dbt, --help included
            return _run_dbt(argparse.Namespace(dbt_args=argv[1:]))
        args = build_parser().parse_args(argv)
        args.argv = argv
        if not args.command:
            build_parser().print_help(sys.stderr)
            return ExitCode.BAD_INPUT
        return int(HANDLERS[args.command](args))
    except PreflightRefused as refused:
        render.emit(render.problems_table(refused.problems))
        render.emit(render.refusal_line(refused), stream=sys.stderr)
        return int(refused.exit_code)
    except RefillError as exc:
        render.emit("\n".join(render.error_lines(exc)), stream=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        render.emit(render.INTERRUPTED, stream=sys.stderr)
        return 130
