"""`python -m tests.soak --minutes M --seed S [--scale N] [--json OUT]`: see the package."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.soak.compare import join
from tests.soak.run import FAULT_KINDS, describe, run_soak
from tests.soak.servers import ServersUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the day lasts")
    parser.add_argument("--seed", type=int, default=1, help="draws the traffic and the faults")
    parser.add_argument("--scale", type=float, default=1.0, help="1: 600 purchase orders")
    parser.add_argument("--faults", type=int, default=None, help="how many (default: 1 per 12 s)")
    parser.add_argument(
        "--skip-fault",
        action="append",
        default=[],
        choices=FAULT_KINDS,
        help="leave this kind of fault out (repeat for several)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs, sites)")
    parser.add_argument(
        "--action-processes",
        action="store_true",
        help="run each operator action as a process of its own (slower: 1 s of start-up each)",
    )
    options = parser.parse_args(argv)
    if options.minutes <= 0 or options.scale <= 0:
        parser.error("--minutes and --scale must be above 0")
    try:
        result = run_soak(
            options.minutes,
            options.seed,
            options.scale,
            workdir=options.keep,
            faults=options.faults,
            fault_kinds=[kind for kind in FAULT_KINDS if kind not in options.skip_fault],
            action_processes=options.action_processes,
        )
    except ServersUnavailable as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    print(describe(result.figures))
    if options.json:
        options.json.write_text(json.dumps(result.figures, indent=2) + "\n")
    if result.differences:
        print(f"\n{len(result.differences)} difference(s):\n{join(result.differences)}")
        return 1
    print("\nthe sites agree: nothing lost, nothing applied twice, nothing sent twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
