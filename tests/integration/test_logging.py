"""A logger per layer (issue 15): ingest, export, delivery and mail each log what they did, once
it is committed, through Python's logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway
from gateway.mapping.outbound import Decision
from gateway.service.export import export
from tests.integration.test_pipeline import inbox

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PO = "HV4500871234"


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[tuple[str, str, dict]]:
    return [
        (r.levelname, r.getMessage(), getattr(r, "fields", {}))
        for r in caplog.records
        if r.name == logger
    ]


def test_each_layer_logs_what_it_did(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="gateway")
    (inbox(gateway) / "po.x12").write_bytes((SAMPLES / "850" / "850_004010_good.x12").read_bytes())
    bad = (SAMPLES / "860" / "860_004010_good_change.x12").read_bytes()
    (inbox(gateway) / "change.x12").write_bytes(bad.replace(PO.encode(), b"HV4500870000"))
    gateway.runner().run_once()
    ingest = records(caplog, "gateway.ingest")
    assert (
        ingest[0][:2]
        == (
            "DEBUG",
            "set created",
        )
        and ingest[0][2]["po"] == PO
    )
    refused = [r for r in ingest if r[1] == "set refused"]
    assert refused and refused[0][0] == "WARNING" and "[order-exists]" in refused[0][2]["why"]
    assert ("INFO", "delivery sent") in [r[:2] for r in records(caplog, "gateway.delivery")]
    assert any(r[1] == "file applied" for r in records(caplog, "gateway.runner"))
    export(
        gateway.uow_factory, PO, "855", decision=Decision.accept_all(), mappings=gateway.mappings
    )
    ((level, message, fields),) = records(caplog, "gateway.export")
    assert (level, message, fields["set"], fields["po"]) == ("INFO", "document queued", "855", PO)
