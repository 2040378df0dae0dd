"""The plan as the terminal shows it, held to ``render.LINE_LIMIT`` at 1,000+ models."""

from __future__ import annotations

from refill import render
from refill.run.phases.context import Step
from refill.run.phases.preflight import describe_entity
from refill.run.plan import RefillPlan


def describe_plan(plan: RefillPlan, steps: list[Step], info: dict | None = None, *, verbose: bool = False) -> str:
    """The plan as the terminal shows it: per phase every model when the phase is small or
    ``verbose``, else counts by materialization and folder plus the models that need
    attention (``info``: ``render.model_info(graph)``); no line over ``render.LINE_LIMIT``."""
    w = plan.window
    how = dict(plan.mechanisms)
    info = info or {}

    def models(names) -> list[str]:
        return render.phase_models(names, info, how, verbose=verbose)

    lines = [
        f"refill plan {plan.run_id}  (target {plan.target}, schema {plan.schema})",
        f"  from-date           : {w.from_date}  (gap = {(w.today - w.from_date).days} d, +{w.buffer_days} buffer)",
        f"  today               : {w.today}",
        f"  price_lookback_days : {w.lookback_days}",
        *render.wrap("  affected months     : ", [m.isoformat() for m in w.months]),
        f"  prices model        : {plan.settings.prices_model}",
        f"  price entity        : {describe_entity(plan)}",
        f"  phase 1 selector    : tag:{plan.settings.tag}" + ("  (skipped)" if plan.skip_cohort else ""),
        render.abbreviate_statement(f"  phase 2 selector    : {' '.join(plan.lineage_selector)}"
                                    + ("  (skipped)" if plan.skip_lineage else "")),
        f"  partitions per run  : {plan.partition_budget or 'no limit'}  (max_partitions_per_insert_block, with a margin)",
        "  dbt parses          : "
        + (f"2 (Phase 1 parses again with the month vars: {len(plan.month_dependent)} cohort model(s)' config "
           "depends on them, see --report)" if plan.month_dependent else
           "1 (no cohort model's parse-time config depends on the month vars: the plan's manifest serves Phase 1)"),
    ]
    if plan.input_models:
        lines.append(f"\nPhase 0.5 — re-pull what the cohort reads, before Phase 1 and the price-coverage check "
                     f"({len(plan.input_models)} models, run order)")
        lines += models(plan.input_models)
    if not plan.skip_cohort:
        lines.append(f"\nPhase 1 — cohort rewrite, once per model per month ({len(plan.cohort)} models, "
                     f"{len(plan.cohort_layers)} layers; each layer reads only final months of the ones above)")
        for i, layer in enumerate(plan.cohort_layers, 1):
            lines += render.wrap(f"  layer {i}: ", list(layer))
        lines += [render.clip(f"  parses again for {model}: {why}") for model, why in plan.month_dependent]
    if not plan.skip_lineage:
        lines.append(f"\nPhase 2 — lineage re-pull, run order ({len(plan.lineage_models)} models)")
        lines += models(plan.lineage_models)
    lines.append(f"\nPhase 3 — downstream rebuild, run order ({len(plan.downstream_models)} models)")
    lines += models(plan.downstream_models) or ["  (none: Phase 2 rebuilt every descendant)"]
    if plan.refused:
        lines.append(f"\nCannot repair — the run is refused before anything is written ({len(plan.refused)} models)")
        lines += [render.clip(f"  {p.model}: {p.message}") for p in plan.refused]
    lines.append("\nStatements" + ("" if verbose else " (models after --select abbreviated; all: --verbose)"))
    lines += render.statements(steps, verbose=verbose)
    return "\n".join(render.clip(line) for block in lines for line in block.split("\n"))
