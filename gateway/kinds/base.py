"""What a document kind declares: what it reads (its inbound mapping, our role on the orders it
is about, the assembler that makes commands of it) and what it writes (its outbound mapping, its
settings, who sends it, what it proves on the order, the options a person gives it, and the
builder that makes its sets and the commands sending it records). See `gateway.kinds`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.commands import Command
from gateway.domain.model import Order
from gateway.domain.values import DocumentKind, Role
from gateway.mapping.engine import SetMapping
from gateway.mapping.inbound import Context
from gateway.mapping.outbound import ChangeAnswer, Decision
from gateway.mapping.outbound_settings import HierarchyStructure
from gateway.x12.document import Segment
from gateway.x12.schema import load_catalog

Assembler = Callable[[Any, SetMapping, Context], Any]
"""(the set's tree (`Loop`), or the record a cXML or CSV codec read, its mapping, where it
comes from) -> what it says (a `PurchaseOrder` for a kind that opens orders, an
`OrderDocument` for one about orders held)."""

Recorder = Callable[[str, str], list[Command]]
"""(source, record id) -> the commands that sending a document records on its order."""


def records_nothing(source: str, record: str) -> list[Command]:
    """For a document whose sending changes nothing on the order but its dispatch."""
    return []


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What a builder makes its sets of: the order, the kind's settings with the partner's
    overrides, the time, how many documents of this kind we sent about the order before, and
    the options a person gave (each kind takes those it declares)."""

    order: Order
    settings: Any
    now: dt.datetime
    sent_before: int = 0
    decision: Decision | None = None
    fulfilment_ids: tuple[str, ...] = ()
    invoice_number: str | None = None
    structure: HierarchyStructure | None = None
    change_answer: ChangeAnswer | None = None
    document_id: str = ""  # a cXML or CSV document's own id (its payloadID)
    answering: str = ""  # the id of the partner's document it answers (their OrderRequest's)
    header: Any = None  # a cXML document's Envelope (credentials, time)
    test: bool = False  # a test document (the order is a test one, or the partner is in test)


@dataclass(frozen=True, slots=True)
class Built:
    """The bodies of the sets (or, for a cXML or CSV document, its `content`), what sending
    them records on the order, and the fulfilments an 856 carries (the order follows its
    delivery)."""

    bodies: list[list[Segment]]
    recorded: Recorder = records_nothing
    fulfilment_ids: tuple[str, ...] = ()
    content: bytes = b""


@dataclass(frozen=True, slots=True)
class Reads:
    """A kind the gateway takes in and applies to orders."""

    mapping: str  # the mapping file (without .toml) its fields are read by
    our_role: Role  # ours on the orders it is about, when we receive it
    assemble: Assembler
    what: str  # how a refused one is named in an order's history
    opens_orders: bool = False  # an order itself (opened, replaced, cancelled), not about one held
    either_side: bool = False  # sent by buyers and sellers alike (our role: the partner's other)


@dataclass(frozen=True, slots=True)
class Writes:
    """A kind the gateway sends about an order."""

    mapping: str  # the mapping file holding its settings
    our_role: Role  # ours on the orders we send it about: the side that sends it
    settings: Any  # the settings class: `read(table)` gives the checked choices
    tracks_as: DocumentKind  # what its delivery and acceptance prove on the order
    build: Callable[[BuildRequest], Built]
    options: Mapping[str, str] = field(default_factory=dict)  # option -> what a person calls it
    required: Mapping[str, str] = field(default_factory=dict)  # option -> why it cannot do without


@dataclass(frozen=True, slots=True)
class Kind:
    """One document kind: a transaction set, a cXML request or a kind of CSV file. `set_id`
    names it (the set id, the cXML element, `csv-<kind>`); a cXML or CSV kind `stands_for`
    the transaction set it takes the place of with a partner of its format (the ship notice
    request an 856's)."""

    set_id: str
    name: str
    reads: Reads | None = None
    writes: Writes | None = None
    acknowledges: bool = False  # a functional acknowledgement (997, 999): answers our groups
    format: str = "x12"
    stands_for: str = ""
    extension: str = "x12"  # of the files it is delivered in

    @property
    def functional_id(self) -> str:
        """GS01 for a group of this kind's sets, from the schemas."""
        found = load_catalog().functional_id_of(self.set_id)
        if found is None:
            raise LookupError(f"no schema gives transaction set {self.set_id} a functional id")
        return found
