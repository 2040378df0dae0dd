"""Command line: parses arguments and dispatches; every error becomes one line on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from refill import __version__
from refill.errors import BadInput, ExitCode, RefillError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        raise BadInput(f"{self.prog}: {message}")


def _add_dbt_target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", type=Path, default=None, help="dbt project (default: cwd)")
    parser.add_argument("--profiles-dir", type=Path, default=None, help="directory with profiles.yml")
    parser.add_argument("--target", default=None, help="profile target (default: the profile's)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="refill", description="Repair ClickHouse dbt models after an upstream data gap.")
    parser.add_argument("--version", action="version", version=f"refill {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    dbt = commands.add_parser(
        "dbt", help="run any dbt command with refill's drivers (e.g. driver: chdb)", add_help=False
    )
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)

    demo = commands.add_parser("demo", help="replay the 2026-04-17 price-gap incident on the embedded engine")
    demo.add_argument("--work-dir", type=Path, default=None, help="where the demo warehouse lives")
    demo.add_argument("--scale", type=int, default=1, help="data size multiplier (default 1)")

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


def _run_dbt(args: argparse.Namespace) -> int:
    from refill.passthrough import run_dbt

    return run_dbt(args.dbt_args)


def _run_demo(args: argparse.Namespace) -> int:
    from refill.demo import run_demo

    return run_demo(work_dir=args.work_dir, scale=args.scale)


def _run_lint(args: argparse.Namespace) -> int:
    from refill.lint.command import run_lint

    select = [name for value in args.select or [] for name in value.replace(",", " ").split()]
    return run_lint(
        paths=args.paths, project_dir=args.project_dir, profiles_dir=args.profiles_dir, target=args.target,
        manifest=args.manifest, parse=args.parse, select=select, tag=args.tag, output_format=args.output_format,
        jobs=args.jobs,
    )


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "dbt": _run_dbt,
    "demo": _run_demo,
    "lint": _run_lint,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["dbt"]:  # everything after `dbt` belongs to dbt, --help included
            return _run_dbt(argparse.Namespace(dbt_args=argv[1:]))
        args = build_parser().parse_args(argv)
        if not args.command:
            build_parser().print_help(sys.stderr)
            return ExitCode.BAD_INPUT
        return int(HANDLERS[args.command](args))
    except RefillError as exc:
        print(f"refill: error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("refill: interrupted", file=sys.stderr)
        return 130
