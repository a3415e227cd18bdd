"""The bundled samples through the CLI: each file's `check` line and `ack` output equal the
expected files beside it (samples/<set>/expected/), and its verdict equals samples/MANIFEST.tsv.

To refresh the expected files after a deliberate change, run
`.venv/bin/python -m tests.e2e.test_samples --write` and review the diff.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FILES = sorted(SAMPLES.glob("*/*.x12"))
ACK_ARGS = ["--date", "20261121", "--time", "1200"]


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def expected_path(sample: Path, kind: str) -> Path:
    return sample.parent / "expected" / f"{sample.stem}.{kind}"


def current(sample: Path) -> dict[str, str]:
    _, check = run("check", relative(sample))
    _, ack = run("ack-file", *ACK_ARGS, relative(sample))
    return {"check": check, "ack": ack}


def manifest() -> dict[str, str]:
    with (SAMPLES / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return {row["file"]: row["verdict"] for row in csv.DictReader(handle, delimiter="\t")}


def test_every_sample_is_in_the_manifest():
    names = {str(p.relative_to(SAMPLES)) for p in FILES}
    assert names == set(manifest())
    assert len(FILES) >= 20


@pytest.mark.parametrize("sample", FILES, ids=[p.name for p in FILES])
def test_sample_check_and_ack_match_expected(sample, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, line = run("check", relative(sample))
    verdict = manifest()[str(sample.relative_to(SAMPLES))]
    assert status == (0 if verdict == "accepted" else 1)
    assert f": {verdict}" in line
    for kind, text in current(sample).items():
        assert text == expected_path(sample, kind).read_text(encoding="latin-1"), kind


def write_expected() -> None:
    os.chdir(ROOT)
    for sample in FILES:
        for kind, text in current(sample).items():
            path = expected_path(sample, kind)
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="latin-1")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_expected()
