"""Every X12 file the gateway writes reads back cleanly through two independent readers:
node-x12 (strict mode) and pyx12's X12Reader, installed by `make test` (tests/crosscheck/).

Files written here: the acknowledgements of every bundled sample, in 997 and in 999 form, every
sample interchange parsed and written again, and every outbound document the gateway exports
(855, 856, 810, 850, 860: the scenarios of `outbound_scenarios`, built afresh). Each interchange
goes to its own file, as the gateway sends them. One limitation of node-x12 is allowed for, by
name: in strict mode it takes no segment outside a functional group, so it cannot read a TA1
interchange; pyx12 reads those.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gateway.x12.ack import AckFormat, CountingControlNumbers, Stamp, build_acknowledgements
from gateway.x12.reader import parse_bytes
from gateway.x12.serializer import serialize
from tests.integration.outbound_scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
HOME = Path(os.environ.get("CROSSCHECK_HOME", ROOT / ".build" / "crosscheck"))
NODE_SCRIPT = ROOT / "tests" / "crosscheck" / "nodex12_read.js"
PYX12_SCRIPT = ROOT / "tests" / "crosscheck" / "pyx12_read.py"
PYX12_PYTHON = HOME / "venv" / "bin" / "python"
NODE_TA1_LIMITATION = "TA1 segment cannot appear outside of a functional group"
SAMPLES = sorted((ROOT / "samples").glob("*/*.x12"))


def readers_installed() -> None:
    missing = []
    if not (HOME / "node_modules" / "node-x12" / "package.json").exists():
        missing.append("node-x12")
    if not PYX12_PYTHON.exists():
        missing.append("pyx12")
    if missing:
        pytest.fail(
            f"cross-check readers missing in {HOME}: {missing}; run `make test` "
            "(or tests/crosscheck/install.sh)"
        )


def read_with_node(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(NODE_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "CROSSCHECK_HOME": str(HOME)},
        timeout=60,
        check=False,
    )


def read_with_pyx12(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYX12_PYTHON), str(PYX12_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def written_files(folder: Path) -> list[Path]:
    """Write everything the gateway would send for the samples, one interchange per file."""
    stamp = Stamp("20261121", "1200")
    numbers = CountingControlNumbers(1, 1)
    paths = []
    for sample in SAMPLES:
        documents, report = parse_bytes(sample.read_bytes())
        outputs = []
        for interchange in report.interchanges:
            for ack_format in AckFormat:
                outputs.extend(
                    build_acknowledgements(interchange, numbers, stamp, ack_format=ack_format)
                )
        if report.accepted and not report.all_tolerated():  # a deviation is theirs, kept as read
            outputs.extend(documents)
        for number, interchange in enumerate(outputs):
            path = folder / f"{sample.stem}.{number}.x12"
            path.write_bytes(serialize(interchange))
            paths.append(path)
    for scenario in SCENARIOS:
        path = folder / f"exported-{scenario.name}.x12"
        path.write_bytes(scenario.run(folder / "stores" / scenario.name).content)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    readers_installed()
    return written_files(tmp_path_factory.mktemp("written"))


@pytest.fixture(scope="module")
def node_results(outputs: list[Path]) -> dict[Path, subprocess.CompletedProcess[str]]:
    return {path: read_with_node(path) for path in outputs}


def test_something_is_written(outputs):
    assert len(outputs) > 40
    assert any(b"ST*999*" in p.read_bytes() for p in outputs)
    assert any(b"TA1*" in p.read_bytes() for p in outputs)
    exported = {p.read_bytes().split(b"ST*")[1][:3] for p in outputs if p.name.startswith("exp")}
    assert exported == {b"855", b"856", b"810", b"850", b"860", b"865"}


def test_pyx12_reads_every_written_file(outputs):
    failures = {}
    for path in outputs:
        result = read_with_pyx12(path)
        if result.returncode != 0:
            failures[path.name] = result.stderr.strip()[:300]
    assert not failures


def test_node_x12_reads_every_written_file(node_results):
    failures = {}
    for path, result in node_results.items():
        if result.returncode == 0:
            continue
        is_ta1 = b"TA1*" in path.read_bytes() and b"GS*" not in path.read_bytes()
        if is_ta1 and NODE_TA1_LIMITATION in result.stderr:
            continue
        failures[path.name] = result.stderr.strip()[:300]
    assert not failures


def test_node_x12_sees_the_same_segments_as_we_wrote(node_results):
    for path, result in node_results.items():
        if result.returncode != 0:
            continue
        text = path.read_text(encoding="latin-1")
        terminator, separator = text[105], text[3]
        written = [line.rstrip(terminator).split(separator) for line in text.splitlines()]
        # node-x12 writes what it read back with its own delimiters, '*' and '~'.
        read = [line.rstrip("~").split("*") for line in result.stdout.splitlines()]
        assert read == written, path.name
