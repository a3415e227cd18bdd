"""The loop tree of a transaction set: placed by the schema's structure machine, and the
placement of a shape of set (its segment ids in order) kept and reused, with the same result."""

from __future__ import annotations

import pytest

from gateway.x12 import tree
from gateway.x12.document import structure_elements
from gateway.x12.model import Delimiters
from gateway.x12.reader import parse_bytes
from gateway.x12.tree import Loop, build_tree
from tests.unit.mapping.x12text import CATALOG, interchange


def transaction(*body: str):  # type: ignore[no-untyped-def]
    documents, report = parse_bytes(interchange("850", list(body)), catalog=CATALOG)
    assert report.accepted, report.first_issue()
    return documents[0].groups[0].transactions[0]


def shape(loop: Loop) -> list[object]:
    return [loop.loop_id, [s.id for s in loop.segments], [shape(inner) for inner in loop.loops]]


def order(po: str, lines: int) -> list[str]:
    body = [f"BEG*00*SA*{po}**20261121", "N1*ST*Jane*92*0001", "N3*1 Main St", "N1*BT*Shop"]
    for number in range(1, lines + 1):
        body += [f"PO1*{number}*1*EA*2.00**UP*00000000001{number % 10}", "PID*F****Thing"]
    return [*body, f"CTT*{lines}"]


def test_sets_of_one_shape_reuse_the_placement_with_the_same_tree():
    schema = CATALOG.schema_for("850", "004010")
    assert schema is not None
    tree._PLANS.clear()
    first = build_tree(transaction(*order("PO-1", 2)), schema)
    second = build_tree(transaction(*order("PO-2", 2)), schema)
    assert len(tree._PLANS) == 1
    assert (
        shape(first)
        == shape(second)
        == [
            "",
            ["BEG"],
            [
                ["N1", ["N1", "N3"], []],
                ["N1", ["N1"], []],
                ["PO1", ["PO1"], [["PID", ["PID"], []]]],
                ["PO1", ["PO1"], [["PID", ["PID"], []]]],
                ["CTT", ["CTT"], []],
            ],
        ]
    )
    assert second.loops[2].segments[0].elements[0] == "1"  # its own segments, not the first's
    assert build_tree(transaction(*order("PO-3", 3)), schema).loops[4].loop_id == "PO1"
    assert len(tree._PLANS) == 2


def test_the_placements_kept_are_bounded(monkeypatch: pytest.MonkeyPatch):
    schema = CATALOG.schema_for("850", "004010")
    assert schema is not None
    monkeypatch.setattr(tree, "PLANS_KEPT", 3)
    tree._PLANS.clear()
    for lines in range(1, 7):
        build_tree(transaction(*order("PO", lines)), schema)
    assert len(tree._PLANS) == 3


def test_elements_are_split_into_components_and_repetitions_only_where_they_have_them():
    delimiters = Delimiters(element="*", sub_element=">", repetition="^", segment="~")
    plain = "REF*DP*042"
    assert structure_elements(plain.split("*"), delimiters, plain) == ["DP", "042"]
    composite = "REF*DP*042*ZZ>1^ZZ>2"
    assert structure_elements(composite.split("*"), delimiters, composite) == [
        "DP", "042", [("ZZ", "1"), ("ZZ", "2")]
    ]  # fmt: skip
    # without the raw text, every element is looked at
    assert structure_elements(["SV1", "HC>99213", "40"], delimiters) == [("HC", "99213"), "40"]
