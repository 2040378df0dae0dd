"""Correctness of a recovered warehouse: every model against the from-scratch build.

A model whose fingerprint (rows, sum of row hashes) equals the truth's has no differing
row. Any other is counted exactly, as multisets (``EXCEPT ALL`` both ways against the
truth's Native file, no FINAL), so a duplicate a reader would double-count is a
difference too. Two symptoms of the seed's Phase 1 are reported by name: the aggregator's
baked-in multiple (the refilled months' supply against the truth's) and 'unpriced' keys
that should have disappeared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from refill.dbt.session import DbtSession
from refill.engine.sql import ident, literal
from refill.engine.warehouse import Warehouse
from refill_bench.incident import FINGERPRINTS_FILE, fingerprint, truth_file
from refill_bench.project import CANARY_MODEL, SCHEMA, TARGET


def check(project_dir: Path, profiles_dir: Path, truth_dir: Path, models: list[str], cohort: list[str],
          months: list[str], gap: str) -> dict:
    session = DbtSession(project_dir=project_dir, profiles_dir=profiles_dir, target=TARGET, quiet=True)
    expected = json.loads((truth_dir / FINGERPRINTS_FILE).read_text())
    with Warehouse(session.credentials, project_dir) as warehouse:
        differing = {}
        for model in models:
            relation = f"{ident(SCHEMA)}.{ident(model)}"
            if fingerprint(warehouse, relation) != expected[model]:
                differing[model] = _differing_rows(warehouse, relation, truth_file(truth_dir, model))
        result = {
            "differing_rows": sum(differing.values()),
            "models_differing": {m: n for m, n in differing.items() if n},
            "stale_unpriced_rows": _unpriced(warehouse, cohort, gap),
        }
        if CANARY_MODEL in cohort:
            truth = truth_file(truth_dir, CANARY_MODEL)
            result["supply_vs_truth"] = {m: _supply_ratio(warehouse, truth, m) for m in months}
    return result


def _differing_rows(warehouse: Warehouse, relation: str, truth: Path) -> int:
    other = f"file({literal(str(truth))}, Native)"
    left, right = warehouse.rows(
        f"SELECT (SELECT count() FROM (SELECT * FROM {relation} EXCEPT ALL SELECT * FROM {other})),"
        f" (SELECT count() FROM (SELECT * FROM {other} EXCEPT ALL SELECT * FROM {relation}))")[0]
    return int(left) + int(right)


def _supply_ratio(warehouse: Warehouse, truth: Path, month: str) -> float | None:
    def total(source: str):
        return warehouse.scalar(f"SELECT sum(supply) FROM {source} WHERE toStartOfMonth(date) = toDate('{month}')")

    expected = total(f"file({literal(str(truth))}, Native)")
    actual = total(f"{ident(SCHEMA)}.{ident(CANARY_MODEL)}")
    return round(float(actual) / float(expected), 4) if expected else None


def _unpriced(warehouse: Warehouse, cohort: list[str], gap: str) -> int:
    """Rows in an 'unpriced' bucket on the gap day: none exist once the price is back."""
    count = 0
    for model in cohort:
        columns = {r[0] for r in warehouse.rows(
            f"SELECT name FROM system.columns WHERE database = {literal(SCHEMA)} AND table = {literal(model)}")}
        if "bucket" in columns:
            count += int(warehouse.scalar(
                f"SELECT count() FROM {ident(SCHEMA)}.{ident(model)}"
                f" WHERE bucket = 'unpriced' AND date = toDate('{gap}')"))
    return count


def main(argv: Sequence[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    result = check(Path(request["project_dir"]), Path(request["profiles_dir"]), Path(request["truth_dir"]),
                   request["models"], request["cohort"], request["months"], request["gap"])
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    return 0
