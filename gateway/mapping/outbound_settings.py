"""The choices of the outbound mappings (`mappings/<set>-out.toml`), read and checked.

The builders in `outbound` know the standard's segment structure of each set; what a partner may
want otherwise (qualifier and status codes, which parties go out and under which N101 code, the
856 hierarchy, whether descriptions travel in PID, which product ids are echoed) is data in the
`[settings]` table of the set's mapping file, merged with a partner's overrides by the engine.

Strategy: each file becomes one frozen settings object, checked key by key when loaded, so a typo
or a value of the wrong kind is a `ConfigurationError` naming the file and the key at start-up,
not a bad document on the first export. Unknown keys are refused for the same reason. There is no
date format to choose: X12 dates in 004010 and 005010 are CCYYMMDD.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.csvformat import CsvLayout
from gateway.errors import ConfigurationError
from gateway.mapping.engine import Mappings


def mapping_name(set_id: str) -> str:
    """The mapping file (without `.toml`) holding the choices for an outbound set."""
    return f"{set_id}-out"


@dataclass(frozen=True, slots=True)
class PartyChoice:
    """One N1 loop to send: written with N101 `code`, taken from the first party of the order
    whose entity code is in `sources` (a party the order lacks is left out)."""

    code: str
    sources: tuple[str, ...]
    address: bool = True  # N3/N4 when the party has an address


class HierarchyStructure(enum.StrEnum):
    """The 856 hierarchies the gateway writes, with the BSN05 code each one is sent under."""

    SOPI = "SOPI"  # shipment, order, pack, item
    SOTPI = "SOTPI"  # shipment, order, tare, pack, item
    SOIP = "SOIP"  # shipment, order, item, pack

    @property
    def code(self) -> str:
        """BSN05 (element 1005): 0001 shipment/order/packaging/item, where a tare is a level of
        packaging too; 0002 shipment/order/item/packaging."""
        return "0002" if self is HierarchyStructure.SOIP else "0001"


class _Table:
    """One table of a mapping's settings, read key by key; remembers what was read, so that
    `finish` can refuse the keys nobody asked for."""

    def __init__(self, table: Any, where: str):
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where}: expected a table, found {table!r}")
        self.table = table
        self.where = where
        self.read: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self.read.add(key)
        return self.table.get(key, default)

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigurationError(f"{self.where}.{key}: expected true or false, found {value!r}")
        return value

    def code(
        self,
        key: str,
        default: str,
        *,
        lengths: tuple[int, int] = (2, 2),
        choices: tuple[str, ...] = (),
        empty: bool = False,
    ) -> str:
        value = self._get(key, default)
        return _code(value, f"{self.where}.{key}", lengths=lengths, choices=choices, empty=empty)

    def codes(
        self, key: str, default: tuple[str, ...], *, lengths: tuple[int, int] = (2, 2)
    ) -> tuple[str, ...]:
        value = self._get(key, list(default))
        where = f"{self.where}.{key}"
        if not isinstance(value, list):
            raise ConfigurationError(f"{where}: expected a list of codes, found {value!r}")
        found = tuple(_code(item, where, lengths=lengths) for item in value)
        if len(set(found)) != len(found):
            raise ConfigurationError(f"{where}: a code is listed twice in {list(found)}")
        return found

    def sub(self, key: str) -> _Table:
        self.read.add(key)
        return _Table(self.table.get(key, {}), f"{self.where}.{key}")

    def parties(self, key: str, default: tuple[PartyChoice, ...]) -> tuple[PartyChoice, ...]:
        self.read.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        where = f"{self.where}.{key}"
        if not isinstance(value, list):
            raise ConfigurationError(
                f'{where}: expected a list of tables like {{ code = "ST" }}, found {value!r}'
            )
        found = []
        for index, item in enumerate(value):
            entry = _Table(item, f"{where}[{index}]")
            if "code" not in entry.table:
                raise ConfigurationError(
                    f"{where}[{index}]: `code` (the N101 to send) is missing; found "
                    f"{sorted(entry.table)}"
                )
            code = entry.code("code", "", lengths=(2, 3))
            sources = entry.codes("from", (code,), lengths=(2, 3))
            if not sources:
                raise ConfigurationError(f"{where}[{index}].from: name at least one entity code")
            found.append(PartyChoice(code, sources, entry.flag("address", True)))
            entry.finish()
        codes = [party.code for party in found]
        if len(set(codes)) != len(codes):
            raise ConfigurationError(f"{where}: an N101 code is sent twice in {codes}")
        return tuple(found)

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.read)
        if unknown:
            raise ConfigurationError(
                f"{self.where}: unknown key {unknown[0]!r}; allowed keys are "
                f"{', '.join(sorted(self.read))}"
            )


def _code(
    value: Any,
    where: str,
    *,
    lengths: tuple[int, int] = (2, 2),
    choices: tuple[str, ...] = (),
    empty: bool = False,
) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: expected a code in quotes, found {value!r}")
    if empty and value == "":
        return value
    if choices and value not in choices:
        raise ConfigurationError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    low, high = lengths
    if not low <= len(value) <= high or not value.isascii() or not value.isalnum():
        size = f"{low}" if low == high else f"{low} to {high}"
        raise ConfigurationError(f"{where}: {value!r} is not a code of {size} letters or digits")
    return value


def _party(code: str, *sources: str) -> PartyChoice:
    return PartyChoice(code, sources or (code,))


# The parties each set sends when its mapping names none.
ACKNOWLEDGEMENT_PARTIES = (_party("ST"), _party("VN"))
SHIP_NOTICE_PARTIES = (_party("SF", "SF", "VN", "SE"), _party("ST"))
INVOICE_PARTIES = (_party("RI", "RI", "VN", "SE"), _party("BT"), _party("ST"))
PURCHASE_ORDER_PARTIES = (_party("ST"), _party("BT"), _party("BY"), _party("VN"))
CHANGE_ORDER_PARTIES = (_party("ST"), _party("VN"))


@dataclass(frozen=True, slots=True)
class LineItemChoices:
    """How order lines are echoed, the same in every set."""

    product_ids: tuple[str, ...] = ()  # qualifiers to send, in this order; () = all, as held
    descriptions: bool = True  # PID*F with the line's description


def _line_items(table: _Table) -> LineItemChoices:
    return LineItemChoices(
        product_ids=table.codes("product_ids", ()),
        descriptions=table.flag("send_descriptions", True),
    )


@dataclass(frozen=True, slots=True)
class AcknowledgementSettings:
    """855-out: the codes of the seller's answer."""

    purpose_code: str = "00"  # BAK01 of the order's first 855
    replace_purpose_code: str = "05"  # BAK01 of a later one, which states every line again
    accepted: str = "AD"  # BAK02 when every line is accepted as ordered
    with_changes: str = "AC"  # BAK02 when some line is not
    rejected: str = "RJ"  # BAK02 when the whole order is rejected
    line_accepted: str = "IA"  # ACK01
    line_rejected: str = "IR"
    line_quantity_changed: str = "IQ"
    line_backordered: str = "IB"
    schedule_qualifier: str = "068"  # ACK04 and header DTM01 for a promised ship date
    acknowledgement_date: bool = True  # BAK09
    hash_total: bool = True  # CTT02
    lines: LineItemChoices = LineItemChoices()
    parties: tuple[PartyChoice, ...] = ACKNOWLEDGEMENT_PARTIES

    @classmethod
    def read(cls, table: _Table) -> AcknowledgementSettings:
        kinds, statuses = table.sub("acknowledgement_type"), table.sub("line_status")
        found = cls(
            purpose_code=table.code("purpose_code", "00"),
            replace_purpose_code=table.code("replace_purpose_code", "05"),
            accepted=kinds.code("accepted", "AD"),
            with_changes=kinds.code("with_changes", "AC"),
            rejected=kinds.code("rejected", "RJ"),
            line_accepted=statuses.code("accepted", "IA"),
            line_rejected=statuses.code("rejected", "IR"),
            line_quantity_changed=statuses.code("quantity_changed", "IQ"),
            line_backordered=statuses.code("backordered", "IB"),
            schedule_qualifier=table.code("schedule_date_qualifier", "068", lengths=(3, 3)),
            acknowledgement_date=table.flag("send_acknowledgement_date", True),
            hash_total=table.flag("hash_total", True),
            lines=_line_items(table),
            parties=table.parties("parties", ACKNOWLEDGEMENT_PARTIES),
        )
        kinds.finish()
        statuses.finish()
        return found


@dataclass(frozen=True, slots=True)
class ShipNoticeSettings:
    """856-out: hierarchy, carrier and reference codes."""

    purpose_code: str = "00"  # BSN01
    structure: HierarchyStructure = HierarchyStructure.SOPI
    unpacked_code: str = "0004"  # BSN05 of a fulfilment without packs: shipment, order, item
    time_with_seconds: bool = False  # BSN04 HHMMSS instead of HHMM
    package_code: str = "CTN25"  # TD101 (cartons, corrugated)
    routing_sequence: str = "B"  # TD501
    carrier_qualifier: str = "2"  # TD502 (2: the carrier is named by its SCAC)
    tracking_reference: str = "CN"  # REF01 of each tracking number at shipment level
    pack_tracking: bool = True  # MAN*CP on each pack when there is one tracking number per pack
    ship_date_qualifier: str = "011"  # DTM01 of the ship date
    order_date: bool = True  # PRF04
    line_number_in_sn1: bool = True  # SN101
    ordered_quantity: bool = False  # SN105/SN106: the quantity ordered on the line
    lines: LineItemChoices = LineItemChoices()
    parties: tuple[PartyChoice, ...] = SHIP_NOTICE_PARTIES

    @classmethod
    def read(cls, table: _Table) -> ShipNoticeSettings:
        structure = table.code(
            "structure", "SOPI", lengths=(4, 5), choices=tuple(HierarchyStructure)
        )
        return cls(
            purpose_code=table.code("purpose_code", "00"),
            structure=HierarchyStructure(structure),
            unpacked_code=table.code("unpacked_code", "0004", lengths=(4, 4)),
            time_with_seconds=table.code(
                "time_format", "HHMM", lengths=(4, 6), choices=("HHMM", "HHMMSS")
            )
            == "HHMMSS",
            package_code=table.code("package_code", "CTN25", lengths=(3, 5)),
            routing_sequence=table.code("routing_sequence", "B", lengths=(1, 2)),
            carrier_qualifier=table.code("carrier_qualifier", "2", lengths=(1, 2)),
            tracking_reference=table.code(
                "tracking_reference", "CN", lengths=(2, 3), choices=("CN", "BM")
            ),
            pack_tracking=table.flag("pack_tracking", True),
            ship_date_qualifier=table.code("ship_date_qualifier", "011", lengths=(3, 3)),
            order_date=table.flag("send_order_date", True),
            line_number_in_sn1=table.flag("send_line_number", True),
            ordered_quantity=table.flag("send_ordered_quantity", False),
            lines=_line_items(table),
            parties=table.parties("parties", SHIP_NOTICE_PARTIES),
        )


@dataclass(frozen=True, slots=True)
class InvoiceSettings:
    """810-out: parties, terms, dates and totals."""

    order_date: bool = True  # BIG03
    terms: bool = True  # ITD from the order's terms of sale
    ship_date_qualifier: str = "011"  # DTM01 of the last ship date invoiced ("" leaves it out)
    hash_total: bool = False  # CTT02 (sum of IT102)
    lines: LineItemChoices = LineItemChoices()
    parties: tuple[PartyChoice, ...] = INVOICE_PARTIES

    @classmethod
    def read(cls, table: _Table) -> InvoiceSettings:
        return cls(
            order_date=table.flag("send_order_date", True),
            terms=table.flag("send_terms", True),
            ship_date_qualifier=table.code(
                "ship_date_qualifier", "011", lengths=(3, 3), empty=True
            ),
            hash_total=table.flag("hash_total", False),
            lines=_line_items(table),
            parties=table.parties("parties", INVOICE_PARTIES),
        )


@dataclass(frozen=True, slots=True)
class PurchaseOrderSettings:
    """850-out: what goes with an order we place."""

    order_type: str = "SA"  # BEG02 (stand-alone order)
    currency_entity: str = "BY"  # CUR01 ("" leaves CUR out)
    terms: bool = True  # ITD
    carrier_routing: bool = True  # TD5
    requested_ship_date_qualifier: str = "010"  # DTM01 ("" leaves the date out)
    requested_delivery_date_qualifier: str = "002"
    cancel_after_date_qualifier: str = "001"
    hash_total: bool = True  # CTT02 (sum of PO102)
    lines: LineItemChoices = LineItemChoices()
    parties: tuple[PartyChoice, ...] = PURCHASE_ORDER_PARTIES

    @classmethod
    def read(cls, table: _Table) -> PurchaseOrderSettings:
        dates = table.sub("date_qualifiers")
        found = cls(
            order_type=table.code("order_type", "SA"),
            currency_entity=table.code("currency_entity", "BY", lengths=(2, 3), empty=True),
            terms=table.flag("send_terms", True),
            carrier_routing=table.flag("send_carrier_routing", True),
            requested_ship_date_qualifier=dates.code(
                "requested_ship", "010", lengths=(3, 3), empty=True
            ),
            requested_delivery_date_qualifier=dates.code(
                "requested_delivery", "002", lengths=(3, 3), empty=True
            ),
            cancel_after_date_qualifier=dates.code(
                "cancel_after", "001", lengths=(3, 3), empty=True
            ),
            hash_total=table.flag("hash_total", True),
            lines=_line_items(table),
            parties=table.parties("parties", PURCHASE_ORDER_PARTIES),
        )
        dates.finish()
        return found


@dataclass(frozen=True, slots=True)
class ChangeOrderSettings:
    """860-out: how the cancellations we recorded on an order we placed are sent."""

    order_type: str = "SA"  # BCH02
    cancel_purpose: str = "01"  # BCH01 when every unit of the order is cancelled
    change_purpose: str = "04"  # BCH01 when some lines are cut
    delete_code: str = "DI"  # POC02 of a line cancelled whole
    decrease_code: str = "QD"  # POC02 of a line cut down
    change_sequence: bool = True  # BCH05: 1 for the first 860 of the order, then 2...
    hash_total: bool = True  # CTT02 (sum of POC03)
    lines: LineItemChoices = LineItemChoices(descriptions=False)
    parties: tuple[PartyChoice, ...] = CHANGE_ORDER_PARTIES
    requested_ship_date_qualifier: str = "010"  # DTM01 of the order's dates ("" leaves it out)
    requested_delivery_date_qualifier: str = "002"
    cancel_after_date_qualifier: str = "001"

    @classmethod
    def read(cls, table: _Table) -> ChangeOrderSettings:
        codes, dates = table.sub("line_change"), table.sub("date_qualifiers")
        found = cls(
            order_type=table.code("order_type", "SA"),
            cancel_purpose=table.code("cancel_purpose", "01"),
            change_purpose=table.code("change_purpose", "04"),
            delete_code=codes.code("deleted", "DI"),
            decrease_code=codes.code("decreased", "QD"),
            change_sequence=table.flag("send_change_sequence", True),
            hash_total=table.flag("hash_total", True),
            lines=LineItemChoices(
                product_ids=table.codes("product_ids", ()),
                descriptions=table.flag("send_descriptions", False),
            ),
            parties=table.parties("parties", CHANGE_ORDER_PARTIES),
            requested_ship_date_qualifier=dates.code(
                "requested_ship", "010", lengths=(3, 3), empty=True
            ),
            requested_delivery_date_qualifier=dates.code(
                "requested_delivery", "002", lengths=(3, 3), empty=True
            ),
            cancel_after_date_qualifier=dates.code(
                "cancel_after", "001", lengths=(3, 3), empty=True
            ),
        )
        codes.finish()
        dates.finish()
        return found


class AnswerChanges(enum.StrEnum):
    """Which of a buyer's change orders (860) we answer with an 865."""

    ALWAYS = "always"  # every 860, accepted or refused
    REFUSED = "refused"  # only the 860s the order rules refuse
    NEVER = "never"  # none: the buyer learns of a refusal by other means


@dataclass(frozen=True, slots=True)
class ChangeAcknowledgementSettings:
    """865-out: how we answer, as seller, a buyer's change order (860)."""

    answer: AnswerChanges = AnswerChanges.REFUSED
    purpose_code: str = "06"  # BCA01: 06 confirmation
    accepted_type: str = "AT"  # BCA02 when the change is taken
    refused_type: str = "RD"  # BCA02 when the change is refused (reject with detail)
    line_accepted: str = "IA"  # ACK01 under each POC of a change taken
    line_refused: str = "IR"  # ACK01 under each POC of a change refused
    note_reference: str = "L1"  # N901 of the note that carries the reason of a refusal
    lines: LineItemChoices = LineItemChoices(descriptions=False)

    @classmethod
    def read(cls, table: _Table) -> ChangeAcknowledgementSettings:
        answer = table.code("answer", "refused", lengths=(5, 7), choices=tuple(AnswerChanges))
        types = table.sub("acknowledgement_type")
        statuses = table.sub("line_status")
        found = cls(
            answer=AnswerChanges(answer),
            purpose_code=table.code("purpose_code", "06"),
            accepted_type=types.code("accepted", "AT"),
            refused_type=types.code("refused", "RD"),
            line_accepted=statuses.code("accepted", "IA"),
            line_refused=statuses.code("refused", "IR"),
            note_reference=table.code("note_reference", "L1", lengths=(2, 3)),
            lines=LineItemChoices(product_ids=table.codes("product_ids", ())),
        )
        types.finish()
        statuses.finish()
        return found


SetSettings = (
    AcknowledgementSettings
    | ShipNoticeSettings
    | InvoiceSettings
    | PurchaseOrderSettings
    | ChangeOrderSettings
    | ChangeAcknowledgementSettings
)
S = TypeVar("S", bound=SetSettings)


def read_settings(kind: type[S], settings: Mapping[str, Any], where: str) -> S:
    """The checked choices of one outbound set from its mapping's `[settings]` table; `where`
    names the file (and the partner whose overrides were merged in) in every message."""
    table = _Table(settings, f"{where}: settings")
    found: S = kind.read(table)  # type: ignore[assignment]
    table.finish()
    return found


def settings_for(
    mappings: Mappings, set_id: str, partner: str, kind: type[S], *, name: str = ""
) -> S:
    """The choices for sending `set_id` to `partner`: the shipped mapping (`name`, else the
    set's `<set>-out`) with the partner's overrides merged in, checked."""
    name = name or mapping_name(set_id)
    mapping = mappings.get(name, partner)
    if mapping.direction != "out" or mapping.set_id != set_id:
        raise ConfigurationError(
            f'mappings/{name}.toml: expected set = "{set_id}" and direction = "out", found '
            f'set = "{mapping.set_id}" and direction = "{mapping.direction}"'
        )
    where = f"mappings/{name}.toml" + (f" (with partner {partner}'s overrides)" if partner else "")
    return read_settings(kind, mapping.settings, where)


@dataclass(frozen=True, slots=True)
class CsvFileSettings:
    """csv-*-out: the layout of a CSV file we send (columns, delimiter, quoting, encoding,
    date format, decimal separator)."""

    layout: CsvLayout

    @classmethod
    def read(cls, table: _Table) -> CsvFileSettings:
        table.read.update(table.table)
        try:
            return cls(CsvLayout.from_table(table.table, table.where))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class ConfirmationSettings:
    """cxml-confirmation-out: whether an order accepted or rejected whole says so without items
    (`type="accept"` / `"reject"`), or always answers line by line (`"detail"`)."""

    whole_order: bool = True

    @classmethod
    def read(cls, table: _Table) -> ConfirmationSettings:
        return cls(whole_order=table.flag("whole_order", True))


@dataclass(frozen=True, slots=True)
class CxmlShipNoticeSettings:
    """cxml-ship-notice-out: whether the tracking URL goes with the tracking number."""

    tracking_url: bool = True

    @classmethod
    def read(cls, table: _Table) -> CxmlShipNoticeSettings:
        return cls(tracking_url=table.flag("send_tracking_url", True))


@dataclass(frozen=True, slots=True)
class CxmlInvoiceSettings:
    """cxml-invoice-out: the description of the tax line (no tax is computed by the gateway)."""

    tax_description: str = ""

    @classmethod
    def read(cls, table: _Table) -> CxmlInvoiceSettings:
        value = table._get("tax_description", "")
        if not isinstance(value, str):
            raise ConfigurationError(f"{table.where}.tax_description: expected text")
        return cls(tax_description=value)
