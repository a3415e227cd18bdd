"""The soak run: the same day of traffic at two sites, one left alone, one with faults.

Strategy: one loop, a tick every TICK seconds, drives everything and never waits long on one
thing: the plan's steps at each site (per lane, in order, each once it is due and the orders it
names exist there), the faults at the faulty site, the faulty site's daemon (restarted whenever
it dies, as a supervisor would), the reference's one-pass runs, and the partners' side (our
documents read and answered with 997s). When every step is done at both sites, the faults are
healed, the daemon stopped, and both sites are drained with `gateway run --once` until a pass
does nothing new and nothing is left queued; then the two are compared (tests/soak/compare.py).
Every wait is bounded in time; every loop in count or time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.smtpd import SmtpServer
from tests.soak import compare
from tests.soak.servers import heal_smtp, own_sshd, sibling_sshd, smtp_server
from tests.soak.site import Site
from tests.soak.traffic import BY_KEY, Plan, Step, plan_traffic
from tests.sshd import SshdServer

TICK = 0.1
RESTART_DELAY = 0.3  # the supervisor's pause before starting a dead daemon again
STOP_SECONDS = 30.0  # SIGTERM, then SIGKILL
START_SECONDS = 15.0  # for a daemon to say it started
GRACE_SECONDS = 8.0  # the daemon works on after the last fault before the end
PASS_SECONDS = 300.0  # a one-pass run taking longer is killed (and reported)
IDLE_PASS_EVERY = 3.0  # the reference runs a pass this often when nothing new came
KNOWN_REFRESH = 0.75  # seconds between two readings of the orders a site holds
ANSWER_EVERY = 0.5  # seconds between two looks at the partners' mailboxes
DRAIN_SECONDS = 600.0  # at most, for each site's final drain
DRAIN_PASSES = 200
CRASH_POINTS = (
    "claimed", "archived", "stored", "set", "ingested", "released", "claimed-delivery",
    "delivered", "claimed-mail", "mail-sent",
)  # fmt: skip
SMTP_ANSWERS = ("451 4.3.0 try again later", "421 4.3.2 service shutting down for a while")
QUIET_EVENTS = {"pass done", "waiting for files still being written", "gateway started"}
FAULT_KINDS = (
    "kill",  # kill -9 of the daemon at a random moment, restarted at once
    "crash-at",  # kill -9, restarted with GATEWAY_CRASH_AT=POINT:N: it dies again there
    "sftp-down",  # the SFTP server stopped for a while
    "sftp-cut",  # its connections cut
    "smtp-down",  # the SMTP server stopped for a while
    "smtp-4xx",  # the SMTP server answers the next MAIL, RCPT or DATA with 4xx
    "smtp-4xx-recipient",  # ... every RCPT TO of one address with 4xx, for a while
)
REFUSED_RECIPIENTS = ("orders@harborview.example", "edi@harborview.example",
                      "orders@cedarridge.example")  # fmt: skip
RECIPIENT_ANSWER = "450 4.2.1 mailbox temporarily unavailable"

OUTAGES = {"sftp-down", "smtp-down", "smtp-4xx-recipient"}  # faults that last a while

Say = Callable[[str], None]


# -- the faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    at: float
    kind: str
    seconds: float = 0.0  # how long an outage lasts
    detail: str = ""  # the crash point, the SMTP answer and how many times
    started: bool = False
    ended: bool = False
    outcome: str = ""


def plan_faults(
    seed: int,
    seconds: float,
    count: int | None = None,
    until: float = 0.85,
    kinds: Sequence[str] = FAULT_KINDS,
) -> list[Fault]:
    """At least one fault of each kind, at random moments of the run up to `until` of it."""
    rng = random.Random(seed * 7919 + 1)
    count = max(count or round(seconds / 12), len(kinds))
    kinds = [*kinds, *rng.choices(kinds, k=count - len(kinds))]
    rng.shuffle(kinds)
    longest = max(3.0, min(25.0, seconds / 10))
    faults = []
    for kind in kinds:
        fault = Fault(rng.uniform(0.05, until) * seconds, kind)
        if kind in OUTAGES:
            fault.seconds = round(rng.uniform(longest / 3, longest), 1)
        elif kind == "crash-at":
            fault.detail = f"{rng.choice(CRASH_POINTS)}:{rng.randint(1, 3)}"
        elif kind == "smtp-4xx":
            stage = rng.choice(("DATA", "MAIL", "RCPT"))
            fault.detail = f"{rng.choice(SMTP_ANSWERS)}|{rng.randint(1, 4)}|{stage}"
        if kind == "smtp-4xx-recipient":
            fault.detail = rng.choice(REFUSED_RECIPIENTS)
        faults.append(fault)
    return sorted(faults, key=lambda f: f.at)


# -- the processes ------------------------------------------------------------------------------


def _stop(process: subprocess.Popen[str], seconds: float = STOP_SECONDS) -> int:
    """SIGTERM, then SIGKILL after `seconds`; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)
    return process.returncode


def _events(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                found.append(event)
    return found


def _troubles(text: str) -> list[str]:
    """The lines of a JSON log that tell of trouble: an error the gateway logged, or a line that
    is not a log record at all (a traceback). Other libraries' errors (paramiko's, when the
    soak takes an SFTP server down) are expected here."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            found.append(line[:500])
            continue
        if not isinstance(record, dict) or (
            str(record.get("logger", "")).startswith("gateway")
            and record.get("level") in ("error", "critical")
        ):
            found.append(line[:500])
    return found


@dataclass
class Daemon:
    """`gateway run --log-format json` at the faulty site, restarted whenever it dies."""

    site: Site
    logs: Path
    process: subprocess.Popen[str] | None = None
    armed: str = ""  # GATEWAY_CRASH_AT of the running process
    killed_by_us: bool = False
    starts: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    crashes_fired: list[str] = field(default_factory=list)
    crashes_missed: list[str] = field(default_factory=list)
    died_at: float | None = None
    findings: list[str] = field(default_factory=list)
    interruptions: list[tuple[float, str]] = field(default_factory=list)  # (when, what)

    def start(self, crash_at: str = "") -> None:
        self.starts += 1
        with (
            (self.logs / f"daemon-{self.starts:03d}.log").open("w") as out,
            (self.logs / f"daemon-{self.starts:03d}.err").open("w") as err,
        ):  # the process has its own copies of the descriptors
            self.process = self.site.process(  # its log lines on standard error
                "run", "--log-format", "json", crash_at=crash_at, stdout=err, stderr=out
            )
        self.armed, self.killed_by_us, self.died_at = crash_at, False, None

    def _ended(self) -> None:
        process = self.process
        assert process is not None
        code = process.wait(STOP_SECONDS)
        if code == -signal.SIGKILL and not self.killed_by_us:
            if self.armed:
                self.crashes_fired.append(self.armed)
                self.exits["crashed at its point"] += 1
            else:
                self.exits["killed by someone else"] += 1
                self.findings.append(f"daemon {self.starts} was killed, not by the soak")
        elif code == -signal.SIGKILL:
            self.exits["kill -9"] += 1
            if self.armed:
                self.crashes_missed.append(self.armed)
        elif code == 0:
            self.exits["stopped"] += 1
        else:
            self.exits[f"exit {code}"] += 1
            self.findings.append(f"daemon {self.starts} exited with {code} (see its logs)")
        self.process = None

    def tick(self, now: float) -> None:
        """Restart the daemon RESTART_DELAY after it died."""
        if self.process is not None and self.process.poll() is not None:
            self.interruptions.append((now, f"daemon {self.starts} died ({self.armed})"))
            self._ended()
            self.died_at = now
        if (
            self.process is None
            and self.died_at is not None
            and now - self.died_at >= RESTART_DELAY
        ):
            self.start()

    def kill(self, now: float, then_arm: str = "") -> None:
        """kill -9, then start again at once (with a crash point, when given)."""
        self.interruptions.append((now, f"kill -9 of daemon {self.starts}"))
        if self.process is not None:
            if self.process.poll() is None:
                self.killed_by_us = True
                os.kill(self.process.pid, signal.SIGKILL)
            self._ended()
        self.start(then_arm)

    def stop(self) -> None:
        """SIGTERM: the daemon finishes the file in hand and exits 0 (once it is up: a process
        told to stop before it set its signal handlers dies of the signal)."""
        process = self.process
        if process is not None:
            log = self.logs / f"daemon-{self.starts:03d}.log"
            deadline = time.monotonic() + START_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                if "gateway started" in log.read_text(errors="replace"):
                    break
                time.sleep(TICK)
            if process.poll() is None:
                self.killed_by_us = True  # should SIGTERM not be enough
                if _stop(process) != 0:
                    self.findings.append(
                        f"daemon {self.starts} did not stop cleanly on SIGTERM (exit"
                        f" {process.returncode}; killed after {STOP_SECONDS:g} s when -9)"
                    )
            self._ended()
        self.died_at = None

    def events(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for path in sorted(self.logs.glob("daemon-*.log")):
            found.update(e.get("event", "?") for e in _events(path.read_text(errors="replace")))
        return found

    def errors(self) -> list[str]:
        found = [
            f"{path.name}: {path.read_text(errors='replace').strip()[:2000]}"
            for path in sorted(self.logs.glob("daemon-*.err"))
            if path.read_text(errors="replace").strip()
        ]
        for path in sorted(self.logs.glob("daemon-*.log")):
            found.extend(f"{path.name}: {line}" for line in _troubles(path.read_text()))
        return found


@dataclass
class OnePasses:
    """`gateway run --once` at a site, one after the other, when there is something to do."""

    site: Site
    logs: Path
    process: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    started_changes: int = -1
    passes: int = 0
    did_work: bool = True
    events: Counter[str] = field(default_factory=Counter)
    exits: Counter[int] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    _offset: int = 0

    @property
    def log(self) -> Path:
        return self.logs / f"{self.site.name}-passes.log"

    def start(self, now: float, changes: int) -> None:
        self.passes += 1
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with (
            self.log.open("a") as out,
            (self.logs / f"{self.site.name}-passes.err").open("a") as err,
        ):
            self.process = self.site.process(  # its log lines on standard error
                "run", "--once", "--log-format", "json", stdout=err, stderr=out
            )
        self.started_at, self.started_changes = now, changes

    def running(self, now: float) -> bool:
        """Whether a pass runs; collects the one that ended."""
        process = self.process
        if process is None:
            return False
        if process.poll() is None:
            if now - self.started_at < PASS_SECONDS:
                return True
            process.kill()
            self.findings.append(f"{self.site.name}: a one-pass run took over {PASS_SECONDS} s")
        process.wait(STOP_SECONDS)
        self.exits[process.returncode] += 1
        if process.returncode not in (0, 1):
            self.findings.append(
                f"{self.site.name}: gateway run --once exited {process.returncode} (pass"
                f" {self.passes}, see {self.site.name}-passes.err)"
            )
        with self.log.open() as log:
            log.seek(self._offset)
            events = _events(log.read())
        self.events.update(e.get("event", "?") for e in events)
        self.did_work = any(e.get("event") not in QUIET_EVENTS for e in events)
        self.process = None
        return False

    def errors(self) -> list[str]:
        path = self.logs / f"{self.site.name}-passes.err"
        text = path.read_text(errors="replace").strip() if path.exists() else ""
        found = [f"{path.name}: {text[:2000]}"] if text else []
        if self.log.exists():
            found.extend(f"{self.log.name}: {line}" for line in _troubles(self.log.read_text()))
        return found

    def tick(self, now: float, changes: int) -> None:
        if self.running(now):
            return
        if (
            self.did_work
            or changes != self.started_changes
            or now - self.started_at > IDLE_PASS_EVERY
        ):
            self.start(now, changes)

    def finish(self, now: float) -> None:
        deadline = time.monotonic() + PASS_SECONDS
        while self.running(now) and time.monotonic() < deadline:
            time.sleep(TICK)
            now += TICK


# -- the steps at one site ----------------------------------------------------------------------


@dataclass
class Lanes:
    """The plan's steps at one site: per lane in order, each once due and once the orders it
    names exist at the site."""

    site: Site
    plan: Plan
    action_processes: bool
    queues: dict[str, deque[tuple[int, Step]]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    refreshed: float = -1e9
    changes: int = 0  # files dropped and actions done: the reference's passes follow them
    done: int = 0
    outcomes: dict[int, tuple[int, str]] = field(default_factory=dict)  # step: exit, what
    running: tuple[int, subprocess.Popen[str]] | None = None
    waited: float = 0.0  # seconds spent with a step due but waiting for its orders
    log: Path | None = None  # the operator's commands and what they answered

    def __post_init__(self) -> None:
        for index, step in enumerate(self.plan.steps):
            self.queues.setdefault(step.lane, deque()).append((index, step))

    @property
    def finished(self) -> bool:
        return self.running is None and not any(self.queues.values())

    def tick(self, now: float) -> None:
        blocked = False
        for lane, queue in self.queues.items():
            for _ in range(100):
                if lane == "operator" and self.running is not None and not self._collect():
                    break
                if not queue:
                    break
                index, step = queue[0]
                if step.at > now:
                    break
                if any(po not in self.known for po in step.needs):
                    blocked = True
                    break
                queue.popleft()
                self._do(index, step)
        if blocked:
            self.waited += TICK
            if now - self.refreshed >= KNOWN_REFRESH:
                self.known = compare.order_numbers(self.site)
                self.refreshed = now

    def _do(self, index: int, step: Step) -> None:
        self.changes += 1
        if step.kind != "action":
            self.site.drop(BY_KEY[step.lane], step.name, step.content)
            self.done += 1
            return
        if self.action_processes:
            self.running = (index, self.site.process(*step.args, "--json"))
            return
        result = self.site.cli(*step.args, "--json")
        self._record(index, step, result.code, result.stdout, result.stderr)

    def _collect(self) -> bool:
        """Whether the operator's running command ended (and is recorded)."""
        assert self.running is not None
        index, process = self.running
        if process.poll() is None:
            return False
        stdout, stderr = process.communicate(timeout=STOP_SECONDS)
        self.running = None
        self.changes += 1
        self._record(index, self.plan.steps[index], process.returncode, stdout, stderr)
        return True

    def _record(self, index: int, step: Step, code: int, stdout: str, stderr: str) -> None:
        self.outcomes[index] = (code, _action_outcome(stdout, stderr))
        self.done += 1
        if self.log is not None:
            with self.log.open("a") as log:
                log.write(f"#{index} gateway {' '.join(step.args)}\n  exit {code}: "
                          f"{(stdout + stderr).strip()}\n")  # fmt: skip


def _action_outcome(stdout: str, stderr: str) -> str:
    """What an operator's command did, without what depends on timing (flags, ids)."""
    try:
        result = json.loads(stdout)
    except ValueError:
        return (stdout + stderr).strip()[:300]
    return json.dumps(
        {
            "action": result.get("action"),
            "record": result.get("record"),
            "documents": [d.get("set") for d in result.get("documents", [])],
            "unsent": result.get("unsent"),
            "later": result.get("later"),
        },
        sort_keys=True,
    )


# -- the run ------------------------------------------------------------------------------------


@dataclass
class SoakResult:
    figures: dict[str, Any]
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def _start_fault(
    fault: Fault, now: float, daemon: Daemon, sshd: SshdServer, smtp: SmtpServer
) -> bool:
    """Start `fault`; False when it cannot now (an outage of the same server still on)."""
    if fault.kind == "kill":
        daemon.kill(now)
    elif fault.kind == "crash-at":
        daemon.kill(now, then_arm=fault.detail)
    elif fault.kind == "sftp-down":
        if not sshd.running:
            return False
        sshd.stop()
    elif fault.kind == "sftp-cut":
        sshd.drop_sessions()
    elif fault.kind == "smtp-down":
        if not smtp.running:
            return False
        daemon.interruptions.append((now, "SMTP server stopped"))
        smtp.stop()
    elif fault.kind == "smtp-4xx":
        answer, times, stage = fault.detail.split("|")
        if smtp.running:
            smtp.fail(answer, times=int(times), at=stage)
    elif fault.kind == "smtp-4xx-recipient":
        smtp.refuse_recipient(fault.detail, RECIPIENT_ANSWER)
    fault.started = True
    fault.ended = fault.kind not in OUTAGES
    return True


def _end_fault(fault: Fault, sshd: SshdServer, smtp: SmtpServer) -> None:
    if fault.kind == "sftp-down":
        sshd.start()
    elif fault.kind == "smtp-down":
        smtp.start()
    elif fault.kind == "smtp-4xx-recipient":
        smtp.accept_recipient(fault.detail)
    fault.ended = True


def drain(site: Site, runner: OnePasses, say: Say) -> dict[str, Any]:
    """`gateway run --once` until a pass does nothing new, the partners have nothing more to
    answer and nothing is queued (emails and documents waiting for their retry included)."""
    started = time.monotonic()
    quiet = 0
    for count in range(1, DRAIN_PASSES + 1):
        now = time.monotonic() - started
        if now > DRAIN_SECONDS:
            return {"passes": count - 1, "seconds": round(now, 1), "quiet": False}
        runner.start(now, 0)
        runner.finish(now)
        answered = site.answer_partners()
        queued = _queued(site)
        if not runner.did_work and not answered and not queued:
            quiet += 1
            if quiet >= 2:
                return {"passes": count, "seconds": round(now, 1), "quiet": True}
        else:
            quiet = 0
        if queued and not runner.did_work and not answered:
            time.sleep(2.0)  # waiting for a retry's time to come
        if count % 10 == 0:
            say(f"  {site.name}: drain pass {count}, {queued} still queued")
    return {"passes": DRAIN_PASSES, "seconds": round(time.monotonic() - started, 1), "quiet": False}


def _queued(site: Site) -> int:
    """Emails and documents of ours still queued at the site (a retry's time not come yet)."""
    mails = _listed(site, "mail", "list", "--status", "queued")
    documents = _listed(site, "documents", "list", "--direction", "out", "--status", "queued")
    return len(mails) + len(documents)


def _listed(site: Site, *args: str) -> list[Any]:
    result = site.cli(*args, "--limit", "10000", "--json")
    if result.code != 0:
        raise RuntimeError(f"{site.name}: gateway {' '.join(args)}: {result.stderr.strip()}")
    found = json.loads(result.stdout)
    assert isinstance(found, list)
    return found


@contextlib.contextmanager
def _servers(
    base: SshdServer | None,
) -> Iterator[tuple[SshdServer, SshdServer, SmtpServer, SmtpServer]]:
    with contextlib.ExitStack() as stack:
        if base is None:
            base = stack.enter_context(own_sshd())
        base.start()
        faulty_sshd = stack.enter_context(sibling_sshd(base))
        reference_smtp = stack.enter_context(smtp_server())
        faulty_smtp = stack.enter_context(smtp_server())
        yield base, faulty_sshd, reference_smtp, faulty_smtp


def run_soak(
    minutes: float,
    seed: int,
    scale: float = 1.0,
    *,
    sshd: SshdServer | None = None,
    workdir: Path | None = None,
    faults: int | None = None,
    faults_until: float = 0.85,
    fault_kinds: Sequence[str] = FAULT_KINDS,
    action_processes: bool = False,
    say: Say = print,
) -> SoakResult:
    """The soak (see the package's docstring): its figures and the differences found."""
    seconds = minutes * 60
    began = time.monotonic()
    plan = plan_traffic(seed, scale, seconds)
    fault_plan = plan_faults(seed, seconds, faults, faults_until, fault_kinds)
    keep = workdir is not None
    root = workdir or Path(tempfile.mkdtemp(prefix="gateway-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    say(
        f"soak: seed {seed}, {minutes:g} min, scale {scale:g}: {plan.counts['orders']} orders, "
        f"{plan.counts['files']} files, {plan.counts['actions']} operator actions, "
        f"{len(fault_plan)} faults; in {root}"
    )
    try:
        with _servers(sshd) as (reference_sshd, faulty_sshd, reference_smtp, faulty_smtp):
            return _run(plan, fault_plan, seconds, root, began, action_processes, say,
                        reference_sshd, faulty_sshd, reference_smtp, faulty_smtp)  # fmt: skip
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _run(
    plan: Plan,
    fault_plan: list[Fault],
    seconds: float,
    root: Path,
    began: float,
    action_processes: bool,
    say: Say,
    reference_sshd: SshdServer,
    faulty_sshd: SshdServer,
    reference_smtp: SmtpServer,
    faulty_smtp: SmtpServer,
) -> SoakResult:
    reference = Site("reference", root / "reference", reference_sshd, reference_smtp)
    faulty = Site("faulty", root / "faulty", faulty_sshd, faulty_smtp)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    for site in (reference, faulty):
        site.build()
    daemon = Daemon(faulty, logs)
    passes = OnePasses(reference, logs)
    lanes = {
        s.name: Lanes(s, plan, action_processes, log=logs / f"{s.name}-operator.log")
        for s in (reference, faulty)
    }
    pending = deque(fault_plan)
    active: list[Fault] = []
    started = time.monotonic()
    daemon.start()
    answered_at, reported_at = 0.0, 0.0
    limit = seconds * 3 + 300
    try:
        while True:
            now = time.monotonic() - started
            while pending and pending[0].at <= now:
                fault = pending.popleft()
                if _start_fault(fault, now, daemon, faulty_sshd, faulty_smtp):
                    say(f"  {now:6.1f}s fault: {fault.kind} {fault.detail or ''}"
                        f"{f' for {fault.seconds:g}s' if fault.seconds else ''}")  # fmt: skip
                    if not fault.ended:
                        active.append(fault)
                else:
                    fault.outcome = "skipped: the server was down already"
            for fault in [f for f in active if now >= f.at + f.seconds]:
                _end_fault(fault, faulty_sshd, faulty_smtp)
                active.remove(fault)
            daemon.tick(now)
            faulty.note_arrivals(now)
            reference.note_arrivals(now)
            for lane in lanes.values():
                lane.tick(now)
            passes.tick(now, lanes["reference"].changes + reference.answered)
            if now - answered_at >= ANSWER_EVERY:
                reference.answer_partners()
                faulty.answer_partners()
                answered_at = now
            if now - reported_at >= 15:
                reported_at = now
                say(
                    f"  {now:6.1f}s steps done: reference {lanes['reference'].done}, faulty "
                    f"{lanes['faulty'].done} of {len(plan.steps)}; daemon starts {daemon.starts}; "
                    f"reference passes {passes.passes}"
                )
            last_fault = max((f.at for f in fault_plan if f.started), default=0.0)
            if (
                all(lane.finished for lane in lanes.values())
                and not pending
                and not active
                and now - last_fault >= GRACE_SECONDS
            ):
                break
            if now > limit:
                say(f"  gave up waiting after {now:.0f}s")
                break
            time.sleep(TICK)
        traffic_seconds = time.monotonic() - started
        say(f"  {traffic_seconds:6.1f}s every step done; healing, stopping the daemon, draining")
        for fault in active:
            _end_fault(fault, faulty_sshd, faulty_smtp)
        faulty_sshd.start()
        heal_smtp(faulty_smtp)
        daemon.stop()
        passes.finish(traffic_seconds)
        faulty_passes = OnePasses(faulty, logs)
        drained = {
            "reference": drain(reference, passes, say),
            "faulty": drain(faulty, faulty_passes, say),
        }
    finally:
        daemon.stop()
        if passes.process is not None:
            _stop(passes.process)
    say("  comparing")
    reference_state = compare.snapshot(reference)
    faulty_state = compare.snapshot(faulty)
    notes: list[str] = []
    differences = compare.compare(reference_state, faulty_state, notes)
    resent, unexplained = _judge_resent(faulty, faulty_state, daemon.interruptions)
    differences += unexplained
    differences += _judge_resent(reference, reference_state, [])[1]
    differences += _action_differences(plan, lanes)
    differences += [f"unfinished: {name}" for name, lane in lanes.items() if not lane.finished]
    differences += [f"{name}: drain did not settle: {d}" for name, d in drained.items()
                    if not d["quiet"]]  # fmt: skip
    findings = daemon.findings + passes.findings + faulty_passes.findings + daemon.errors()
    findings += passes.errors() + faulty_passes.errors()
    findings += [
        f"{name}: `gateway {' '.join(plan.steps[index].args)}` raised: {what}"
        for name, lane in lanes.items()
        for index, (code, what) in sorted(lane.outcomes.items())
        if code == 99
    ]
    differences += findings
    figures = _figures(plan, fault_plan, daemon, passes, faulty_passes, lanes, reference_state,
                       faulty_state, drained, traffic_seconds, began)  # fmt: skip
    figures["emails_resent_after_an_interruption"] = resent
    figures["document_states_skipped_after_a_kill"] = notes
    figures["differences"] = len(differences)
    return SoakResult(figures, differences)


RESENT_BEFORE, RESENT_AFTER = 0.5, 2.0  # seconds around the first copy's arrival


def _judge_resent(
    site: Site, state: compare.Snapshot, interruptions: list[tuple[float, str]]
) -> tuple[list[str], list[str]]:
    """The emails received twice under one Message-ID: those explained by an interruption
    between the server's acceptance and the gateway's record of it (a kill of the daemon, the
    SMTP server stopped: the window the gateway documents, closed by sending the same bytes
    under the same Message-ID again), and the others, which are differences."""
    explained, unexplained = [], []
    for message_id, (indices, same) in sorted(state.resent.items()):
        first = site.arrivals[indices[0]] if indices[0] < len(site.arrivals) else None
        causes = [
            f"{what} at {when:.1f}s"
            for when, what in interruptions
            if first is not None and first - RESENT_BEFORE <= when <= first + RESENT_AFTER
        ]
        text = f"{site.name}: Message-ID {message_id} received {len(indices)} times"
        if same and causes and len(indices) == 2:
            explained.append(f"{text} (first at {first:.1f}s): {'; '.join(causes)}")
        else:
            unexplained.append(f"{text}{'' if same else ', with different bytes'}"
                               f" (first at {first}s, no interruption then)")  # fmt: skip
    return explained, unexplained


def _action_differences(plan: Plan, lanes: dict[str, Lanes]) -> list[str]:
    found = []
    reference, faulty = lanes["reference"].outcomes, lanes["faulty"].outcomes
    for index, step in enumerate(plan.steps):
        if step.kind != "action":
            continue
        if reference.get(index) != faulty.get(index):
            found.append(
                f"operator `gateway {' '.join(step.args)}`: reference {reference.get(index)}, "
                f"faulty {faulty.get(index)}"
            )
    return found


def _figures(
    plan: Plan,
    fault_plan: list[Fault],
    daemon: Daemon,
    passes: OnePasses,
    faulty_passes: OnePasses,
    lanes: dict[str, Lanes],
    reference: compare.Snapshot,
    faulty: compare.Snapshot,
    drained: dict[str, Any],
    traffic_seconds: float,
    began: float,
) -> dict[str, Any]:
    injected: Counter[str] = Counter(f.kind for f in fault_plan if f.started)
    action_exits = Counter(code for code, _ in lanes["reference"].outcomes.values())
    events = daemon.events() + faulty_passes.events
    return {
        "volume": {
            **plan.counts,
            "sets": sum(s.sets for s in plan.steps),
            "partner_997s": {
                "reference": lanes["reference"].site.answered,
                "faulty": lanes["faulty"].site.answered,
            },
            "operator_action_exits": {str(k): v for k, v in sorted(action_exits.items())},
            "operator_actions_refused": [
                f"gateway {' '.join(plan.steps[index].args)}: {what}"
                for index, (code, what) in sorted(lanes["reference"].outcomes.items())
                if code != 0
            ],
        },
        "reference": compare.summary_counts(reference),
        "faulty": compare.summary_counts(faulty),
        "faults_injected": dict(sorted(injected.items())),
        "faults_skipped": sum(1 for f in fault_plan if not f.started),
        "crash_points_fired": daemon.crashes_fired,
        "crash_points_not_reached": daemon.crashes_missed,
        "daemon_starts": daemon.starts,
        "daemon_exits": dict(daemon.exits),
        "faulty_events": {k: v for k, v in sorted(events.items()) if k not in QUIET_EVENTS},
        "fault_alerts": dict(faulty.fault_alerts),
        "reference_passes": passes.passes,
        "drain": drained,
        "waited_for_orders_seconds": {k: round(v.waited, 1) for k, v in lanes.items()},
        "traffic_seconds": round(traffic_seconds, 1),
        "wall_seconds": round(time.monotonic() - began, 1),
    }


def describe(figures: dict[str, Any]) -> str:
    """The figures in a few lines, for a person."""
    volume, reference, faulty = figures["volume"], figures["reference"], figures["faulty"]
    documents = ", ".join(f"{k} {v}" for k, v in reference["documents"].items())
    flags = ", ".join(f"{k} {v}" for k, v in reference["order_flags"].items())
    faults = ", ".join(f"{k} {v}" for k, v in figures["faults_injected"].items())
    fired = ", ".join(figures["crash_points_fired"]) or "none"
    return "\n".join(
        [
            f"traffic: {volume['files']} files from the partners with {volume['sets']} sets"
            f" ({volume['850']} purchase orders, {volume['860']} changes, "
            f"{volume['850-cancel']} 850 cancellations, {volume['860-cancel']} 860"
            f" cancellations), {volume['partner_997s']['reference']} 997s answering ours,"
            f" {volume['actions']} operator actions",
            f"orders: reference {reference['orders']}, faulty {faulty['orders']} ({flags})",
            f"documents (reference): {documents}",
            f"emails: reference {reference['emails']}, faulty {faulty['emails']}; alerts about"
            f" the faults themselves {faulty['fault_alerts']}; sent again after an"
            f" interruption {len(figures['emails_resent_after_an_interruption'])}",
            f"faults: {faults} (crash points reached: {fired}); daemon started"
            f" {figures['daemon_starts']} times",
            f"time: {figures['traffic_seconds']:g} s of traffic, {figures['wall_seconds']:g} s"
            f" in all; differences: {figures['differences']}",
        ]
    )
