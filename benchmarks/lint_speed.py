"""How fast is `refill lint` (files mode) on a large project? Generates one and times it.

    python benchmarks/lint_speed.py                 # ~1,050 models, 1 in 20 in the cohort
    python benchmarks/lint_speed.py --models 3000 --runs 5
    python benchmarks/lint_speed.py --project ../dbt-cerebro   # time a real project instead

The generated project looks like a production dbt project: staging views over sources,
incremental intermediates with the lookback macro, Jinja loops and helper macros, marts,
api views, and a refill cohort written in the spellings the contract accepts. Every run
is a fresh `python -m refill lint` process (imports included), as pre-commit runs it.
The project lints clean, so the timing covers the full evaluation of every cohort model.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 2.0

PROJECT_YML = """\
name: bench
version: "1.0.0"
config-version: 2
profile: bench
model-paths: ["models"]
macro-paths: ["macros"]
vars:
  refill_tag: refill_append
  refill_allow_insert_overwrite: true
  chains: ["gnosis", "ethereum", "base"]
models:
  bench:
    +materialized: view
    staging:
      +tags: ["staging"]
    intermediate:
      +materialized: incremental
      +incremental_strategy: delete+insert
      +engine: "ReplacingMergeTree()"
    cohort:
      +tags: ["refill_append"]
      +materialized: incremental
    marts:
      +materialized: table
"""

SHIMS = """\
{% macro refill_safe_pre_hook() %}{{ return(refill.refill_safe_pre_hook()) }}{% endmacro %}
{% macro refill_safe_post_hook() %}{{ return(refill.refill_safe_post_hook()) }}{% endmacro %}
{% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, lookback_days=1) %}
  {{- return(refill.apply_monthly_incremental_filter(source_field, destination_field, add_and, lookback_days)) -}}
{% endmacro %}
"""

HELPERS = """\
{% macro cohort_strategy() %}
  {{ return('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert') }}
{% endmacro %}
{% macro safe_divide_{n}(numerator, denominator) %}
  if({{ denominator }} = 0, NULL, {{ numerator }} / {{ denominator }})
{% endmacro %}
{% macro usd_{n}(amount, price) %}{{ amount }} * coalesce({{ price }}, 0){% endmacro %}
{% macro chain_filter_{n}(column) %}
  {{ column }} IN ({% for chain in var('chains') %}'{{ chain }}'{{ ', ' if not loop.last }}{% endfor %})
{% endmacro %}
"""

STAGING = """\
{{{{ config(tags=['source_{n}']) }}}}
{{#- Raw transfers for feed {n}, typed and renamed. -#}}
SELECT
    toDate(block_timestamp) AS block_date,
    lower(token_address) AS token_address,
    lower(from_address) AS from_address,
    lower(to_address) AS to_address,
    toDecimal128(value, 18) / pow(10, 18) AS amount,
    chain
FROM {{{{ source('raw', 'transfers_{n}') }}}}
WHERE {{{{ chain_filter_{h}('chain') }}}}
"""

INTERMEDIATE = """\
{{{{ config(
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address)',
    tags=['production', 'execution'],
) }}}}
{{% set metrics = ['amount', 'fees', 'gas'] %}}

SELECT
    s.block_date AS date,
    s.token_address AS token_address,
    {{% for metric in metrics %}}
    sum(s.{{{{ metric if metric == 'amount' else 'amount' }}}}) AS {{{{ metric }}}}_total,
    {{{{ usd_{h}('sum(s.amount)', 'any(p.price)') }}}} AS {{{{ metric }}}}_usd,
    {{% endfor %}}
    {{{{ safe_divide_{h}('sum(s.amount)', 'count()') }}}} AS avg_amount,
    count() AS transfers
FROM {{{{ ref('stg_transfers_{u}') }}}} AS s
LEFT JOIN {{{{ ref('stg_prices') }}}} AS p
    ON p.token_address = s.token_address AND p.date = s.block_date
WHERE 1 = 1
{{% if is_incremental() %}}
    {{{{ refill.apply_monthly_incremental_filter('s.block_date', 'date', true) }}}}
{{% endif %}}
GROUP BY date, token_address
"""

MART = """\
{{{{ config(engine='MergeTree()', order_by='(date)', tags=['production', 'marts']) }}}}
SELECT date, sum(amount_total) AS amount, sum(amount_usd) AS amount_usd, sum(transfers) AS transfers
FROM {{{{ ref('int_transfers_{u}') }}}}
GROUP BY date
"""

API = """\
SELECT date, amount_usd AS value, 'transfers_{n}' AS label
FROM {{{{ ref('fct_transfers_{u}') }}}}
"""

# The cohort, in the spellings the contract accepts (all of them lint clean).
COHORT_STRATEGIES = [
    "incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert')",
    "incremental_strategy=cohort_strategy()",
    "incremental_strategy=('append' if var('start_month', none) else ('append' if var('incremental_end_date', none) else 'delete+insert'))",
]
COHORT = """\
{{#- Heavy aggregate {n}: refilled by month (tag from dbt_project.yml). -#}}
{{{{ config(
    {strategy},
    engine='ReplacingMergeTree()',
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address)',
    pre_hook={prefix}refill_safe_pre_hook(),
    post_hook={prefix}refill_safe_post_hook(),
) }}}}
{{% set start_month = var('start_month', none) %}}
{{% set end_month = var('end_month', none) %}}

WITH daily AS (
    SELECT
        date,
        token_address,
        sum(amount_total) AS amount,
        sum(amount_usd) AS amount_usd,
        sum(transfers) AS transfers
    FROM {{{{ ref('int_transfers_{u}') }}}}
    WHERE 1 = 1
    {{% if start_month and end_month %}}
        AND toStartOfMonth(date) >= toDate('{{{{ start_month }}}}')
        AND toStartOfMonth(date) <= toDate('{{{{ end_month }}}}')
    {{% else %}}
        {{{{ {prefix}apply_monthly_incremental_filter('date', 'date', true) }}}}
    {{% endif %}}
    GROUP BY date, token_address
)

SELECT
    date,
    token_address,
    amount,
    amount_usd,
    transfers,
    sum(amount) OVER (PARTITION BY token_address ORDER BY date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS amount_7d
FROM daily
"""


def generate(root: Path, models: int = 1000, cohort_every: int = 20, macro_files: int = 20) -> dict[str, int]:
    """Writes a project of about `models` models; returns how many of each kind."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(PROJECT_YML)
    macros = root / "macros"
    macros.mkdir(exist_ok=True)
    (macros / "refill_shims.sql").write_text(SHIMS)
    for n in range(macro_files):
        (macros / f"helpers_{n}.sql").write_text(
            HELPERS.replace("{n}", str(n)).replace("{% macro cohort_strategy", "{% macro cohort_strategy" if n == 0 else f"{{% macro unused_strategy_{n}"))
    counts = {"staging": 0, "intermediate": 0, "cohort": 0, "marts": 0, "api": 0}
    groups = max(1, models // 4)  # four models per group, plus the cohort
    for n in range(groups):
        h = n % macro_files
        _write(root / "models" / "staging" / f"stg_transfers_{n}.sql", STAGING.format(n=n, h=h))
        _write(root / "models" / "intermediate" / f"int_transfers_{n}.sql", INTERMEDIATE.format(u=n, h=h))
        _write(root / "models" / "marts" / f"fct_transfers_{n}.sql", MART.format(u=n))
        _write(root / "models" / "api" / f"api_transfers_{n}.sql", API.format(n=n, u=n))
        counts["staging"] += 1
        counts["intermediate"] += 1
        counts["marts"] += 1
        counts["api"] += 1
        if n % max(1, cohort_every // 4) == 0:
            cohort = COHORT.format(
                n=n, u=n, strategy=COHORT_STRATEGIES[n % len(COHORT_STRATEGIES)],
                prefix="refill." if n % 2 else "",
            )
            _write(root / "models" / "cohort" / f"int_cohort_{n}.sql", cohort)
            counts["cohort"] += 1
    _write(root / "models" / "staging" / "stg_prices.sql", "SELECT date, token_address, price FROM {{ source('raw', 'prices') }}\n")
    counts["staging"] += 1
    counts["total"] = sum(counts.values())
    return counts


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def time_lint(project: Path, runs: int, jobs: int | None = None,
              accept: tuple[int, ...] = (0,)) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system, workers included) of each fresh run.

    On a shared machine the wall clock also measures the neighbours; CPU time does not.
    """
    command = [sys.executable, "-m", "refill", "lint", "--project-dir", str(project)]
    if jobs:
        command += ["--jobs", str(jobs)]
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in accept:
            raise SystemExit(f"lint failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--cohort-every", type=int, default=20, help="one cohort model per this many models")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None, help="passed to refill lint (default: its own)")
    parser.add_argument("--keep", type=Path, default=None, help="generate here and keep it")
    parser.add_argument("--project", type=Path, default=None,
                        help="time the lint of this existing dbt project (its findings may exit 5)")
    args = parser.parse_args(argv)
    if args.project is not None:
        models = sum(1 for _ in args.project.rglob("models/**/*.sql"))
        wall, cpu = time_lint(args.project, args.runs, args.jobs, accept=(0, 5))
        print(f"{args.project}: {models} model files; wall best {min(wall):.2f}s, "
              f"median {statistics.median(wall):.2f}s; CPU best {min(cpu):.2f}s; target < {TARGET_SECONDS:.1f}s wall")
        return 0 if min(wall) < TARGET_SECONDS else 1
    with tempfile.TemporaryDirectory(prefix="refill-lint-bench-") as scratch:
        project = args.keep or Path(scratch) / "bench"
        counts = generate(project, args.models, args.cohort_every)
        wall, cpu = time_lint(project, args.runs, args.jobs)
    print(f"models: {counts['total']} ({counts['cohort']} in the refill cohort)")
    print(f"refill lint (files mode, fresh process, {len(wall)} runs): wall best {min(wall):.2f}s, "
          f"median {statistics.median(wall):.2f}s; CPU best {min(cpu):.2f}s, median {statistics.median(cpu):.2f}s; "
          f"target < {TARGET_SECONDS:.1f}s wall")
    return 0 if min(wall) < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
