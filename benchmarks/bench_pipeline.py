"""End-to-end benchmark: a large file dropped in a partner's folder mailbox, taken in by one pass
of the gateway (`Runner.run_once`: pick-up, archive, validation, 997, mapping, orders applied and
stored in SQLite, 997 delivered), timed as a ratio to the codec-only validation of the same file
in the same process (the machine is shared and noisy: the ratio is what compares across runs).

- orders/s: purchase orders (20 lines each) taken in end to end per second; target 2,500;
- ratio: end-to-end time / codec full validation time of the same file;
- memory (--memory): peak resident memory of a fresh `gateway run --once` process taking in the
  100 MB file (50,000 orders), target under 200 MB.

Run: `.venv/bin/python benchmarks/bench_pipeline.py [--orders N] [--memory]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import write  # noqa: E402
from gateway.bootstrap import bootstrap  # noqa: E402
from gateway.config import FolderTransport, GatewayConfig, Identity, PartnerProfile  # noqa: E402
from gateway.x12.reader import CHUNK_SIZE, Reader  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
PROFILE = """
role = "buyer"
[identity]
isa_id = "BUYERBENCH"
[us]
isa_id = "SELLERBENCH"
[transport]
type = "folder"
inbox = "../../mailboxes/bench/in"
outbox = "../../mailboxes/bench/out"
settle_seconds = 0
"""


def codec(data: bytes) -> float:
    start = time.perf_counter()
    reader = Reader()
    for offset in range(0, len(data), CHUNK_SIZE):
        reader.feed(data[offset : offset + CHUNK_SIZE])
    report = reader.close()
    assert report.accepted, report.first_issue()
    return time.perf_counter() - start


def end_to_end(path: Path, folder: Path) -> tuple[float, int]:
    """Seconds to take the file in, and the orders created."""
    inbox = folder / "mailboxes" / "bench" / "in"
    inbox.mkdir(parents=True)
    profile = PartnerProfile(
        key="bench",
        name="bench",
        role="buyer",
        identity=Identity("ZZ", "BUYERBENCH", "BUYERBENCH"),
        us=Identity("ZZ", "SELLERBENCH", "SELLERBENCH"),
        transport=FolderTransport(inbox, folder / "mailboxes" / "bench" / "out", 0),
    )
    gateway = bootstrap(GatewayConfig(data_dir=folder / "data", partners=(profile,)))
    gateway.upgrade_database()
    try:
        shutil.copy(path, inbox / path.name)
        start = time.perf_counter()
        summary = gateway.runner().run_once()
        elapsed = time.perf_counter() - start
        (taken,) = summary.files
        assert taken.status == "applied", taken.reasons
        assert [d.status for d in summary.deliveries] == ["sent"]
        created = sum(1 for s in taken.result.sets if s.action == "created")  # type: ignore[union-attr]
        return elapsed, created
    finally:
        gateway.close()


def peak_memory_of_run(path: Path) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a fresh `gateway run --once` taking the file in."""
    with tempfile.TemporaryDirectory() as temporary:
        site = Path(temporary)
        (site / "config" / "partners").mkdir(parents=True)
        (site / "config" / "gateway.toml").write_text('[gateway]\ndata_dir = "../data"\n')
        (site / "config" / "partners" / "bench.toml").write_text(PROFILE)
        (site / "mailboxes" / "bench" / "in").mkdir(parents=True)
        command = [sys.executable, "-c", "from gateway.cli import main; main()", "--config",
                   str(site / "config" / "gateway.toml")]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, env=env)
        shutil.copy(path, site / "mailboxes" / "bench" / "in" / path.name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [*command, "run", "--once"], check=True, capture_output=True, env=env, timeout=7200
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return max(after, before) / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also the 100 MB file's memory")
    args = parser.parse_args()
    path = write(DATA / f"po-{args.orders}x20.x12", args.orders, 20)
    data = path.read_bytes()
    best_codec = best_e2e = float("inf")
    created = 0
    for _ in range(args.rounds):
        best_codec = min(best_codec, codec(data))
        with tempfile.TemporaryDirectory() as temporary:
            elapsed, created = end_to_end(path, Path(temporary))
        best_e2e = min(best_e2e, elapsed)
    figures: dict[str, object] = {
        "file_mb": round(len(data) / 1e6, 1),
        "orders": created,
        "codec_seconds": round(best_codec, 3),
        "end_to_end_seconds": round(best_e2e, 3),
        "ratio_to_codec": round(best_e2e / best_codec, 1),
        "orders_per_second": round(created / best_e2e),
    }
    if args.memory:
        big = write(DATA / "po-50000x20.x12", 50_000, 20)
        peak, seconds = peak_memory_of_run(big)
        figures["memory_100mb_peak_mb"] = round(peak, 1)
        figures["memory_100mb_seconds"] = round(seconds, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
