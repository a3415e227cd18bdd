"""The webhooks' HTTP client: the standard library's `urllib.request`, redirects not followed
(a receiver's 3xx is an answer, not an address to send a signed event to)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPException

from gateway.errors import TransportError

READ_LIMIT = 64 * 1024  # bytes of an answer read (and dropped) so that the connection ends cleanly


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class UrllibSender:
    """POSTs webhook events with `urllib.request` (see `ports.WebhookSender`)."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                answer.read(READ_LIMIT)
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)
        except (urllib.error.URLError, HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransportError(f"no answer from {url}: {reason}") from None
