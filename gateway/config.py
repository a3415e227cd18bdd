"""Configuration: frozen objects loaded once from `gateway.toml`, validated, with named defaults.

Nothing is read at import time. `load_config(path)` reads the file the operator names (or finds
none and uses the embedded defaults); every unknown key or bad value is a `ConfigurationError`
that names the file, the key and the fix. A key spelled as it was before (`OLD_SPELLINGS`) is
still read, with one warning naming the file and the right spelling (logger `gateway.config`).
Paths in the file are relative to the file's folder. Secrets never sit in the file: a database
password, when needed, comes from the environment variable the file names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from gateway.domain import carriers
from gateway.errors import ConfigurationError

LOG = logging.getLogger("gateway.config")
DEFAULT_DATA_DIR = Path("data")
DEFAULT_DATABASE_FILE = "gateway.db"
KNOWN_SECTIONS = {"gateway", "database", "mail", "web", "webhooks"}


def password_from(variable: str, missing: str) -> str | None:
    """A secret from the environment variable `variable` (None when no variable is named; a
    ConfigurationError saying `missing` when it is named but not set). Read when needed, never
    at import."""
    if not variable:
        return None
    password = os.environ.get(variable)
    if password is None:
        raise ConfigurationError(missing)
    return password


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """Where the store lives: an SQLAlchemy URL. Empty means SQLite in the data folder."""

    url: str = ""
    password_env: str = ""  # variable holding the password, merged into the URL at connect time
    pool_size: int = 5
    busy_timeout_seconds: float = 30.0  # how long SQLite waits for another writer's lock

    def resolved_url(self, data_dir: Path) -> str:
        """The URL to connect to (without its password)."""
        if not self.url:
            return f"sqlite:///{(data_dir / DEFAULT_DATABASE_FILE).resolve()}"
        return self.url

    def password(self) -> str | None:
        """The password from the environment variable named in `password_env`, if any."""
        return password_from(
            self.password_env,
            f"database.password_env names {self.password_env}, which is not set: "
            "export it or remove the key",
        )


MAIL_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Email: who it comes from, who hears of what, and the SMTP server that sends it (none:
    emails are written as .eml files to `data_dir/mail/captured/` instead)."""

    sender: str = "EDI gateway <gateway@localhost>"  # the From header
    operators: tuple[str, ...] = ()  # hear of quarantined files, overdue acks, failing transports
    order_desk: tuple[str, ...] = ()  # our people: hear of cancellations made by partners
    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, usually port 465) | none
    username: str = ""
    password_env: str = ""  # the variable holding the SMTP password
    ca_file: Path | None = None  # certificates to trust besides the system's (an internal CA)
    timeout_seconds: float = 30.0
    domain: str = ""  # the right-hand part of Message-IDs; default: this host's name
    templates_dir: Path | None = None  # templates overriding the shipped ones, file by file
    alert_repeat_minutes: float = 60.0  # the same alert is sent again after this, not before
    mailbox_alert_minutes: float = 30.0  # a mailbox unreachable this long raises an alert
    delivery_alert_attempts: int = 5  # a delivery failing this many times raises an alert

    def password(self) -> str | None:
        """The SMTP password from its environment variable (None when none is named)."""
        return password_from(
            self.password_env,
            f"[mail] password_env names {self.password_env}, which is not set: export it or "
            "remove the key",
        )


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhooks' delivery: how long a receiver may take to answer, the retries' backoff (the
    first wait, doubling up to the last, each shortened by up to `jitter` of itself at random)
    and after how many failed attempts of one event the operators are alerted."""

    timeout_seconds: float = 10.0
    first_retry_seconds: float = 30.0
    last_retry_seconds: float = 3600.0
    jitter: float = 0.1  # a share of each wait: 0 to 1
    alert_attempts: int = 5


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The web console: where it listens, how long a signed-in session lasts, how many failed
    sign-ins a minute it takes (per user name and per address) before it refuses them all."""

    session_idle_minutes: float = 30.0  # a session unused this long is over
    session_absolute_hours: float = 12.0  # and any session this old, used or not
    login_attempts_per_minute: int = 10  # failed sign-ins, per user name and per address
    secure_cookies: bool | None = None  # None: Secure cookies when the request came by HTTPS
    host: str = "127.0.0.1"
    port: int = 8080
    api_requests_per_second: float = 20.0  # each API token's rate, in each process
    api_burst: int = 40  # the requests an API token may make at once

    @property
    def session_idle(self) -> dt.timedelta:
        """`session_idle_minutes` as a duration."""
        return dt.timedelta(minutes=self.session_idle_minutes)

    @property
    def session_absolute(self) -> dt.timedelta:
        """`session_absolute_hours` as a duration."""
        return dt.timedelta(hours=self.session_absolute_hours)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the gateway is configured with."""

    data_dir: Path = DEFAULT_DATA_DIR
    database: DatabaseConfig = DatabaseConfig()
    source: str = "embedded defaults"
    partners: tuple[PartnerProfile, ...] = ()
    ack_overdue_check_minutes: float = 5.0
    mail: MailSettings = MailSettings()
    web: WebSettings = WebSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @property
    def database_url(self) -> str:
        return self.database.resolved_url(self.data_dir)

    def partner(self, key: str) -> PartnerProfile | None:
        """The profile named `key`, if configured."""
        return next((p for p in self.partners if p.key == key), None)

    def mapping_overrides(self) -> dict[str, dict[str, Any]]:
        """Each partner's overrides of the shipped mappings, by partner key."""
        return {p.key: p.mapping_overrides() for p in self.partners if p.mappings}


# -- partner profiles (config/partners/*.toml) ----------------------------------------------

DEFAULT_POLL_SECONDS = 15 * 60
DEFAULT_SETTLE_SECONDS = 2.0
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_ACK_DEADLINE_HOURS = 24.0
X12_VERSIONS = ("004010", "005010")
ACK_KINDS = ("997", "999", "none")
ANSWERS_BY_FORMAT = {"x12": ACK_KINDS, "cxml": ("response", "none"), "csv": ("none",)}
"""The acknowledgements each format has, the default first: a cXML document is answered by a
`Response`, a CSV file by nothing."""
ROLES = ("buyer", "seller")
FORMATS = ("x12", "cxml", "csv")
"""What a partner's documents are written in: X12, cXML (1.2) or CSV spreadsheets."""
DEPLOYMENT_MODES = ("production", "test")
FULFILMENTS = ("edi", "direct")
OLD_SPELLINGS = {"fulfillment": "fulfilment"}
"""Keys of a partner profile once spelled another way, still read as the key they are now."""


@dataclass(frozen=True, slots=True)
class Identity:
    """An X12 identity: the ISA qualifier and id (ISA05/06 or 07/08) and the GS id."""

    isa_qualifier: str
    isa_id: str
    gs_id: str


@dataclass(frozen=True, slots=True)
class X12Style:
    """How we write X12 to a partner: version and delimiters."""

    version: str = "004010"
    element_separator: str = "*"
    component_separator: str = ">"
    segment_terminator: str = "~"
    repetition_separator: str = "^"  # ISA11 from 00501 on


@dataclass(frozen=True, slots=True)
class AcknowledgementPolicy:
    """Acknowledgements we send them (`send`: 997, 999, a cXML `response` or none; TA1 when
    their ISA14 asks, or always with `ta1 = "always"`) and the ones they owe us for what we
    send (`expect`), with the deadline after which one missing is overdue."""

    send: str = "997"
    ta1: str = "requested"  # requested | always | never
    expect: str = "997"
    deadline_hours: float = DEFAULT_ACK_DEADLINE_HOURS


DEFAULT_ACK_DUE_HOURS = 24.0


@dataclass(frozen=True, slots=True)
class LatePolicy:
    """Which late documents of an order alert the operators (what costs suppliers
    chargebacks): an order we sell with no 855 sent `ack_due_hours` after it came (0: never),
    a requested ship date passed with quantity still open, a cancel-after date passed with
    quantity still open, a fulfilment recorded (its 856 due) before the order's 855 was sent."""

    ack_due_hours: float = DEFAULT_ACK_DUE_HOURS
    ship_date: bool = True
    cancel_after: bool = True
    ship_notice_before_ack: bool = True


@dataclass(frozen=True, slots=True)
class FolderTransport:
    """Local folder mailboxes: the partner (or a tool of theirs) drops files in `inbox` and
    takes ours from `outbox`. A file counts as complete once renamed from a temporary name
    (dot-prefixed, `.part`, `.tmp`) and unchanged for `settle_seconds`."""

    inbox: Path
    outbox: Path
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    pattern: str = "*"

    kind = "folder"


@dataclass(frozen=True, slots=True)
class SftpTransport:
    """A partner's SFTP server: we pick up their files in `remote_inbox` (matching `pattern`)
    and put ours in `remote_outbox`. The host key is pinned (`host_key`, the SHA256 fingerprint
    as `ssh-keygen -lf` prints it); authentication by the private key in `key_file` or the
    password in the environment variable `password_env`. A picked-up remote file is deleted, or
    moved to `archive_folder` with `after_pickup = "move"`."""

    host: str
    user: str
    host_key: str
    remote_inbox: str
    remote_outbox: str
    port: int = 22
    key_file: Path | None = None
    password_env: str = ""
    pattern: str = "*"
    after_pickup: str = "delete"  # delete | move
    archive_folder: str = ""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    kind = "sftp"

    def password(self) -> str | None:
        """The password from the environment variable named in `password_env`, if any."""
        return password_from(
            self.password_env,
            f"the SFTP password of {self.user}@{self.host} is read from {self.password_env},"
            " which is not set: export it, or use key_file",
        )


Transport = FolderTransport | SftpTransport


@dataclass(frozen=True, slots=True)
class CxmlCredential:
    """A cXML `Credential`: its domain (NetworkID, DUNS...) and identity."""

    domain: str
    identity: str

    def __str__(self) -> str:
        return f"{self.domain}/{self.identity}"


@dataclass(frozen=True, slots=True)
class CxmlProfile:
    """How a cXML partner and we are named in a document's `Header`: `them` is the `From` of
    what they send (the `To` of ours), `us` the `To` of theirs (our `From`), `sender` the
    `Sender` their documents carry (themselves, or the network carrying them). `secret_env`
    names the environment variable holding the `SharedSecret` their documents must carry;
    `our_secret_env` the one we put in ours (theirs when not given)."""

    them: CxmlCredential
    us: CxmlCredential
    sender: CxmlCredential
    secret_env: str
    our_secret_env: str = ""
    deployment_mode: str = "production"

    def secret(self) -> str:
        """The shared secret their documents must carry (a ConfigurationError when unset)."""
        return _secret(self.secret_env, "the cXML shared secret their documents carry")

    def our_secret(self) -> str:
        """The shared secret we send in our documents' Sender credential."""
        return _secret(self.our_secret_env or self.secret_env, "our cXML shared secret")


def _secret(variable: str, what: str) -> str:
    found = password_from(variable, f"{what} is read from {variable}, which is not set")
    if not found:
        raise ConfigurationError(f"{what} is read from {variable}, which is empty")
    return found


NO_IDENTITY = Identity("", "", "")
"""The X12 identity of a partner who does not send X12 (cXML, CSV)."""


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """One trading partner: who they are in X12, what they are to us, how we reach them."""

    key: str  # the profile's file name: the partner's name in the store and the CLI
    name: str
    role: str  # theirs: buyer (sends 850/860) or seller (sends 855/856/810)
    identity: Identity
    us: Identity  # our ids towards them
    transport: Transport
    x12: X12Style = X12Style()
    acknowledgements: AcknowledgementPolicy = AcknowledgementPolicy()
    poll_seconds: float = DEFAULT_POLL_SECONDS
    contacts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (purpose, addresses)
    mappings: tuple[tuple[str, Any], ...] = ()  # (mapping name, override table)
    fulfilment: str = "edi"  # a seller's: edi (855/856/810) or direct (orders by email, by hand)
    carriers: tuple[tuple[str, str], ...] = ()  # (alias, SCAC): how they name carriers
    late: LatePolicy = LatePolicy()
    strict: bool = False  # their files read strictly: no deviation from the standard tolerated
    source: str = ""
    format: str = "x12"  # x12 | cxml | csv: what their documents (and ours to them) are written in
    cxml: CxmlProfile | None = None  # with format = "cxml"

    def carrier_aliases(self) -> dict[str, str]:
        """Their names for carriers, alias -> SCAC."""
        return dict(self.carriers)

    def contacts_for(self, purpose: str) -> tuple[str, ...]:
        """The addresses for `purpose` (e.g. cancellations), else the `default` ones."""
        found = dict(self.contacts)
        return found.get(purpose) or found.get("default", ())

    def mapping_overrides(self) -> dict[str, Any]:
        return dict(self.mappings)


def load_partners(folder: Path) -> list[PartnerProfile]:
    """Every `partners/*.toml` profile in `folder`, validated; ISA ids must not be shared."""
    if not folder.is_dir():
        return []
    profiles = [load_partner(path) for path in sorted(folder.glob("*.toml"))]
    _check_mailboxes_apart(profiles)
    seen: dict[tuple[str, str], str] = {}
    for profile in profiles:
        if not profile.identity.isa_id:
            continue  # not an X12 partner
        key = (profile.identity.isa_qualifier, profile.identity.isa_id)
        if key in seen:
            raise ConfigurationError(
                f"{profile.source}: identity {key[0]}/{key[1]} is also {seen[key]}'s; each "
                "partner needs its own ISA qualifier and id"
            )
        seen[key] = profile.key
    credentials: dict[tuple[str, str], str] = {}
    for profile in profiles:
        if profile.cxml is None:
            continue
        them = profile.cxml.them
        other = credentials.setdefault((them.domain.casefold(), them.identity), profile.key)
        if other != profile.key:
            raise ConfigurationError(
                f"{profile.source}: cXML credential {them} is also {other}'s; each partner needs"
                " its own"
            )
    return profiles


def load_partner(path: Path) -> PartnerProfile:
    """One partner profile, validated: every mistake names the file, the key and the fix."""
    where = str(path)
    raw = _respelled(_read_toml(path), OLD_SPELLINGS, where)
    base = path.resolve().parent
    _check_keys(
        raw,
        {
            "name",
            "role",
            "identity",
            "us",
            "x12",
            "acknowledgements",
            "transport",
            "poll_minutes",
            "contacts",
            "mappings",
            "fulfilment",
            "carriers",
            "late",
            "strict",
            "format",
            "cxml",
        },
        where,
    )
    document_format = _choice(raw, "format", FORMATS, where)
    needed = (
        ("role", "identity", "us", "transport")
        if document_format == "x12"
        else ("role", "transport")
    )
    for key in needed:
        if key not in raw:
            raise ConfigurationError(
                f"{where}: `{key}` is missing; see the README, section Configuration"
            )
    role = _choice(raw, "role", ROLES, where)
    fulfilment = _choice(raw, "fulfilment", FULFILMENTS, where)
    if fulfilment == "direct" and role != "seller":
        raise ConfigurationError(
            f'{where}: fulfilment = "direct" is for a seller (role = "seller"): a buyer does not '
            "fulfil orders"
        )
    poll = _number(raw, "poll_minutes", DEFAULT_POLL_SECONDS / 60, where, most=24 * 60)
    if poll <= 0:
        raise ConfigurationError(f"{where}: poll_minutes must be above 0")
    contacts = _table(raw.get("contacts", {}), f"{where} [contacts]")
    found_contacts = [
        (purpose, _addresses(contacts, purpose, f"{where} [contacts]")) for purpose in contacts
    ]
    overrides = raw.get("mappings", {})
    _table(overrides, f"{where} [mappings]")
    for name, table in overrides.items():
        _table(table, f'{where} [mappings."{name}"]')
    return PartnerProfile(
        key=path.stem,
        name=_text(raw, "name", path.stem, where),
        role=role,
        identity=_identity(raw["identity"], f"{where} [identity]")
        if "identity" in raw
        else NO_IDENTITY,
        us=_identity(raw["us"], f"{where} [us]") if "us" in raw else NO_IDENTITY,
        transport=_transport(raw["transport"], f"{where} [transport]", base),
        x12=_x12_style(raw.get("x12", {}), f"{where} [x12]"),
        acknowledgements=_acknowledgements(
            raw.get("acknowledgements", {}), f"{where} [acknowledgements]", document_format
        ),
        poll_seconds=poll * 60,
        contacts=tuple(found_contacts),
        mappings=tuple(sorted(overrides.items())),
        fulfilment=fulfilment,
        carriers=_carrier_aliases(raw.get("carriers", {}), f"{where} [carriers]"),
        late=_late(raw.get("late", {}), f"{where} [late]"),
        strict=_expect(raw, "strict", bool, where) if "strict" in raw else False,
        source=where,
        format=document_format,
        cxml=_cxml(raw, document_format, f"{where} [cxml]"),
    )


def _cxml(raw: dict[str, Any], document_format: str, where: str) -> CxmlProfile | None:
    """The `[cxml]` table: required with format = "cxml", refused otherwise."""
    if document_format != "cxml":
        if "cxml" in raw:
            raise ConfigurationError(f'{where}: only a partner with format = "cxml" has one')
        return None
    if "cxml" not in raw:
        raise ConfigurationError(
            f"{where}: missing: a cXML partner needs its credentials (domain, identity,"
            " our_domain, our_identity, shared_secret_env)"
        )
    table = _table(raw["cxml"], where)
    if "shared_secret" in table:
        raise ConfigurationError(
            f"{where}: never put the shared secret here; name the environment variable holding"
            " it in shared_secret_env"
        )
    _check_keys(
        table,
        {
            "domain",
            "identity",
            "our_domain",
            "our_identity",
            "sender_domain",
            "sender_identity",
            "shared_secret_env",
            "our_shared_secret_env",
            "deployment_mode",
        },
        where,
    )
    for key in ("domain", "identity", "our_domain", "our_identity", "shared_secret_env"):
        if not _text(table, key, "", where).strip():
            raise ConfigurationError(f"{where}: {key} is missing")
    them = CxmlCredential(_text(table, "domain", "", where), _text(table, "identity", "", where))
    return CxmlProfile(
        them=them,
        us=CxmlCredential(
            _text(table, "our_domain", "", where), _text(table, "our_identity", "", where)
        ),
        sender=CxmlCredential(
            _text(table, "sender_domain", them.domain, where),
            _text(table, "sender_identity", them.identity, where),
        ),
        secret_env=_text(table, "shared_secret_env", "", where),
        our_secret_env=_text(table, "our_shared_secret_env", "", where),
        deployment_mode=_choice(table, "deployment_mode", DEPLOYMENT_MODES, where),
    )


def _carrier_aliases(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """`ALIAS = "SCAC"`: each SCAC one of the carriers table."""
    table = _table(value, where)
    found = []
    for alias, scac in table.items():
        if not isinstance(scac, str) or carriers.by_scac(scac) is None:
            known = ", ".join(sorted(c.scac for c in carriers.CARRIERS))
            raise ConfigurationError(
                f"{where}: {alias!r} = {scac!r} is not a SCAC of the carriers table ({known})"
            )
        found.append((alias, scac))
    return tuple(found)


def _late(value: Any, where: str) -> LatePolicy:
    table = _table(value, where)
    _check_keys(
        table, {"ack_due_hours", "ship_date", "cancel_after", "ship_notice_before_ack"}, where
    )
    hours = _number(table, "ack_due_hours", DEFAULT_ACK_DUE_HOURS, where, most=24 * 90)
    if hours < 0:
        raise ConfigurationError(f"{where}: ack_due_hours cannot be negative (0 turns it off)")
    flags = {}
    for key in ("ship_date", "cancel_after", "ship_notice_before_ack"):
        flag = table.get(key, True)
        if not isinstance(flag, bool):
            raise ConfigurationError(f"{where}: {key} is true or false, not {flag!r}")
        flags[key] = flag
    return LatePolicy(ack_due_hours=hours, **flags)


def _mailbox_places(profile: PartnerProfile) -> list[tuple[str, tuple[object, ...]]]:
    """Where a partner's mailbox reads and writes: ("inbox"/"outbox", the place)."""
    transport = profile.transport
    if isinstance(transport, FolderTransport):
        return [("inbox", ("folder", transport.inbox)), ("outbox", ("folder", transport.outbox))]
    server = ("sftp", transport.host.lower(), transport.port, transport.user)
    return [
        ("inbox", (*server, transport.remote_inbox.rstrip("/"))),
        ("outbox", (*server, transport.remote_outbox.rstrip("/"))),
    ]


def _check_mailboxes_apart(profiles: list[PartnerProfile]) -> None:
    """No two partners read the same inbox (a file would be taken as whichever partner's pass
    came first, and refused as unauthorized), and no inbox is where a partner's documents go
    (ours would be read back as theirs)."""
    readers: dict[tuple[object, ...], PartnerProfile] = {}
    for profile in profiles:
        for side, place in _mailbox_places(profile):
            if side == "inbox":
                other = readers.setdefault(place, profile)
                if other is not profile:
                    raise ConfigurationError(
                        f"{profile.source}: its inbox is also {other.key}'s"
                        f" ({other.source}); give each partner a mailbox of its own"
                    )
    for profile in profiles:
        for side, place in _mailbox_places(profile):
            reader = readers.get(place)
            if side == "outbox" and reader is not None:
                raise ConfigurationError(
                    f"{profile.source}: its outbox is {reader.key}'s inbox ({reader.source}):"
                    " our documents would be read back as the partner's"
                )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: expected a table, found {value!r}")
    return value


def _text(table: dict[str, Any], key: str, default: str, where: str) -> str:
    if key not in table:
        return default
    value = _expect(table, key, str, where)
    assert isinstance(value, str)
    return value


def _number(
    table: dict[str, Any], key: str, default: float, where: str, *, most: float = 1e9
) -> float:
    """A finite number of at most `most` (a value no setting can mean: 1e308 seconds, nan)."""
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{where}: {key} must be a number, not {value!r}")
    if not math.isfinite(value) or value > most:
        raise ConfigurationError(
            f"{where}: {key} = {value!r} must be a finite number, at most {most:g}"
        )
    return float(value)


def _choice(table: dict[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = table.get(key, choices[0])
    if value not in choices:
        raise ConfigurationError(
            f"{where}: {key} = {value!r} is not one of {', '.join(repr(c) for c in choices)}"
        )
    return str(value)


def _identity(value: Any, where: str) -> Identity:
    table = _table(value, where)
    _check_keys(table, {"isa_qualifier", "isa_id", "gs_id"}, where)
    if "isa_id" not in table:
        raise ConfigurationError(f"{where}: isa_id (the ISA sender/receiver id) is missing")
    isa_id = _text(table, "isa_id", "", where)
    qualifier = _text(table, "isa_qualifier", "ZZ", where)
    if not 1 <= len(isa_id) <= 15 or isa_id != isa_id.strip():
        raise ConfigurationError(f"{where}: isa_id {isa_id!r} must be 1 to 15 characters")
    for name, text in (("isa_id", isa_id), ("isa_qualifier", qualifier)):
        _check_id_characters(text, name, where)
    if len(qualifier) != 2:
        raise ConfigurationError(f"{where}: isa_qualifier {qualifier!r} must be 2 characters")
    gs_id = _text(table, "gs_id", isa_id, where)
    if not 2 <= len(gs_id) <= 15:
        raise ConfigurationError(f"{where}: gs_id {gs_id!r} must be 2 to 15 characters")
    _check_id_characters(gs_id, "gs_id", where)
    return Identity(qualifier, isa_id, gs_id)


ID_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.,_/&#@()+'"
)
"""What an interchange id may hold: letters, digits, spaces and punctuation no partner uses as
a delimiter (an id holding `*`, `~`, `>`, `^` or `:` would break the envelope it is written in)."""


def _check_id_characters(text: str, name: str, where: str) -> None:
    wrong = sorted({c for c in text if c not in ID_CHARACTERS})
    if wrong:
        raise ConfigurationError(
            f"{where}: {name} {text!r} holds {', '.join(repr(c) for c in wrong)}: an id holds"
            " letters, digits, spaces and - . , _ / & # @ ( ) + ' (no X12 delimiter)"
        )


def _x12_style(value: Any, where: str) -> X12Style:
    table = _table(value, where)
    _check_keys(
        table,
        {
            "version",
            "element_separator",
            "component_separator",
            "segment_terminator",
            "repetition_separator",
        },
        where,
    )
    style = X12Style(
        version=_choice(table, "version", X12_VERSIONS, where),
        element_separator=_text(table, "element_separator", "*", where),
        component_separator=_text(table, "component_separator", ">", where),
        segment_terminator=_text(table, "segment_terminator", "~", where),
        repetition_separator=_text(table, "repetition_separator", "^", where),
    )
    delimiters = [
        style.element_separator,
        style.component_separator,
        style.segment_terminator,
        style.repetition_separator,
    ]
    if any(len(d) != 1 or d.isalnum() or d == " " for d in delimiters):
        raise ConfigurationError(
            f"{where}: each delimiter is one character that is neither a letter, a digit nor a"
            " space"
        )
    if len(set(delimiters)) != len(delimiters):
        raise ConfigurationError(f"{where}: the delimiters must differ from one another")
    return style


def _acknowledgements(value: Any, where: str, document_format: str) -> AcknowledgementPolicy:
    table = _table(value, where)
    _check_keys(table, {"send", "ta1", "expect", "deadline_hours"}, where)
    answers = ANSWERS_BY_FORMAT[document_format]
    deadline = _number(table, "deadline_hours", DEFAULT_ACK_DEADLINE_HOURS, where, most=24 * 90)
    if deadline <= 0:
        raise ConfigurationError(f"{where}: deadline_hours must be above 0")
    return AcknowledgementPolicy(
        send=_choice(table, "send", answers, where),
        ta1=_choice(table, "ta1", ("requested", "always", "never"), where),
        expect=_choice(table, "expect", answers, where),
        deadline_hours=deadline,
    )


def _transport(value: Any, where: str, base: Path) -> Transport:
    table = _table(value, where)
    kind = table.get("type")
    if kind == "folder":
        _check_keys(table, {"type", "inbox", "outbox", "settle_seconds", "pattern"}, where)
        for key in ("inbox", "outbox"):
            if key not in table:
                raise ConfigurationError(f"{where}: {key} (a folder path) is missing")
        settle = _number(table, "settle_seconds", DEFAULT_SETTLE_SECONDS, where, most=3600)
        if settle < 0:
            raise ConfigurationError(f"{where}: settle_seconds cannot be negative")
        folders = FolderTransport(
            inbox=(base / _text(table, "inbox", "", where)).resolve(),
            outbox=(base / _text(table, "outbox", "", where)).resolve(),
            settle_seconds=settle,
            pattern=_text(table, "pattern", "*", where),
        )
        if folders.inbox == folders.outbox:
            raise ConfigurationError(
                f"{where}: inbox and outbox are both {folders.inbox}: the gateway would read its"
                " own documents back as the partner's; give each its own folder"
            )
        return folders
    if kind == "sftp":
        allowed = {
            "type",
            "host",
            "port",
            "user",
            "host_key",
            "key_file",
            "password_env",
            "remote_inbox",
            "remote_outbox",
            "pattern",
            "after_pickup",
            "archive_folder",
            "timeout_seconds",
        }
        if "password" in table:
            raise ConfigurationError(
                f"{where}: never put a password here; name the environment variable holding it"
                " in password_env (or use key_file)"
            )
        _check_keys(table, allowed, where)
        for key in ("host", "user", "host_key", "remote_inbox", "remote_outbox"):
            if key not in table:
                raise ConfigurationError(f"{where}: {key} is missing")
        host_key = _text(table, "host_key", "", where)
        if not host_key.startswith("SHA256:"):
            raise ConfigurationError(
                f"{where}: host_key must be the server key's SHA256 fingerprint, as"
                " `ssh-keygen -lf KEY.pub` or `ssh-keyscan HOST | ssh-keygen -lf -` prints it"
                " (SHA256:...)"
            )
        key_file = _text(table, "key_file", "", where)
        password_env = _text(table, "password_env", "", where)
        if bool(key_file) == bool(password_env):
            raise ConfigurationError(
                f"{where}: name exactly one of key_file (a private key file) or password_env"
                " (the environment variable holding the password)"
            )
        after = _choice(table, "after_pickup", ("delete", "move"), where)
        archive = _text(table, "archive_folder", "", where)
        if (after == "move") != bool(archive):
            raise ConfigurationError(
                f'{where}: after_pickup = "move" needs archive_folder (and only it does)'
            )
        port = int(_number(table, "port", 22, where))
        if not 0 < port < 65536:
            raise ConfigurationError(f"{where}: port {port} is not a TCP port")
        timeout = _number(table, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, where, most=3600)
        if timeout <= 0:
            raise ConfigurationError(f"{where}: timeout_seconds must be above 0")
        return SftpTransport(
            host=_text(table, "host", "", where),
            user=_text(table, "user", "", where),
            host_key=host_key,
            remote_inbox=_text(table, "remote_inbox", "", where),
            remote_outbox=_text(table, "remote_outbox", "", where),
            port=port,
            key_file=(base / key_file).resolve() if key_file else None,
            password_env=password_env,
            pattern=_text(table, "pattern", "*", where),
            after_pickup=after,
            archive_folder=archive,
            timeout_seconds=timeout,
        )
    raise ConfigurationError(f'{where}: type must be "folder" or "sftp", not {kind!r}')


DEFAULT_CONFIG = GatewayConfig()
# The mappings shipped with the gateway: package data (gateway/mappings/*.toml), found where the
# package is installed.
SHIPPED_MAPPINGS = resources.files("gateway") / "mappings"


def load_mappings(folder: Traversable = SHIPPED_MAPPINGS) -> dict[str, dict[str, Any]]:
    """Every `<name>.toml` mapping in `folder`, read (the mapping engine checks them)."""
    if not folder.is_dir():
        raise ConfigurationError(f"{folder}: no mappings folder")
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            found[entry.name.removesuffix(".toml")] = tomllib.loads(
                entry.read_text(encoding="utf-8")
            )
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{entry}: not valid TOML: {exc}") from None
    return found


def _expect(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigurationError(
            f"{where}: {key} must be a {kind.__name__}, not {type(value).__name__} {value!r}"
        )
    return value


def _respelled(table: dict[str, Any], spellings: dict[str, str], where: str) -> dict[str, Any]:
    """`table` with each key spelled the old way (`spellings`: old -> new) read as the new one,
    a warning naming the file and the right spelling for each; both spellings at once are a
    ConfigurationError."""
    found = dict(table)
    for old, new in spellings.items():
        if old not in found:
            continue
        if new in found:
            raise ConfigurationError(
                f"{where}: {old!r} and {new!r} are the same key, spelled two ways; keep {new!r}"
            )
        LOG.warning("%s: `%s` is spelled `%s` now (read as such); rename the key", where, old, new)
        found[new] = found.pop(old)
    return found


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(allowed))}"
        )


def load_config(path: Path | None, *, data_dir: Path | None = None) -> GatewayConfig:
    """Load and validate a configuration file; None gives the embedded defaults (with the data
    folder `data/` under the current directory, or `data_dir` when given)."""
    if path is None:
        return GatewayConfig(data_dir=data_dir or DEFAULT_DATA_DIR.resolve())
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    where = str(path)
    _check_keys(raw, KNOWN_SECTIONS, where)
    base = path.resolve().parent
    gateway = raw.get("gateway", {})
    _check_keys(gateway, {"data_dir", "partners_dir"}, f"{where} [gateway]")
    folder = (
        base / _expect(gateway, "data_dir", str, f"{where} [gateway]")
        if "data_dir" in gateway
        else None
    )
    partners_dir = base / _text(gateway, "partners_dir", "partners", f"{where} [gateway]")
    if "partners_dir" in gateway and not partners_dir.is_dir():
        raise ConfigurationError(
            f"{where} [gateway]: partners_dir {partners_dir} is not a folder; create it or fix"
            " the path"
        )
    database = raw.get("database", {})
    keys = {"url", "password_env", "pool_size", "busy_timeout_seconds"}
    _check_keys(database, keys, f"{where} [database]")
    section = f"{where} [database]"
    url = _expect(database, "url", str, section) if "url" in database else ""
    if url and not url.startswith(("sqlite:", "postgresql")):
        raise ConfigurationError(
            f"{section}: url must be sqlite:///... or postgresql+psycopg://..."
        )
    if "password" in url.split("@")[0].split("//")[-1] or (
        ":" in url.split("@")[0].split("//")[-1] and "@" in url
    ):
        raise ConfigurationError(
            f"{section}: url holds a password; put it in an environment variable and name the "
            "variable in password_env"
        )
    pool = _expect(database, "pool_size", int, section) if "pool_size" in database else 5
    if pool < 1:
        raise ConfigurationError(f"{section}: pool_size must be at least 1")
    busy = _number(database, "busy_timeout_seconds", 30.0, section, most=3600)
    if busy <= 0:
        raise ConfigurationError(f"{section}: busy_timeout_seconds must be above 0")
    return GatewayConfig(
        data_dir=(data_dir or folder or base / DEFAULT_DATA_DIR).resolve(),
        database=DatabaseConfig(
            url=url,
            password_env=_expect(database, "password_env", str, section)
            if "password_env" in database
            else "",
            pool_size=pool,
            busy_timeout_seconds=busy,
        ),
        source=where,
        partners=tuple(load_partners(partners_dir)),
        mail=_mail(raw.get("mail", {}), f"{where} [mail]", base),
        web=_web(raw.get("web", {}), f"{where} [web]"),
        webhooks=_webhooks(raw.get("webhooks", {}), f"{where} [webhooks]"),
    )


def _addresses(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(a, str) and "@" in a for a in value):
        raise ConfigurationError(
            f'{where}: {key} must be a list of e-mail addresses, like ["edi@example.com"]'
        )
    return tuple(value)


def _mail(value: Any, where: str, base: Path) -> MailSettings:
    table = _table(value, where)
    if "password" in table:
        raise ConfigurationError(
            f"{where}: no password in files under version control: put it in an environment "
            "variable and name the variable in password_env"
        )
    _check_keys(
        table, {f.name for f in dataclasses.fields(MailSettings)} - {"sender"} | {"from"}, where
    )
    defaults = MailSettings()
    sender = _text(table, "from", defaults.sender, where)
    if "@" not in sender or "\n" in sender or "\r" in sender:
        raise ConfigurationError(
            f'{where}: from = {sender!r} is not an address, like "Gateway <edi@example.com>"'
        )
    port = _number(table, "port", defaults.port, where)
    if port != int(port) or not 0 < port < 65536:
        raise ConfigurationError(f"{where}: port must be a TCP port number, not {port}")
    attempts = _number(table, "delivery_alert_attempts", defaults.delivery_alert_attempts, where)
    positive = {
        key: _number(table, key, getattr(defaults, key), where)
        for key in ("timeout_seconds", "alert_repeat_minutes", "mailbox_alert_minutes")
    }
    for key, number in positive.items():
        if number <= 0:
            raise ConfigurationError(f"{where}: {key} must be above 0")
    ca_file = base / _text(table, "ca_file", "", where) if "ca_file" in table else None
    if ca_file is not None and not ca_file.is_file():
        raise ConfigurationError(f"{where}: ca_file {ca_file} is not a file")
    templates = (
        base / _text(table, "templates_dir", "", where) if "templates_dir" in table else None
    )
    if templates is not None and not templates.is_dir():
        raise ConfigurationError(
            f"{where}: templates_dir {templates} is not a folder; create it or remove the key"
        )
    return MailSettings(
        sender=sender,
        operators=_addresses(table, "operators", where),
        order_desk=_addresses(table, "order_desk", where),
        host=_text(table, "host", "", where),
        port=int(port),
        security=_choice(table, "security", MAIL_SECURITY, where),
        username=_text(table, "username", "", where),
        password_env=_text(table, "password_env", "", where),
        ca_file=ca_file,
        domain=_text(table, "domain", "", where),
        templates_dir=templates,
        delivery_alert_attempts=max(int(attempts), 1),
        **positive,
    )


def _webhooks(value: Any, where: str) -> WebhookSettings:
    table = _table(value, where)
    _check_keys(table, {f.name for f in dataclasses.fields(WebhookSettings)}, where)
    defaults = WebhookSettings()
    waits = {
        key: _number(table, key, getattr(defaults, key), where)
        for key in ("timeout_seconds", "first_retry_seconds", "last_retry_seconds")
    }
    for key, number in waits.items():
        if number <= 0:
            raise ConfigurationError(f"{where}: {key} must be above 0")
    if waits["last_retry_seconds"] < waits["first_retry_seconds"]:
        raise ConfigurationError(
            f"{where}: last_retry_seconds is shorter than first_retry_seconds; lengthen it"
        )
    jitter = _number(table, "jitter", defaults.jitter, where)
    if not 0 <= jitter <= 1:
        raise ConfigurationError(f"{where}: jitter must be from 0 to 1, a share of each wait")
    attempts = (
        _expect(table, "alert_attempts", int, where)
        if "alert_attempts" in table
        else defaults.alert_attempts
    )
    if attempts < 1:
        raise ConfigurationError(f"{where}: alert_attempts must be at least 1")
    return WebhookSettings(jitter=jitter, alert_attempts=attempts, **waits)


def _web(value: Any, where: str) -> WebSettings:
    table = _table(value, where)
    _check_keys(table, {f.name for f in dataclasses.fields(WebSettings)}, where)
    defaults = WebSettings()
    idle = _number(table, "session_idle_minutes", defaults.session_idle_minutes, where)
    absolute = _number(table, "session_absolute_hours", defaults.session_absolute_hours, where)
    for key, number in (("session_idle_minutes", idle), ("session_absolute_hours", absolute)):
        if number <= 0:
            raise ConfigurationError(f"{where}: {key} must be above 0")
    if idle > absolute * 60:
        raise ConfigurationError(
            f"{where}: session_idle_minutes ({idle:g}) is longer than session_absolute_hours"
            f" ({absolute:g} h): a session never goes idle before it ends; shorten the first"
        )
    attempts = (
        _expect(table, "login_attempts_per_minute", int, where)
        if "login_attempts_per_minute" in table
        else defaults.login_attempts_per_minute
    )
    if not 1 <= attempts <= 10_000:
        raise ConfigurationError(f"{where}: login_attempts_per_minute must be 1 to 10000")
    secure = _expect(table, "secure_cookies", bool, where) if "secure_cookies" in table else None
    host = _text(table, "host", defaults.host, where)
    if not host.strip():
        raise ConfigurationError(f"{where}: host is empty; give an address like 127.0.0.1")
    port = _expect(table, "port", int, where) if "port" in table else defaults.port
    if not 0 < port < 65536:
        raise ConfigurationError(f"{where}: port {port} is not a TCP port")
    rate = _number(table, "api_requests_per_second", defaults.api_requests_per_second, where)
    if rate <= 0:
        raise ConfigurationError(f"{where}: api_requests_per_second must be above 0")
    burst = _expect(table, "api_burst", int, where) if "api_burst" in table else defaults.api_burst
    if not 1 <= burst <= 100_000:
        raise ConfigurationError(f"{where}: api_burst must be 1 to 100000")
    return WebSettings(
        session_idle_minutes=idle,
        session_absolute_hours=absolute,
        login_attempts_per_minute=attempts,
        secure_cookies=secure,
        host=host,
        port=port,
        api_requests_per_second=rate,
        api_burst=burst,
    )
