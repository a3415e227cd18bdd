"""The outbound mappings (mappings/*-out.toml) are read once and checked key by key: a mistake is
a ConfigurationError naming the file and the key; a partner's overrides merge over the file."""

from __future__ import annotations

import copy

import pytest

from gateway.config import load_mappings
from gateway.errors import ConfigurationError
from gateway.kinds import check_mappings as check_outbound_mappings
from gateway.kinds import writers
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound_settings import (
    AcknowledgementSettings,
    HierarchyStructure,
    PartyChoice,
    ShipNoticeSettings,
    settings_for,
)

SHIPPED = load_mappings()


def with_settings(name: str, **changes: object) -> Mappings:
    specs = copy.deepcopy(SHIPPED)
    specs[name]["settings"].update(changes)
    return Mappings(specs)


def test_every_outbound_set_has_a_mapping_file_that_reads_cleanly():
    for set_id in writers():
        assert SHIPPED[f"{set_id}-out"]["direction"] == "out"
    check_outbound_mappings(Mappings(SHIPPED))


def test_the_shipped_files_say_what_the_defaults_say():
    mappings = Mappings(SHIPPED)
    assert settings_for(mappings, "855", "", AcknowledgementSettings) == AcknowledgementSettings()
    assert settings_for(mappings, "856", "", ShipNoticeSettings) == ShipNoticeSettings()


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("855-out", {"hash_totl": True}, "855-out.toml: settings: unknown key 'hash_totl'"),
        ("855-out", {"hash_total": "yes"}, "settings.hash_total: expected true or false"),
        (
            "855-out",
            {"line_status": {"accepted": "IA", "rejectd": "IR"}},
            "settings.line_status: unknown key 'rejectd'",
        ),
        ("855-out", {"purpose_code": "000"}, "settings.purpose_code: '000' is not a code of 2"),
        ("856-out", {"structure": "SPI"}, "settings.structure: 'SPI' is not one of SOPI, SOTPI"),
        ("856-out", {"tracking_reference": "XX"}, "settings.tracking_reference: 'XX' is not"),
        ("856-out", {"product_ids": "UP"}, "settings.product_ids: expected a list of codes"),
        ("856-out", {"product_ids": ["UP", "UP"]}, "settings.product_ids: a code is listed twice"),
        ("810-out", {"parties": {"code": "RI"}}, "settings.parties: expected a list of tables"),
        (
            "810-out",
            {"parties": [{"cod": "RI"}]},
            "settings.parties[0]: `code` (the N101 to send) is missing",
        ),
        (
            "810-out",
            {"parties": [{"code": "RI"}, {"code": "RI", "from": ["VN"]}]},
            "settings.parties: an N101 code is sent twice",
        ),
        ("850-out", {"date_qualifiers": {"requested_ship": 10}}, "requested_ship: expected a code"),
        ("860-out", {"line_change": {"deleted": "D"}}, "settings.line_change.deleted: 'D'"),
        ("865-out", {"answer": "sometimes"}, "settings.answer: 'sometimes' is not one of"),
        ("865-out", {"line_status": {"refused": "I-R"}}, "settings.line_status.refused"),
    ],
)
def test_a_mistake_in_a_mapping_names_the_file_and_the_key(name, changes, message):
    with pytest.raises(ConfigurationError) as caught:
        check_outbound_mappings(with_settings(name, **changes))
    assert f"mappings/{name}.toml" in str(caught.value)
    assert message in str(caught.value)


def test_a_mapping_for_the_wrong_direction_is_refused():
    specs = copy.deepcopy(SHIPPED)
    specs["856-out"]["direction"] = "in"
    with pytest.raises(ConfigurationError, match=r'856-out.toml: expected set = "856"'):
        check_outbound_mappings(Mappings(specs))


def test_a_partners_overrides_merge_over_the_shipped_mapping():
    override = {
        "settings": {
            "structure": "SOTPI",
            "product_ids": ["UP"],
            "parties": [{"code": "SF", "from": ["SE"], "address": False}],
        }
    }
    mappings = Mappings(SHIPPED, {"ACME": {"856-out": override}})
    chosen = settings_for(mappings, "856", "ACME", ShipNoticeSettings)
    assert chosen.structure is HierarchyStructure.SOTPI
    assert chosen.lines.product_ids == ("UP",)
    assert chosen.parties == (PartyChoice("SF", ("SE",), address=False),)
    assert chosen.package_code == "CTN25"  # the rest as shipped
    assert settings_for(mappings, "856", "OTHER", ShipNoticeSettings) == ShipNoticeSettings()


def test_a_bad_override_names_the_partner():
    mappings = Mappings(SHIPPED, {"ACME": {"855-out": {"settings": {"bak02": "AC"}}}})
    with pytest.raises(ConfigurationError, match=r"with partner ACME's overrides.*'bak02'"):
        settings_for(mappings, "855", "ACME", AcknowledgementSettings)


def test_the_856_hierarchies_go_under_their_bsn05_codes():
    codes = {structure: structure.code for structure in HierarchyStructure}
    assert codes == {
        HierarchyStructure.SOPI: "0001",
        HierarchyStructure.SOTPI: "0001",
        HierarchyStructure.SOIP: "0002",
    }


def test_a_partners_bad_override_stops_the_start_up_check_of_every_kind_sent():
    mappings = Mappings(SHIPPED, {"ACME": {"856-out": {"settings": {"structure": "SOPX"}}}})
    check_outbound_mappings(mappings)  # as shipped: fine
    with pytest.raises(ConfigurationError, match=r"856-out.toml \(with partner ACME's overrides\)"):
        check_outbound_mappings(mappings, ["ACME"])
