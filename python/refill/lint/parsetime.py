"""Which cohort models' parse-time config depends on the month vars: whether a manifest
parsed without ``start_month``/``end_month`` can serve the month rewrite (Phase 1).

dbt resolves ``config()`` (engine, order_by, partition_by, settings, hooks, tags…) once, at
parse time, with the parse's vars; the model body is rendered again at run time with the
run's vars. So Phase 1, which sets the month vars on its ``dbt run``, only needs a manifest
parsed with them when some cohort model's config comes out differently under them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from refill.lint.evaluate import EvaluationFailure, Evaluator, evaluator_for
from refill.lint.model import CONTRACT_KEYS, ModelSource
from refill.lint.scenario import DAILY, MONTH_REFILL

# The knobs of dbt's incremental materialization, which Phase 1 replaces with refill_swap.
# The contract makes incremental_strategy follow start_month (RF001), and a cohort model on
# insert_overwrite drops its unique_key under the month vars (dbt-clickhouse's insert_overwrite
# takes none): refill_swap reads neither, and the filter macro's month branch comes before its
# strategy test. They matter only if the body itself reads them, which the render comparison
# below catches. (refill's audit reads unique_key as the model's grain: the daily value, the
# one dbt's own daily runs key on, is that grain.)
READ_BY_BODY_ONLY = frozenset({"incremental_strategy", "unique_key"})


@dataclass(frozen=True)
class MonthDependence:
    """A cohort model whose parse-time config changes with the month vars (or cannot be told)."""

    model: str
    keys: tuple[str, ...]  # the config keys that differ
    reason: str            # one line: which keys, or why it could not be evaluated

    def as_dict(self) -> dict:
        return {"model": self.model, "keys": list(self.keys), "reason": self.reason}


def month_dependent_models(models: Iterable[ModelSource], *, tag: str) -> list[MonthDependence]:
    """The models carrying ``tag`` whose config, evaluated by the lint under the plain daily
    vars and under the month vars, differs in a way Phase 1 would see. A model whose config
    cannot be evaluated counts as dependent (the safe answer is the second parse)."""
    found: list[MonthDependence] = []
    evaluators: dict[Path, Evaluator] = {}
    for model in models:
        evaluator = evaluator_for(evaluators, model.project)
        try:
            scanner = evaluator.scan(model)
            tagged = tag in (model.tags if model.tags is not None else evaluator.tags(model, scanner))
        except EvaluationFailure as failed:
            if model.tags is not None and tag not in model.tags:
                continue
            found.append(MonthDependence(model.name, (), f"config not evaluable: {failed.failure.message}"))
            continue
        if not tagged:
            continue
        dependence = _dependence(evaluator, model, scanner)
        if dependence is not None:
            found.append(dependence)
    return found


def _dependence(evaluator: Evaluator, model: ModelSource, scanner) -> MonthDependence | None:
    facts = evaluator.facts(model, scanner, allow_insert_overwrite=True)
    unknown = [entry.failure.message for entry in facts.config.values() if entry.failure is not None]
    if unknown:
        return MonthDependence(model.name, (), f"config not evaluable: {unknown[0]}")
    differing = [key for key in CONTRACT_KEYS if facts.value(key, DAILY) != facts.value(key, MONTH_REFILL)]
    try:
        daily, month = (evaluator.all_arguments(model, scanner, c) for c in (DAILY, MONTH_REFILL))
    except EvaluationFailure as failed:
        return MonthDependence(model.name, (), f"config() not evaluable: {failed.failure.message}")
    differing += [key for key in sorted(daily) if key not in CONTRACT_KEYS and daily[key] != month.get(key)]
    for key, value in sorted(model.external_templates.items()):
        try:
            if evaluator.render_external(model, value, DAILY) != evaluator.render_external(model, value, MONTH_REFILL):
                differing.append(key)
        except EvaluationFailure as failed:
            return MonthDependence(model.name, (key,), f"config {key} not evaluable: {failed.failure.message}")
    if set(differing) & READ_BY_BODY_ONLY and _body_reads_month_config(evaluator, model, scanner, facts):
        return MonthDependence(model.name, tuple(differing), _describe(differing, body=True))
    differing = [key for key in differing if key not in READ_BY_BODY_ONLY]
    if not differing:
        return None
    return MonthDependence(model.name, tuple(differing), _describe(differing, body=False))


def _body_reads_month_config(evaluator: Evaluator, model: ModelSource, scanner, facts) -> bool:
    for incremental in (True, False):
        daily = evaluator.render_month(model, scanner, facts, DAILY, incremental)
        month = evaluator.render_month(model, scanner, facts, MONTH_REFILL, incremental)
        if daily is None or daily != month:
            return True
    return False


def _describe(keys: list[str], *, body: bool) -> str:
    text = f"config {', '.join(keys)} differs with start_month/end_month set"
    return text + (" and the body reads it" if body else "")
