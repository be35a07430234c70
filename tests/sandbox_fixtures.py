"""Fixtures for the sandbox wikis (owned by the sandbox work).

``sandbox`` starts the two sandbox wikis once per test session. Set
``WIKIBRIDGE_TEST_SANDBOX_DIR`` to keep them between runs (``make test`` does):
the first run builds them (about 15 s), later runs find them running. Ports come
from ``WIKIBRIDGE_TEST_COMMONS_PORT``/``WIKIBRIDGE_TEST_META_PORT``, else from
the kept sandbox, else free ports.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from wikibridge_sandbox import wikis


def _free_ports(count: int) -> list[int]:
    """Ports free right now (held open together, so they differ)."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def _ports(state_dir: Path) -> tuple[int, int]:
    commons = os.environ.get("WIKIBRIDGE_TEST_COMMONS_PORT")
    meta = os.environ.get("WIKIBRIDGE_TEST_META_PORT")
    if commons and meta:
        return int(commons), int(meta)
    try:
        kept = wikis.load_state(state_dir).wikis
        ports = [kept["commons"].port, kept["meta"].port]
    except (wikis.SandboxError, KeyError):
        ports = _free_ports(2)
    return int(commons or ports[0]), int(meta or ports[1])


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[wikis.SandboxState]:
    """The running sandbox wikis, commons and meta, seeded (see wikibridge_sandbox.wikis)."""
    configured = os.environ.get("WIKIBRIDGE_TEST_SANDBOX_DIR")
    state_dir = Path(configured).expanduser() if configured else tmp_path_factory.mktemp("sandbox")
    commons_port, meta_port = _ports(state_dir)
    state = wikis.up(state_dir, commons_port=commons_port, meta_port=meta_port)
    yield state
    if not configured:
        wikis.down(state_dir)
