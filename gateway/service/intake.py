"""Taking in a cXML or CSV file, with the guarantees of an X12 file's: stored before anything is
applied, authorized, de-duplicated, each order applied exactly once, answered.

Strategy: the file is read whole (a cXML document is at most `safe.MAX_BYTES`, a CSV file at
most MAX_CSV_BYTES) into units: the one order of a cXML OrderRequest, each order of a CSV file
(its rows together), each answered document of a partner's cXML Response. The file is stored
with what it is and whether it is refused (unreadable, not from the partner, a payloadID taken
in before); a refused cXML document's Response (400, 401, 406) is queued in the same
transaction. Then each unit is applied as an X12 transaction set is (the same order rules, the
same records: a unit is done when its record commits), in batches, each in a savepoint of its
own; a CSV order with a bad row is recorded as rejected, naming the row and the column, while
the file's good orders go through. A cXML order's Response (200 when applied, 406 or 409 naming
the problem) is queued with the unit's record, so a crash leaves both or neither. A file whose
taking in was cut short resumes with the units that have no record.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway import kinds
from gateway.config import CxmlCredential, CxmlProfile, PartnerProfile
from gateway.csvformat import (
    CsvLayout,
    RowProblem,
    header_matches,
    read_cancellations,
    read_orders,
    read_ship_notices,
)
from gateway.cxml import reader as cxml_reader
from gateway.cxml import writer as cxml_writer
from gateway.cxml.model import Credential, Parties, Response
from gateway.cxml.safe import MAX_BYTES, parse
from gateway.domain.values import Role
from gateway.errors import ConfigurationError, CsvError, CxmlError, MappingError, shown
from gateway.mapping.csv_orders import layout as csv_layout
from gateway.mapping.inbound import Context, OrderDocument, PurchaseOrder
from gateway.service.outcomes import (
    BATCH_SETS,
    TAKEN_STATUSES,
    Acknowledgement,
    IngestResult,
    SetOutcome,
    StoredFile,
)
from gateway.service.ports import StoredDocument, UnitOfWork
from gateway.service.tracking import set_document_status

if TYPE_CHECKING:
    from gateway.service.ingest import Ingestor

MAX_CSV_BYTES = 256 << 20
"""A CSV file larger than this is refused whole (read in memory: 256 MiB is about two million
order lines)."""

RESPONSE_TEXTS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    406: "Not Acceptable",
    409: "Conflict",
    500: "Internal Server Error",
}
"""The cXML status codes we answer with, and their text."""

ANSWERED_STATUSES = ("sent", "overdue")
"""Our documents waiting for the partner's Response."""


@dataclass(slots=True)
class Unit:
    """One thing a file says, applied and recorded on its own: an order (cXML or a CSV file's
    rows of one PO), or a partner's Response."""

    key: str  # its record's name within the document: the PO number (the payloadID answered)
    kind: kinds.Kind
    record: Any  # what the codec read, for the kind's assembler
    po_number: str = ""
    problem: str = ""  # why it cannot be applied (a bad row): recorded as rejected


@dataclass(slots=True)
class Read:
    """What a file is: its kind, its units, and why it is refused as a whole (if it is)."""

    kind: kinds.Kind | None
    units: list[Unit] = field(default_factory=list)
    refusal: str = ""
    code: int = 200  # the cXML status a refused file is answered with
    unauthorized: bool = False
    payload_id: str = ""  # a cXML document's
    sender: str = ""
    receiver: str = ""
    test: bool = False

    def owes_response(self, profile: PartnerProfile) -> bool:
        """Whether we answer the file with a cXML Response: a cXML partner's document, unless
        it is their Response to ours."""
        return profile.format == "cxml" and (self.kind is None or self.kind.reads is not None)

    @property
    def status(self) -> str:
        if self.unauthorized:
            return "unauthorized"
        if self.refusal:
            return "rejected"
        if any(unit.problem for unit in self.units):
            return "partly accepted"
        return "accepted"


class FileIntake:
    """Takes in the cXML and CSV files of partners who do not speak X12, through the order
    rules and records of an `Ingestor` (`gateway.service.ingest`)."""

    def __init__(self, ingestor: Ingestor, *, over_http: bool = False):
        self.ingestor = ingestor
        self.over_http = over_http  # a cXML document POSTed: answered in the exchange

    # -- reading --

    def read(self, raw: bytes, profile: PartnerProfile) -> Read:
        """What `raw`, come from `profile`'s partner, is and says."""
        if profile.format == "cxml":
            return self._read_cxml(raw, profile)
        return self._read_csv(raw, profile)

    def _read_cxml(self, raw: bytes, profile: PartnerProfile) -> Read:
        try:
            root = parse(raw)  # once, for every reading below
            kind_name = cxml_reader.document_kind(root)
            if kind_name == "Response":
                response = cxml_reader.read_response(root)
                answer = kinds.KINDS["Response"]
                key = response.in_reply_to or "(oldest waiting)"
                return Read(answer, [Unit(key, answer, response)], payload_id=response.payload_id)
            if kind_name != "OrderRequest":
                return Read(
                    None,
                    refusal=f"a {shown(kind_name)} is not a document the gateway takes in",
                    code=406,
                )
            request = cxml_reader.read_order_request(root)
        except CxmlError as exc:
            return Read(None, refusal=str(exc), code=400)
        kind = kinds.KINDS["OrderRequest"]
        found = Read(
            kind,
            payload_id=request.payload_id,
            sender=_first(request.parties.from_),
            receiver=_first(request.parties.to),
            test=request.deployment_mode == "test",
        )
        assert profile.cxml is not None  # a cxml profile has its credentials
        why = _unauthenticated(request.parties, profile.cxml)
        if why:
            found.unauthorized, found.refusal, found.code = True, why, 401
            return found
        order = request.header.order_id
        found.units.append(Unit(order, kind, request, order))
        return found

    def _read_csv(self, raw: bytes, profile: PartnerProfile) -> Read:
        layouts = self._layouts(profile)
        score, chosen = max(
            ((header_matches(raw, lay), (k, lay)) for k, lay in layouts),
            key=lambda found: found[0],
            default=(0, None),
        )
        if score == 0 or chosen is None:
            headerless = [(k, lay) for k, lay in layouts if not lay.header]
            if len(headerless) != 1:
                kinds_named = ", ".join(k.set_id for k, _ in layouts)
                return Read(
                    None,
                    refusal=f"its header row names the columns of none of the files {profile.key}"
                    f" sends ({kinds_named}); see mappings/csv-*-in.toml and the profile's"
                    " overrides",
                )
            chosen = headerless[0]
        kind, layout = chosen
        found = Read(kind)
        try:
            if layout.kind == "orders":
                orders = read_orders(raw, layout)
                found.units = [Unit(o.po_number, kind, o, o.po_number) for o in orders.orders]
                problems = orders.problems
            elif layout.kind == "ship_notices":
                notices = read_ship_notices(raw, layout)
                found.units = _grouped(kind, [(n.po_number, n) for n in notices.notices])
                problems = notices.problems
            else:
                cancelled = read_cancellations(raw, layout)
                found.units = _grouped(kind, [(c.po_number, c) for c in cancelled.cancellations])
                problems = cancelled.problems
        except CsvError as exc:
            return Read(kind, refusal=str(exc))
        found.units += _refused(kind, problems)
        if not found.units:
            found.refusal = "the file holds no rows"
        return found

    def _layouts(self, profile: PartnerProfile) -> list[tuple[kinds.Kind, CsvLayout]]:
        """The CSV files a partner sends us, each with its layout for them: a buyer's orders
        and cancellations, a seller's ship notices and cancellations."""
        our_role = Role.SELLER if profile.role == "buyer" else Role.BUYER
        return [
            (found, csv_layout(self.ingestor.mappings.get(found.reads.mapping, profile.key)))
            for found in kinds.readers("csv").values()
            if found.reads is not None
            and (found.reads.our_role is our_role or found.reads.either_side)
        ]

    # -- taking in --

    def take(
        self,
        chunks: Callable[[], Iterable[bytes]],
        size: int,
        stored_file: StoredFile,
        profile: PartnerProfile,
        result: IngestResult,
        unfinished: Sequence[StoredDocument],
    ) -> None:
        """Take in a file of `profile`'s partner (`stored_file`: its name, digest and where its
        bytes are kept) into `result`: stored (or, when `unfinished`, resumed) and each unit
        applied once."""
        now = self.ingestor.clock()
        limit = MAX_CSV_BYTES if profile.format == "csv" else MAX_BYTES
        if size > limit:
            raw, read = b"", Read(None, refusal=f"the file is over {limit >> 20} MiB", code=400)
        else:
            raw = b"".join(chunks())
            read = self.read(raw, profile)

        if unfinished:
            stored = unfinished[0]
            assert stored.id is not None
            document_id, result.resumed = stored.id, True
            status = stored.status
        else:
            document_id, status, answers = self._store(stored_file, profile, read, now)
            result.acknowledgements.extend(answers)
            self.ingestor.checkpoint("stored")
        result.document_ids = [document_id]
        result.accepted = status in ("accepted", "partly accepted")
        result.first_issue = read.refusal if not read.unauthorized else ""
        if read.unauthorized:
            result.unauthorized = read.refusal
        if status == "duplicate":
            result.duplicate = (
                f"{read.kind.name if read.kind else 'the document'} {read.payload_id} was taken"
                " in before; answered again and not applied again"
            )
        if not (result.accepted and self._apply(read, profile, document_id, now, result)):
            with self.ingestor.uow_factory() as uow:
                uow.documents.mark_processed(document_id)
                uow.commit()

    def _store(
        self,
        stored_file: StoredFile,
        profile: PartnerProfile,
        read: Read,
        now: dt.datetime,
    ) -> tuple[int, str, list[Acknowledgement]]:
        """Store the file with what it is; a refused (or repeated) cXML document's Response
        queued with it. The document's id and status, and the Response queued."""
        status = read.status
        answers = []
        with self.ingestor.uow_factory() as uow:
            if status == "accepted" and _repeated(uow, profile, read):
                status = "duplicate"
            document_id = uow.documents.add(
                StoredDocument(
                    sha256=stored_file.sha256,
                    partner=profile.key,
                    direction="in",
                    size=stored_file.size,
                    status=status,
                    raw=stored_file.raw,
                    raw_path=stored_file.raw_path,
                    transaction_sets=(read.kind.set_id,) if read.kind else (profile.format,),
                    interchange_control=read.payload_id or None,
                    sender_id=read.sender or profile.key,
                    receiver_id=read.receiver or None,
                    filename=stored_file.filename,
                    set_controls=tuple(unit.key for unit in read.units),
                )
            )
            if read.owes_response(profile) and status == "duplicate":
                text = "already received; not applied again"
                answers.append(self._respond(uow, profile, read, 200, text, now))
            elif read.owes_response(profile) and read.refusal:
                answers.append(self._respond(uow, profile, read, read.code, read.refusal, now))
            uow.commit()
        return document_id, status, answers

    def _apply(
        self,
        read: Read,
        profile: PartnerProfile,
        document_id: int,
        now: dt.datetime,
        result: IngestResult,
    ) -> bool:
        """Apply each unit not applied yet, in batches, each with its record (and, for a cXML
        order, its Response) or nothing of it; the last batch marks the document processed.
        Whether there was a unit to apply (else the caller marks it)."""
        with self.ingestor.uow_factory() as uow:
            done = {record.set_control for record in uow.documents.sets(document_id)}
        waiting = [unit for unit in read.units if unit.key not in done]
        self.ingestor.progress(0, len(waiting))
        for start in range(0, len(waiting), BATCH_SETS):
            with self.ingestor.uow_factory() as uow:
                uow.defer_writes()
                for unit in waiting[start : start + BATCH_SETS]:
                    assert read.kind is not None
                    outcome = SetOutcome(read.kind.set_id, unit.key, "not mapped", unit.po_number)
                    self._apply_unit(uow, unit, read, profile, document_id, now, outcome)
                    if outcome.order_missing and not outcome.recorded:
                        uow.commit()  # nothing held while the files before it are waited for
                        if self.ingestor.await_earlier():
                            outcome = SetOutcome(
                                read.kind.set_id, unit.key, "not mapped", unit.po_number
                            )
                            self._apply_unit(uow, unit, read, profile, document_id, now, outcome)
                    if not outcome.recorded:
                        self.ingestor.record_outcome(uow, document_id, "", outcome)
                    if read.owes_response(profile):
                        code, text = _answer(outcome)
                        result.acknowledgements.append(
                            self._respond(uow, profile, read, code, text, now)
                        )
                    result.sets.append(outcome)
                if start + BATCH_SETS >= len(waiting):
                    uow.documents.mark_processed(document_id)
                uow.commit()
            self.ingestor.progress(min(start + BATCH_SETS, len(waiting)), len(waiting))
            self.ingestor.checkpoint("set")
            self.ingestor.heartbeat()
        return bool(waiting)

    def _apply_unit(
        self,
        uow: UnitOfWork,
        unit: Unit,
        read: Read,
        profile: PartnerProfile,
        document_id: int,
        now: dt.datetime,
        outcome: SetOutcome,
    ) -> None:
        if unit.problem:
            outcome.action, outcome.message = "rejected", unit.problem
            return
        if isinstance(unit.record, Response):
            self._answered(uow, unit.record, profile, document_id, outcome)
            return
        reads = unit.kind.reads
        assert reads is not None
        our_role = Role.SELLER if profile.role == "buyer" else Role.BUYER
        what = f"{unit.kind.name} {read.payload_id}".rstrip() if read.payload_id else unit.kind.name
        context = Context(
            partner=profile.key,
            our_role=our_role,
            at=now,
            source=f"{what}, order {unit.po_number} (document {document_id})",
            is_test=read.test,
        )
        try:
            mapped = reads.assemble(
                unit.record, self.ingestor.mappings.get(reads.mapping, profile.key), context
            )
        except (MappingError, ConfigurationError) as exc:
            outcome.action, outcome.message = "rejected", str(exc)
            return
        if isinstance(mapped, PurchaseOrder):
            record = f"{unit.kind.set_id}-{read.payload_id or document_id}-{unit.key}"
            self.ingestor.apply_purchase_order(uow, mapped, record, document_id, "", outcome)
        else:
            document: OrderDocument = mapped
            self.ingestor.apply_order_document(
                uow, document, context, document_id, "", now, outcome
            )

    def _answered(
        self,
        uow: UnitOfWork,
        response: Response,
        profile: PartnerProfile,
        document_id: int,
        outcome: SetOutcome,
    ) -> None:
        """A partner's Response: the document of ours it answers (the payloadID it names, else
        the oldest one waiting) is acknowledged (2xx) or rejected (anything else)."""
        sent = uow.documents.listing(partner=profile.key, direction="out", limit=10_000)
        named = [
            d
            for d in sent
            if not response.in_reply_to or d.interchange_control == response.in_reply_to
        ]
        ours = [
            d
            for d in named
            if d.status in ANSWERED_STATUSES
            and d.transaction_sets
            and d.transaction_sets[0] not in ("Response",)
        ]
        if response.in_reply_to and not ours:
            ours = named  # answered before: the later answer stands
        if not ours:
            outcome.action = "refused"
            outcome.message = (
                f"answers {response.in_reply_to or 'a document'}, which was never sent to"
                f" {profile.key} (or was answered already)"
            )
            return
        answered = min(ours, key=lambda d: d.id or 0)
        assert answered.id is not None
        accepted = 200 <= response.status_code < 300
        status = "acknowledged" if accepted else "rejected"
        with uow.savepoint():
            set_document_status(
                uow,
                answered.id,
                status,
                self.ingestor.clock(),
                f"their Response {response.status_code} {response.text}".rstrip(),
            )
            if not accepted:
                what = f"their Response {response.status_code} {response.text}: {response.detail}"
                self.ingestor.alert_rejected(uow, profile.key, [answered], what.rstrip(": "))
            outcome.action = "acknowledged"
            outcome.po_number = ",".join(po for _, po in uow.documents.orders_of(answered.id))
            outcome.message = (
                f"{answered.transaction_sets[0]} {answered.interchange_control} {status}"
                f" (Response {response.status_code}): document {answered.id}"
            )
            self.ingestor.record_outcome(uow, document_id, "", outcome)

    def _respond(
        self,
        uow: UnitOfWork,
        profile: PartnerProfile,
        read: Read,
        code: int,
        detail: str,
        now: dt.datetime,
    ) -> Acknowledgement:
        """Queue the Response answering a cXML document, in `uow`."""
        number = uow.control_numbers.next(profile.key, "interchange")
        ours = profile.cxml.us if profile.cxml is not None else CxmlCredential("", "gateway")
        payload_id = cxml_writer.payload_id(now, number, "Response", host=ours.identity)
        content = cxml_writer.response(
            read.payload_id or None,
            code,
            RESPONSE_TEXTS.get(code, "Error"),
            payload_id=payload_id,
            timestamp=now,
            detail=detail,
        )
        document_id = uow.documents.add(
            StoredDocument.ours(
                profile.key,
                content,
                status="sent" if self.over_http else "queued",  # answered in the exchange
                transaction_sets=("Response",),
                interchange_control=payload_id,
                sender_id=str(ours),
                receiver_id=read.sender or None,
            )
        )
        if self.over_http:
            return Acknowledgement(profile.key, "Response", payload_id, content)
        uow.outbox.queue(
            "x12",
            profile.key,
            {"document_id": document_id, "kind": "Response", "code": code},
            document_id=document_id,
        )
        return Acknowledgement(profile.key, "Response", payload_id, content)


def cxml_partner(raw: bytes, partners: Sequence[PartnerProfile]) -> PartnerProfile | None:
    """The cXML partner whose credential a document's `From` names (None: nobody's); a
    `CxmlError` for a document that is no cXML or unsafe to read."""
    parties = cxml_reader.read_parties(raw)
    return next(
        (p for p in partners if p.cxml is not None and _matches(parties.from_, p.cxml.them)),
        None,
    )


def _repeated(uow: UnitOfWork, profile: PartnerProfile, read: Read) -> bool:
    """Whether a cXML order's payloadID was taken in from its sender before."""
    if not read.payload_id or read.kind is None or read.kind.reads is None:
        return False
    return any(
        d.status in TAKEN_STATUSES
        for d in uow.documents.with_interchange(profile.key, "in", read.sender, read.payload_id)
    )


def _first(credentials: tuple[Credential, ...]) -> str:
    return f"{credentials[0].domain}/{credentials[0].identity}" if credentials else ""


def _matches(credentials: tuple[Credential, ...], wanted: CxmlCredential) -> bool:
    """Whether one of a Header's credentials is `wanted` (domains compared without case)."""
    return any(
        c.domain.casefold() == wanted.domain.casefold() and c.identity == wanted.identity
        for c in credentials
    )


def _unauthenticated(parties: Parties, profile: CxmlProfile) -> str:
    """Why a cXML document's Header is not the partner's to us ("" when it is): From, To and
    Sender must name the partner, us and their sender, and the Sender's SharedSecret must be
    the one the profile's environment variable holds."""
    if not _matches(parties.from_, profile.them):
        return f"its From credential is not {profile.them} (found {_named(parties.from_)})"
    if not _matches(parties.to, profile.us):
        return f"its To credential is not ours, {profile.us} (found {_named(parties.to)})"
    senders = [
        c
        for c in parties.sender
        if c.domain.casefold() == profile.sender.domain.casefold()
        and c.identity == profile.sender.identity
    ]
    if not senders:
        return f"its Sender credential is not {profile.sender} (found {_named(parties.sender)})"
    secret = profile.secret().encode()
    if not any(hmac.compare_digest(c.shared_secret.encode(), secret) for c in senders):
        return "its SharedSecret is not the one agreed with the partner"
    return ""


def _named(credentials: tuple[Credential, ...]) -> str:
    return ", ".join(shown(f"{c.domain}/{c.identity}") for c in credentials) or "none"


def _grouped(kind: kinds.Kind, rows: list[tuple[str, Any]]) -> list[Unit]:
    """One unit per PO number, its rows in file order."""
    found: dict[str, list[Any]] = {}
    for po_number, row in rows:
        found.setdefault(po_number, []).append(row)
    return [Unit(po, kind, (po, tuple(found_rows)), po) for po, found_rows in found.items()]


def _refused(kind: kinds.Kind, problems: list[RowProblem]) -> list[Unit]:
    """A unit recorded as rejected per order a bad row refuses (the first problem named; a
    row without a PO number counts as its own)."""
    found: dict[str, list[RowProblem]] = {}
    for problem in problems:
        key = problem.po_number or f"row {problem.row}"
        found.setdefault(key, []).append(problem)
    return [
        Unit(
            key,
            kind,
            None,
            problems[0].po_number,
            "; ".join(str(p) for p in problems),
        )
        for key, problems in found.items()
    ]


def answered_before(uow: UnitOfWork, document_id: int) -> tuple[int, str]:
    """The status a cXML order taken in before was answered with, from its record (a retry of
    the same bytes is answered as the first time, and not applied again)."""
    records = uow.documents.sets(document_id)
    if not records:
        return 200, "already received; not applied again"
    record = records[0]
    return _answer(
        SetOutcome(
            record.set_id, record.set_control, record.action, record.po_number, record.message
        )
    )


def _answer(outcome: SetOutcome) -> tuple[int, str]:
    """The status a cXML order's Response gives for what became of it."""
    if outcome.action in ("created", "replaced", "cancelled"):
        return 200, f"order {outcome.po_number} {outcome.action}"
    if outcome.action == "rejected":
        return 406, outcome.message
    return 409, outcome.message or f"order {outcome.po_number}: {outcome.action}"
