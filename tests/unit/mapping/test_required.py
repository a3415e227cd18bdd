"""What a partner requires beyond the standard (`[required]` in a mapping, or in a partner's
override of it): a set that lacks it is rejected naming what is missing; a mistake in the section
is a configuration error naming the file and the key."""

from __future__ import annotations

import pytest

from gateway.config import load_mappings
from gateway.errors import ConfigurationError, MappingError
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import order_acknowledgement, purchase_order
from tests.unit.mapping.x12text import PARTNER, PO, context, tree

PO_BODY = [
    f"BEG*00*SA*{PO}**20261120",
    "REF*DP*0042",
    "N1*ST*Jane Doe",
    "PO1*1*2*EA*10**UP*000000000011*VP*V-1",
    "PO1*2*1*EA*10**VP*V-2",
    "CTT*2*3",
]


def requiring(name: str, **required: list[str]) -> Mappings:
    return Mappings(load_mappings(), {PARTNER: {name: {"required": required}}})


def test_without_requirements_the_standard_is_enough():
    mapped = purchase_order(
        tree("850", PO_BODY), Mappings(load_mappings()).get("850-in"), context()
    )
    assert mapped.po_number == PO


def test_what_the_partner_requires_and_the_set_has_passes():
    mappings = requiring("850-in", header=["department"], parties=["ST"], line_ids=["VP"])
    mapped = purchase_order(tree("850", PO_BODY), mappings.get("850-in", PARTNER), context())
    assert mapped.po_number == PO


def test_a_set_lacking_what_the_partner_requires_is_rejected_naming_each_thing():
    mappings = requiring(
        "850-in", header=["department", "vendor_number"], parties=["ST", "BT"], line_ids=["UP"]
    )
    with pytest.raises(MappingError) as caught:
        purchase_order(tree("850", PO_BODY), mappings.get("850-in", PARTNER), context())
    assert str(caught.value) == (
        "the partner requires what this purchase order lacks: vendor_number (REF02),"
        " party BT (N1), line 2: product id UP [partner-required-fields]"
    )
    # other partners are not held to it
    purchase_order(tree("850", PO_BODY), mappings.get("850-in", "SOMEONE ELSE"), context())


def test_other_inbound_sets_take_requirements_too():
    mappings = requiring("855-in", line_ids=["UP"])
    body = [f"BAK*00*AC*{PO}*20261120", "PO1*1*2*EA*10**VP*V-1", "ACK*IA*2*EA"]
    with pytest.raises(MappingError, match="acknowledgement lacks: line 1: product id UP"):
        order_acknowledgement(tree("855", body), mappings.get("855-in", PARTNER), context())


@pytest.mark.parametrize(
    ("required", "message"),
    [
        ({"header": ["dept"]}, "required.header: 'dept' is not a header field"),
        ({"header": "department"}, "required.header: expected a list of names"),
        ({"partys": ["ST"]}, "required: unknown key 'partys'"),
    ],
)
def test_a_mistake_in_the_requirements_names_the_file_and_the_key(required, message):
    with pytest.raises(ConfigurationError) as caught:
        Mappings(load_mappings(), {PARTNER: {"850-in": {"required": required}}})
    assert "mappings/850-in.toml" in str(caught.value) and message in str(caught.value)


def test_requirements_need_records_to_check_them_against():
    with pytest.raises(ConfigurationError, match="reads no parties records"):
        Mappings(load_mappings(), {PARTNER: {"856-in": {"required": {"parties": ["ST"]}}}})
