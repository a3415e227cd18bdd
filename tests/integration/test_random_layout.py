"""The property of issue 14: layout whitespace changes nothing but the warnings.

For every file the gateway accepts among `samples/` and `../shared/corpus/x12` (the good
samples, the tolerated samples and the well-formed corpus files), a copy with random layout
inserted after segment terminators (line breaks, indentation, spaces before the line break;
never a character that is one of the file's delimiters) gives the same segments, the same orders
and the same 997/999 as the original, with layout warnings and no error; read strictly, it is
rejected with the codes of before tolerance: TA105 022 for whitespace outside a transaction set,
AK304 1 ("not a segment id") inside one."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig, load_mappings
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.service.views import order_view
from gateway.x12.model import Delimiters
from gateway.x12.reader import parse_bytes, read_bytes, read_chunks
from gateway.x12.tokenizer import Tokenizer
from tests.integration.test_every_accepted_file import ACCEPTED
from tests.integration.test_tolerated import segments_of

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
LAYOUT_TOLERANCES = {"layout-whitespace", "padding-outside-interchanges"}
STRICT_CODES = {"TA105:022", "AK304:1"}
# what may follow a terminator that is not a line break: line breaks, indentation, spaces
AFTER_TERMINATOR = ["", "\n", "\r\n", "\n  ", "\n\t", " \n", "\r\n\t\t", "   ", " \r\n    "]
# after a line-break terminator only indentation is layout (a space before it would be data)
AFTER_LINE_BREAK = ["", "  ", "\t", " \t ", "        "]
SEEDS = range(4)


def delimiters_of(data: bytes) -> Delimiters:
    tokenizer = Tokenizer()
    for _ in tokenizer.feed(data):
        pass
    for _ in tokenizer.close():
        pass
    assert tokenizer.delimiters is not None
    return tokenizer.delimiters


def layout(data: bytes, seed: int) -> bytes:
    """`data` with random layout after each segment terminator but the last: each piece of
    layout made only of characters that are not the file's delimiters."""
    delimiters = delimiters_of(data)
    terminator = delimiters.segment.encode("latin-1")
    used = set(delimiters.all())
    line_break = delimiters.segment in "\r\n"
    shapes = [
        s.encode()
        for s in (AFTER_LINE_BREAK if line_break else AFTER_TERMINATOR)
        if not used & set(s)
    ]
    chooser = random.Random(seed)
    pieces = data.split(terminator)
    if not line_break:  # the file's own line breaks give way to the random ones
        pieces = [pieces[0]] + [p.lstrip(b"\r\n") for p in pieces[1:-1]] + [pieces[-1]]
    return terminator.join(
        [pieces[0]] + [chooser.choice(shapes) + p for p in pieces[1:-1]] + [pieces[-1]]
    )


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite store, copied for each file taken in."""
    folder = tmp_path_factory.mktemp("layout-store")
    config = GatewayConfig(data_dir=folder)
    engine = create_store_engine(config)
    upgrade(engine)
    engine.dispose()
    (database,) = folder.glob("*.db")
    return database


@pytest.fixture
def taken_in(empty_store: Path, tmp_path: Path) -> Iterator[Any]:
    """take(data): the file taken in on a fresh copy of the empty store at a fixed time; gives
    what became of each set, the 997/999 written, and every order the file touched."""
    engines = []
    mappings = Mappings(load_mappings())

    def take(data: bytes) -> tuple[list[tuple[str, ...]], list[bytes], list[dict[str, Any]]]:
        database = tmp_path / f"store-{len(engines)}.db"
        shutil.copyfile(empty_store, database)
        engine = create_engine(f"sqlite:///{database}")
        engines.append(engine)
        ingestor = Ingestor(lambda: SqlUnitOfWork(engine), mappings, clock=lambda: NOW)
        result = ingestor.ingest(data, "file.x12")
        outcomes = [(s.set_id, s.control_number, s.action, s.po_number) for s in result.sets]
        answers = [a.content for a in result.acknowledgements if a.kind != "TA1"]
        orders = []
        with SqlUnitOfWork(engine) as uow:
            for po_number in sorted({s.po_number for s in result.sets if s.po_number}):
                for order in uow.orders.find(po_number):
                    orders.append(
                        order_view(order, uow.orders.history(order.partner, order.po_number))
                    )
        return outcomes, answers, orders

    yield take
    for engine in engines:
        engine.dispose()


# every accepted file but a wrapped one: its line breaks sit at a fixed width, and layout added
# after its terminators would move them (a file both laid out and wrapped is not wrapped)
LAID_OUT = [
    p
    for p in ACCEPTED
    if "line-wrapped" not in {t.name for t in read_bytes(p.read_bytes()).all_tolerated()}
]


@pytest.mark.parametrize("path", LAID_OUT, ids=[p.name[-60:] for p in LAID_OUT])
def test_random_layout_changes_nothing_but_the_warnings(path: Path, taken_in: Any):
    original = path.read_bytes()
    before = read_bytes(original)
    assert before.accepted
    expected = taken_in(original)
    strictly_accepted = read_chunks([original], strict=True).accepted
    for seed in SEEDS:
        laid_out = layout(original, seed)
        report = read_bytes(laid_out)
        assert report.accepted, report.first_issue().describe()  # type: ignore[union-attr]
        added = {t.name for t in report.all_tolerated()} - {t.name for t in before.all_tolerated()}
        assert added <= LAYOUT_TOLERANCES
        assert segments_of(parse_bytes(laid_out)[0]) == segments_of(parse_bytes(original)[0])
        assert taken_in(laid_out) == expected
        if strictly_accepted and added:
            strict = read_chunks([laid_out], strict=True)
            first = strict.first_issue()
            assert not strict.accepted and first is not None
            assert first.code_label in STRICT_CODES, first.describe()


def test_the_layout_is_random_and_keeps_to_what_is_not_a_delimiter():
    assert len(LAID_OUT) == len(ACCEPTED) - 1
    sample = next(p for p in ACCEPTED if p.name == "850_004010_good.x12")
    data = sample.read_bytes()
    copies = {layout(data, seed) for seed in range(4)}
    assert len(copies) == 4 and data not in copies
    assert all(b"\t" in c and b"\n  " in c for c in copies)
    newline_terminated = b"ISA" + data[3:105] + b"\n" + data[107:].replace(b"~\n", b"\n")
    assert delimiters_of(newline_terminated).segment == "\n"
    laid_out = layout(newline_terminated, 1)
    assert laid_out != newline_terminated and b" \n" not in laid_out and b"\r" not in laid_out
