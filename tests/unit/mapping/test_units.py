"""Units between cXML (UN/CEFACT) and X12 (355): an X12 unit sent as cXML's reads back as
itself, every X12 unit fits element 355 (two characters), and a partner's pair wins."""

from __future__ import annotations

import pytest

from gateway.mapping.units import TO_CXML, TO_X12, to_cxml, to_x12


@pytest.mark.parametrize("x12", sorted(TO_CXML))
def test_an_x12_unit_sent_as_cxml_reads_back_as_itself(x12: str):
    assert to_x12(to_cxml(x12)) == x12


def test_every_x12_unit_fits_element_355():
    assert all(len(unit) == 2 for unit in TO_X12.values())


def test_a_unit_the_table_lacks_passes_as_it_is_and_a_partners_pair_wins():
    assert (to_x12("BAG"), to_cxml("BG")) == ("BAG", "BG")
    assert (to_x12("BAG", {"BAG": "BG"}), to_cxml("BG", {"BAG": "BG"})) == ("BG", "BAG")
    assert (to_x12("C62"), to_x12("H87"), to_cxml("EA")) == ("EA", "EA", "EA")
