"""The machine's services as the fault bench breaks them: PostgreSQL stopped and started for
real, a process group frozen, and a guard that undoes either should the bench itself die.

PostgreSQL is found with Debian's ``pg_lsclusters`` (the cluster listening on
the bench database's port) and driven with ``pg_ctlcluster`` (``stop`` is a
"fast" shutdown: every client connection is cut, open transactions roll back).
Other programs on the machine share that server, so it is down only for the
seconds the fault asks for, and :func:`ensure_running` brings it back whatever
happened.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Cluster:
    """One PostgreSQL cluster of ``pg_lsclusters``."""

    version: str
    name: str
    port: int

    @property
    def label(self) -> str:
        """``15/main``."""
        return f"{self.version}/{self.name}"

    def command(self, action: str) -> list[str]:
        """The ``pg_ctlcluster`` command for ``action``."""
        return ["pg_ctlcluster", self.version, self.name, action]


def cluster_on(port: int) -> Cluster | None:
    """The local cluster listening on ``port``, if ``pg_ctlcluster`` can drive one."""
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        return None
    listed = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    ).stdout
    for line in listed.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == str(port):
            return Cluster(fields[0], fields[1], port)
    return None


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether PostgreSQL on ``port`` accepts connections now."""
    if shutil.which("pg_isready"):
        done = subprocess.run(
            ["pg_isready", "-q", "-h", host, "-p", str(port), "-t", "2"], check=False
        )
        return done.returncode == 0
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def stop(cluster: Cluster) -> None:
    """Stop the cluster (fast shutdown); raises if ``pg_ctlcluster`` refuses."""
    subprocess.run(cluster.command("stop"), check=True, capture_output=True, timeout=120)


def start(cluster: Cluster, wait: float = 120) -> float:
    """Start the cluster (nothing if it runs) and wait until it accepts; the seconds taken."""
    began = time.monotonic()
    done = subprocess.run(cluster.command("start"), capture_output=True, timeout=120, check=False)
    # 2: it was running already.
    if done.returncode not in (0, 2):
        raise RuntimeError(f"pg_ctlcluster start {cluster.label}: {done.stderr.decode()[-500:]}")
    deadline = began + wait
    while not accepts(cluster.port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL {cluster.label} did not come back in {wait:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - began


def ensure_running(cluster: Cluster | None) -> str:
    """Make sure the cluster runs (started if it does not); says what was done."""
    if cluster is None:
        return "no cluster to look after"
    if accepts(cluster.port):
        return f"PostgreSQL {cluster.label} running"
    took = start(cluster)
    return f"PostgreSQL {cluster.label} was down: started ({took:.1f} s)"


@contextlib.contextmanager
def guard(command: list[str], after: float) -> Iterator[None]:
    """Run ``command`` in ``after`` seconds from a process of its own, unless the block ends first.

    Undoes a fault (PostgreSQL stopped, a wiki frozen) even if the bench is
    killed with SIGKILL in between, when no ``finally`` of ours runs.
    """
    script = f"sleep {after:.0f}; {shlex.join(command)}"
    watcher = subprocess.Popen(
        ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(watcher.pid, signal.SIGKILL)
        watcher.wait()


def freeze(pid: int) -> None:
    """SIGSTOP the process group of ``pid``: it answers nothing, connections wait."""
    os.killpg(pid, signal.SIGSTOP)


def thaw(pid: int) -> None:
    """SIGCONT the process group of ``pid``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGCONT)
