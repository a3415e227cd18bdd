"""The pipeline from a partner's folder mailbox to the store and back, on SQLite and PostgreSQL,
with real files: archive first, duplicates and strangers quarantined with a report, acks
delivered to the partner's outbox, a crash at any point of a file taken again without loss or
double application, deliveries retried with backoff, acknowledgements owed marked overdue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import create_store_engine
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import (
    AcknowledgementPolicy,
    DatabaseConfig,
    FolderTransport,
    GatewayConfig,
)
from gateway.domain.commands import CreateFulfilment
from gateway.domain.values import LineQuantity
from gateway.errors import DocumentActionRefused, SerializationError
from gateway.mapping.outbound import Decision
from gateway.service import delivery, ingest
from gateway.service import runner as runner_module
from gateway.service.documents import list_documents, replay, show_document
from gateway.service.export import export
from gateway.service.pipeline import RAW_INLINE_LIMIT, Pipeline
from gateway.service.ports import OrderQuery
from gateway.service.report import partner_health
from gateway.service.views import order_view
from tests.integration.conftest import harborview

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PO = "HV4500871234"


def inbox(gateway: Gateway) -> Path:
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    return transport.inbox


def outbox(gateway: Gateway) -> list[Path]:
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    return sorted(transport.outbox.glob("*")) if transport.outbox.exists() else []


def drop(gateway: Gateway, sample: str, name: str | None = None) -> bytes:
    content = (SAMPLES / sample[:3] / sample).read_bytes()
    (inbox(gateway) / (name or sample)).write_bytes(content)
    return content


def state(gateway: Gateway) -> dict[str, object]:
    """Everything the store and the mailboxes hold, for comparing two runs."""
    with gateway.uow_factory() as uow:
        orders = []
        for summary in uow.orders.summaries(
            OrderQuery(scope="all", include_test=True, sort="partner", limit=None)
        ).summaries:
            order = uow.orders.get(summary.partner, summary.po_number)
            assert order is not None
            view = order_view(order, uow.orders.history(summary.partner, summary.po_number))
            view["history"] = [entry["event"] for entry in view["history"]]
            orders.append(view)
        documents = [
            (d.direction, d.status, d.transaction_sets, d.interchange_control)
            for d in uow.documents.listing(limit=1000)
        ]
        pending = len(uow.outbox.pending())
    return {
        "orders": orders,
        "documents": sorted(documents),
        "pending": pending,
        "outbox": [p.name for p in outbox(gateway)],
        "inbox": sorted(p.name for p in inbox(gateway).iterdir()),
    }


def test_a_file_is_archived_applied_and_acknowledged_into_the_partners_outbox(gateway: Gateway):
    content = drop(gateway, "850_004010_good.x12")
    summary = gateway.runner().run_once()
    (taken,) = summary.files
    assert (taken.status, taken.partner) == ("applied", "harborview")
    sha256 = hashlib.sha256(content).hexdigest()
    assert (gateway.config.data_dir / "archive" / sha256[:2] / sha256).read_bytes() == content
    assert list(inbox(gateway).iterdir()) == []
    assert not any(gateway.files.staging("harborview").glob("**/*.x12"))
    (ack,) = outbox(gateway)
    assert ack.read_bytes().startswith(b"ISA*00*          *00*          *ZZ*CEDARRIDGEOUT")
    assert b"AK9*A*1*1*1" in ack.read_bytes()
    with gateway.uow_factory() as uow:
        (order,) = uow.orders.find(PO)
        assert order.partner == "harborview"
        statuses = {d.direction: d.status for d in uow.documents.listing()}
    assert statuses == {"in": "accepted", "out": "sent"}


def test_a_one_pass_run_waits_for_a_file_dropped_a_moment_ago_a_running_pass_does_not(
    store_config: GatewayConfig, tmp_path: Path
):
    """`gateway run --once` right after a file is copied in: the file is too fresh to count as
    complete (settle_seconds), so the one pass waits for it instead of leaving it behind."""
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    transport = FolderTransport(mailboxes / "in", mailboxes / "out", settle_seconds=0.5)
    config = dataclasses.replace(
        store_config, partners=(harborview(mailboxes, transport=transport),)
    )
    wired = bootstrap(config)
    try:
        drop(wired, "850_004010_good.x12")
        assert wired.runner().run_once().files == []  # a running gateway's pass: later
        logged: list[tuple[str, dict[str, object]]] = []
        summary = wired.runner(log=lambda event, **fields: logged.append((event, fields))).run_once(
            wait_settling=True
        )
        assert [taken.status for taken in summary.files] == ["applied"]
        waits = [fields for event, fields in logged if event.startswith("waiting for files")]
        assert len(waits) == 1 and 0 < float(str(waits[0]["seconds"])) <= 0.5
    finally:
        wired.close()


def test_a_running_gateway_takes_a_file_once_it_has_settled_not_at_its_next_idle_wake(
    store_config: GatewayConfig, tmp_path: Path
):
    """A file lands and wakes the running gateway while it is still too fresh to count as
    complete: the gateway sleeps until its settle time has passed, not its whole idle interval
    (no folder event will come to wake it)."""
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    transport = FolderTransport(mailboxes / "in", mailboxes / "out", settle_seconds=0.5)
    config = dataclasses.replace(
        store_config, partners=(harborview(mailboxes, transport=transport),)
    )
    wired = bootstrap(config)
    stop = threading.Event()
    sleeps: list[float] = []
    taken: list[str] = []
    runner = wired.runner(log=lambda event, **fields: taken.append(event))

    def wake(timeout: float) -> bool:  # instead of waiting for a folder event
        sleeps.append(timeout)
        if len(sleeps) == 1:
            drop(wired, "850_004010_good.x12")  # lands now: seen at once, too fresh
            return True
        if any(event == "file applied" for event in taken) or len(sleeps) > 5:
            stop.set()
            return True
        time.sleep(timeout)
        return False

    try:
        runner.run(stop, wake)
    finally:
        wired.close()
    assert "file applied" in taken, taken
    assert sleeps[1] <= 0.6  # the settle time left, not IDLE_WAKE (30 s)


def test_a_one_pass_run_gives_up_on_a_file_that_keeps_changing_after_a_few_waits(
    store_config: GatewayConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    transport = FolderTransport(mailboxes / "in", mailboxes / "out", settle_seconds=0.2)
    config = dataclasses.replace(
        store_config, partners=(harborview(mailboxes, transport=transport),)
    )
    wired = bootstrap(config)
    growing = mailboxes / "in" / "growing.x12"
    growing.write_bytes(b"ISA*")
    original = runner_module.threading.Event.wait

    def write_while_waiting(event: object, timeout: float | None = None) -> bool:
        stopped = original(event, timeout)  # type: ignore[arg-type]
        with growing.open("ab") as more:  # the sender is still writing as the wait ends
            more.write(b"00*")
        return stopped

    monkeypatch.setattr(runner_module.threading.Event, "wait", write_while_waiting)
    try:
        logged: list[str] = []
        summary = wired.runner(log=lambda event, **fields: logged.append(event)).run_once(
            wait_settling=True
        )
        assert summary.files == []
        assert logged.count("waiting for files still being written") == runner_module.SETTLE_WAITS
        assert growing.exists()
    finally:
        wired.close()


def test_a_file_with_a_name_of_250_characters_is_taken_in_and_quarantined_whole(
    gateway: Gateway,
):
    long = "a" * 240 + "-good.x12"
    drop(gateway, "850_004010_good.x12", long)
    (taken,) = gateway.runner().run_once().files
    assert (taken.name, taken.status) == (long, "applied")
    drop(gateway, "850_004010_good.x12", "b" * 240 + "-copy.x12")  # a duplicate: put aside
    (again,) = gateway.runner().run_once().files
    assert again.status == "duplicate" and again.quarantined is not None
    assert again.quarantined.with_name(again.quarantined.name + ".report.txt").exists()
    assert list(inbox(gateway).iterdir()) == []


def test_the_same_file_again_is_quarantined_as_a_duplicate_and_not_applied(gateway: Gateway):
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    before = state(gateway)
    drop(gateway, "850_004010_good.x12", "again.x12")
    alerted: list[str] = []
    runner = gateway.runner()
    runner.alerts = Recorded(alerted)  # type: ignore[assignment]
    (taken,) = runner.run_once().files
    assert taken.status == "duplicate" and taken.quarantined is not None
    report = taken.quarantined.with_name(taken.quarantined.name + ".report.txt").read_text()
    assert "duplicate: the same bytes were taken in before" in report
    assert state(gateway)["orders"] == before["orders"]
    # put aside for a person: the operators hear of it, as of any file quarantined
    quarantined = [title for title in alerted if "quarantined" in title]
    assert quarantined == ["File again.x12 from harborview was quarantined as a duplicate"]


class Recorded:
    """Alerts kept in a list instead of emailed."""

    def __init__(self, titles: list[str]):
        self.titles = titles

    def raise_alert(self, key: str, kind: str, title: str, *args: object, **kw: object) -> None:
        self.titles.append(title)

    def record(self, uow: object, key: str, kind: str, title: str, *args: object, **kw: object):
        self.titles.append(title)


def test_a_file_from_someone_else_through_this_mailbox_is_quarantined_and_never_applied(
    gateway: Gateway,
):
    drop(gateway, "855_004010_good.x12")  # from CEDARRIDGEOUT, not from Harborview
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "quarantined"
    assert "not authorized: interchange 000730201 is from ZZ/CEDARRIDGEOUT" in taken.reasons[0]
    assert outbox(gateway) == []  # no acknowledgement to a stranger
    with gateway.uow_factory() as uow:
        (document,) = uow.documents.listing()
    assert document.status == "unauthorized"


def test_a_refused_set_is_quarantined_with_its_report_while_the_others_go_through(
    gateway: Gateway,
):
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    # the 860 deletes a shipped line: refused, reported, the file's other content stays applied
    gateway.bus.handle(shipment_of_line_2())
    drop(gateway, "860_004010_good_change.x12")
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "quarantined"
    report = taken.quarantined.with_name(taken.quarantined.name + ".report.txt").read_text()  # type: ignore[union-attr]
    assert "860 #0001 PO HV4500871234 refused" in report
    assert "fulfilled-quantity-cannot-be-cancelled" in report
    kinds = sorted(p.name.split("_")[0] for p in outbox(gateway))
    assert kinds == ["865", "997", "997"]  # the refusal answered, both files acknowledged


def test_a_quarantined_file_fixed_where_it_lies_is_released_and_taken_in(gateway: Gateway):
    good = (SAMPLES / "850" / "850_004010_good.x12").read_bytes()
    broken = good.replace(b"IEA*1*", b"IEA*2*")  # the interchange refused whole (TA1 021)
    (inbox(gateway) / "po.x12").write_bytes(broken)
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "quarantined" and taken.quarantined is not None
    (found,) = gateway.files.quarantined()
    # released unchanged: judged again (refused bytes are), refused again, its report anew
    again = gateway.pipeline.release("harborview", found.path.name)
    assert again.status == "quarantined" and again.quarantined == found.path
    assert "IEA01 says '2' functional groups" in found.report.read_text()
    assert gateway.files.quarantined() == [found]
    # the operator corrects the count of groups (IEA01) in the file, and releases it
    found.path.write_bytes(good)
    released = gateway.pipeline.release("harborview", found.path.name)
    assert released.status == "applied" and released.quarantined is None
    assert released.result is not None and released.result.accepted
    assert gateway.files.quarantined() == [] and not found.report.exists()
    with gateway.uow_factory() as uow:
        assert uow.orders.get("harborview", PO) is not None


def test_a_released_file_whose_interchange_went_in_before_waits_for_a_replay(gateway: Gateway):
    drop(gateway, "850_004010_bad_SE01_count.x12")  # its one set rejected, its ISA13 taken
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "quarantined"
    (found,) = gateway.files.quarantined()
    # released unchanged: the same bytes were taken in; left as it was, report and all
    report = found.report.read_text()
    same = gateway.pipeline.release("harborview", found.path.name)
    assert same.status == "duplicate" and gateway.files.quarantined() == [found]
    assert found.report.read_text() == report
    # fixed: new content under a control number taken in before, so not applied on its own;
    # quarantined again with the new report (the old copy gone), which says how to apply it
    found.path.write_bytes(found.path.read_bytes().replace(b"SE*26*0001~", b"SE*25*0001~"))
    again = gateway.pipeline.release("harborview", found.path.name)
    assert again.status == "quarantined" and again.quarantined not in (None, found.path)
    (fixed,) = gateway.files.quarantined()
    assert fixed.path == again.quarantined and not found.path.exists()
    assert "control number reused" in fixed.report.read_text()
    assert again.result is not None
    replay(gateway.uow_factory, gateway.ingestor, again.result.document_ids[0], gateway.files)
    with gateway.uow_factory() as uow:
        assert uow.orders.get("harborview", "HV4500871281") is not None


def test_a_quarantined_duplicate_stays_as_it_was_and_an_unknown_file_is_refused(
    gateway: Gateway,
):
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    drop(gateway, "850_004010_good.x12", "again.x12")
    (taken,) = gateway.runner().run_once().files
    assert taken.status == "duplicate" and taken.quarantined is not None
    (found,) = gateway.files.quarantined()
    report = found.report.read_text()
    released = gateway.pipeline.release("harborview", found.path.name)
    assert released.status == "duplicate" and released.quarantined == found.path
    assert "the same bytes were taken in before" in released.reasons[0]
    assert gateway.files.quarantined() == [found] and found.report.read_text() == report
    with pytest.raises(DocumentActionRefused) as refused:
        gateway.pipeline.release("harborview", "../../etc/passwd")
    assert refused.value.rule == "quarantined-file-exists"
    with pytest.raises(DocumentActionRefused):
        gateway.pipeline.release("someone-else", found.path.name)


def test_a_partners_health_is_what_the_report_finds_of_it(gateway: Gateway):
    drop(gateway, "850_004010_good.x12")
    drop(gateway, "850_004010_bad_SE01_count.x12")
    gateway.runner().run_once()
    now = dt.datetime.now(dt.UTC)
    with gateway.uow_factory() as uow:
        uow.outages.failed("harborview", now, "connection refused")
        uow.commit()
    (health,) = partner_health(gateway.uow_factory, gateway.files, gateway.config.partners, now)
    assert (health["partner"], health["role"]) == ("harborview", "buyer")
    assert health["transport"].startswith("folder in=")
    assert (
        health["last_received"]["sets"] == ["850"] and health["last_received"]["direction"] == "in"
    )
    assert health["last_sent"]["sets"] == ["997"]
    assert health["outage"]["last_error"] == "connection refused"
    assert [q["file"] for q in health["quarantined_files"]] == ["850_004010_bad_SE01_count.x12"]
    late = {(d["po_number"], d["kind"]) for d in health["late_documents"]}
    assert (PO, "ship date passed") in late  # requested for 2026-11-06
    assert health["overdue_acknowledgements"] == []


def shipment_of_line_2() -> CreateFulfilment:
    return CreateFulfilment(
        partner="harborview",
        po_number=PO,
        at=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
        fulfilment_id="F1",
        lines=(LineQuantity("2", Decimal(1)),),
        carrier="UPSN",
        tracking_numbers=("1Z999AA10123456784",),
    )


class Crash(BaseException):
    """Stands for the process dying: nothing catches it, open transactions roll back."""


POINTS = [
    ("claimed", 1),
    ("archived", 1),
    ("stored", 1),
    ("set", 1),
    ("set", 2),
    ("ingested", 1),
    ("released", 1),
    ("claimed-delivery", 1),
    ("delivered", 2),
]


@pytest.mark.parametrize("inline_limit", [RAW_INLINE_LIMIT, 0], ids=["in-store", "archived"])
@pytest.mark.parametrize(("point", "count"), POINTS, ids=[f"{p}-{n}" for p, n in POINTS])
def test_a_crash_at_any_point_of_a_file_loses_nothing_and_applies_nothing_twice(
    store_config: GatewayConfig, tmp_path: Path, point: str, count: int, inline_limit: int
):
    """The files kept in the store with their bytes, and the large ones (here every one, the
    limit set to 0) read from the archive a chunk at a time."""

    def run(folder: Path, crash_at: tuple[str, int] | None) -> dict[str, object]:
        (folder / "mailboxes" / "in").mkdir(parents=True)
        config = dataclasses.replace(
            store_config, data_dir=folder, partners=(harborview(folder / "mailboxes"),)
        )
        if store_config.database.url:  # PostgreSQL: a fresh database for each run
            config = dataclasses.replace(config, database=fresh(store_config, folder.name))
        gateway = bootstrap(config)
        if not store_config.database.url:
            gateway.upgrade_database()
        try:
            for sample in ("850_004010_three_sets.x12", "850_004010_good.x12"):
                drop(gateway, sample)
            if crash_at is not None:
                seen = {"count": 0}

                def checkpoint(reached: str) -> None:
                    if reached == crash_at[0]:
                        seen["count"] += 1
                        if seen["count"] == crash_at[1]:
                            raise Crash(reached)

                crashing = Pipeline(
                    gateway.ingestor,
                    gateway.files,
                    checkpoint=checkpoint,
                    inline_limit=inline_limit,
                )
                gateway.ingestor.checkpoint = checkpoint
                gateway.deliverer.checkpoint = checkpoint
                runner = gateway.runner()
                runner.pipeline = crashing
                with pytest.raises(Crash):
                    runner.run_once()
                gateway.ingestor.checkpoint = lambda reached: None
                gateway.deliverer.checkpoint = lambda reached: None
                # a delivery the dead worker had claimed comes due when its lease ends
                later = dt.datetime.now(dt.UTC) + delivery.LEASE + dt.timedelta(seconds=1)
                gateway.deliverer.clock = lambda: later
            gateway.pipeline.inline_limit = inline_limit
            gateway.runner().run_once()  # the restart
            gateway.runner().run_once()  # and a quiet pass after it
            return state(gateway)
        finally:
            gateway.close()

    uninterrupted = run(tmp_path / "straight", None)
    crashed = run(tmp_path / "crashed", (point, count))
    assert crashed == uninterrupted
    assert uninterrupted["pending"] == 0 and len(uninterrupted["outbox"]) == 2  # type: ignore[arg-type]
    assert len(uninterrupted["orders"]) == 4  # type: ignore[arg-type]


def fresh(store_config: GatewayConfig, name: str) -> DatabaseConfig:
    """A migrated PostgreSQL database of its own, beside the test's one."""
    base = store_config.database.url
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    database = f"{base.rsplit('/', 1)[1]}_{name}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    config = dataclasses.replace(store_config.database, url=base.rsplit("/", 1)[0] + "/" + database)
    engine = create_store_engine(dataclasses.replace(store_config, database=config))
    upgrade(engine)
    engine.dispose()
    return config


def test_a_delivery_that_fails_is_retried_with_backoff_and_sent_once(gateway: Gateway):
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    transport.outbox.parent.mkdir(parents=True, exist_ok=True)
    transport.outbox.write_text("not a folder")  # the share is broken: delivering fails
    drop(gateway, "850_004010_good.x12")
    summary = gateway.runner().run_once()
    (failed,) = summary.deliveries
    assert failed.status == "retry" and failed.error
    with gateway.uow_factory() as uow:
        (entry,) = uow.outbox.pending()
        assert entry["attempts"] == 1 and entry["next_attempt_at"] is not None
    assert gateway.runner().run_once().deliveries == []  # not due yet
    transport.outbox.unlink()
    later = dt.datetime.now(dt.UTC) + delivery.backoff(1) + dt.timedelta(seconds=1)
    gateway.deliverer.clock = lambda: later
    (sent,) = gateway.deliverer.drain()
    assert sent.status == "sent"
    assert gateway.deliverer.drain() == []
    assert len(outbox(gateway)) == 1


def test_the_backoff_doubles_up_to_an_hour():
    waits = [delivery.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [30, 60, 120, 240] and waits[-1] == 3600


def test_a_document_unanswered_past_the_partners_deadline_is_overdue_until_answered(
    gateway: Gateway,
):
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    result = export(gateway.uow_factory, PO, "855", decision=Decision.accept_all(),
                    mappings=gateway.mappings)  # fmt: skip
    gateway.deliverer.drain()
    profiles = {p.key: p for p in gateway.config.partners}
    now = dt.datetime.now(dt.UTC)
    assert delivery.overdue(gateway.uow_factory, profiles, now) == []
    (late,) = delivery.overdue(gateway.uow_factory, profiles, now + dt.timedelta(hours=25))
    assert late.id == result.document_id
    never = {
        "harborview": dataclasses.replace(
            profiles["harborview"], acknowledgements=AcknowledgementPolicy(expect="none")
        )
    }
    assert delivery.overdue(gateway.uow_factory, never, now + dt.timedelta(days=9)) == []
    # the partner's 997 comes late: the document is acknowledged after all
    with gateway.uow_factory() as uow:
        sent = uow.documents.get(result.document_id)
        assert sent is not None
        (group,) = sent.group_controls
    ack = (
        "ISA*00*          *00*          *01*079845213      *ZZ*CEDARRIDGEOUT  *261122*0900*U*"
        "00401*000051099*0*P*>~GS*FA*079845213*CEDARRIDGEOUT*20261122*0900*5199*X*004010~"
        "ST*997*0001~AK1*PR*" + group + "~AK9*A*1*1*1~"
        "SE*4*0001~GE*1*5199~IEA*1*000051099~"
    )
    (inbox(gateway) / "997.x12").write_text(ack)
    gateway.runner().run_once()
    with gateway.uow_factory() as uow:
        document = uow.documents.get(result.document_id)
    assert document is not None and document.status == "acknowledged"


def test_documents_listing_as_json_is_plain(gateway: Gateway):
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    rows = list_documents(gateway.uow_factory())
    assert [row["direction"] for row in rows] == ["out", "in"]
    shown = show_document(gateway.uow_factory(), rows[1]["id"])
    assert shown["transaction_sets"][0]["action"] == "created"
    assert shown["orders"] == [{"partner": "harborview", "po_number": PO}]
    json.dumps(shown)


def test_a_partners_profile_overrides_its_mappings_in_and_out(
    store_config: GatewayConfig, tmp_path: Path
):
    """Without code: the profile's [mappings."850-in".required] holds the partner to what it
    promised to send, its [mappings."855-out".settings] changes what we send it."""
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    overrides = (
        ("850-in", {"required": {"header": ["release_number"], "line_ids": ["UP"]}}),
        ("855-out", {"settings": {"acknowledgement_type": {"accepted": "AK"}}}),
    )
    config = dataclasses.replace(
        store_config, partners=(harborview(mailboxes, mappings=overrides),)
    )
    wired = bootstrap(config)
    try:
        drop(wired, "850_004010_good.x12")  # BEG04 (release number) is empty
        (taken,) = wired.runner().run_once().files
        assert taken.status == "quarantined"
        assert (
            "the partner requires what this purchase order lacks: release_number (BEG04)"
            in (taken.reasons[0])
        )
        content = (SAMPLES / "850" / "850_004010_good.x12").read_bytes()
        released = content.replace(f"BEG*00*SA*{PO}**".encode(), f"BEG*00*SA*{PO}*R1*".encode())
        released = released.replace(b"000051001", b"000051077")  # ISA13 and IEA02
        assert released.count(b"000051077") == 2
        (inbox(wired) / "po-released.x12").write_bytes(released)
        (taken,) = wired.runner().run_once().files
        assert taken.status == "applied", taken.reasons
        result = export(wired.uow_factory, PO, "855", decision=Decision.accept_all(),
                        mappings=wired.mappings)  # fmt: skip
        assert b"BAK*00*AK*" + PO.encode() in result.content
    finally:
        wired.close()


def test_a_large_file_is_kept_in_the_archive_and_everything_still_reads_it(gateway: Gateway):
    """Above the inline limit the store keeps where the archive holds the bytes: the answer to
    the partner is built from the envelope values kept, a replay reads the archive."""
    gateway.pipeline.inline_limit = 0
    drop(gateway, "860_004010_good_change.x12")  # before its order: refused
    drop(gateway, "850_004010_good.x12", "zz-po.x12")
    gateway.runner().run_once()
    with gateway.uow_factory() as uow:
        received = uow.documents.listing(direction="in")
    assert all(d.raw is None and d.raw_path for d in received)
    assert all(Path(d.raw_path or "").exists() for d in received)
    change = next(d for d in received if d.transaction_sets == ("860",))
    assert change.id is not None
    from_archive = replay(gateway.uow_factory, gateway.ingestor, change.id, gateway.files)
    assert [s.action for s in from_archive.sets] == ["changed"]
    result = export(gateway.uow_factory, PO, "855", decision=Decision.accept_all(),
                    mappings=gateway.mappings)  # fmt: skip
    assert result.content.startswith(
        b"ISA*00*          *00*          *ZZ*CEDARRIDGEOUT  *01*079845213      *"
    )


def test_a_file_the_gateway_fails_on_is_put_aside_and_the_others_go_through(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
):
    """A fault of ours met by one file (here the serializer refusing something) must not stop
    the pipeline nor make it take the file again and again: the file goes to quarantine with
    the fault in its report, the next file is taken in."""
    real = gateway.ingestor.ingest

    def failing(raw: bytes, filename: str, **options: object) -> object:
        if filename == "a-poison.x12":
            raise SerializationError("a delimiter inside a value")
        return real(raw, filename, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.ingestor, "ingest", failing)
    drop(gateway, "850_004010_good.x12", "a-poison.x12")
    drop(gateway, "850_004010_three_sets.x12", "b-fine.x12")
    summary = gateway.runner().run_once()
    assert [(f.name, f.status) for f in summary.files] == [
        ("a-poison.x12", "failed"),
        ("b-fine.x12", "applied"),
    ]
    report = (
        summary.files[0]
        .quarantined.with_name(  # type: ignore[union-attr]
            summary.files[0].quarantined.name + ".report.txt"  # type: ignore[union-attr]
        )
        .read_text()
    )
    assert "SerializationError: a delimiter inside a value" in report
    assert not list(gateway.files.staging("harborview").rglob("*.x12"))
    assert gateway.runner().run_once().files == []  # not taken again


def test_a_store_failure_leaves_the_file_claimed_for_the_next_pass(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
):
    real = gateway.ingestor.ingest
    calls = {"count": 0}

    def down_once(raw: bytes, filename: str, **options: object) -> object:
        calls["count"] += 1
        if calls["count"] == 1:
            raise OSError("the database server went away")
        return real(raw, filename, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.ingestor, "ingest", down_once)
    drop(gateway, "850_004010_good.x12")
    runner = gateway.runner()
    first = runner.run_once()
    assert first.files == [] and "OSError" in first.unreachable["harborview"]
    assert [p.name for p in gateway.files.claimed("harborview")] != []
    second = runner.run_once()
    assert [f.status for f in second.files] == ["applied"]
    with gateway.uow_factory() as uow:
        assert uow.orders.get("harborview", PO) is not None


def test_a_file_lease_is_renewed_during_a_long_file_and_the_mailbox_left_free(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
):
    """A file taking longer than its lease must not let another worker take it: the file's
    lease is renewed after every committed batch (here a batch is one set, and renewals are
    not spaced out), while the mailbox's lease is free for another worker's pick-up."""
    monkeypatch.setattr(ingest, "BATCH_SETS", 1)
    monkeypatch.setattr(runner_module, "LEASE_RENEWAL", 0.0)
    runner = gateway.runner()
    leases: list[str] = []
    held: list[tuple[str | None, str | None]] = []
    real = runner._lease
    lease = runner_module.file_lease("harborview", "850_004010_three_sets.x12")

    def counting(name: str) -> bool:
        leases.append(name)
        if name == lease and leases.count(lease) > 1:  # renewed mid-file: who holds what
            with gateway.uow_factory() as uow:
                now = runner.clock()
                held.append(
                    (uow.leases.holder(lease, now), uow.leases.holder("mailbox:harborview", now))
                )
        return real(name)

    monkeypatch.setattr(runner, "_lease", counting)
    drop(gateway, "850_004010_three_sets.x12")
    (taken,) = runner.run_once().files
    assert taken.status == "applied"
    assert leases.count(lease) == 4  # taken, then renewed after each of the 3 sets
    assert held == [(runner.worker, None)] * 3
    with gateway.uow_factory() as uow:
        assert uow.leases.holders() == []  # all released
