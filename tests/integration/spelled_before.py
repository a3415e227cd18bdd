"""What the store wrote while "fulfilment" was spelled "fulfillment" (up to migration 0005):
the orders' status column, the keys of their state and of the events' payloads, the events'
names. Tests of the migrations write rows the old way with it, from rows written today."""

from __future__ import annotations

from typing import Any

OLD_COLUMN = "fulfillment_status"
OLD_INDEX = "ix_orders_listing_fulfillment"
OLD_KEYS = {
    "fulfilments": "fulfillments",
    "fulfilment_ids": "fulfillment_ids",
    "fulfilment_id": "fulfillment_id",
    "fulfilment_status": OLD_COLUMN,
}
OLD_EVENTS = {
    "FulfilmentCreated": "FulfillmentCreated",
    "FulfilmentRefused": "FulfillmentRefused",
    "FulfilmentPassedOn": "FulfillmentPassedOn",
}


def spelled_before(value: Any) -> Any:
    """JSON data (an order's state, an event's payload) with its keys spelled the old way."""
    if isinstance(value, dict):
        return {OLD_KEYS.get(key, key): spelled_before(item) for key, item in value.items()}
    if isinstance(value, list):
        return [spelled_before(item) for item in value]
    return value


def order_row_before(row: dict[str, Any]) -> dict[str, Any]:
    """An `orders` row (its columns by name) as the store wrote it before 0006."""
    return {
        OLD_KEYS.get(column, column): spelled_before(value) if column == "state" else value
        for column, value in row.items()
    }


def event_row_before(row: dict[str, Any]) -> dict[str, Any]:
    """An `order_events` row as the store wrote it before 0006."""
    return {
        **row,
        "name": OLD_EVENTS.get(row["name"], row["name"]),
        "payload": spelled_before(row["payload"]),
    }
