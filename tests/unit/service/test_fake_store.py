"""What the fake store does where the SQL stores cannot be run side by side in one thread (the
rest is checked against them by tests/integration/test_fake_store_contract.py): two units of work
open at once, as two workers' transactions."""

from __future__ import annotations

import pytest

from gateway.errors import ConcurrentUpdate
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.unit.domain.builders import PARTNER, PO, cancel, new_order


@pytest.fixture
def store() -> FakeStore:
    made = FakeStore()
    with made.unit_of_work() as uow:
        uow.orders.add(new_order(("1", 10)))
        uow.commit()
    return made


def change(uow: FakeUnitOfWork, cancellation_id: str) -> None:
    order = uow.orders.get(PARTNER, PO)
    assert order is not None
    order.handle(cancel(cancellation_id, ("1", 1)))


def test_a_worker_overtaken_after_its_flush_loses_at_its_commit(store: FakeStore):
    """PostgreSQL would make the second writer wait for the first's row lock and fail it; the
    fake has no locks, so the first to commit wins and the other fails at its commit."""
    with store.unit_of_work() as first, store.unit_of_work() as second:
        change(first, "C-first")
        first.flush()
        change(second, "C-second")
        second.commit()
        with pytest.raises(ConcurrentUpdate):
            first.commit()
        assert not first.committed and second.committed
    order = store.order(PARTNER, PO)
    assert order is not None and [c.id for c in order.cancellations] == ["C-second"]


def test_a_worker_reads_what_others_committed_and_its_own_writes(store: FakeStore):
    with store.unit_of_work() as reader, store.unit_of_work() as writer:
        writer.outbox.queue("email", PARTNER, {"n": 1})
        assert reader.outbox.listing("email") == []  # not committed yet
        assert len(writer.outbox.listing("email")) == 1
        writer.commit()
        assert len(reader.outbox.listing("email")) == 1  # READ COMMITTED


def test_ids_are_not_given_back_by_a_rollback(store: FakeStore):
    with store.unit_of_work() as uow:
        lost = uow.outbox.queue("email", PARTNER, {})
    with store.unit_of_work() as uow:
        kept = uow.outbox.queue("email", PARTNER, {})
        uow.commit()
    assert kept > lost  # as PostgreSQL's sequences; SQLite may hand a rolled-back id out again
