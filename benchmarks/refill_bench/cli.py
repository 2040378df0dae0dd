"""``python benchmarks/run.py``: parses arguments, runs the scenarios, writes the results."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from refill_bench import machine
from refill_bench.config import default_scenarios, smoke_scenario
from refill_bench.harness import BENCH_DIR, prepare, run_scenario
from refill_bench.markdown import markdown
from refill_bench.plot import plot
from refill_bench.summary import summarize

DEFAULT_WORK_DIR = BENCH_DIR / ".work"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=(
        "Recover the same incident with the seed's flow (dbt CLI per command) and with refill, "
        "side by side, and write RESULTS.md, results.json and wall_vs_models.png."))
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the headline scenario only, once per flow")
    size.add_argument("--smoke", action="store_true", help="a tiny project in seconds (what CI runs)")
    parser.add_argument("--scenarios", help="comma-separated names (headline, gap-1mo, gap-2mo, gap-4mo, "
                                            "models-100, models-1000, models-1250, history-6mo, "
                                            "history-12mo, history-24mo)")
    parser.add_argument("--repeats", type=int, help="repeats of the headline scenario (default 3)")
    parser.add_argument("--flows", help="comma-separated flows to run, in this order (baseline, refill, rebuild); "
                                        "default: each scenario's own")
    parser.add_argument("--no-plan-speed", action="store_true", help="skip timing `refill plan` against `dbt ls`")
    parser.add_argument("--scaling-repeats", type=int, default=1, help="repeats of the scaling scenarios")
    parser.add_argument("--scale", type=int, help="override the headline's data scale")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="projects and warehouses")
    parser.add_argument("--results-dir", type=Path, help="where results go (default: benchmarks/, or the "
                                                         "work dir for --smoke and --quick)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build (or reuse) the scenarios' incidents and exit, measuring nothing")
    parser.add_argument("--rebuild", action="store_true", help="rebuild incidents even if cached")
    parser.add_argument("--keep-copies", action="store_true", help="keep each run's data directory")
    parser.add_argument("--report-only", type=Path, nargs="+", metavar="RESULTS_JSON",
                        help="re-render from results.json file(s); several are merged (e.g. headline + scaling)")
    parser.add_argument("--provisional", help="label the results provisional, with this reason")
    parser.add_argument("--load-note", help="say in RESULTS.md what else loaded the machine during the runs")
    return parser


def select_scenarios(args: argparse.Namespace):
    if args.smoke:
        return [smoke_scenario()]
    scenarios = default_scenarios(repeats=args.repeats or 3, scaling_repeats=args.scaling_repeats)
    if args.scale:
        scenarios = [replace(s, data=replace(s.data, scale=args.scale)) if s.name == "headline" else s
                     for s in scenarios]
    if args.quick:
        scenarios = [replace(s, repeats=args.repeats or 1) for s in scenarios if s.name == "headline"]
    if args.flows:
        flows = tuple(args.flows.split(","))
        unknown = set(flows) - {"baseline", "refill", "rebuild"}
        if unknown:
            raise SystemExit(f"unknown flow(s): {', '.join(sorted(unknown))}")
        scenarios = [replace(s, flows=flows) for s in scenarios]
    if args.no_plan_speed:
        scenarios = [replace(s, plan_speed=False) for s in scenarios]
    if args.scenarios:
        wanted = args.scenarios.split(",")
        unknown = set(wanted) - {s.name for s in scenarios}
        if unknown:
            raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        scenarios = [s for s in scenarios if s.name in wanted]
    return scenarios


def write_results(results: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "RESULTS.md"]
    written[0].write_text(json.dumps(results, indent=2, default=str) + "\n")
    plotted = plot(results, out_dir / "wall_vs_models.png")
    if plotted:
        written.append(out_dir / "wall_vs_models.png")
    written[1].write_text(markdown(results, plotted))
    return written


def run(args: argparse.Namespace, argv: Sequence[str]) -> dict:
    started, clock = dt.datetime.now().astimezone(), time.monotonic()
    load_start = machine.load_average()
    results = {"scenarios": []}
    for scenario in select_scenarios(args):
        results["scenarios"].append(run_scenario(scenario, args.work_dir, rebuild=args.rebuild,
                                                 keep_copies=args.keep_copies).as_dict())
    results["machine"] = machine.describe()
    results["meta"] = {
        "command": "python benchmarks/run.py" + "".join(f" {shlex.quote(a)}" for a in argv),
        "started": started.isoformat(timespec="seconds"),
        "duration_minutes": (time.monotonic() - clock) / 60,
        "load_start": load_start,
        "load_end": machine.load_average(),
        "provisional": args.provisional,
        "load_note": args.load_note,
    }
    return results


def merge(parts: list[dict]) -> dict:
    """Several runs' results as one: scenarios in order, the first machine, the runs' meta joined."""
    if len(parts) == 1:
        return parts[0]
    metas = [part["meta"] for part in parts]
    provisional = "; ".join(sorted({m["provisional"] for m in metas if m.get("provisional")}))
    load_note = " ".join(dict.fromkeys(m["load_note"] for m in metas if m.get("load_note")))
    meta = {
        "command": " && ".join(m["command"] for m in metas),
        "started": metas[0]["started"],
        "duration_minutes": sum(m["duration_minutes"] for m in metas),
        "load_start": min(m["load_start"] for m in metas),
        "load_end": max(m["load_end"] for m in metas),
        "provisional": provisional or None,
        "load_note": load_note or None,
    }
    return {"scenarios": _merge_scenarios([s for part in parts for s in part["scenarios"]]),
            "machine": parts[0]["machine"], "meta": meta}


def _merge_scenarios(scenarios: list[dict]) -> list[dict]:
    """One entry per scenario name: the runs of the same scenario measured in separate
    invocations (e.g. ``--flows refill`` then ``--flows baseline``) side by side."""
    merged: dict[str, dict] = {}
    for scenario in scenarios:
        name = scenario["scenario"]["name"]
        if name not in merged:
            merged[name] = {**scenario, "runs": list(scenario["runs"])}
            continue
        into = merged[name]
        into["runs"] += scenario["runs"]
        into["plan_speed"] = into.get("plan_speed") or scenario.get("plan_speed")
        into["build_seconds"] = into.get("build_seconds") or scenario.get("build_seconds")
        into["scenario"]["flows"] = list(dict.fromkeys([*into["scenario"].get("flows", []),
                                                        *scenario["scenario"].get("flows", [])]))
    return list(merged.values())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.report_only:
        results = merge([json.loads(path.read_text()) for path in args.report_only])
        for key, value in (("provisional", args.provisional), ("load_note", args.load_note)):
            if value:  # said when re-rendering, e.g. what is missing from the merged runs
                results["meta"][key] = value
        out_dir = args.results_dir or args.report_only[0].parent
    elif args.prepare_only:
        for scenario in select_scenarios(args):
            prepared = prepare(scenario, args.work_dir, args.rebuild)
            print(f"{scenario.name}: incident ready in {prepared.root}"
                  + (f" (built in {prepared.build_seconds:.0f} s)" if prepared.build_seconds else " (cached)"))
        return 0
    else:
        results = run(args, argv)
        out_dir = args.results_dir or (args.work_dir if (args.smoke or args.quick) else BENCH_DIR)
    for path in write_results(results, out_dir):
        print(f"wrote {path}")
    summaries = [summarize(r) for r in results["scenarios"]]
    for s in summaries:
        if not s.baseline:
            print(f"{s.scenario['name']}: " + ", ".join(
                f"{name} {run['wall_seconds']:.1f}s ({run['differing_rows']:.0f} differing rows)"
                for name, run in (("refill", s.refill), ("full rebuild", s.rebuild)) if run))
            continue
        print(f"{s.scenario['name']}: seed's flow {s.baseline['wall_seconds']:.1f}s, refill "
              f"{s.refill['wall_seconds']:.1f}s (refill/seed {s.ratio('wall_seconds'):.2f}x), differing rows "
              f"{s.baseline['differing_rows']:.0f} / {s.refill['differing_rows']:.0f}")
    return 0
