"""Hostile XML: every unsafe document is refused by `gateway.cxml.safe.parse` with its reason
(issue 18, "Hostile files"); a plain cXML DOCTYPE is accepted and never fetched."""

from __future__ import annotations

import socket
import time

import pytest

from gateway.cxml import safe
from gateway.cxml.safe import parse
from gateway.errors import CxmlError, PartnerError

CXML_DOCTYPE = b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">'


def refused(data: bytes, **limits: int) -> CxmlError:
    with pytest.raises(CxmlError) as caught:
        parse(data, **limits)
    return caught.value


def test_a_plain_cxml_doctype_is_accepted_and_not_fetched():
    root = parse(b'<?xml version="1.0" encoding="UTF-8"?>\n' + CXML_DOCTYPE + b'\n<cXML a="1"/>')
    assert root.tag == "cXML"
    assert root.get("a") == "1"


def test_a_refusal_is_a_partner_error_with_a_one_line_reason():
    error = refused(b"<cXML><unclosed></cXML>")
    assert isinstance(error, PartnerError)
    assert "\n" not in str(error)
    assert str(error).startswith("line 1: not well-formed XML: ")
    assert error.reason.startswith("not well-formed XML")
    assert error.line == 1


def test_xxe_on_a_local_file_is_refused_and_nothing_is_read():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE cXML [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        b"<cXML>&xxe;</cXML>"
    )
    error = refused(data)
    assert "entity" in error.reason
    assert error.line == 3
    assert "root:" not in str(error)


@pytest.fixture
def listener():
    """A TCP port on the loopback that records whether anything connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.mark.parametrize(
    "declaration",
    [
        b'<!ENTITY ext SYSTEM "http://127.0.0.1:{port}/secret">',
        b'<!ENTITY % ext SYSTEM "http://127.0.0.1:{port}/evil.dtd"> %ext;',
    ],
    ids=["general", "parameter"],
)
def test_an_external_entity_on_http_is_refused_without_touching_the_network(listener, declaration):
    port = listener.getsockname()[1]
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE cXML [' + declaration.replace(b"{port}", b"%d" % port)
    ) + b"]>\n<cXML>&ext;</cXML>"
    assert "entity" in refused(data).reason
    assert not connected(listener)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_billion_laughs_is_refused_quickly(codec):
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    text = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n<lolz>&lol9;</lolz>'
    if codec == "utf-16":
        text = text.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
    started = time.perf_counter()
    error = refused(text.encode(codec))
    assert "entity" in error.reason
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "declaration",
    [b'<!ENTITY xxe SYSTEM "file:///etc/passwd">', b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;">'],
    ids=["xxe", "nested"],
)
def test_with_the_byte_scan_off_the_parser_record_still_refuses(monkeypatch, declaration):
    """Defence in depth: were the bytes in an encoding the scan does not know, the entities
    the parser recorded from the DOCTYPE refuse the document before its content is read."""
    monkeypatch.setattr(safe, "_ENTITY_MARKS", ())
    data = b'<?xml version="1.0"?>\n<!DOCTYPE cXML [' + declaration + b"]>\n<cXML>&xxe;</cXML>"
    error = refused(data)
    assert error.reason == "the DOCTYPE declares an entity (<!ENTITY): entities are refused"
    assert error.line == 3


def test_an_encoding_libxml2_does_not_read_is_refused():
    text = '<?xml version="1.0" encoding="UTF-32"?>\n<!DOCTYPE a [<!ENTITY x "y">]>\n<a>&x;</a>'
    assert refused(text.encode("utf-32")).reason.startswith("not well-formed XML")


def test_a_document_over_max_bytes_is_refused_before_parsing():
    """The rule of the 1 GB text node, shown at 1 MiB: the length is checked first, so a
    document that would not even be well-formed is refused for its size."""
    data = b"<cXML>" + b"A" * (1024 * 1024)
    error = refused(data, max_bytes=1024 * 1024)
    assert error.reason == f"the document is {len(data)} bytes, over the limit of {1024 * 1024}"


def test_the_default_limit_is_ten_mebibytes():
    data = b"<cXML>" + b"A" * (10 * 1024 * 1024) + b"</cXML>"
    assert "over the limit of 10485760" in refused(data).reason


def test_a_huge_text_node_under_a_raised_limit_is_still_refused_by_libxml2():
    """huge_tree is off: libxml2 refuses a text node over its 10 MB limit whatever max_bytes."""
    data = b"<cXML>" + b"A" * (11 * 1024 * 1024) + b"</cXML>"
    assert refused(data, max_bytes=64 * 1024 * 1024).reason.startswith("not well-formed XML")


def test_ten_thousand_deep_nesting_is_refused_by_depth():
    data = b"<a>" * 10_000 + b"</a>" * 10_000
    error = refused(data)
    assert error.reason == "elements nested deeper than 64"
    assert error.line == 1


def test_depth_is_counted_exactly():
    assert parse(b"<a>" * 3 + b"</a>" * 3, max_depth=3).tag == "a"
    assert refused(b"<a>" * 4 + b"</a>" * 4, max_depth=3).reason == "elements nested deeper than 3"


def test_declared_utf16_but_bytes_are_not_is_refused():
    error = refused(b'<?xml version="1.0" encoding="UTF-16"?>\n<cXML/>')
    assert error.reason.startswith("not well-formed XML")


def test_latin1_bytes_declared_utf8_are_refused_with_their_line():
    data = '<?xml version="1.0" encoding="UTF-8"?>\n<cXML>caf\u00e9</cXML>'.encode("latin-1")
    error = refused(data)
    assert "encoding" in error.reason
    assert error.line == 2


def test_an_unknown_encoding_is_refused():
    assert "bogus" in refused(b'<?xml version="1.0" encoding="bogus"?>\n<cXML/>').reason


def test_real_utf16_is_read():
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<cXML>caf\u00e9</cXML>'
    assert parse(text.encode("utf-16")).text == "caf\u00e9"


def test_processing_instructions_are_dropped():
    root = parse(b"<cXML><?evil run?><a/></cXML>")
    assert [child.tag for child in root] == ["a"]
