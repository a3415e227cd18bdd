"""The fuzz targets: functions of bytes that raise only on a defect of the gateway."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig, load_mappings
from gateway.errors import ConfigurationError
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.x12.ack import AckFormat, CountingControlNumbers, Stamp, build_acknowledgements
from gateway.x12.reader import parse_bytes, read_bytes, read_chunks
from gateway.x12.schema import load_catalog
from gateway.x12.serializer import serialize
from gateway.x12.tree import build_tree

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()
CHUNK_SIZES = (1, 2, 3, 7, 64, 106, 107, 4096, 1 << 16)
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def seeds() -> list[Path]:
    """The files a corpus starts from: the samples, and the shared corpus when present."""
    found = sorted((ROOT / "samples").glob("*/*.x12"))
    shared = ROOT.parent / "shared" / "corpus" / "x12"
    if shared.is_dir():
        found += sorted(p for p in shared.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
    return found


def codec(data: bytes, chunk: int | None = None) -> None:
    """Validate (read `chunk` bytes at a time; by default a size the input's first byte picks),
    answer, serialize, read the answers back and place the sets: nothing may raise, and every
    answer is valid X12 by our own reader."""
    size = chunk or (CHUNK_SIZES[data[0] % len(CHUNK_SIZES)] if data else 1)
    report = read_chunks(data[i : i + size] for i in range(0, len(data), size))
    if report.accepted:
        assert report.interchanges
    else:
        assert report.first_issue() is not None
    numbers = CountingControlNumbers()
    for interchange in report.interchanges:
        for ack_format in AckFormat:
            try:
                answers = build_acknowledgements(
                    interchange, numbers, Stamp("20261207", "1200"), ack_format=ack_format
                )
            except ConfigurationError:  # a 999 for a group older than 005010: refused
                assert ack_format is AckFormat.IA999
                continue
            for answer in answers:
                written = read_bytes(serialize(answer), catalog=CATALOG)
                assert written.accepted, (written.first_issue() or "no interchange").describe()
    documents, _ = parse_bytes(data, catalog=CATALOG)
    for document in documents:
        for group in document.groups:
            for transaction in group.transactions:
                schema = CATALOG.schema_for(transaction.set_id, group.version)
                if schema is not None:
                    build_tree(transaction, schema)


def ingest_target() -> Callable[[bytes], None]:
    """A target taking each input in through a store of its own, kept across inputs."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-fuzz-"))
    config = GatewayConfig(data_dir=folder)
    engine = create_store_engine(config)
    upgrade(engine)
    ingestor = Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)

    def ingest(data: bytes) -> None:
        result = ingestor.ingest(data, "fuzz.x12")
        assert result.accepted or result.first_issue or result.duplicate or result.reused

    return ingest


TARGETS: dict[str, Callable[[], Callable[[bytes], None]]] = {
    "codec": lambda: codec,
    "ingest": ingest_target,
}
