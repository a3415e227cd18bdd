"""An order's stored state: `state.dump` (the order to JSON-ready data) and `state.restore`
(back), for an order of 20 lines with a fulfilment and an invoice, timed as ratios to
`json.loads(json.dumps(...))` of the same data in the same process (the machine is shared and
noisy: the ratio is what compares across runs). Every order the gateway reads back goes through
`restore` (an order's page, the API, each set about an order held, the look for late documents,
which reads every open order).

Run: `.venv/bin/python benchmarks/bench_state.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.adapters.state import dump, restore  # noqa: E402
from gateway.domain.model import Order  # noqa: E402
from tests.unit.domain import builders as b  # noqa: E402


def order() -> Order:
    made = b.new_order(*((str(n), Decimal(n)) for n in range(1, 21)))
    made.handle(b.fulfil("F1", ("1", 1), ("2", 2)))
    made.events.clear()
    made.history.clear()
    return made


def best(function: object, rounds: int, count: int = 200) -> float:
    """The best time of `rounds` rounds of `count` calls, per call, in seconds."""
    found = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            function()  # type: ignore[operator]
        found.append((time.perf_counter() - start) / count)
    return min(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    value = order()
    stored = json.loads(json.dumps(dump(value)))
    assert restore(Order, stored) == value
    text = json.dumps(stored)
    baseline = best(lambda: json.loads(text), rounds)
    dumped = best(lambda: dump(value), rounds)
    restored = best(lambda: restore(Order, stored), rounds)
    print(
        json.dumps(
            {
                "lines": len(value.lines),
                "json_loads_ms": round(baseline * 1e3, 4),
                "dump_ms": round(dumped * 1e3, 4),
                "restore_ms": round(restored * 1e3, 4),
                "dump_ratio": round(dumped / baseline, 1),
                "restore_ratio": round(restored / baseline, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
