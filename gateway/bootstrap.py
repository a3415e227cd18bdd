"""The composition root: builds the real adapters from the configuration and wires the service
layer. Nothing else creates engines or units of work; tests build theirs through here too (with
fakes where they want them)."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from gateway import kinds

if TYPE_CHECKING:
    from gateway.adapters.sftp import SftpMailbox

from gateway.adapters.filestore import LocalFiles, safe_name
from gateway.adapters.folder import FolderMailbox, FolderWatcher
from gateway.adapters.http import UrllibSender
from gateway.adapters.mail_templates import JinjaComposer
from gateway.adapters.migrate import current_revision, head_revision, upgrade
from gateway.adapters.passwords import Argon2Hasher
from gateway.adapters.sftp import SftpMailbox
from gateway.adapters.smtp import CaptureSender, SmtpSender
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import (
    FolderTransport,
    GatewayConfig,
    PartnerProfile,
    load_config,
    load_mappings,
)
from gateway.errors import ConfigurationError
from gateway.logs import Log
from gateway.mapping.engine import Mappings
from gateway.service.accounts import PasswordHasher
from gateway.service.actions import OrderDesk
from gateway.service.delivery import Deliverer
from gateway.service.ingest import Ingestor
from gateway.service.messagebus import MessageBus
from gateway.service.metrics import Snapshot, store_answers, take_snapshot
from gateway.service.notify import Alerts, Mailer, MailQueue, Notifier, sample_data
from gateway.service.pipeline import Pipeline, no_checkpoint
from gateway.service.ports import InboundMailbox, MailSender, OutboundMailbox, UnitOfWork
from gateway.service.runner import Runner
from gateway.service.webhooks import WebhookDeliverer, WebhookQueue

CRASH_VARIABLE = "GATEWAY_CRASH_AT"
"""For the fault tests only: `POINT:N` kills the process (SIGKILL, as `kill -9`) the Nth time
it passes POINT (claimed, archived, ingested, quarantined, released, stored, set,
claimed-delivery, delivered, claimed-mail, mail-sent, claimed-webhook, webhook-sent)."""


def crash_checkpoint(spec: str) -> Callable[[str], None]:
    """The checkpoint a `GATEWAY_CRASH_AT` value asks for (no-op for '')."""
    if not spec:
        return no_checkpoint
    point, _, count = spec.partition(":")
    if not point or not count.isdigit() or int(count) < 1:
        raise ConfigurationError(f"{CRASH_VARIABLE}={spec!r}: expected POINT:N with N >= 1")
    seen = {"count": 0}

    def checkpoint(reached: str) -> None:
        if reached == point:
            seen["count"] += 1
            if seen["count"] == int(count):
                os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


@dataclass(slots=True)
class Gateway:
    """The wired gateway: configuration, engine, unit-of-work factory, message bus, the
    pipeline from mailboxes to store, the outbox's deliverer and the web console's password
    hasher."""

    config: GatewayConfig
    engine: Engine
    uow_factory: Callable[[], UnitOfWork]
    bus: MessageBus
    mappings: Mappings
    ingestor: Ingestor
    files: LocalFiles
    pipeline: Pipeline
    deliverer: Deliverer
    alerts: Alerts
    mailer: Mailer
    webhooks: WebhookDeliverer
    checkpoint: Callable[[str], None] = no_checkpoint
    password_hasher: PasswordHasher = field(default_factory=Argon2Hasher)
    _outbound: dict[str, OutboundMailbox] = field(default_factory=dict)
    _inbound: dict[str, InboundMailbox] = field(default_factory=dict)

    def close(self) -> None:
        for mailbox in [*self._outbound.values(), *self._inbound.values()]:
            closing = getattr(mailbox, "close", None)
            if closing is not None:
                closing()
        self.engine.dispose()

    def desk(self, *, actor: str = "operator") -> OrderDesk:
        """The operator's actions on orders, through the gateway's bus, done as `actor`."""
        return OrderDesk(
            self.uow_factory,
            self.mappings,
            {p.key: p for p in self.config.partners},
            bus=self.bus,
            actor=actor,
        )

    def metrics_snapshot(self) -> Snapshot:
        """The figures the monitoring scrapes (`/metrics`), read now."""
        return take_snapshot(
            self.uow_factory,
            self.files,
            [p.key for p in self.config.partners],
            dt.datetime.now(dt.UTC),
        )

    def store_health(self) -> str:
        """ "" when the store answers a trivial query now, else why not (`/healthz`)."""
        return store_answers(self.uow_factory)

    def outbound_mailbox(self, partner: str) -> OutboundMailbox:
        """Where documents for `partner` go: its profile's transport, or DATA/outbox/PARTNER
        for a partner without a profile."""
        found = self._outbound.get(partner)
        if found is None:
            profile = self.config.partner(partner)
            if profile is None:
                folder = self.config.data_dir / "outbox" / safe_name(partner)
                found = FolderMailbox(partner, FolderTransport(inbox=folder, outbox=folder))
            else:
                found = self._mailbox(profile)
            self._outbound[partner] = found
        return found

    def inbound_mailbox(self, profile: PartnerProfile) -> InboundMailbox:
        """Where `profile`'s partner leaves files for us."""
        found = self._inbound.get(profile.key)
        if found is None:
            found = self._inbound[profile.key] = self._mailbox(profile)
        return found

    def _mailbox(self, profile: PartnerProfile) -> FolderMailbox | SftpMailbox:
        transport = profile.transport
        if isinstance(transport, FolderTransport):
            return FolderMailbox(profile.key, transport)
        from gateway.adapters.sftp import SftpMailbox  # noqa: PLC0415  (paramiko: when needed)

        return SftpMailbox(profile.key, transport, password=transport.password())

    def check_mailbox(self, profile: PartnerProfile) -> list[str]:
        """What is wrong with a partner's mailboxes ([] when all is well)."""
        transport = profile.transport
        if isinstance(transport, FolderTransport):
            problems = []
            for role, folder in (("inbox", transport.inbox), ("outbox", transport.outbox)):
                if not folder.is_dir():
                    problems.append(f"{role} {folder} is not a folder")
                elif not os.access(folder, os.W_OK | os.X_OK):
                    problems.append(f"{role} {folder} cannot be written")
            return problems
        from gateway.adapters.sftp import SftpMailbox  # noqa: PLC0415  (paramiko: when needed)

        with SftpMailbox(profile.key, transport, password=transport.password()) as mailbox:
            return mailbox.check()

    def runner(self, *, log: Log | None = None) -> Runner:
        """The main loop over every configured partner."""
        return Runner(
            self.config.partners,
            self.inbound_mailbox,
            self.pipeline,
            self.deliverer,
            self.uow_factory,
            log=log,
            mailer=self.mailer,
            alerts=self.alerts,
            mail=self.config.mail,
            webhooks=self.webhooks,
        )

    def watcher(self) -> FolderWatcher:
        """Wakes the main loop when a partner's inbox folder changes."""
        return FolderWatcher(
            p.transport.inbox
            for p in self.config.partners
            if isinstance(p.transport, FolderTransport)
        )

    def upgrade_database(self) -> tuple[str | None, str | None]:
        """Bring the store's schema to the newest revision; (before, after)."""
        before = current_revision(self.engine)
        upgrade(self.engine)
        return before, current_revision(self.engine)

    def check_database(self) -> None:
        """Refuse to work on a store whose schema is not the newest (run `gateway db upgrade`)."""
        current, head = current_revision(self.engine), head_revision()
        if current != head:
            state = "empty" if current is None else f"at revision {current}"
            raise ConfigurationError(
                f"the database ({self.config.database_url}) is {state}, not {head}: run "
                "`gateway db upgrade`"
            )


def bootstrap(
    config: GatewayConfig | None = None,
    *,
    config_path: Path | None = None,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    password_hasher: PasswordHasher | None = None,
) -> Gateway:
    """Wire the gateway from a configuration (or the file at `config_path`, or the defaults);
    passwords hashed with argon2id unless another `password_hasher` is given."""
    config = config or load_config(config_path)
    engine = create_store_engine(config)
    composer = JinjaComposer(config.mail.templates_dir)
    if config.mail.templates_dir is not None:  # the shipped templates are checked by the tests
        composer.check(sample_data())  # a broken override fails now, not at its first email
    mail = MailQueue(config.mail, composer)

    def unit_of_work() -> UnitOfWork:  # the factory below, once it is made
        return factory()

    alerts = Alerts(unit_of_work, mail)
    notifier = Notifier(mail, {p.key: p for p in config.partners}, alerts)
    handlers = notifier.handlers()
    for kind, found in WebhookQueue().handlers().items():
        handlers[kind] = [*handlers.get(kind, []), *found]
    bus = MessageBus(unit_of_work, handlers)  # the one bus, the commit hook of all
    factory: Callable[[], UnitOfWork] = uow_factory or (
        lambda: SqlUnitOfWork(engine, on_commit=(bus.dispatch,))
    )
    mappings = Mappings(load_mappings(), config.mapping_overrides())
    kinds.check_mappings(mappings, [p.key for p in config.partners if p.mappings])
    checkpoint = crash_checkpoint(os.environ.get(CRASH_VARIABLE, ""))
    ingestor = Ingestor(
        factory, mappings, partners=config.partners, checkpoint=checkpoint, alerts=alerts, bus=bus
    )
    files = LocalFiles(config.data_dir)
    ingestor.archived = lambda path: files.chunks(Path(path))
    pipeline = Pipeline(ingestor, files, checkpoint=checkpoint)
    gateway: Gateway

    def outbound(partner: str) -> OutboundMailbox:
        return gateway.outbound_mailbox(partner)

    gateway = Gateway(
        config,
        engine,
        factory,
        bus,
        mappings,
        ingestor,
        files,
        pipeline,
        Deliverer(factory, outbound, checkpoint=checkpoint),
        alerts,
        Mailer(factory, mail_sender(config), alerts, checkpoint=checkpoint),
        WebhookDeliverer(factory, UrllibSender(), alerts, config.webhooks, checkpoint=checkpoint),
        checkpoint,
        password_hasher or Argon2Hasher(),
    )
    return gateway


def mail_sender(config: GatewayConfig) -> MailSender:
    """The configured SMTP server, or, with none, the capture folder DATA/mail/captured where
    each email is written as an .eml file."""
    if config.mail.host:
        return SmtpSender(config.mail)
    return CaptureSender(config.data_dir / "mail" / "captured")
