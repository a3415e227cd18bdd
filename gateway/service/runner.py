"""The gateway's main loop: pick up from every mailbox on its schedule, take the files in,
deliver the outbox (documents, webhook events, emails), watch the acknowledgements owed.

Strategy: one pass does everything once (`gateway run --once`, for cron and batch jobs); the
long-running `gateway run` repeats passes, waking early when a watched folder changes. Each
partner is handled apart: an unreachable mailbox is logged and retried with exponential backoff
(up to its polling interval) while the others go on. Folder mailboxes are looked at on every
pass (a scan is cheap and catches what a lost file-system event would miss); SFTP mailboxes on
their partner's interval. A stop request is honoured between files: the file in hand is finished
first.

Several workers (processes sharing one database and one data folder) share every partner's
traffic, the busiest one's too: one worker at a time moves files from a partner's mailbox into
staging (the mailbox's lease, held for that move alone), and every worker takes in the staged
files, each under a lease of its own (`file_lease`), oldest first. A file a dead worker left
claimed is taken in again by whoever takes its lease next (the leases of this host's dead workers
are freed at once, others' when they end). Files are taken in the order they came, but several
at a time: a set naming an order not held yet waits for the files before it that other workers
are taking in (an 860 behind the file of the 850 it changes), then is applied again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.config import FolderTransport, MailSettings, PartnerProfile
from gateway.errors import StoreUnavailable, TransportError
from gateway.logs import Log, emitter
from gateway.service.delivery import (
    Deliverer,
    Delivery,
    as_utc,
    dead_here,
    overdue,
    release_dead_workers,
    this_worker,
)
from gateway.service.late import alert_late
from gateway.service.notify import Alerts, MailDelivery, Mailer
from gateway.service.pipeline import FileOutcome, Pipeline
from gateway.service.ports import (
    InboundMailbox,
    Outage,
    Staged,
    StoredDocument,
    UnitOfWork,
    Unmovable,
)
from gateway.service.webhooks import WebhookDeliverer, WebhookDelivery

LEASE = dt.timedelta(minutes=10)  # a mailbox's or a file's, unless renewed
LEASE_RENEWAL = 60.0  # seconds between renewals of a file's lease while it is taken in
COLLECT_WAITS = 40  # times a worker waits for another's pick-up of the same mailbox ...
COLLECT_PAUSE = 0.05  # ... this many seconds each, before it leaves the mailbox to it
ORDER_WAIT = 300.0  # seconds a set naming an order not held waits for the files before it
ORDER_POLL = 0.05
FIRST_BACKOFF = 30.0
IDLE_WAKE = 30.0  # seconds: the longest a running gateway sleeps between passes
PICKUP_LIMIT = 100  # files per mailbox per pass, so that one busy partner cannot starve others
SETTLE_WAITS = 3  # a one-pass run waits at most this many times for files still being written
LATE_CHECK_SECONDS = 600.0  # a running gateway looks for late documents this often
STORE_FIRST_BACKOFF = 1.0  # seconds before the first pass after the store could not be used
STORE_LAST_BACKOFF = 60.0  # ... doubling up to this


@dataclass(slots=True)
class PartnerState:
    """When a partner's mailbox is next due, and how its last attempts went."""

    next_poll: float = 0.0
    failures: int = 0
    last_error: str = ""
    down_since: float | None = None


@dataclass(slots=True)
class PassSummary:
    """What one pass did."""

    files: list[FileOutcome] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    overdue: list[int] = field(default_factory=list)
    mails: list[MailDelivery] = field(default_factory=list)
    webhooks: list[WebhookDelivery] = field(default_factory=list)
    late: list[str] = field(default_factory=list)  # the late documents alerted
    store_unavailable: str = ""  # why the pass stopped short: the database could not be used
    unmovable: list[tuple[str, Unmovable]] = field(default_factory=list)  # (partner, file)


class Runner:
    """Runs passes over every partner."""

    def __init__(
        self,
        partners: Sequence[PartnerProfile],
        inbound: Callable[[PartnerProfile], InboundMailbox],
        pipeline: Pipeline,
        deliverer: Deliverer,
        uow_factory: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
        log: Log | None = None,
        worker: str = "",
        mailer: Mailer | None = None,
        alerts: Alerts | None = None,
        mail: MailSettings | None = None,
        webhooks: WebhookDeliverer | None = None,
    ):
        self.partners = list(partners)
        self.profiles = {p.key: p for p in self.partners}
        self.inbound = inbound
        self.pipeline = pipeline
        self.deliverer = deliverer
        self.uow_factory = uow_factory
        self.clock = clock
        self.monotonic = monotonic
        self.log = log or emitter("gateway.runner")
        self.worker = worker or this_worker()
        self.mailer = mailer
        self.alerts = alerts
        self.mail = mail or MailSettings()
        self.webhooks = webhooks
        self.states = {p.key: PartnerState() for p in self.partners}
        self._late_checked: float | None = None
        self._mailboxes: dict[str, InboundMailbox] = {}
        self._unmovable_told: set[tuple[str, Unmovable]] = set()
        self._before: list[FileOutcome] = []  # files taken in while a later one waited for them

    def run_once(
        self,
        *,
        every_partner: bool = True,
        stop: threading.Event | None = None,
        wait_settling: bool = False,
    ) -> PassSummary:
        """One pass: every partner's mailbox (all of them, or only those due), the outbox, the
        acknowledgements owed. With `wait_settling` (`gateway run --once`), files found still
        being written (or dropped a moment ago) are waited for, their settle time at most
        SETTLE_WAITS times, and taken in the same pass; a running gateway takes them on a
        later pass instead.

        When the database cannot be used (`StoreUnavailable`: locked, read-only, full, its
        server down), the pass stops there with the reason in `store_unavailable`: what it did
        so far is committed, the transaction in hand rolled back, a file being taken in stays
        claimed and is taken in again first on the next pass."""
        summary = PassSummary()
        try:
            self._pass(summary, every_partner, stop, wait_settling)
        except StoreUnavailable as exc:
            summary.store_unavailable = str(exc)
        return summary

    def _pass(
        self,
        summary: PassSummary,
        every_partner: bool,
        stop: threading.Event | None,
        wait_settling: bool,
    ) -> None:
        for holder in release_dead_workers(self.uow_factory):
            self.log("leases of a dead worker freed", worker=holder)
        for profile in self.partners:
            if stop is not None and stop.is_set():
                return
            state = self.states[profile.key]
            due = (
                isinstance(profile.transport, FolderTransport)
                or self.monotonic() >= state.next_poll
            )
            if every_partner or due:
                self._pick_up(profile, state, summary, stop, wait_settling)
        summary.deliveries = self.deliverer.drain()
        for delivery in summary.deliveries:  # each logged by the deliverer (gateway.delivery)
            if (
                delivery.status == "retry"
                and delivery.attempts >= self.mail.delivery_alert_attempts
            ):
                self._alert(
                    f"delivery:{delivery.partner}",
                    "delivery-failing",
                    f"Deliveries to {delivery.partner} keep failing",
                    [
                        ("Partner", delivery.partner),
                        ("Document", str(delivery.document_id)),
                        ("Attempts", str(delivery.attempts)),
                        ("Last error", delivery.error),
                        (
                            "What to do",
                            "check the partner's outbound mailbox; the gateway "
                            "keeps retrying with backoff",
                        ),
                    ],
                    partner=delivery.partner,
                )
        late = overdue(self.uow_factory, self.profiles, self.clock())
        for document in late:
            self.log("acknowledgement overdue", partner=document.partner, document=document.id)
        self._overdue_alerts(late)
        summary.overdue = [d.id for d in late if d.id is not None]
        self._late_documents(summary)
        if self.webhooks is not None:  # before the mail: the alerts it raises go out this pass
            summary.webhooks = self.webhooks.drain()  # each logged (gateway.webhooks)
        if self.mailer is not None:
            summary.mails = self.mailer.drain()  # each logged by the mailer (gateway.mail)

    def _late_documents(self, summary: PassSummary) -> None:
        """Alert the late documents of open orders, at most every LATE_CHECK_SECONDS (it reads
        every open order)."""
        if self.alerts is None:
            return
        moment = self.monotonic()
        if self._late_checked is not None and moment - self._late_checked < LATE_CHECK_SECONDS:
            return
        self._late_checked = moment
        for late in alert_late(self.uow_factory, self.alerts, self.profiles, self.clock()):
            self.log("late document", partner=late.partner, po=late.po_number, late=late.kind)
            summary.late.append(late.key)

    def _alert(
        self, key: str, kind: str, title: str, details: list[tuple[str, str]], *, partner: str
    ) -> None:
        if self.alerts is not None:
            self.alerts.raise_alert(key, kind, title, details, partner=partner)

    def _overdue_alerts(self, late: list[StoredDocument]) -> None:
        by_partner: dict[str, list[StoredDocument]] = {}
        for document in late:
            by_partner.setdefault(document.partner, []).append(document)
        for partner, documents in sorted(by_partner.items()):
            self._alert(
                f"overdue:{partner}",
                "overdue",
                f"{len(documents)} acknowledgement(s) overdue from {partner}",
                [
                    ("Partner", partner),
                    *(
                        (
                            f"Document {d.id}",
                            f"{'/'.join(d.transaction_sets)} interchange "
                            f"{d.interchange_control}, sent {d.updated_at}",
                        )
                        for d in documents
                    ),
                    (
                        "What to do",
                        "ask the partner for their 997/999, or resend with "
                        "`gateway documents resend ID`",
                    ),
                ],
                partner=partner,
            )

    def run(self, stop: threading.Event, wake: Callable[[float], bool]) -> None:
        """Passes until `stop` is set; between passes, sleep until the next mailbox is due, a
        file seen still being written counts as complete (its settle time: no event of the
        folder will say so), a watched folder changes (`wake(timeout)` returns early) or
        IDLE_WAKE passes."""
        self.log("gateway started", partners=len(self.partners), worker=self.worker)
        first, store_failures = True, 0
        while not stop.is_set():
            summary = self.run_once(every_partner=first, stop=stop)
            if summary.store_unavailable:  # everything needs the store: wait for it, whole
                store_failures += 1
                wait = min(STORE_FIRST_BACKOFF * 2 ** (store_failures - 1), STORE_LAST_BACKOFF)
                self.log(
                    "store unavailable",
                    error=summary.store_unavailable,
                    failures=store_failures,
                    retry_in=wait,
                )
                stop.wait(wait)
                continue
            if store_failures:
                self.log("store available again", after=store_failures)
                store_failures = 0
            first = False
            if stop.is_set():
                break
            now = self.monotonic()
            polled = [
                s.next_poll
                for p, s in zip(self.partners, self.states.values(), strict=True)
                if not isinstance(p.transport, FolderTransport)
            ]
            settling = [m.settling() for m in self._mailboxes.values()]
            pause = min(
                [
                    IDLE_WAKE,
                    *(max(t - now, 0.0) for t in polled),
                    *(wait + 0.05 for wait in settling if wait > 0),
                ]
            )
            wake(max(pause, 0.05))
        self.log("gateway stopped", worker=self.worker)

    def _pick_up(
        self,
        profile: PartnerProfile,
        state: PartnerState,
        summary: PassSummary,
        stop: threading.Event | None,
        wait_settling: bool = False,
    ) -> None:
        """Collect the partner's files into staging (one worker at a time: the mailbox's
        lease) and take in the staged ones, each under a lease of its own, so that several
        workers share one partner's files."""
        reached, ended = False, None
        try:
            mailbox = self._mailboxes.get(profile.key)
            if mailbox is None:
                mailbox = self._mailboxes[profile.key] = self.inbound(profile)
            pause = threading.Event() if stop is None else stop
            waits = busy = 0
            self._take_staged(profile, summary, pause)  # what crashes and other passes left
            while not pause.is_set():
                collected = self._collect(profile, mailbox)
                took = self._take_staged(profile, summary, pause)
                if collected is None:  # another worker is picking up: its files come to us too
                    if took or busy < COLLECT_WAITS:
                        busy = 0 if took else busy + 1
                        pause.wait(0 if took else COLLECT_PAUSE)
                        continue
                    break
                reached = True
                if collected >= PICKUP_LIMIT or took:
                    continue
                settling = mailbox.settling() if wait_settling else 0.0
                if settling <= 0 or waits >= SETTLE_WAITS:
                    break
                waits += 1
                self.log(
                    "waiting for files still being written",
                    partner=profile.key,
                    seconds=round(settling, 1),
                )
                pause.wait(settling + 0.05)
            self._unmovable(profile, mailbox.unmovable(), summary)
        except StoreUnavailable:
            raise  # not this partner's: the pass stops, every partner waits for the store
        except Exception as exc:  # a mailbox unreachable, a fault: this partner waits, others go on
            transport = isinstance(exc, TransportError)
            error = str(exc) if transport else f"{type(exc).__name__}: {exc}"
            state.failures += 1
            state.last_error = error
            if state.down_since is None:
                state.down_since = self.monotonic()
            wait = min(FIRST_BACKOFF * 2 ** (state.failures - 1), profile.poll_seconds)
            state.next_poll = self.monotonic() + wait
            summary.unreachable[profile.key] = error
            self.log(
                "mailbox unreachable" if transport else "pick-up failed",
                partner=profile.key,
                error=error,
                failures=state.failures,
                retry_in=round(wait),
            )
            down, failures = self.monotonic() - state.down_since, state.failures
            outage = self._outage(profile.key, error) if transport else None
            if outage is not None:  # kept in the store: counts across runs (a cron of --once)
                down = max(down, (self.clock() - as_utc(outage.down_since)).total_seconds())
                failures = max(failures, outage.failures)
            if down >= self.mail.mailbox_alert_minutes * 60:
                self._alert(
                    f"mailbox:{profile.key}",
                    "mailbox-unreachable",
                    f"The mailbox of {profile.name} has been unreachable for "
                    f"{round(down / 60)} minutes",
                    [
                        ("Partner", profile.name),
                        ("Failures in a row", str(failures)),
                        ("Last error", error),
                        (
                            "What to do",
                            "check the connection and the credentials; the gateway keeps retrying",
                        ),
                    ],
                    partner=profile.key,
                )
            return
        if reached:  # an outage, even one of an earlier run, ends
            with self.uow_factory() as uow:
                ended = uow.outages.ended(profile.key)
                uow.commit()
        if state.failures or ended is not None:
            after = max(state.failures, ended.failures if ended is not None else 0)
            self.log("mailbox reachable again", partner=profile.key, after=after)
        state.failures, state.last_error, state.down_since = 0, "", None
        state.next_poll = self.monotonic() + profile.poll_seconds

    def _unmovable(
        self, profile: PartnerProfile, files: list[Unmovable], summary: PassSummary
    ) -> None:
        """Report the mailbox's files that could not be picked up: in the pass's summary every
        time, in the log and to the operators once (the alert repeats as alerts do)."""
        told = {(partner, file) for partner, file in self._unmovable_told if partner != profile.key}
        for file in files:
            summary.unmovable.append((profile.key, file))
            told.add((profile.key, file))
            if (profile.key, file) in self._unmovable_told:
                continue
            self.log(
                "file cannot be picked up",
                partner=profile.key,
                file=file.name,
                source=file.source,
                error=file.reason,
            )
            self._alert(
                f"unmovable:{profile.key}:{file.name}",
                "file-unmovable",
                f"File {file.name} in the mailbox of {profile.name} cannot be picked up",
                [
                    ("Partner", profile.name),
                    ("File", file.name),
                    ("Where", file.source),
                    ("Why", file.reason),
                    (
                        "What to do",
                        "fix its permissions or its name, or remove it; the files after it"
                        " go on, and the gateway tries it again every few minutes",
                    ),
                ],
                partner=profile.key,
            )
        self._unmovable_told = told

    def _outage(self, partner: str, error: str) -> Outage | None:
        """Record a failure to reach `partner`'s mailbox in the store; the outage, or None when
        the store cannot be written either (the running gateway's own count then serves)."""
        try:
            with self.uow_factory() as uow:
                outage = uow.outages.failed(partner, self.clock(), error)
                uow.commit()
        except Exception as exc:  # the store down too: already logged by the caller's failure
            self.log("outage not recorded", partner=partner, error=f"{type(exc).__name__}: {exc}")
            return None
        return outage

    def _lease(self, name: str) -> bool:
        """Hold `name` (or hold it longer); whether it is ours."""
        now = self.clock()
        with self.uow_factory() as uow:
            held = uow.leases.acquire(name, self.worker, now, now + LEASE)
            uow.commit()
        return held

    def _free(self, name: str) -> None:
        with self.uow_factory() as uow:
            uow.leases.release(name, self.worker)
            uow.commit()

    def _collect(self, profile: PartnerProfile, mailbox: InboundMailbox) -> int | None:
        """Move up to PICKUP_LIMIT files from the partner's mailbox into staging, under the
        mailbox's lease; how many (None: another worker is picking up now)."""
        lease = f"mailbox:{profile.key}"
        if not self._lease(lease):
            return None
        try:
            files = self.pipeline.files
            files.discard_partial(profile.key)  # of a pick-up cut short
            return len(mailbox.collect(files.staging(profile.key), limit=PICKUP_LIMIT))
        finally:
            self._free(lease)

    def _take_staged(
        self, profile: PartnerProfile, summary: PassSummary, pause: threading.Event
    ) -> int:
        """Take in the partner's staged files no other worker is taking in, oldest first: those
        a crash left claimed, then those waiting; how many this worker took."""
        took = 0
        for staged, claimed in self._staged(profile.key):
            if pause.is_set():
                break  # the rest stays staged, taken first at the next start
            outcome = self._take_file(profile, staged, claimed=claimed)
            if outcome is not None:
                took += 1 + len(self._before)
                for taken in [*self._before, outcome]:
                    self._taken(taken, summary)
                self._before.clear()
        return took

    def _staged(self, partner: str) -> list[tuple[Staged, bool]]:
        """The partner's staged files, oldest first, each with whether it is claimed: those a
        crash or another worker left claimed, then those waiting."""
        files = self.pipeline.files
        return [
            *((s, True) for s in files.claimed(partner)),
            *((s, False) for s in files.waiting(partner)),
        ]

    def _take_file(
        self, profile: PartnerProfile, staged: Staged, *, claimed: bool
    ) -> FileOutcome | None:
        """Take in one staged file under its lease (None: another worker has it, or had it and
        is done with it)."""
        lease = file_lease(profile.key, staged.name)
        if not self._lease(lease):
            return None
        ingestor = self.pipeline.ingestor
        hooks = ingestor.heartbeat, ingestor.await_earlier  # a file's, when this one is before it
        try:
            try:
                place = (staged.path.stat().st_mtime_ns, staged.name)
            except FileNotFoundError:
                return None  # taken in by another worker between the listing and the lease
            renewed = self.monotonic()

            def renew() -> None:  # during a long file, at most once a minute
                nonlocal renewed
                if self.monotonic() - renewed >= LEASE_RENEWAL:
                    renewed = self.monotonic()
                    self._lease(lease)

            ingestor.heartbeat = renew
            ingestor.await_earlier = lambda: self._await_earlier(profile, place, renew)
            if claimed:
                return self.pipeline.take_claimed(staged, profile.key, profile)
            return self.pipeline.take(staged, profile.key, profile)
        finally:
            ingestor.heartbeat, ingestor.await_earlier = hooks
            self._free(lease)

    def _await_earlier(
        self, profile: PartnerProfile, place: tuple[int, str], renew: Callable[[], None]
    ) -> bool:
        """Wait, at most ORDER_WAIT seconds, until no file of the partner staged before the one
        at `place` is being taken in by another worker (files are taken in the order they came
        in, but by several workers at once: the 850 a later file's 860 changes may still be on
        its way into the store); such a file nobody is taking in (a dead worker's, one staged
        late) this worker takes in first. Whether there was one, so the set is applied again."""
        deadline = self.monotonic() + ORDER_WAIT
        waited = told = False
        while self.monotonic() < deadline:
            others = False
            for staged, claimed in self._staged(profile.key):
                if _place(staged) >= place:
                    continue
                with self.uow_factory() as uow:
                    holder = uow.leases.holder(file_lease(profile.key, staged.name), self.clock())
                if holder is not None and dead_here(holder):
                    release_dead_workers(self.uow_factory)
                    holder = None
                if holder is None:
                    taken = self._take_file(profile, staged, claimed=claimed)
                    if taken is not None:
                        self._before.append(taken)
                        waited = True
                elif holder != self.worker:
                    others = True
            if not others:
                break
            if not told:
                told = True
                self.log(
                    "waiting for the files before this one", partner=profile.key, file=place[1]
                )
            waited = True
            renew()
            time.sleep(ORDER_POLL)
        return waited

    def _taken(self, outcome: FileOutcome, summary: PassSummary) -> None:
        summary.files.append(outcome)
        if outcome.quarantined is not None:  # put aside for a person: a duplicate too
            self._alert(
                f"quarantine:{outcome.partner}:{outcome.sha256}",
                "quarantine",
                f"File {outcome.name} from {outcome.partner} was quarantined"
                + (" as a duplicate" if outcome.status == "duplicate" else ""),
                [
                    ("Partner", outcome.partner),
                    ("File", outcome.name),
                    ("Why", "; ".join(outcome.reasons) or outcome.status),
                    ("Where", str(outcome.quarantined or "")),
                    (
                        "What to do",
                        "read the report beside the file; once the cause is fixed, "
                        "`gateway documents replay ID` takes it in again",
                    ),
                ],
                partner=outcome.partner,
            )
        result = outcome.result
        self.log(
            f"file {outcome.status}",
            partner=outcome.partner,
            file=outcome.name,
            sha256=outcome.sha256[:16],
            sets=len(result.sets) if result else 0,
            acknowledgements=len(result.acknowledgements) if result else 0,
            quarantined=str(outcome.quarantined or ""),
            reasons="; ".join(outcome.reasons),
        )


def file_lease(partner: str, name: str) -> str:
    """The lease of a staged file: its partner and its name (hashed when too long for the
    store's 128 characters). A file and a later one of the same name wait for each other."""
    lease = f"file:{partner}:{name}"
    if len(lease) <= 128:
        return lease
    return f"file:{partner[:50]}:{hashlib.sha256(lease.encode()).hexdigest()}"


def _place(staged: Staged) -> tuple[int, str]:
    """Where a staged file stands in the order files are taken in (oldest first); a file
    gone meanwhile stands last."""
    try:
        return staged.path.stat().st_mtime_ns, staged.name
    except FileNotFoundError:
        return sys.maxsize, staged.name
