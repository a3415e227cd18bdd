"""Fixtures of the console's tests: a gateway on SQLite and PostgreSQL selling to Harborview
(EDI, folder mailbox) and buying from Pinecrest (who fulfils by hand), with one order from
Harborview taken in from the sample 850 and a test order placed with Pinecrest; users of every
role; and `client(name)`, a test client signed in as that user."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.adapters.passwords import Argon2Hasher
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import GatewayConfig, MailSettings
from gateway.service import accounts
from gateway.web.app import create_app
from tests.integration.conftest import harborview
from tests.integration.test_actions import seller

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_850 = ROOT / "samples" / "850" / "850_004010_good.x12"
HARBORVIEW_PO = "HV4500871234"
PASSWORD = "correct horse battery"
USERS = {
    "ada": ("admin", None),
    "olive": ("operator", None),
    "vic": ("viewer", None),
    "pat": ("partner", "pinecrest"),
    "hank": ("partner", "harborview"),
}


@dataclasses.dataclass
class Console:
    gateway: Gateway
    app: object
    pinecrest_po: str
    client: Callable[..., TestClient]
    hasher: Argon2Hasher


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD, target: str = "/"):
    page = client.get("/signin", params={"next": target})
    return client.post(
        "/signin",
        data={"csrf": csrf_in(page.text), "name": name, "password": password, "next": target},
        follow_redirects=False,
    )


def demo_console(config: GatewayConfig, folder: Path) -> tuple[Gateway, Argon2Hasher, str]:
    """A gateway on `config` selling to Harborview and buying from Pinecrest, with the users
    of USERS, Harborview's sample 850 taken in and a test order placed with Pinecrest; the
    hasher the users were added with; the test order's PO number."""
    mailboxes = folder / "mailboxes"
    (mailboxes / "in").mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(
        config,
        partners=(harborview(mailboxes), seller(folder, "pinecrest", "direct")),
        mail=MailSettings(sender="Cedar Ridge <edi@cedarridge.example>"),
    )
    gateway = bootstrap(config)
    hasher = Argon2Hasher.cheap()
    now = dt.datetime.now(dt.UTC)
    for name, (role, partner) in USERS.items():
        accounts.add_user(gateway.uow_factory(), hasher, name, role, partner, PASSWORD, now)
    result = gateway.ingestor.ingest(SAMPLE_850.read_bytes(), SAMPLE_850.name)
    assert result.accepted
    test_order = gateway.desk().test_order("pinecrest")
    return gateway, hasher, test_order.po_number


@pytest.fixture
def console(store_config: GatewayConfig, tmp_path: Path) -> Iterator[Console]:
    gateway, hasher, pinecrest_po = demo_console(store_config, tmp_path)
    app = create_app(gateway, hasher=hasher)
    clients: list[TestClient] = []

    def client(name: str | None = None, *, on: object = None, **options: object) -> TestClient:
        """A test client of the console (`on`: another app), signed in as `name`."""
        options.setdefault("base_url", "http://testserver")
        made = TestClient(on or app, **options)  # type: ignore[arg-type]
        made.__enter__()
        clients.append(made)
        if name is not None:
            answer = sign_in(made, name)
            assert answer.status_code == 303, answer.text
        return made

    yield Console(gateway, app, pinecrest_po, client, hasher)
    for made in clients:
        made.__exit__(None, None, None)
    gateway.close()
