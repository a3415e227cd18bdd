"""Scale-out benchmark (issue 19): N `gateway run --once` processes started together on one
PostgreSQL database and ONE partner's folder mailbox, timed from their start until all have
exited, against one worker on the default SQLite store taking in the same traffic in the same
rounds (the machine is shared and noisy: the ratios taken in one run are what compare).

Two shapes of traffic, the same orders (20 lines each, `benchmarks/generate.py`'s 850s):
- `ten`: ten interchanges of a tenth of the orders each (500 orders at the default 5,000);
- `one`: one interchange of all the orders.

The benchmark starts its own PostgreSQL server (Debian's initdb and pg_ctl, as the `postgres`
user when run as root, in a temporary folder, on 127.0.0.1 and a free port, fsync off as the
tests run it unless `--pg-fsync`) and stops it at the end. Every measurement gets a fresh site
(its configuration, the partner's mailboxes, a data folder) and a fresh database (PostgreSQL:
`CREATE DATABASE`; SQLite: a new file), migrated by `gateway db upgrade` before the clock
starts. After the workers exit, it checks that each exited 0, that the store holds every order
exactly once, that one 997 per interchange was delivered to the partner's outbox, and that the
workers' "file applied" lines name every file once: otherwise it stops with what it found.

Reported per configuration (`sqlite x1`, `postgresql xN`) and shape: best and median seconds,
orders/s at the best, the files each worker took in (its "file applied" lines) and the 997s it
delivered, each worker's CPU seconds, the CPU seconds of PostgreSQL's server processes that
ended during the run (the workers' backends), and the load averages before each run (the
one-minute figure holds the end of the benchmark's own previous run); then the ratios, from the
best times and round by round:
- postgresql x1 / sqlite x1 (throughput; target >= 0.9);
- postgresql x2 / postgresql x1 (throughput; target >= 1.7).

Run: `.venv/bin/python benchmarks/bench_workers.py [--orders 5000] [--rounds 2] [--workers 1,2]
[--files 10] [--pg-fsync] [--logs DIR]` (each worker's standard error is kept under DIR,
`benchmarks/data/workers-logs/` by default).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.bench_pipeline import PROFILE  # noqa: E402
from benchmarks.generate import ISA, purchase_order, write  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
LINES = 20
PARTNER = "bench"
COMMAND = [sys.executable, "-c", "from gateway.cli import main; main()"]
APPLIED = re.compile(r" file applied .*?\bfile=(\S+)")
WORKER_TIMEOUT = 3600.0


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are (as tests/conftest.py finds them)."""
    found = shutil.which("pg_config")
    if found:
        result = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(result.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not versions:
        raise SystemExit("PostgreSQL is not installed (`make test` installs Debian's postgresql)")
    return versions[0].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary folder: tests/conftest.py's, which cannot be
    imported without pytest and the tests' other fixtures."""

    def __init__(self, bindir: Path, fsync: bool):
        self.bindir = bindir
        self.fsync = fsync
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-bench-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.folder.chmod(0o700)

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def cpu_seconds(self) -> float:
        """CPU seconds of the server's processes that have ended (a connection's backend ends
        with it; autovacuum's workers too): the postmaster's children's times."""
        postmaster = (self.data / "postmaster.pid").read_text().split()[0]
        fields = Path(f"/proc/{postmaster}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")

    def admin(self, statement: str) -> None:
        """One statement outside a transaction (CREATE or DROP DATABASE)."""
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def interchange_file(path: Path, first: int, orders: int, control: int) -> Path:
    """One interchange of the 850s numbered first .. first + orders - 1, its own control number
    (written once: an existing file of the same name is kept)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="latin-1", newline="") as handle:
        handle.write(ISA.replace("*000000001*", f"*{control:09d}*"))
        handle.write(f"GS*PO*BUYERBENCH*SELLERBENCH*20261121*1200*{control}*X*004010~\n")
        for number in range(first, first + orders):
            handle.write(purchase_order(number, LINES))
        handle.write(f"GE*{orders}*{control}~\n")
        handle.write(f"IEA*1*{control:09d}~\n")
    partial.rename(path)
    return path


def traffic(orders: int, files: int) -> dict[str, list[Path]]:
    """The two shapes: `files` interchanges sharing the orders, and one interchange of all."""
    if orders % files:
        raise SystemExit(f"--orders ({orders}) must be a multiple of --files ({files})")
    each = orders // files
    folder = DATA / f"workers-{orders}x{LINES}-in-{files}"
    ten = [
        interchange_file(folder / f"po-{k + 1:02d}.x12", k * each + 1, each, k + 1)
        for k in range(files)
    ]
    return {"ten": ten, "one": [write(DATA / f"po-{orders}x{LINES}.x12", orders, LINES)]}


@dataclass
class Run:
    """One measurement."""

    store: str
    workers: int
    shape: str
    round: int
    load: tuple[float, float, float]
    seconds: float = 0.0
    taken: list[list[str]] = field(default_factory=list)  # the files each worker took in
    delivered: list[int] = field(default_factory=list)  # the 997s each worker delivered
    cpu: list[float] = field(default_factory=list)  # each worker's CPU seconds (user + system)
    server_cpu: float = 0.0  # PostgreSQL's server processes that ended (backends, autovacuum)
    database: str = ""  # on PostgreSQL

    def shares(self) -> str:
        """The files each worker took in, and the 997s each delivered: `10+0 files, 9+1 997s`."""
        files = "+".join(str(len(t)) for t in self.taken)
        cpu = "+".join(f"{c:.1f}" for c in self.cpu)
        return f"{files} files, {'+'.join(map(str, self.delivered))} 997s, CPU {cpu} s"

    def loads(self) -> str:
        return " ".join(f"{v:.2f}" for v in self.load)


def site(folder: Path, url: str) -> Path:
    """A gateway site: its configuration (the store at `url`, SQLite when empty), the partner
    of bench_pipeline.py, its mailboxes."""
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    database = f'[database]\nurl = "{url}"\n' if url else ""
    (config / "gateway.toml").write_text(f'[gateway]\ndata_dir = "../data"\n{database}')
    (config / "partners" / f"{PARTNER}.toml").write_text(PROFILE)
    (folder / "mailboxes" / PARTNER / "in").mkdir(parents=True)
    return config / "gateway.toml"


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    return env


def stored(url: str) -> tuple[int, int, list[tuple[str, int]]]:
    """(orders, distinct PO numbers, outbound documents by status) in the store at `url`."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            count, distinct = connection.execute(
                text("SELECT count(*), count(DISTINCT po_number) FROM orders")
            ).one()
            statuses = connection.execute(
                text(
                    "SELECT status, count(*) FROM documents WHERE direction = 'out' "
                    "GROUP BY status ORDER BY status"
                )
            ).all()
    finally:
        engine.dispose()
    return int(count), int(distinct), [(str(s), int(n)) for s, n in statuses]


def measure(
    run: Run, files: list[Path], orders: int, logs: Path, server: PostgresServer | None = None
) -> None:
    """Take `files` in with `run.workers` workers on a fresh site, its store a database just
    created on `server` (else SQLite); check and record."""
    url = server.url(run.database) if server is not None else ""
    env = environment()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-workers-") as temporary:
        folder = Path(temporary)
        config = site(folder, url)
        upgraded = subprocess.run(
            [*COMMAND, "--config", str(config), "db", "upgrade"],
            capture_output=True, text=True, env=env, check=False, timeout=600,
        )  # fmt: skip
        if upgraded.returncode != 0:
            raise SystemExit(f"db upgrade failed: {upgraded.stdout}{upgraded.stderr}")
        inbox = folder / "mailboxes" / PARTNER / "in"
        for path in files:
            shutil.copy(path, inbox / path.name)
        url = url or f"sqlite:///{folder / 'data' / 'gateway.db'}"
        errors = [(logs / f"{name(run)}-w{k}.log").open("w+") for k in range(run.workers)]
        command = [*COMMAND, "--config", str(config), "run", "--once"]
        workers: list[subprocess.Popen[bytes]] = []
        server_cpu = 0.0
        if server is not None:
            server.admin("CHECKPOINT")  # the dropped database's and the migration's pages out
            server_cpu = server.cpu_seconds()
        watchdog = threading.Timer(WORKER_TIMEOUT, lambda: [w.kill() for w in workers])
        try:
            start = time.perf_counter()
            for error in errors:
                workers.append(
                    subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=error)
                )
            watchdog.start()
            for worker in workers:  # wait4: the worker's CPU time too
                _, status, usage = os.wait4(worker.pid, 0)
                worker.returncode = os.waitstatus_to_exitcode(status)
                run.cpu.append(usage.ru_utime + usage.ru_stime)
            run.seconds = time.perf_counter() - start
        finally:
            watchdog.cancel()
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    worker.wait()
        if server is not None:
            time.sleep(0.5)  # the workers' server processes end when they disconnect
            run.server_cpu = server.cpu_seconds() - server_cpu
        outputs = []
        for error in errors:
            error.seek(0)
            outputs.append(error.read())
            error.close()
        run.taken = [APPLIED.findall(output) for output in outputs]
        run.delivered = [output.count(" delivery sent ") for output in outputs]
        faults = []
        codes = [worker.returncode for worker in workers]
        if codes != [0] * run.workers:
            faults.append(f"exit codes {codes}")
        count, distinct, statuses = stored(url)
        if (count, distinct) != (orders, orders):
            faults.append(f"{count} orders stored ({distinct} PO numbers), {orders} sent")
        if statuses != [("sent", len(files))]:
            faults.append(f"outbound documents by status {statuses}, {len(files)} 997s owed")
        delivered = sorted((folder / "mailboxes" / PARTNER / "out").glob("*"))
        if len(delivered) != len(files) or not all(p.name.startswith("997") for p in delivered):
            faults.append(f"outbox holds {[p.name for p in delivered]}, {len(files)} 997s owed")
        applied = sorted(n for names in run.taken for n in names)
        if applied != sorted(p.name for p in files):
            faults.append(f"'file applied' lines name {applied}")
        if faults:
            tails = "\n".join(f"--- worker {k}:\n{o[-3000:]}" for k, o in enumerate(outputs))
            raise SystemExit(f"{name(run)}: " + "; ".join(faults) + f"\n{tails}")


def name(run: Run) -> str:
    return f"{run.store}-x{run.workers}-{run.shape}-r{run.round}"


Timings = dict[tuple[str, int], dict[int, float]]
"""Seconds by configuration (store, workers) and round."""


def ratio(timings: Timings, base: tuple[str, int], other: tuple[str, int]) -> dict[str, object]:
    """The throughput of `other` over that of `base` (base's seconds / other's): from the best
    times, and round by round."""
    rounds = sorted(set(timings[base]) & set(timings[other]))
    return {
        "best": round(min(timings[base].values()) / min(timings[other].values()), 2),
        "by_round": [round(timings[base][k] / timings[other][k], 2) for k in rounds],
    }


def report(runs: list[Run], orders: int, counts: list[int]) -> dict[str, object]:
    configurations = [("sqlite", 1)] + [("postgresql", n) for n in counts]
    figures: dict[str, object] = {"orders": orders, "lines_per_order": LINES}
    for shape in ("ten", "one"):
        per: dict[str, object] = {}
        timings: Timings = {}
        for store, workers in configurations:
            mine = [r for r in runs if (r.store, r.workers, r.shape) == (store, workers, shape)]
            seconds = [r.seconds for r in mine]
            timings[store, workers] = {r.round: r.seconds for r in mine}
            per[f"{store} x{workers}"] = {
                "best_seconds": round(min(seconds), 2),
                "median_seconds": round(statistics.median(seconds), 2),
                "orders_per_second": round(orders / min(seconds)),
                "per_worker_by_round": [r.shares() for r in mine],
                "server_cpu_seconds_by_round": [round(r.server_cpu, 1) for r in mine],
                "load_before_by_round": [r.loads() for r in mine],
            }
        if 1 in counts:
            per["ratio postgresql x1 / sqlite x1 (target >= 0.9)"] = ratio(
                timings, ("sqlite", 1), ("postgresql", 1)
            )
            for n in counts:
                if n > 1:
                    target = " (target >= 1.7)" if n == 2 else ""
                    per[f"ratio postgresql x{n} / postgresql x1{target}"] = ratio(
                        timings, ("postgresql", 1), ("postgresql", n)
                    )
        figures[shape] = per
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="in all, across the files")
    parser.add_argument("--files", type=int, default=10, help="interchanges of the `ten` shape")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="worker counts on PostgreSQL")
    parser.add_argument("--pg-fsync", action="store_true", help="PostgreSQL with fsync on")
    parser.add_argument("--logs", type=Path, default=DATA / "workers-logs")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.workers.split(",")})
    shapes = traffic(args.orders, args.files)
    args.logs.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(postgres_bindir(), args.pg_fsync)
    runs: list[Run] = []
    databases = 0
    try:
        server.start()
        for number in range(1, args.rounds + 1):
            order = [("sqlite", 1)] + [("postgresql", n) for n in counts]
            if number % 2 == 0:
                order.reverse()  # no configuration always first or last in a round
            for shape, files in shapes.items():
                for store, workers in order:
                    run = Run(store, workers, shape, number, os.getloadavg())
                    if store == "sqlite":
                        measure(run, files, args.orders, args.logs)
                    else:
                        databases += 1
                        run.database = f"bench_workers_{databases}"
                        server.admin(f"CREATE DATABASE {run.database}")
                        measure(run, files, args.orders, args.logs, server)
                        server.admin(f"DROP DATABASE {run.database}")
                    runs.append(run)
                    print(
                        f"round {number} {shape:>3} {store} x{workers}: {run.seconds:.2f} s, "
                        f"{args.orders / run.seconds:.0f} orders/s, per worker {run.shares()}, "
                        f"server CPU {run.server_cpu:.1f} s, load before {run.loads()}",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        server.stop()
    print(json.dumps(report(runs, args.orders, counts), indent=2))


if __name__ == "__main__":
    main()
