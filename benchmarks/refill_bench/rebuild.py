"""What many operators do instead of refill: rebuild the prices model's whole lineage.

``dbt run --select <prices>+ --full-refresh`` in one dbt CLI process (``python -m refill dbt``,
dbt's own CLI on the embedded engine). It is correct — every model downstream of prices is
recomputed from the raw feeds — but it rewrites all history, however short the gap, so its
cost follows the history's length; refill's follows the months the gap touched.

It exists only to be measured against; nothing else should run it.
"""

from __future__ import annotations

import time
from typing import Sequence

from refill_bench.baseline import Operator
from refill_bench.flows import FlowOutcome, FlowSpec, PhaseClock, close_dbt_flow, flow_main


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
        close_dbt_flow(outcome, clock, op.calls)
    return outcome


def main(argv: Sequence[str]) -> int:
    return flow_main(run, argv)
