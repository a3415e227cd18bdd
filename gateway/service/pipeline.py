"""Taking in the files picked up from partners' mailboxes, exactly once.

Strategy: a file is durable in the staging folder before it leaves the partner's mailbox (the
transports see to that). From there: claim it (rename into the work folder under its hash), keep
its raw bytes in the archive, take it in (the ingestor stores it and queues its acknowledgements
in one transaction, then applies each set in a transaction that also records the set as done),
put it in quarantine with a report when something in it needs a person, and only then release
the claimed copy. A crash at any point leaves the file either waiting in staging or claimed in the
work folder; `take_claimed` takes a claimed one again, and the store skips what was done (a file
whose every set was applied is recognised by its hash and released without a word). Which worker
takes which file is the runner's business (a lease per file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import PartnerProfile
from gateway.cxml import safe as cxml_safe
from gateway.cxml import writer as cxml_writer
from gateway.errors import CxmlError, DocumentActionRefused, GatewayFault, shown
from gateway.service.ingest import Ingestor
from gateway.service.intake import RESPONSE_TEXTS, answered_before, cxml_partner
from gateway.service.outcomes import IngestResult
from gateway.service.ports import FileStore, Staged

RAW_INLINE_LIMIT = 4 << 20
"""Files up to this size are kept in the store with their documents; larger ones stay in the
archive only, and are read from there a chunk at a time (their sets applied as they are read)."""

Checkpoint = Callable[[str], None]
"""Called with the name of each point a file passes (claimed, archived, ingested, released), so
that a test can stop the process at a chosen moment."""


def no_checkpoint(point: str) -> None:
    """Production: the points pass silently."""


@dataclass(slots=True)
class FileOutcome:
    """What became of one picked-up file."""

    partner: str
    name: str
    source: str
    sha256: str = ""
    # applied | duplicate | quarantined | failed (a fault of ours) | recovered (taken in before
    # a crash: nothing to do)
    status: str = "applied"
    result: IngestResult | None = None
    quarantined: Path | None = None
    reasons: list[str] = field(default_factory=list)


class Pipeline:
    """Takes picked-up files in, one at a time, for any partner."""

    def __init__(
        self,
        ingestor: Ingestor,
        files: FileStore,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        checkpoint: Checkpoint = no_checkpoint,
        inline_limit: int = RAW_INLINE_LIMIT,
    ):
        self.ingestor = ingestor
        self.files = files
        self.clock = clock
        self.checkpoint = checkpoint
        self.inline_limit = inline_limit

    def take(self, staged: Staged, partner: str, profile: PartnerProfile | None) -> FileOutcome:
        """Take in one staged file that came from `partner`'s mailbox (`profile`, when the
        partner has one: the file must then come from them and be for us)."""
        return self._take(staged, partner, profile, recovering=False)

    def take_claimed(
        self, staged: Staged, partner: str, profile: PartnerProfile | None
    ) -> FileOutcome:
        """Take in again a file a crash left claimed (`FileStore.claimed`): the store skips
        what was done."""
        return self._take(staged, partner, profile, recovering=True)

    def _take(
        self, staged: Staged, partner: str, profile: PartnerProfile | None, *, recovering: bool
    ) -> FileOutcome:
        sha256, size = self._digest(staged.path)
        outcome = FileOutcome(partner, staged.name, staged.source, sha256)
        if not recovering:
            staged = self.files.claim(staged, sha256)
            self.checkpoint("claimed")
        try:
            archived, result = self._archive_and_ingest(
                staged.path, staged.name, sha256, size, profile
            )
        except GatewayFault as fault:  # our bug, met by this file: put it aside, go on
            self._failed(outcome, fault, staged.path)
            self.files.release(staged)
            return outcome
        outcome.result = result
        self.checkpoint("ingested")
        if recovering and result.duplicate and not result.sets and not result.unauthorized:
            outcome.status = "recovered"  # taken in whole before the crash
        elif self._judged(outcome, result, archived):
            self.checkpoint("quarantined")
        self.files.release(staged)
        self.checkpoint("released")
        return outcome

    def release(self, partner: str, stored_name: str) -> FileOutcome:
        """Take a file in quarantine in again after a fix (the file corrected where it lies, a
        profile or a mapping changed), as `gateway ingest` takes a file an operator names. Gone
        through, it leaves the quarantine; still needing a person, it stays there with the new
        report (under its new name when its bytes changed: the old copy goes). Bytes taken in
        before are not taken in again: such a file stays as it was, its report untouched (a
        stored document's refused sets are taken in again by `documents replay`). The file is
        named by its partner and its name in the quarantine folder (`Quarantined.path.name`);
        one not there is refused (DocumentActionRefused)."""
        found = next(
            (
                q
                for q in self.files.quarantined()
                if (q.partner, q.path.name) == (partner, stored_name)
            ),
            None,
        )
        if found is None:
            raise DocumentActionRefused(
                "quarantined-file-exists",
                f"no file {shown(stored_name)} in quarantine for {partner}",
            )
        sha256, size = self._digest(found.path)
        outcome = FileOutcome(partner, found.name, str(found.path), sha256)
        profile = self.ingestor.profiles.get(partner)
        own = profile if profile is not None and profile.format != "x12" else None  # no ISA
        try:
            archived, result = self._archive_and_ingest(found.path, found.name, sha256, size, own)
        except GatewayFault as fault:
            self._failed(outcome, fault, found.path)
        else:
            outcome.result = result
            if _only_duplicate(result):
                outcome.status, outcome.reasons = "duplicate", reasons(result)
                outcome.quarantined = found.path
                return outcome
            self._judged(outcome, result, archived)
        if outcome.quarantined != found.path:
            self.files.unquarantine(found)
        return outcome

    def _judged(self, outcome: FileOutcome, result: IngestResult, content: Path) -> bool:
        """Put the file aside with its report when something in `result` needs a person;
        whether it was."""
        outcome.reasons = reasons(result)
        if not outcome.reasons:
            return False
        outcome.status = "duplicate" if _only_duplicate(result) else "quarantined"
        self._put_aside(outcome, content)
        return True

    def _failed(self, outcome: FileOutcome, fault: GatewayFault, content: Path) -> None:
        """Our bug, met by this file: put it aside with what to do after the fix."""
        outcome.status = "failed"
        outcome.reasons = [
            f"the gateway failed on this file ({type(fault).__name__}: {fault}); what was"
            " applied before the fault stays applied, the rest is not: after the fix,"
            " `gateway documents replay ID` takes the stored document in again"
        ]
        self._put_aside(outcome, content)

    def _put_aside(self, outcome: FileOutcome, content: Path) -> None:
        outcome.quarantined = self.files.quarantine(
            outcome.partner,
            outcome.name,
            outcome.sha256,
            content,
            report(outcome, outcome.partner, self.clock()),
            self.clock(),
        )

    def take_posted(self, body: bytes, name: str) -> Posted:
        """Take in a cXML document POSTed to `gateway serve` (as procurement systems send
        them), with the checks and the exactly-once record of a file from the partner's
        mailbox: its partner is the one its From credential names (none: 401), its bytes are
        archived, and the Response queued for a file is the answer, in the same exchange (a
        document taken in before is answered 200 again, not applied again)."""
        now = self.clock()
        partners = [p for p in self.ingestor.profiles.values() if p.cxml is not None]
        if len(body) > cxml_safe.MAX_BYTES:
            detail = f"the document is over {cxml_safe.MAX_BYTES >> 20} MiB"
            return Posted(None, _response(400, detail, now))
        try:
            partner = cxml_partner(body, partners)
        except CxmlError as exc:  # not stored: nobody can be told from it
            return Posted(None, _response(400, str(exc), now))
        if partner is None:
            detail = "its From credential is no partner's"
            return Posted(None, _response(401, detail, now))
        sha256 = hashlib.sha256(body).hexdigest()
        self.files.archive_bytes(sha256, body)
        self.checkpoint("archived")
        result = self.ingestor.ingest(body, name, mailbox=partner, over_http=True)
        answer = next((a.content for a in result.acknowledgements if a.kind == "Response"), None)
        if answer is None:  # the same bytes were taken in before: answered as then
            with self.ingestor.uow_factory() as uow:
                code, detail = answered_before(uow, result.document_ids[0])
            answer = _response(code, detail, now)
        return Posted(result, answer)

    def ingest_file(self, path: Path, name: str) -> IngestResult:
        """Take in a file an operator names (`gateway ingest`): archived, then taken in like a
        picked-up one, from no partner's mailbox in particular."""
        sha256, size = self._digest(path)
        return self._archive_and_ingest(path, name, sha256, size, None)[1]

    def _digest(self, path: Path) -> tuple[str, int]:
        hasher, size = hashlib.sha256(), 0
        for chunk in self.files.chunks(path):
            hasher.update(chunk)
            size += len(chunk)
        return hasher.hexdigest(), size

    def _archive_and_ingest(
        self, path: Path, name: str, sha256: str, size: int, profile: PartnerProfile | None
    ) -> tuple[Path, IngestResult]:
        archived = self.files.archive_file(sha256, path)
        self.checkpoint("archived")
        if size <= self.inline_limit:
            result = self.ingestor.ingest(self.files.read(archived), name, mailbox=profile)
        else:  # kept in the archive only, read from there a chunk at a time
            result = self.ingestor.ingest_chunks(
                lambda: self.files.chunks(archived),
                name,
                sha256=sha256,
                size=size,
                raw_path=str(archived),
                mailbox=profile,
            )
        return archived, result


@dataclass(frozen=True, slots=True)
class Posted:
    """What became of a POSTed cXML document (None: refused before it was stored) and the
    cXML Response answering it."""

    result: IngestResult | None
    response: bytes


def _response(code: int, detail: str, now: dt.datetime) -> bytes:
    """A Response to a document that was not stored (or was, before)."""
    return cxml_writer.response(
        None,
        code,
        RESPONSE_TEXTS.get(code, "Error"),
        payload_id=cxml_writer.payload_id(now, uuid.uuid4().hex, host="gateway"),
        timestamp=now,
        detail=detail,
    )


def reasons(result: IngestResult) -> list[str]:
    """Why a file needs a person, one line each ([] when it went through whole)."""
    found = []
    if result.unauthorized:
        found.append(f"not authorized: {result.unauthorized}")
    if result.duplicate:
        found.append(f"duplicate: {result.duplicate}")
    found.extend(result.reused)
    if not result.accepted and not (result.unauthorized or result.duplicate or result.reused):
        found.append(f"rejected: {result.first_issue or 'not X12'}")
    for outcome in result.troubled:
        po = f" PO {outcome.po_number}" if outcome.po_number else ""
        found.append(
            f"{outcome.set_id} #{outcome.control_number}{po} {outcome.action}: {outcome.message}"
        )
    return found


def _only_duplicate(result: IngestResult) -> bool:
    return bool(result.duplicate) and not (result.troubled or result.unauthorized or result.reused)


def report(outcome: FileOutcome, partner: str, at: dt.datetime) -> str:
    """The readable report put beside a quarantined file."""
    result = outcome.result
    lines = [
        f"file:      {outcome.name}",
        f"from:      {outcome.source}",
        f"partner:   {partner}",
        f"sha256:    {outcome.sha256}",
        f"at:        {at.isoformat(timespec='seconds')}",
        f"documents: {', '.join(str(i) for i in result.document_ids) if result else ''}",
        "",
        "why it is here:",
        *(f"  - {reason}" for reason in outcome.reasons),
    ]
    if result is not None and result.sets:
        lines += ["", "transaction sets:"]
        for s in result.sets:
            po = f" PO {s.po_number}" if s.po_number else ""
            lines.append(f"  {s.set_id} #{s.control_number}{po}: {s.action} {s.message}".rstrip())
    if result is not None and result.acknowledgements:
        lines += ["", "acknowledgements queued:"]
        lines += [f"  {a.kind} {a.control_number} to {a.partner}" for a in result.acknowledgements]
    lines += [
        "",
        "The rest of the file, if any, went through. Fix the cause with the partner; "
        "`gateway documents replay ID` takes a stored document in again.",
    ]
    return "\n".join(lines) + "\n"
