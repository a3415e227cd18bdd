"""Sending a document about an order: build it, check it, store it, queue it, and record on the
order what sending it means, all in one unit of work.

Strategy: the order is read, the set is built from it by the pure builders of
`gateway.mapping.outbound` with the choices of `mappings/<set>-out.toml` (and the partner's
overrides), control numbers are taken from the store, and the interchange is written and read
back through the gateway's own validation before anything else happens: a document that would not
pass it is our fault and stops the export. Then the document is stored (linked to the order),
queued in the outbox, and the order records it (an 855 confirms the order and cancels what it
withdraws, an 810 records the invoice) and follows the document (`tracking`): an 855 confirms
and an 856 passes its fulfilments on only once it reaches the partner). The commit takes all of
it or nothing; the control numbers of a transaction that does not commit are given back. When
another worker changed the order first, the whole export runs again on the fresh order.

A partner whose profile names another format (cXML, CSV) gets the document of that format
standing for the set (`kinds.for_partner`: a ConfirmationRequest for an 855...), named by an id
of its own, its content checked by its writer; what it records on the order is the same.

The envelope follows what the partner sent about this order: our ISA id and qualifier are the
receiver of their latest document for it, the delimiters, control version and version family
(004010 or 005010) are theirs. An order with no inbound document (one we placed) follows the
outbound documents we sent for it, and failing those, the defaults (ZZ, `*` `>` `~`, 004010) with
the sender id the caller gives.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway import kinds
from gateway.config import CxmlProfile, PartnerProfile
from gateway.cxml import writer as cxml_writer
from gateway.cxml.model import Credential
from gateway.cxml.model import Envelope as CxmlEnvelope
from gateway.domain.commands import Command
from gateway.domain.model import Order
from gateway.errors import (
    ConfigurationError,
    ExportRefused,
    InvalidOutboundDocument,
    OrderNotFound,
    RuleViolation,
)
from gateway.kinds import BuildRequest, Built
from gateway.logs import event
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import (
    ChangeAnswer,
    ControlNumbers,
    Decision,
    Envelope,
    check_role,
    interchange,
)
from gateway.mapping.outbound_settings import (
    AnswerChanges,
    ChangeAcknowledgementSettings,
    HierarchyStructure,
    settings_for,
)
from gateway.service.messagebus import apply_command, committed
from gateway.service.ports import StoredDocument, UnitOfWork
from gateway.service.tracking import document_name, owes_acceptance, track
from gateway.x12.model import Delimiters, InterchangeReport, report_from_envelope
from gateway.x12.reader import Reader, read_bytes
from gateway.x12.serializer import serialize

LOG = logging.getLogger("gateway.export")


@dataclass(slots=True)
class ExportResult:
    """What an export wrote, stored, queued and recorded."""

    partner: str
    po_number: str
    set_id: str
    interchange_control: str
    set_controls: tuple[str, ...]
    content: bytes
    document_id: int
    outbox_id: int
    recorded: list[str] = field(default_factory=list)  # the commands applied to the order


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def export(
    uow_factory: Callable[[], UnitOfWork],
    po_number: str,
    set_id: str,
    partner: str | None = None,
    decision: Decision | None = None,
    fulfilment_ids: Sequence[str] | None = None,
    *,
    mappings: Mappings,
    clock: Callable[[], dt.datetime] = _now,
    invoice_number: str | None = None,
    structure: HierarchyStructure | None = None,
    sender_id: str | None = None,
    change_answer: ChangeAnswer | None = None,
    profiles: Mapping[str, PartnerProfile] | None = None,
    first: Command | None = None,
) -> ExportResult:
    """Build, check, store and queue the `set_id` document for an order (855, 856, 810 as
    seller; 850, 860 as buyer) and record on the order what it means.

    `decision` is the seller's answer an 855 sends; `fulfilment_ids` the fulfilments an 856
    passes on (default: every shipped one not passed on yet, one 856 each); `invoice_number` the
    810's number (default: PO-n, n counting the order's invoices); `structure` the 856
    hierarchy instead of the mapping's; `sender_id` our ISA id when no document of the order
    tells it. Raises OrderNotFound, RuleViolation (ExportRefused and the order rules) for what
    the order cannot give, ConfigurationError for a request that makes no sense.

    `first` is a command applied to the order in the same unit of work before the document is
    built (a fulfilment and the 856 that passes it on): both are recorded, or neither."""
    found = kinds.writers().get(set_id)
    if found is None or found.writes is None:
        raise ConfigurationError(
            f"the gateway sends {', '.join(kinds.writers())}, not transaction set {set_id!r}"
        )
    given = {
        "decision": decision,
        "fulfilment_ids": fulfilment_ids or None,
        "invoice_number": invoice_number,
        "structure": structure,
        "change_answer": change_answer,
    }
    _check_options(found.writes, set_id, {k for k, v in given.items() if v is not None})
    request = _Request(
        po_number,
        set_id,
        partner,
        decision,
        tuple(fulfilment_ids or ()),
        mappings,
        invoice_number,
        structure,
        sender_id,
        change_answer,
        dict(profiles or {}),
        first,
    )
    result = committed(uow_factory, lambda uow: request.run(uow, clock()))
    event(
        LOG,
        "document queued",
        partner=result.partner,
        po=result.po_number,
        set=result.set_id,
        document=result.document_id,
        interchange=result.interchange_control,
        recorded=", ".join(result.recorded),
    )
    return result


def _check_options(writes: kinds.Writes, set_id: str, given: set[str]) -> None:
    """A request gives the options its kind cannot do without, and none it does not take."""
    for option, why in writes.required.items():
        if option not in given:
            raise ConfigurationError(why)
    for option in sorted(given - set(writes.options)):
        takers = {
            taker: other.options[option]
            for taker, found in kinds.writers().items()
            if (other := found.writes) is not None and option in other.options
        }
        what = next(iter(takers.values()), option)
        raise ConfigurationError(
            f"an {set_id} takes no {what} (given to an {' or an '.join(takers)})"
        )


@dataclass(frozen=True, slots=True)
class _Request:
    po_number: str
    set_id: str
    partner: str | None
    decision: Decision | None
    fulfilment_ids: tuple[str, ...]
    mappings: Mappings
    invoice_number: str | None
    structure: HierarchyStructure | None
    sender_id: str | None
    change_answer: ChangeAnswer | None = None
    profiles: dict[str, PartnerProfile] = field(default_factory=dict)
    first: Command | None = None

    def run(self, uow: UnitOfWork, now: dt.datetime) -> ExportResult:
        if self.first is not None:
            apply_command(self.first, uow)
        order = find_order(uow, self.po_number, self.partner)
        profile = self.profiles.get(order.partner)
        if profile is not None and profile.format != "x12":
            return self._run_file(uow, order, profile, now)
        writes = self.writes
        check_role(order, self.set_id, writes.our_role)
        documents = uow.documents.for_order(order.partner, order.po_number)
        envelope = envelope_for(order, documents, self.sender_id, profile)
        built = self._build(order, documents, now, self.set_id, writes)
        partner = order.partner
        numbers = ControlNumbers(
            interchange=uow.control_numbers.next(partner, "interchange"),
            group=uow.control_numbers.next(partner, "group"),
            sets=tuple(uow.control_numbers.next(partner, "set") for _ in built.bodies),
        )
        document = interchange(envelope, self.set_id, built.bodies, numbers, now)
        content = serialize(document)
        report = read_bytes(content)
        if not report.accepted:
            first = report.first_issue()
            raise InvalidOutboundDocument(
                f"the {self.set_id} built for order {order.po_number} fails validation, so it "
                f"is not sent: {first.describe() if first else 'no interchange'}"
            )
        (group,) = document.groups
        set_controls = tuple(t.control_number for t in group.transactions)
        stored = StoredDocument.ours(
            partner,
            content,
            transaction_sets=(self.set_id,),
            interchange_control=document.control_number,
            group_controls=(group.control_number,),
            set_controls=set_controls,
            sender_id=envelope.sender_id,
            receiver_id=envelope.receiver_id,
            order_keys=[(partner, order.po_number)],
        )
        label = f"{self.set_id} #{','.join(set_controls)} in interchange {document.control_number}"
        return self._queue(uow, order, stored, label, built, writes, now)

    def _run_file(
        self, uow: UnitOfWork, order: Order, profile: PartnerProfile, now: dt.datetime
    ) -> ExportResult:
        """The document standing for the set with a cXML or CSV partner (a ConfirmationRequest
        for an 855...), named by an id of its own (a cXML payloadID) and checked by its writer
        (a cXML document against the schema of the elements we use)."""
        found = kinds.for_partner(self.set_id, profile.format)
        if found is None or found.writes is None:
            raise ExportRefused(
                "partner-takes-the-document",
                f"{order.partner} exchanges {profile.format} documents, and the gateway sends"
                f" none standing for an {self.set_id}",
                po_number=order.po_number,
            )
        writes = found.writes
        check_role(order, found.set_id, writes.our_role)
        documents = uow.documents.for_order(order.partner, order.po_number)
        number = uow.control_numbers.next(order.partner, "interchange")
        ours = profile.cxml.us if profile.cxml is not None else None
        host = ours.identity if ours else "gateway"
        document_id = cxml_writer.payload_id(now, number, found.set_id, host=host)
        header = None
        if profile.cxml is not None:
            header = cxml_envelope(profile.cxml, document_id, now)
        answering = next(
            (
                d.interchange_control or ""
                for d in reversed(documents)
                if d.direction == "in" and _opens_orders(d, found.format)
            ),
            "",
        )
        test = order.is_test or (
            profile.cxml is not None and profile.cxml.deployment_mode == "test"
        )
        built = self._build(
            order, documents, now, found.set_id, writes, document_id, answering, header, test
        )
        content = built.content
        stored = StoredDocument.ours(
            order.partner,
            content,
            transaction_sets=(found.set_id,),
            interchange_control=document_id,
            sender_id=str(ours or ""),
            receiver_id=str(profile.cxml.them) if profile.cxml is not None else order.partner,
            order_keys=[(order.partner, order.po_number)],
        )
        return self._queue(uow, order, stored, f"{found.name} {document_id}", built, writes, now)

    def _queue(
        self,
        uow: UnitOfWork,
        order: Order,
        stored: StoredDocument,
        label: str,
        built: Built,
        writes: kinds.Writes,
        now: dt.datetime,
    ) -> ExportResult:
        """Store the document, record on the order what sending it means, queue it in the
        outbox and have the order follow it."""
        partner, set_id = order.partner, stored.transaction_sets[0]
        document_id = uow.documents.add(stored)
        source = f"{label} (document {document_id})"
        applied = []
        for command in built.recorded(source, f"{set_id}-{stored.interchange_control}"):
            apply_command(command, uow)
            applied.append(type(command).__name__)
        outbox_id = uow.outbox.queue(
            "x12",
            partner,
            {"document_id": document_id, "kind": set_id, "po_number": order.po_number},
            document_id=document_id,
            order=order,
        )
        track(
            order,
            document_name(document_id),
            writes.tracks_as,
            now,
            fulfilment_ids=built.fulfilment_ids,
            needs_acceptance=owes_acceptance(self.profiles.get(partner)),
            source=source,
        )
        assert stored.raw is not None
        return ExportResult(
            partner=partner,
            po_number=order.po_number,
            set_id=set_id,
            interchange_control=stored.interchange_control or "",
            set_controls=stored.set_controls,
            content=stored.raw,
            document_id=document_id,
            outbox_id=outbox_id,
            recorded=applied,
        )

    @property
    def writes(self) -> kinds.Writes:
        found = kinds.writers()[self.set_id].writes
        assert found is not None
        return found

    def _build(
        self,
        order: Order,
        documents: list[StoredDocument],
        now: dt.datetime,
        set_id: str,
        writes: kinds.Writes,
        document_id: str = "",
        answering: str = "",
        header: Any = None,
        test: bool = False,
    ) -> Built:
        """The document, built by the kind's builder with its settings for this partner."""
        return writes.build(
            BuildRequest(
                order,
                settings_for(
                    self.mappings, set_id, order.partner, writes.settings, name=writes.mapping
                ),
                now,
                sent_before=sum(
                    1 for d in documents if d.direction == "out" and set_id in d.transaction_sets
                ),
                decision=self.decision,
                fulfilment_ids=self.fulfilment_ids,
                invoice_number=self.invoice_number,
                structure=self.structure,
                change_answer=self.change_answer,
                document_id=document_id,
                answering=answering,
                header=header,
                test=test,
            )
        )


def answer_change(
    uow: UnitOfWork,
    partner: str,
    po_number: str,
    answer: ChangeAnswer,
    *,
    mappings: Mappings,
    now: dt.datetime,
) -> ExportResult | None:
    """Queue the 865 answering a buyer's 860, in the caller's unit of work, when the partner's
    865 settings say this answer is sent (every 860, or only the refused ones); None when not."""
    settings = settings_for(mappings, "865", partner, ChangeAcknowledgementSettings)
    if settings.answer is AnswerChanges.NEVER or (
        answer.accepted and settings.answer is AnswerChanges.REFUSED
    ):
        return None
    request = _Request(po_number, "865", partner, None, (), mappings, None, None, None, answer)
    return request.run(uow, now)


def cxml_envelope(profile: CxmlProfile, payload_id: str, now: dt.datetime) -> CxmlEnvelope:
    """The Header of a cXML document we send a partner: From us, To them, Sender us with our
    shared secret."""
    us = profile.us
    return CxmlEnvelope(
        payload_id=payload_id,
        timestamp=now,
        from_=Credential(us.domain, us.identity),
        to=Credential(profile.them.domain, profile.them.identity),
        sender=Credential(us.domain, us.identity, profile.our_secret()),
    )


def _opens_orders(document: StoredDocument, document_format: str) -> bool:
    """Whether a stored document is an order of `document_format` (a cXML OrderRequest...)."""
    found = kinds.of_document(document.transaction_sets)
    return (
        found is not None
        and found.format == document_format
        and found.reads is not None
        and found.reads.opens_orders
    )


def find_order(uow: UnitOfWork, po_number: str, partner: str | None) -> Order:
    """The one order with this PO number (from `partner`, when given)."""
    found = uow.orders.find(po_number, partner)
    if not found:
        raise OrderNotFound(po_number, partner or "")
    if len(found) > 1:
        partners = ", ".join(o.partner for o in found)
        raise RuleViolation(
            "po-number-names-one-order",
            f"partners {partners} each have an order with this PO number: name one with --partner",
            po_number=po_number,
        )
    return found[0]


def envelope_for(
    order: Order,
    documents: Sequence[StoredDocument],
    sender_id: str | None,
    profile: PartnerProfile | None = None,
) -> Envelope:
    """The envelope of a document about `order`: answering the partner's latest inbound
    document for it, else following our latest outbound one, else as the partner's profile
    says (ids, qualifiers, version, delimiters), else the defaults with `sender_id` (a
    ConfigurationError without it)."""
    usage = "T" if order.is_test else "P"
    for direction, build in (("in", Envelope.answering), ("out", Envelope.following)):
        for document in reversed(documents):
            if document.direction != direction or (document.raw is None and not document.envelope):
                continue
            report = _interchange_of(document)
            if report is not None and report.sender_id and report.receiver_id:
                return build(report, usage=usage)
    if profile is not None and not sender_id:
        return _profile_envelope(profile, usage)
    if not sender_id:
        raise ConfigurationError(
            f"no document of order {order.po_number} says which interchange id we use towards "
            f"{order.partner}: give it (gateway export --sender-id ID)"
        )
    return Envelope.default(sender_id, order.partner, usage=usage)


def _profile_envelope(profile: PartnerProfile, usage: str) -> Envelope:
    """The first interchange to a partner with a profile: as its profile describes us both."""
    style = profile.x12
    control = "00501" if style.version.startswith("005") else "00401"
    return Envelope(
        profile.us.isa_qualifier,
        profile.us.isa_id,
        profile.identity.isa_qualifier,
        profile.identity.isa_id,
        application_sender=profile.us.gs_id,
        application_receiver=profile.identity.gs_id,
        version=style.version,
        control_version=control,
        delimiters=Delimiters(
            style.element_separator,
            style.component_separator,
            style.segment_terminator,
            style.repetition_separator if control >= "00501" else None,
        ),
        usage=usage,
    )


def _interchange_of(document: StoredDocument) -> InterchangeReport | None:
    """The header of the stored interchange (a stored file may hold several): from the values
    kept when it was taken in, else read again from its bytes."""
    if document.envelope:
        return report_from_envelope(document.envelope)
    reader = Reader(schema_checks=False)
    reader.feed(document.raw or b"")
    report = reader.close()
    for candidate in report.interchanges:
        if candidate.control_number == document.interchange_control and (
            not document.sender_id or candidate.sender_id == document.sender_id
        ):
            return candidate
    return report.interchanges[0] if report.interchanges else None
