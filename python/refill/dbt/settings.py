"""Refill's project settings: flags first, then the dbt project's vars, then the seed's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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
    canaries_declared: bool = False  # the var exists (it may be an empty list)
    # the columns that tell one priced entity from another in the prices model (var
    # refill_price_entity); None: found from a canary on it, its unique_key, or its columns
    price_entity: tuple[str, ...] | None = None
    # models refill rebuilds whole (dbt run --full-refresh) instead of re-pulling a window
    # (var refill_full_refresh): the repair of a window that ignores price_lookback_days
    full_refresh: tuple[str, ...] = ()
    # days the prices feed normally runs behind (var refill_price_lag_days): the last ones of a
    # window are not "missing" while the feed is within its lag
    price_lag_days: int = 1


# The vars refill sets itself to steer the models (Phase 1's month, Phase 2/3's window). They
# are refill's alone: a value the user passes would also reach the invocations where refill
# leaves them unset on purpose (start_month in Phase 2 turns a delete+insert consumer into an
# append; incremental_end_date would cut its window short).
RUN_VARS = ("start_month", "end_month", "price_lookback_days", "incremental_end_date")


def parse_vars(text: str | None, flag: str = "--vars") -> dict[str, Any]:
    """``--vars`` as dbt reads it: a YAML (or JSON) mapping; None or blank is ``{}``.

    Raises BadInput (one line) for text that is not YAML or not a mapping.
    """
    if text is None or not text.strip():
        return {}
    from dbt.clients.yaml_helper import load_yaml_text
    from dbt_common.exceptions import DbtValidationError

    try:
        value = load_yaml_text(text)
    except DbtValidationError:
        try:  # dbt's message spans a dozen lines; yaml's own problem fits in one
            yaml.safe_load(text)
            problem = "rejected by dbt"
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise BadInput(f"{flag} is not valid YAML ({problem}): {text!r}") from None
    if not isinstance(value, dict):
        raise BadInput(f"{flag} must be a YAML mapping like '{{raw_schema: raw}}', got {text!r}")
    return value


OPT_IN_VAR = "refill_allow_insert_overwrite"
BANNED_STRATEGIES_VAR = "refill_banned_strategies"
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def read_project_file(project_dir: Path) -> dict[str, Any]:
    """dbt_project.yml as a mapping (BadInput if it is missing or not YAML)."""
    path = Path(project_dir) / "dbt_project.yml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise BadInput(f"{path} is not a mapping")
    return raw


def scoped_vars(raw: dict[str, Any]) -> dict[str, Any]:
    """The vars a root-project model sees: global keys, overlaid by those scoped to the
    project (`vars: {<project name>: {...}}`), as dbt resolves them."""
    declared = raw.get("vars") or {}
    name = raw.get("name")
    merged = {k: v for k, v in declared.items() if not (k == name and isinstance(v, dict))}
    if isinstance(declared.get(name), dict):
        merged.update(declared[name])
    return merged


def project_vars(project_dir: Path, cli_vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The vars a root-project model sees: global keys plus those scoped to the project,
    then the user's ``--vars`` (which win, as in dbt)."""
    return {**scoped_vars(read_project_file(project_dir)), **dict(cli_vars or {})}


def flag(found: dict[str, Any], name: str, default: bool = False) -> bool:
    """A yes/no var, one typing rule for every reader: YAML booleans, and the strings
    true/yes/on/1 and false/no/off/0 in any case (a quoted "false" is false). Anything
    else is bad input, not a guess."""
    value = found.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadInput(f"var {name} must be true or false, got {value!r}")


def name_list(found: dict[str, Any], name: str) -> tuple[str, ...]:
    """A list var that may also be written as one comma-separated string."""
    value = found.get(name)
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None:
        raise BadInput(f"var {name} must be a list, got {value!r}")
    return tuple(str(item).strip() for item in items if str(item).strip())


def resolve_settings(project_dir: Path, *, prices_model: str | None = None, tag: str | None = None,
                     cli_vars: Mapping[str, Any] | None = None) -> Settings:
    found = project_vars(project_dir, cli_vars)
    canaries = found.get("refill_canaries")
    declared = canaries is not None
    canaries = canaries if declared else []
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
    lag = found.get("refill_price_lag_days", 1)
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
        raise BadInput(f"var refill_price_lag_days must be a whole number of days >= 0, got {lag!r}")
    return Settings(
        price_lag_days=lag,
        full_refresh=tuple(full_refresh),
        price_entity=None if entity is None else tuple([entity] if isinstance(entity, str) else entity),
        prices_model=prices_model or found.get("prices_model") or DEFAULT_PRICES_MODEL,
        tag=tag or found.get("refill_tag") or DEFAULT_TAG,
        date_column=found.get("refill_date_column") or DEFAULT_DATE_COLUMN,
        allow_insert_overwrite=flag(found, OPT_IN_VAR),
        canaries=tuple(Canary.from_var(entry, i) for i, entry in enumerate(canaries)),
        canaries_declared=declared,
    )
