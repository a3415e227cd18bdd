"""The document kinds the gateway reads and writes, in one registry, after h11's
`READERS`/`WRITERS` tables: one module per kind declares what it reads (its mapping, our role on
the orders it is about, its assembler) and what it writes (its mapping and settings, who sends it,
what it proves on the order, the options a person gives it, its builder and the commands sending
it records). Ingest, export, the command line's choices and the check of the shipped mappings read
this registry, and the functional identifier comes from the schemas: adding a kind is its module
(listed below), its mapping files and its schema.
"""

from __future__ import annotations

from gateway.kinds import x12_810, x12_850, x12_855, x12_856, x12_860, x12_865, x12_997
from gateway.kinds.base import BuildRequest, Built, Kind, Reads, Writes, records_nothing
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound_settings import settings_for

__all__ = [
    "KINDS",
    "BuildRequest",
    "Built",
    "Kind",
    "Reads",
    "Writes",
    "check_mappings",
    "kind",
    "readers",
    "records_nothing",
    "writers",
]

KINDS: dict[str, Kind] = {
    found.set_id: found
    for found in (
        x12_850.KIND,
        x12_855.KIND,
        x12_856.KIND,
        x12_860.KIND,
        x12_865.KIND,
        x12_810.KIND,
        x12_997.KIND,
        x12_997.IMPLEMENTATION_KIND,
    )
}


def kind(set_id: str) -> Kind | None:
    """The registered kind of a transaction set, if the gateway knows it."""
    return KINDS.get(set_id)


def readers() -> dict[str, Kind]:
    """The kinds the gateway takes in and applies to orders, by set id."""
    return {k: found for k, found in KINDS.items() if found.reads is not None}


def writers() -> dict[str, Kind]:
    """The kinds the gateway sends about orders, by set id."""
    return {k: found for k, found in KINDS.items() if found.writes is not None}


def check_mappings(mappings: Mappings) -> None:
    """Read every outbound kind's settings once (at start-up), so a bad mapping stops the gateway
    early rather than at its first document."""
    for set_id, found in writers().items():
        assert found.writes is not None
        settings_for(mappings, set_id, "", found.writes.settings)
