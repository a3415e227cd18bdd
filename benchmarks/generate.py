"""Deterministic generator of large X12 files for the benchmarks: one interchange of N 850s,
each with L PO1/PID lines (about 10 MB for 5,000 x 20)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

ISA = (
    "ISA*00*          *00*          *ZZ*BUYERBENCH     *ZZ*SELLERBENCH    *261121*1200*U*00401*"
    "000000001*0*P*>~\n"
)


def purchase_order(number: int, lines: int) -> str:
    """One 850 transaction set, its segments on their own lines."""
    control = f"{number:04d}"
    po = f"PO{number:08d}"
    segments = [
        f"ST*850*{control}",
        f"BEG*00*SA*{po}**20261121",
        "CUR*BY*USD",
        f"REF*DP*{number % 900 + 100}",
        "PER*BD*JANE BUYER*TE*5555550100",
        "FOB*PP",
        "ITD*01*3*2**10**30",
        "DTM*002*20261201",
        "TD5*****UPSG",
        "N1*ST*DROP SHIP CUSTOMER*92*" + f"{number % 97:04d}",
        "N3*100 MAIN STREET",
        "N4*SPRINGFIELD*IL*62701*US",
        "N1*BT*BENCH RETAIL INC*92*0001",
    ]
    quantity_total = 0
    for line in range(1, lines + 1):
        quantity = (number * 7 + line * 3) % 40 + 1
        quantity_total += quantity
        price = f"{(number + line) % 200 + 1}.{line % 100:02d}"
        upc = f"{(number * 31 + line) % 10**11:011d}" + str(line % 10)
        segments.append(f"PO1*{line}*{quantity}*EA*{price}**UP*{upc}*VN*V{number}-{line}")
        segments.append(f"PID*F****BENCH PRODUCT {number}-{line} BLUE LARGE")
    segments.append(f"CTT*{lines}*{quantity_total}")
    segments.append(f"SE*{len(segments) + 1}*{control}")
    return "~\n".join(segments) + "~\n"


def interchange(orders: int, lines: int) -> Iterator[str]:
    """The whole file, piece by piece."""
    yield ISA
    yield "GS*PO*BUYERBENCH*SELLERBENCH*20261121*1200*1*X*004010~\n"
    for number in range(1, orders + 1):
        yield purchase_order(number, lines)
    yield f"GE*{orders}*1~\n"
    yield "IEA*1*000000001~\n"


def write(path: Path, orders: int, lines: int) -> Path:
    """Write the file (once: an existing file of the same name is kept)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="latin-1", newline="") as handle:
        for piece in interchange(orders, lines):
            handle.write(piece)
    partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    write(args.path, args.orders, args.lines)


if __name__ == "__main__":
    main()
