"""RESULTS.md: the machine, the headline table, the targets, the scaling series, the why."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

from refill_bench.summary import PHASE_LABELS, PHASE_ORDER, Summary, server_wall, summarize
from refill_bench.targets import evaluate_targets

def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(b: Any, r: Any) -> str:
    return f"{r / b:.2f}×" if isinstance(b, (int, float)) and isinstance(r, (int, float)) and b else "—"


def headline_table(summary: Summary) -> str:
    b, r = summary.baseline, summary.refill
    lines = ["| metric | seed's flow (baseline) | refill | refill / baseline |", "|---|---:|---:|---:|"]

    def add(label: str, bv: Any, rv: Any, digits: int = 1, ratio: bool = True) -> None:
        lines.append(f"| {label} | {_fmt(bv, digits)} | {_fmt(rv, digits)} | {_ratio(bv, rv) if ratio else ''} |")

    add("wall (s)", b["wall_seconds"], r["wall_seconds"])
    add("wall without engine start-ups (s) — a server has none", server_wall(b), server_wall(r))
    seen = set(b["phases"]) | set(r["phases"])
    for phase in [p for p in PHASE_ORDER if p in seen] + sorted(seen - set(PHASE_ORDER)):
        add(f"  {PHASE_LABELS.get(phase, phase)} (s)", b["phases"].get(phase), r["phases"].get(phase), 1, False)
    add("dbt invocations", b["dbt_invocations"], r["dbt_invocations"], 0)
    add("manifest parses (full)", f"{b['parses']:.0f} ({b['full_parses']:.0f})",
        f"{r['parses']:.0f} ({r['full_parses']:.0f})", ratio=False)
    add("  … refill's parses, why", "", _parse_reasons(r), ratio=False)
    add("cohort model executions", b["cohort_executions"], r["cohort_executions"], 0)
    add("all model executions", b["model_executions"], r["model_executions"], 0)
    add("OPTIMIZE statements", b["optimize_statements"], r["optimize_statements"], 0, False)
    add("statements on the engine", b["statements"], r["statements"], 0)
    add("Σ statement durations (s)", b["query_seconds"], r["query_seconds"])
    add("engine busy, wall (s)", b["busy_seconds"], r["busy_seconds"])
    add("engine-side query time (s)", b["engine_query_seconds"], r["engine_query_seconds"])
    add("orchestration overhead = wall − busy (s)", b["overhead_seconds"], r["overhead_seconds"])
    add("  … as a share of wall", f"{b['overhead_seconds'] / b['wall_seconds']:.0%}",
        f"{r['overhead_seconds'] / r['wall_seconds']:.0%}", ratio=False)
    add("  … without engine start-ups (s, share of that wall)", _server_overhead(b), _server_overhead(r),
        ratio=False)
    if r.get("audit_seconds") or r.get("audit_statement_seconds"):
        add("audit before publish, wall (s, share of wall)", "—",
            f"{r['audit_seconds']:,.1f} ({r['audit_seconds'] / r['wall_seconds']:.1%})", ratio=False)
        add("  … of it in `refill_swap` + read-back / column-lineage trace (s)", "—",
            f"{r['audit_seconds'] - r['audit_trace_seconds']:,.1f} / {r['audit_trace_seconds']:,.1f}", ratio=False)
        add("  … Σ of its statements (s)", "—", r["audit_statement_seconds"], ratio=False)
    add("engine cold starts (count) / client opens (s)", f"{b['engine_starts']:.0f} / {b['engine_start_seconds']:.1f}",
        f"{r['engine_starts']:.0f} / {r['engine_start_seconds']:.1f}", ratio=False)
    add("rows inserted", b["rows_inserted"], r["rows_inserted"], 0)
    add("rows merged (OPTIMIZE and background)", b["rows_merged"], r["rows_merged"], 0)
    add("peak RSS of one process (MB)", b["peak_rss_mb"], r["peak_rss_mb"], 0)
    add("**differing rows vs from-scratch build**", b["differing_rows"], r["differing_rows"], 0, False)
    add("models differing", len(b["models_differing"]), len(r["models_differing"]), 0, False)
    supply = lambda run: ", ".join(f"{m[:7]}: {v}×" for m, v in sorted(run.get("supply_vs_truth", {}).items())) or "—"
    add("supply of the refilled months vs truth", supply(b), supply(r), ratio=False)
    add("stale 'unpriced' rows on the gap day", b["stale_unpriced_rows"], r["stale_unpriced_rows"], 0, False)
    add("canary after Phase 1", _canary(b), _canary(r), ratio=False)
    add("exit code", b["exit_code"], r["exit_code"], 0, False)
    return "\n".join(lines)


def refill_only_table(summary: Summary) -> str:
    """refill's side alone, when the seed's flow of the scenario was not measured in this run."""
    r = summary.refill
    lines = ["| metric (the seed's flow was not measured in this run) | refill |", "|---|---:|"]
    rows = [("wall (s)", _fmt(r["wall_seconds"])), ("wall without engine start-ups (s)", _fmt(server_wall(r)))]
    rows += [(f"  {PHASE_LABELS.get(p, p)} (s)", _fmt(v)) for p, v in
             sorted(r["phases"].items(), key=lambda kv: PHASE_ORDER.index(kv[0]) if kv[0] in PHASE_ORDER else 99)]
    rows += [("dbt invocations", _fmt(r["dbt_invocations"], 0)),
             ("manifest parses (full)", f"{r['parses']:.0f} ({r['full_parses']:.0f})"),
             ("  … refill's parses, why", _parse_reasons(r)),
             ("cohort model executions", _fmt(r["cohort_executions"], 0)),
             ("all model executions", _fmt(r["model_executions"], 0)),
             ("statements on the engine", _fmt(r["statements"], 0)),
             ("engine busy, wall (s)", _fmt(r["busy_seconds"])),
             ("orchestration overhead = wall − busy (s, share of wall)",
              f"{r['overhead_seconds']:,.1f} ({r['overhead_seconds'] / r['wall_seconds']:.0%})"),
             ("audit before publish, wall (s, share of wall)",
              f"{r['audit_seconds']:,.1f} ({r['audit_seconds'] / r['wall_seconds']:.1%})"),
             ("engine cold starts (count) / client opens (s)",
              f"{r['engine_starts']:.0f} / {r['engine_start_seconds']:.1f}"),
             ("rows inserted", _fmt(r["rows_inserted"], 0)),
             ("peak RSS (MB)", _fmt(r["peak_rss_mb"], 0)),
             ("**differing rows vs from-scratch build**", _fmt(r["differing_rows"], 0)),
             ("exit code", _fmt(r["exit_code"], 0))]
    return "\n".join(lines + [f"| {label} | {value} |" for label, value in rows])


def _parse_reasons(run: dict) -> str:
    reasons = run.get("parse_reasons") or []
    if not reasons:
        return "count from refill's session stats (its report names no reasons)"
    return "; ".join(f"{p.get('reason', '?')} ({p.get('seconds', 0):.1f} s)" for p in reasons)


def plan_speed_table(summaries: list[Summary]) -> str:
    rows = [s for s in summaries if s.plan_speed and len(s.plan_speed.get("plan", [])) >= 2]
    if not rows:
        return ""
    lines = ["| models | `refill plan` cold / warm (s) | of it chDB start-up / statements on the engine, warm (s) | `dbt ls` cold / warm (s) | "
             "plan / ls (warm) | plan / ls (warm, without chDB start-up) | plan's manifest loads, warm (full parses) | plan output "
             "(lines, widest) | models in `<prices>+` |",
             "|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for s in sorted(rows, key=lambda s: s.scenario["project"]["models"]):
        sp = s.plan_speed
        engine = sp.get("plan_engine_open", [0, 0])[-1]
        parses = f"{_fmt(sp.get('plan_parses'), 0)} ({_fmt(sp.get('plan_full_parses'), 0)} full)"
        busy = sp.get("plan_engine_busy", [None, None])[-1]
        lines.append(f"| {s.scenario['project']['models']:,} | {sp['plan'][0]:.1f} / {sp['plan'][1]:.1f} | {engine:.1f} / "
                     f"{_fmt(busy)} ({_fmt(sp.get('plan_statements'), 0)} statements) | "
                     f"{sp['ls'][0]:.1f} / {sp['ls'][1]:.1f} | {sp['plan'][1] / sp['ls'][1]:.2f}× | "
                     f"{(sp['plan'][1] - engine) / sp['ls'][1]:.2f}× | {parses} | "
                     f"{sp.get('plan_output_lines', 0)}, {sp.get('plan_output_widest', 0)} | {sp.get('ls_models', 0)} |")
    return "\n".join(lines)


def history_table(summaries: list[Summary]) -> str:
    points = sorted((s for s in summaries if "history" in s.scenario.get("series", []) and s.refill and s.rebuild),
                    key=lambda s: s.scenario["data"]["history_start"], reverse=True)
    if not points:
        return ""
    lines = ["| history (months) | since | refill wall (s) | full rebuild wall (s) | rebuild / refill | "
             "refill Phase 1 / Phase 2 (s) | rows inserted (refill / rebuild) | engine busy (refill / rebuild, s) | "
             "differing rows (refill / rebuild) | exit (refill / rebuild) | load before (refill / rebuild) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in points:
        r, f = s.refill, s.rebuild
        lines.append(
            f"| {_history_months(s)} | {s.scenario['data']['history_start']} | {r['wall_seconds']:.1f} | "
            f"{f['wall_seconds']:.1f} | {f['wall_seconds'] / r['wall_seconds']:.2f}× | "
            f"{r['phases'].get('phase1', 0):.1f} / {r['phases'].get('phase2', 0):.1f} | "
            f"{r['rows_inserted']:,.0f} / {f['rows_inserted']:,.0f} | {r['busy_seconds']:.1f} / {f['busy_seconds']:.1f} | "
            f"{r['differing_rows']:.0f} / {f['differing_rows']:.0f} | {r['exit_code']:.0f} / {f['exit_code']:.0f} | "
            f"{r.get('load_before', 0):.1f} / {f.get('load_before', 0):.1f} |")
    if len(points) > 1:
        first, last = points[0], points[-1]

        def growth(run_of, key: str) -> str:
            low, high = run_of(first).get(key) or 0, run_of(last).get(key) or 0
            return f"{high / low:.2f}×" if low else "—"

        lines += ["", f"From {_history_months(first)} to {_history_months(last)} months of history: the full rebuild's "
                  f"wall grew {growth(lambda s: s.rebuild, 'wall_seconds')}, its rows inserted "
                  f"{growth(lambda s: s.rebuild, 'rows_inserted')} and its engine-busy time "
                  f"{growth(lambda s: s.rebuild, 'busy_seconds')}; refill's wall {growth(lambda s: s.refill, 'wall_seconds')}, "
                  f"rows inserted {growth(lambda s: s.refill, 'rows_inserted')}, engine-busy "
                  f"{growth(lambda s: s.refill, 'busy_seconds')}. Rows inserted are the work itself, whatever the "
                  "load; walls on a loaded machine are not."]
        cheaper = [s for s in points if s.rebuild["wall_seconds"] < s.refill["wall_seconds"]]
        if cheaper:
            r = cheaper[-1].refill
            lines += ["", f"The full rebuild was cheaper than refill at {len(cheaper)} of {len(points)} history lengths "
                      f"(up to {_history_months(cheaper[-1])} months). Besides its Phase 2, refill pays a fixed cost "
                      f"the rebuild does not — {r['dbt_invocations']:.0f} dbt invocations and {r['parses']:.0f} parses ({r['full_parses']:.0f} "
                      "full), the "
                      f"partition backups, the audit before publish, Phase 4's checks over every touched model "
                      f"({r['phases'].get('phase4', 0):.0f} s) and {r['statements']:,.0f} statements against the rebuild's "
                      f"{cheaper[-1].rebuild['statements']:,.0f}."]
        refill_growth = (last.refill["wall_seconds"] / first.refill["wall_seconds"]) if first.refill["wall_seconds"] else 0
        rebuild_growth = (last.rebuild["wall_seconds"] / first.rebuild["wall_seconds"]) if first.rebuild["wall_seconds"] else 0
        if refill_growth > rebuild_growth:  # said as measured: refill's wall is not the flat one here
            p2_first, p2_last = first.refill["phases"].get("phase2", 0), last.refill["phases"].get("phase2", 0)
            lines += ["", f"refill's wall grew faster than the rebuild's ({refill_growth:.2f}× against "
                      f"{rebuild_growth:.2f}×), though it inserts fewer rows: its Phase 2 went from {p2_first:.0f} s to "
                      f"{p2_last:.0f} s. Phase 2 re-pulls the incremental consumers with `delete+insert`, whose "
                      "lightweight `DELETE FROM` rewrites parts that grow with the history, while `--full-refresh` "
                      "writes fresh tables. What would close it: a partition-replacing re-pull for partitioned "
                      "consumers (the window's months computed aside and swapped in, as Phase 1 does for the "
                      "cohort), whose cost follows the window, not the table."]
    return "\n".join(lines)


def _history_months(summary: Summary) -> str:
    start = dt.date.fromisoformat(summary.scenario["data"]["history_start"])
    today = dt.date.fromisoformat(summary.scenario["today"])
    return f"{(today.year - start.year) * 12 + today.month - start.month}"


def _server_overhead(run: dict) -> str:
    overhead = run["overhead_seconds"] - run["engine_start_seconds"]
    return f"{overhead:,.1f} ({overhead / server_wall(run):.0%})"


def _canary(run: dict) -> str:
    if run.get("canary_violations") is None:
        return "not run"
    return f"flagged {run['canary_violations']:.0f} row(s)" if run["canary_violations"] else "passed"


LOAD_NOTE = ("*Load before*: the 1-minute load average when each flow started. Above the core count, "
             "the flow shared the machine: compare the two flows within a row (measured back to back on the "
             "same incident), not walls across rows.")


def series_table(summaries: list[Summary], series: str) -> str:
    points = sorted((s for s in summaries if series in s.scenario.get("series", []) and s.baseline and s.refill),
                    key=lambda s: (s.scenario["months"], s.scenario["project"]["models"]))
    if not points:
        return ""
    head = ("| models | months | lookback (d) | seed's flow wall (s) | refill wall (s) | refill / seed | "
            "dbt invocations (seed / refill) | parses (seed / refill) | cohort executions (seed / refill) | "
            "OPTIMIZE (seed / refill) | refill overhead | differing rows (seed / refill) | "
            "load before (seed / refill) |")
    lines = [head, "|" + "---:|" * (head.count("|") - 1)]
    for s in points:
        b, r = s.baseline, s.refill
        lines.append(
            f"| {s.scenario['project']['models']} | {s.scenario['months']} | {s.scenario['lookback_days']} | "
            f"{b['wall_seconds']:.1f} | {r['wall_seconds']:.1f} | {_ratio(b['wall_seconds'], r['wall_seconds'])} | "
            f"{b['dbt_invocations']:.0f} / {r['dbt_invocations']:.0f} | {b['parses']:.0f} / {r['parses']:.0f} | "
            f"{b['cohort_executions']:.0f} / {r['cohort_executions']:.0f} | "
            f"{b['optimize_statements']:.0f} / {r['optimize_statements']:.0f} | "
            f"{r['overhead_seconds'] / r['wall_seconds']:.0%} | {b['differing_rows']:.0f} / {r['differing_rows']:.0f} | "
            f"{b.get('load_before', 0):.1f} / {r.get('load_before', 0):.1f} |")
    return "\n".join(lines)


def markdown(results: dict, written_plot: bool = False) -> str:
    summaries = [summarize(r) for r in results["scenarios"]]
    meta, machine = results["meta"], results["machine"]
    out = ["# refill benchmark results", ""]
    if meta.get("provisional"):
        out += [f"> **Provisional.** {meta['provisional']}", ""]
    command = meta["command"]
    if meta.get("load_note"):  # said below, once
        command = command.replace(shlex.quote(meta["load_note"]), "'…'")
    out += [f"Generated by `{command}` on {meta['started']} in {meta['duration_minutes']:.0f} min. "
            "Both flows recover the same incident state (a copy of one closed chDB data directory) on the "
            "embedded engine; numbers are medians over the repeats shown.", "", "## Machine", "",
            "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in machine.items()]
    out += [f"| load average (1 min) at start / end | {meta['load_start']:.2f} / {meta['load_end']:.2f} |", ""]
    if meta.get("load_note"):
        out += [f"> **Machine load.** {meta['load_note']}", ""]
    for s in summaries:
        if not {"headline", "upstream"} & set(s.scenario.get("series", [])) or not s.refill:
            continue
        sc = s.scenario
        shape = sc["project"]
        out += [f"## {sc['name']}: {shape['models']:,} models, {sc['months']}-month gap", ""]
        if shape.get("priced_share", 1.0) < 1:
            out += [f"The upstream project's size: {shape['models']:,} models, of which a share of "
                    f"{shape['priced_share']:.0%} of the consumers read prices (the rest never do), so "
                    f"{(s.plan_speed or {}).get('ls_models', '?')} models are in `<prices>+` (the cohort included); "
                    f"price consumers are view/incremental/table in the ratio {'/'.join(map(str, shape['priced_kinds']))}.", ""]
        out += [
                f"Gap {sc['gap']}, recovered on {sc['today']} (lookback {sc['lookback_days']} days); cohort of "
                f"{sc['project']['cohort_size']} `refill_append` models in {sc['project']['cohort_layers']} layers; "
                f"data scale {sc['data']['scale']} ({s.incident.get('transfer_rows', 0):,} transfers, "
                f"{s.incident.get('balance_rows', 0):,} balance rows); {s.refill.get('repeats', 0)} repeat(s) per "
                f"flow (walls: seed {_walls(s.baseline)}; refill {_walls(s.refill)}).", "",
                headline_table(s) if s.baseline else refill_only_table(s), ""]
    table = plan_speed_table(summaries)
    if table:
        out += ["## `refill plan` against `dbt ls`", "",
                "Each in a fresh process, twice on the same target path: the first run is cold, the second warm "
                "(dbt's partial-parse state and refill's parse cache from the first). The selection is the prices "
                "model's lineage, `<prices>+`. The plan opens the warehouse; on the embedded engine that starts "
                "chDB, shown apart (a server has no such cost); `dbt ls` never connects.", "", table, ""]
    out += ["## Targets", "", "| target | measured | met | why, and what would close it |", "|---|---|---|---|"]
    for t in evaluate_targets(summaries):
        verdict = "—" if t.met is None else ("yes" if t.met else "**no**")
        out.append(f"| {t.name} | {t.measured} | {verdict} | {t.why} |")
    out.append("")
    for series, title in (("months", "Scaling with the gap (300 models, smaller data)"),
                          ("models", "Scaling with the project (2-month gap, smaller data)")):
        table = series_table(summaries, series)
        if table:
            out += [f"## {title}", "", table, "", LOAD_NOTE, ""]
    if written_plot:
        out += ["![wall time vs models, gap and history](wall_vs_models.png)", ""]
    table = history_table(summaries)
    if table:
        out += ["## Full rebuild of the lineage against refill, by length of history", "",
                HISTORY_TEXT, "", table, "", LOAD_NOTE.replace("each flow", "each flow (refill, rebuild)"), ""]
    headline = next((s for s in summaries if "headline" in s.scenario.get("series", [])), None)
    if headline and headline.baseline:
        out += [explanation(headline), ""]
    out += [FLOWS_TEXT, "", "## Notes from the runs", ""]
    notes = sorted({f"{run['flow']}: {n}" for r in results["scenarios"] for run in r["runs"] for n in run["notes"]})
    out += [f"* {n if len(n) <= 400 else n[:400] + ' …'}" for n in notes] or ["* none"]
    return "\n".join(out) + "\n"


def explanation(summary: Summary) -> str:
    """Why the headline looks the way it does, in the headline's own numbers."""
    b, r, sc = summary.baseline, summary.refill, summary.scenario
    cohort, months = sc["project"]["cohort_size"], sc["months"]
    per_command = b["wall_seconds"] / b["dbt_invocations"] if b["dbt_invocations"] else 0
    starts = b["engine_start_seconds"] / b["engine_starts"] if b["engine_starts"] else 0
    shared = r["phases"].get("phase2", 0)
    lines = [
        "## Why the numbers look like this", "",
        f"* **The seed's flow is a script of dbt commands**: {months} month(s) × 2 passes × (run + ls + "
        f"{cohort} run-operations) + canary + Phase 2 + Phase 3 = {b['dbt_invocations']:.0f} processes, "
        f"{per_command:.1f} s each on average. Each one starts Python and imports dbt, loads the manifest "
        f"({b['parses']:.0f} loads, {b['full_parses']:.0f} of them full parses: `--vars` changes between "
        "`dbt run` and the commands around it, which invalidates dbt's partial parse), and on the embedded "
        f"engine starts chDB and loads every table ({starts:.1f} s a start). The engine was busy "
        f"{b['busy_seconds']:.0f} s of its {b['wall_seconds']:.0f} s.",
        f"* **refill is one process**: dbt imported once, {r['parses']:.0f} parses (the plan, then the cohort "
        f"in refill mode), every cohort model once per month ({r['cohort_executions']:.0f} executions against "
        f"{b['cohort_executions']:.0f}), no OPTIMIZE ({b['optimize_statements']:.0f} in the seed's flow, where "
        f"merges rewrote {b['rows_merged']:,.0f} rows), and no second run of the models Phase 2 already rebuilt.",
        f"* **Work both flows share bounds the ratio**: Phase 2 is the same `dbt run` in both "
        f"({shared:.0f} s in refill here), so refill / seed cannot fall below Phase 2's share of the seed's wall.",
        "* **refill does work the seed's flow does not**: preflight (failed mutations, partition backups) and "
        "Phase 4 (zero-USD and duplicate-key checks on every touched model, the canary again) are inside "
        f"refill's wall ({r['phases'].get('phase4', 0):.0f} s for Phase 4 here).",
        f"* **Correctness**: the seed's Phase 1 leaves its aggregators at "
        f"{', '.join(f'{v}×' for v in sorted(set(b.get('supply_vs_truth', {}).values()))) or '—'} the truth's "
        "supply (pass B re-appends the balances, and the aggregators read them before any merge) and keeps "
        f"{b['stale_unpriced_rows']:.0f} 'unpriced' rows that no longer exist (append + OPTIMIZE cannot delete "
        f"a key); {b['differing_rows']:,.0f} rows differ from the from-scratch build, against "
        f"{r['differing_rows']:,.0f} after refill.",
    ]
    return "\n".join(lines)


def _walls(run: dict) -> str:
    walls = run.get("wall_all") or []
    return ", ".join(f"{w:.1f}" for w in walls) + " s" if walls else "not measured"


HISTORY_TEXT = """What many operators do instead of refill: `dbt run --select <prices model>+ --full-refresh`
(`benchmarks/refill_bench/rebuild.py`, one dbt process). It is correct, but it recomputes every
model downstream of prices over the whole history, so its cost follows the history's length;
refill's follows the months the gap touched. Same project (100 models, the headline's shape),
same gap (2026-03-30, two months), same data per day (scale 25); only the first day of the raw
feeds moves back. Views are free in both; `table` consumers are rebuilt over the whole history by
either flow (a `dbt run` rebuilds a table whatever its inputs), and the cohort's running balances
read every transfer since the first day, so refill's wall is not flat either: what it does not
do is rewrite the history's partitions."""


FLOWS_TEXT = """## What ran

* **Seed's flow (baseline)** — `benchmarks/refill_bench/baseline.py`: the commands of the seed's
  `refill_after_price_gap.sh`, each a separate `python -m refill dbt …` process (dbt's own CLI on the
  embedded engine): per month two passes of `dbt run --select tag:refill_append --vars {start_month,
  end_month}` + `dbt ls` + one `dbt run-operation optimize_partition_final` per cohort model; the canary
  (`dbt show --inline`); Phase 2 `dbt run --select <prices>+ --exclude tag:refill_append --vars
  {price_lookback_days}`; Phase 3 `dbt run --select tag:refill_append+ --exclude tag:refill_append`.
* **Full rebuild** — `benchmarks/refill_bench/rebuild.py`: `dbt run --select <prices>+ --full-refresh`,
  one `python -m refill dbt …` process (the history series only).
* **refill** — `refill.run.orchestrator.run_refill`, i.e. `python -m refill run --from-date … --report …`, in
  one fresh process: one parse, the cohort once per month through `refill_swap` (write aside + `REPLACE
  PARTITION`), the canary, Phase 2, Phase 3 (only descendants Phase 2 did not rebuild), Phase 4 verify.
* **Measured** — wall: the flow's process from spawn to exit. Statements: every statement on the engine,
  timed around the chdb client (`REFILL_QUERY_LOG`, `refill/engine/querylog.py`); *engine busy* is the wall time
  during which at least one statement ran, and *orchestration overhead* = wall − engine busy (with two
  dbt threads, statements overlap: Σ of durations counts them twice and would understate it). Engine
  counters (`system.events`: inserted/merged rows, engine-side query time) per process. dbt invocations,
  manifest loads and model executions from dbt's JSON file log. Peak RSS: `getrusage` (children, for the
  baseline's dbt processes). Correctness: every model against the same project built from scratch with
  complete prices (`EXCEPT ALL` both ways, so duplicates count).
* **Audit before publish** — refill's `refill_swap` materialization calls `refill.audit_month` between
  writing a month aside and swapping it in. Its share: per dbt thread, each run of consecutive audit
  statements (the macro's own aliases, `__refill_side`/`__refill_matched`, and the `refill_audit`
  table), from the end of the statement before it to the end of its last one (so the Jinja rendering
  between its queries counts), the union of those spans over threads, plus the orchestrator's
  column-lineage trace that parameterizes the audit (a `dbt compile` of the cohort, timed in-process).
  chDB has no `system.query_log`, so the spans come from refill's statement log (`refill/engine/querylog.py`),
  which records each statement's thread."""
