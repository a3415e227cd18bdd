"""A file through a partner's mailbox must come from the partner and be for us in each of its
functional groups too (GS02 the partner's gs_id, GS03 ours), not only in its ISA: a group from
or to anyone else is refused in its 997 and never applied, the file is quarantined with the
reason, and the other groups of the file go through. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.bootstrap import Gateway
from gateway.config import FolderTransport
from gateway.service.documents import replay
from gateway.service.pipeline import FileOutcome

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "850" / "850_004010_good.x12"
PO = "HV4500871234"
GS = b"GS*PO*079845213*CEDARRIDGEOUT*20261103*0915*5101*X*004010~"


def transport(gateway: Gateway) -> FolderTransport:
    found = gateway.config.partners[0].transport
    assert isinstance(found, FolderTransport)
    return found


def take(gateway: Gateway, content: bytes) -> FileOutcome:
    (transport(gateway).inbox / "po.x12").write_bytes(content)
    (taken,) = gateway.runner().run_once().files
    return taken


def sent_back(gateway: Gateway) -> bytes:
    outbox = transport(gateway).outbox
    return b"".join(p.read_bytes() for p in sorted(outbox.glob("*"))) if outbox.exists() else b""


def orders(gateway: Gateway) -> list[str]:
    with gateway.uow_factory() as uow:
        return [o.po_number for o in uow.orders.find(PO)]


def with_group(sender: str = "079845213", receiver: str = "CEDARRIDGEOUT") -> bytes:
    content = SAMPLE.read_bytes()
    assert GS in content
    return content.replace(
        GS, GS.replace(b"*079845213*CEDARRIDGEOUT*", f"*{sender}*{receiver}*".encode())
    )


def quarantine_report(taken: FileOutcome) -> str:
    assert taken.quarantined is not None
    return taken.quarantined.with_name(taken.quarantined.name + ".report.txt").read_text()


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        (
            {"sender": "SOMEONEELSE"},
            "is from GS02 'SOMEONEELSE', expected '079845213' (harborview's gs_id)",
        ),
        (
            {"receiver": "SOMEONEELSE"},
            "is addressed to GS03 'SOMEONEELSE', expected 'CEDARRIDGEOUT' (our gs_id towards"
            " harborview)",
        ),
    ],
)
def test_a_group_from_or_to_another_application_id_is_refused_quarantined_and_not_applied(
    gateway: Gateway, group: dict[str, str], reason: str
):
    taken = take(gateway, with_group(**group))
    reason = f"not authorized: group 5101 of interchange 000051001 {reason}"
    assert taken.status == "quarantined"
    assert reason in taken.reasons
    assert reason in quarantine_report(taken)
    assert orders(gateway) == []
    answer = sent_back(gateway)
    assert b"AK9*A" not in answer
    assert b"AK1*PO*5101~" in answer
    assert b"AK9*R*1*1*1*1~" in answer  # AK905 1: functional group not supported


def test_a_group_from_the_partners_gs_id_to_ours_is_applied(gateway: Gateway):
    taken = take(gateway, SAMPLE.read_bytes())
    assert (taken.status, taken.reasons) == ("applied", [])
    assert orders(gateway) == [PO]
    assert b"AK9*A*1*1*1~" in sent_back(gateway)


def test_only_the_foreign_group_of_a_file_is_refused_the_others_go_through(gateway: Gateway):
    content = SAMPLE.read_bytes()
    start, end = content.index(GS), content.index(b"IEA*")
    foreign = (
        content[start:end]
        .replace(b"*079845213*CEDARRIDGEOUT*", b"*SOMEONEELSE*CEDARRIDGEOUT*", 1)
        .replace(b"*5101*X*", b"*5102*X*", 1)
        .replace(b"GE*1*5101~", b"GE*1*5102~")
        .replace(b"HV4500871234", b"HV4500871299")
    )
    two_groups = content[:end] + foreign + b"IEA*2*000051001~\n"
    taken = take(gateway, two_groups)
    assert taken.status == "quarantined"
    assert [r for r in taken.reasons if r.startswith("not authorized")] == [
        "not authorized: group 5102 of interchange 000051001 is from GS02 'SOMEONEELSE',"
        " expected '079845213' (harborview's gs_id)"
    ]
    assert orders(gateway) == [PO]  # the first group's order, not the second's
    with gateway.uow_factory() as uow:
        assert uow.orders.find("HV4500871299") == []
    answer = sent_back(gateway)
    assert b"AK1*PO*5101~" in answer and b"AK9*A*1*1*1~" in answer
    assert b"AK1*PO*5102~" in answer and b"AK9*R*1*1*1*1~" in answer


def test_a_replay_of_the_file_never_applies_its_refused_group(gateway: Gateway):
    # group 5101 cancels an order we do not hold: refused, so the file has a set to replay
    content = SAMPLE.read_bytes().replace(b"BEG*00*SA*HV4500871234", b"BEG*01*SA*HV4500871777")
    start, end = content.index(GS), content.index(b"IEA*")
    foreign = (
        content[start:end]
        .replace(b"*079845213*CEDARRIDGEOUT*", b"*SOMEONEELSE*CEDARRIDGEOUT*", 1)
        .replace(b"*5101*X*", b"*5102*X*", 1)
        .replace(b"GE*1*5101~", b"GE*1*5102~")
        .replace(b"HV4500871234", b"HV4500871299")
    )
    taken = take(gateway, content[:end] + foreign + b"IEA*2*000051001~\n")
    assert taken.status == "quarantined" and taken.result is not None
    assert [s.action for s in taken.result.sets] == ["refused"]
    with gateway.uow_factory() as uow:
        assert uow.orders.find("HV4500871299") == []
    again = replay(gateway.uow_factory, gateway.ingestor, taken.result.document_ids[0])
    assert [s.set_id for s in again.sets] == ["850"]  # the refused set of group 5101 alone
    with gateway.uow_factory() as uow:
        assert uow.orders.find("HV4500871299") == []


def test_the_997_refusing_a_misaddressed_group_comes_from_our_gs_id_to_the_partners(
    gateway: Gateway,
):
    take(gateway, with_group(receiver="SOMEONEELSE"))
    answer = sent_back(gateway)
    assert b"GS*FA*CEDARRIDGEOUT*079845213*" in answer  # never as SOMEONEELSE
    assert b"SOMEONEELSE" not in answer
