"""The soak's traffic: a day of several buyers' purchase orders, their changes and
cancellations, and an operator's actions, all drawn from one seed.

Strategy: `plan_traffic(seed, scale, seconds)` returns a `Plan`: a list of `Step`s, each due at
a moment of the run (seconds from its start) in a lane (one per partner, one for the operator).
The X12 is written here from the project's samples (`samples/850/850_004010_good.x12`,
`samples/860/860_004010_good_change.x12`): their header segments, and their lines as the product
catalogue, with the PO number, the dates, the lines and quantities, and ISA13 / GS06 / ST02
(unique per partner) replaced, and SE01, CTT and the trailers computed. A change or cancellation
names orders sent in earlier files, and is due only once they exist at the site (`Step.needs`);
the operator's orders are never changed by the partner, so that the result does not depend on
which of the two comes first.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.domain.carriers import resolve, tracking_problem

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
US = "CEDARRIDGEOUT"
ORDERS_PER_SCALE = 600
FILE_SETS = (1, 30)  # sets in a file of purchase orders
FOLLOW_UP_SETS = (1, 10)  # sets in a file of changes or cancellations
SHARE_CHANGED = 0.12  # of the orders: an 860 changing lines
SHARE_CANCELLED = 0.05  # an 850 with BEG01 01
SHARE_CANCELLED_860 = 0.02  # an 860 with BCH01 01
SHARE_OPERATED = 0.10  # the operator acts on them
LAST_DROP = 0.70  # purchase orders arrive during the first 70 % of the run
LAST_STEP = 0.90  # everything is asked for by 90 % of it
ELEMENT, TERMINATOR = "*", "~"


@dataclass(frozen=True)
class Partner:
    """A buyer of ours: who they are in the envelopes and how their files reach us."""

    key: str
    name: str
    qualifier: str
    isa_id: str
    prefix: str  # of their PO numbers
    transport: str  # folder | sftp
    share: float  # of the orders
    cancellations: tuple[str, ...] = ()  # who hears of the cancellations we make

    @property
    def padded(self) -> str:
        return self.isa_id.ljust(15)


PARTNERS = (
    Partner("harborview", "Harborview Home Goods", "01", "079845213", "HV", "folder", 0.4,
            ("orders@harborview.example", "edi@harborview.example")),
    Partner("northwind", "Northwind Trail Outfitters", "ZZ", "NORTHWINDTRAIL", "NW", "folder", 0.3,
            ("orders@northwind.example",)),
    Partner("lakeshore", "Lakeshore Camping Co", "ZZ", "LAKESHORECAMP", "LS", "sftp", 0.3,
            ("orders@lakeshore.example",)),
)  # fmt: skip
BY_KEY = {p.key: p for p in PARTNERS}


@dataclass(frozen=True)
class Product:
    ids: tuple[str, ...]  # the PO1/POC pairs after the price: UP, code, VP, code, BP, code
    price: str
    description: str


@dataclass
class Line:
    number: int
    product: Product
    quantity: int


@dataclass
class Order:
    po: str
    partner: Partner
    lines: list[Line]
    ship_to: str
    follow_up: str = ""  # change | cancel-850 | cancel-860 | operator | ""


@dataclass
class Step:
    """One thing that happens at both sites, in the same order within its lane."""

    at: float  # seconds from the start of the run
    lane: str  # a partner's key, or "operator"
    kind: str  # "850", "860", "850-cancel" (files) or "action"
    name: str = ""  # the file's name
    content: bytes = b""  # the file
    args: tuple[str, ...] = ()  # the operator's command line, after `gateway`
    needs: tuple[str, ...] = ()  # PO numbers that must exist at the site first
    sets: int = 0


@dataclass
class Plan:
    steps: list[Step]
    orders: dict[str, Order]
    counts: dict[str, int] = field(default_factory=dict)


# -- the samples ----------------------------------------------------------------------------------


def _segments(path: Path) -> list[list[str]]:
    text = path.read_text()
    return [s.strip().split(ELEMENT) for s in text.split(TERMINATOR) if s.strip()]


def _catalogue() -> list[Product]:
    """Every product of the sample 850 and 860 (PO1 or POC, and the PID after it)."""
    found: dict[str, Product] = {}
    samples = ("850/850_004010_good.x12", "860/860_004010_good_change.x12")
    for path in (SAMPLES / name for name in samples):
        segments = _segments(path)
        for index, segment in enumerate(segments):
            if segment[0] not in {"PO1", "POC"}:
                continue
            start = 6 if segment[0] == "PO1" else 8
            price = segment[4] if segment[0] == "PO1" else segment[6]
            following = segments[index + 1] if index + 1 < len(segments) else []
            description = following[5] if following[:1] == ["PID"] else ""
            ids = tuple(segment[start : start + 6])
            if description and ids[1] not in found:
                found[ids[1]] = Product(ids, price, description)
    return list(found.values())


def _header_850() -> list[list[str]]:
    """The sample 850's segments between BEG and the first PO1 (BEG, DTM and N1 ST are
    rewritten per order)."""
    segments = _segments(SAMPLES / "850" / "850_004010_good.x12")
    begin = next(i for i, s in enumerate(segments) if s[0] == "BEG")
    end = next(i for i, s in enumerate(segments) if s[0] == "PO1")
    return segments[begin + 1 : end]


CATALOGUE = _catalogue()
HEADER_850 = _header_850()
SHIP_TO = (
    ("Marisol Ortega", "1427 Larkspur Lane", "Traverse City", "MI", "49686"),
    ("Gregory Lindqvist", "5 Birchwood Court", "Duluth", "MN", "55803"),
    ("Hannah Okafor", "731 Cypress Bend Drive", "Asheville", "NC", "28801"),
    ("June Abernathy", "3306 Foxglove Circle", "Lexington", "KY", "40503"),
    ("Tomas Reyes", "88 Quarry Road", "Bend", "OR", "97701"),
)


# -- X12 ------------------------------------------------------------------------------------------


class Envelopes:
    """A partner's control numbers: ISA13, GS06 and ST02 never repeat."""

    def __init__(self, partner: Partner, first_interchange: int = 100_000_001):
        self.partner = partner
        self.interchange = first_interchange
        self.group = 1001
        self.set = 1

    def interchange_of(
        self, functional_id: str, bodies: Sequence[tuple[str, list[list[str]]]]
    ) -> bytes:
        """One interchange, one group of the sets `(set id, body segments)`."""
        now = dt.datetime.now(dt.UTC)
        partner = self.partner
        isa = [
            "ISA", "00", " " * 10, "00", " " * 10, partner.qualifier, partner.padded, "ZZ",
            US.ljust(15), now.strftime("%y%m%d"), now.strftime("%H%M"), "U", "00401",
            f"{self.interchange:09d}", "0", "P", ">",
        ]  # fmt: skip
        segments = [
            isa,
            ["GS", functional_id, partner.isa_id, US, now.strftime("%Y%m%d"),
             now.strftime("%H%M"), str(self.group), "X", "004010"],
        ]  # fmt: skip
        for set_id, body in bodies:
            control = f"{self.set:04d}"
            self.set += 1
            segments.append(["ST", set_id, control])
            segments.extend(body)
            segments.append(["SE", str(len(body) + 2), control])
        segments.append(["GE", str(len(bodies)), str(self.group)])
        segments.append(["IEA", "1", f"{self.interchange:09d}"])
        self.interchange += 1
        self.group += 1
        return ("\n".join(ELEMENT.join(s) + TERMINATOR for s in segments) + "\n").encode()


def _ship_to(order: Order) -> list[list[str]]:
    name, street, city, state, postal = SHIP_TO[int(order.ship_to)]
    return [["N1", "ST", name], ["N3", street], ["N4", city, state, postal, "US"]]


def _day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).strftime("%Y%m%d")


def order_850(order: Order, purpose: str = "00") -> list[list[str]]:
    """An 850's body: BEG (00 original, 01 cancellation), the sample's header, the lines."""
    body = [["BEG", purpose, "SA", order.po, "", _day(-2)]]
    for segment in HEADER_850:
        if segment[0] == "DTM" and segment[1] == "010":
            segment = ["DTM", "010", _day(14)]
        elif segment[0] == "DTM" and segment[1] == "002":
            segment = ["DTM", "002", _day(20)]
        body.append(list(segment))
    start = next(i for i, s in enumerate(body) if s[:2] == ["N1", "ST"])
    body[start : start + 3] = _ship_to(order)
    for line in order.lines:
        product = line.product
        body.append(["PO1", str(line.number), str(line.quantity), "EA", product.price, "",
                     *product.ids])  # fmt: skip
        body.append(["PID", "F", "", "", "", product.description])
    body.append(["CTT", str(len(order.lines)), str(sum(line.quantity for line in order.lines))])
    return body


def change_860(order: Order, changes: list[list[str]], purpose: str = "04") -> list[list[str]]:
    """An 860's body, as the sample's: BCH, REF, PER, DTM (the order's own ship date: a new one
    is another change), the ship-to and vendor, the POC lines (each with its PID), CTT."""
    body = [
        ["BCH", purpose, "SA", order.po, "", "1", _day(-2)],
        ["REF", "DP", "042"],
        ["PER", "BD", "Dana Whitfield", "TE", "6165550188"],
        ["DTM", "010", _day(14)],
        *_ship_to(order),
        ["N1", "VN", "Cedar Ridge Outdoor Supply Co", "92", "58213"],
    ]
    if purpose == "01":
        return body
    body = _with_pids([*body, *changes])
    hash_total = sum(int(change[3]) for change in changes)
    body.append(["CTT", str(len(changes)), str(hash_total)])
    return body


def _with_pids(body: list[list[str]]) -> list[list[str]]:
    """A PID after each POC that adds a line (its product's description)."""
    found: list[list[str]] = []
    by_code = {p.ids[1]: p for p in CATALOGUE}
    for segment in body:
        found.append(segment)
        if segment[0] == "POC" and segment[2] == "AI":
            found.append(["PID", "F", "", "", "", by_code[segment[9]].description])
    return found


def _poc(line: Line, code: str, quantity: int) -> list[str]:
    product = line.product
    return ["POC", str(line.number), code, str(quantity), str(quantity), "EA", product.price, "",
            *product.ids]  # fmt: skip


def _changes(order: Order, rng: random.Random) -> list[list[str]]:
    """One to three changes: a line deleted (DI), decreased (QD) or increased (QI), a line added
    (AI) with a product the order does not have."""
    lines = list(order.lines)
    rng.shuffle(lines)
    changes: list[list[str]] = []
    for line in lines[: rng.randint(1, min(2, len(lines)))]:
        choices = ["QI"]
        if len(order.lines) > 1 and not any(c[2] == "DI" for c in changes):
            choices.append("DI")
        if line.quantity >= 2:
            choices.append("QD")
        code = rng.choice(choices)
        if code == "DI":
            changes.append(_poc(line, "DI", 0))
        elif code == "QD":
            changes.append(_poc(line, "QD", rng.randint(1, line.quantity - 1)))
        else:
            changes.append(_poc(line, "QI", line.quantity + rng.randint(1, 3)))
    missing = [
        p for p in CATALOGUE if p.ids[1] not in {line.product.ids[1] for line in order.lines}
    ]
    if missing and rng.random() < 0.5:
        added = Line(max(line.number for line in order.lines) + 1, rng.choice(missing), 1)
        changes.append(_poc(added, "AI", rng.randint(1, 4)))
    changes.sort(key=lambda c: int(c[1]))
    return changes


# -- tracking numbers -----------------------------------------------------------------------------


def ups_tracking(rng: random.Random) -> str:
    """A UPS 1Z number with its check digit (see gateway/domain/carriers.py `_ups_problem`)."""
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    while True:
        body = (
            "".join(rng.choice(alphabet) for _ in range(6))
            + rng.choice(("01", "02", "03", "12", "13"))
            + "".join(rng.choice("0123456789") for _ in range(7))
        )
        values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
        total = sum(v * (1 if i % 2 == 0 else 2) for i, v in enumerate(values))
        number = f"1Z{body}{-total % 10}"
        if tracking_problem(resolve("UPS"), number) is None:
            return number


def fedex_tracking(rng: random.Random) -> str:
    """A 12-digit FedEx number with its check digit."""
    while True:
        digits = "".join(rng.choice("0123456789") for _ in range(11))
        total = sum(int(d) * (1, 3, 7)[i % 3] for i, d in enumerate(reversed(digits)))
        number = f"{digits}{total % 11 % 10}"
        if tracking_problem(resolve("FedEx"), number) is None:
            return number


# -- the operator -------------------------------------------------------------------------------

PATTERNS = (
    ("ship-all", 0.30),
    ("cut-then-ship", 0.20),
    ("two-parts", 0.15),
    ("ack-with-changes", 0.15),
    ("partly-shipped", 0.10),
    ("cancelled-whole", 0.10),
)


def _actions(order: Order, rng: random.Random) -> Iterator[tuple[str, ...]]:
    """The operator's commands on one order, in order (after `gateway`)."""
    po = order.po
    pattern = rng.choices([p for p, _ in PATTERNS], [w for _, w in PATTERNS])[0]
    lines = order.lines
    if pattern == "cancelled-whole":
        yield ("cancel", po, "--reason", "customer account on hold", "--by", "seller",
               "--id", "C-1")  # fmt: skip
        return
    if pattern == "ack-with-changes" and len(lines) > 1:
        rejected = rng.choice(lines)
        answers = ["--line", f"{rejected.number}:reject"]
        cut = [line for line in lines if line is not rejected and line.quantity >= 2]
        if cut:
            answers += ["--line", f"{cut[0].number}:qty={cut[0].quantity - 1}"]
        yield ("ack", po, *answers)
        return
    yield ("ack", po, "--accept-all")
    open_quantity = {line.number: line.quantity for line in lines}
    if pattern == "cut-then-ship":
        line = rng.choice(lines)
        quantity = rng.randint(1, line.quantity)
        open_quantity[line.number] -= quantity
        yield ("cancel", po, "--line", f"{line.number}:{quantity}", "--reason",
               "out of stock until spring", "--by", "seller", "--id", "C-1")  # fmt: skip
    shipping = [(n, q) for n, q in open_quantity.items() if q > 0]
    if not shipping:
        return  # all of it cut: nothing to ship or invoice
    if pattern == "partly-shipped":
        number, quantity = shipping[0]
        shipping = [(number, max(1, quantity // 2))] if quantity > 1 else []
        if not shipping:
            return
    parts = [shipping]
    if pattern == "two-parts" and len(shipping) > 1:
        parts = [shipping[: len(shipping) // 2], shipping[len(shipping) // 2 :]]
    for index, part in enumerate(parts, 1):
        if not part:
            continue
        carrier, tracking = (
            ("UPS", ups_tracking(rng)) if index == 1 else ("FedEx", fedex_tracking(rng))
        )
        quantities = [arg for n, q in part for arg in ("--line", f"{n}:{q}")]
        yield ("fulfil", po, "--id", f"F-{index}", *quantities, "--carrier", carrier,
               "--tracking", tracking)  # fmt: skip
    if pattern != "partly-shipped":
        yield ("invoice", po)


# -- the plan -----------------------------------------------------------------------------------


def _chunks(items: list[Order], sizes: tuple[int, int], rng: random.Random) -> list[list[Order]]:
    found, start = [], 0
    while start < len(items):
        size = rng.randint(*sizes)
        found.append(items[start : start + size])
        start += size
    return found


def plan_traffic(seed: int, scale: float, seconds: float) -> Plan:
    """Everything the partners and the operator do in a run of `seconds`, from `seed`."""
    rng = random.Random(seed)
    total = max(round(ORDERS_PER_SCALE * scale), 3 * len(PARTNERS))
    envelopes = {p.key: Envelopes(p) for p in PARTNERS}
    orders: dict[str, Order] = {}
    steps: list[Step] = []
    file_sets = (FILE_SETS[0], max(FILE_SETS[0], min(FILE_SETS[1], total // 8)))
    arrival: dict[str, float] = {}  # when each order's file is dropped
    counts = {"850": 0, "860": 0, "850-cancel": 0, "860-cancel": 0, "files": 0}
    for partner in PARTNERS:
        count = round(total * partner.share)
        mine = []
        for number in range(count):
            products = rng.sample(CATALOGUE[:4], rng.randint(1, 4))
            lines = [Line(i, p, rng.randint(1, 9)) for i, p in enumerate(products, 1)]
            order = Order(f"{partner.prefix}45{seed % 1000:03d}{number:05d}", partner, lines,
                          str(rng.randrange(len(SHIP_TO))))  # fmt: skip
            orders[order.po] = order
            mine.append(order)
        for index, chunk in enumerate(_chunks(mine, file_sets, rng)):
            at = rng.uniform(0, LAST_DROP * seconds)
            content = envelopes[partner.key].interchange_of(
                "PO", [("850", order_850(order)) for order in chunk]
            )
            steps.append(Step(at, partner.key, "850", f"po-{index:04d}.x12", content,
                              sets=len(chunk)))  # fmt: skip
            counts["850"] += len(chunk)
            for order in chunk:
                arrival[order.po] = at
    # who does what to which order: each order has at most one of them
    everyone = list(orders.values())
    rng.shuffle(everyone)
    shares = (
        ("change", SHARE_CHANGED),
        ("cancel-850", SHARE_CANCELLED),
        ("cancel-860", SHARE_CANCELLED_860),
        ("operator", SHARE_OPERATED),
    )
    start = 0
    for follow_up, share in shares:
        chosen = everyone[start : start + max(1, round(total * share))]
        start += len(chosen)
        for order in chosen:
            order.follow_up = follow_up
    # the partners' changes and cancellations, a while after the orders they name
    for partner in PARTNERS:
        for kind in ("change", "cancel-850", "cancel-860"):
            named = [o for o in orders.values() if o.partner is partner and o.follow_up == kind]
            due = {o.po: arrival[o.po] + rng.uniform(0.05, 0.2) * seconds for o in named}
            named.sort(key=lambda o: due[o.po])
            for index, chunk in enumerate(_chunks(named, FOLLOW_UP_SETS, rng)):
                at = min(max(due[o.po] for o in chunk), LAST_STEP * seconds)
                if kind == "cancel-850":
                    bodies = [("850", order_850(o, purpose="01")) for o in chunk]
                    content = envelopes[partner.key].interchange_of("PO", bodies)
                    name, step_kind = f"cancel-{index:04d}.x12", "850-cancel"
                else:
                    bodies = [
                        ("860", change_860(o, _changes(o, rng) if kind == "change" else [],
                                           "04" if kind == "change" else "01"))
                        for o in chunk
                    ]  # fmt: skip
                    content = envelopes[partner.key].interchange_of("PC", bodies)
                    name, step_kind = f"{kind}-{index:04d}.x12", "860"
                steps.append(Step(at, partner.key, step_kind, name, content,
                                  needs=tuple(o.po for o in chunk), sets=len(chunk)))  # fmt: skip
                counts["860-cancel" if kind == "cancel-860" else step_kind] += len(chunk)
    # the operator, on orders no partner document changes
    operated = sorted(
        (o for o in orders.values() if o.follow_up == "operator"), key=lambda o: arrival[o.po]
    )
    for order in operated:
        at = arrival[order.po] + rng.uniform(0.02, 0.15) * seconds
        for args in _actions(order, rng):
            steps.append(Step(min(at, LAST_STEP * seconds), "operator", "action", args=args,
                              needs=(order.po,)))  # fmt: skip
            at += rng.uniform(0.0, 0.03) * seconds
    steps.sort(key=lambda s: s.at)
    counts["files"] = sum(1 for s in steps if s.kind != "action")
    counts["actions"] = sum(1 for s in steps if s.kind == "action")
    counts["orders"] = len(orders)
    return Plan(steps, orders, counts)
