"""``refill demo``: the seed's 2026-04-17 incident replayed on the embedded engine."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from refill.lab import LAB_PROJECT_DIR
from refill.lab.diff import format_diff
from refill.lab.simulator import Lab

SEED_GAP = dt.date(2026, 4, 17)
SEED_TODAY = dt.date(2026, 4, 27)


def run_demo(work_dir: Path | None = None, scale: int = 1) -> int:
    work = Path(work_dir or LAB_PROJECT_DIR / ".refill" / "demo").resolve()
    shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    with Lab(work, scale=scale) as lab:
        _banner(f"1. The incident: prices skip {SEED_GAP}, daily runs continue until {SEED_TODAY}, then the feed is backfilled")
        lab.replay_incident([SEED_GAP], SEED_TODAY)
        print(f"warehouse: {lab.data_dir} (schema {lab.schema})")
        _banner("2. The damage (the seed's Step 3 queries)")
        _print_damage(lab)
        _banner("3. Ground truth: the same project built from scratch with complete prices")
        lab.build_truth(SEED_TODAY)
        print(format_diff(lab.diff(), left="incident", right="truth"))
    print(f"\ndone in {time.monotonic() - started:.0f}s")
    return 0


def _print_damage(lab: Lab) -> None:
    print("int_execution_tokens_balances_daily")
    print(f"  {'day':<10}  {'rows':>6}  {'zero_usd':>8}")
    for row in lab.damage(SEED_GAP - dt.timedelta(days=2), SEED_GAP + dt.timedelta(days=2)):
        print(f"  {row.day.isoformat():<10}  {row.rows:>6}  {row.zero_usd:>8}")
    print(f"api_execution_gpay_volume_payments_by_token_daily on {SEED_GAP}")
    for label, value in lab.gpay_api_on(SEED_GAP):
        print(f"  {label:<6}  {value}")


def _banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)
