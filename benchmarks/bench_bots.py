"""Side by side with Bots EDI 3.3.1: the same file of 5,000 850s x 20 lines taken in by the
gateway end to end and by Bots's engine (validation and a 997 out), in interleaved rounds
(gateway, Bots, gateway, Bots, ...), each run a fresh process measured from outside: wall time
and peak resident memory (`gateway_process.measured`).

- gateway: a fresh `gateway run --once` on a fresh SQLite site with one folder partner (as
  `bench_pipeline.py`): pick-up, archive, validation, 997 delivered, every order stored with its
  history. Checked: 5,000 orders in the store, a 997 accepting 5,000 sets in the outbox.
- Bots: a fresh `bots-engine` on a fresh Bots site: one route reading a folder of X12 files,
  parsing and validating them against an 850 004010 grammar ("parse & passthrough",
  translateind 3) and writing a 997 (confirm rule `send-x12-997`) to an out folder. Checked: a
  997 with 5,000 AK2s whose AK9 accepts the group.

Nothing of Bots is kept in the repository: Bots comes from PyPI into its own virtual environment
(`make benchmark` installs it in `.build/bots-venv`), and everything Bots needs is written here, at
run time, into a temporary folder: its configuration (`bots.ini`, Django `settings.py`), its
SQLite database (the empty one Bots ships, with a channel in, a channel out, a route and a
confirm rule added), and its grammars (the X12 envelope, 850 and 997 of version 004010),
translated from the gateway's own schema files (`gateway/x12/schemas/004010/`), so both
validate against the same segment dictionary and set structures.

Each round also measures `gateway ack-file` on the file: the gateway's validation and 997 alone,
without storing anything, the work Bots does here (the gateway's end to end also maps, stores
and archives every order).

Reported per round: seconds, peak MB and orders/s of each; then the ratios gateway speed / Bots
speed and Bots memory / gateway memory, best (best of each against best of the other) and
median (of the ratios of the rounds), and Bots's time / `ack-file`'s.

Run: `make benchmark`, or `.venv/bin/python benchmarks/bench_bots.py [--orders N] [--lines N]
[--rounds N] [--bots-python .build/bots-venv/bin/python]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway_process import (  # noqa: E402
    Measure,
    accepts_all,
    acknowledged_sets,
    cached_bytecode_env,
    gateway_run_once,
    measured,
)
from benchmarks.generate import write  # noqa: E402
from gateway.x12.schema import (  # noqa: E402
    ElementDef,
    Family,
    LoopNode,
    SegmentNode,
    TransactionSetSchema,
    load_family,
)

DATA = ROOT / "benchmarks" / "data"
BOTS_PYTHON = ROOT / ".build" / "bots-venv" / "bin" / "python"
USERSYS = "benchusersys"

# The interchange envelope, which the gateway's schema files leave to its tokenizer: element,
# requirement, type, minimum and maximum length. ISA16, the component separator, is read by
# Bots's tokenizer as two empty components, and written by Bots itself: an optional composite.
# GS04 takes 6 digits too: Bots 3.3.1 writes a 6-digit date in the GS of an 004010 997.
ENVELOPE = {
    "ISA": [
        ("ISA01", "M", "ID", 2, 2), ("ISA02", "M", "AN", 10, 10), ("ISA03", "M", "ID", 2, 2),
        ("ISA04", "M", "AN", 10, 10), ("ISA05", "M", "ID", 2, 2), ("ISA06", "M", "AN", 15, 15),
        ("ISA07", "M", "ID", 2, 2), ("ISA08", "M", "AN", 15, 15), ("ISA09", "M", "DT", 6, 6),
        ("ISA10", "M", "TM", 4, 4), ("ISA11", "M", "ID", 1, 1), ("ISA12", "M", "ID", 5, 5),
        ("ISA13", "M", "N0", 9, 9), ("ISA14", "M", "ID", 1, 1), ("ISA15", "M", "ID", 1, 1),
    ],
    "GS": [
        ("GS01", "M", "ID", 2, 2), ("GS02", "M", "AN", 2, 15), ("GS03", "M", "AN", 2, 15),
        ("GS04", "M", "DT", 6, 8), ("GS05", "M", "TM", 4, 8), ("GS06", "M", "N0", 1, 9),
        ("GS07", "M", "ID", 1, 2), ("GS08", "M", "AN", 1, 12),
    ],
    "GE": [("GE01", "M", "N0", 1, 6), ("GE02", "M", "N0", 1, 9)],
    "IEA": [("IEA01", "M", "N0", 1, 5), ("IEA02", "M", "N0", 9, 9)],
}  # fmt: skip

GRAMMAR_HEAD = '''"""{title}: written for Bots at run time by benchmarks/bench_bots.py."""

from bots.botsconfig import ID, LEVEL, MAX, MIN, QUERIES, SUBTRANSLATION


def _records(nodes):
    records = []
    for record_id, minimum, maximum, extra, children in nodes:
        record = {{ID: record_id, MIN: minimum, MAX: maximum}}
        if extra.get("queries"):
            record[QUERIES] = extra["queries"]
        if extra.get("subtranslation"):
            record[SUBTRANSLATION] = extra["subtranslation"]
        if children:
            record[LEVEL] = _records(children)
        records.append(record)
    return records


'''


def field(element: ElementDef, name: str) -> list[object]:
    """One Bots field (or composite) for an element of the gateway's segment dictionary."""
    requirement = "M" if element.mandatory else "C"
    composite = element.composite
    if composite is None:
        length = (element.min_length, element.max_length)
        return [name, requirement, length, element.type]
    parts = [field(c, f"{name}.{k:02d}") for k, c in enumerate(composite.components, 1)]
    if len(parts) == 1:  # Bots wants two components at least; one is a plain element
        return [name, requirement, *parts[0][2:]]
    return [name, requirement, parts]


def recorddefs(family: Family, segment_ids: set[str]) -> dict[str, list[object]]:
    """Bots record definitions of the segments named, from the gateway's segment dictionary."""
    records: dict[str, list[object]] = {}
    for segment_id in sorted(segment_ids):
        if segment_id in ENVELOPE:
            fields = [[n, r, (lo, hi), t] for n, r, t, lo, hi in ENVELOPE[segment_id]]
            if segment_id == "ISA":
                fields.append(["ISA16", "C", [[f"ISA16.{k}", "C", 1, "AN"] for k in (1, 2)]])
        else:
            segment = family.segments[segment_id]
            fields = [field(e, f"{segment_id}{i:02d}") for i, e in enumerate(segment.elements, 1)]
        records[segment_id] = [["BOTSID", "M", 3, "AN"], *fields]
    return records


def nodes(children: tuple[SegmentNode | LoopNode, ...]) -> list[tuple[object, ...]]:
    """Bots's structure of a sequence of the gateway's set nodes: a loop is its trigger segment
    with the loop's other members as its children."""
    shaped: list[tuple[object, ...]] = []
    for child in children:
        if isinstance(child, SegmentNode):
            shaped.append((child.segment_id, int(child.mandatory), child.max_use, {}, []))
        else:
            trigger, *rest = child.children
            assert isinstance(trigger, SegmentNode), child.loop_id
            shaped.append((trigger.segment_id, int(child.mandatory), child.max_use, {},
                           nodes(tuple(rest))))  # fmt: skip
    return shaped


def segments_of(schema: TransactionSetSchema) -> set[str]:
    """The segments a set's grammar defines: those of its structure, with its ST and SE."""
    return set(schema.segment_ids) | {"ST", "SE"}


def set_grammar(family: Family, set_id: str) -> str:
    """The Bots grammar module of one transaction set: ST is its root, SE its last child."""
    schema = family.sets[set_id]
    st, *rest = nodes(schema.root.children)
    assert st[0] == "ST", st
    structure = [("ST", 1, 1, {}, rest)]
    return (
        GRAMMAR_HEAD.format(title=f"X12 {family.version} {set_id} {schema.name}")
        + f"syntax = {{'functionalgroup': {schema.functional_id!r}}}\n\n"
        + f"structure = _records({structure!r})\n\n"
        + f"recorddefs = {recorddefs(family, segments_of(schema))!r}\n"
    )


def envelope_grammar(family: Family) -> str:
    """The Bots grammar of the interchange (`x12`): ISA, GS, then each ST read by the grammar of
    its set (ST01 and GS08 name it, `850004010`), GE, IEA."""
    queries = {
        "frompartner": {"BOTSID": "ISA", "ISA06": None},
        "topartner": {"BOTSID": "ISA", "ISA08": None},
        "testindicator": {"BOTSID": "ISA", "ISA15": None},
    }
    # ST is optional to Bots: the same grammar checks the envelope Bots writes around a 997,
    # which has no ST when checked (GE01 still counts the sets of a group read).
    st = ("ST", 0, 99999, {"subtranslation": {"BOTSID": "ST", "ST01": None}}, [])
    gs = ("GS", 1, 99999, {}, [st, ("GE", 1, 1, {}, [])])
    structure = [("ISA", 1, 1, {"queries": queries}, [gs, ("IEA", 1, 1, {}, [])])]
    syntax = {"version": "00401", "ISA05": "ZZ", "ISA07": "ZZ", "ISA14": "0"}
    return (
        GRAMMAR_HEAD.format(title="X12 interchange envelope")
        + f"syntax = {syntax!r}\n\n"
        + f"structure = _records({structure!r})\n\n"
        + f"recorddefs = {recorddefs(family, {'ISA', 'GS', 'ST', 'GE', 'IEA'})!r}\n"
    )


SETTINGS = """\"\"\"Django settings of a benchmark's Bots site, from benchmarks/bench_bots.py.\"\"\"
SECRET_KEY = "benchmark-only"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
TIME_ZONE = "UTC"
USE_TZ = False
USE_I18N = True
LANGUAGE_CODE = "en-us"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "bots"]
"""

BOTS_INI = """[settings]
maxfilesizeincoming = 2000000000
whencleanup = never
port = {port}
log_console = False
log_file_level = INFO
log_file_number = 10
max_number_errors = 25
[webserver]
environment = production
[acceptance]
runacceptancetest = False
[directories]
botssys = {botssys}
usersys = {usersys}
[charsets]
"""


def free_port() -> int:
    """A port for Bots's check that no other engine runs (it binds one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bots_install(bots_python: Path) -> Path:
    """The folder of the installed `bots` package."""
    done = subprocess.run(
        [str(bots_python), "-c", "import bots, os; print(os.path.dirname(bots.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(done.stdout.strip())


def bots_site(folder: Path, install: Path, grammars: dict[str, str]) -> None:
    """Write a Bots site under `folder`: config/, botssys/ (its database), usersys/ (grammars),
    and the folders in/ and out/ its route reads and writes."""
    botssys = folder / "botssys"
    (botssys / "sqlitedb").mkdir(parents=True)
    database = botssys / "sqlitedb" / "botsdb"
    shutil.copy(install / "install" / "botsdb", database)
    config = folder / "benchconfig"
    config.mkdir()
    (config / "__init__.py").write_text("")
    (config / "settings.py").write_text(SETTINGS.format(database=str(database)))
    (config / "bots.ini").write_text(
        BOTS_INI.format(port=free_port(), botssys=botssys, usersys=USERSYS)
    )
    x12 = folder / USERSYS / "grammars" / "x12"
    x12.mkdir(parents=True)
    for package in (folder / USERSYS, folder / USERSYS / "grammars", x12):
        (package / "__init__.py").write_text("")
    for name, source in grammars.items():
        (x12 / f"{name}.py").write_text(source)
    for box in ("in", "out"):
        (folder / box).mkdir()
    channel = (
        "INSERT INTO channel (idchannel, inorout, type, charset, host, username, secret, "
        "starttls, apop, remove, path, filename, lockname, syslock, parameters, ftpaccount, "
        "ftpactive, ftpbinary, askmdn, sendmdn, mdnchannel, archivepath, testpath) "
        "VALUES (?, ?, 'file', 'us-ascii', '', '', '', 0, 0, ?, ?, ?, '', 0, '', '', 0, 0, "
        "'', '', '', '', '')"
    )
    with sqlite3.connect(database) as db:
        db.execute(channel, ("x12-in", "in", 1, str(folder / "in"), "*.x12"))
        db.execute(channel, ("x12-out", "out", 0, str(folder / "out"), "*.x12"))
        db.execute(
            "INSERT INTO routes (idroute, seq, active, fromchannel_id, fromeditype, "
            "frommessagetype, tochannel_id, toeditype, tomessagetype, alt, testindicator, "
            "translateind, notindefaultrun, defer) VALUES ('bench', 1, 1, 'x12-in', 'x12', "
            "'x12', 'x12-out', '', '', '', '', 3, 0, 0)"
        )
        db.execute(
            "INSERT INTO confirmrule (active, confirmtype, ruletype, negativerule, editype, "
            "messagetype) VALUES (1, 'send-x12-997', 'all', 0, '', '')"
        )


def bots_run(path: Path, folder: Path, install: Path, bots_python: Path, grammars: dict[str, str],
             orders: int, env: dict[str, str]) -> Measure:  # fmt: skip
    """Measure a fresh `bots-engine` taking `path` in on a fresh Bots site under `folder`.

    Fails loudly unless the engine ends cleanly with a 997 accepting `orders` sets."""
    bots_site(folder, install, grammars)
    shutil.copy(path, folder / "in" / path.name)
    env = {**env, "PYTHONPATH": str(folder)}
    command = [str(bots_python), "-c", "from bots import engine; engine.start()",
               "-cbenchconfig", "--new"]  # fmt: skip
    run = measured(command, folder, env=env, cwd=folder)
    ak2, ak9 = acknowledged_sets(folder / "out")
    if run.returncode != 0 or ak2 != orders or not accepts_all(ak9, orders):
        with sqlite3.connect(folder / "botssys" / "sqlitedb" / "botsdb") as db:
            errors = [row[0][:1500] for row in db.execute(
                "SELECT errortext FROM ta WHERE statust = 1 AND errortext != ''")]  # fmt: skip
        log = folder / "botssys" / "logging" / "engine.log"
        raise SystemExit(
            f"Bots exited {run.returncode}, its 997 acknowledges {ak2} sets ({ak9[:2]}), not"
            f" {orders}.\nErrors: {errors[:3]}\nstderr: {run.stderr.read_text()[-1500:]}\n"
            f"log: {log.read_text()[-1500:] if log.exists() else '(none)'}"
        )
    return run


def one_round(number: int, args: argparse.Namespace, path: Path, install: Path,
              grammars: dict[str, str], env: dict[str, str]) -> dict[str, object]:  # fmt: skip
    """The gateway, then Bots, on the same file, each a fresh process on a fresh site."""
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as temporary:
        gateway = gateway_run_once(path, Path(temporary), args.orders, env)
    with tempfile.TemporaryDirectory() as temporary:
        bots = bots_run(path, Path(temporary), install, args.bots_python, grammars, args.orders,
                        env)  # fmt: skip
    with tempfile.TemporaryDirectory() as temporary:
        codec = gateway_ack_file(path, Path(temporary), args.orders, env)
    figures: dict[str, object] = {
        "round": number,
        "load_before": [round(x, 2) for x in load],
        "gateway_seconds": round(gateway.seconds, 2),
        "gateway_peak_mb": round(gateway.peak_mb, 1),
        "gateway_orders_per_second": round(args.orders / gateway.seconds),
        "bots_seconds": round(bots.seconds, 2),
        "bots_peak_mb": round(bots.peak_mb, 1),
        "bots_orders_per_second": round(args.orders / bots.seconds, 1),
        "speed_gateway_over_bots": round(bots.seconds / gateway.seconds, 2),
        "memory_bots_over_gateway": round(bots.peak_mb / gateway.peak_mb, 2),
        "ack_file_seconds": round(codec.seconds, 2),
        "ack_file_peak_mb": round(codec.peak_mb, 1),
        "speed_ack_file_over_bots": round(bots.seconds / codec.seconds, 2),
    }
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def gateway_ack_file(path: Path, folder: Path, orders: int, env: dict[str, str]) -> Measure:
    """Measure a fresh `gateway ack-file`: the gateway's validation and 997 alone, the work Bots
    does here. Fails loudly unless its 997 accepts `orders` sets."""
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "ack-file", str(path)]
    run = measured(command, folder, env={**env, "PYTHONPATH": str(ROOT)})
    ak2, ak9 = acknowledged_sets(folder)
    if run.returncode != 0 or ak2 != orders or not accepts_all(ak9, orders):
        raise SystemExit(f"gateway ack-file exited {run.returncode}, {ak2} sets acknowledged")
    return run


def median_ratio(ratios: list[float]) -> float:
    """The median of the rounds' ratios, rounded as reported."""
    return round(statistics.median(ratios), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bots-python", type=Path, default=BOTS_PYTHON)
    args = parser.parse_args()
    if not args.bots_python.exists():
        raise SystemExit(f"no Bots environment at {args.bots_python}: `make benchmark` makes it")
    path = write(DATA / f"po-{args.orders}x{args.lines}.x12", args.orders, args.lines)
    install = bots_install(args.bots_python)
    family = load_family("004010")
    grammars = {
        "x12": envelope_grammar(family),
        "850004010": set_grammar(family, "850"),
        "997004010": set_grammar(family, "997"),
    }
    with tempfile.TemporaryDirectory() as cache:
        env = cached_bytecode_env(Path(cache))
        warm_up = write(DATA / f"po-20x{args.lines}.x12", 20, args.lines)
        with tempfile.TemporaryDirectory() as temporary:
            gateway_run_once(warm_up, Path(temporary), 20, env)
        with tempfile.TemporaryDirectory() as temporary:
            bots_run(warm_up, Path(temporary), install, args.bots_python, grammars, 20, env)
        rounds = [one_round(number, args, path, install, grammars, env)
                  for number in range(1, args.rounds + 1)]  # fmt: skip

    def column(key: str) -> list[float]:
        return [float(r[key]) for r in rounds]  # type: ignore[arg-type]

    summary = {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "orders": args.orders,
        "lines": args.lines,
        "rounds": rounds,
        "speed_gateway_over_bots": {
            "best": round(min(column("bots_seconds")) / min(column("gateway_seconds")), 2),
            "median": median_ratio(column("speed_gateway_over_bots")),
        },
        "memory_bots_over_gateway": {
            "best": round(min(column("bots_peak_mb")) / min(column("gateway_peak_mb")), 2),
            "median": median_ratio(column("memory_bots_over_gateway")),
        },
        "speed_ack_file_over_bots": {
            "best": round(min(column("bots_seconds")) / min(column("ack_file_seconds")), 2),
            "median": median_ratio(column("speed_ack_file_over_bots")),
        },
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
