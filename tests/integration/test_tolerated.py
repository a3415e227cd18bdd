"""Real partners' files (issue 14): what real translators send that bends the standard without
changing what a file says is read as meant, with a named warning; a partner profile with
`strict = true` (and `gateway check --strict`) rejects it as the fault it is.

`samples/tolerated/` holds one sample per tolerance: the good 850 sample with that deviation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.bootstrap import Gateway, bootstrap
from gateway.cli import cli
from gateway.x12.ack import CountingControlNumbers, Stamp, build_acknowledgements
from gateway.x12.model import TOLERANCES
from gateway.x12.reader import parse_bytes, read_bytes, read_chunks
from gateway.x12.serializer import serialize
from tests.integration.test_pipeline import inbox

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
TOLERATED = SAMPLES / "tolerated"
GOOD = SAMPLES / "850" / "850_004010_good.x12"
PO = "HV4500871234"

# sample -> (the tolerances noted, the fault that strict reading reports instead, or None when
# the standard's letter has no fault for it either and only the warning tells)
EXPECTED: dict[str, tuple[set[str], str | None]] = {
    "layout_whitespace.x12": ({"layout-whitespace"}, "TA105:022"),
    "padding_outside_interchanges.x12": ({"padding-outside-interchanges"}, "TA105:022"),
    "byte_order_mark.x12": ({"byte-order-mark"}, None),
    "isa_fields_not_padded.x12": ({"isa-fields-not-padded"}, "TA105:011"),
    "isa_padded_with_nbsp.x12": ({"isa-padded-with-nbsp"}, "TA105:006"),
    "isa11_not_u.x12": ({"isa11-not-u"}, "TA105:016"),
    "isa12_unknown_version.x12": ({"isa12-unknown-version"}, "TA105:003"),
    "trailing_empty_elements.x12": ({"trailing-empty-elements"}, None),
    "last_terminator_missing.x12": ({"last-terminator-missing"}, "TA105:023"),
    "line_wrapped.x12": ({"line-wrapped"}, "TA105:015"),
}


def test_every_tolerance_has_a_sample():
    noted = set().union(*(names for names, _ in EXPECTED.values()))
    assert noted == set(TOLERANCES)
    assert sorted(p.name for p in TOLERATED.glob("*.x12")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_tolerated_sample_is_read_as_meant_and_refused_when_strict(name: str):
    data = (TOLERATED / name).read_bytes()
    names, strict_fault = EXPECTED[name]
    report = read_bytes(data)
    assert report.accepted, report.first_issue()
    assert {t.name for t in report.all_tolerated()} == names
    assert all(t.line >= 1 for t in report.all_tolerated())
    strict = read_chunks([data], strict=True)
    if strict_fault is None:
        assert strict.accepted
    else:
        assert not strict.accepted
        first = strict.first_issue()
        assert first is not None and first.code_label == strict_fault, first.describe()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_tolerated_sample_gives_the_same_segments_as_the_good_one(name: str):
    good_documents, _ = parse_bytes(GOOD.read_bytes())
    documents, _ = parse_bytes((TOLERATED / name).read_bytes())
    assert segments_of(documents) == segments_of(good_documents)


def segments_of(documents: list) -> list[list[tuple[str, tuple[object, ...]]]]:
    return [
        [(s.id, tuple(map(str, s.elements))) for s in t.segments]
        for d in documents
        for g in d.groups
        for t in g.transactions
    ]


def test_a_ta1_asked_for_says_accepted_with_the_deviation_noted():
    data = (
        (TOLERATED / "isa11_not_u.x12").read_bytes().replace(b"*000051001*0*P*", b"*000051001*1*P*")
    )
    (interchange,) = read_bytes(data).interchanges
    answers = build_acknowledgements(
        interchange, CountingControlNumbers(), Stamp("20261207", "1200")
    )
    assert b"TA1*000051001*261103*0915*E*016~" in serialize(answers[0])
    assert b"AK9*A*1*1*1~" in serialize(answers[1])  # the 997 still reports every real error


def test_a_tolerated_file_becomes_its_order_with_the_warnings_kept_and_strict_refuses_it(
    gateway: Gateway,
):
    (inbox(gateway) / "po.x12").write_bytes((TOLERATED / "layout_whitespace.x12").read_bytes())
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "applied" and taken.result is not None
    assert any(w.startswith("layout-whitespace") for w in taken.result.tolerated)
    with gateway.uow_factory() as uow:
        assert [o.po_number for o in uow.orders.find(PO)] == [PO]
        (document,) = list(uow.documents.listing(direction="in"))
        assert any(
            w.startswith("layout-whitespace") for w in (document.envelope or {})["tolerated"]
        )
    strict = dataclasses.replace(gateway.config.partners[0], strict=True)
    other = bootstrap(dataclasses.replace(gateway.config, partners=(strict,)))
    try:
        data = (TOLERATED / "isa11_not_u.x12").read_bytes().replace(PO.encode(), b"HV4500870001")
        (inbox(other) / "po-2.x12").write_bytes(data)
        (refused,) = other.runner().run_once().files
        assert refused.status == "quarantined"
        assert any("TA105:016" in r for r in refused.reasons)
    finally:
        other.close()


def test_gateway_check_lists_the_warnings_and_strict_rejects():
    runner = CliRunner()
    sample = str(TOLERATED / "isa_fields_not_padded.x12")
    shown = runner.invoke(cli, ["check", sample])
    assert shown.exit_code == 0 and "warning: isa-fields-not-padded at line 1" in shown.output
    listed = json.loads(runner.invoke(cli, ["check", "--json", sample]).output)
    (warning,) = listed[0]["warnings"]
    assert (warning["tolerance"], warning["code"], warning["line"]) == (
        "isa-fields-not-padded", "TA105:024", 1,
    )  # fmt: skip
    refused = runner.invoke(cli, ["check", "--strict", sample])
    assert refused.exit_code == 1 and "rejected: TA105:011" in refused.output


@pytest.mark.parametrize(
    "content",
    [
        "Données de commande\n".encode() + GOOD.read_bytes(),  # text in place of an ISA
        GOOD.read_bytes().replace(b"~", b"\xe9"),  # a terminator mangled into a letter
        b"\xff\xfeI\x00S\x00A\x00",  # UTF-16
    ],
)
def test_what_cannot_be_read_is_refused_in_one_ascii_line_exit_1(content: bytes, tmp_path: Path):
    path = tmp_path / "bad.x12"
    path.write_bytes(content)
    checked = CliRunner().invoke(cli, ["check", str(path)])
    assert checked.exit_code == 1
    (verdict,) = [line for line in checked.output.splitlines() if "rejected" in line]
    assert verdict.isascii() and "rejected: TA105:" in verdict
