"""Throughput with the file's size: the gateway end to end on files of 5,000, 20,000 and 50,000
850s of 20 lines (10.5, 42 and 105 MB), each taken in by a fresh `gateway run --once` on a fresh
SQLite site with one folder partner (`gateway_process.gateway_run_once`, as in `bench_pipeline.py`:
the 997 delivered, every order stored with its history, both checked), measured from outside:
wall time and peak resident memory.

Reported per size: orders/s, seconds, peak MB and the machine's load averages just before the run
(the machine is shared: a busy minute shows there); then the ratio of the orders/s of the largest
size to that of the smallest (target: at least 0.90, the same throughput within 10% whatever the
file's size). Files go to `benchmarks/data/` (ignored by git) and are reused when present. With
`--rounds N` the sizes are run in interleaved rounds (5,000, 20,000, 50,000, 5,000, ...) and the
best of each is kept.

Run: `.venv/bin/python benchmarks/bench_growth.py [--sizes 5000,20000,50000] [--lines 20]
[--rounds 1]`; a quick try: `--sizes 500,2000`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway_process import cached_bytecode_env, gateway_run_once  # noqa: E402
from benchmarks.generate import write  # noqa: E402

DATA = ROOT / "benchmarks" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,50000", help="orders per file, by commas")
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    files = {size: write(DATA / f"po-{size}x{args.lines}.x12", size, args.lines) for size in sizes}
    runs: dict[int, list[dict[str, object]]] = {size: [] for size in sizes}
    best: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = cached_bytecode_env(Path(cache))
        warm_up = write(DATA / f"po-20x{args.lines}.x12", 20, args.lines)
        with tempfile.TemporaryDirectory() as temporary:
            gateway_run_once(warm_up, Path(temporary), 20, env)
        for _ in range(args.rounds):
            for size in sizes:
                load = os.getloadavg()
                with tempfile.TemporaryDirectory() as temporary:
                    run = gateway_run_once(files[size], Path(temporary), size, env)
                figures: dict[str, object] = {
                    "orders": size,
                    "file_mb": round(files[size].stat().st_size / 1e6, 1),
                    "load_before": [round(x, 2) for x in load],
                    "seconds": round(run.seconds, 2),
                    "orders_per_second": round(size / run.seconds),
                    "peak_mb": round(run.peak_mb, 1),
                }
                runs[size].append(figures)
                best[size] = max(best.get(size, 0.0), size / run.seconds)
                print(json.dumps(figures), file=sys.stderr, flush=True)
    smallest, largest = min(sizes), max(sizes)
    ratio = best[largest] / best[smallest]
    summary = {
        "lines": args.lines,
        "runs": runs,
        "best_orders_per_second": {size: round(best[size]) for size in sizes},
        f"ratio_{largest}_to_{smallest}": round(ratio, 3),
        "target_met": ratio >= 0.90,
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
