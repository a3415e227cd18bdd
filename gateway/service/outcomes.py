"""What taking in a file makes: the outcome of each transaction set (or cXML or CSV order), the
acknowledgements queued, the result of the file, and the file as the store keeps it. Shared by
the X12 ingestor (`gateway.service.ingest`) and the cXML and CSV intake
(`gateway.service.intake`)."""

from __future__ import annotations

from dataclasses import dataclass, field

TAKEN_STATUSES = frozenset({"accepted", "partly accepted"})
"""The inbound documents whose bytes and interchange control number are taken: those accepted
(a 997/999 went back for them). Refused, rejected and repeated ones leave both free."""

BATCH_SETS = 200
"""Sets applied per transaction when a file is taken in."""


@dataclass(slots=True)
class SetOutcome:
    """What became of one transaction set."""

    set_id: str
    control_number: str
    # created | replaced | cancelled | confirmed | fulfilled | changed | invoiced | acknowledged
    # | duplicate | refused | rejected | not mapped
    action: str
    po_number: str = ""
    message: str = ""
    recorded: bool = False  # written to the store with what it applied
    order_missing: bool = False  # refused because no order it names is held (yet)


@dataclass(slots=True)
class Acknowledgement:
    """An acknowledgement written for the file, queued for its partner."""

    partner: str
    kind: str  # TA1 | 997 | 999
    control_number: str
    content: bytes


@dataclass(slots=True)
class IngestResult:
    """What happened to one file."""

    filename: str
    sha256: str
    duplicate: str = ""  # why the file was not applied again, when it was a duplicate
    accepted: bool = False
    document_ids: list[int] = field(default_factory=list)
    sets: list[SetOutcome] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    first_issue: str = ""
    unauthorized: str = ""  # why the file, or a group of it, was refused for its mailbox
    resumed: bool = False  # taking it in had been cut short; the sets not done were applied
    reused: list[str] = field(default_factory=list)  # interchanges reusing a control number
    tolerated: list[str] = field(default_factory=list)  # deviations read as meant, described

    @property
    def troubled(self) -> list[SetOutcome]:
        """The sets an operator must look at: rejected, refused, not mapped."""
        return [s for s in self.sets if s.action in ("rejected", "refused", "not mapped")]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as the store keeps it: its hash and size, its name, and its bytes (or, for a large
    file, where the archive holds them)."""

    sha256: str
    size: int
    filename: str
    raw: bytes | None
    raw_path: str | None
