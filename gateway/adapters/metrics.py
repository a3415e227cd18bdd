"""The gateway's figures in the Prometheus text format (prometheus-client), and a small HTTP
server of `/metrics` and `/healthz` for `gateway run --metrics-port`.

Strategy: a custom collector, on a registry of its own (never the library's global one, so no
process metric or other module's figure slips in, and two gateways in one process do not
collide), turns a fresh `gateway.service.metrics.Snapshot` into metric families at each scrape.
Nothing is counted in memory: every figure is read from the store and the data folder.

Counters are what only ever grows with the gateway's work, kept in the store for good:

    gateway_files_received_total{partner}          counter  files taken in (inbound documents)
    gateway_sets_total{partner,result}             counter  inbound sets: accepted, rejected,
                                                            duplicate

Gauges are states that go up and down:

    gateway_files_quarantined{partner}             gauge    files in the quarantine folder now
    gateway_orders{partner,state}                  gauge    orders per state, as `gateway
                                                            report` counts them (test orders
                                                            left out; `total` is every order)
    gateway_queue_depth{kind}                      gauge    outbox entries queued: x12 (documents
                                                            to deliver), email, webhook
    gateway_queue_oldest_age_seconds{kind}         gauge    age of the oldest queued entry (0:
                                                            none)
    gateway_acknowledgements_overdue{partner}      gauge    documents sent and not acknowledged
                                                            past their deadline
    gateway_mailbox_up{partner}                    gauge    1 reachable, 0 in an outage
    gateway_webhook_deliveries_failing             gauge    webhook deliveries retrying or
                                                            failed for good
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gateway.service.metrics import Snapshot

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The content type of the text format, as prometheus-client names it."""


class GatewayCollector:
    """Each scrape, the metric families of a fresh snapshot (see the module docstring)."""

    def __init__(self, snapshot: Callable[[], Snapshot]):
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        taken = self.snapshot()
        received = CounterMetricFamily(
            "gateway_files_received", "Files taken in from a partner.", labels=["partner"]
        )
        for partner, count in taken.files_received.items():
            received.add_metric([partner], count)
        yield received
        sets = CounterMetricFamily(
            "gateway_sets",
            "Inbound transaction sets by result (accepted, rejected, duplicate).",
            labels=["partner", "result"],
        )
        for (partner, result), count in taken.sets.items():
            sets.add_metric([partner, result], count)
        yield sets
        yield _gauge(
            "gateway_files_quarantined",
            "Files of a partner in the quarantine folder now.",
            ["partner"],
            {(p,): n for p, n in taken.files_quarantined.items()},
        )
        yield _gauge(
            "gateway_orders",
            "Orders per partner and state, as `gateway report` counts them.",
            ["partner", "state"],
            {(p, s): n for (p, s), n in taken.orders.items()},
        )
        yield _gauge(
            "gateway_queue_depth",
            "Outbox entries queued for sending, per kind (x12, email, webhook).",
            ["kind"],
            {(k,): n for k, n in taken.queue_depth.items()},
        )
        yield _gauge(
            "gateway_queue_oldest_age_seconds",
            "Age of the oldest queued outbox entry, per kind (0 when none is queued).",
            ["kind"],
            {(k,): n for k, n in taken.queue_oldest_age.items()},
        )
        yield _gauge(
            "gateway_acknowledgements_overdue",
            "Documents sent to a partner and not acknowledged past their deadline.",
            ["partner"],
            {(p,): n for p, n in taken.acknowledgements_overdue.items()},
        )
        yield _gauge(
            "gateway_mailbox_up",
            "Whether a partner's mailbox is reachable (1) or in an outage (0).",
            ["partner"],
            {(p,): float(up) for p, up in taken.mailbox_up.items()},
        )
        yield _gauge(
            "gateway_webhook_deliveries_failing",
            "Webhook deliveries retrying or failed for good.",
            [],
            {(): taken.webhook_deliveries_failing},
        )


def _gauge(
    name: str, documentation: str, labels: list[str], values: dict[tuple[str, ...], float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


def registry(snapshot: Callable[[], Snapshot]) -> CollectorRegistry:
    """A registry of its own holding only the gateway's collector (scraped at each call of
    `exposition`, never at registration)."""
    made = CollectorRegistry(auto_describe=False)
    made.register(GatewayCollector(snapshot))
    return made


def exposition(metrics: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format (CONTENT_TYPE)."""
    return generate_latest(metrics)


HEALTHY = json.dumps({"status": "ok"}).encode()


def health_answer(why_not: str) -> tuple[int, bytes]:
    """`/healthz`'s status and JSON body: 200 ok when the store answered (`why_not` empty), 503
    with the reason otherwise."""
    if not why_not:
        return 200, HEALTHY
    return 503, json.dumps({"status": "unavailable", "reason": why_not}).encode()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on standard error (the gateway's log is its own)."""


class MetricsServer:
    """`/metrics` and `/healthz` served by the standard library's WSGI server in a daemon
    thread; `close()` stops it."""

    def __init__(self, host: str, port: int, metrics: CollectorRegistry, health: Callable[[], str]):
        self._metrics = metrics
        self._health = health
        self._server = make_server(
            host, port, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gateway-metrics", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host if ':' not in self.host else f'[{self.host}]'}:{self.port}/"

    def _app(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterator[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, body, kind = "405 Method Not Allowed", b"", "text/plain"
        elif path == "/metrics":
            try:
                status, body, kind = "200 OK", exposition(self._metrics), CONTENT_TYPE
            except Exception as exc:  # the store down: the scrape fails, the gateway goes on
                status, body, kind = "503 Service Unavailable", str(exc).encode(), "text/plain"
        elif path == "/healthz":
            code, body = health_answer(self._health())
            status = "200 OK" if code == 200 else "503 Service Unavailable"
            kind = "application/json"
        else:
            status, body, kind = "404 Not Found", b"", "text/plain"
        start(
            status,
            [
                ("Content-Type", kind),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return iter([body])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
