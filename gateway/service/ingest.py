"""Taking in one inbound file: validate, store, acknowledge, map and apply.

Strategy: the file is read as a stream, twice. The first reading validates it; then its bytes
(or, for a large file, where the archive holds them) are stored and its acknowledgements queued
in one transaction, before any transaction set is applied, so nothing read is ever lost and every
file gets its 997/999/TA1. The second reading hands each accepted set over as soon as it is read:
it is mapped and applied in a savepoint of its own inside a batch transaction (BATCH_SETS sets),
with the record of what became of it (`document_sets`). All the commands of a set commit
together; a set the rules refuse changes nothing but its record and the order's history (a late
fulfilment is kept on its order, as the message bus keeps it); the sets after it still go
through; a set another worker got in the way of is tried again. A file whose taking in was cut
short (a crash) resumes with the sets that have no record. Acknowledgements received (997, 999,
TA1) mark the outbound documents they answer. A file whose bytes were already taken in whole, or
an interchange whose sender and control number were already processed, is a duplicate and is not
applied again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

from gateway import kinds
from gateway.config import PartnerProfile
from gateway.cxml.reader import sniff as cxml_sniff
from gateway.domain.commands import AddNote, Command, RecordRefusal
from gateway.domain.model import Order
from gateway.domain.values import Role
from gateway.errors import (
    ConcurrentUpdate,
    CxmlError,
    MappingError,
    OrderNotFound,
    RuleViolation,
)
from gateway.logs import event
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import (
    Context,
    OrderChange,
    OrderDocument,
    PurchaseOrder,
)
from gateway.mapping.outbound import ChangeAnswer
from gateway.service.export import answer_change
from gateway.service.intake import FileIntake, cxml_partner
from gateway.service.messagebus import MessageBus, RefusalRecorded, apply_command
from gateway.service.notify import Alerts
from gateway.service.outcomes import (
    BATCH_SETS,
    TAKEN_STATUSES,
    Acknowledgement,
    IngestResult,
    SetOutcome,
    StoredFile,
)
from gateway.service.ports import SetRecord, StoredDocument, UnitOfWork
from gateway.service.shipping import with_carrier_resolved
from gateway.service.tracking import set_document_status
from gateway.x12.ack import (
    AckFormat,
    GroupAck,
    Stamp,
    build_acknowledgements,
    read_functional_ack,
    read_ta1,
)
from gateway.x12.digest import InterchangeDigest, digest_of, interchange_digests
from gateway.x12.document import FunctionalGroup, Interchange, Segment, TransactionSet
from gateway.x12.model import (
    FileReport,
    GroupCode,
    GroupReport,
    InterchangeReport,
    Issue,
    Level,
    TA1Code,
    TransactionReport,
    envelope_values,
)
from gateway.x12.reader import CHUNK_SIZE, Reader, read_chunks
from gateway.x12.schema import Catalog, load_catalog
from gateway.x12.serializer import serialize
from gateway.x12.tree import build_tree

LOG = logging.getLogger("gateway.ingest")

NOT_ABOUT_OUR_ORDER = frozenset({"set-direction-follows-role"})
"""Refusals saying the set is not about an order we hold on its receiving side: nothing is kept
on the order it names."""

ACK_STATUSES = {"A": "acknowledged", "E": "acknowledged", "P": "partly rejected", "R": "rejected"}
"""AK9 / TA104 codes and what they make of the outbound document they answer."""


def _log_taken(result: IngestResult) -> None:
    """What a file did, once it is committed: each set at DEBUG, a set refused, rejected or not
    mapped at WARNING (a person may act), the file at DEBUG (`gateway.runner` tells the pass)."""
    for outcome in result.sets:
        troubled = outcome.action in ("refused", "rejected", "not mapped")
        event(
            LOG,
            f"set {outcome.action}",
            logging.WARNING if troubled else logging.DEBUG,
            file=result.filename,
            set=outcome.set_id,
            control=outcome.control_number,
            po=outcome.po_number,
            why=outcome.message if troubled else "",
        )
    event(
        LOG,
        "file taken in" if result.accepted else "file not accepted",
        logging.DEBUG,
        file=result.filename,
        sha256=result.sha256[:16],
        duplicate=result.duplicate,
        first_issue=result.first_issue,
        unauthorized=result.unauthorized,
        sets=len(result.sets),
        acknowledgements=len(result.acknowledgements),
        tolerated=len(result.tolerated),
    )


def _refused_what(set_id: str) -> str:
    """How a refused set is named in the order's history (its kind says)."""
    found = kinds.kind(set_id)
    return found.reads.what if found is not None and found.reads is not None else set_id


def partner_of(report: InterchangeReport) -> str:
    """The partner an interchange comes from, named by its ISA sender (until partner profiles)."""
    return report.sender_id or "UNKNOWN"


class StoreControlNumbers:
    """Control numbers for one partner from the store, inside the current transaction."""

    def __init__(self, uow: UnitOfWork, partner: str):
        self._uow = uow
        self._partner = partner

    def next_interchange(self) -> int:
        return self._uow.control_numbers.next(self._partner, "interchange")

    def next_group(self) -> int:
        return self._uow.control_numbers.next(self._partner, "group")


class Ingestor:
    """Takes in files, one at a time."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        mappings: Mappings,
        *,
        catalog: Catalog | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        ack_format: AckFormat = AckFormat.FA997,
        partners: Sequence[PartnerProfile] = (),
        checkpoint: Callable[[str], None] = lambda point: None,
        alerts: Alerts | None = None,
        bus: MessageBus | None = None,
    ):
        self.uow_factory = uow_factory
        self.bus = bus or MessageBus(uow_factory)
        """The commands of the sets taken in go through the bus's retry, inside the file's
        transaction (each set in a savepoint)."""
        self.alerts = alerts
        self.names = {p.key: p.name for p in partners}
        self.profiles = {p.key: p for p in partners}
        self.mappings = mappings
        self.catalog = catalog or load_catalog()
        self.clock = clock
        self.ack_format = ack_format
        self.directory = {(p.identity.isa_qualifier, p.identity.isa_id): p for p in partners}
        self.checkpoint = checkpoint
        self.heartbeat: Callable[[], None] = lambda: None
        """Called after every batch committed, so that whoever holds a lease on the file's
        mailbox can renew it during a long file."""
        self.await_earlier: Callable[[], bool] = lambda: False
        """Called, with no transaction open, when a set names an order that is not held: waits
        until the files picked up before this one that other workers are taking in are done
        (an 860 in one file, the 850 it changes in the file before, each taken by a worker of
        its own); whether it waited, so that the set is applied again."""
        self.progress: Callable[[int, int], None] = lambda done, total: None
        """Called as a file's sets are applied: (sets applied so far, sets to apply), for a
        progress bar."""
        self.archived: Callable[[str], Iterable[bytes]] | None = None
        """Reads a file the archive holds (a stored document's raw_path), a chunk at a time."""

    def ingest(
        self,
        raw: bytes,
        filename: str,
        *,
        mailbox: PartnerProfile | None = None,
        release: bool = False,
        over_http: bool = False,
    ) -> IngestResult:
        """Take in a file held in memory (see `ingest_chunks`)."""
        return self.ingest_chunks(
            lambda: _chunked(raw),
            filename,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            raw=raw,
            mailbox=mailbox,
            release=release,
            over_http=over_http,
        )

    def ingest_chunks(
        self,
        chunks: Callable[[], Iterable[bytes]],
        filename: str,
        *,
        sha256: str,
        size: int,
        raw: bytes | None = None,
        raw_path: str | None = None,
        mailbox: PartnerProfile | None = None,
        release: bool = False,
        over_http: bool = False,
    ) -> IngestResult:
        """Take in one file, read twice as a stream of chunks (`chunks()` starts it again), so a
        file of any size is taken in within the memory of its largest transaction set: the first
        reading validates it, then the file is stored (`raw` kept in the store, or `raw_path`,
        where the archive holds it) and its acknowledgements queued in one transaction; the
        second reading applies each accepted set as it comes, one transaction each.

        A file whose bytes were taken in before is a duplicate, unless that earlier taking was cut
        short (a crash): then it resumes with the sets not applied yet. Only bytes applied before
        for the same partner make a duplicate: bytes refused (unauthorized, rejected) are judged
        again. An interchange whose sender and ISA13 were accepted before is rejected with a TA1
        (duplicate control number) and not applied: a resend when its sets are the same, a
        control number reused for new content when they are not, which an operator's replay
        applies (`release`: its 997/999 goes out then). With `mailbox`, the
        partner whose mailbox the file came from, an interchange from or to anyone else is stored
        as unauthorized and never applied; a functional group from or to anyone else (GS02 not
        the partner's gs_id, GS03 not ours) is refused in its 997/999 and never applied, while
        the other groups of the file go through. A cXML or CSV partner's file goes through
        `gateway.service.intake` (`over_http`: a cXML document POSTed, answered in the
        exchange rather than by a file)."""
        result = self._take_in(
            chunks,
            filename,
            sha256,
            size,
            raw,
            raw_path,
            mailbox=mailbox,
            release=release,
            over_http=over_http,
        )
        _log_taken(result)
        return result

    def _take_in(
        self,
        chunks: Callable[[], Iterable[bytes]],
        filename: str,
        sha256: str,
        size: int,
        raw: bytes | None,
        raw_path: str | None,
        *,
        mailbox: PartnerProfile | None,
        release: bool,
        over_http: bool = False,
    ) -> IngestResult:
        """`ingest_chunks`, told of by the logger once it is done."""
        result = IngestResult(filename, sha256)
        with self.uow_factory() as uow:
            earlier = [d for d in uow.documents.with_sha256(sha256) if d.direction == "in"]
        unfinished = [d for d in earlier if d.processed_at is None]
        applied = [
            d
            for d in earlier
            if d.status in TAKEN_STATUSES and (mailbox is None or d.partner == mailbox.key)
        ]
        if applied and not unfinished:
            result.duplicate = (
                f"the same bytes were taken in before (document {applied[0].id}, "
                f"{applied[0].filename or 'no name'}); not applied again"
            )
            result.document_ids = [d.id for d in applied if d.id is not None]
            return result
        profile = self._file_partner(mailbox, chunks)
        if profile is not None:  # a cXML or CSV file
            stored = StoredFile(sha256, size, filename, raw, raw_path)
            intake = FileIntake(self, over_http=over_http)
            intake.take(chunks, size, stored, profile, result, unfinished)
            return result
        strict = mailbox.strict if mailbox is not None else False
        report = read_chunks(chunks(), catalog=self.catalog, strict=strict)
        foreign_groups = _refuse_foreign_groups(report, mailbox)  # id of the group -> why
        now = self.clock()
        if unfinished:
            result.resumed = True
            applicable = self._resume(unfinished, report, result, now, release=release)
        else:
            stored = StoredFile(sha256, size, filename, raw, raw_path)
            applicable = self._store(stored, chunks, report, mailbox, foreign_groups, now, result)
            self.checkpoint("stored")
        result.accepted = report.accepted  # after _store, which may reject a repeated ISA13
        result.tolerated = [t.describe() for t in report.all_tolerated()]
        first = report.first_issue()
        result.first_issue = first.describe() if first else ""
        if foreign_groups:
            refusals = [result.unauthorized, *foreign_groups.values()]
            result.unauthorized = "; ".join(r for r in refusals if r)
        if applicable:
            self._apply_stream(chunks, applicable, now, result)
        with self.uow_factory() as uow:
            for document_id in result.document_ids:
                uow.documents.mark_processed(document_id)
            uow.commit()
        return result

    def _file_partner(
        self, mailbox: PartnerProfile | None, chunks: Callable[[], Iterable[bytes]]
    ) -> PartnerProfile | None:
        """The partner whose cXML or CSV file this is: the mailbox's, when it is not an X12
        partner's; for a file from no mailbox (`gateway ingest`), the cXML partner whose
        credential its From names. None: an X12 file."""
        if mailbox is not None:
            return mailbox if mailbox.format != "x12" else None
        cxml_partners = [p for p in self.profiles.values() if p.cxml is not None]
        if not cxml_partners:
            return None
        head = next(iter(chunks()), b"")
        if not cxml_sniff(head):
            return None
        try:
            return cxml_partner(b"".join(chunks()), cxml_partners)
        except CxmlError:
            return None  # read as X12, rejected as not X12: the operator named it

    def _apply_stream(
        self,
        chunks: Callable[[], Iterable[bytes]],
        applicable: dict[int, tuple[InterchangeReport, int]],
        now: dt.datetime,
        result: IngestResult,
    ) -> None:
        """Read the file again and apply each accepted set of the applicable interchanges
        (by their place in the file) as soon as it is read: in batches of BATCH_SETS sets per
        transaction, each set in a savepoint of its own (a set the rules refuse leaves nothing
        behind but its record; a crash loses at most the batch, which a resumption applies)."""
        done: dict[int, set[tuple[str, str]]] = {}
        with self.uow_factory() as uow:
            for _, document_id in applicable.values():
                done[document_id] = {
                    (r.group_control, r.set_control) for r in uow.documents.sets(document_id)
                }
        indexes: dict[int, dict[str, tuple[GroupReport, dict[str, TransactionReport]]]] = {}
        total = sum(
            1
            for report, document_id in applicable.values()
            for group in report.groups
            for transaction in group.transactions
            if transaction.accepted
            and (group.control_number, transaction.control_number) not in done[document_id]
        )
        applied = [0]
        self.progress(0, total)

        def index_of(
            report: InterchangeReport,
        ) -> dict[str, tuple[GroupReport, dict[str, TransactionReport]]]:
            """An interchange's accepted groups by control number, each with its sets' reports
            by control number (built once: a file may hold thousands of sets)."""
            found = indexes.get(id(report))
            if found is None:
                found = indexes[id(report)] = {}
                for group_report in report.groups:
                    if group_report.issues or group_report.control_number in found:
                        continue  # the first of repeated control numbers, as the reader has it
                    sets: dict[str, TransactionReport] = {}
                    for set_report in group_report.transactions:
                        sets.setdefault(set_report.control_number, set_report)
                    found[group_report.control_number] = (group_report, sets)
            return found

        places: dict[int, int] = {}  # id of a parsed interchange -> its place in the file
        kept: list[Interchange] = []
        batch = _Batch(self.uow_factory)

        def place_of(interchange: Interchange) -> int:
            found = places.get(id(interchange))
            if found is None:
                found = places[id(interchange)] = len(places)
                kept.append(interchange)  # keeps the id from being reused
            return found

        def to_apply(
            interchange: Interchange, group: FunctionalGroup, control: str
        ) -> tuple[InterchangeReport, GroupReport, TransactionReport, int] | None:
            """The reports and document of a set to apply now (None: not accepted, done, or
            of an interchange not applied)."""
            target = applicable.get(place_of(interchange))
            if target is None:
                return None
            report, document_id = target
            found = index_of(report).get(group.control_number)
            if found is None:
                return None
            group_report, set_reports = found
            set_report = set_reports.get(control)
            key = (group_report.control_number, control)
            if set_report is None or not set_report.accepted or key in done[document_id]:
                return None
            return report, group_report, set_report, document_id

        def on_set(
            interchange: Interchange, group: FunctionalGroup, transaction: TransactionSet
        ) -> None:
            found = to_apply(interchange, group, transaction.control_number)
            if found is None:
                return
            report, group_report, set_report, document_id = found
            key = (group_report.control_number, transaction.control_number)
            found_set = (report, group_report, set_report, transaction, document_id, now)
            outcome = self._apply_set(batch.uow(), *found_set, hold_missing=True)
            if outcome.order_missing and not outcome.recorded:
                batch.commit()  # nothing held while the files before this one are waited for
                if self.await_earlier():
                    outcome = self._apply_set(batch.uow(), *found_set)
                else:
                    self.record_outcome(batch.uow(), document_id, key[0], outcome)
            done[document_id].add(key)
            result.sets.append(outcome)
            applied[0] += 1
            self.progress(applied[0], total)
            committed = batch.applied()
            self.checkpoint("set")
            if committed:  # no transaction open: the lease can be written to
                self.heartbeat()

        reader = Reader(
            self.catalog,
            schema_checks=False,
            on_set=on_set,
            select=lambda interchange, group, control: (
                to_apply(interchange, group, control) is not None
            ),
        )
        try:
            for chunk in chunks():
                reader.feed(chunk)
            reader.close()
            batch.commit()
        finally:
            batch.close()
        for interchange in reader.documents:
            target = applicable.get(place_of(interchange))
            if target is not None:
                for ta1 in interchange.ta1s:
                    result.sets.append(self._apply_ta1(target[0], ta1))

    def _store(
        self,
        stored: StoredFile,
        chunks: Callable[[], Iterable[bytes]],
        report: FileReport,
        mailbox: PartnerProfile | None,
        foreign_groups: dict[int, str],
        now: dt.datetime,
        result: IngestResult,
    ) -> dict[int, tuple[InterchangeReport, int]]:
        """Store each interchange of a new file and queue its acknowledgements, in one
        transaction; the interchanges to apply, by their place in the file. The sets of a group
        refused for the mailbox (`foreign_groups`, by the group's id) are recorded as
        unauthorized there, so neither a resumption nor a replay ever applies them. An
        interchange repeating an accepted one's sender and ISA13 is rejected (TA1 025)."""
        applicable: dict[int, tuple[InterchangeReport, int]] = {}
        digests: list[InterchangeDigest] = []  # of this file, read once if a control repeats
        with self.uow_factory() as uow:
            for place, interchange_report in enumerate(report.interchanges):
                partner = self.partner_of(interchange_report)
                refusal = _unauthorized(interchange_report, mailbox)
                repeat = [
                    d
                    for d in uow.documents.with_interchange(
                        partner,
                        "in",
                        interchange_report.sender_id,
                        interchange_report.control_number,
                    )
                    if d.status in TAKEN_STATUSES
                ]
                status = _status(interchange_report)
                if refusal:
                    status = "unauthorized"
                elif repeat and not interchange_report.issues:
                    if not digests:
                        digests = interchange_digests(chunks())
                    mine = _digest_at(digests, place, interchange_report)
                    earlier = self._digest_of(repeat[0], interchange_report)
                    status = "duplicate" if mine is not None and mine == earlier else REUSED
                    interchange_report.issues.append(_repeated_control(interchange_report))
                document_id = uow.documents.add(
                    StoredDocument(
                        sha256=stored.sha256,
                        partner=mailbox.key if mailbox is not None and refusal else partner,
                        direction="in",
                        size=stored.size,
                        status=status,
                        raw=stored.raw,
                        raw_path=stored.raw_path,
                        transaction_sets=tuple(
                            sorted(
                                {
                                    t.set_id
                                    for g in interchange_report.groups
                                    for t in g.transactions
                                }
                            )
                        ),
                        interchange_control=interchange_report.control_number,
                        group_controls=tuple(g.control_number for g in interchange_report.groups),
                        set_controls=tuple(
                            t.control_number
                            for g in interchange_report.groups
                            for t in g.transactions
                        ),
                        sender_id=interchange_report.sender_id,
                        receiver_id=interchange_report.receiver_id,
                        filename=stored.filename,
                        envelope=envelope_values(interchange_report),
                    )
                )
                result.document_ids.append(document_id)
                for group in interchange_report.groups:
                    if id(group) in foreign_groups:
                        _record_unauthorized(uow, document_id, group, foreign_groups[id(group)])
                if refusal:
                    result.unauthorized = refusal
                    continue  # never acknowledged nor applied: the sender is not who it says
                self._acknowledge(uow, interchange_report, partner, now, result)
                if status == "duplicate":
                    result.duplicate = (
                        f"interchange {interchange_report.control_number} from "
                        f"{interchange_report.sender_id} was taken in before with the same"
                        f" transaction sets (document {repeat[0].id}): a resend, answered with a"
                        " TA1 rejecting its repeated control number (025) and not applied again"
                    )
                    continue
                if status == REUSED:
                    result.reused.append(
                        f"control number reused: interchange {interchange_report.control_number}"
                        f" from {interchange_report.sender_id} was taken in before with other"
                        f" transaction sets (document {repeat[0].id}); this one is rejected with"
                        " a TA1 (025, duplicate interchange control number) and not applied. If"
                        " it is new business, `gateway documents replay"
                        f" {document_id}` applies it and sends its acknowledgement"
                    )
                    continue
                if not interchange_report.issues:  # a rejected one: its TA1 says why
                    applicable[place] = (interchange_report, document_id)
            uow.commit()
        return applicable

    def _digest_of(self, document: StoredDocument, report: InterchangeReport) -> str | None:
        """The content digest of the interchange `report` repeats in an earlier document (None
        when its bytes cannot be read: the content is then taken as new, for a person)."""
        if document.raw is not None:
            chunks: Iterable[bytes] = _chunked(document.raw)
        elif document.raw_path is not None and self.archived is not None:
            chunks = self.archived(document.raw_path)
        else:
            return None
        return digest_of(chunks, report.sender_id, report.control_number)

    def _resume(
        self,
        earlier: list[StoredDocument],
        report: FileReport,
        result: IngestResult,
        now: dt.datetime,
        *,
        release: bool,
    ) -> dict[int, tuple[InterchangeReport, int]]:
        """The interchanges of a file whose taking in was cut short, with their stored
        documents (stored and acknowledged already): applied again, they skip the sets done.
        With `release` (an operator's replay), an interchange rejected for reusing a control
        number is accepted now: its 997/999 is queued and its sets applied."""
        applicable: dict[int, tuple[InterchangeReport, int]] = {}
        waiting = sorted((d for d in earlier if d.id is not None), key=lambda d: d.id or 0)
        for place, interchange_report in enumerate(report.interchanges):
            stored = next(
                (
                    d
                    for d in waiting
                    if (d.sender_id, d.interchange_control)
                    == (interchange_report.sender_id, interchange_report.control_number)
                ),
                None,
            )
            if stored is None or stored.id is None:
                continue
            waiting.remove(stored)
            result.document_ids.append(stored.id)
            if stored.status == "unauthorized":
                result.unauthorized = "the interchange was refused when first taken in"
                continue
            if stored.status == REUSED and release and not interchange_report.issues:
                self._release(stored, interchange_report, now, result)
            elif stored.status in ("duplicate", REUSED) or interchange_report.issues:
                continue
            applicable[place] = (interchange_report, stored.id)
        return applicable

    def _release(
        self,
        stored: StoredDocument,
        report: InterchangeReport,
        now: dt.datetime,
        result: IngestResult,
    ) -> None:
        """Accept an interchange rejected for reusing a control number, on an operator's word:
        its status follows its validation and its functional acknowledgements are queued (its
        TA1 went out when it was rejected)."""
        assert stored.id is not None
        with self.uow_factory() as uow:
            uow.documents.set_status(stored.id, _status(report))
            self._acknowledge(uow, report, stored.partner, now, result, ta1="never")
            uow.commit()

    def partner_of(self, report: InterchangeReport) -> str:
        """The partner an interchange comes from: the profile with its ISA sender, else the
        ISA sender id itself."""
        profile = self.directory.get((report.sender_qualifier, report.sender_id))
        return profile.key if profile is not None else partner_of(report)

    def _acknowledge(
        self,
        uow: UnitOfWork,
        report: InterchangeReport,
        partner: str,
        now: dt.datetime,
        result: IngestResult,
        *,
        ta1: str | None = None,
    ) -> None:
        """Queue the acknowledgements owed for an interchange, as its partner's profile asks
        (`ta1`, when given, overrides the profile's TA1 policy)."""
        numbers = StoreControlNumbers(uow, partner)
        stamp = Stamp(now.strftime("%Y%m%d"), now.strftime("%H%M"))
        profile = self.directory.get((report.sender_qualifier, report.sender_id))
        ack_format, ta1_policy, functional = self.ack_format, "requested", True
        group_ids = None
        if profile is not None:
            group_ids = (profile.us.gs_id, profile.identity.gs_id)
            policy = profile.acknowledgements
            functional = policy.send != "none"
            ack_format = AckFormat.IA999 if policy.send == "999" else AckFormat.FA997
            ta1_policy = policy.ta1
        if ta1 is not None:
            ta1_policy = ta1
        for interchange in build_acknowledgements(
            report,
            numbers,
            stamp,
            ack_format=ack_format,
            ta1=ta1_policy,
            functional=functional,
            group_ids=group_ids,
        ):
            content = serialize(interchange)
            kinds = sorted({t.set_id for g in interchange.groups for t in g.transactions})
            kind = "TA1" if interchange.ta1s else ",".join(kinds)
            document_id = uow.documents.add(
                StoredDocument.ours(
                    partner,
                    content,
                    transaction_sets=tuple(kinds) or ("TA1",),
                    interchange_control=interchange.control_number,
                    group_controls=tuple(g.control_number for g in interchange.groups),
                    sender_id=interchange.sender_id,
                    receiver_id=interchange.receiver_id,
                )
            )
            uow.outbox.queue(
                "x12", partner, {"document_id": document_id, "kind": kind}, document_id=document_id
            )
            result.acknowledgements.append(
                Acknowledgement(partner, kind, interchange.control_number, content)
            )

    def record_outcome(
        self, uow: UnitOfWork, document_id: int, group_control: str, outcome: SetOutcome
    ) -> None:
        """Record what became of a set in `uow`, with what it applied: the set is done when
        that commits."""
        uow.documents.record_set(
            document_id,
            SetRecord(
                group_control,
                outcome.control_number,
                outcome.set_id,
                outcome.action,
                outcome.po_number,
                outcome.message,
            ),
        )
        outcome.recorded = True

    def _apply_set(
        self,
        uow: UnitOfWork,
        interchange: InterchangeReport,
        group: GroupReport,
        report: TransactionReport,
        transaction: TransactionSet,
        document_id: int,
        now: dt.datetime,
        *,
        hold_missing: bool = False,
    ) -> SetOutcome:
        """Apply one set in `uow` (the batch's transaction), in a savepoint of its own: all
        that the set does, with its record, or nothing of it (with `hold_missing`, a set
        refused because its order is not held is not recorded yet: see `await_earlier`)."""
        outcome = SetOutcome(transaction.set_id, transaction.control_number, "not mapped")
        found = kinds.kind(transaction.set_id)
        if found is not None and found.acknowledges:
            self._apply_functional_ack(uow, interchange, transaction, outcome, document_id, group)
        elif found is not None and found.reads is not None and found.reads.opens_orders:
            self._apply_purchase_order(
                uow, interchange, group, report, transaction, document_id, now, outcome, found.reads
            )
        elif found is not None and found.reads is not None:
            self._apply_order_document(
                uow, interchange, group, transaction, document_id, now, outcome, found.reads
            )
        else:
            outcome.message = f"transaction set {transaction.set_id} is not mapped yet"
        if not outcome.recorded and not (hold_missing and outcome.order_missing):
            self.record_outcome(uow, document_id, group.control_number, outcome)  # alone
        return outcome

    def _context(
        self,
        interchange: InterchangeReport,
        transaction: TransactionSet,
        our_role: Role,
        document_id: int,
        now: dt.datetime,
    ) -> Context:
        """Where a set comes from, as the records it makes name it."""
        return Context(
            partner=self.partner_of(interchange),
            our_role=our_role,
            at=now,
            source=(
                f"{transaction.set_id} #{transaction.control_number} in interchange "
                f"{interchange.control_number} (document {document_id})"
            ),
            is_test=interchange.usage == "T",
        )

    def _apply_purchase_order(
        self,
        uow: UnitOfWork,
        interchange: InterchangeReport,
        group: GroupReport,
        report: TransactionReport,
        transaction: TransactionSet,
        document_id: int,
        now: dt.datetime,
        outcome: SetOutcome,
        reads: kinds.Reads,
    ) -> None:
        schema = self.catalog.schema_for(transaction.set_id, group.version)
        if schema is None:
            return
        context = self._context(interchange, transaction, reads.our_role, document_id, now)
        try:
            mapped: PurchaseOrder = reads.assemble(
                build_tree(transaction, schema),
                self.mappings.get(reads.mapping, context.partner),
                context,
            )
        except MappingError as exc:
            outcome.action, outcome.message = "rejected", str(exc)
            return
        record = f"850-{interchange.control_number}-{report.control_number}"
        self.apply_purchase_order(uow, mapped, record, document_id, group.control_number, outcome)

    def apply_purchase_order(
        self,
        uow: UnitOfWork,
        mapped: PurchaseOrder,
        record: str,
        document_id: int,
        group_control: str,
        outcome: SetOutcome,
    ) -> None:
        """Apply a purchase order (an 850, a cXML OrderRequest, a CSV order) in `uow`: the
        order opened, replaced or cancelled (`record` names the cancellation and the notes it
        makes), with the record of the set, or nothing of it."""
        partner = mapped.context.partner
        outcome.po_number = mapped.po_number

        def attempt() -> None:
            outcome.recorded = False
            # no SAVEPOINT: an 850 writes nothing before its commands all passed the rules
            # (a new order and the set's record are held back; a replaced or cancelled
            # order is written last, by the savepoint's flush)
            with uow.savepoint(database=False):
                held = uow.orders.get(partner, mapped.po_number) is not None
                made: list[Command]
                if mapped.cancels:
                    made = [mapped.cancel(record)]
                    outcome.action = "cancelled"
                elif held and mapped.replaces:
                    made, outcome.action = [mapped.replace()], "replaced"
                elif held:
                    outcome.action = "duplicate"
                    outcome.message = "the order is held already; this order is not applied"
                    return
                else:
                    made, outcome.action = [mapped.receive()], "created"
                if not mapped.cancels:
                    made += _notes(mapped, record)
                for command in made:
                    apply_command(command, uow)
                uow.flush()
                uow.documents.link(document_id, partner, mapped.po_number)
                self.record_outcome(uow, document_id, group_control, outcome)

        try:
            self.bus.retrying(attempt)
        except ConcurrentUpdate:
            outcome.recorded = False
            outcome.action, outcome.message = "refused", "lost every retry to other workers"
        except RuleViolation as exc:
            outcome.recorded = False
            outcome.action, outcome.message = "refused", str(exc)
            outcome.order_missing = isinstance(exc, OrderNotFound)

    def _carrier_aliases(self, partner: str) -> dict[str, str]:
        profile = self.profiles.get(partner)
        return profile.carrier_aliases() if profile else {}

    def _apply_order_document(
        self,
        uow: UnitOfWork,
        interchange: InterchangeReport,
        group: GroupReport,
        transaction: TransactionSet,
        document_id: int,
        now: dt.datetime,
        outcome: SetOutcome,
        reads: kinds.Reads,
    ) -> None:
        """A set about orders held (an 855, 856, 860, 865, 810)."""
        schema = self.catalog.schema_for(transaction.set_id, group.version)
        if schema is None:
            return
        context = self._context(interchange, transaction, reads.our_role, document_id, now)
        try:
            mapped: OrderDocument = reads.assemble(
                build_tree(transaction, schema),
                self.mappings.get(reads.mapping, context.partner),
                context,
            )
        except MappingError as exc:
            outcome.action, outcome.message = "rejected", str(exc)
            return
        self.apply_order_document(
            uow, mapped, context, document_id, group.control_number, now, outcome
        )

    def apply_order_document(
        self,
        uow: UnitOfWork,
        mapped: OrderDocument,
        context: Context,
        document_id: int,
        group_control: str,
        now: dt.datetime,
        outcome: SetOutcome,
    ) -> None:
        """Apply a document about orders held (an 855, 856, 860, 865, 810, a CSV ship notice or
        cancellation) in `uow`: every command it makes of the orders it names is applied, or
        none is; a refusal is kept on the orders it names that we hold."""
        partner = context.partner
        outcome.po_number = ",".join(mapped.po_numbers)
        uow.flush_deferred()  # what the batch holds back is read through SQL from here on

        def attempt() -> None:
            outcome.recorded = False
            late: Command | None = None
            try:
                with uow.savepoint():
                    orders = _held_orders(uow, partner, mapped.po_numbers)
                    aliases = self._carrier_aliases(partner)
                    made = [with_carrier_resolved(c, aliases) for c in mapped.commands(orders)]
                    for command in made:
                        try:
                            apply_command(command, uow)
                        except RefusalRecorded as refused:
                            late = command
                            raise refused.refusal from None
                    uow.flush()
                    for po_number in mapped.po_numbers:
                        uow.documents.link(document_id, partner, po_number)
                    answered = self._answer_change(uow, mapped, None, now)
                    outcome.action, outcome.message = mapped.action, mapped.summary
                    if not made:
                        outcome.message += " (the orders already reflect it: nothing applied)"
                    outcome.message += answered
                    self.record_outcome(uow, document_id, group_control, outcome)
            except RuleViolation as exc:
                outcome.recorded = False
                outcome.action, outcome.message = "refused", str(exc)
                outcome.order_missing = isinstance(exc, OrderNotFound)
                if late is None:
                    self._record_refusal(
                        uow, mapped, context, exc, document_id, now, group_control, outcome
                    )
                    return
                outcome.message += " (kept on the order for an operator)"
                if not self._keep_refused(uow, late, document_id, group_control, outcome):
                    raise ConcurrentUpdate(  # the order moved on and would take it now
                        f"order {late.po_number} changed while its set was applied"
                    ) from None

        try:
            self.bus.retrying(attempt)
        except ConcurrentUpdate:
            outcome.recorded = False
            outcome.action, outcome.message = "refused", "lost every retry to other workers"

    def _record_refusal(
        self,
        uow: UnitOfWork,
        mapped: OrderDocument,
        context: Context,
        refusal: RuleViolation,
        document_id: int,
        now: dt.datetime,
        group_control: str,
        outcome: SetOutcome,
    ) -> None:
        """Keep a refused set on the orders it names that we hold on the receiving side (a
        DocumentRefused in their history, the document linked) and, for an 860, queue the 865
        refusing it when the partner takes those; all with the set's record."""
        if isinstance(refusal, OrderNotFound) or refusal.rule in NOT_ABOUT_OUR_ORDER:
            return
        message = outcome.message

        def attempt() -> None:
            outcome.recorded = False
            outcome.message = message
            with uow.savepoint():
                for po_number in mapped.po_numbers:
                    order = uow.orders.get(context.partner, po_number)
                    if order is None or order.our_role is not context.our_role:
                        continue
                    apply_command(
                        RecordRefusal(
                            partner=context.partner,
                            po_number=po_number,
                            at=now,
                            source=context.source,
                            what=_refused_what(mapped.set_id),
                            rule=refusal.rule,
                            reason=str(refusal),
                        ),
                        uow,
                    )
                    uow.documents.link(document_id, context.partner, po_number)
                uow.flush()
                outcome.message = message + self._answer_change(uow, mapped, refusal, now)
                self.record_outcome(uow, document_id, group_control, outcome)

        try:
            self.bus.retrying(attempt)
        except ConcurrentUpdate:  # the refusal stands; only its record on the orders is lost
            outcome.recorded = False
            outcome.message = message

    def _answer_change(
        self,
        uow: UnitOfWork,
        mapped: OrderDocument,
        refusal: RuleViolation | None,
        now: dt.datetime,
    ) -> str:
        """For an 860, the 865 taking or refusing it, queued in `uow` when the partner's 865
        settings ask for it; what was queued, for the outcome."""
        if not isinstance(mapped, OrderChange):
            return ""
        answer = ChangeAnswer(
            accepted=refusal is None,
            change_sequence=mapped.change_sequence,
            order_date=mapped.order_date,
            changes=mapped.changes,
            reason="" if refusal is None else _for_partner(refusal),
        )
        sent = answer_change(
            uow,
            mapped.context.partner,
            mapped.po_number,
            answer,
            mappings=self.mappings,
            now=now,
        )
        if sent is None:
            return ""
        return (
            f"; 865 {'accepting' if answer.accepted else 'refusing'} it queued"
            f" (interchange {sent.interchange_control}, document {sent.document_id})"
        )

    def _keep_refused(
        self,
        uow: UnitOfWork,
        command: Command,
        document_id: int,
        group_control: str,
        outcome: SetOutcome,
    ) -> bool:
        """Keep a fulfilment refused as too late on its order, alone, as the message bus does,
        with the set's record; False when the order would now take it."""

        def attempt() -> bool:
            outcome.recorded = False
            try:
                with uow.savepoint():
                    try:
                        apply_command(command, uow)
                    except RefusalRecorded:
                        uow.flush()
                        uow.documents.link(document_id, command.partner, command.po_number)
                        self.record_outcome(uow, document_id, group_control, outcome)
                        return True
                    except RuleViolation:
                        return True
                    raise _WouldTakeIt
            except _WouldTakeIt:
                return False

        try:
            return self.bus.retrying(attempt)
        except ConcurrentUpdate:
            outcome.recorded = False
            return True

    def _apply_functional_ack(
        self,
        uow: UnitOfWork,
        interchange: InterchangeReport,
        transaction: TransactionSet,
        outcome: SetOutcome,
        document_id: int,
        group: GroupReport,
    ) -> None:
        """A 997 or 999 received: the outbound documents holding the group it answers take its
        verdict."""
        answer = read_functional_ack(transaction)
        partner = self.partner_of(interchange)
        with uow.savepoint():
            found = [
                document
                for control in dict.fromkeys(
                    (answer.group_control, answer.group_control.lstrip("0") or "0")
                )
                for document in uow.documents.with_group(partner, "out", control)
            ]  # AK102 echoes GS06, but some partners pad it with zeros
            answered = [d for d in found if _answers(d, answer)] or found
            if not answered:
                outcome.action = "refused"
                outcome.message = (
                    f"acknowledges group {answer.group_control} ({answer.functional_id}), which"
                    f" was never sent to {partner}"
                )
                return
            status = ACK_STATUSES.get(answer.status, "acknowledged")
            for document in answered:
                assert document.id is not None
                set_document_status(
                    uow, document.id, status, self.clock(), f"their {transaction.set_id}"
                )
            outcome.action = "acknowledged"
            rejected = [t for t in answer.transactions if not t.accepted]
            detail = "".join(
                f"; {t.set_id} #{t.control_number} rejected ({', '.join(t.codes) or t.status})"
                for t in rejected
            )
            outcome.message = (
                f"group {answer.group_control} ({answer.functional_id}) {status}: document"
                f" {', '.join(str(d.id) for d in answered)}{detail}"
            )
            if status in ("rejected", "partly rejected"):
                what = f"their {transaction.set_id}: group {answer.group_control} {status}"
                self.alert_rejected(uow, partner, answered, what + detail)
            self.record_outcome(uow, document_id, group.control_number, outcome)

    def alert_rejected(
        self, uow: UnitOfWork, partner: str, documents: Sequence[StoredDocument], what: str
    ) -> None:
        """Tell the operators, in `uow`, that a partner rejected documents we sent them."""
        if self.alerts is None:
            return
        name = self.names.get(partner, partner)
        for document in documents:
            assert document.id is not None
            orders = ", ".join(po for _, po in uow.documents.orders_of(document.id)) or "-"
            self.alerts.record(
                uow,
                f"rejected:{partner}:{document.id}",
                "acknowledgement-rejected",
                f"{name} rejected our {'/'.join(document.transaction_sets)} (document"
                f" {document.id})",
                [
                    ("Partner", name),
                    (
                        f"Document {document.id}",
                        f"{'/'.join(document.transaction_sets)} interchange"
                        f" {document.interchange_control}, PO {orders}",
                    ),
                    ("Their answer", what),
                    (
                        "What to do",
                        f"see why with `gateway documents show {document.id}`; once fixed,"
                        f" send it again with `gateway documents resend {document.id}`",
                    ),
                ],
                partner=partner,
            )

    def _apply_ta1(self, interchange: InterchangeReport, segment: Segment) -> SetOutcome:
        """A TA1 received: the outbound interchange it answers is rejected (TA104 R) or, unless a
        997 or 999 has answered it already, acknowledged."""
        answer = read_ta1(segment)
        outcome = SetOutcome("TA1", answer.control_number, "acknowledged")
        partner = self.partner_of(interchange)
        status = ACK_STATUSES.get(answer.status, "acknowledged")

        def take(uow: UnitOfWork) -> list[StoredDocument]:
            answered = uow.documents.with_interchange(
                partner, "out", interchange.receiver_id, answer.control_number
            )
            for document in answered:
                assert document.id is not None
                if status != "rejected" and document.status in set(ACK_STATUSES.values()):
                    continue  # a functional acknowledgement says more than an envelope's
                set_document_status(uow, document.id, status, self.clock(), "their TA1")
            if answered and status == "rejected":
                note = f", TA105 {answer.note_code}" if answer.note_code else ""
                what = f"their TA1: interchange {answer.control_number} rejected{note}"
                self.alert_rejected(uow, partner, answered, what)
            return answered

        answered = self.bus.committed(take)  # again if an order following one changed
        if not answered:
            outcome.action = "refused"
            outcome.message = (
                f"answers interchange {answer.control_number}, which was never sent to {partner}"
            )
            return outcome
        outcome.message = (
            f"interchange {answer.control_number} {status}"
            + (f" (TA105 {answer.note_code})" if answer.note_code not in ("", "000") else "")
            + f": document {', '.join(str(d.id) for d in answered)}"
        )
        return outcome


def _notes(mapped: PurchaseOrder, record: str) -> list[Command]:
    """What the buyer wrote beside the order (a cXML order's comments and extrinsics), kept as
    notes on it."""
    return [
        AddNote(
            partner=mapped.context.partner,
            po_number=mapped.po_number,
            at=mapped.context.at,
            source=mapped.context.source,
            note_id=f"{record}-note-{number}",
            author="the buyer",
            text=text,
        )
        for number, text in enumerate(mapped.notes, start=1)
    ]


def _for_partner(refusal: RuleViolation) -> str:
    """A refusal as the partner reads it: the line, what is wrong and the rule."""
    where = f"line {refusal.line}: " if refusal.line else ""
    return f"{where}{refusal.message} ({refusal.rule})"


REUSED = "control reused"
"""The status of an interchange rejected for reusing an accepted one's control number with other
content: an operator's replay applies it as new business."""


def _chunked(raw: bytes) -> Iterator[bytes]:
    return (raw[i : i + CHUNK_SIZE] for i in range(0, max(len(raw), 1), CHUNK_SIZE))


def _digest_at(
    digests: list[InterchangeDigest], place: int, report: InterchangeReport
) -> str | None:
    """The content digest of the interchange at `place` in its file (None if out of step)."""
    if place < len(digests):
        found = digests[place]
        if (found.sender_id, found.control_number) == (report.sender_id, report.control_number):
            return found.digest
    return None


def _repeated_control(report: InterchangeReport) -> Issue:
    return Issue(
        Level.INTERCHANGE,
        TA1Code.DUPLICATE_CONTROL_NUMBER,
        f"interchange control number {report.control_number} from {report.sender_id} was"
        " accepted before",
        line=report.line,
        segment_index=report.segment_index,
        segment_id="ISA",
        element=13,
        bad_value=report.control_number,
    )


class _Batch:
    """The transaction sets of a file are applied in: opened when needed, committed every
    BATCH_SETS sets and at the end."""

    def __init__(self, factory: Callable[[], UnitOfWork]):
        self._factory = factory
        self._open: UnitOfWork | None = None
        self._count = 0

    def uow(self) -> UnitOfWork:
        if self._open is None:
            self._open = self._factory().__enter__()
            self._open.defer_writes()
        return self._open

    def applied(self) -> bool:
        """One more set applied; True when that made the batch commit."""
        self._count += 1
        if self._count >= BATCH_SETS:
            self.commit()
            return True
        return False

    def commit(self) -> None:
        if self._open is not None:
            self._open.commit()
            self.close()

    def close(self) -> None:
        """Leave the transaction (rolled back unless committed)."""
        if self._open is not None:
            self._open.__exit__(None, None, None)
            self._open = None
        self._count = 0


class _WouldTakeIt(Exception):
    """Leaves the savepoint of a late fulfilment the order now takes: undone, the whole set is
    applied again."""


def _unauthorized(report: InterchangeReport, mailbox: PartnerProfile | None) -> str:
    """Why an interchange may not come from `mailbox` ('' when it may): its ISA sender must be
    the partner and its receiver us, as the partner's profile says."""
    if mailbox is None:
        return ""
    sender = (report.sender_qualifier, report.sender_id)
    expected = (mailbox.identity.isa_qualifier, mailbox.identity.isa_id)
    if sender != expected:
        return (
            f"interchange {report.control_number} is from {'/'.join(sender)}, but it came through"
            f" the mailbox of {mailbox.key} ({'/'.join(expected)})"
        )
    receiver = (report.receiver_qualifier, report.receiver_id)
    ours = (mailbox.us.isa_qualifier, mailbox.us.isa_id)
    if receiver != ours:
        return (
            f"interchange {report.control_number} is addressed to {'/'.join(receiver)}, not to"
            f" us ({'/'.join(ours)} towards {mailbox.key})"
        )
    return ""


def _refuse_foreign_groups(report: FileReport, mailbox: PartnerProfile | None) -> dict[int, str]:
    """Refuse each functional group of the authorized interchanges that is not from `mailbox`'s
    partner to us (GS02 their gs_id, GS03 ours, as the profile says): the group gets an issue,
    so its 997/999 rejects it and it is never applied. Why, by the id of each group refused."""
    found: dict[int, str] = {}
    if mailbox is None:
        return found
    for interchange in report.interchanges:
        if _unauthorized(interchange, mailbox):
            continue  # refused whole, never acknowledged
        for group in interchange.groups:
            checks = (
                (2, group.sender, mailbox.identity.gs_id, "is from", f"{mailbox.key}'s gs_id"),
                (
                    3,
                    group.receiver,
                    mailbox.us.gs_id,
                    "is addressed to",
                    f"our gs_id towards {mailbox.key}",
                ),
            )
            for element, value, expected, verb, whose in checks:
                if value == expected:
                    continue
                why = (
                    f"group {group.control_number} of interchange {interchange.control_number}"
                    f" {verb} GS{element:02d} {value!r}, expected {expected!r} ({whose})"
                )
                # AK905 / IK905 (element 716) has no code for an application sender or receiver
                # the receiver does not know: 13 and 14 (unknown security recipient /
                # originator) are about the security structures (S3S, S4S), which these groups
                # do not carry. 1, "Functional Group Not Supported", says what is true: we do
                # not take this group.
                group.issues.append(
                    Issue(
                        Level.GROUP,
                        GroupCode.NOT_SUPPORTED,
                        why,
                        line=group.line,
                        segment_index=group.segment_index,
                        segment_id="GS",
                        element=element,
                        bad_value=value,
                    )
                )
                found[id(group)] = why
                break
    return found


def _record_unauthorized(uow: UnitOfWork, document_id: int, group: GroupReport, why: str) -> None:
    """Record each set of a group refused for its mailbox that would be applied otherwise as
    unauthorized: done, never applied. A group with faults of its own, and a set with faults, is
    never applied anyway (and may hold control numbers too long to record)."""
    if len(group.issues) > 1:
        return
    sets: dict[str, TransactionReport] = {}
    for transaction in group.transactions:
        sets.setdefault(transaction.control_number, transaction)  # the first, as applying has it
    for control_number, transaction in sets.items():
        if transaction.accepted:
            uow.documents.record_set(
                document_id,
                SetRecord(
                    group.control_number,
                    control_number,
                    transaction.set_id,
                    "unauthorized",
                    "",
                    why,
                ),
            )


def _held_orders(uow: UnitOfWork, partner: str, po_numbers: tuple[str, ...]) -> dict[str, Order]:
    orders = {}
    for po_number in po_numbers:
        order = uow.orders.get(partner, po_number)
        if order is None:
            raise OrderNotFound(po_number, partner)
        orders[po_number] = order
    return orders


def _answers(document: StoredDocument, answer: GroupAck) -> bool:
    """Whether an outbound document holds the sets a 997/999 names (any, when it names none)."""
    named = {t.set_id for t in answer.transactions}
    return not named or bool(named & set(document.transaction_sets))


def _status(report: InterchangeReport) -> str:
    if report.issues:
        return "rejected"
    if report.accepted:
        return "accepted"
    return "partly accepted"
