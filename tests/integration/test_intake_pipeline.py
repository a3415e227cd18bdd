"""cXML and CSV files through the whole pipeline (folder mailboxes, `run_once`), on SQLite and
PostgreSQL: a good cXML order applied and its Response delivered to the buyer's outbox as an
.xml file; hostile files (XXE, billion laughs, 10,000-deep nesting, a document over the size
limit, a CSV file in the wrong encoding) refused with a readable report in quarantine, answered
(cXML: 400) and never applied; a CSV cell that looks like a formula kept as data and written
behind an apostrophe when we send it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, GatewayConfig, PartnerProfile, load_partner
from gateway.cxml.reader import read_response
from gateway.cxml.safe import MAX_BYTES
from gateway.domain import commands
from gateway.domain.values import PurchaseOrderLine, Role
from gateway.service.export import export

ROOT = Path(__file__).resolve().parents[2]
ORDER = (ROOT / "samples" / "cxml" / "order_request_new.xml").read_bytes()
DOCTYPE = b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">'
FORMULA = "=cmd|' /C calc'!A0"


def mailbox(profile: PartnerProfile, folder: Path) -> PartnerProfile:
    (folder / profile.key / "in").mkdir(parents=True)
    transport = FolderTransport(folder / profile.key / "in", folder / profile.key / "out", 0)
    return dataclasses.replace(profile, transport=transport)


@pytest.fixture
def gateway(
    store_config: GatewayConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", "not-a-real-secret")
    partners = tuple(
        mailbox(load_partner(ROOT / "config" / "partners" / f"{key}.toml"), tmp_path / "boxes")
        for key in ("northwind", "alpenhof")
    )
    wired = bootstrap(dataclasses.replace(store_config, partners=partners))
    yield wired
    wired.close()


def drop(gateway: Gateway, partner: str, name: str, data: bytes) -> None:
    (gateway.config.data_dir / "boxes" / partner / "in" / name).write_bytes(data)


def boxes(gateway: Gateway) -> Path:
    return gateway.config.data_dir / "boxes"


def responses(gateway: Gateway) -> list[tuple[int, str]]:
    found = sorted((boxes(gateway) / "northwind" / "out").glob("Response_*.xml"))
    return [(r.status_code, r.detail) for r in (read_response(p.read_bytes()) for p in found)]


def reports(gateway: Gateway, partner: str) -> list[str]:
    folder = gateway.config.data_dir / "quarantine" / partner
    return [p.read_text() for p in sorted(folder.glob("*.report.txt"))]


def test_a_cxml_order_is_applied_and_its_response_delivered_as_an_xml_file(gateway: Gateway):
    drop(gateway, "northwind", "po.xml", ORDER)
    summary = gateway.runner().run_once()
    assert [f.status for f in summary.files] == ["applied"]
    assert responses(gateway) == [(200, "order NW-PO-20481 created")]


def hostile() -> dict[str, bytes]:
    secret = "/etc/hostname"
    return {
        "xxe.xml": ORDER.replace(
            DOCTYPE, f'<!DOCTYPE cXML [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        ).replace(b'<Comments xml:lang="en">', b'<Comments xml:lang="en">&x;'),
        "laughs.xml": ORDER.replace(
            DOCTYPE,
            b'<!DOCTYPE cXML [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        ).replace(b'<Comments xml:lang="en">', b'<Comments xml:lang="en">&b;'),
        "deep.xml": ORDER.replace(
            b"</OrderRequestHeader>", b"<x>" * 10_000 + b"</x>" * 10_000 + b"</OrderRequestHeader>"
        ),
        "huge.xml": ORDER.replace(b"Dana Ortiz</Extrinsic>", b"D" * MAX_BYTES + b"</Extrinsic>"),
        "latin1.xml": ORDER.replace(b"Dana Ortiz", "Daña Ortíz".encode("latin-1")),
    }


def test_hostile_cxml_files_are_quarantined_answered_400_and_never_applied(gateway: Gateway):
    files = hostile()
    for name, data in files.items():
        drop(gateway, "northwind", name, data)
    summary = gateway.runner().run_once()
    assert sorted((f.name, f.status) for f in summary.files) == sorted(
        (name, "quarantined") for name in files
    )
    assert sorted(code for code, _ in responses(gateway)) == [400] * len(files)
    texts = reports(gateway, "northwind")
    assert len(texts) == len(files) and all("rejected:" in text for text in texts)
    assert not any(Path("/etc/hostname").read_text().strip() in text for text in texts)
    with gateway.uow_factory() as uow:
        assert uow.orders.find("NW-PO-20481") == []


def test_a_csv_file_in_the_wrong_encoding_is_quarantined_naming_its_line(gateway: Gateway):
    rows = "Bestellnummer;Position;Menge;Grund\r\nCR-1;1;;Größe fehlt\r\n"
    drop(gateway, "alpenhof", "storno.csv", rows.encode("latin-1"))
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "quarantined"
    (text,) = reports(gateway, "alpenhof")
    assert "line 2" in text and "utf-8" in text


def test_a_formula_in_a_csv_cell_is_data_and_is_escaped_when_we_write_it(gateway: Gateway):
    gateway.bus.handle(
        commands.ReceiveOrder(
            partner="alpenhof",
            po_number="CR-PO-9",
            at=gateway.ingestor.clock(),
            source="placed by us",
            our_role=Role.BUYER,
            order_date=gateway.ingestor.clock().date(),
            lines=(PurchaseOrderLine("1", Decimal(1), "EA", Decimal(1), (("VP", "A"),), FORMULA),),
        )
    )
    sent = export(
        gateway.uow_factory,
        "CR-PO-9",
        "850",
        "alpenhof",
        mappings=gateway.ingestor.mappings,
        profiles={p.key: p for p in gateway.config.partners},
    )
    assert f";'{FORMULA};".encode() in sent.content or f';"\'{FORMULA}";'.encode() in sent.content
    cancel = f"Bestellnummer;Position;Menge;Grund\r\nCR-PO-9;1;;{FORMULA}\r\n"
    drop(gateway, "alpenhof", "storno.csv", cancel.encode())
    gateway.runner().run_once()
    with gateway.uow_factory() as uow:
        order = uow.orders.get("alpenhof", "CR-PO-9")
    assert order is not None and order.cancellations[0].reason == FORMULA  # kept as text
