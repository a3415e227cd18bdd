"""The message bus: runs a command in a unit of work, retries it when another worker changed the
order first, then hands the events it produced to their handlers.

Strategy, after cosmicpython's final chapter: a command is one transaction (load the order, apply,
commit); the store's version check makes a conflicting commit fail with `ConcurrentUpdate`, and the
bus then runs the command again on the fresh order, where the rules decide again (so a change that
became illegal in the meantime is refused with its rule, never half-applied). Events are handled
after the commit, each handler in its own unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.domain.commands import Command, CreateFulfillment, ReceiveOrder
from gateway.domain.model import Order
from gateway.errors import ConcurrentUpdate, OrderNotFound, RuleViolation
from gateway.service.ports import UnitOfWork

EventHandler = Callable[[object, Callable[[], UnitOfWork]], None]
T = TypeVar("T")
DEFAULT_RETRIES = 3


@dataclass(slots=True)
class Outcome:
    """What a command did: the order after it, the events, how many attempts it took."""

    order: Order
    events: list[object] = field(default_factory=list)
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
    if isinstance(command, CreateFulfillment):
        try:
            order.handle(command)
        except RuleViolation as refusal:
            if refusal.rule != "no-change-after-shipped":
                raise
            # The late fulfilment is kept on the order for an operator, then refused.
            order.record_refused_fulfillment(command, refusal)
            raise RefusalRecorded(order, refusal) from None
        return order
    order.handle(command)
    return order


def committed(
    uow_factory: Callable[[], UnitOfWork],
    work: Callable[[UnitOfWork], T],
    *,
    retries: int = DEFAULT_RETRIES,
) -> T:
    """Run `work` in a unit of work and commit it; when another worker changed an order it
    touched first (`ConcurrentUpdate`), run it again on a fresh one, `retries` times at most.
    `work` reads what it decides on from the unit of work it is given."""
    for attempt in range(retries + 1):
        try:
            with uow_factory() as uow:
                result = work(uow)
                uow.commit()
            return result
        except ConcurrentUpdate:
            if attempt == retries:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class RefusalRecorded(Exception):
    """A refusal that still changed the order (a late fulfilment recorded): the caller commits
    the unit of work, then reports `refusal`."""

    def __init__(self, order: Order, refusal: RuleViolation):
        super().__init__(str(refusal))
        self.order = order
        self.refusal = refusal


class MessageBus:
    """Runs commands and dispatches events."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        event_handlers: Mapping[type, Sequence[EventHandler]] | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
    ):
        self.uow_factory = uow_factory
        self.event_handlers = dict(event_handlers or {})
        self.retries = retries

    def handle(self, command: Command) -> Outcome:
        """Run a command to completion; RuleViolation when the rules refuse it,
        ConcurrentUpdate when it lost every retry."""
        for attempt in range(1, self.retries + 2):
            try:
                with self.uow_factory() as uow:
                    try:
                        order = apply_command(command, uow)
                    except RefusalRecorded as refused:
                        uow.commit()
                        self._dispatch(list(uow.collect_new_events()))
                        raise refused.refusal from None
                    uow.commit()
                    events = list(uow.collect_new_events())
            except ConcurrentUpdate:
                if attempt > self.retries:
                    raise
                continue
            self._dispatch(events)
            return Outcome(order, events, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _dispatch(self, events: list[object]) -> None:
        for event in events:
            for handler in self.event_handlers.get(type(event), ()):
                handler(event, self.uow_factory)
