"""Hostile text from partners' files (script tags, markup, escape codes) is shown inert on
every page of the console: escaped by the templates, never a tag, never a raw control
character."""

from __future__ import annotations

from urllib.parse import quote

from tests.integration.web.conftest import SAMPLE_850, Console

SCRIPT = '<script>alert("x")</script>'
HOSTILE_PO = "HV<b>99</b>"


def hostile_850(control: str, name: bytes) -> bytes:
    """The sample 850 with `name` as its ship-to, a PO number in markup, its own control
    numbers, and `^` as the component separator (so that `>` can stand in the data)."""
    raw = SAMPLE_850.read_bytes()
    raw = raw[:104] + b"^" + raw[105:]
    raw = raw.replace(b"Marisol Ortega", name).replace(b"HV4500871234", HOSTILE_PO.encode())
    raw = raw.replace(b"000051001", control.encode())
    return raw.replace(b"*5101", b"*" + control[-4:].encode())


def test_hostile_text_from_a_partners_files_is_inert_on_every_page(console: Console):
    taken = console.gateway.ingestor.ingest(hostile_850("000051901", SCRIPT.encode()), "a.x12")
    assert taken.accepted
    refused = console.gateway.ingestor.ingest(
        hostile_850("000051902", SCRIPT.encode() + b"\x1b[31m"), "b\x1b[2J.x12"
    )  # an escape code in the data: the set is rejected, the document kept
    assert not refused.accepted
    client = console.client("olive")
    order = f"/orders/harborview/{quote(HOSTILE_PO, safe='')}"
    pages = ["/", "/orders", order, "/documents", "/quarantine", "/partners", "/mail"]
    documents = [*taken.document_ids, *refused.document_ids]
    assert len(documents) == 2
    pages += [f"/documents/{n}" for n in documents]
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<b>99" not in page.text, path
        assert "\x1b" not in page.text, path
    shown = client.get(order).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown
    assert "HV&lt;b&gt;99&lt;/b&gt;" in shown
    assert "HV&lt;b&gt;99&lt;/b&gt;" in client.get("/orders").text
