"""Codec benchmark: ratios to a plain split of the same file, measured in one run.

The machine is shared and noisy, so every measurement is repeated in interleaved rounds and the
best time of each is kept; the figures that matter are the ratios to the baseline taken in the
same rounds:

- baseline: `bytes.split` into segments and each segment into elements, nothing kept;
- envelope: tokenize + envelope checks (`Reader(schema_checks=False)`), target <= 3x;
- full: schema validation of every segment plus building and writing the 997, target <= 10x;
- full_unremembered: the same with the memory of segments already proven valid turned off, the
  worst case (a file in which no two segments fold alike);
- pyx12: pyx12 4.0.0's X12Reader over the same file (in the cross-check venv, with its own
  baseline in that process), for comparison;
- memory: peak resident memory of `gateway check` streaming a 100 MB file, target < 100 MB;
- strict (issue 14): `full` read strictly, no deviation tolerated: the tolerant default must cost
  nothing measurable on a file without odd layout (`full` / `full_strict` about 1.0);
- laid out: `full` on the same file indented after every terminator (the tolerated layout), as
  a ratio to `full` on the plain file;
- wrapped: `full` on the same file wrapped at 80 characters a line (CR LF), as a ratio to `full`
  on the plain file.

Run: `make benchmark` (or `.venv/bin/python benchmarks/bench_codec.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import write  # noqa: E402
from gateway.x12.ack import (  # noqa: E402
    AckFormat,
    CountingControlNumbers,
    Stamp,
    build_acknowledgements,
)
from gateway.x12.reader import CHUNK_SIZE, Reader  # noqa: E402
from gateway.x12.serializer import serialize  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
CROSSCHECK = Path(os.environ.get("CROSSCHECK_HOME", ROOT / ".build" / "crosscheck"))

PYX12_TIMER = """
import sys, time
import pyx12.x12file
path = sys.argv[1]
data = open(path, 'rb').read()
best_base = best_reader = 1e9
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    for segment in data.split(b'~'):
        segment.split(b'*')
    best_base = min(best_base, time.perf_counter() - start)
    start = time.perf_counter()
    count = 0
    for segment in pyx12.x12file.X12Reader(open(path, encoding='latin-1')):
        count += 1
    best_reader = min(best_reader, time.perf_counter() - start)
print(best_base, best_reader, count)
"""


def baseline(data: bytes) -> None:
    for segment in data.split(b"~"):
        segment.split(b"*")


def envelope_only(data: bytes) -> None:
    reader = Reader(schema_checks=False)
    for start in range(0, len(data), CHUNK_SIZE):
        reader.feed(data[start : start + CHUNK_SIZE])
    report = reader.close()
    assert report.accepted, report.first_issue()


def full_with_997(data: bytes, *, remember: bool = True, strict: bool = False) -> None:
    reader = Reader(remember=remember, strict=strict)
    for start in range(0, len(data), CHUNK_SIZE):
        reader.feed(data[start : start + CHUNK_SIZE])
    report = reader.close()
    assert report.accepted, report.first_issue()
    numbers = CountingControlNumbers()
    for interchange in report.interchanges:
        for acknowledgement in build_acknowledgements(
            interchange, numbers, Stamp("20261121", "1200"), ack_format=AckFormat.FA997
        ):
            serialize(acknowledgement)


def best_times(data: bytes, rounds: int, cases: dict[str, Callable[[bytes], None]]) -> dict:
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case(data)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def pyx12_times(path: Path, rounds: int) -> tuple[float, float] | None:
    python = CROSSCHECK / "venv" / "bin" / "python"
    if not python.exists():
        return None
    result = subprocess.run(
        [str(python), "-c", PYX12_TIMER, str(path), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    base, reader, _ = result.stdout.split()
    return float(base), float(reader)


def peak_memory_of_check(path: Path) -> float:
    """Peak RSS in MB of a fresh process running `gateway check` on the file."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "check", str(path)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=1800,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-pyx12", action="store_true")
    args = parser.parse_args()

    path = write(DATA / "po-5000x20.x12", 5000, 20)
    data = path.read_bytes()
    segments = data.count(b"~")
    best = best_times(
        data,
        args.rounds,
        {
            "baseline": baseline,
            "envelope": envelope_only,
            "full": full_with_997,
            "full_unremembered": lambda d: full_with_997(d, remember=False),
            "full_strict": lambda d: full_with_997(d, strict=True),
        },
    )
    laid_out = data.replace(b"~\n", b"~\r\n    ")
    indented = best_times(laid_out, args.rounds, {"full_laid_out": full_with_997})
    flat = data.replace(b"\n", b"")
    wrapped = b"\r\n".join(flat[i : i + 80] for i in range(0, len(flat), 80))
    unwrapped = best_times(wrapped, args.rounds, {"full_wrapped": full_with_997})
    figures: dict[str, object] = {
        "file_mb": round(len(data) / 1e6, 2),
        "segments": segments,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "envelope_ratio": round(best["envelope"] / best["baseline"], 2),
        "full_ratio": round(best["full"] / best["baseline"], 2),
        "full_unremembered_ratio": round(best["full_unremembered"] / best["baseline"], 2),
        "full_segments_per_second": round(segments / best["full"]),
        "tolerant_over_strict": round(best["full"] / best["full_strict"], 3),
        "laid_out_over_plain": round(indented["full_laid_out"] / best["full"], 2),
        "wrapped_over_plain": round(unwrapped["full_wrapped"] / best["full"], 2),
    }
    if not args.skip_pyx12:
        timed = pyx12_times(path, max(1, args.rounds // 2))
        if timed:
            figures["pyx12_reader_ratio"] = round(timed[1] / timed[0], 2)
    if not args.skip_memory:
        big = write(DATA / "po-50000x20.x12", 50000, 20)
        figures["big_file_mb"] = round(big.stat().st_size / 1e6, 1)
        figures["check_peak_rss_mb"] = round(peak_memory_of_check(big), 1)
    print(json.dumps(figures, indent=2))
    verdicts = {
        "envelope <= 3x": figures["envelope_ratio"] <= 3,  # type: ignore[operator]
        "full + 997 <= 10x": figures["full_ratio"] <= 10,  # type: ignore[operator]
    }
    if "check_peak_rss_mb" in figures:
        verdicts["100 MB file in < 100 MB"] = figures["check_peak_rss_mb"] < 100  # type: ignore[operator]
    for name, ok in verdicts.items():
        print(f"{'met' if ok else 'MISSED'}: {name}")


if __name__ == "__main__":
    main()
