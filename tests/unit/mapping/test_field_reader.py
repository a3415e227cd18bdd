"""`FieldReader`, which reads a record's plain fields a segment at a time, gives what each field's
own rule gives, on every good inbound sample and on sets built to trip it (a segment repeated
with its first value empty, composites, short segments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mapping.engine import FieldReader, SetMapping
from gateway.x12.reader import parse_bytes
from gateway.x12.tree import Loop, build_tree
from tests.unit.mapping.x12text import CATALOG, MAPPINGS, tree

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
INBOUND = {m.removesuffix("-in"): MAPPINGS.get(m) for m in MAPPINGS.names() if m.endswith("-in")}


def assert_read_alike(mapping: SetMapping, root: Loop) -> int:
    """Compare both ways of reading on the header and every record; the records compared."""
    by_rule = {name: rule.read(root) for name, rule in mapping.header.items()}
    assert mapping.read_header(root) == by_rule
    compared = 1
    for record in mapping.records.values():
        reader = FieldReader(record.fields)
        for loop in root.walk(record.loop):
            assert reader.read(loop) == {n: r.read(loop) for n, r in record.fields.items()}
            compared += 1
    return compared


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SAMPLES.glob("*/*.x12") if "good" in p.name and p.parent.name in INBOUND),
    ids=lambda p: p.name,
)
def test_every_good_sample_reads_alike(path: Path):
    documents, _ = parse_bytes(path.read_bytes(), catalog=CATALOG)
    compared = 0
    for interchange in documents:
        for group in interchange.groups:
            for transaction in group.transactions:
                schema = CATALOG.schema_for(transaction.set_id, group.version)
                assert schema is not None
                root = build_tree(transaction, schema)
                compared += assert_read_alike(INBOUND[transaction.set_id], root)
    assert compared > 0


def test_repeated_segments_composites_and_short_segments_read_alike():
    root = tree(
        "850",
        [
            "BEG*00*SA*PO-1**20261120",
            "CUR*BY*USD",
            "REF*DP**Department without a number",
            "REF*DP*0042",
            "REF*IA*V7**ZZ>X",
            "PER*BD*Bob",
            "DTM*002*20261201",
            "DTM*010*20261125",
            "N1*ST*Jane Doe",
            "N1*BT*Bill",
            "N3*1 Main St",
            "PO1*1*2*EA*10**UP*000000000011*VP*V-1",
            "PID*F****Widget",
            "PO1*2*1",
            "CTT*2*3",
        ],
    )
    assert assert_read_alike(INBOUND["850"], root) == 5
    header = INBOUND["850"].read_header(root)
    assert (header["department"], header["requested_delivery_date"]) == ("0042", "20261201")
