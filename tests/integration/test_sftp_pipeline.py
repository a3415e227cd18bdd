"""The whole gateway against a partner's real SFTP server (OpenSSH sshd on 127.0.0.1): 850s
pulled from their outbound folder and taken in, our 997 and 855 pushed to their inbound folder,
a changed host key refused while another partner's folder mailbox goes on, a server down then up.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import (
    FolderTransport,
    GatewayConfig,
    Identity,
    PartnerProfile,
    SftpTransport,
)
from gateway.mapping.outbound import Decision
from gateway.service.export import export
from tests.integration.test_pipeline import Recorded
from tests.sshd import SshdServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@dataclasses.dataclass
class Site:
    gateway: Gateway
    server: SshdServer
    remote_out: str  # the partner's folder we pick up from
    remote_in: str  # the partner's folder we deliver to
    local_inbox: Path  # the other partner's folder mailbox


def profiles(server: SshdServer, remote_out: str, remote_in: str, local: Path, **sftp: object):
    harborview = PartnerProfile(
        key="harborview",
        name="Harborview Home Goods",
        role="buyer",
        identity=Identity("01", "079845213", "079845213"),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=dataclasses.replace(
            SftpTransport(
                host=server.host,
                user=server.user,
                host_key=server.host_key,
                remote_inbox=remote_out,
                remote_outbox=remote_in,
                port=server.port,
                key_file=server.client_key,
                timeout_seconds=3.0,
            ),
            **sftp,  # type: ignore[arg-type]
        ),
    )
    bluewater_buyer = PartnerProfile(
        key="harborview-kitchen",
        name="Harborview Home Goods (kitchen)",
        role="buyer",
        identity=Identity("ZZ", "HARBORKITCHEN", "HARBORKITCHEN"),
        us=Identity("ZZ", "BLUEWATERKW", "BLUEWATERKW"),
        transport=FolderTransport(local / "in", local / "out", settle_seconds=0),
    )
    return (harborview, bluewater_buyer)


@pytest.fixture
def site(sshd_server: SshdServer, tmp_path: Path) -> Iterator[Site]:
    sshd_server.start()
    remote_out = sshd_server.remote_folder("harborview-out")
    remote_in = sshd_server.remote_folder("harborview-in")
    local = tmp_path / "kitchen"
    (local / "in").mkdir(parents=True)
    config = GatewayConfig(
        data_dir=tmp_path / "data", partners=profiles(sshd_server, remote_out, remote_in, local)
    )
    gateway = bootstrap(config)
    gateway.upgrade_database()
    yield Site(gateway, sshd_server, remote_out, remote_in, local / "in")
    gateway.close()


def kitchen_order() -> bytes:
    """The 005010 sample, sent by the kitchen buyer's own ISA id and GS id."""
    data = (SAMPLES / "850" / "850_005010_good.x12").read_bytes()
    data = data.replace(b"GS*PO*079845213*", b"GS*PO*HARBORKITCHEN*")
    return data.replace(b"01*079845213      ", b"ZZ*HARBORKITCHEN  ")


def test_orders_are_pulled_from_the_partners_server_and_answered_there(site: Site):
    for name in ("850_004010_good.x12", "850_004010_three_sets.x12"):
        site.server.put_file(
            site.remote_out, name, (SAMPLES / "850" / name).read_bytes(), mtime=1.0
        )
    summary = site.gateway.runner().run_once()
    assert [f.status for f in summary.files] == ["applied", "applied"]
    assert os.listdir(site.remote_out) == []  # picked up: removed from their server
    delivered = sorted(os.listdir(site.remote_in))
    assert [name.split("_")[0] for name in delivered] == ["997", "997"]
    assert all(not name.startswith(".") for name in delivered)
    # our 855 goes the same way, after the next pass
    export(site.gateway.uow_factory, "HV4500871234", "855", decision=Decision.accept_all(),
           mappings=site.gateway.mappings)  # fmt: skip
    site.gateway.runner().run_once()
    assert sorted(name.split("_")[0] for name in os.listdir(site.remote_in)) == [
        "855",
        "997",
        "997",
    ]


def test_a_changed_host_key_is_refused_and_the_other_partner_goes_on(
    sshd_server: SshdServer, tmp_path: Path
):
    sshd_server.start()
    remote_out = sshd_server.remote_folder("changed-out")
    remote_in = sshd_server.remote_folder("changed-in")
    sshd_server.put_file(
        remote_out, "po.x12", (SAMPLES / "850" / "850_004010_good.x12").read_bytes(), mtime=1.0
    )
    local = tmp_path / "kitchen"
    (local / "in").mkdir(parents=True)
    (local / "in" / "po.x12").write_bytes(kitchen_order())
    wrong = "SHA256:" + "A" * 43
    config = GatewayConfig(
        data_dir=tmp_path / "data",
        partners=profiles(sshd_server, remote_out, remote_in, local, host_key=wrong),
    )
    gateway = bootstrap(config)
    gateway.upgrade_database()
    try:
        summary = gateway.runner().run_once()
        assert "harborview" in summary.unreachable
        assert "host key" in summary.unreachable["harborview"]
        assert os.listdir(remote_out) == ["po.x12"]  # nothing was taken from that server
        assert [(f.partner, f.status) for f in summary.files] == [("harborview-kitchen", "applied")]
        assert {(d.partner, d.status) for d in summary.deliveries} == {
            ("harborview-kitchen", "sent")
        }
    finally:
        gateway.close()


def test_a_server_down_is_retried_and_nothing_is_lost(site: Site):
    site.server.put_file(
        site.remote_out,
        "po.x12",
        (SAMPLES / "850" / "850_004010_good.x12").read_bytes(),
        mtime=1.0,
    )
    with site.server.stopped():
        runner = site.gateway.runner()
        summary = runner.run_once()
        assert "harborview" in summary.unreachable
        assert runner.states["harborview"].failures == 1
    summary = runner.run_once()
    assert summary.unreachable == {}
    assert [f.status for f in summary.files] == ["applied"]
    assert runner.states["harborview"].failures == 0
    assert [name.split("_")[0] for name in os.listdir(site.remote_in)] == ["997"]


def test_an_unreadable_file_on_the_server_is_reported_and_the_files_after_it_go_on(site: Site):
    unreadable = site.server.put_file(site.remote_out, "a-po.x12", kitchen_order(), mtime=1.0)
    os.chmod(unreadable, 0)
    site.server.put_file(
        site.remote_out, "b-po.x12", (SAMPLES / "850" / "850_004010_good.x12").read_bytes(),
        mtime=2.0,
    )  # fmt: skip
    logged: list[tuple[str, dict[str, object]]] = []
    alerted: list[str] = []
    runner = site.gateway.runner(log=lambda event, **fields: logged.append((event, fields)))
    runner.alerts = Recorded(alerted)  # type: ignore[assignment]
    summary = runner.run_once()
    assert [(f.name, f.status) for f in summary.files] == [("b-po.x12", "applied")]
    assert [(p, f.name) for p, f in summary.unmovable] == [("harborview", "a-po.x12")]
    assert summary.unreachable == {}  # the mailbox works: one file in it does not
    assert [e for e, _ in logged].count("file cannot be picked up") == 1
    expected = "File a-po.x12 in the mailbox of Harborview Home Goods cannot be picked up"
    assert alerted.count(expected) == 1
    again = runner.run_once()
    assert [f.name for (f,) in [(f,) for _, f in again.unmovable]] == ["a-po.x12"]  # still there
    assert (
        alerted.count(expected) == 1
        and [e for e, _ in logged].count("file cannot be picked up") == 1
    )  # told once
    assert sorted(os.listdir(site.remote_out)) == ["a-po.x12"]


def test_partners_check_connects_and_names_what_is_wrong(sshd_server: SshdServer, tmp_path: Path):
    sshd_server.start()
    remote_out = sshd_server.remote_folder("check-out")
    remote_in = sshd_server.remote_folder("check-in")
    partners = tmp_path / "config" / "partners"
    partners.mkdir(parents=True)
    (tmp_path / "config" / "gateway.toml").write_text('[gateway]\ndata_dir = "../data"\n')
    profile = f"""
name = "Harborview"
role = "buyer"
[identity]
isa_qualifier = "01"
isa_id = "{{isa}}"
[us]
isa_id = "CEDARRIDGEOUT"
[transport]
type = "sftp"
host = "127.0.0.1"
port = {sshd_server.port}
user = "{sshd_server.user}"
key_file = "{sshd_server.client_key}"
host_key = "{{host_key}}"
remote_inbox = "{{inbox}}"
remote_outbox = "{{outbox}}"
timeout_seconds = 3
"""
    # each partner its own inbox: one inbox read for two partners is refused at load
    moved_in = sshd_server.remote_folder("check-out-moved")
    (partners / "good.toml").write_text(
        profile.format(
            isa="079845213", host_key=sshd_server.host_key, inbox=remote_out, outbox=remote_in
        )
    )
    (partners / "moved.toml").write_text(
        profile.format(
            isa="111111111", host_key=sshd_server.other_host_key, inbox=moved_in, outbox="/nowhere"
        )
    )
    (partners / "spoofed.toml").write_text(
        profile.format(
            isa="222222222", host_key="SHA256:" + "B" * 43, inbox="/spoofed-in", outbox=remote_in
        )
    )
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()",
         "--config", str(tmp_path / "config" / "gateway.toml"), "partners", "check"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["good"].endswith(": ok")
    assert "/nowhere" in lines["moved"]  # the other host key of the server is pinned: fine
    assert "host key" in lines["spoofed"] and "B" * 43 in lines["spoofed"]
    assert "Traceback" not in result.stderr
