"""Fixtures of the integration tests: a gateway with one partner, Harborview, buying from us
through a folder mailbox, on SQLite and on PostgreSQL (`gateway`). A module needing another
set of partners defines its own `gateway` fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, GatewayConfig, Identity, PartnerProfile


def harborview(folder: Path, **changes: object) -> PartnerProfile:
    profile = PartnerProfile(
        key="harborview",
        name="Harborview Home Goods",
        role="buyer",
        identity=Identity("01", "079845213", "079845213"),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=FolderTransport(folder / "in", folder / "out", settle_seconds=0),
    )
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


@pytest.fixture
def gateway(store_config: GatewayConfig, tmp_path: Path) -> Iterator[Gateway]:
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    config = dataclasses.replace(store_config, partners=(harborview(mailboxes),))
    wired = bootstrap(config)
    yield wired
    wired.close()
