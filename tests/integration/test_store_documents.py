"""The store's documents, control numbers and migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from gateway.adapters.migrate import current_revision, head_revision, upgrade
from gateway.adapters.orm import metadata
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig
from gateway.service.ports import StoredDocument


def stored(raw: bytes, *, partner: str = "ACME", control: str = "000000001") -> StoredDocument:
    return StoredDocument(
        sha256=hashlib.sha256(raw).hexdigest(),
        partner=partner,
        direction="in",
        size=len(raw),
        status="received",
        raw=raw,
        transaction_sets=("850",),
        interchange_control=control,
        group_controls=("1",),
        set_controls=("0001", "0002"),
        sender_id="BUYERCO",
        receiver_id="SELLERCO",
        filename="po.x12",
    )


def test_migrations_create_exactly_the_tables_of_the_schema(store_engine: Engine):
    assert current_revision(store_engine) == head_revision()
    with store_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    tables = set(inspect(store_engine).get_table_names())
    assert {"orders", "order_events", "documents", "control_numbers", "outbox"} <= tables


def test_upgrading_twice_changes_nothing(store_engine: Engine):
    upgrade(store_engine)
    assert current_revision(store_engine) == head_revision()


def test_a_document_keeps_its_raw_bytes_and_control_numbers(store_engine: Engine):
    raw = b"ISA*00*...\xe9\xff~"
    with SqlUnitOfWork(store_engine) as uow:
        document_id = uow.documents.add(stored(raw))
        uow.commit()
    with SqlUnitOfWork(store_engine) as uow:
        document = uow.documents.get(document_id)
        assert document is not None
        assert document.raw == raw
        assert document.sha256 == hashlib.sha256(raw).hexdigest()
        assert document.set_controls == ("0001", "0002")
        assert uow.documents.with_sha256(document.sha256)[0].id == document_id
        assert [d.id for d in uow.documents.with_interchange("ACME", "in", "BUYERCO", "000000001")]
        uow.documents.set_status(document_id, "acknowledged")
        uow.commit()
    with SqlUnitOfWork(store_engine) as uow:
        document = uow.documents.get(document_id)
        assert document is not None and document.status == "acknowledged"


def test_nothing_is_kept_without_commit(store_engine: Engine):
    with SqlUnitOfWork(store_engine) as uow:
        uow.documents.add(stored(b"lost"))
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.documents.with_sha256(hashlib.sha256(b"lost").hexdigest()) == []


def test_control_numbers_count_up_per_partner_and_kind(store_engine: Engine):
    with SqlUnitOfWork(store_engine) as uow:
        issued = [uow.control_numbers.next("ACME", "interchange") for _ in range(3)]
        other = uow.control_numbers.next("GLOBEX", "interchange")
        group = uow.control_numbers.next("ACME", "group")
        uow.commit()
    assert issued == [1, 2, 3]
    assert other == 1 and group == 1


def test_a_rolled_back_control_number_is_issued_again(store_engine: Engine):
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.control_numbers.next("ACME", "set") == 1
        uow.commit()
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.control_numbers.next("ACME", "set") == 2
        uow.rollback()
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.control_numbers.next("ACME", "set") == 2


def test_unknown_control_number_kind_is_refused(store_engine: Engine):
    with SqlUnitOfWork(store_engine) as uow, pytest.raises(ValueError, match="kind"):
        uow.control_numbers.next("ACME", "message")


def _issue_numbers(config: GatewayConfig, count: int, queue: multiprocessing.Queue) -> None:
    engine = create_store_engine(config)
    numbers = []
    for _ in range(count):
        with SqlUnitOfWork(engine) as uow:
            numbers.append(uow.control_numbers.next("ACME", "interchange"))
            uow.commit()
    engine.dispose()
    queue.put(numbers)


def test_workers_never_get_the_same_control_number(store_config: GatewayConfig, tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(target=_issue_numbers, args=(store_config, 25, queue)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    issued = sorted(n for numbers in results for n in numbers)
    assert issued == list(range(1, 76)), "no gap, no repeat"
