"""``refill demo``: the seed's 2026-04-17 incident replayed on the embedded engine."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from refill import render
from refill.errors import ExitCode
from refill.lab import LAB_PROJECT_DIR
from refill.lab.simulator import Lab
from refill.run.orchestrator import RunOptions, run_refill
from refill.run.plan import make_window

SEED_GAP = dt.date(2026, 4, 17)
SEED_TODAY = dt.date(2026, 4, 27)


def run_demo(work_dir: Path | None = None, scale: int = 1, incident_only: bool = False) -> int:
    work = Path(work_dir or LAB_PROJECT_DIR / ".refill" / "demo").resolve()
    shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    with Lab(work, scale=scale) as lab:
        _banner(f"1. The incident: prices skip {SEED_GAP}, daily runs continue until {SEED_TODAY}, then the feed is backfilled")
        lab.replay_incident([SEED_GAP], SEED_TODAY)
        render.emit(f"warehouse: {lab.data_dir} (schema {lab.schema})")
        _banner("2. The damage (the seed's Step 3 queries)")
        _print_damage(lab)
        _banner("3. Ground truth: the same project built from scratch with complete prices")
        lab.build_truth(SEED_TODAY)
        before = lab.diff()
        render.emit(render.diff_table(before, left="incident", right="truth"))
        if incident_only:
            _print_rehearsal(lab.data_dir)
            return 0
        _banner(f"4. The recovery: python -m refill run --from-date {SEED_GAP} --today {SEED_TODAY}")
        exit_code = run_refill(RunOptions(
            window=make_window(from_date=SEED_GAP, today=SEED_TODAY),
            project_dir=lab.project_dir,
            profiles_dir=lab.profiles_dir,
            target="lab",
            artifacts_dir=work / "refill",
            state_dir=work / "state",
            command=f"python -m refill run --from-date {SEED_GAP} --today {SEED_TODAY}",
        ))
        _banner("5. After the refill (the seed's Step 3 queries)")
        _print_damage(lab)
        _banner("6. Proof: every model equals the from-scratch build")
        after = lab.diff()
        render.emit(render.diff_table(after, left="refilled", right="truth"))
        differing = sum(d.differing for d in after)
    render.emit(render.demo_verdict(differing, sum(d.differing for d in before), time.monotonic() - started))
    return exit_code if differing == 0 else ExitCode.CHECK_FAILED


def _print_rehearsal(data_dir: Path) -> None:
    """How to point the lab's own profile at this warehouse (its chdb_path reads REFILL_LAB_DATA)."""
    try:
        location = data_dir.relative_to(LAB_PROJECT_DIR)
    except ValueError:
        location = data_dir
    _banner("Stopped before the recovery: the incident is waiting in the warehouse")
    render.emit(render.rehearsal(LAB_PROJECT_DIR, location))


def _print_damage(lab: Lab) -> None:
    rows = lab.damage(SEED_GAP - dt.timedelta(days=2), SEED_GAP + dt.timedelta(days=2))
    render.emit(render.damage_table(rows, SEED_GAP, lab.gpay_api_on(SEED_GAP)))


def _banner(text: str) -> None:
    render.emit(render.banner(text))
