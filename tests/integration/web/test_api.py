"""The JSON API against a real uvicorn on 127.0.0.1 with httpx, on SQLite and PostgreSQL: every
call needs a token (none or a revoked one: 401), a viewer's POST is a 403, a partner token is
answered 404 for another partner's order or document; the order list's filters and cursor
pages; actions through the order desk (201 with the desk's result, a rule's refusal a 409
naming it, a malformed body a 422 naming the field); an idempotent POST three times makes one
fulfilment; documents, their bytes and resend; partners' health; the rate limit's 429; the
OpenAPI description validated (openapi-spec-validator) and covering every route."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from gateway.config import GatewayConfig
from gateway.service.tokens import add_token, claim_key, revoke_token
from gateway.web.api import RESOURCES, TokenBuckets
from gateway.web.app import create_app
from tests.browser import serve
from tests.integration.web.conftest import HARBORVIEW_PO, demo_console

NOW = dt.datetime.now(dt.UTC)
TOKENS = {
    "erp": ("operator", None),
    "dash": ("viewer", None),
    "pine": ("partner", "pinecrest"),
    "harbor": ("partner", "harborview"),
}


@dataclasses.dataclass
class Api:
    url: str
    secrets: dict[str, str]
    pinecrest_po: str
    gateway: object
    app: FastAPI

    def client(self, name: str | None) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.secrets[name]}"} if name else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=30)


@pytest.fixture
def api(store_config: GatewayConfig, tmp_path: Path) -> Iterator[Api]:
    gateway, hasher, pinecrest_po = demo_console(store_config, tmp_path)
    secrets = {
        name: add_token(gateway.uow_factory(), name, role, partner, NOW)[0]
        for name, (role, partner) in TOKENS.items()
    }
    app = create_app(gateway, hasher=hasher)
    with serve(app) as url:
        yield Api(url, secrets, pinecrest_po, gateway, app)
    gateway.close()


def test_every_call_needs_a_valid_token(api: Api):
    with api.client(None) as anonymous:
        answer = anonymous.get("/orders")
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert "token" in answer.json()["error"]
    with httpx.Client(base_url=api.url, headers={"authorization": "Bearer gw_nothing"}) as wrong:
        assert wrong.get("/api/v1/orders").status_code == 401
    revoke_token(api.gateway.uow_factory(), "dash", NOW)  # type: ignore[attr-defined]
    with api.client("dash") as revoked:
        assert revoked.get("/api/v1/orders".removeprefix("/api/v1")).status_code == 401


def test_orders_are_listed_with_filters_and_cursor_pages_and_scoped_for_partners(api: Api):
    with api.client("erp") as erp:
        every = erp.get("/orders", params={"test": "true"}).json()
        keys = {(o["partner"], o["po_number"]) for o in every["orders"]}
        assert {("harborview", HARBORVIEW_PO), ("pinecrest", api.pinecrest_po)} <= keys
        first = erp.get("/orders", params={"test": "true", "limit": 1}).json()
        assert len(first["orders"]) == 1 and first["next_cursor"]
        second = erp.get(
            "/orders", params={"test": "true", "limit": 1, "cursor": first["next_cursor"]}
        ).json()
        assert second["orders"] != first["orders"] and second["next_cursor"] is None
        only = erp.get("/orders", params={"partner": "harborview"}).json()["orders"]
        assert [o["po_number"] for o in only] == [HARBORVIEW_PO]
        wrong = erp.get("/orders", params={"sort": "nonsense"})
        assert wrong.status_code == 422 and wrong.json()["field"] == "sort"
        assert erp.get("/orders", params={"cursor": "!!"}).json()["field"] == "cursor"
        one = erp.get(f"/orders/harborview/{HARBORVIEW_PO}")
        assert one.status_code == 200 and one.json()["po_number"] == HARBORVIEW_PO
    with api.client("pine") as pine:
        seen = pine.get("/orders", params={"test": "true", "partner": "harborview"}).json()
        assert {o["partner"] for o in seen["orders"]} == {"pinecrest"}
        assert pine.get(f"/orders/harborview/{HARBORVIEW_PO}").status_code == 404
        assert pine.get(f"/orders/pinecrest/{api.pinecrest_po}").status_code == 200


def test_actions_go_through_the_desk_with_roles_refusals_and_malformed_bodies(api: Api):
    order = f"/orders/harborview/{HARBORVIEW_PO}"
    with api.client("erp") as erp:
        note = erp.post(f"{order}/notes", json={"text": "called the buyer"})
        assert note.status_code == 201, note.text
        assert note.json()["action"] == "note added" and note.json()["record"]
        view = erp.get(order).json()
        assert any(n["text"] == "called the buyer" for n in view["notes"])
        too_many = erp.post(
            f"{order}/fulfilments",
            json={"lines": [{"line": "1", "quantity": 99999}], "carrier": "UPS"},
        )
        assert too_many.status_code == 409, too_many.text
        assert too_many.json()["rule"] and too_many.json()["error"]
        malformed = erp.post(
            f"{order}/fulfilments", json={"lines": [{"line": "1"}], "carrier": "UPS"}
        )
        assert malformed.status_code == 422
        assert any("quantity" in problem["loc"] for problem in malformed.json()["detail"])
        unknown = erp.post(f"{order}/notes", json={"txt": "typo"})
        assert unknown.status_code == 422 and "txt" in unknown.text
        assert erp.post("/orders/harborview/NOPE/notes", json={"text": "x"}).status_code == 404
    with api.client("dash") as viewer:
        assert viewer.post(f"{order}/notes", json={"text": "no"}).status_code == 403
        assert viewer.get(order).status_code == 200
    with api.client("pine") as pine:
        assert pine.post(f"{order}/notes", json={"text": "no"}).status_code == 404
        mine = f"/orders/pinecrest/{api.pinecrest_po}"
        assert pine.post(f"{mine}/notes", json={"text": "shipping tomorrow"}).status_code == 201
        assert pine.post(f"{mine}/invoices", json={}).status_code == 403


def test_an_idempotent_fulfilment_posted_three_times_is_made_once(api: Api):
    order = f"/orders/harborview/{HARBORVIEW_PO}"
    body = {
        "lines": [{"line": "1", "quantity": 1}],
        "carrier": "UPS",
        "tracking_numbers": ["1Z999AA10123456784"],
    }
    with api.client("erp") as erp:
        answers = [
            erp.post(f"{order}/fulfilments", json=body, headers={"idempotency-key": "ship-1"})
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [201, 201, 201], answers[0].text
        assert len({a.json()["record"] for a in answers}) == 1
        assert answers[1].headers.get("idempotent-replayed") == "true"
        assert len(erp.get(order).json()["fulfilments"]) == 1
        other = erp.post(
            f"{order}/fulfilments",
            json={**body, "carrier": "FedEx"},
            headers={"idempotency-key": "ship-1"},
        )
        assert other.status_code == 422 and other.json()["rule"] == "idempotency-key-same-request"
    with api.client("dash") as viewer:  # a key is the token's own
        refused = viewer.post(
            f"{order}/fulfilments", json=body, headers={"idempotency-key": "ship-1"}
        )
        assert refused.status_code == 403


def test_documents_their_bytes_resend_and_partners(api: Api):
    with api.client("erp") as erp:
        listed = erp.get("/documents").json()["documents"]
        received = next(
            d for d in listed if d["partner"] == "harborview" and d["direction"] == "in"
        )
        one = erp.get(f"/documents/{received['id']}")
        assert one.status_code == 200 and one.json()["id"] == received["id"]
        raw = erp.get(f"/documents/{received['id']}/raw")
        assert raw.status_code == 200 and raw.content.startswith(b"ISA")
        assert raw.headers["content-type"] == "application/octet-stream"
        refused = erp.post(f"/documents/{received['id']}/resend")
        assert refused.status_code == 409 and refused.json()["rule"] == "resend-only-outbound"
        assert erp.get("/documents", params={"direction": "sideways"}).status_code == 422
        health = erp.get("/partners").json()
        assert {p["partner"] for p in health} == {"harborview", "pinecrest"}
    with api.client("dash") as viewer:
        assert viewer.post(f"/documents/{received['id']}/resend").status_code == 403
    with api.client("pine") as pine:
        assert pine.get(f"/documents/{received['id']}").status_code == 404
        assert pine.get(f"/documents/{received['id']}/raw").status_code == 404
        assert all(d["partner"] == "pinecrest" for d in pine.get("/documents").json()["documents"])
        assert pine.get("/partners").status_code == 404


def test_a_token_over_its_rate_is_answered_429_with_retry_after(api: Api):
    (mounted,) = [route for route in api.app.routes if getattr(route, "name", "") == "api"]
    mounted.app.state.buckets = TokenBuckets(rate=0.2, burst=3)  # type: ignore[attr-defined]
    with api.client("dash") as viewer:
        answers = [viewer.get("/orders") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    with api.client("erp") as erp:  # a bucket per token
        assert erp.get("/orders").status_code == 200


def test_a_token_bucket_refills_at_its_rate():
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("a") == 0.0 and buckets.take("b") == 0.0


def test_the_openapi_description_is_well_formed_and_covers_every_route(api: Api):
    with httpx.Client(base_url=api.url) as anonymous:
        description = anonymous.get("/api/v1/openapi.json").json()
        assert anonymous.get("/api/v1/docs").status_code == 404  # no Swagger page
    validate(description)  # the OpenAPI 3.x schema itself (openapi-spec-validator)
    assert description["openapi"].startswith("3.")
    assert description["info"]["title"] and description["info"]["version"]
    paths = description["paths"]
    expected = {
        ("get", "/orders"),
        ("get", "/orders/{partner}/{po_number}"),
        ("get", "/documents"),
        ("get", "/documents/{document_id}"),
        ("get", "/documents/{document_id}/raw"),
        ("post", "/documents/{document_id}/resend"),
        ("get", "/partners"),
        *(("post", f"/orders/{{partner}}/{{po_number}}/{name}") for name in RESOURCES),
    }
    described = {(method, path) for path, methods in paths.items() for method in methods}
    assert described == expected
    schemes = description["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    for method, path in described:
        operation = paths[path][method]
        assert operation["responses"] and operation["operationId"]
        assert operation.get("security"), (method, path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert "{" + parameter["name"] + "}" in path and parameter["required"]
        reference = (
            (operation.get("requestBody", {}).get("content", {}).get("application/json", {}))
            .get("schema", {})
            .get("$ref")
        )
        if reference:
            name = reference.rsplit("/", 1)[1]
            assert name in description["components"]["schemas"]


def test_a_request_cut_off_before_its_outcome_was_kept_is_said_so(api: Api):
    """A claim with no outcome (the gateway stopped while answering) is "being answered" for
    a while, then said to be cut off: its outcome is unknown, never guessed."""
    path = f"/api/v1/orders/harborview/{HARBORVIEW_PO}/notes"
    body = '{"text": "call the buyer"}'
    canonical = json.dumps(json.loads(body), separators=(",", ":"))  # as the API keeps it
    digest = hashlib.sha256(f"POST {path}\n{canonical}".encode()).hexdigest()
    uow = api.gateway.uow_factory  # type: ignore[attr-defined]
    claim_key(uow(), "erp", "cut", digest, NOW - dt.timedelta(minutes=10))
    claim_key(uow(), "erp", "busy", digest, dt.datetime.now(dt.UTC))
    with api.client("erp") as erp:
        cut = erp.post(path.removeprefix("/api/v1"), content=body, headers={
            "content-type": "application/json", "idempotency-key": "cut"})  # fmt: skip
        busy = erp.post(path.removeprefix("/api/v1"), content=body, headers={
            "content-type": "application/json", "idempotency-key": "busy"})  # fmt: skip
        assert cut.status_code == 409 and cut.json()["rule"] == "idempotency-key-outcome-kept"
        assert busy.status_code == 409 and busy.json()["rule"] == "idempotency-key-answered-once"
        assert erp.get(f"/orders/harborview/{HARBORVIEW_PO}").json()["notes"] == []


def test_every_action_endpoint_does_its_action_and_refuses_a_viewer(api: Api):
    """The order's day through the API, each action a 201 that shows on the order, and each
    refused to a viewer's token before anything is read."""
    order = f"/orders/harborview/{HARBORVIEW_PO}"
    with api.client("erp") as erp:
        lines = {line["line"]: line["open"] for line in erp.get(order).json()["lines"]}
        first, second, *_ = lines

        def act(resource: str, body: dict[str, object]) -> dict[str, object]:
            answer = erp.post(f"{order}/{resource}", json=body)
            assert answer.status_code == 201, (resource, answer.text)
            view: dict[str, object] = erp.get(order).json()
            return view

        view = act("dates", {"requested_ship": "2026-11-20", "reason": "buyer asked"})
        assert view["dates"]["requested_ship"] == "2026-11-20"
        view = act("customer", {"ship_to": {"name": "Rosa Vance", "street": ["9 Elm Road"],
                                            "city": "Lansing", "state": "MI"}})  # fmt: skip
        assert any(p["name"] == "Rosa Vance" for p in view["parties"])
        view = act("acknowledgements", {"decision": "accept"})
        assert any(d["kind"] == "855" for d in view["followed_documents"])
        shipped = {"lines": [{"line": first, "quantity": lines[first]}], "carrier": "UPS"}
        view = act("fulfilments", {**shipped, "tracking_numbers": ["1Z999AA10123456784"]})
        (fulfilment,) = view["fulfilments"]
        view = act("shipments", {"fulfilment_id": fulfilment["id"], "status": "delivered"})
        assert view["fulfilments"][0]["status"] == "delivered"
        view = act("cancellations", {"lines": [{"line": second, "quantity": lines[second]}],
                                     "by": "partner", "reason": "out of stock"})  # fmt: skip
        assert view["cancellations"][0]["reason"] == "out of stock"
        view = act("invoices", {"number": "INV-88"})
        assert view["invoices"][0]["number"] == "INV-88"
        view = act("payments", {"amount": "10.00", "reference": "wire 7"})
        assert view["payments"][0]["reference"] == "wire 7"
        view = act("returns", {"lines": [{"line": first, "quantity": 1}], "reason": "too small"})
        assert view["returns"][0]["reason"] == "too small"
        view = act("refunds", {"amount": "5.00", "reason": "goodwill"})
        assert view["refunds"][0]["reason"] == "goodwill"
        view = act("notes", {"text": "all done"})
        assert view["notes"][-1]["text"] == "all done"
        assert {entry["source"] for entry in view["history"][1:]} >= {"token erp (api)"}
    with api.client("dash") as viewer:
        for resource in RESOURCES:
            assert viewer.post(f"{order}/{resource}", json={}).status_code == 403, resource
