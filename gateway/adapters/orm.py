"""The database schema, as SQLAlchemy Core tables (the only definition of it; Alembic's
migrations create and change it in production, `metadata.create_all` is for tests only).

Orders are stored as one row each: the whole aggregate as JSON in `state`, plus the columns the
gateway searches and sorts by (partner, PO number, flags, statuses), kept in step on every write,
and `version` for optimistic concurrency. Each change also leaves rows in `order_events` (the
audit trail). Documents in and out keep their raw bytes, sha256, control numbers, status and the
orders they touched. Control numbers are issued from `control_numbers`, one counter per partner
and kind, incremented in the transaction that uses the number, so a rollback gives it back and two
workers never get the same one.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("po_number", String(64), nullable=False),
    Column("our_role", String(16), nullable=False),
    Column("is_test", Boolean, nullable=False, default=False),
    Column("order_date", String(10), nullable=True),
    Column("flags", String(128), nullable=False, default=""),
    Column("confirmed", Boolean, nullable=False, default=False),
    Column("shipped", Boolean, nullable=False, default=False),
    Column("paid", Boolean, nullable=False, default=False),
    Column("completed", Boolean, nullable=False, default=False),
    Column("returned", Boolean, nullable=False, default=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("settled", Boolean, nullable=False, default=False, server_default=false()),
    # completed or cancelled: out of the open work, in the archive
    Column("archived", Boolean, nullable=False, default=False, server_default=false()),
    Column("fulfilment_status", String(32), nullable=False),
    Column("payment_status", String(32), nullable=False),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("partner", "po_number", name="uq_orders_partner_po_number"),
)
FLAG_COLUMNS = ("confirmed", "settled", "shipped", "paid", "completed", "returned", "cancelled")
"""The flags kept as columns of their own (besides `is_test`), as `rules.Flag` names them."""
LISTING_FILTERS = ("is_test", "archived", *FLAG_COLUMNS)
"""The columns every listing index ends with (see below)."""
LISTING_INDEXES = {
    "ix_orders_listing_date": ("order_date", "id"),
    "ix_orders_listing_po": ("po_number", "id"),
    "ix_orders_listing_updated": ("updated_at", "id"),
    "ix_orders_listing_partner": ("partner", "order_date", "id"),
    "ix_orders_listing_fulfilment": ("fulfilment_status", "order_date", "id"),
    "ix_orders_listing_payment": ("payment_status", "order_date", "id"),
}
"""The indexes of `gateway orders list` (`SqlOrderRepository.summaries`), by their leading
columns: the sort keys (order date, PO number, last change, each with the row id that breaks
ties), and the partner, fulfilment status and payment status that narrow a listing first, with
the order date after them. Each ends with `LISTING_FILTERS`, so whatever the scope (open,
archived, all), test orders in or out and the flags asked for, a page is read in index order
with the filters checked in the index, and a count never reads the table."""
for _name, _leading in LISTING_INDEXES.items():
    Index(_name, *(orders.c[column] for column in (*_leading, *LISTING_FILTERS)))

SEARCH_TERM_LENGTH = 128
order_search_terms = Table(
    "order_search_terms",
    metadata,
    # compared byte by byte on PostgreSQL too (collation "C"), so a prefix is one index range
    Column(
        "term",
        String(SEARCH_TERM_LENGTH).with_variant(
            String(SEARCH_TERM_LENGTH, collation="C"), "postgresql"
        ),
        primary_key=True,
    ),
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    sqlite_with_rowid=False,  # the primary key is the table: one B-tree to write, not three
)
"""The words an order is found by (`gateway orders list --search`), lower-cased: its PO number,
the product ids of its lines, the ship-to party's name and each word of it, the tracking numbers
of its fulfilments (see `gateway.adapters.search`). Written with the order, every time; the
primary key (term, order) is the search's index when few orders match, the index on (order,
term) when many do: the listing then walks the orders in the page's order and asks it, for
each, whether one of its terms starts with the text (`SqlOrderRepository.summaries`)."""
Index("ix_order_search_terms_order_id", order_search_terms.c.order_id, order_search_terms.c.term)

order_events = Table(
    "order_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("order_id", "sequence", name="uq_order_events_order_id_sequence"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("direction", String(8), nullable=False),  # in | out
    Column("transaction_sets", String(128), nullable=False, default=""),
    Column("interchange_control", String(255), nullable=True),
    Column("group_controls", String(256), nullable=False, default=""),
    Column("set_controls", Text, nullable=False, default=""),
    Column("sender_id", String(255), nullable=True),
    Column("receiver_id", String(255), nullable=True),
    Column("filename", String(512), nullable=True),
    Column("status", String(32), nullable=False),
    Column("raw", LargeBinary, nullable=True),
    Column("raw_path", String(512), nullable=True),
    Column("size", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),  # every set of it applied
    Column("envelope", JSON, nullable=True),  # inbound: the ISA/GS values an answer is built on
)
Index("ix_documents_sha256", documents.c.sha256)
Index(
    "ix_documents_partner_direction_interchange",
    documents.c.partner,
    documents.c.direction,
    documents.c.interchange_control,
)

document_orders = Table(
    "document_orders",
    metadata,
    Column("document_id", Integer, ForeignKey("documents.id"), primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
)

document_sets = Table(
    "document_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
    Column("group_control", String(64), nullable=False),
    Column("set_control", String(64), nullable=False),
    Column("set_id", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("po_number", String(512), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "document_id", "group_control", "set_control", name="uq_document_sets_document_id"
    ),
)
"""What became of each transaction set of an inbound document, written in the transaction that
applied it: a file taken in again after a crash resumes with the sets not written here."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
"""Who works on what (a partner's mailbox, an outbox entry being delivered) until when, so that
several workers share the load without doing the same thing twice."""

mailbox_outages = Table(
    "mailbox_outages",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("down_since", DateTime(timezone=True), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
)
"""A partner's mailbox unreachable since when, kept across runs (a cron of `gateway run --once`
starts afresh each time) and removed at the first pick-up that works."""

control_numbers = Table(
    "control_numbers",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # interchange | group | set
    Column("last", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # x12 | email
    Column("partner", String(64), nullable=False),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # queued | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column(
        "claimed_by", String(128), nullable=True
    ),  # the worker delivering it, until next_attempt_at
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # what an alert is about ("quarantine:harborview:<sha256>"): repeats join the same email
    Column("group_key", String(256), nullable=True),
)
Index("ix_outbox_status_next_attempt_at", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_group_key", outbox.c.group_key)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # admin | operator | viewer | partner
    Column("partner", String(64), nullable=True),  # a partner user's partner key
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),  # null: may sign in
)
"""The web console's users (`gateway.service.accounts`), with the hash of their password."""

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # the SHA-256 of the cookie's token
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)
"""Signed-in sessions, by the SHA-256 of their token: the token itself is never stored."""
Index("ix_web_sessions_user_name", web_sessions.c.user_name)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("name", String(64), nullable=False),  # as given, cut to 64 characters
    Column("address", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),  # signed in | wrong password | ...
)
"""Every sign-in attempt and sign-out with its outcome. The throttle counts the failed ones of
the last minute by name and by address: an index for each, the time after it."""
Index("ix_sign_ins_name_at", sign_ins.c.name, sign_ins.c.at)
Index("ix_sign_ins_address_at", sign_ins.c.address, sign_ins.c.at)
Index("ix_sign_ins_at", sign_ins.c.at)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # the secret's SHA-256
    Column("role", String(16), nullable=False),  # operator | viewer | partner
    Column("partner", String(64), nullable=True),  # a partner token's partner key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),  # null: taken
)
"""The API's tokens (`gateway.service.tokens`), by the SHA-256 of their secret: the secret
itself is never stored."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("token_name", String(64), ForeignKey("api_tokens.name"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_digest", String(64), nullable=False),  # SHA-256 of method, path and body
    Column("status", Integer, nullable=True),  # null: the request is being answered
    Column("body", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""The outcome of each API request made with an `Idempotency-Key`, by token and key: the
key is inserted before the request is done (the primary key lets one request in), its outcome
written once answered."""
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # the event names, comma-separated
    Column("secret_env", String(128), nullable=False),  # the variable holding the HMAC secret
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True), nullable=True),  # null: in force
)
"""Where webhook events go (`gateway.service.webhooks`); the secret itself is never stored."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("outbox_id", Integer, nullable=False),  # the outbox entry holding the event
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),  # null: no answer (see error)
    Column("error", Text, nullable=False),
    Column("delivered", Boolean, nullable=False),
)
"""Every attempt to deliver a webhook event, per subscription (`gateway webhooks log`)."""
Index(
    "ix_webhook_deliveries_subscription_id",
    webhook_deliveries.c.subscription_id,
    webhook_deliveries.c.id,
)
