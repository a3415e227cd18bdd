"""The coverage-guided fuzz targets (tests/fuzz) run for a fixed number of executions each, from
a corpus seeded with the samples and the shared corpus: any input that makes a target raise
fails the suite with the input saved beside the report. `make fuzz` runs them for longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = {"codec": 3000, "ingest": 800}  # about ten seconds each on this machine


@pytest.mark.parametrize("target", sorted(RUNS))
def test_the_fuzz_target_survives_a_fixed_number_of_executions(target: str, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    runs = int(os.environ.get("GATEWAY_FUZZ_RUNS", RUNS[target]))
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", target, f"-runs={runs}", "-seed=1",
         "-max_len=8192", "-rss_limit_mb=1024", str(corpus)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashes, (
        f"{target}: exit {done.returncode}, inputs kept in {tmp_path}: {crashes}\n"
        + done.stderr[-4000:]
    )
    assert f"Done {runs} runs" in done.stderr
