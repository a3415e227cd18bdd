"""An 856's HL hierarchy as a partner may send it wrong: nested far deeper than any real
shipment (S, O, T, P, I is five levels) or with HL02 parents that loop or name no level. Each
is refused as the partner's fault (a `MappingError` on the set), never a crash of the mapping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.errors import MappingError
from gateway.mapping.inbound import ship_notice
from tests.unit.mapping.x12text import MAPPINGS, PO, context, tree

LIMIT = 50  # the deepest HL hierarchy the gateway maps, counting the shipment level
SHIPMENT = ["BSN*00*SH-1*20261121*1200*0001", "HL*1**S*1", "TD5*B*2*UPSN"]


def nested(depth: int) -> list[str]:
    """A shipment, its order, packs each inside the one before and one item at the bottom:
    `depth` HL levels, each the parent of the next."""
    body = [*SHIPMENT, f"HL*2*1*O*1~PRF*{PO}"]
    body += [f"HL*{n}*{n - 1}*P*1" for n in range(3, depth)]
    body.append(f"HL*{depth}*{depth - 1}*I*0~LIN*1*UP*000000000011~SN1**2*EA")
    return body


def test_a_hierarchy_a_thousand_levels_deep_is_refused_naming_the_limit_and_the_level():
    with pytest.raises(MappingError, match=f"HL {LIMIT + 1} .*deeper than {LIMIT} levels"):
        ship_notice(tree("856", nested(1000)), MAPPINGS.get("856-in"), context())


def test_a_hierarchy_just_past_the_limit_is_refused():
    with pytest.raises(MappingError, match=f"deeper than {LIMIT} levels"):
        ship_notice(tree("856", nested(LIMIT + 1)), MAPPINGS.get("856-in"), context())


def test_a_hierarchy_at_the_limit_maps_with_its_item_in_the_nearest_pack():
    mapped = ship_notice(tree("856", nested(LIMIT)), MAPPINGS.get("856-in"), context())
    (shipped,) = mapped.orders
    (item,) = shipped.items
    assert (item.level_id, item.quantity) == (str(LIMIT), Decimal(2))
    (pack,) = shipped.packs
    assert pack.level_id == str(LIMIT - 1)
    assert shipped.carrier == "UPSN"


def test_parents_naming_each_other_are_refused():
    body = [
        *SHIPMENT,
        "HL*2*3*O*1~PRF*" + PO,
        "HL*3*2*I*0~LIN*1*UP*000000000011~SN1**2*EA",
    ]
    with pytest.raises(MappingError, match="HL 2 names parent 3, not an earlier level"):
        ship_notice(tree("856", body), MAPPINGS.get("856-in"), context())


def test_a_level_naming_itself_as_its_parent_is_refused():
    body = [*SHIPMENT, f"HL*2*2*O*1~PRF*{PO}", "HL*3*2*I*0~LIN*1*UP*000000000011~SN1**2*EA"]
    with pytest.raises(MappingError, match="HL 2 names parent 2, not an earlier level"):
        ship_notice(tree("856", body), MAPPINGS.get("856-in"), context())


def test_a_parent_that_is_no_level_is_refused():
    body = [*SHIPMENT, f"HL*2*9*O*1~PRF*{PO}", "HL*3*2*I*0~LIN*1*UP*000000000011~SN1**2*EA"]
    with pytest.raises(MappingError, match="HL 2 names parent 9, not an earlier level"):
        ship_notice(tree("856", body), MAPPINGS.get("856-in"), context())
