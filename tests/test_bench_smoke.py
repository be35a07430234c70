"""The load and fault benches run end to end at a tiny size and print their tables.

Only the shape of the output is checked: figures depend on the machine, and
no test asserts on time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
    in_flight, lost, doubled, recovered, _five_xx, _waiting, _note, _five_03 = fault
    assert "deliveries" in in_flight
    # What the LMTP client got 250 for is stored once; a kill costs retries, not mail.
    assert (lost, doubled) == ("0", "0"), out
    assert recovered != "not within the wait", out
    assert rows["wiki timing out"][-2].startswith("skipped:")
    assert "checked:" in out


def test_faults_names_its_faults() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults.py"), "--only", "lmtp,nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2 and "unknown fault(s) nonsense" in done.stderr


def test_a_guard_undoes_a_fault_only_when_the_bench_outlives_it(tmp_path: Path) -> None:
    """The watcher that restarts PostgreSQL or thaws the wiki should the bench be killed."""
    from bench.services import guard

    ended_in_time, outlived = tmp_path / "ended-in-time", tmp_path / "outlived"
    with guard(["touch", str(ended_in_time)], after=2):
        pass
    with guard(["touch", str(outlived)], after=1):
        time.sleep(3)
    assert outlived.exists() and not ended_in_time.exists()


def test_freeze_and_thaw_a_process_group() -> None:
    from bench.services import freeze, thaw

    def state(pid: int) -> str:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    def becomes(pid: int, stopped: bool) -> bool:
        # A signal is delivered asynchronously: give the kernel a moment.
        for _ in range(100):
            if (state(pid) == "T") is stopped:
                return True
            time.sleep(0.05)
        return False

    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        freeze(sleeper.pid)
        assert becomes(sleeper.pid, stopped=True)
        thaw(sleeper.pid)
        assert becomes(sleeper.pid, stopped=False)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.integration
@pytest.mark.skipif(
    shutil.which("redis-server") is None or not _listening(5432),
    reason="the multi-process setup needs redis-server and PostgreSQL on 127.0.0.1:5432",
)
def test_faults_wiki_stall_prints_its_row(sandbox: Any) -> None:
    """The sandbox Commons frozen a moment under a tagging batch (never PostgreSQL restarted).

    5 s is shorter than pywikibot's read timeout: the smoke shows the
    plumbing; the bench's own default (50 s) makes requests time out.
    """
    out = _bench(
        "faults.py", "--only", "wiki-stall", "--wiki-stall", "5", "--wiki-pages", "12",
        "--tickets", "200", "--volunteers", "2", "--mail-rate", "2",
        "--sandbox-dir", str(sandbox.dir), "--redis-port", str(_free_port()),
    )  # fmt: skip
    rows = _rows(out)
    (name,) = [row for row in rows if row.startswith("wiki timing out")]
    in_flight, lost, doubled, recovered, five_xx, _waiting, note, _five_03 = rows[name]
    assert "batch of 12 pages" in in_flight, out
    assert (lost, doubled, five_xx) == ("0", "0", "0"), out
    assert recovered != "not within the wait", out
    assert "batch finished: 12/12 pages tagged once" in note, out
    assert "PostgreSQL" not in out


def test_a_volunteer_counts_an_error_page_as_its_status() -> None:
    """A 503 page is a 503 in the figures, not "no answer" (a Response is falsy on 5xx)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.load import Recorder, volunteer

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rec = Recorder()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        until = time.monotonic() + 0.5
        volunteer(base, {}, ["1"], 1, until, threading.Event(), rec, seed=1)
    finally:
        server.shutdown()
        server.server_close()
    assert rec.samples and {s.status for s in rec.samples} == {503}


def test_intake_prints_its_rates_and_the_growth_rounds() -> None:
    out = _bench(
        "intake.py", "--messages", "12", "--pipe-messages", "3", "--databases", "sqlite",
        "--paths", "pipe,bulk", "--growth", "50", "--startup-runs", "1", "--attachments", "",
        "--nested-divs", "0", "--max-size", "20000",
    )  # fmt: skip
    assert "pipe: process/message on sqlite: p50" in out, out
    assert "x python -c 'import email'" in out
    assert "bulk on sqlite:" in out and "durable commits" in out
    growth = out.split("bulk path with tickets stored before the run", 1)[1]
    assert "median of 3 rounds" in growth
    for size in ("0", "50"):
        assert f"sqlite {size:>11} tickets before:" in growth, growth
