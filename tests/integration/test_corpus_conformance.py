"""Conformance over the shared corpus of real X12 files (../shared/corpus/x12).

Every file the manifest marks well-formed is accepted and every malformed one rejected, with the
first fault named precisely (its code, segment and element). Where the manifest's quick checker
called a file well-formed that the X12 standard does not allow, the file is listed in
`LABEL_CORRECTIONS` with the rule it breaks; those files are expected to be rejected.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gateway.x12.reader import read_bytes, read_chunks

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "x12"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "MANIFEST.tsv").exists(),
    reason=f"the shared corpus is not beside this checkout ({CORPUS})",
)

GS01_SC = (
    "GS01 SC is the functional identifier of the 832 Price/Sales Catalog; the standard puts an "
    "{set} in a group with GS01 {code}"
)
NO_PO1 = "the 004010 850 detail table's PO1 loop is mandatory; this purchase order has no line"
SAC_R0203 = "SAC*A***100.00 breaks SAC syntax note R0203 (SAC02 or SAC03 is required)"

# Files the manifest calls well-formed that break the standard, with the reason.
LABEL_CORRECTIONS = {
    "EDIandXML__OBOE__testFiles__5-850.x12": (
        "ISA16 makes '@' the component separator, yet PER04 holds the e-mail address "
        "BATAGELI.JOHN@SAUGOV.SA.GOV.AU: a delimiter inside data"
    ),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850.x12": NO_PO1,
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-lineBreak.x12": NO_PO1,
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-lineBreak-LF.x12": NO_PO1,
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-loop.edi": SAC_R0203,
    "hellooops__vscode-edi-support__src__test__suite__test-files__formatting__x12.minify.edi": (
        SAC_R0203
    ),
    "xlate__staedi__src__test__resources__x12__invoice810_po850_dual.edi": (
        "the 003010 850's N1*ST*CARGO LIMITED #112*92 gives N103 without N104 (syntax note P0304)"
    ),
    "irobayna__stupidedi__spec__fixtures__004010__X348 SC810 Aerospace Industry Invoice__pass__"
    "basic-invoice.edi": GS01_SC.format(set="810", code="IN"),
    "irobayna__stupidedi__spec__fixtures__004010__X348 SC810 Aerospace Industry Invoice__pass__"
    "credit-card-invoice.edi": GS01_SC.format(set="810", code="IN"),
    "irobayna__stupidedi__spec__fixtures__004010__X357 SC850 Aerospace Industry Purchase Order__"
    "pass__basic-po.edi": GS01_SC.format(set="850", code="PO"),
    "irobayna__stupidedi__spec__fixtures__004010__X357 SC850 Aerospace Industry Purchase Order__"
    "pass__taxexempt-po.edi": GS01_SC.format(set="850", code="PO"),
    "irobayna__stupidedi__spec__fixtures__004010__X358 SC855 Aerospace Industry Purchase Order "
    "Acknowledgment__pass__basic-po-ack-accepted.edi": GS01_SC.format(set="855", code="PR"),
    "irobayna__stupidedi__spec__fixtures__004010__X358 SC855 Aerospace Industry Purchase Order "
    "Acknowledgment__pass__basic-po-ack-rejected.edi": GS01_SC.format(set="855", code="PR"),
    "irobayna__stupidedi__spec__fixtures__004010__X358 SC855 Aerospace Industry Purchase Order "
    "Acknowledgment__pass__po-ack-minor-changes.edi": GS01_SC.format(set="855", code="PR")
    + "; also ACK*IQ*20 gives a quantity without its unit (ACK syntax note P0203)",
    "irobayna__stupidedi__spec__fixtures__004010__X358 SC855 Aerospace Industry Purchase Order "
    "Acknowledgment__pass__po-ack-ship-details.edi": GS01_SC.format(set="855", code="PR"),
}

# The first fault of every rejected file: (code, segment id, element position).
FIRST_FAULT = {
    "EDIandXML__OBOE__testFiles__5-850.x12": ("AK403:13", "PER", 4),
    "albmarin__badX12__tests__files__errors__segment_terminator.edi": ("TA105:023", "", None),
    "hellooops__vscode-edi-support__docs__diagnosctics.x12": ("AK403:8", "DTM", 2),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-comments.x12": ("TA105:022", "", None),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-lineBreak-LF.x12": ("AK304:3", "PO1", None),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "850-lineBreak.x12": ("AK304:3", "PO1", None),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__850-loop.edi": (
        "AK403:2",
        "SAC",
        2,
    ),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__850.x12": (
        "AK304:3",
        "PO1",
        None,
    ),
    "hellooops__vscode-edi-support__packages__edi-parser__test__fixtures__messages__"
    "X12-interchanges.x12": ("TA105:024", "GS", 2),
    "hellooops__vscode-edi-support__src__test__suite__test-files__formatting__x12.minify.edi": (
        "AK403:2",
        "SAC",
        2,
    ),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.810.mandatory-conditions.edi": (
        "TA105:011",
        "ISA",
        2,
    ),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.810a.edi": ("TA105:011", "ISA", 2),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.810b.edi": ("TA105:011", "ISA", 2),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.810c.edi": ("TA105:011", "ISA", 2),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.810d.edi": ("TA105:011", "ISA", 2),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.850.edi": ("TA105:011", "ISA", 2),
    # The ISA ends '*T*~' then a line break: ISA16 is empty and '~' ends the segments.
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.850.issue135.edi": (
        "TA105:027",
        "ISA",
        16,
    ),
    "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__x12.850a.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__002001__SH856__fail__1.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__003010__PC860__fail__1.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__003010__PO850__fail__1.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__003050__PO850__fail__1.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__004010__FA997__pass__1.edi": ("TA105:006", "ISA", 6),
    "irobayna__stupidedi__spec__fixtures__004010__PR855__fail__2.edi": ("TA105:011", "ISA", 2),
    "irobayna__stupidedi__spec__fixtures__004010__SH856__fail__2.edi": ("AK403:6", "N1", 4),
    "xlate__staedi__src__test__resources__x12__empty997.edi": ("AK304:3", "AK1", None),
    "xlate__staedi__src__test__resources__x12__extraDelimiter997.edi": ("AK403:12", "AK3", 2),
    "xlate__staedi__src__test__resources__x12__invalid997.edi": ("AK403:5", "AK1", 1),
    "xlate__staedi__src__test__resources__x12__invalid997_min.edi": ("TA105:024", "GS", 4),
    "xlate__staedi__src__test__resources__x12__invoice810_po850_dual.edi": ("AK403:2", "N1", 4),
}
for _name in LABEL_CORRECTIONS:
    if _name.startswith("irobayna__stupidedi__spec__fixtures__004010__X3"):
        FIRST_FAULT[_name] = ("AK502:6", "ST", 1)


def manifest() -> list[dict[str, str]]:
    if not (CORPUS / "MANIFEST.tsv").exists():
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = manifest()

INDICE = "indice-co__EDI.Net__test__indice.Edi.Tests__Samples__"
STUPIDEDI = "irobayna__stupidedi__spec__fixtures__"
ARIBA_810 = ({"isa-fields-not-padded", "byte-order-mark", "layout-whitespace"}, None)
# What the default, tolerant reading makes of the files whose first fault by the letter of the
# standard is a deviation it reads as meant (gateway.x12.model.TOLERANCES): the deviations it
# notes, and its verdict (None: accepted; else the first real fault, named as above).
TOLERANT: dict[str, tuple[set[str], tuple[str, str, int | None] | None]] = {
    INDICE + "x12.810a.edi": ARIBA_810,
    INDICE + "x12.810b.edi": (ARIBA_810[0] | {"padding-outside-interchanges"}, None),
    INDICE + "x12.810c.edi": (ARIBA_810[0] | {"padding-outside-interchanges"}, None),
    INDICE + "x12.810d.edi": ARIBA_810,
    INDICE + "x12.810.mandatory-conditions.edi": (
        {"isa-padded-with-nbsp", "byte-order-mark", "layout-whitespace"},
        ("AK304:6", "BAL", None),  # an 850 holding BAL segments
    ),
    INDICE + "x12.850.edi": (
        {"isa-padded-with-nbsp", "byte-order-mark", "trailing-empty-elements"},
        ("TA105:001", "IEA", 2),  # IEA02 000000001, ISA13 000000055
    ),
    INDICE + "x12.850a.edi": (
        {"isa-padded-with-nbsp", "byte-order-mark", "layout-whitespace"},
        ("AK403:5", "N4", 2),  # N402 five characters long
    ),
    STUPIDEDI + "002001__SH856__fail__1.edi": (
        {"isa-fields-not-padded", "isa12-unknown-version"},
        ("AK905:2", "GS", None),  # GS08 002001: a version not read
    ),
    STUPIDEDI + "003010__PC860__fail__1.edi": (
        {"isa-fields-not-padded", "isa12-unknown-version"},
        None,  # fails only stupidedi's own schema checks
    ),
    STUPIDEDI + "003010__PO850__fail__1.edi": (
        {"isa-fields-not-padded", "isa12-unknown-version"},
        ("AK502:4", "SE", 1),  # SE01 28, 27 segments
    ),
    STUPIDEDI + "003050__PO850__fail__1.edi": (
        {"isa-fields-not-padded"},
        ("AK304:7", "NTE", None),
    ),
    STUPIDEDI + "004010__FA997__pass__1.edi": ({"isa-fields-not-padded"}, None),
    STUPIDEDI + "004010__PR855__fail__2.edi": (
        {"isa-fields-not-padded"},
        ("TA105:015", "ISA", 10),  # the ISA broken across lines inside ISA10
    ),
}


@pytest.mark.parametrize("row", ROWS, ids=[r["saved_name"][:60] for r in ROWS])
def test_corpus_file_verdict_by_the_letter_of_the_standard(row):
    """Read strictly (no tolerance), every file gets the manifest's verdict."""
    name = row["saved_name"]
    report = read_chunks([(CORPUS / name).read_bytes()], strict=True)
    well_formed = row["is_wellformed_guess"] == "yes" and name not in LABEL_CORRECTIONS
    if well_formed:
        assert report.accepted, [i.describe() for i in report.all_issues()]
        return
    assert not report.accepted
    first = report.first_issue()
    assert first is not None
    assert (first.code_label, first.segment_id, first.element) == FIRST_FAULT[name], (
        first.describe()
    )
    assert first.line > 0 or first.segment_id == ""


@pytest.mark.parametrize("row", ROWS, ids=[r["saved_name"][:60] for r in ROWS])
def test_corpus_file_verdict_read_as_real_translators_write(row):
    """Read as by default, a file whose first fault was a tolerated deviation is read as meant,
    with its deviations named; every other file gets the same verdict as read strictly."""
    name = row["saved_name"]
    data = (CORPUS / name).read_bytes()
    report = read_bytes(data)
    if name not in TOLERANT:
        strict = read_chunks([data], strict=True)
        assert report.accepted == strict.accepted
        first, expected = report.first_issue(), strict.first_issue()
        assert (first.describe() if first else None) == (expected.describe() if expected else None)
        return
    tolerances, verdict = TOLERANT[name]
    assert {t.name for t in report.all_tolerated()} == tolerances
    first = report.first_issue()
    if verdict is None:
        assert report.accepted, first.describe() if first else ""
    else:
        assert first is not None and (first.code_label, first.segment_id, first.element) == (
            verdict
        ), first.describe() if first else ""


def test_corpus_counts():
    """The counts reported in the closing note: accepted, rejected, and label corrections."""
    assert len(ROWS) == 57
    labelled_good = [r for r in ROWS if r["is_wellformed_guess"] == "yes"]
    assert len(labelled_good) == 34
    corrected = [r for r in labelled_good if r["saved_name"] in LABEL_CORRECTIONS]
    assert len(corrected) == len(LABEL_CORRECTIONS) == 15
    rejected = [r for r in ROWS if r["saved_name"] in FIRST_FAULT]
    assert len(rejected) == 57 - 34 + 15
