"""The memory of one huge transaction set is bounded (issue 13, point 7): validating a set keeps
nothing per segment once the set is large (it was about 280 bytes a segment), a set with a fault
in every segment keeps a bounded number of issues, and the second reading of a file builds no
segments for the sets it will not apply.

Measured with tracemalloc (allocations of Python objects, deterministic), on files generated a
chunk at a time so that the file itself is never held whole."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from gateway.x12.model import TransactionCode
from gateway.x12.reader import MAX_SET_ISSUES, Reader, read_chunks
from gateway.x12.schema import load_catalog

pytestmark = pytest.mark.slow  # the fast tier (`make test-fast`) leaves it out

CATALOG = load_catalog()
HEADER = (
    "ISA*00*          *00*          *01*079845213      *ZZ*CEDARRIDGEOUT  *261103*0915*U*00401"
    "*000051001*0*P*>~\nGS*PO*079845213*CEDARRIDGEOUT*20261103*0915*5101*X*004010~\n"
)


def purchase_order(lines: int, *, control: str = "0001", quantity: str = "1") -> Iterator[str]:
    """One 850 set with `lines` PO1/PID pairs, each ordering `quantity` (a number, or not)."""
    yield f"ST*850*{control}~\nBEG*00*SA*HVBIG{control}**20261103~\n"
    batch: list[str] = []
    for number in range(1, lines + 1):
        batch.append(f"PO1*{number}*{quantity}*EA*1.00**VP*SKU{number}~\nPID*F****Item {number}~\n")
        if len(batch) == 2000:
            yield "".join(batch)
            batch = []
    yield "".join(batch)
    yield f"CTT*{lines}~\nSE*{2 * lines + 4}*{control}~\n"


def file_of(*sets: Iterator[str]) -> Iterator[bytes]:
    yield HEADER.encode()
    for parts in sets:
        for part in parts:
            yield part.encode()
    yield f"GE*{len(sets)}*5101~\nIEA*1*000051001~\n".encode()


def peak(work: Callable[[], object]) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = work()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


MB = 1_000_000


def test_validating_a_large_set_keeps_nothing_per_segment():
    small, report = peak(lambda: read_chunks(file_of(purchase_order(10_000)), catalog=CATALOG))
    large, big = peak(lambda: read_chunks(file_of(purchase_order(50_000)), catalog=CATALOG))
    assert report.accepted and big.accepted  # type: ignore[attr-defined]
    assert large - small < 2 * MB, f"{(large - small) / 80_000:.0f} bytes per segment"


def test_a_set_with_a_fault_in_every_segment_keeps_a_bounded_report():
    faulty = purchase_order(30_000, quantity="many")  # a fault in each PO1
    used, report = peak(lambda: read_chunks(file_of(faulty), catalog=CATALOG))
    (transaction,) = report.interchanges[0].groups[0].transactions  # type: ignore[attr-defined]
    assert not transaction.accepted
    assert len(transaction.issues) <= MAX_SET_ISSUES + 2
    summary = [i for i in transaction.issues if i.code == TransactionCode.SEGMENTS_IN_ERROR]
    listed = MAX_SET_ISSUES // 2  # each faulty PO1: the segment's issue and its element's
    assert summary and f"{30_000 - listed} more" in summary[0].message  # counted, not listed
    small, _ = peak(lambda: read_chunks(file_of(purchase_order(10_000)), catalog=CATALOG))
    assert used - small < 2 * MB


def test_the_second_reading_builds_no_segments_for_sets_it_does_not_apply():
    wanted: list[str] = []

    def second_reading(select: bool) -> object:
        reader = Reader(
            CATALOG,
            schema_checks=False,
            on_set=lambda interchange, group, transaction: wanted.append(
                transaction.control_number
            ),
            select=(lambda interchange, group, control: control == "0002") if select else None,
        )
        for chunk in file_of(purchase_order(20_000), purchase_order(10, control="0002")):
            reader.feed(chunk)
        return reader.close()

    everything, _ = peak(lambda: second_reading(False))
    assert wanted == ["0001", "0002"]
    wanted.clear()
    selected, _ = peak(lambda: second_reading(True))
    assert wanted == ["0002"]
    assert selected < everything / 4
