"""Benchmark: refill against the seed's flow, side by side (README, "Benchmarks").

    python benchmarks/run.py            # everything: headline x3 + scaling series
    python benchmarks/run.py --quick    # the headline once
    python benchmarks/run.py --smoke    # a tiny project, what CI runs
"""

import sys

from refill_bench.cli import main  # benchmarks/ is on sys.path: it is this script's directory

if __name__ == "__main__":
    sys.exit(main())
