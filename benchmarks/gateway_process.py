"""A command measured from outside, and the gateway's end-to-end run as a fresh process.

`measured` runs a command under a fresh wrapper process that reports the command's wall time and
peak resident memory (`resource.getrusage(RUSAGE_CHILDREN)` of the wrapper: its only child is the
command, so the figure is that process's own). `gateway_run_once` sets up a fresh site (its own
SQLite store, migrated, one partner with folder mailboxes, as `bench_pipeline.py` does), drops a
file in the partner's inbox and measures `gateway run --once` taking it in; it then checks that
the store holds every order with its history and that the 997 was delivered.

Bytecode: this machine sets PYTHONDONTWRITEBYTECODE, under which every start compiles every
module it imports; `cached_bytecode_env` gives the processes a bytecode cache of their own
(`PYTHONPYCACHEPREFIX`), filled by an untimed warm-up run, as an installed program runs.

Used by `bench_bots.py` and `bench_growth.py`; not a benchmark by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_pipeline import PROFILE

ROOT = Path(__file__).resolve().parents[1]

WRAPPER = """
import json, resource, subprocess, sys, time
out, err = open(sys.argv[1], "wb"), open(sys.argv[2], "wb")
start = time.perf_counter()
code = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kb": peak, "returncode": code}))
"""


@dataclass(frozen=True)
class Measure:
    """Wall time and peak resident memory of one process, and what it wrote."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: Path
    stderr: Path


def cached_bytecode_env(cache: Path) -> dict[str, str]:
    """This process's environment, with bytecode written to and read from `cache`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def measured(
    command: list[str], folder: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measure:
    """Run `command` under a fresh wrapper process; its output goes to files in `folder`."""
    stdout, stderr = folder / "measured.out", folder / "measured.err"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(stdout), str(stderr), *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    figures = json.loads(done.stdout)
    return Measure(
        figures["seconds"], figures["peak_kb"] / 1024, figures["returncode"], stdout, stderr
    )


def acknowledged_sets(folder: Path) -> tuple[int, list[list[str]]]:
    """The AK2 segments counted in the X12 files in `folder`, and their AK9 segments' elements."""
    ak2 = 0
    ak9: list[list[str]] = []
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="latin-1")
        if not text.startswith("ISA") or len(text) < 106:
            continue
        separator, terminator = text[3], text[105]
        for segment in text.split(terminator):
            elements = segment.strip().split(separator)
            if elements[0] == "AK2":
                ak2 += 1
            elif elements[0] == "AK9":
                ak9.append(elements)
    return ak2, ak9


def accepts_all(ak9: list[list[str]], sets: int) -> bool:
    """Whether the AK9s accept every group, `sets` sets in all."""
    return bool(ak9) and all(e[1] == "A" for e in ak9) and sum(int(e[4]) for e in ak9) == sets


def gateway_run_once(
    path: Path, folder: Path, orders: int, env: dict[str, str] | None = None
) -> Measure:
    """Measure a fresh `gateway run --once` taking `path` in on a fresh site under `folder`.

    Fails loudly unless the store ends with `orders` orders, each with its history, and the
    partner's outbox with a 997 accepting `orders` sets."""
    (folder / "config" / "partners").mkdir(parents=True)
    (folder / "config" / "gateway.toml").write_text('[gateway]\ndata_dir = "../data"\n')
    (folder / "config" / "partners" / "bench.toml").write_text(PROFILE)
    inbox = folder / "mailboxes" / "bench" / "in"
    inbox.mkdir(parents=True)
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "--config",
               str(folder / "config" / "gateway.toml")]  # fmt: skip
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}
    subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, env=env)
    shutil.copy(path, inbox / path.name)
    run = measured([*command, "run", "--once"], folder, env=env)
    if run.returncode != 0:
        raise SystemExit(
            f"gateway run --once exited {run.returncode}: {run.stderr.read_text()[-2000:]}"
        )
    with sqlite3.connect(folder / "data" / "gateway.db") as store:
        (stored,) = store.execute("SELECT count(*) FROM orders").fetchone()
        (with_history,) = store.execute(
            "SELECT count(DISTINCT order_id) FROM order_events"
        ).fetchone()
    if stored != orders or with_history != orders:
        raise SystemExit(
            f"the gateway stored {stored} orders ({with_history} with history), not {orders}"
        )
    ak2, ak9 = acknowledged_sets(folder / "mailboxes" / "bench" / "out")
    if ak2 != orders or not accepts_all(ak9, orders):
        raise SystemExit(f"the gateway's 997 acknowledges {ak2} sets ({ak9}), not {orders}")
    return run
