"""Start-up benchmark: the whole-process wall time of the commands that need no store.

`gateway --help` and `gateway check FILE` should cost little more than starting Python and
importing the codec's package: the command line imports the store, the services, the mail
templates, SSH and rich only inside the commands that use them. Each case is a fresh process
(`python -c "from gateway.cli import main; main()" ...`, what the console script runs), timed
from spawn to exit; the cases run in interleaved rounds and the best time of each is kept. The
figures that matter are the ratios to `python -c "import gateway.x12"` taken in the same rounds
(target: at most 1.5x); importing the package imports the codec (the reader, acknowledgements and
serializer `check` and `ack-file` run). Two floors are shown beside them, to tell the command
line's own cost from what it cannot do without: `import_codec` (those three modules named one by
one) and `import_click` (click alone).

Run: `.venv/bin/python benchmarks/bench_startup.py [--rounds N]`; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "850" / "850_004010_good.x12"
GATEWAY = "from gateway.cli import main; main()"

CASES: dict[str, list[str]] = {
    "import": ["-c", "import gateway.x12"],
    "import_codec": ["-c", "import gateway.x12.reader, gateway.x12.ack, gateway.x12.serializer"],
    "import_click": ["-c", "import click"],
    "help": ["-c", GATEWAY, "--help"],
    "check": ["-c", GATEWAY, "check", str(SAMPLE)],
}


def environment(cache: Path) -> dict[str, str]:
    """The processes' environment: the project on the path, and bytecode cached (in `cache`,
    outside the work tree) as an installed gateway has it, whatever PYTHONDONTWRITEBYTECODE
    says here: without it every start would compile every module it imports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def wall_time(arguments: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `python ARGUMENTS` to its exit (which must be 0)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def measure(rounds: int) -> dict[str, float]:
    """The best wall time of each case over `rounds` interleaved rounds, after a warm-up round
    that fills the bytecode cache."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
        env = environment(Path(cache))
        for arguments in CASES.values():
            wall_time(arguments, env)
        best = dict.fromkeys(CASES, float("inf"))
        for _ in range(rounds):
            for name, arguments in CASES.items():
                best[name] = min(best[name], wall_time(arguments, env))
    return best


def main() -> None:
    """Measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    best = measure(rounds)
    base = best["import"]
    print(
        json.dumps(
            {
                "rounds": rounds,
                "seconds": {name: round(value, 4) for name, value in best.items()},
                "check/import": round(best["check"] / base, 2),
                "help/import": round(best["help"] / base, 2),
                "check/import_codec": round(best["check"] / best["import_codec"], 2),
                "help/import_codec": round(best["help"] / best["import_codec"], 2),
                "import_click/import": round(best["import_click"] / base, 2),
                "target": "check/import and help/import <= 1.5",
            },
            indent=2,
        )
    )
    for name in ("check", "help"):
        ratio = best[name] / base
        print(f"{'met' if ratio <= 1.5 else 'NOT met'}: {name} <= 1.5x `import gateway.x12`")


if __name__ == "__main__":
    main()
