"""The composition root: builds the real adapters from the configuration and wires the service
layer. Nothing else creates engines or units of work; tests build theirs through here too (with
fakes where they want them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gateway.adapters.migrate import current_revision, head_revision, upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig, load_config, load_mappings
from gateway.errors import ConfigurationError
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound_settings import check_outbound_mappings
from gateway.service.ingest import Ingestor
from gateway.service.messagebus import MessageBus
from gateway.service.ports import UnitOfWork


@dataclass(slots=True)
class Gateway:
    """The wired gateway: configuration, engine, unit-of-work factory and message bus."""

    config: GatewayConfig
    engine: Engine
    uow_factory: Callable[[], UnitOfWork]
    bus: MessageBus
    mappings: Mappings
    ingestor: Ingestor

    def close(self) -> None:
        self.engine.dispose()

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
) -> Gateway:
    """Wire the gateway from a configuration (or the file at `config_path`, or the defaults)."""
    config = config or load_config(config_path)
    engine = create_store_engine(config)
    factory: Callable[[], UnitOfWork] = uow_factory or (lambda: SqlUnitOfWork(engine))
    mappings = Mappings(load_mappings())
    check_outbound_mappings(mappings)
    return Gateway(
        config, engine, factory, MessageBus(factory), mappings, Ingestor(factory, mappings)
    )
