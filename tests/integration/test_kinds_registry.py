"""One registry of document kinds (issue 15): for every registered kind, ingest, export and the
check of the shipped mappings agree with what the kind declares, and a kind's registration alone
decides whether the gateway reads or sends it."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway import kinds
from gateway.config import load_mappings
from gateway.domain.values import Role
from gateway.errors import ConfigurationError
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision
from gateway.mapping.outbound_settings import settings_for
from gateway.service.ingest import Ingestor
from gateway.x12.reader import parse_bytes
from gateway.x12.schema import load_catalog
from tests.integration.outbound_scenarios import PO_4010, SELLER_PO, Store

MAPPINGS = Mappings(load_mappings())
FAMILIES = ("004010", "005010")


@pytest.fixture
def store(store_engine: Engine) -> Store:
    return Store(store_engine)


X12_KINDS = sorted(k for k, found in kinds.KINDS.items() if found.format == "x12")
EVERY_WRITER = sorted(k for fmt in ("x12", "cxml", "csv") for k in kinds.writers(fmt))
EVERY_READER = sorted(k for fmt in ("x12", "cxml", "csv") for k in kinds.readers(fmt))


@pytest.mark.parametrize("set_id", X12_KINDS)
def test_a_kind_has_its_schema_and_its_functional_id_from_it(set_id: str):
    found = kinds.KINDS[set_id]
    catalog = load_catalog()
    schemas = [catalog.schema_for(set_id, family) for family in FAMILIES]
    assert any(schemas), set_id  # the 999 exists from 005010 on
    for schema in filter(None, schemas):
        assert found.functional_id == schema.functional_id
    if found.reads or found.writes:  # the order documents: in both families
        assert all(schemas), set_id


@pytest.mark.parametrize("set_id", EVERY_WRITER)
def test_a_kind_we_send_has_its_mapping_and_settings(set_id: str):
    writes = kinds.KINDS[set_id].writes
    assert writes is not None
    assert MAPPINGS.get(writes.mapping).direction == "out"
    settings = settings_for(MAPPINGS, set_id, "", writes.settings, name=writes.mapping)
    assert isinstance(settings, writes.settings)
    assert set(writes.required) <= set(writes.options)


@pytest.mark.parametrize("set_id", sorted({k.stands_for for k in kinds.KINDS.values()} - {""}))
def test_a_kind_standing_for_a_set_takes_its_options_and_its_side(set_id: str):
    """What an operator asks for an X12 partner (an 855 with a decision) is asked the same way
    of a cXML or CSV partner: the kind standing for the set takes no option the set does not."""
    x12 = kinds.KINDS[set_id].writes
    for fmt in ("cxml", "csv"):
        found = kinds.for_partner(set_id, fmt)
        if found is None or found.writes is None or x12 is None:
            continue
        assert set(found.writes.options) <= set(x12.options), found.set_id
        assert found.writes.our_role is x12.our_role, found.set_id
        assert found.writes.tracks_as is x12.tracks_as, found.set_id


@pytest.mark.parametrize("set_id", EVERY_READER)
def test_a_kind_we_read_has_its_mapping(set_id: str):
    reads = kinds.KINDS[set_id].reads
    assert reads is not None
    mapping = MAPPINGS.get(reads.mapping)
    assert (mapping.direction, mapping.set_id) == ("in", set_id)


def test_a_kind_is_read_or_acknowledges_or_is_sent():
    for found in kinds.KINDS.values():
        assert found.reads or found.writes or found.acknowledges, found.set_id
    # the two sides of one trade: we receive what the other side sends
    for found in kinds.KINDS.values():
        if found.reads and found.writes:
            assert found.reads.our_role is not found.writes.our_role


def test_export_writes_what_the_registry_declares(store: Store):
    store.ingest(PO_4010)
    sent = store.export(SELLER_PO, "855", decision=Decision.accept_all())
    (interchange,), _ = parse_bytes(sent.content)
    (group,) = interchange.groups
    assert group.functional_id == kinds.KINDS["855"].functional_id == "PR"
    writes = kinds.KINDS["855"].writes
    assert writes is not None and writes.our_role is Role.SELLER
    with store.uow() as uow:
        (order,) = uow.orders.find(SELLER_PO)
        assert [d.kind for d in order.dispatches] == [writes.tracks_as]


def test_a_kind_taken_out_of_the_registry_is_neither_sent_nor_read(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delitem(kinds.KINDS, "855")
    monkeypatch.delitem(kinds.KINDS, "850")
    taken = Ingestor(store.uow, store.mappings).ingest(PO_4010.read_bytes(), PO_4010.name)
    assert [(s.set_id, s.action) for s in taken.sets] == [("850", "not mapped")]
    with pytest.raises(ConfigurationError, match="not transaction set '855'"):
        store.export(SELLER_PO, "855", decision=Decision.accept_all())
    assert "855" not in kinds.writers() and "850" not in kinds.readers()


def test_a_kind_registered_with_new_options_is_checked_by_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    original = kinds.KINDS["850"]
    assert original.writes is not None
    writes = dataclasses.replace(
        original.writes,
        options={"invoice_number": "invoice number"},
        required={"invoice_number": "an 850 needs an invoice number here"},
    )
    monkeypatch.setitem(kinds.KINDS, "850", dataclasses.replace(original, writes=writes))
    with pytest.raises(ConfigurationError, match="an 850 needs an invoice number here"):
        store.export("ANY", "850")


def test_every_kind_module_is_registered_by_being_there():
    """Adding a kind is adding its module: the registry finds every module of the package."""
    folder = Path(kinds.__file__).parent
    modules = sorted(p.stem for prefix in kinds.FORMATS for p in folder.glob(f"{prefix}*.py"))
    declared = {
        name: [k for k in vars(importlib.import_module(f"gateway.kinds.{name}")).values()
               if isinstance(k, kinds.Kind)]
        for name in modules
    }  # fmt: skip
    assert all(declared.values()), declared
    assert {k.set_id for found in declared.values() for k in found} == set(kinds.KINDS)
