"""Lease holders name a process by host, process-id namespace and pid, so that two containers
sharing a hostname (both running as pid 1) are two holders, and a lease is taken back early only
from a process of this very namespace that no longer runs."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.service.delivery import dead_here, this_worker


def test_a_holder_names_this_host_namespace_and_process():
    host, namespace, pid = this_worker().rsplit(":", 2)
    assert pid == str(os.getpid()) and host and namespace
    assert str(os.stat("/proc/self/ns/pid").st_ino) == namespace


def test_only_a_finished_process_of_this_namespace_is_dead_here():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    place = this_worker().rpartition(":")[0]
    assert dead_here(f"{place}:{finished.stdout.strip()}")
    assert not dead_here(this_worker())  # ourselves
    assert not dead_here(f"{place}:1")  # alive
    host = place.rsplit(":", 1)[0]
    # another container with our hostname: its pids are not ours to judge
    assert not dead_here(f"{host}:4026531999:{finished.stdout.strip()}")
    assert not dead_here(f"{host}:{finished.stdout.strip()}")  # a holder named the old way
    assert not dead_here(f"elsewhere:1:{finished.stdout.strip()}")
