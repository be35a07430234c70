"""A private Postfix instance in front of the desk, for tests.

Debian's Postfix (``.ci/install-debian-packages``), with its own
configuration, queue and log in a temporary folder; it listens for SMTP on a
free loopback port and delivers every message for the mail domain through the
pipe transport (``wikibridge mail deliver``) or over LMTP to ``wikibridge
mail lmtp``, as an installation would, at Postfix's default concurrency.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
#: The user the pipe runs as: pipe(8) refuses root.
PIPE_USER = "nobody"

_MASTER = """\
{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
lmtp unix - - n - - lmtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
wikibridge unix - n n - - pipe
  flags=DRhu user={user} argv={argv}
"""

_MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = desk.example.org
mydestination = {domain}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
local_transport = {transport}
local_recipient_maps =
alias_maps =
alias_database =
wikibridge_destination_recipient_limit = 1
biff = no
"""


def available() -> bool:
    """Whether Debian's Postfix is installed here and can be run (as root)."""
    return Path(POSTFIX).exists() and os.geteuid() == 0


def deliver_command(folder: Path, env: dict[str, str]) -> list[str]:
    """The pipe's argv: ``wikibridge mail deliver`` with ``env``, runnable by :data:`PIPE_USER`.

    The test interpreter may live where that user cannot go (a home folder):
    then Debian's ``python3`` of the same version runs this checkout with the
    test environment's packages.
    """
    import sys

    script = folder / "deliver.py"
    script.write_text("from wikibridge.entry import main\nmain()\n")
    script.chmod(0o644)
    interpreter = sys.executable
    extra: dict[str, str] = {}
    probe = subprocess.run(
        ["su", "-s", "/bin/sh", PIPE_USER, "-c", f"{interpreter} -c pass"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        import site

        interpreter = "/usr/bin/python3"
        checkout = Path(__file__).resolve().parent.parent
        extra["PYTHONPATH"] = ":".join([*site.getsitepackages(), str(checkout)])
    pairs = [f"{k}={v}" for k, v in {**env, **extra}.items()]
    return ["/usr/bin/env", *pairs, interpreter, str(script), "mail", "deliver"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postfix:
    """One private instance; :meth:`start`, send with SMTP to :attr:`port`, :meth:`stop`.

    ``argv``: the pipe's command; ``lmtp_port``: deliver over LMTP to
    127.0.0.1 on that port instead.
    """

    def __init__(
        self,
        root: Path,
        argv: list[str],
        domain: str = "wikimedia.org",
        *,
        lmtp_port: int | None = None,
    ) -> None:
        self.root = root
        self.port = free_port()
        self.config = root / "etc"
        self.config.mkdir(parents=True)
        (root / "data").mkdir()
        shutil.chown(root / "data", "postfix", "postfix")
        (root / "spool").mkdir()
        transport = f"lmtp:inet:127.0.0.1:{lmtp_port}" if lmtp_port else "wikibridge"
        (self.config / "main.cf").write_text(
            _MAIN.format(root=root, domain=domain, transport=transport)
        )
        (self.config / "master.cf").write_text(
            _MASTER.format(port=self.port, user=PIPE_USER, argv=" ".join(argv) or "/bin/false")
        )
        for name in ("dynamicmaps.cf", "postfix-files"):
            if (Path("/etc/postfix") / name).exists():
                shutil.copy(Path("/etc/postfix") / name, self.config / name)
        for folder in ("dynamicmaps.cf.d", "postfix-files.d"):
            if (Path("/etc/postfix") / folder).is_dir():
                shutil.copytree(Path("/etc/postfix") / folder, self.config / folder)

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        """Start the instance and wait until it answers SMTP."""
        self._postfix("post-install", "create-missing")  # the queue's folders
        done = self._postfix("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stderr}{done.stdout}{self.log()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"postfix does not answer on {self.port}: {self.log()}")

    def stop(self) -> None:
        """Stop the instance (abort: nothing of it is kept)."""
        self._postfix("abort")

    def queue_empty(self) -> bool:
        """Whether every message has left the queue (delivered, or bounced)."""
        spool = self.root / "spool"
        return not any(
            any((spool / sub).rglob("*")) for sub in ("incoming", "active", "deferred", "maildrop")
        )

    def log(self) -> str:
        """The instance's mail log so far."""
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


def open_up(path: Path) -> None:
    """Let the pipe's user read and write ``path`` (a folder for the database and instance)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)  # noqa: S103 - a throwaway test folder the pipe user writes
