"""Generates the benchmark's dbt project: deterministic files from a ``ProjectShape``.

Shaped like the seed's warehouse: a prices view, a ``refill_append`` cohort in layers
(balances → supply/buckets → cohorts), a few hundred price consumers of mixed
materializations, ``fct_*`` tables over the cohort and ``api_*`` views on top. Cohort
models read only views and other cohort models, never a materialized descendant of
prices (Phase 1 would read it stale; refill refuses such a cohort by design).
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from refill_bench import templates as t
from refill_bench.config import ProjectShape

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "refill_bench"
TARGET = "bench"
TRUTH_TARGET = "truth"
SCHEMA = "bench"
TRUTH_SCHEMA = "bench_truth"
CANARY_MODEL = "int_execution_tokens_supply_holders_daily"

# The seed's cohort names, by (layer, slot); bigger cohorts get generic names.
COHORT_NAMES = {
    (1, 0): "int_execution_tokens_balances_daily",
    (1, 1): "int_execution_lending_aave_user_balances_daily",
    (1, 2): "int_execution_gpay_activity",
    (1, 3): "int_execution_pools_fees_daily",
    (2, 0): CANARY_MODEL,
    (2, 1): "int_execution_lending_aave_balance_cohorts_daily",
    (2, 2): "int_revenue_gpay_fees_daily",
    (2, 3): "int_revenue_sdai_fees_daily",
    (3, 0): "int_execution_tokens_balance_cohorts_daily",
    (3, 1): "int_execution_account_balance_history_daily",
    (3, 2): "int_revenue_holdings_fees_daily",
    (3, 3): "int_execution_tokens_balances_by_sector_daily",
}
DOMAINS = ("execution", "gpay", "lending", "pools", "revenue", "bridges", "dex", "staking")
NOUNS = ("volume", "payments", "flows", "fees", "transfers", "activity", "deposits", "swaps")
TOKENS_CSV = """token_address,symbol,is_gpay_token
0x9c58bacc331c9aa871afd802db6379a98e80cedb,GNO,0
0x6a023ccd1ff6f2045c3309768ead9e68f978f6e1,WETH,0
0xcb444e90d8198415266c6a2724b7900fb12fc56e,EURe,1
0xddafbb505ad214d7b80b1f830fccc89b60fb7a83,USDC,1
"""


@dataclass(frozen=True)
class Model:
    name: str
    folder: str
    sql: str
    materialized: str
    columns: t.Columns = t.FLOW


@dataclass(frozen=True)
class GeneratedProject:
    shape: ProjectShape
    models: tuple[Model, ...]

    def names(self, folder: str) -> list[str]:
        return [m.name for m in self.models if m.folder.startswith(folder)]

    @property
    def cohort(self) -> list[str]:
        return self.names("cohort")


def layer_sizes(size: int, layers: int) -> list[int]:
    base, extra = divmod(size, layers)
    return [base + (1 if i < extra else 0) for i in range(layers)]


def generate(shape: ProjectShape) -> GeneratedProject:
    rng = random.Random(shape.seed)
    cohort = _cohort(shape, rng)
    rest = shape.models - 2 - len(cohort)
    marts = max(1, round(rest * 0.06))
    consumers = _consumers(shape, rest - 2 * marts, rng)
    fcts = _fcts(marts, cohort, consumers)
    apis = _apis(marts, fcts, consumers)
    staging = [Model(t.PRICES_MODEL, "staging", t.prices_model(), "view"),
               Model(t.TRANSFERS_MODEL, "staging", t.transfers_model(), "view")]
    models = (*staging, *cohort, *consumers, *fcts, *apis)
    assert len(models) == shape.models, (len(models), shape.models)
    return GeneratedProject(shape, tuple(models))


# -- the cohort --------------------------------------------------------------------------


def _cohort(shape: ProjectShape, rng: random.Random) -> list[Model]:
    layers: list[list[Model]] = []
    for layer, size in enumerate(layer_sizes(shape.cohort_size, shape.cohort_layers), start=1):
        layers.append([_cohort_model(layer, slot, layers, rng) for slot in range(size)])
    return [m for layer in layers for m in layer]


def _cohort_model(layer: int, slot: int, above: list[list[Model]], rng: random.Random) -> Model:
    name = COHORT_NAMES.get((layer, slot), f"int_cohort_l{layer}_{slot:02d}_daily")
    domain = name.split("_")[1]
    if layer == 1 and slot == 0:
        return Model(name, "cohort", t.balances(domain), "incremental", t.BALANCE)
    if layer == 1 and slot == 1:
        return Model(name, "cohort", t.balances(domain, "cityHash64(address) % 2 = 0"), "incremental", t.BALANCE)
    if layer == 1:
        predicate, segment = _flow_filter(rng)
        return Model(name, "cohort", t.flows(domain, predicate, segment), "incremental", t.FLOW)
    balances = above[0][0]
    if layer == 2 and slot == 0:
        return Model(name, "cohort", t.supply_holders(domain, balances.name), "incremental", t.SUPPLY)
    if layer == 3 and slot == 0:
        supply = above[1][0]
        return Model(name, "cohort", t.balance_cohorts(domain, balances.name, supply.name), "incremental", t.BUCKETED)
    parent = above[-1][slot % len(above[-1])]
    return Model(name, "cohort", t.bucketed(domain, parent.name, parent.columns), "incremental", t.BUCKETED)


# -- consumers ---------------------------------------------------------------------------


def _flow_filter(rng: random.Random) -> tuple[str, str]:
    """A (predicate, segment) pair over ``tr`` = transfers: varied, deterministic."""
    m = rng.randint(2, 7)
    r = rng.randrange(m)
    low = rng.randint(1, 400)
    predicate = rng.choice([
        f"tr.amount % {m} = {r}",
        "startsWith(tr.to_address, '0x6a7e')",
        "NOT startsWith(tr.to_address, '0x6a7e')",
        f"tr.from_address = '{t.ZERO_ADDRESS}'",
        f"tr.amount BETWEEN {low} AND {low + 100}",
        f"cityHash64(tr.to_address) % {m} = {r}",
    ])
    segment = rng.choice([
        "'all'",
        "substring(tr.to_address, 1, 8)",
        "toString(tr.amount % 10)",
        "if(tr.amount > 250, 'large', 'small')",
        "if(tr.from_address = '" + t.ZERO_ADDRESS + "', 'mint', 'move')",
    ])
    return predicate, segment


def _consumers(shape: ProjectShape, count: int, rng: random.Random) -> list[Model]:
    """Price consumers and, when ``shape.priced_share`` < 1, models that never read prices.
    A rollup inherits its parent's side. With every consumer priced, the random draws are
    those of the first benchmarks' generator, so their projects are unchanged."""
    models: list[Model] = []
    priced: dict[str, bool] = {}
    mixed = shape.priced_share < 1
    for i in range(count):
        is_priced = not mixed or rng.random() < shape.priced_share
        weights = shape.priced_kinds if is_priced else shape.unpriced_kinds
        kind = rng.choices(("view", "incremental", "table"), weights=weights)[0]
        domain = rng.choice(DOMAINS)
        name = f"int_{domain}_{rng.choice(NOUNS)}_{i:04d}_daily"
        folder = f"consumers/{domain}"
        if i >= 5 and rng.random() < 0.3:
            candidates = [m for m in models if priced[m.name] == is_priced] if mixed else models
            parent = rng.choice(candidates or models)
            segment = rng.choice(["'all'", "left(src.segment, 4)", "src.segment"])
            sql = t.rollup(kind, domain, parent.name, segment)
            is_priced = priced[parent.name]
        else:
            predicate, segment = _flow_filter(rng)
            sql = (t.priced_transfers if is_priced else t.unpriced_transfers)(kind, domain, predicate, segment)
        if not is_priced:
            folder = f"counts/{domain}"
        priced[name] = is_priced
        models.append(Model(name, folder, sql, kind, t.FLOW))
    return models


# -- marts and API -----------------------------------------------------------------------


def _fcts(count: int, cohort: list[Model], consumers: list[Model]) -> list[Model]:
    models = []
    for j in range(count):
        source = cohort[j % len(cohort)]
        stem = source.name.removeprefix("int_").removesuffix("_daily")
        name = f"fct_{stem}_daily" if j < len(cohort) else f"fct_{stem}_{j:03d}_daily"
        consumer = consumers[(j * 7) % len(consumers)].name if consumers and j % 3 == 2 else None
        domain = source.name.split("_")[1]
        models.append(Model(name, "marts", t.fct(domain, source.name, source.columns, consumer), "table"))
    return models


def _apis(count: int, fcts: list[Model], consumers: list[Model]) -> list[Model]:
    models = []
    for j in range(count):
        if j % 2 == 0 or not consumers:
            source = fcts[(j // 2) % len(fcts)]
            sql = t.api(source.name, "value_usd")
        else:
            source = consumers[(j * 13) % len(consumers)]
            sql = t.api_over_consumer(source.name)
        stem = source.name.split("_", 1)[1].removesuffix("_daily")
        models.append(Model(f"api_{stem}_{j:03d}", "api", sql, "view"))
    return models


# -- files -------------------------------------------------------------------------------


def project_files(project: GeneratedProject, project_dir: Path, data_dir: Path, truth_dir: Path,
                  threads: int) -> dict[str, str]:
    """Every file of the project, by path relative to ``project_dir``."""
    files = {
        "dbt_project.yml": _dbt_project_yml(project),
        "packages.yml": yaml.safe_dump({"packages": [{"local": os.path.relpath(REPO_ROOT, project_dir)}]}),
        "profiles.yml": profiles_yml(data_dir, truth_dir, threads),
        "seeds/bench_tokens.csv": TOKENS_CSV,
        "models/sources.yml": _sources_yml(),
        "macros/operator_macros.sql": OPERATOR_MACROS,
    }
    for model in project.models:
        files[f"models/{model.folder}/{model.name}.sql"] = model.sql
    return files


def write_project(project: GeneratedProject, project_dir: Path, data_dir: Path, truth_dir: Path,
                  threads: int = 2) -> Path:
    """Write the project; files whose text is unchanged are left alone (dbt's partial parse
    keys on them). Model files of an earlier, different shape are removed."""
    project_dir = Path(project_dir).resolve()
    files = project_files(project, project_dir, Path(data_dir).resolve(), Path(truth_dir).resolve(), threads)
    for stale in (project_dir / "models").rglob("*.sql") if (project_dir / "models").exists() else ():
        if str(stale.relative_to(project_dir)) not in files:
            stale.unlink()
    for relative, text in files.items():
        path = project_dir / relative
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    link_package(project_dir)
    return project_dir


def link_package(project_dir: Path) -> None:
    """Point ``dbt_packages/refill`` at this checkout, as ``dbt deps`` links a local package.
    A cached incident outlives the checkout whose ``deps`` linked it; its flows must run
    this checkout's macros, not those of a checkout that moved on or is gone."""
    link = Path(project_dir) / "dbt_packages" / "refill"
    if not link.parent.exists() or (link.is_symlink() and link.resolve() == REPO_ROOT.resolve()):
        return  # no deps yet: the incident build's ``deps`` will link it
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(REPO_ROOT.resolve(), target_is_directory=True)


def _dbt_project_yml(project: GeneratedProject) -> str:
    config = {
        "name": PROJECT_NAME,
        "version": "1.0.0",
        "config-version": 2,
        "profile": PROJECT_NAME,
        "model-paths": ["models"],
        "macro-paths": ["macros"],
        "seed-paths": ["seeds"],
        "flags": {"send_anonymous_usage_stats": False},
        "vars": {
            "prices_model": t.PRICES_MODEL,
            "refill_tag": "refill_append",
            "refill_canaries": [canary_spec()] if CANARY_MODEL in project.cohort else [],
        },
        "seeds": {PROJECT_NAME: {"+column_types": {
            "token_address": "String", "symbol": "String", "is_gpay_token": "UInt8"}}},
        "models": {PROJECT_NAME: {"+materialized": "view"}},
    }
    header = f"# Generated by benchmarks/refill_bench/project.py for {project.shape}; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


def canary_spec() -> dict:
    """The seed's canary: supply in USD per token, adjacent days within 1.5x."""
    return {"model": CANARY_MODEL, "date_column": "date", "value_column": "supply_usd",
            "group_by": ["token_address"], "threshold": 1.5, "zero_is_anomaly": True}


def profiles_yml(data_dir: Path, truth_dir: Path, threads: int) -> str:
    """The incident's warehouse and the truth's, each in a data directory of its own."""
    def output(path: Path, schema: str) -> dict:
        return {"type": "clickhouse", "driver": "chdb", "chdb_path": str(path), "schema": schema,
                "threads": threads}

    return yaml.safe_dump({PROJECT_NAME: {"target": TARGET, "outputs": {
        TARGET: output(data_dir, SCHEMA), TRUTH_TARGET: output(truth_dir, TRUTH_SCHEMA)}}}, sort_keys=False)


def _sources_yml() -> str:
    return yaml.safe_dump({"version": 2, "sources": [{
        "name": "raw", "schema": "{{ target.schema }}_raw",
        "tables": [{"name": "prices"}, {"name": "transfers"}]}]}, sort_keys=False)


# The operator's macros, as the seed's project calls them (unprefixed). Each forwards to
# the refill package when the package has it; the stand-ins below them run the same
# statement until the package's maintenance/checks macros are merged.
OPERATOR_MACROS = """\
{#- Generated by benchmarks/refill_bench/project.py. -#}

{% macro optimize_partition_final(database, table_name, partition) %}
  {%- if refill.optimize_partition_final is defined -%}
    {{ return(refill.optimize_partition_final(database, table_name, partition)) }}
  {%- endif -%}
  {#- STAND-IN until refill.optimize_partition_final is on this branch: the seed's statement. -#}
  {% do run_query("OPTIMIZE TABLE `" ~ database ~ "`.`" ~ table_name ~ "` PARTITION '" ~ partition ~ "' FINAL DEDUPLICATE") %}
{% endmacro %}

{% macro canary_scan(model, date_column, value_column, group_by=[], where=none, threshold=1.5,
                     zero_is_anomaly=false, start_date=none, end_date=none) %}
  {%- if refill.canary_query is defined -%}
    {{ return(refill.canary_query(model=model, date_column=date_column, value_column=value_column,
        group_by=group_by, where=where, threshold=threshold, zero_is_anomaly=zero_is_anomaly,
        start_date=start_date, end_date=end_date)) }}
  {%- endif -%}
  {#- STAND-IN until refill.canary_query is on this branch: adjacent-day ratio per entity. -#}
  {%- set entity = "toString(tuple(" ~ (group_by | join(', ') or "'all'") ~ "))" -%}
  SELECT entity, day, previous, value, ratio
  FROM (
      SELECT
          entity, day, value,
          lagInFrame(value) OVER (PARTITION BY entity ORDER BY day ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS previous,
          row_number() OVER (PARTITION BY entity ORDER BY day) AS n,
          if(previous = 0, NULL, toFloat64(value) / toFloat64(previous)) AS ratio
      FROM (
          SELECT {{ entity }} AS entity, toDate({{ date_column }}) AS day, sum({{ value_column }}) AS value
          FROM {{ ref(model) }}
          WHERE day BETWEEN subtractDays(toStartOfMonth(toDate('{{ start_date }}')), 3) AND toDate('{{ end_date }}')
          {%- if where %} AND ({{ where }}){% endif %}
          GROUP BY entity, day
      )
  )
  WHERE n > 1 AND (ratio > {{ threshold }} OR ratio < {{ 1 / threshold }}
      {%- if zero_is_anomaly %} OR value = 0 OR previous = 0{% endif %})
  ORDER BY entity, day
{% endmacro %}
"""
