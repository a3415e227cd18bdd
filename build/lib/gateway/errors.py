"""The gateway's exception tree.

Two families, so that a caller can tell whose fault a failure is::

    GatewayError
    ├── PartnerError              the partner's fault: their file is bad; reject it in the
    │   │                          acknowledgement, quarantine it, carry on with the rest
    │   ├── X12SyntaxError        a file that cannot be read as X12 at all (no ISA, bad delimiters)
    │   └── RuleViolation         a change the order rules refuse (cancelling shipped quantity,
    │       │                      a fulfilment after Shipped); names the rule, order and line
    │       └── OrderNotFound     a change for an order the gateway does not hold
    ├── ConcurrentUpdate          another worker changed the same order first: retry or give up
    ├── StoreUnavailable          the database cannot be used now (locked past the busy timeout,
    │                              read-only, full, its server unreachable): the transaction is
    │                              rolled back whole; the service waits with backoff, a command
    │                              exits 75 (try again later)
    ├── TransportError            a mailbox could not be reached or a transfer failed: the file
    │   │                          stays where it was and the transfer is retried with backoff
    │   ├── HostKeyRejected       the SFTP server's host key is not the pinned one: the
    │   │                          connection is refused until an operator fixes the profile
    │   └── MailRefused           the mail server refused a message for good (a bad address):
    │                              recorded on the email and reported, never retried
    └── GatewayFault              ours: a bug or a misconfiguration; stop loudly
        ├── ConfigurationError    a setting or an argument is wrong
        ├── SchemaDefinitionError a schema data file shipped with the gateway is wrong
        └── SerializationError    data handed to the serializer cannot be written as X12

Validation of a readable file never raises: its faults are collected as
`gateway.x12.model.Issue` values, each with its X12 error code and position, because one bad
transaction set must not stop the others from being acknowledged.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


class PartnerError(GatewayError):
    """The partner's fault: the input is bad."""


class X12SyntaxError(PartnerError):
    """The bytes cannot be read as X12 (no interchange header, unusable delimiters)."""

    def __init__(self, message: str, *, code: str = "", line: int = 0, segment_index: int = 0):
        super().__init__(message)
        self.code = code
        self.line = line
        self.segment_index = segment_index


class RuleViolation(PartnerError):
    """A command the order rules refuse. `rule` names the rule (as in the transition table);
    `po_number` and `line` say where."""

    def __init__(self, rule: str, message: str, *, po_number: str = "", line: str = ""):
        where = f"order {po_number}" + (f" line {line}" if line else "") if po_number else ""
        super().__init__(f"{where}: {message} [{rule}]" if where else f"{message} [{rule}]")
        self.rule = rule
        self.message = message
        self.po_number = po_number
        self.line = line


class OrderNotFound(RuleViolation):
    """A command names an order the gateway does not hold."""

    def __init__(self, po_number: str, partner: str = ""):
        at = f" from {partner}" if partner else ""
        super().__init__("order-exists", f"no such order{at}", po_number=po_number)


class ConcurrentUpdate(GatewayError):
    """Another worker committed a change to the same order first (its version moved on)."""


class StoreUnavailable(GatewayError):
    """The database cannot be used now: locked by another program past the busy timeout,
    read-only or immutable, full, or its server unreachable. The transaction in hand is rolled
    back whole, so nothing is half done; it is the store's state, not a bug nor a partner's
    fault, and the same work succeeds once the store is back."""


class TransportError(GatewayError):
    """A mailbox could not be reached, or a transfer failed half-way; nothing was lost and it is
    retried. `partner` names the partner's profile when known."""

    def __init__(self, message: str, *, partner: str = ""):
        super().__init__(f"{partner}: {message}" if partner else message)
        self.partner = partner


class HostKeyRejected(TransportError):
    """The server presented a host key other than the one pinned in the partner's profile (or
    none is pinned): never connected to, never retried blindly."""


class MailRefused(TransportError):
    """The mail server answered a message (or every one of its recipients) with a permanent
    error (5xx): retrying cannot help; the email is marked failed and operators are told."""


class GatewayFault(GatewayError):
    """Our fault: a bug or a misconfiguration."""


class ConfigurationError(GatewayFault):
    """A setting, an argument or a file named in the configuration is wrong."""


class SchemaDefinitionError(GatewayFault):
    """A schema data file shipped with the gateway is malformed."""


class SerializationError(GatewayFault):
    """Data given to the serializer cannot be written as X12 (a delimiter inside a value, ...)."""
