"""cXML documents in: bytes to the records of `gateway.cxml.model`.

Every document is parsed by `safe.parse`. A required part missing or malformed raises
`CxmlError` naming its element path, e.g. ``OrderRequest/ItemOut[3]/@quantity: 'x' is not a
number``; the paths of the envelope start at ``cXML``, those of the order at ``OrderRequest``,
and a repeated element is numbered from 1 among its like-named siblings.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from gateway.cxml.model import (
    ORDER_TYPES,
    Address,
    Credential,
    Money,
    OrderHeader,
    OrderLine,
    OrderRequest,
    OrderType,
    Parties,
    Response,
)
from gateway.cxml.safe import parse, source_line
from gateway.errors import CxmlError, shown

_Element = etree._Element

_LOOKS_LIKE_CXML = re.compile(r"<(?:!DOCTYPE\s+)?cXML[\s>/]")
_ORDER_TYPES: dict[str, OrderType] = {name: name for name in ORDER_TYPES}
_SNIFFED = 4096  # bytes of the head `sniff` looks at


def sniff(data: bytes) -> str | None:
    """ "cxml" when the head of `data` is an XML document whose root (or DOCTYPE) is cXML."""
    head = data[:_SNIFFED]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<") and _LOOKS_LIKE_CXML.search(text):
        return "cxml"
    return None


# reading helpers: each takes the element and the path that names it


def _missing(path: str, element: _Element | None = None) -> CxmlError:
    return CxmlError("missing", path=path, line=source_line(element) if element is not None else 0)


def _child(element: _Element, tag: str, path: str) -> tuple[_Element, str]:
    found = element.find(tag)
    if found is None:
        raise _missing(f"{path}/{tag}", element)
    return found, f"{path}/{tag}"


def _children(element: _Element, tag: str, path: str) -> list[tuple[_Element, str]]:
    return [(found, f"{path}/{tag}[{n}]") for n, found in enumerate(element.findall(tag), 1)]


def _attr(element: _Element, name: str, path: str) -> str:
    value = (element.get(name) or "").strip()
    if not value:
        raise _missing(f"{path}/@{name}", element)
    return value


def _text(element: _Element | None) -> str:
    """The element's own text, stripped ("" for none)."""
    return "" if element is None else (element.text or "").strip()


def _all_text(element: _Element | None) -> str:
    """The element's text and its descendants', stripped ("" for none)."""
    return "" if element is None else "".join(str(part) for part in element.itertext()).strip()


def _required_text(element: _Element, tag: str, path: str) -> str:
    found, where = _child(element, tag, path)
    value = _text(found)
    if not value:
        raise CxmlError("empty", path=where, line=source_line(found))
    return value


def _decimal(text: str, path: str, element: _Element) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise CxmlError(f"{shown(text)} is not a number", path=path, line=source_line(element))
    return value


def _datetime(text: str, path: str, element: _Element) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CxmlError(
            f"{shown(text)} is not an ISO 8601 date and time", path=path, line=source_line(element)
        ) from None


def _date(text: str, path: str, element: _Element) -> date:
    """A date, or the date of a date and time (cXML gives either for delivery dates)."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise CxmlError(
            f"{shown(text)} is not an ISO 8601 date", path=path, line=source_line(element)
        ) from None


def _money(element: _Element, path: str) -> Money:
    money, where = _child(element, "Money", path)
    amount = _decimal(_text(money), where, money)
    return Money(amount, _attr(money, "currency", where))


def _credentials(element: _Element, path: str) -> tuple[Credential, ...]:
    found = []
    for credential, where in _children(element, "Credential", path):
        found.append(
            Credential(
                domain=_attr(credential, "domain", where),
                identity=_required_text(credential, "Identity", where),
                shared_secret=_text(credential.find("SharedSecret")),
            )
        )
    if not found:
        raise _missing(f"{path}/Credential", element)
    return tuple(found)


def _parties(root: _Element) -> Parties:
    header, path = _child(root, "Header", "cXML")
    sender, sender_path = _child(header, "Sender", path)
    return Parties(
        from_=_credentials(_child(header, "From", path)[0], f"{path}/From"),
        to=_credentials(_child(header, "To", path)[0], f"{path}/To"),
        sender=_credentials(sender, sender_path),
        user_agent=_text(sender.find("UserAgent")),
    )


def _address(element: _Element | None, path: str) -> Address | None:
    if element is None:
        return None
    address, where = _child(element, "Address", path)
    postal = address.find("PostalAddress")
    country = postal.find("Country") if postal is not None else None
    return Address(
        name=_required_text(address, "Name", where),
        address_id=(address.get("addressID") or "").strip(),
        deliver_to=tuple(_text(e) for e in postal.findall("DeliverTo"))
        if postal is not None
        else (),
        street=tuple(_text(e) for e in postal.findall("Street")) if postal is not None else (),
        city=_text(postal.find("City")) if postal is not None else "",
        state=_text(postal.find("State")) if postal is not None else "",
        postal_code=_text(postal.find("PostalCode")) if postal is not None else "",
        country=""
        if country is None
        else ((country.get("isoCountryCode") or "").strip() or _text(country)),
    )


def _extrinsics(element: _Element, path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for extrinsic, where in _children(element, "Extrinsic", path):
        name = _attr(extrinsic, "name", where)
        if name in found:
            raise CxmlError(
                f"the extrinsic {shown(name)} is given twice",
                path=where,
                line=source_line(extrinsic),
            )
        found[name] = _all_text(extrinsic)
    return found


def _order_header(order: _Element) -> OrderHeader:
    header, path = _child(order, "OrderRequestHeader", "OrderRequest")
    type_text = (header.get("type") or "new").strip()
    order_type = _ORDER_TYPES.get(type_text)
    if order_type is None:
        raise CxmlError(
            f"{shown(type_text)} is not an order type (new, update or delete)",
            path=f"{path}/@type",
            line=source_line(header),
        )
    total = header.find("Total")
    return OrderHeader(
        order_id=_attr(header, "orderID", path),
        order_date=_datetime(_attr(header, "orderDate", path), f"{path}/@orderDate", header),
        order_type=order_type,
        total=None if total is None else _money(total, f"{path}/Total"),
        ship_to=_address(header.find("ShipTo"), f"{path}/ShipTo"),
        bill_to=_address(header.find("BillTo"), f"{path}/BillTo"),
        comments=_all_text(header.find("Comments")),
        extrinsics=_extrinsics(header, path),
    )


def _line(item: _Element, path: str) -> OrderLine:
    number_text = _attr(item, "lineNumber", path)
    if not number_text.isdigit() or int(number_text) < 1:
        raise CxmlError(
            f"{shown(number_text)} is not a line number",
            path=f"{path}/@lineNumber",
            line=source_line(item),
        )
    quantity = _decimal(_attr(item, "quantity", path), f"{path}/@quantity", item)
    if quantity <= 0:
        raise CxmlError(
            f"{quantity} is not a positive quantity",
            path=f"{path}/@quantity",
            line=source_line(item),
        )
    item_id, id_path = _child(item, "ItemID", path)
    detail, detail_path = _child(item, "ItemDetail", path)
    unit_price, price_path = _child(detail, "UnitPrice", detail_path)
    delivery = (item.get("requestedDeliveryDate") or "").strip()
    return OrderLine(
        line_number=int(number_text),
        quantity=quantity,
        supplier_part_id=_required_text(item_id, "SupplierPartID", id_path),
        unit_price=_money(unit_price, price_path),
        unit_of_measure=_required_text(detail, "UnitOfMeasure", detail_path),
        description=_text(detail.find("Description")),
        supplier_part_aux_id=_text(item_id.find("SupplierPartAuxiliaryID")),
        buyer_part_id=_text(item_id.find("BuyerPartID")),
        requested_delivery_date=(
            _date(delivery, f"{path}/@requestedDeliveryDate", item) if delivery else None
        ),
    )


def _envelope(root: _Element) -> tuple[str, datetime, str]:
    _envelope_root(root)
    return (
        _attr(root, "payloadID", "cXML"),
        _datetime(_attr(root, "timestamp", "cXML"), "cXML/@timestamp", root),
        (root.get("version") or "").strip(),
    )


def document_kind(root: _Element) -> str:
    """What a parsed cXML document carries: `Response`, or the element in its `Request` or
    `Message` (`OrderRequest`, `ConfirmationRequest`...); `CxmlError` when it is no cXML."""
    _envelope_root(root)
    for child in root:
        if child.tag == "Response":
            return "Response"
        if child.tag in ("Request", "Message"):
            inner = [str(element.tag) for element in child if isinstance(element.tag, str)]
            return inner[0] if inner else str(child.tag)
    raise CxmlError("holds no Request, Response or Message", path="cXML", line=source_line(root))


def _envelope_root(root: _Element) -> None:
    if root.tag != "cXML":
        raise CxmlError(f"the root element is {shown(str(root.tag))}, not cXML", path="/")


def _parsed(data: bytes | _Element) -> _Element:
    """The document's root: `data` parsed safely, or the root already parsed so."""
    return data if isinstance(data, etree._Element) else parse(data)


def read_parties(data: bytes | _Element) -> Parties:
    """The `Header` of a cXML document (its bytes, or its root as `safe.parse` gave it): who
    sends it, to whom, and who carries it."""
    root = _parsed(data)
    _envelope_root(root)
    return _parties(root)


def read_order_request(data: bytes | _Element) -> OrderRequest:
    """The `OrderRequest` in `data`; `CxmlError` naming the path of what is missing or wrong."""
    root = _parsed(data)
    payload_id, timestamp, version = _envelope(root)
    parties = _parties(root)
    request, _ = _child(root, "Request", "cXML")
    order = request.find("OrderRequest")
    if order is None:
        kinds = [str(child.tag) for child in request if isinstance(child.tag, str)]
        raise CxmlError(
            f"not an OrderRequest (the request holds {', '.join(kinds) or 'nothing'})",
            path="cXML/Request/OrderRequest",
            line=source_line(request),
        )
    header = _order_header(order)
    lines = tuple(_line(item, where) for item, where in _children(order, "ItemOut", "OrderRequest"))
    seen: set[int] = set()
    for line, (item, where) in zip(lines, _children(order, "ItemOut", "OrderRequest"), strict=True):
        if line.line_number in seen:
            raise CxmlError(
                f"line number {line.line_number} is given twice",
                path=f"{where}/@lineNumber",
                line=source_line(item),
            )
        seen.add(line.line_number)
    if not lines and header.order_type != "delete":
        raise _missing("OrderRequest/ItemOut", order)
    mode = "test" if (request.get("deploymentMode") or "").strip() == "test" else "production"
    return OrderRequest(payload_id, timestamp, version, parties, header, lines, mode)


def read_response(data: bytes | _Element) -> Response:
    """A partner's `Response` to a document we sent: its payloadID and its `Status`."""
    root = _parsed(data)
    payload_id, _, _ = _envelope(root)
    response, path = _child(root, "Response", "cXML")
    status, status_path = _child(response, "Status", path)
    code_text = _attr(status, "code", status_path)
    if not code_text.isdigit():
        raise CxmlError(
            f"{shown(code_text)} is not a status code",
            path=f"{status_path}/@code",
            line=source_line(status),
        )
    return Response(
        payload_id=payload_id,
        status_code=int(code_text),
        text=(status.get("text") or "").strip(),
        detail=_all_text(status),
        in_reply_to=_in_reply_to(root),
    )


def _in_reply_to(root: _Element) -> str:
    """The payloadID a file's Response answers, from the comment `in reply to ID` before it
    (how the gateway writes it; cXML itself has no place for it outside an HTTP exchange)."""
    for node in root:
        if isinstance(node, etree._Comment):
            text = (node.text or "").strip()
            if text.startswith("in reply to "):
                return text.removeprefix("in reply to ").strip()
    return ""
