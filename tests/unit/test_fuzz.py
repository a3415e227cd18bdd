"""Mutated files (bytes flipped, cut, delimiters swapped, segments repeated) never make the codec
raise: validation returns a report, and the acknowledgement built from it serializes (a
SerializationError there would be the gateway's bug, an answer it cannot send)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import codec

pytestmark = pytest.mark.slow  # the fast tier (`make test-fast`) leaves it out

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
SEEDS = sorted((ROOT / "samples").glob("*/*.x12")) + sorted(CORPUS.glob("*.edi"))[:20]
SEED_BYTES = [p.read_bytes() for p in SEEDS]
INTERESTING = b"*~>^|:\n\r\x00\x1c\x1dISAGSSTSEGEIEA0123456789 \xff"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "swap", "repeat", "delete"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.sampled_from(INTERESTING))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "swap" and len(data) > 106:
            old, new = data[3], draw(st.sampled_from(INTERESTING))
            data = bytearray(bytes(data).replace(bytes([old]), bytes([new])))
        elif kind == "repeat":
            end = min(len(data), at + draw(st.integers(1, 80)))
            data[at:at] = data[at:end]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


def check_never_crashes(data: bytes, chunk: int) -> None:
    """The codec fuzz target's check (tests/fuzz/targets.py): validation returns a report, every
    acknowledgement built from it serializes and reads back valid, every set is placed."""
    codec(data, chunk)


@settings(
    max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated(), st.sampled_from([1, 3, 50, 65536]))
def test_mutated_files_give_only_reports_or_gateway_errors(data, chunk):
    check_never_crashes(data, chunk)


@settings(max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_give_only_reports(data):
    check_never_crashes(data, 64)


@settings(max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_random_bytes_after_an_isa_give_only_reports(tail):
    isa = SEED_BYTES[0][:107]
    check_never_crashes(isa + tail, 7)
