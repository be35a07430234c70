"""A throwaway Dovecot IMAP server for the tests (a pytest plugin).

``dovecot`` starts one Dovecot per test session from a config file in a fresh
temporary folder (a plain IMAP listener offering STARTTLS, and an IMAPS
listener, both on free loopback ports, with a certificate signed by a
throwaway CA) and stops it at the end. ``imap_account`` gives each test a user
of its own, so its mailboxes start empty. Each session's folder and ports are
new, so a second run, or a Dovecot left running by a killed run, is no
obstacle.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"

_CONFIG = """\
# A throwaway Dovecot for wikibridge's tests; everything lives under {root}.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{root}/tls/server.pem
ssl_key = <{root}/tls/server.key
{ssl_dh}
disable_plaintext_auth = no
# No stats process to talk to: its handshake timeouts slow the stop down.
stats_writer_socket_path =
# Refused logins answer at once (the tests try a wrong password).
auth_failure_delay = 0
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  # A file per user: a new user is found at once (one shared file is reread
  # at most once a second).
  args = scheme=PLAIN username_format=%u {root}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
  # No auth penalty: after the tests' wrong password, 127.0.0.1 logs in at once.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class DovecotError(RuntimeError):
    """Dovecot could not be started for the tests."""


def dovecot_binary() -> str:
    """Where Debian's ``dovecot-imapd`` put the server (often outside a user's PATH)."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise DovecotError(
            "dovecot is not installed: run `sh .ci/install-debian-packages` (dovecot-imapd)"
        )
    return found


def free_ports(count: int) -> list[int]:
    """Loopback ports free right now (held open together, so they differ)."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


# --- certificates -------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA certificate and its key, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_server_cert(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for 127.0.0.1 and localhost signed by ``ca``.

    A proper CA plus leaf (rather than one self-signed leaf) passes the strict
    verification that newer Pythons turn on by default.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def write_certificates(tls: Path) -> tuple[Path, Path]:
    """Write the server's certificate and key, its CA, and an unrelated CA.

    Returns the paths of the right CA and of the wrong one.
    """
    tls.mkdir(mode=0o755)
    ca, ca_key = make_ca("wikibridge test CA")
    server, server_key = make_server_cert(ca, ca_key)
    wrong_ca, _ = make_ca("wikibridge unrelated CA")
    (tls / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file = tls / "server.key"
    key_file.write_bytes(_pem_key(server_key))
    key_file.chmod(0o600)
    (tls / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tls / "wrong-ca.pem").write_bytes(wrong_ca.public_bytes(serialization.Encoding.PEM))
    return tls / "ca.pem", tls / "wrong-ca.pem"


# --- the server ---------------------------------------------------------------


@dataclass
class ImapAccount:
    """One user's mail on the test server, seen through a fresh IMAP connection."""

    server: DovecotServer
    username: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        """A logged-in plain connection (the helpers' own, not the code under test)."""
        conn = imaplib.IMAP4(self.server.host, self.server.imap_port, timeout=10)
        plain = f"\0{self.username}\0{self.password}".encode()
        conn.authenticate("PLAIN", lambda _challenge: plain)  # UTF-8 passwords too
        return conn

    def mailbox(self, **overrides: Any) -> dict[str, Any]:
        """An ``IMAP_MAILBOXES`` entry for this account on the plain port."""
        settings: dict[str, Any] = {
            "name": self.username,
            "host": self.server.host,
            "port": self.server.imap_port,
            "security": "none",
            "username": self.username,
            "password": self.password,
            "folder": "INBOX",
            "done": "flag",
            "timeout": 10,
        }
        settings.update(overrides)
        return settings

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        """Put ``raw`` into ``folder`` as a mail client or delivery agent would."""
        conn = self.connect()
        try:
            if folder != "INBOX":
                conn.create(_quote(folder))
            typ, data = conn.append(_quote(folder), flags or None, None, raw)
            if typ != "OK":
                raise AssertionError(f"APPEND refused: {data!r}")
        finally:
            conn.logout()

    def folders(self) -> list[str]:
        """The names of this user's folders."""
        conn = self.connect()
        try:
            _typ, data = conn.list()
        finally:
            conn.logout()
        names = []
        for line in data:
            if isinstance(line, bytes):
                match = re.match(rb'\(.*?\) (?:"."|NIL) "?(.*?)"?$', line)
                if match:
                    names.append(match.group(1).decode())
        return names

    def messages(self, folder: str = "INBOX") -> list[tuple[frozenset[str], bytes]]:
        """Each message of ``folder`` in UID order: its flags and bytes (unread stays unread)."""
        conn = self.connect()
        try:
            typ, _ = conn.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            _typ, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        finally:
            conn.logout()
        found = []
        for item in data:
            if isinstance(item, tuple):
                flags = frozenset(f.decode() for f in imaplib.ParseFlags(item[0]))
                found.append((flags, item[1]))
        return found

    def flags(self, folder: str = "INBOX") -> list[frozenset[str]]:
        """The flags of each message of ``folder`` in UID order."""
        return [flags for flags, _raw in self.messages(folder)]


@dataclass
class DovecotServer:
    """A running Dovecot; see the module's docstring."""

    root: Path
    config: Path
    host: str
    imap_port: int
    imaps_port: int
    ca_file: Path
    wrong_ca_file: Path
    mail_user: str

    def add_user(self, username: str | None = None, password: str | None = None) -> ImapAccount:
        """A new user with empty mailboxes."""
        username = username or f"user{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(12)
        entry = self.root / "passwd.d" / username
        entry.write_text(f"{username}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
        entry.chmod(0o644)
        return ImapAccount(self, username, password)

    def log(self) -> str:
        """Dovecot's log so far (for failure messages)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop this instance (and only it) and wait until its master has gone."""
        pid = _master_pid(self.root)
        subprocess.run(
            [dovecot_binary(), "-c", str(self.config), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        deadline = time.monotonic() + 10
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _master_pid(root: Path) -> int | None:
    try:
        return int((root / "run" / "master.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _accounts() -> tuple[str, str, str, str]:
    """Login user, internal user, mail user and group, as the current user allows.

    As root Dovecot refuses to run its login processes as root, so they run as
    Debian's ``dovenull`` and ``dovecot``; without root it can only be us.
    """
    if os.geteuid() == 0:
        return "dovenull", "dovecot", "dovecot", "dovecot"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, me, me, me


def _wait_for_greeting(host: str, port: int, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise DovecotError(f"Dovecot does not listen on {host}:{port}: {last}")


def start_dovecot(root: Path) -> DovecotServer:
    """Write a config into ``root`` (empty), start Dovecot from it, wait until it listens."""
    root.chmod(0o755)  # the login and mail processes run as other users
    login_user, internal_user, mail_user, mail_group = _accounts()
    ca_file, wrong_ca_file = write_certificates(root / "tls")
    home = root / "home"
    home.mkdir()
    owner = pwd.getpwnam(mail_user)
    os.chown(home, owner.pw_uid, owner.pw_gid)
    (root / "passwd.d").mkdir(mode=0o755)
    dh = Path("/usr/share/dovecot/dh.pem")
    imap_port, imaps_port = free_ports(2)
    config = root / "dovecot.conf"
    config.write_text(
        _CONFIG.format(
            root=root,
            host=HOST,
            imap_port=imap_port,
            imaps_port=imaps_port,
            login_user=login_user,
            internal_user=internal_user,
            mail_user=mail_user,
            mail_group=mail_group,
            ssl_dh=f"ssl_dh = <{dh}" if dh.exists() else "",
        )
    )
    output = root / "start.out"
    with output.open("wb") as out:
        # The daemon keeps the output it inherited open: a file, never a pipe.
        started = subprocess.run(
            [dovecot_binary(), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=30,
            check=False,
        )
    server = DovecotServer(
        root=root,
        config=config,
        host=HOST,
        imap_port=imap_port,
        imaps_port=imaps_port,
        ca_file=ca_file,
        wrong_ca_file=wrong_ca_file,
        mail_user=mail_user,
    )
    if started.returncode != 0:
        raise DovecotError(
            f"dovecot -c {config} failed ({started.returncode}):\n"
            f"{output.read_text(errors='replace')}\n{server.log()}"
        )
    deadline = time.monotonic() + 15
    try:
        _wait_for_greeting(HOST, imap_port, deadline)
        _wait_for_greeting(HOST, imaps_port, deadline)
    except DovecotError as exc:
        server.stop()
        raise DovecotError(f"{exc}\n{server.log()}") from None
    return server


def start_fresh_dovecot() -> DovecotServer:
    """Start Dovecot in a new temporary folder, on new ports if the first were taken."""
    for attempt in range(3):
        # Not pytest's tmp_path: its folders are private to root, and Dovecot's
        # unprivileged processes must reach the sockets and mail inside.
        root = Path(tempfile.mkdtemp(prefix="wikibridge-dovecot-"))
        try:
            return start_dovecot(root)
        except DovecotError as exc:
            shutil.rmtree(root, ignore_errors=True)
            # Another process may have taken a "free" port in between.
            if attempt == 2 or "in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A Dovecot of this test session's own, stopped and removed at the end."""
    try:
        server = start_fresh_dovecot()
    except DovecotError as exc:
        pytest.fail(f"cannot start Dovecot for the tests: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """A user of its own on the test Dovecot, with an empty INBOX."""
    return dovecot.add_user()
