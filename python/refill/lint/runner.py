"""Runs the rules over models: selects the cohort, evaluates it, applies noqa."""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from refill.lint.evaluate import EvaluationFailure, Evaluator, evaluator_for
from refill.lint.finding import Finding
from refill.lint.model import Failure, ModelFacts, ModelSource
from refill.lint.noqa import Suppressions
from refill.lint.rules import RULES, Rule


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    models_seen: int = 0
    models_checked: int = 0  # in the cohort, evaluated against every rule
    suppressed: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.fails and not f.is_error]


def lint_models(
    models: Iterable[ModelSource],
    *,
    tag: str | None = None,
    allow_insert_overwrite: bool | None = None,
    select: set[str] | None = None,
    rules: list[Rule] | None = None,
    jobs: int = 1,
) -> LintResult:
    """Checks every model carrying the refill tag (default: the project's `refill_tag` var).

    ``jobs`` > 1 splits a large run over forked worker processes (files mode on a big
    project); anything that has started threads, such as an in-process dbt, should keep 1.
    """
    chosen = [m for m in models if not select or _selected(m.name, select)]
    options = (tag, allow_insert_overwrite, rules or RULES)
    if jobs > 1 and len(chosen) >= PARALLEL_MIN_MODELS and "fork" in multiprocessing.get_all_start_methods():
        result = _in_workers(chosen, options, jobs)
    else:
        result = _lint_each(chosen, *options)
    result.findings.sort(key=lambda f: (f.path, f.line, f.code, f.col, f.message))
    return result


# Below this, forking costs more than it saves.
PARALLEL_MIN_MODELS = 300


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _lint_each(models: list[ModelSource], tag: str | None, allow_insert_overwrite: bool | None,
               rules: list[Rule], evaluators: dict[Path, Evaluator] | None = None) -> LintResult:
    result = LintResult()
    evaluators = {} if evaluators is None else evaluators
    for model in models:
        evaluator = evaluator_for(evaluators, model.project)
        allowed = model.project.allows_insert_overwrite if allow_insert_overwrite is None else allow_insert_overwrite
        facts = _facts_if_in_cohort(evaluator, model, tag or model.project.tag, allowed)
        if facts is DISABLED:
            continue
        result.models_seen += 1
        if facts is None:
            continue
        result.models_checked += 1
        suppressions = Suppressions.from_source(model.source)
        for rule in rules:
            for finding in rule.check(facts):
                if suppressions.silences(finding):
                    result.suppressed += 1
                else:
                    result.findings.append(finding)
    return result


_SHARED: tuple | None = None  # what forked workers read (inherited, never pickled)


def _in_workers(models: list[ModelSource], options: tuple, jobs: int) -> LintResult:
    global _SHARED
    # Each project's macros are loaded and its Jinja namespace built here, before the fork:
    # built lazily, every worker would load the same macros again (CPU the machine pays
    # once per worker for nothing).
    evaluators: dict[Path, Evaluator] = {}
    for model in models:
        if model.project.root not in evaluators:
            evaluator_for(evaluators, model.project).namespace
    _SHARED = (models, options, jobs, evaluators)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_lint_share, range(jobs))
    finally:
        _SHARED = None
    merged = LintResult()
    for part in parts:
        merged.findings += part.findings
        merged.models_seen += part.models_seen
        merged.models_checked += part.models_checked
        merged.suppressed += part.suppressed
    return merged


def _lint_share(worker: int) -> LintResult:
    models, options, jobs, evaluators = _SHARED
    return _lint_each(models[worker::jobs], *options, evaluators)  # interleaved: cohort models spread evenly


class _Disabled:
    """A model its own config (or dbt_project.yml) switches off."""


# dbt builds no disabled model and leaves it out of the manifest's nodes: files mode must
# not count it among the project's models either, or the two modes' summaries disagree.
DISABLED = _Disabled()


def _facts_if_in_cohort(evaluator: Evaluator, model: ModelSource, tag: str,
                        allowed: bool) -> ModelFacts | _Disabled | None:
    """The model's facts if it carries the tag, DISABLED if it is switched off, else None;
    a model whose tags cannot be known is reported (RF000) rather than silently skipped,
    unless dbt already said it is not tagged."""
    try:
        scanner = evaluator.scan(model)
        if not evaluator.enabled(model, scanner):
            return DISABLED
        if tag not in evaluator.tags(model, scanner):
            return None
    except EvaluationFailure as failed:
        if model.tags is not None and tag not in model.tags:
            return None
        return _unevaluated(model, allowed, failed.failure)
    try:
        return evaluator.facts(model, scanner, allowed)
    except EvaluationFailure as failed:  # a failure outside the per-key/per-render guards
        return _unevaluated(model, allowed, failed.failure)


def cohort_facts(models: Iterable[ModelSource], tag: str | None = None) -> Iterator[ModelFacts]:
    """The evaluated facts of every model carrying the refill tag, in order."""
    evaluators: dict[Path, Evaluator] = {}
    for model in models:
        evaluator = evaluator_for(evaluators, model.project)
        facts = _facts_if_in_cohort(evaluator, model, tag or model.project.tag, model.project.allows_insert_overwrite)
        if isinstance(facts, ModelFacts):
            yield facts


def _unevaluated(model: ModelSource, allowed: bool, failure: Failure) -> ModelFacts:
    return ModelFacts(model, allowed, failures=[failure])


def _selected(name: str, select: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in select)

