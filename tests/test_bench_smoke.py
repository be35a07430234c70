"""The load and fault benches run end to end at a tiny size and print their tables.

Only the shape of the output is checked: figures depend on the machine, and
no test asserts on time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| action") and "---" not in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_load_embedded_prints_every_action() -> None:
    out = _bench(
        "load.py", "--seconds", "3", "--volunteers", "2", "--tickets", "200",
        "--setup", "embedded", "--mail-rate", "5",
    )  # fmt: skip
    rows = _rows(out)
    for action in ("queue view", "zoom", "mail in (LMTP)"):
        assert action in rows, out
        count, per_s, p50, p95, _errors, five_xx = rows[action]
        assert int(count) > 0
        float(per_s), float(p50), float(p95)
        assert int(five_xx) == 0, out
    assert "mail:" in out and "delivered (250)" in out


@pytest.mark.skipif(
    shutil.which("redis-server") is None or not _listening(5432),
    reason="the multi-process setup needs redis-server and PostgreSQL on 127.0.0.1:5432",
)
def test_load_multi_prints_every_action() -> None:
    out = _bench(
        "load.py", "--seconds", "3", "--volunteers", "2", "--tickets", "200",
        "--setup", "multi", "--mail-rate", "5", "--web-workers", "2",
        "--redis-port", str(_free_port()),
    )  # fmt: skip
    rows = _rows(out)
    assert {"queue view", "zoom", "mail in (LMTP)"} <= set(rows), out
    assert "gunicorn 2 workers" in out


def test_faults_quick_prints_the_table() -> None:
    out = _bench("faults.py", "--quick")
    rows = _rows(out)
    fault = rows["kill -9 LMTP listener mid-delivery"]
    in_flight, lost, doubled, recovered, _five_xx, _waiting, _note = fault
    assert "deliveries" in in_flight
    # What the LMTP client got 250 for is stored once; a kill costs retries, not mail.
    assert (lost, doubled) == ("0", "0"), out
    assert recovered != "not within the wait", out
    assert rows["wiki timing out"][-1].startswith("skipped:")
    assert "checked:" in out
