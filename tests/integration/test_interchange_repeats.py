"""What a file is when it repeats one taken in before (issue 13, points 2 and 3).

- The same bytes as a file applied for the same partner: a duplicate, not applied, nothing sent
  again (its answer went out the first time).
- An interchange whose sender and ISA13 were accepted before: answered with a TA1 rejecting it
  (TA104 R, TA105 025 duplicate interchange control number) and no 997 claiming it accepted;
  never applied on its own. When its transaction sets are those taken in before, it is a resend
  (a duplicate); when they are not, the control number was reused with new content: the file is
  quarantined, the operators alerted, and `documents replay` applies it when an operator decides
  it is new business (its 997 goes out then).
- A control number whose interchange was rejected (TA1 R) is not taken: the partner's corrected
  file with the same ISA13 goes through.
- Duplicates are judged per partner and only against what was applied: bytes once refused as
  unauthorized (the wrong mailbox) are taken in through the right one.
On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, GatewayConfig, Identity
from gateway.service.documents import replay
from gateway.service.pipeline import FileOutcome
from tests.integration.test_pipeline import Recorded, harborview

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "850" / "850_004010_good.x12"
PO = "HV4500871234"
NEW_PO = "HV4500879999"


@pytest.fixture
def gateway(store_config: GatewayConfig, tmp_path: Path) -> Iterator[Gateway]:
    ours = harborview(tmp_path / "harborview")
    other = harborview(
        tmp_path / "lakeshore",
        key="lakeshore",
        name="Lakeshore Living",
        identity=Identity("ZZ", "LAKESHORE", "LAKESHORE"),
    )
    for profile in (ours, other):
        assert isinstance(profile.transport, FolderTransport)
        profile.transport.inbox.mkdir(parents=True)
    wired = bootstrap(dataclasses.replace(store_config, partners=(ours, other)))
    yield wired
    wired.close()


def folders(gateway: Gateway, key: str) -> FolderTransport:
    (profile,) = [p for p in gateway.config.partners if p.key == key]
    assert isinstance(profile.transport, FolderTransport)
    return profile.transport


def take(
    gateway: Gateway,
    content: bytes,
    name: str,
    key: str = "harborview",
    alerted: list[str] | None = None,
) -> FileOutcome:
    (folders(gateway, key).inbox / name).write_bytes(content)
    runner = gateway.runner()
    runner.alerts = Recorded([] if alerted is None else alerted)  # type: ignore[assignment]
    (taken,) = runner.run_once().files
    return taken


def answers(gateway: Gateway) -> list[bytes]:
    """What went back to harborview, oldest first."""
    outbox = folders(gateway, "harborview").outbox
    if not outbox.exists():
        return []
    return [p.read_bytes() for p in sorted(outbox.iterdir(), key=lambda p: p.stat().st_mtime_ns)]


def held(gateway: Gateway) -> list[str]:
    with gateway.uow_factory() as uow:
        return sorted(o.po_number for po in (PO, NEW_PO) for o in uow.orders.find(po))


def with_po(po: str, *, isa09: bytes = b"261103") -> bytes:
    content = SAMPLE.read_bytes().replace(PO.encode(), po.encode())
    return content.replace(b"*261103*0915*", b"*" + isa09 + b"*0915*", 1)


def test_a_reused_control_number_with_new_content_is_rejected_quarantined_and_replayable(
    gateway: Gateway,
):
    first = take(gateway, SAMPLE.read_bytes(), "po.x12")
    assert first.status == "applied"
    before = len(answers(gateway))
    alerted: list[str] = []
    reused = take(gateway, with_po(NEW_PO), "po-2.x12", alerted=alerted)  # same ISA13, new PO
    assert reused.status == "quarantined"
    assert any("control number reused" in r and "replay" in r for r in reused.reasons)
    assert held(gateway) == [PO]
    (answer,) = answers(gateway)[before:]
    assert b"TA1*000051001*261103*0915*R*025~" in answer
    assert b"AK9*A" not in answer and b"ST*997" not in answer
    assert reused.result is not None
    (document_id,) = reused.result.document_ids
    with gateway.uow_factory() as uow:
        stored = uow.documents.get(document_id)
        assert stored is not None and stored.status == "control reused"
    assert "File po-2.x12 from harborview was quarantined" in alerted

    again = replay(gateway.uow_factory, gateway.ingestor, document_id)
    assert [(s.set_id, s.po_number, s.action) for s in again.sets] == [("850", NEW_PO, "created")]
    assert held(gateway) == sorted([PO, NEW_PO])
    gateway.runner().run_once()
    (acknowledged,) = answers(gateway)[before + 1 :]
    assert b"AK1*PO*5101~" in acknowledged and b"AK9*A*1*1*1~" in acknowledged
    with gateway.uow_factory() as uow:
        stored = uow.documents.get(document_id)
        assert stored is not None and stored.status == "accepted"


def test_a_resend_of_the_same_sets_under_the_same_control_number_is_a_duplicate(
    gateway: Gateway,
):
    take(gateway, SAMPLE.read_bytes(), "po.x12")
    before = len(answers(gateway))
    resent = take(gateway, with_po(PO, isa09=b"261104"), "po-resent.x12")  # re-enveloped
    assert resent.status == "duplicate"
    assert any("taken in before with the same transaction sets" in r for r in resent.reasons)
    (answer,) = answers(gateway)[before:]
    assert b"TA1*000051001*261104*0915*R*025~" in answer and b"ST*997" not in answer
    assert held(gateway) == [PO]
    assert resent.result is not None
    with pytest.raises(Exception, match="is duplicate: it is never applied"):
        replay(gateway.uow_factory, gateway.ingestor, resent.result.document_ids[0])


def test_a_corrected_file_under_a_rejected_control_number_goes_through(gateway: Gateway):
    broken = SAMPLE.read_bytes().replace(b"IEA*1*000051001", b"IEA*1*000051009")
    refused = take(gateway, broken, "po.x12")
    assert refused.status == "quarantined" and held(gateway) == []
    corrected = take(gateway, SAMPLE.read_bytes(), "po-fixed.x12")
    assert (corrected.status, held(gateway)) == ("applied", [PO])


def test_bytes_refused_in_the_wrong_mailbox_are_taken_in_through_the_right_one(
    gateway: Gateway,
):
    wrong = take(gateway, SAMPLE.read_bytes(), "po.x12", key="lakeshore")
    assert wrong.status == "quarantined" and any("not authorized" in r for r in wrong.reasons)
    right = take(gateway, SAMPLE.read_bytes(), "po.x12")
    assert (right.status, right.reasons) == ("applied", [])
    assert held(gateway) == [PO]


def test_the_same_bytes_applied_before_are_a_duplicate_with_nothing_sent_again(
    gateway: Gateway,
):
    take(gateway, SAMPLE.read_bytes(), "po.x12")
    before = len(answers(gateway))
    again = take(gateway, SAMPLE.read_bytes(), "po-copy.x12")
    assert again.status == "duplicate" and any("same bytes" in r for r in again.reasons)
    assert answers(gateway)[before:] == [] and held(gateway) == [PO]
