"""What many operators do instead of refill: rebuild the prices model's whole lineage.

``dbt run --select <prices>+ --full-refresh`` in one dbt CLI process (``python -m refill dbt``,
dbt's own CLI on the embedded engine). It is correct — every model downstream of prices is
recomputed from the raw feeds — but it rewrites all history, however short the gap, so its
cost follows the history's length; refill's follows the months the gap touched.

It exists only to be measured against; nothing else should run it.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Sequence

from refill_bench.baseline import Operator
from refill_bench.flows import RESULT_FILE, FlowOutcome, FlowSpec, PhaseClock


def run(spec: FlowSpec) -> FlowOutcome:
    op, clock = Operator(spec), PhaseClock()
    outcome = FlowOutcome(flow="rebuild", started=time.time(), ended=0)
    try:
        clock.start("rebuild")
        op.dbt("run", "--select", f"{spec.prices_model}+", "--full-refresh")
    except RuntimeError as exc:
        outcome.exit_code = 1
        outcome.notes.append(str(exc))
    finally:
        clock.stop()
        outcome.ended = time.time()
        outcome.phases = clock.spans
        outcome.dbt_invocations = len(op.calls)
        outcome.details["calls"] = op.calls
        outcome.peak_rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return outcome


def main(argv: Sequence[str]) -> int:
    spec = FlowSpec.load(Path(argv[0]))
    outcome = run(spec)
    outcome.save(spec.run_path / RESULT_FILE)
    return outcome.exit_code
