"""The document kinds the gateway reads and writes, in one registry, after h11's
`READERS`/`WRITERS` tables: one module per kind declares what it reads (its mapping, our role on
the orders it is about, its assembler) and what it writes (its mapping and settings, who sends it,
what it proves on the order, the options a person gives it, its builder and the commands sending
it records). Ingest, export, the command line's choices and the check of the shipped mappings read
this registry, and the functional identifier comes from the schemas: adding a kind is its module
(listed below), its mapping files and its schema.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

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
    "for_partner",
    "kind",
    "of_document",
    "readers",
    "records_nothing",
    "writers",
]

FORMATS = ("x12_", "cxml_", "csv_")
"""The prefixes of the kind modules, one per format."""


def _registered() -> dict[str, Kind]:
    """Every `Kind` the kind modules of this package declare, by set id: a module added here is
    registered, nothing else to change."""
    found: dict[str, Kind] = {}
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith(FORMATS):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, Kind):
                if value.set_id in found and found[value.set_id] is not value:
                    raise LookupError(f"two document kinds for {value.set_id}")
                found[value.set_id] = value
    return dict(sorted(found.items()))


KINDS: dict[str, Kind] = _registered()


def kind(set_id: str) -> Kind | None:
    """The registered kind of a transaction set, if the gateway knows it."""
    return KINDS.get(set_id)


def of_document(transaction_sets: tuple[str, ...]) -> Kind | None:
    """The kind of a stored document, from its first transaction set (or cXML/CSV kind)."""
    return KINDS.get(transaction_sets[0]) if transaction_sets else None


def readers(document_format: str = "x12") -> dict[str, Kind]:
    """The kinds of a format the gateway takes in and applies to orders, by set id."""
    return {
        k: found
        for k, found in KINDS.items()
        if found.reads is not None and found.format == document_format
    }


def writers(document_format: str = "x12") -> dict[str, Kind]:
    """The kinds of a format the gateway sends about orders, by set id."""
    return {
        k: found
        for k, found in KINDS.items()
        if found.writes is not None and found.format == document_format
    }


def for_partner(set_id: str, document_format: str) -> Kind | None:
    """The kind that sends what `set_id` (an X12 set) sends, to a partner of
    `document_format`: the set itself for X12, the cXML or CSV kind standing for it otherwise."""
    if document_format == "x12":
        return writers().get(set_id)
    return next((k for k in writers(document_format).values() if k.stands_for == set_id), None)


def check_mappings(mappings: Mappings, partners: Iterable[str] = ()) -> None:
    """Read every outbound kind's settings once (at start-up), as shipped and with each of
    `partners`' overrides, so a bad mapping or a partner's bad override stops the gateway early
    rather than at its first document."""
    every = [found for fmt in ("x12", "cxml", "csv") for found in writers(fmt).values()]
    for partner in ("", *partners):
        for found in every:
            assert found.writes is not None
            settings_for(
                mappings, found.set_id, partner, found.writes.settings, name=found.writes.mapping
            )
