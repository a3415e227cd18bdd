"""The message bus: the one path by which commands reach orders, and the one retry on a
concurrent update.

Strategy, after cosmicpython's final chapter: a command is one transaction (load the order, apply,
commit); the store's version check makes a conflicting commit fail with `ConcurrentUpdate`, and the
work is run again on the fresh order (`retrying`), where the rules decide again (so a change that
became illegal in the meantime is refused with its rule, never half-applied). The operator's
actions (`handle`), the documents we send (`committed`) and the sets we take in (`retrying`, around
each set's savepoint) all go through it. The bus is built once, in `bootstrap`, and is the units of
work's commit hook: `dispatch` hands each event of the orders about to be committed to its
handlers in the same transaction, so the emails and alerts they queue (the outbox) commit with the
change or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.domain.commands import Command, CreateFulfilment, ReceiveOrder
from gateway.domain.model import Order
from gateway.errors import ConcurrentUpdate, OrderNotFound, RuleViolation
from gateway.service.ports import UnitOfWork

EventHandler = Callable[[UnitOfWork, Any], None]
"""`handler(uow, event)`: runs in the transaction that made the event, before it commits."""
T = TypeVar("T")
DEFAULT_RETRIES = 3


@dataclass(slots=True)
class Outcome:
    """What a command did: the order after it, how many attempts it took."""

    order: Order
    attempts: int = 1


def apply_command(command: Command, uow: UnitOfWork) -> Order:
    """Apply one command to its order inside `uow` (not committed)."""
    if isinstance(command, ReceiveOrder):
        if uow.orders.get(command.partner, command.po_number) is not None:
            raise RuleViolation(
                "one-order-per-po-number",
                "this partner has already sent an order with this PO number",
                po_number=command.po_number,
            )
        received = Order.receive(command)
        uow.orders.add(received)
        return received
    order = uow.orders.get(command.partner, command.po_number)
    if order is None:
        raise OrderNotFound(command.po_number, command.partner)
    if isinstance(command, CreateFulfilment):
        try:
            order.handle(command)
        except RuleViolation as refusal:
            if refusal.rule != "no-change-after-shipped":
                raise
            # The late fulfilment is kept on the order for an operator, then refused.
            order.record_refused_fulfilment(command, refusal)
            raise RefusalRecorded(order, refusal) from None
        return order
    order.handle(command)
    return order


def retrying(attempt: Callable[[], T], *, retries: int = DEFAULT_RETRIES) -> T:
    """Run `attempt`; when another worker changed an order it touched first (`ConcurrentUpdate`),
    run it again, `retries` times at most, then let the last `ConcurrentUpdate` go. `attempt`
    reads what it decides on afresh each time (a new unit of work, or a savepoint of one)."""
    for tried in range(retries + 1):
        try:
            return attempt()
        except ConcurrentUpdate:
            if tried == retries:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def committed(
    uow_factory: Callable[[], UnitOfWork],
    work: Callable[[UnitOfWork], T],
    *,
    retries: int = DEFAULT_RETRIES,
) -> T:
    """Run `work` in a unit of work and commit it, `retrying` on a concurrent update."""

    def attempt() -> T:
        with uow_factory() as uow:
            result = work(uow)
            uow.commit()
        return result

    return retrying(attempt, retries=retries)


class RefusalRecorded(Exception):
    """A refusal that still changed the order (a late fulfilment recorded): the caller commits
    the unit of work, then reports `refusal`."""

    def __init__(self, order: Order, refusal: RuleViolation):
        super().__init__(str(refusal))
        self.order = order
        self.refusal = refusal


class MessageBus:
    """Runs commands and work on orders, each in its transaction, and hands events to their
    handlers in the transaction that made them (see the module docstring)."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        handlers: Mapping[type, Sequence[EventHandler]] | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
    ):
        self.uow_factory = uow_factory
        self.handlers = {kind: tuple(found) for kind, found in (handlers or {}).items()}
        self.retries = retries

    def handle(self, command: Command) -> Outcome:
        """Run a command to completion; RuleViolation when the rules refuse it (a late
        fulfilment is kept on the order all the same), ConcurrentUpdate when it lost every
        retry."""
        attempts = 0

        def attempt() -> Order:
            nonlocal attempts
            attempts += 1
            with self.uow_factory() as uow:
                try:
                    order = apply_command(command, uow)
                except RefusalRecorded as refused:
                    uow.commit()
                    raise refused.refusal from None
                uow.commit()
            return order

        order = retrying(attempt, retries=self.retries)
        return Outcome(order, attempts)

    def committed(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in a unit of work of the bus and commit it, retried like a command."""
        return committed(self.uow_factory, work, retries=self.retries)

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` (a savepoint of a unit of work in progress), retried like a command."""
        return retrying(attempt, retries=self.retries)

    def dispatch(self, uow: UnitOfWork, happened: Sequence[object]) -> None:
        """The units of work's commit hook: each event to its handlers, in order, inside the
        transaction about to commit."""
        for event in happened:
            for handler in self.handlers.get(type(event), ()):
                handler(uow, event)
