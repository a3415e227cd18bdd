"""Memory of one huge transaction set (issue 13, point 7): a file holding a single 850 set of
N segments (PO1/PID pairs, past the PO1 loop's 100,000 repeats, so it is rejected after being
read whole, as a hostile or broken file would be) taken in by `Ingestor.ingest_chunks` in a
fresh process, at two sizes ten times apart. Bounded memory means the larger set takes about as
much as the smaller: the figure is the ratio of their peak resident memory, measured in the same
run (the machine is shared and noisy).

Run: `.venv/bin/python benchmarks/bench_set_memory.py [--segments N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.adapters.migrate import upgrade  # noqa: E402
from gateway.adapters.store import SqlUnitOfWork, create_store_engine  # noqa: E402
from gateway.config import GatewayConfig, load_mappings  # noqa: E402
from gateway.mapping.engine import Mappings  # noqa: E402
from gateway.service.ingest import Ingestor  # noqa: E402

HEADER = (
    "ISA*00*          *00*          *01*079845213      *ZZ*CEDARRIDGEOUT  *261103*0915*U*00401"
    "*000051001*0*P*>~\nGS*PO*079845213*CEDARRIDGEOUT*20261103*0915*5101*X*004010~\n"
    "ST*850*0001~\nBEG*00*SA*HVBIG**20261103~\n"
)


def write_file(path: Path, segments: int) -> None:
    """One 850 set of about `segments` segments, written a block at a time."""
    pairs = segments // 2
    with path.open("w", encoding="ascii") as out:
        out.write(HEADER)
        for start in range(1, pairs + 1, 10_000):
            out.write(
                "".join(
                    f"PO1*{n}*1*EA*1.00**VP*S{n}~\nPID*F****I{n}~\n"
                    for n in range(start, min(start + 10_000, pairs + 1))
                )
            )
        out.write(f"CTT*{pairs}~\nSE*{2 * pairs + 4}*0001~\nGE*1*5101~\nIEA*1*000051001~\n")


def take_in(path: str) -> None:
    """In a fresh process: take the file in on an empty SQLite store; print the figures."""
    config = GatewayConfig(data_dir=Path(tempfile.mkdtemp(prefix="gateway-bench-")))
    engine = create_store_engine(config)
    upgrade(engine)
    ingestor = Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def chunks():  # type: ignore[no-untyped-def]
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    started = time.perf_counter()
    result = ingestor.ingest_chunks(
        chunks, "big.x12", sha256=digest.hexdigest(), size=os.path.getsize(path), raw_path=path
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"seconds": seconds, "peak_mb": peak, "start_mb": before}
    print(json.dumps({**figures, "first_issue": result.first_issue[:60]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=5_000_000)
    parser.add_argument("--take-in", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.take_in:
        take_in(arguments.take_in)
        return
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        for segments in (arguments.segments // 10, arguments.segments):
            path = Path(folder) / f"set-{segments}.x12"
            write_file(path, segments)
            done = subprocess.run(
                [sys.executable, __file__, "--take-in", str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figure = json.loads(done.stdout.strip().splitlines()[-1])
            figure["mb"] = round(path.stat().st_size / 1e6, 1)
            figures[segments] = figure
            print(f"{segments:>10,} segments ({figure['mb']} MB): peak {figure['peak_mb']:.0f} MB"
                  f" (at start {figure['start_mb']:.0f}), {figure['seconds']:.1f} s,"
                  f" {figure['first_issue']}")  # fmt: skip
    small, large = figures[arguments.segments // 10], figures[arguments.segments]
    print(f"peak memory, 10x the segments: {large['peak_mb'] / small['peak_mb']:.2f}x;"
          f" time: {large['seconds'] / small['seconds']:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
