"""The webhooks' HTTP client against a receiver on 127.0.0.1: the body and headers arrive as
given, the status comes back whatever it is (a 3xx is not followed), and no answer is a
TransportError."""

from __future__ import annotations

import pytest

from gateway.adapters.http import UrllibSender
from gateway.errors import TransportError
from gateway.service.webhooks import headers
from tests.webhook_receiver import Receiver


def test_a_post_arrives_signed_and_its_status_comes_back():
    receiver = Receiver().start()
    try:
        body = b'{"id":"e-1"}'
        sent = UrllibSender().post(receiver.url, body, headers("e-1", 1, body, "k"), timeout=5)
        assert sent == 200
        (got,) = receiver.received
        assert got.body == body and got.signed_with("k") and got.headers["Webhook-Id"] == "e-1"
        for status in (302, 500):
            receiver.status = status
            assert UrllibSender().post(receiver.url, body, {}, timeout=5) == status  # not 501
        assert len(receiver.received) == 1
    finally:
        receiver.stop()
    with pytest.raises(TransportError, match="no answer"):
        UrllibSender().post(receiver.url, b"{}", {}, timeout=2)  # stopped: refused
