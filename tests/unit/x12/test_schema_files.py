"""The shipped schema files: every segment definition and every set of every family parses, a
set uses only segments of its family's dictionary, and both are parsed when first asked for (so
checking an 850 reads the 850's structure and the definitions of its segments only), with a
fault in a file named when it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SchemaDefinitionError
from gateway.x12 import schema as schema_module
from gateway.x12.schema import Family, SetFiles, load_catalog, load_family, parse_segments


def test_every_shipped_set_parses_under_its_own_id():
    catalog = load_catalog()
    assert sorted(catalog.families) == ["004010", "005010"]
    for name in catalog.families:
        family = load_family(name)
        definitions = dict(family.segments.items())  # every definition parses
        assert len(definitions) > 100 and all(d.id == i for i, d in definitions.items())
        ids = list(family.sets)
        assert {"850", "855", "856", "810", "860", "865", "997"} <= set(ids)
        for set_id in ids:
            schema = family.sets[set_id]
            assert schema.set_id == set_id and schema.family == name
            assert schema.segment_ids <= family.segments.keys()


def test_a_set_is_parsed_when_first_asked_for(monkeypatch: pytest.MonkeyPatch):
    parsed: list[str] = []
    real = schema_module.parse_transaction_set

    def counting(source: str, text: str, family: str):
        parsed.append(source)
        return real(source, text, family)

    monkeypatch.setattr(schema_module, "parse_transaction_set", counting)
    family = load_family("004010")
    assert parsed == [] and "850" in family.sets and "999" not in family.sets
    assert family.sets["850"] is family.sets["850"]
    assert parsed == ["schemas/004010/850.txt"]


def test_a_segment_definition_is_parsed_when_first_asked_for():
    dictionary = schema_module.SegmentDictionary(
        "mini", "segment ST Header\n  ST01 143 M ID 3/3\nsegment BEG Begin\n  BEG01 353 M XX 2/2\n"
    )
    assert list(dictionary) == ["ST", "BEG"] and "BEG" in dictionary
    assert dictionary["ST"].elements[0].ref == "143"
    with pytest.raises(SchemaDefinitionError, match=r"mini:4: element type 'XX' is unknown"):
        dictionary["BEG"]


def write_family(folder: Path, set_text: str) -> Family:
    """A family whose dictionary holds ST only, and whose folder holds one 850.txt."""
    folder.mkdir()
    (folder / "850.txt").write_text(set_text)
    family = Family("004010")
    family.segments, family.composites = parse_segments(
        "mini", "segment ST Header\n  ST01 143 M ID 3/3\n"
    )
    family.sets = SetFiles(family, folder)
    return family


def test_a_set_file_using_a_segment_missing_from_the_dictionary_is_named(tmp_path: Path):
    family = write_family(
        tmp_path / "004010", "transaction 850 PO Purchase Order\nST M 1\nBEG M 1\n"
    )
    with pytest.raises(SchemaDefinitionError, match=r"850\.txt: segments not in the dictionary"):
        family.sets["850"]


def test_a_set_file_describing_another_set_is_named(tmp_path: Path):
    family = write_family(tmp_path / "004010", "transaction 855 PR Acknowledgment\nST M 1\n")
    with pytest.raises(SchemaDefinitionError, match=r"850\.txt: describes 855, not 850"):
        family.sets["850"]
