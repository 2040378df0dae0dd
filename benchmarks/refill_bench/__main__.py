"""Child processes of the harness: ``python -m refill_bench <command> <files…>``.

Each heavy step runs in a fresh process, so every flow starts cold, its peak RSS is its
own, and the harness itself never holds a chDB data directory.
"""

from __future__ import annotations

import sys

from refill_bench import baseline, correctness, incident, plan_speed, rebuild, refill_flow

COMMANDS = {
    "incident": incident.main_incident,
    "truth": incident.main_truth,
    "baseline": baseline.main,
    "refill": refill_flow.main,
    "rebuild": rebuild.main,
    "plan-speed": plan_speed.main,
    "correctness": correctness.main,
}

if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["?"]
    if command not in COMMANDS:
        sys.exit(f"usage: python -m refill_bench {{{'|'.join(COMMANDS)}}} FILE…")
    sys.exit(COMMANDS[command](rest))
