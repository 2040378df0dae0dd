"""Refill's project settings: flags first, then the dbt project's vars, then the seed's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from refill.errors import BadInput

DEFAULT_PRICES_MODEL = "int_execution_token_prices_daily"
DEFAULT_TAG = "refill_append"
DEFAULT_DATE_COLUMN = "date"


@dataclass(frozen=True)
class Canary:
    """An adjacent-day ratio scan (the ``refill_canaries`` var, one entry)."""

    model: str
    date_column: str
    value_column: str
    group_by: tuple[str, ...] = ()
    where: str | None = None
    threshold: float = 1.5
    zero_is_anomaly: bool = False

    @classmethod
    def from_var(cls, entry: Any, index: int) -> "Canary":
        if not isinstance(entry, dict):
            raise BadInput(f"refill_canaries[{index}] must be a mapping, got {entry!r}")
        missing = [key for key in ("model", "date_column", "value_column") if not entry.get(key)]
        if missing:
            raise BadInput(f"refill_canaries[{index}] lacks {', '.join(missing)}")
        group_by = entry.get("group_by") or ()
        threshold = float(entry.get("threshold", 1.5))
        if threshold <= 1:
            raise BadInput(f"refill_canaries[{index}].threshold must be above 1, got {threshold}")
        return cls(
            model=str(entry["model"]),
            date_column=str(entry["date_column"]),
            value_column=str(entry["value_column"]),
            group_by=tuple([group_by] if isinstance(group_by, str) else group_by),
            where=entry.get("where"),
            threshold=threshold,
            zero_is_anomaly=bool(entry.get("zero_is_anomaly", False)),
        )

    def as_macro_args(self) -> dict:
        return {
            "model": self.model,
            "date_column": self.date_column,
            "value_column": self.value_column,
            "group_by": list(self.group_by),
            "where": self.where,
            "threshold": self.threshold,
            "zero_is_anomaly": self.zero_is_anomaly,
        }


@dataclass(frozen=True)
class Settings:
    prices_model: str
    tag: str
    date_column: str
    allow_insert_overwrite: bool
    canaries: tuple[Canary, ...] = field(default_factory=tuple)
    # the columns that tell one priced entity from another in the prices model (var
    # refill_price_entity); None: found from a canary on it, its unique_key, or its columns
    price_entity: tuple[str, ...] | None = None
    # models refill rebuilds whole (dbt run --full-refresh) instead of re-pulling a window
    # (var refill_full_refresh): the repair of a window that ignores price_lookback_days
    full_refresh: tuple[str, ...] = ()


def project_vars(project_dir: Path) -> dict[str, Any]:
    """The vars a root-project model sees: global keys plus those scoped to the project."""
    try:
        raw = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"cannot read {Path(project_dir) / 'dbt_project.yml'}: {exc}") from None
    declared = raw.get("vars") or {}
    name = raw.get("name")
    merged = {k: v for k, v in declared.items() if not (k == name and isinstance(v, dict))}
    if isinstance(declared.get(name), dict):
        merged.update(declared[name])
    return merged


def resolve_settings(project_dir: Path, *, prices_model: str | None = None, tag: str | None = None) -> Settings:
    found = project_vars(project_dir)
    canaries = found.get("refill_canaries") or []
    if not isinstance(canaries, list):
        raise BadInput("var refill_canaries must be a list of mappings")
    entity = found.get("refill_price_entity")
    if entity is not None and not (isinstance(entity, str) or
                                   (isinstance(entity, list) and all(isinstance(e, str) for e in entity))):
        raise BadInput(f"var refill_price_entity must be a column name or a list of them, got {entity!r}")
    full_refresh = found.get("refill_full_refresh") or []
    if isinstance(full_refresh, str):
        full_refresh = [full_refresh]
    if not (isinstance(full_refresh, list) and all(isinstance(m, str) for m in full_refresh)):
        raise BadInput(f"var refill_full_refresh must be a model name or a list of them, got {full_refresh!r}")
    return Settings(
        full_refresh=tuple(full_refresh),
        price_entity=None if entity is None else tuple([entity] if isinstance(entity, str) else entity),
        prices_model=prices_model or found.get("prices_model") or DEFAULT_PRICES_MODEL,
        tag=tag or found.get("refill_tag") or DEFAULT_TAG,
        date_column=found.get("refill_date_column") or DEFAULT_DATE_COLUMN,
        allow_insert_overwrite=bool(found.get("refill_allow_insert_overwrite", False)),
        canaries=tuple(Canary.from_var(entry, i) for i, entry in enumerate(canaries)),
    )
