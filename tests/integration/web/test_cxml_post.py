"""`POST /cxml` on a real uvicorn on 127.0.0.1, on SQLite and PostgreSQL: a procurement system's
OrderRequest is answered in the same exchange with the cXML Response (200 when applied), with
the checks and the exactly-once record of a file: the bytes archived, the document stored, a
retry answered as the first time and not applied again, a wrong shared secret or an unknown
sender refused (401) and never applied, XXE and billion laughs refused (400) without reading a
file or expanding anything, a body over the limit refused by its size."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, GatewayConfig, load_partner
from gateway.cxml.reader import read_response
from gateway.cxml.safe import MAX_BYTES
from gateway.web.app import create_app
from tests.browser import serve

ROOT = Path(__file__).resolve().parents[3]
ORDER = (ROOT / "samples" / "cxml" / "order_request_new.xml").read_bytes()
PO = "NW-PO-20481"


@dataclasses.dataclass
class Site:
    url: str
    gateway: Gateway

    def post(self, body: bytes) -> tuple[int, int, str]:
        """(HTTP status, cXML status code, its detail)."""
        answer = httpx.post(
            self.url + "/cxml", content=body, headers={"content-type": "text/xml"}, timeout=30
        )
        read = read_response(answer.content)
        assert answer.headers["content-type"].startswith("text/xml")
        return answer.status_code, read.status_code, read.detail

    def orders(self) -> int:
        with self.gateway.uow_factory() as uow:
            return len(uow.orders.find(PO))


@pytest.fixture
def site(
    store_config: GatewayConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", "not-a-real-secret")
    northwind = load_partner(ROOT / "config" / "partners" / "northwind.toml")
    (tmp_path / "in").mkdir()
    northwind = dataclasses.replace(
        northwind, transport=FolderTransport(tmp_path / "in", tmp_path / "out")
    )
    gateway = bootstrap(dataclasses.replace(store_config, partners=(northwind,)))
    with serve(create_app(gateway)) as url:
        yield Site(url, gateway)
    gateway.close()


def test_an_order_posted_is_applied_and_answered_200_in_the_same_exchange(site: Site):
    assert site.post(ORDER)[:2] == (200, 200)
    assert site.orders() == 1
    sha256 = hashlib.sha256(ORDER).hexdigest()
    archived = site.gateway.config.data_dir / "archive" / sha256[:2] / sha256
    assert archived.read_bytes() == ORDER
    with site.gateway.uow_factory() as uow:
        (document,) = uow.documents.with_sha256(sha256)
        responses = uow.documents.listing(direction="out")
        pending = uow.outbox.pending()
    assert document.status == "accepted" and document.filename.startswith("POST /cxml from")
    assert [(d.transaction_sets, d.status) for d in responses] == [(("Response",), "sent")]
    assert pending == []  # answered in the exchange: no Response file for the outbox
    # a retry (the answer lost on the way): answered as the first time, applied once
    assert site.post(ORDER)[:2] == (200, 200)
    assert site.orders() == 1


def test_a_refused_order_is_answered_409_again_when_retried(site: Site):
    site.post(ORDER)
    update = ORDER.replace(b'type="new"', b'type="new"').replace(b".4711@", b".4712@")
    first = site.post(update)  # a new order for a PO held: a conflict
    assert first[1] == 409
    assert site.post(update) == first


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"not-a-real-secret", b"guessed"),
        (b"<Identity>NWBUYER-01</Identity>", b"<Identity>NOBODY</Identity>"),
    ],
)
def test_a_wrong_secret_or_an_unknown_sender_is_answered_401_and_never_applied(
    site: Site, old: bytes, new: bytes
):
    assert site.post(ORDER.replace(old, new))[:2] == (200, 401)
    assert site.orders() == 0


def test_hostile_xml_is_answered_400_without_reading_or_expanding(site: Site, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xxe = ORDER.replace(
        b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">',
        f'<!DOCTYPE cXML [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
    ).replace(b'<Comments xml:lang="en">', b'<Comments xml:lang="en">&x;')
    status, code, detail = site.post(xxe)
    assert (status, code) == (200, 400) and "TOP SECRET" not in detail
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;">]><cXML payloadID="x" timestamp="2026-12-01T00:00:00Z">'
        b'<Header><From><Credential domain="NetworkID"><Identity>NWBUYER-01</Identity>'
        b"</Credential></From></Header>&c;</cXML>"
    )
    assert site.post(laughs)[1] == 400
    assert site.orders() == 0


def test_a_body_over_the_limit_is_refused_by_its_size(site: Site):
    assert site.post(ORDER + b" " * MAX_BYTES)[1] == 400
    assert site.orders() == 0
