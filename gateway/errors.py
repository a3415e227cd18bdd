"""The gateway's exception tree, every exception class of the gateway in one place, and the
registry of the rules a refusal names (`RULES`).

Three families, so that a caller can tell whose fault a failure is and what to do (the command
line's exit code in brackets)::

    GatewayError
    ├── Refused                   refused, not broken: the input or the request is at fault, or
    │   │                          the moment is [1]
    │   ├── PartnerError          the partner's fault: their file is bad; reject it in the
    │   │   │                      acknowledgement, quarantine it, carry on with the rest
    │   │   ├── X12SyntaxError    a file that cannot be read as X12 at all (no ISA, bad delimiters)
    │   │   ├── CsvError          a CSV file that cannot be read at all (bytes not in its
    │   │   │                      declared encoding, a header row without a required column)
    │   │   ├── CxmlError         a cXML file refused: unsafe XML (entities, too big, too deep),
    │   │   │                      bytes that do not decode, or a required part missing or wrong
    │   │   ├── MappingError      a valid set whose content cannot become commands (no PO
    │   │   │                      number, totals that disagree); names its rule
    │   │   ├── UnknownCarrier    no carrier matches the name or code given
    │   │   └── RuleViolation     a change the rules refuse (cancelling shipped quantity, a
    │   │       │                  fulfilment after Shipped); names the rule, order and line
    │   │       ├── OrderNotFound        a change for an order the gateway does not hold
    │   │       ├── NotSupported         a valid set asking for what the model cannot do yet
    │   │       ├── ExportRefused        a document the order cannot give (an 856 with nothing
    │   │       │                         shipped, an 810 with nothing to invoice)
    │   │       ├── DocumentActionRefused  resend, replay, release from quarantine: not for
    │   │       │                         this document or file
    │   │       └── MailActionRefused    retry: not for this email
    │   ├── NamedRefusal          a refusal of the console's and API's own records, naming
    │   │   │                      its rule (`rule`) and saying what was wrong (`message`)
    │   │   ├── AccountRefused    a user account cannot be added or changed so (a name taken,
    │   │   │                      an unknown role, a short password, no such user)
    │   │   ├── WebhookRefused    a webhook subscription cannot be added or found as asked (an
    │   │   │                      unknown event name, a URL that is not HTTP)
    │   │   ├── SignInRefused     a sign-in refused: the name or the password is wrong, the user
    │   │   │                      is disabled, or too many failed attempts
    │   │   └── TokenRefused      an API token cannot be added or revoked so (a name taken, a
    │   │                          role not for tokens, no such token)
    │   ├── ConcurrentUpdate      another worker changed the same order first, every retry
    │   ├── FormRefused           a field of a console form holds no usable value (names it)
    │   ├── RequestRefused        the console refuses a request before doing anything
    │   │   ├── SignInNeeded      no session: to the sign-in page, then back
    │   │   ├── PageNotFound      nothing there for this user (absent, or another partner's)
    │   │   ├── ActionForbidden   a form without its token, or beyond the user's role
    │   │   ├── TokenNeeded       an API call without a valid token (none, unknown, revoked)
    │   │   ├── TooManyRequests   an API token over its rate: try again after `retry_after`
    │   │   └── IdempotencyConflict  an Idempotency-Key used again for another request, or
    │   │                          while its first request is still being answered
    │   └── TransportError        a mailbox could not be reached or a transfer failed: the file
    │       │                      stays where it was and the transfer is retried with backoff
    │       ├── HostKeyRejected   the SFTP server's host key is not the pinned one: the
    │       │                      connection is refused until an operator fixes the profile
    │       └── MailRefused       the mail server refused a message for good (a bad address):
    │                              recorded on the email and reported, never retried
    ├── StoreUnavailable          the database cannot be used now (locked past the busy timeout,
    │                              read-only, full, its server unreachable): the transaction is
    │                              rolled back whole; the service waits with backoff, a command
    │                              exits [75] (try again later)
    └── GatewayFault              ours: a bug or a misconfiguration; stop loudly [2]
        ├── ConfigurationError    a setting or an argument is wrong
        ├── SchemaDefinitionError a schema data file shipped with the gateway is wrong
        ├── SerializationError    data handed to a serializer cannot be written as X12 or CSV
        ├── InvalidOutboundDocument  a document we built fails our own validation: never sent
        └── StateError            stored state that cannot be turned back into domain objects

Validation of a readable file never raises: its faults are collected as
`gateway.x12.model.Issue` values, each with its X12 error code and position, because one bad
transaction set must not stop the others from being acknowledged.
"""

from __future__ import annotations

from collections.abc import Iterable

SHOWN = 40  # characters of a given value quoted in a message


def shown(text: str) -> str:
    """`text` quoted for a message: control characters escaped, cut after SHOWN characters."""
    return repr(text) if len(text) <= SHOWN else f"{text[:SHOWN]!r}..."


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


RULES: dict[str, str] = {}
"""Every rule a refusal can name, with what it says in one sentence (for the console beside a
refused form, the API's 409, the operator's alert). The order rules register themselves from
`gateway.domain.rules`; the others are listed in `_RULES` below. A test checks that every rule
name raised anywhere is registered here."""


def register_rule(name: str, statement: str) -> str:
    """Register a rule (once: a second, different statement for one name is a bug)."""
    known = RULES.setdefault(name, statement)
    if known != statement:
        raise ValueError(f"rule {name!r} registered twice: {known!r} and {statement!r}")
    return name


class Refused(GatewayError):
    """Refused, not broken: the input, the request or the moment is at fault; the gateway is
    fine and goes on (the command line exits 1)."""


class PartnerError(Refused):
    """The partner's fault: the input is bad."""


class X12SyntaxError(PartnerError):
    """The bytes cannot be read as X12 (no interchange header, unusable delimiters)."""

    def __init__(self, message: str, *, code: str = "", line: int = 0, segment_index: int = 0):
        super().__init__(message)
        self.code = code
        self.line = line
        self.segment_index = segment_index


class CsvError(PartnerError):
    """A CSV file that cannot be read at all: its bytes do not decode in the partner's declared
    encoding (`offset` is the first bad byte), or its header row lacks a required column, or its
    quoting is broken (`line` says where, when known). A file that reads but holds bad rows is
    not an error: each bad row is a problem that refuses its own order only."""

    def __init__(self, message: str, *, offset: int | None = None, line: int = 0):
        super().__init__(message)
        self.offset = offset
        self.line = line


class CxmlError(PartnerError):
    """A cXML document refused. `reason` says what is wrong in one line, `path` where (an
    element path such as `OrderRequest/ItemOut[3]/@quantity`, empty for the whole document),
    `line` the line lxml gave (0 when unknown)."""

    def __init__(self, reason: str, *, path: str = "", line: int = 0) -> None:
        if path:
            where = f"{path} (line {line})" if line else path
        else:
            where = f"line {line}" if line else ""
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.path = path
        self.line = line


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


class MappingError(PartnerError):
    """A validated transaction set whose content cannot become domain commands, with the rule it
    breaks (named like the order rules, in brackets at the end of the message)."""

    def __init__(self, message: str, *, rule: str = "content-readable"):
        super().__init__(f"{message} [{rule}]")
        self.rule = rule
        self.message = message


class UnknownCarrier(PartnerError, ValueError):
    """No carrier matches what was given. `known` holds the SCACs that would have, sorted."""

    def __init__(self, given: str, known: Iterable[str]) -> None:
        self.given = given
        self.known = tuple(sorted(set(known)))
        super().__init__(
            f"unknown carrier {shown(given)}: known carriers are {', '.join(self.known)}"
        )

    def __reduce__(self) -> tuple[type[UnknownCarrier], tuple[str, tuple[str, ...]]]:
        return (type(self), (self.given, self.known))


class NotSupported(RuleViolation):
    """A valid set asking for something the order model has no command for yet (adding a line,
    raising a quantity, changing a price): refused whole, nothing of it applied."""

    def __init__(self, message: str, *, po_number: str = "", line: str = ""):
        super().__init__("not-supported-yet", message, po_number=po_number, line=line)


class ExportRefused(RuleViolation):
    """An outbound document the order cannot give (see the rules in `gateway.mapping.outbound`)."""


class DocumentActionRefused(RuleViolation):
    """An operator's action on a document that cannot be done (an inbound one resent...)."""


class MailActionRefused(RuleViolation):
    """An operator's action on an email that cannot be done (no such email, already sent...)."""


class NamedRefusal(Refused):
    """A refusal naming its rule: `rule` (registered in `RULES`) and `message`, what was wrong
    in one sentence (the console shows it beside the form, the API returns both)."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"{message} [{rule}]")
        self.rule = rule
        self.message = message


class AccountRefused(NamedRefusal):
    """A user account of the web console that cannot be added or changed as asked. `rule`
    names the rule (registered in `RULES`), `message` says what was wrong."""


class WebhookRefused(NamedRefusal):
    """A webhook subscription that cannot be added, or found, as asked. `rule` names the rule
    (registered in `RULES`), `message` says what was wrong."""


class SignInRefused(NamedRefusal):
    """A sign-in refused. `message` is what the person signing in is told: it never tells an
    unknown name from a wrong password. `rule` names the rule (registered in `RULES`)."""


class ConcurrentUpdate(Refused):
    """Another worker committed a change to the same order first (its version moved on)."""


class FormRefused(Refused):
    """A field of a console form that holds no usable value: `field` names it for the page."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class RequestRefused(Refused):
    """The console refuses a request before doing anything; `status` is its HTTP answer."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SignInNeeded(RequestRefused):
    """No valid session: the request goes to the sign-in page, then back to `target`."""

    status = 303

    def __init__(self, target: str):
        super().__init__("sign in first")
        self.target = target


class PageNotFound(RequestRefused):
    """Nothing here for this user: absent, or another partner's (never told apart, so that a
    partner user learns nothing of the others)."""

    status = 404


class ActionForbidden(RequestRefused):
    """A form without its session's token, or an action beyond the user's role."""

    status = 403


class TokenRefused(NamedRefusal):
    """An API token that cannot be added or revoked as asked. `rule` names the rule
    (registered in `RULES`), `message` says what was wrong."""


class TokenNeeded(RequestRefused):
    """An API call without a token, or with one unknown or revoked."""

    status = 401


class TooManyRequests(RequestRefused):
    """An API token over its rate: `retry_after` seconds until its next request is taken."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyConflict(RequestRefused):
    """An `Idempotency-Key` given again with another request (422), or while the first request
    with it is still being answered (409). `rule` names the rule."""

    def __init__(self, rule: str, message: str, status: int):
        super().__init__(message)
        self.rule = rule
        self.status = status


class StoreUnavailable(GatewayError):
    """The database cannot be used now: locked by another program past the busy timeout,
    read-only or immutable, full, or its server unreachable. The transaction in hand is rolled
    back whole, so nothing is half done; it is the store's state, not a bug nor a partner's
    fault, and the same work succeeds once the store is back."""


class TransportError(Refused):
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
    """Data given to a serializer cannot be written as X12 (a delimiter inside a value, ...) or
    as CSV (a character the partner's encoding cannot hold)."""


class InvalidOutboundDocument(GatewayFault):
    """A document the gateway built fails its own validation: a bug, never sent."""


class StateError(GatewayFault):
    """Stored state that cannot be turned back into domain objects."""


_RULES = {
    # what the order's documents must say to be applied (gateway.mapping.inbound)
    "content-readable": "a set's content can be read as the commands it stands for",
    "values-readable": "every value read is a date, a number or a code as its element says",
    "names-its-order": "a purchase order and every answer to one name the PO number",
    "order-is-dated": "a purchase order gives its date (BEG05)",
    "names-its-invoice": "an invoice gives its invoice number (BIG02)",
    "names-its-shipment": "a ship notice gives its shipment id (BSN02)",
    "totals-agree": "the line count and hash total (CTT) agree with the lines",
    "partner-required-fields": "the fields a partner's mapping requires are there",
    "acknowledgement-unambiguous": "an acknowledgement answers each line once, in one way",
    "change-gives-quantities": "a change to a line's quantity gives the new quantity",
    "hierarchy-well-formed": "a ship notice's HL levels are numbered once and nest as declared",
    "ship-notice-lists-items": "a ship notice lists the items it ships under an order",
    "invoice-lines-priced": "an invoice line gives its quantity and unit price",
    "set-direction-follows-role": "a set goes from the side that sends it to the side we are on",
    "not-supported-yet": "a set asks only for what the order model can do",
    # what the documents we send need of the order (gateway.mapping.outbound, gateway.kinds)
    "export-follows-role": "we send only the documents of our side of the order",
    "decision-names-order-lines": "an acknowledgement answers the order's own lines",
    "decision-quantity-is-positive": "a changed quantity in an acknowledgement is above zero",
    "change-needs-cancellations": "a change order carries a cancellation or new dates",
    "invoice-needs-shipped-quantity": "an invoice bills only what shipped and is not billed yet",
    "invoice-needs-prices": "an invoiced line has a unit price",
    "invoice-number-fits-big02": "an invoice number is 1 to 22 characters (BIG02)",
    "ship-notice-needs-fulfilment": "a ship notice passes on a shipped fulfilment not passed on",
    "partner-takes-the-document": "a document goes in a format its partner exchanges",
    # the operator's and the store's (gateway.service, gateway.adapters)
    "order-exists": "a change names an order the gateway holds",
    "one-order-per-po-number": "a partner's PO number names one order",
    "po-number-names-one-order": "a PO number used by several partners is given with its partner",
    "test-order-partner-known": "a test order goes to a configured partner",
    "test-order-to-a-seller": "test orders are placed with sellers",
    "test-order-number-free": "a test order has a PO number of its own (TEST- and its second)",
    "document-exists": "an action names a document the gateway holds",
    "resend-only-outbound": "only documents we sent are resent",
    "replay-only-inbound": "only documents we received are replayed",
    "replay-not-refused-files": "a file refused whole (a duplicate, unauthorized) is not replayed",
    "replay-needs-sets-not-applied": "a replay applies sets that did not go through",
    "replay-needs-the-archive": "a replay reads the file from the archive",
    "quarantined-file-exists": "a release names a file in quarantine",
    "email-exists": "an action names an email the gateway holds",
    # the web console's users and sign-ins (gateway.service.accounts)
    "user-name-well-formed": "a user name is 1 to 64 characters, none a space or a control one",
    "user-name-unique": "a user name names one user",
    "user-role-known": "a user's role is admin, operator, viewer or partner",
    "partner-user-names-partner": "a partner user names its partner, and only a partner user does",
    "password-long-enough": "a password is at least 12 characters",
    "user-exists": "an action names a user the gateway holds",
    "sign-in-credentials-match": "a sign-in gives the name and the password of a user",
    "sign-in-user-enabled": "a disabled user cannot sign in",
    "sign-in-attempts-limited": "failed sign-ins are limited each minute, per name and per address",
    # the API's tokens and requests (gateway.service.tokens, gateway.web.api)
    "token-name-well-formed": "a token name is 1 to 64 characters, none a space or a control one",
    "token-name-unique": "a token name names one token",
    "token-role-known": "a token's role is operator, viewer or partner",
    "partner-token-names-partner": "a partner token names its partner, and only a partner one does",
    "token-exists": "an action names a token the gateway holds",
    "idempotency-key-same-request": "an idempotency key stands for one request only",
    "idempotency-key-answered-once": "a request with an idempotency key is answered once at a time",
    "idempotency-key-outcome-kept": "a keyed request keeps its outcome, unless it was cut off",
    # webhooks (gateway.service.webhooks)
    "webhook-events-known": "a subscription names webhook events the gateway sends",
    "webhook-url-http": "a subscription's URL is an http:// or https:// address with a host",
    "webhook-secret-named": "a subscription names the environment variable of its secret",
    "webhook-exists": "an action names a webhook subscription the gateway holds",
}
for _name, _statement in _RULES.items():
    register_rule(_name, _statement)
