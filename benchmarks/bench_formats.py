"""End-to-end benchmark of the three formats a buyer can send orders in: the same N orders of 20
lines as one X12 file (N 850s), as N cXML OrderRequest files (one order each, each answered by a
cXML Response) and as one CSV file (one row per line), each taken in by one pass of a fresh
gateway (`Runner.run_once`) into its own SQLite store. Rounds are interleaved (x12, cxml, csv,
x12, ...) so that the shared machine's load falls on every format alike; the ratio of a format's
orders/s to X12's in the same round is what compares across runs.

- orders/s: orders created per second by the pass (best of the rounds, and their spread);
- ratio: cxml/x12 and csv/x12 orders/s of the same round;
- cXML Responses: one pass delivers at most `Deliverer.drain`'s limit of outbox entries, so the
  Responses left queued are delivered by further passes, timed apart (`responses_seconds`).

Run: `.venv/bin/python benchmarks/bench_formats.py [--orders N] [--rounds R] [--profile FORMAT]`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import write as write_x12  # noqa: E402
from gateway.bootstrap import Gateway, bootstrap  # noqa: E402
from gateway.config import GatewayConfig, load_partner  # noqa: E402
from gateway.service.ports import OrderQuery  # noqa: E402

FORMATS = ("x12", "cxml", "csv")
LINES = 20
SECRET_ENV = "BENCH_CXML_SECRET"
SECRET = "not-a-real-secret"

PROFILES = {
    "x12": """
name = "Bench X12 buyer"
role = "buyer"
[identity]
isa_id = "BUYERBENCH"
[us]
isa_id = "SELLERBENCH"
""",
    "cxml": f"""
name = "Bench cXML buyer"
role = "buyer"
format = "cxml"
[cxml]
domain = "NetworkID"
identity = "BENCHBUYER-01"
our_domain = "DUNS"
our_identity = "123456789"
shared_secret_env = "{SECRET_ENV}"
""",
    "csv": """
name = "Bench CSV buyer"
role = "buyer"
format = "csv"
""",
}
TRANSPORT = """
[transport]
type = "folder"
inbox = "../mailboxes/bench/in"
outbox = "../mailboxes/bench/out"
settle_seconds = 0
"""

CXML_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{payload_id}" timestamp="2026-12-01T09:15:00-05:00" version="1.2.014" \
xml:lang="en-US">
  <Header>
    <From><Credential domain="NetworkID"><Identity>BENCHBUYER-01</Identity></Credential></From>
    <To><Credential domain="DUNS"><Identity>123456789</Identity></Credential></To>
    <Sender>
      <Credential domain="NetworkID">
        <Identity>BENCHBUYER-01</Identity>
        <SharedSecret>{secret}</SharedSecret>
      </Credential>
      <UserAgent>Bench Procurement 1.0</UserAgent>
    </Sender>
  </Header>
  <Request deploymentMode="production">
    <OrderRequest>
      <OrderRequestHeader orderID="{order_id}" orderDate="2026-12-01T09:10:00-05:00" type="new">
        <Total><Money currency="USD">{total}</Money></Total>
        <ShipTo>
          <Address addressID="DC-{store:04d}">
            <Name xml:lang="en">Drop ship customer {store:04d}</Name>
            <PostalAddress name="default">
              <DeliverTo>Receiving Dock 4</DeliverTo>
              <Street>100 Main Street</Street>
              <City>Springfield</City>
              <State>IL</State>
              <PostalCode>62701</PostalCode>
              <Country isoCountryCode="US">United States</Country>
            </PostalAddress>
          </Address>
        </ShipTo>
        <BillTo>
          <Address addressID="AP">
            <Name xml:lang="en">Bench Retail Accounts Payable</Name>
            <PostalAddress>
              <Street>12 Market Square</Street>
              <City>Hartford</City>
              <State>CT</State>
              <PostalCode>06103</PostalCode>
              <Country isoCountryCode="US">United States</Country>
            </PostalAddress>
          </Address>
        </BillTo>
        <Extrinsic name="CostCenter">CC-{store:04d}</Extrinsic>
      </OrderRequestHeader>
"""
CXML_LINE = """\
      <ItemOut lineNumber="{line}" quantity="{quantity}" requestedDeliveryDate="2026-12-10">
        <ItemID>
          <SupplierPartID>V{number}-{line}</SupplierPartID>
          <BuyerPartID>{upc}</BuyerPartID>
        </ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">{price}</Money></UnitPrice>
          <Description xml:lang="en">{description}</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
        </ItemDetail>
      </ItemOut>
"""
CXML_TAIL = """    </OrderRequest>
  </Request>
</cXML>
"""
CSV_HEADER = "po_number,order_date,line,vendor_part,quantity,unit_price\n"


def order_lines(number: int, lines: int) -> list[tuple[int, int, Decimal]]:
    """(line number, quantity, unit price) of order `number`: the X12 generator's figures."""
    return [
        (line, (number * 7 + line * 3) % 40 + 1, Decimal(f"{(number + line) % 200 + 1}.{line:02d}"))
        for line in range(1, lines + 1)
    ]


def order_request(number: int, lines: int) -> str:
    """One cXML OrderRequest of `lines` lines, its Total the sum of the lines."""
    items = order_lines(number, lines)
    total = sum((quantity * price for _, quantity, price in items), Decimal(0))
    parts = [
        CXML_HEAD.format(
            payload_id=f"1765100000.{number}@procure.bench-buyer.example",
            secret=escape(SECRET),
            order_id=f"CX{number:08d}",
            total=f"{total:.2f}",
            store=number % 97,
        )
    ]
    for line, quantity, price in items:
        parts.append(
            CXML_LINE.format(
                line=line,
                quantity=quantity,
                number=number,
                upc=f"{(number * 31 + line) % 10**11:011d}{line % 10}",
                price=price,
                description=escape(f"Bench product {number}-{line} blue & large"),
            )
        )
    parts.append(CXML_TAIL)
    return "".join(parts)


def write_cxml(folder: Path, orders: int, lines: int) -> Path:
    """N OrderRequest files in `folder`, one order each."""
    folder.mkdir(parents=True)
    for number in range(1, orders + 1):
        (folder / f"order-{number:06d}.xml").write_text(order_request(number, lines), "utf-8")
    return folder


def write_csv(path: Path, orders: int, lines: int) -> Path:
    """One CSV orders file of N orders, one row per line, in the shipped layout."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(CSV_HEADER)
        for number in range(1, orders + 1):
            for line, quantity, price in order_lines(number, lines):
                handle.write(
                    f"CS{number:08d},2026-12-01,{line},V{number}-{line},{quantity},{price}\n"
                )
    return path


@dataclass(slots=True)
class Round:
    """One format's pass in one round."""

    seconds: float
    orders: int
    files: int
    late_seconds: float = 0.0  # of `seconds`: the pass's look for late documents (every order)
    responses_seconds: float = 0.0  # cXML: further passes delivering the Responses left queued
    responses_passes: int = 0

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds


def gateway_for(form: str, folder: Path) -> tuple[Gateway, Path, Path]:
    """A fresh, migrated gateway with one buyer of format `form`; its inbox and outbox."""
    config = folder / "config"
    config.mkdir(parents=True)
    (config / "bench.toml").write_text(PROFILES[form] + TRANSPORT)
    inbox, outbox = folder / "mailboxes" / "bench" / "in", folder / "mailboxes" / "bench" / "out"
    inbox.mkdir(parents=True)
    outbox.mkdir(parents=True)
    profile = load_partner(config / "bench.toml")
    gateway = bootstrap(GatewayConfig(data_dir=folder / "data", partners=(profile,)))
    gateway.upgrade_database()
    return gateway, inbox, outbox


def orders_stored(gateway: Gateway) -> int:
    """Every order of the store, test orders included."""
    query = OrderQuery(partner="bench", scope="all", include_test=True, limit=1)
    with gateway.uow_factory() as uow:
        return uow.orders.summaries(query).total


def take_in(
    form: str,
    source: Path,
    orders: int,
    folder: Path,
    wrap: Callable[[Callable[[], object]], object] = lambda call: call(),
) -> Round:
    """One timed pass taking in `source` (a file, or a folder of files) for a `form` buyer."""
    gateway, inbox, outbox = gateway_for(form, folder)
    try:
        files = sorted(source.iterdir()) if source.is_dir() else [source]
        for path in files:
            shutil.copy(path, inbox / path.name)
        runner = gateway.runner()
        late = [0.0]
        look_for_late = runner._late_documents

        def timed_look(summary: object) -> None:
            begun = time.perf_counter()
            look_for_late(summary)  # type: ignore[arg-type]
            late[0] += time.perf_counter() - begun

        runner._late_documents = timed_look  # type: ignore[method-assign]
        start = time.perf_counter()
        summary = wrap(runner.run_once)
        elapsed = time.perf_counter() - start
        taken = summary.files  # type: ignore[attr-defined]
        assert len(taken) == len(files), (len(taken), len(files))
        bad = [(f.name, f.status, f.reasons) for f in taken if f.status != "applied"]
        assert not bad, bad[:3]
        found = Round(elapsed, orders_stored(gateway), len(files), late[0])
        assert found.orders == orders, (form, found.orders, orders)
        if form == "cxml":
            start = time.perf_counter()
            while len(list(outbox.iterdir())) < orders and found.responses_passes < 100:
                runner.run_once()
                found.responses_passes += 1
            found.responses_seconds = time.perf_counter() - start
            answers = list(outbox.iterdir())
            assert len(answers) == orders, (len(answers), orders)
            assert all(b'code="200"' in p.read_bytes() for p in answers[:50])
        return found
    finally:
        gateway.close()


def profiled(form: str, source: Path, orders: int, top: int) -> None:
    """One pass under cProfile: the `top` entries by cumulative time."""
    profiler = cProfile.Profile()

    def wrap(call: Callable[[], object]) -> object:
        return profiler.runcall(call)

    with tempfile.TemporaryDirectory() as temporary:
        found = take_in(form, source, orders, Path(temporary), wrap)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"{form}: {found.orders} orders in {found.seconds:.2f} s under the profiler")
    print(out.getvalue())
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=FORMATS, help="profile one pass of this format only")
    parser.add_argument("--top", type=int, default=40, help="profile lines shown")
    args = parser.parse_args()
    os.environ.setdefault(SECRET_ENV, SECRET)
    with tempfile.TemporaryDirectory() as temporary:
        files = Path(temporary)
        sources = {
            "x12": write_x12(files / f"po-{args.orders}x{LINES}.x12", args.orders, LINES),
            "cxml": write_cxml(files / "cxml", args.orders, LINES),
            "csv": write_csv(files / f"po-{args.orders}x{LINES}.csv", args.orders, LINES),
        }
        if args.profile:
            profiled(args.profile, sources[args.profile], args.orders, args.top)
            return
        rounds: dict[str, list[Round]] = {form: [] for form in FORMATS}
        for number in range(1, args.rounds + 1):
            for form in FORMATS:
                with tempfile.TemporaryDirectory() as folder:
                    found = take_in(form, sources[form], args.orders, Path(folder))
                rounds[form].append(found)
                print(
                    f"round {number} {form}: {found.orders} orders, {found.files} file(s), "
                    f"{found.seconds:.2f} s (late-document look {found.late_seconds:.2f} s), "
                    f"{found.per_second:.0f} orders/s"
                    + (
                        f"; Responses delivered in {found.responses_passes} more passes,"
                        f" {found.responses_seconds:.2f} s"
                        if form == "cxml"
                        else ""
                    ),
                    file=sys.stderr,
                )
    figures: dict[str, object] = {"orders": args.orders, "lines": LINES, "rounds": args.rounds}
    for form in FORMATS:
        rates = [r.per_second for r in rounds[form]]
        figures[form] = {
            "best_orders_per_second": round(max(rates)),
            "spread_orders_per_second": [round(min(rates)), round(max(rates))],
            "best_seconds": round(min(r.seconds for r in rounds[form]), 2),
            "late_look_seconds": [round(r.late_seconds, 2) for r in rounds[form]],
        }
    cxml = figures["cxml"]
    assert isinstance(cxml, dict)
    cxml["best_with_responses_orders_per_second"] = round(
        max(r.orders / (r.seconds + r.responses_seconds) for r in rounds["cxml"])
    )
    cxml["responses_passes"] = [r.responses_passes for r in rounds["cxml"]]
    for form in ("cxml", "csv"):
        ratios = [
            ours.per_second / x12.per_second
            for ours, x12 in zip(rounds[form], rounds["x12"], strict=True)
        ]
        figures[f"ratio_{form}_to_x12"] = [round(ratio, 2) for ratio in ratios]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
