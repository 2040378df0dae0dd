"""Model-by-model, row-by-row comparison of two schemas (physical duplicates count)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from refill.engine.sql import table
from refill.engine.warehouse import Warehouse


@dataclass(frozen=True)
class ModelDiff:
    model: str
    only_left: int
    only_right: int

    @property
    def differing(self) -> int:
        return self.only_left + self.only_right


def lab_models(manifest) -> list[str]:
    """Every materialized model and seed of the root project, in name order."""
    root = manifest.metadata.project_name
    names = {
        node.name
        for node in manifest.nodes.values()
        if node.resource_type in ("model", "seed")
        and node.package_name == root
        and node.config.materialized != "ephemeral"
        and node.config.enabled
    }
    return sorted(names)


def diff_schemas(warehouse: Warehouse, left: str, right: str, models: Iterable[str]) -> list[ModelDiff]:
    """Rows of each model present on one side only, as multisets (EXCEPT ALL, no FINAL)."""
    results = []
    for model in models:
        a, b = table(left, model), table(right, model)
        only_left, only_right = warehouse.rows(
            f"SELECT (SELECT count() FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})),"
            f" (SELECT count() FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
        )[0]
        results.append(ModelDiff(model, int(only_left), int(only_right)))
    return results


def checksums(warehouse: Warehouse, schemas: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(rows, order-independent hash of every row) of every table in ``schemas``, but
    ``refill_audit``: refill's record of what it audited grows with every run, as a log does,
    and is not warehouse data a refill may change."""
    from refill.engine.sql import literal
    from refill.lineage.audit import AUDIT_TABLE

    names = ", ".join(literal(s) for s in schemas)
    tables = warehouse.rows(
        f"SELECT database, name FROM system.tables WHERE database IN ({names}) AND engine LIKE '%MergeTree%'"
        f" AND name != {literal(AUDIT_TABLE)} ORDER BY database, name"
    )
    result = {}
    for schema, name in tables:
        rows, digest = warehouse.rows(f"SELECT count(), groupBitXor(cityHash64(*)) FROM {table(schema, name)}")[0]
        result[f"{schema}.{name}"] = (int(rows), int(digest))
    return result
