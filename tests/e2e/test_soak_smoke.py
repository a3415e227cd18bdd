"""A very small soak run (tests/soak): a few dozen purchase orders from three buyers (two on
folder mailboxes, one on the session's real sshd), changes, cancellations and an operator's
actions, taken in by a daemon that is killed (-9, and at a chosen point) while its SFTP and SMTP
servers go down and answer 4xx (to a whole message, or to one recipient of several), one fault
of each kind; then compared with a site that ran the
same traffic undisturbed. The real soak is `python -m tests.soak --minutes 5 --seed S`."""

from __future__ import annotations

import time
from pathlib import Path

from tests.soak import run_soak
from tests.soak.compare import join
from tests.soak.run import FAULT_KINDS
from tests.sshd import SshdServer

SMOKE_SECONDS = 85.0
KINDS = FAULT_KINDS


def test_a_small_soak_with_one_fault_of_each_kind_ends_as_the_undisturbed_site(
    sshd_server: SshdServer, tmp_path: Path
):
    said: list[str] = []
    began = time.monotonic()
    result = run_soak(
        minutes=0.4,
        seed=17,
        scale=0.06,
        sshd=sshd_server,
        workdir=tmp_path / "soak",
        faults=len(KINDS),
        fault_kinds=KINDS,
        faults_until=0.5,  # the retries they cause (30 s at first) come due soon after the end
        say=said.append,
    )
    elapsed = time.monotonic() - began
    figures = result.figures
    assert result.differences == [], (
        f"{len(result.differences)} difference(s):\n{join(result.differences)}\n" + "\n".join(said)
    )
    assert figures["volume"]["orders"] >= 30 and figures["volume"]["operator_action_exits"]
    assert figures["faults_injected"] == dict.fromkeys(sorted(KINDS), 1)
    exits = figures["daemon_exits"]
    # the random kill and the arming of a point each kill the daemon, unless it had just died
    # at its armed point (then counted there): on a busy machine either may come first
    assert exits["kill -9"] >= 1 and exits["kill -9"] + exits.get("crashed at its point", 0) >= 2
    assert figures["reference"]["orders"] == figures["faulty"]["orders"] >= 30
    assert figures["reference"]["emails"] == figures["faulty"]["emails"] > 0
    assert sshd_server.running  # the session's server, the reference's, was never stopped
    assert elapsed < SMOKE_SECONDS, f"the smoke soak took {elapsed:.0f} s"
