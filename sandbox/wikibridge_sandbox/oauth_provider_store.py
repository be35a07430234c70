"""Storage of the sandbox OAuth provider: consumers, tokens, nonces (SQLite).

One database file, ``<state_dir>/oauth/provider.sqlite3`` (mode 0600), so
tokens survive a provider restart and :func:`revoke` works from another
process while the provider runs. Every call opens its own connection: the
provider serves requests on many threads, and SQLite connections must not be
shared between them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CALLBACK_PREFIX",
    "GRANTS",
    "AccessGrant",
    "SandboxConsumers",
    "Store",
    "oauth_dir",
    "state_id",
]

CALLBACK_PREFIX = "http://127.0.0.1:"
"""The consumers' registered callback, used as a prefix so apps on any port work."""

GRANTS = (
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "uploadfile",
    "uploadeditmovefile",
)
"""Grants of the sandbox consumers, as MediaWiki names them."""

REQUEST_TOKEN_TTL = 600.0  # MediaWiki keeps request tokens for 10 minutes
AUTH_CODE_TTL = 600.0
OAUTH2_ACCESS_TTL = 3600  # Extension:OAuth's OAuth2GrantExpirationInterval, PT1H

_SCHEMA = """
CREATE TABLE IF NOT EXISTS consumers (
    version INTEGER PRIMARY KEY,       -- 1: OAuth 1.0a, 2: OAuth 2
    key TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    callback TEXT NOT NULL,
    callback_is_prefix INTEGER NOT NULL,
    grants TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS central_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS request_tokens (
    key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    consumer TEXT NOT NULL,
    callback TEXT NOT NULL,
    created REAL NOT NULL,
    username TEXT,
    verifier TEXT,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS access_tokens (
    key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    consumer TEXT NOT NULL,
    username TEXT NOT NULL,
    created REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS nonces (
    consumer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    token TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (consumer, nonce, timestamp, token)
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    challenge TEXT,
    challenge_method TEXT,
    created REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bearer_tokens (
    access_token TEXT PRIMARY KEY,
    refresh_token TEXT UNIQUE,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


def state_id(state_dir: Path) -> str:
    """A short id of a sandbox state directory, so a client can tell providers apart."""
    return hashlib.sha256(str(Path(state_dir).expanduser().absolute()).encode()).hexdigest()[:16]


def oauth_dir(state_dir: Path) -> Path:
    """Where the provider keeps its database, secret key, pid and log files."""
    return Path(state_dir) / "oauth"


@dataclass(frozen=True)
class SandboxConsumers:
    """The sandbox's registered OAuth 1.0a consumer and OAuth 2 client.

    Both are registered with :data:`CALLBACK_PREFIX` as a callback *prefix*:
    pass your full callback URL (``http://127.0.0.1:PORT/...``) to initiate or
    as ``redirect_uri``.
    """

    oauth1_key: str
    oauth1_secret: str = field(repr=False)
    oauth2_client_id: str = ""
    oauth2_client_secret: str = field(default="", repr=False)
    callback_prefix: str = CALLBACK_PREFIX
    grants: tuple[str, ...] = GRANTS


@dataclass(frozen=True)
class AccessGrant:
    """Who an access token acts for, and for which consumer."""

    username: str
    consumer: str
    scopes: tuple[str, ...] = ()


def _hex(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


class Store:
    """The provider's SQLite database (created on first use, mode 0600)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = oauth_dir(state_dir)
        self.path = self.dir / "provider.sqlite3"
        self._ready = False

    @contextlib.contextmanager
    def _db(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._create()
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout = 30000")
            # A writer takes the lock up front: upgrading a read transaction
            # later fails at once instead of waiting.
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def _create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        # Create the file with mode 0600 before SQLite opens it, so the
        # secrets in it are never readable by others, not even for a moment.
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            connection.commit()
        finally:
            connection.close()
        self._ready = True

    # --- consumers -----------------------------------------------------------

    def ensure_consumers(self) -> SandboxConsumers:
        """Register the OAuth 1.0a consumer and OAuth 2 client once; return them."""
        with self._db() as db:
            for version, key_bytes in ((1, 16), (2, 16)):
                exists = db.execute("SELECT 1 FROM consumers WHERE version = ?", (version,))
                if exists.fetchone() is None:
                    # MediaWiki's keys are 32 hex digits, its secrets 40.
                    db.execute(
                        "INSERT INTO consumers VALUES (?, ?, ?, ?, 1, ?)",
                        (version, _hex(key_bytes), _hex(20), CALLBACK_PREFIX, " ".join(GRANTS)),
                    )
            rows = {
                row[0]: row[1:] for row in db.execute("SELECT version, key, secret FROM consumers")
            }
        return SandboxConsumers(
            oauth1_key=rows[1][0],
            oauth1_secret=rows[1][1],
            oauth2_client_id=rows[2][0],
            oauth2_client_secret=rows[2][1],
        )

    def consumer_id(self, key: str) -> int | None:
        """The consumer's numeric id (MediaWiki's ``oarc_id``, shown in change tags)."""
        with self._db(write=False) as db:
            row = db.execute("SELECT version FROM consumers WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def consumer(self, key: str, version: int) -> tuple[str, str, bool, tuple[str, ...]] | None:
        """(secret, callback, callback_is_prefix, grants) of a consumer, or None."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT secret, callback, callback_is_prefix, grants FROM consumers "
                "WHERE key = ? AND version = ?",
                (key, version),
            ).fetchone()
        if row is None:
            return None
        return row[0], row[1], bool(row[2]), tuple(row[3].split())

    # --- central ids ----------------------------------------------------------

    def central_id(self, username: str) -> int:
        """A stable central user id for ``username`` (assigned on first sight)."""
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO central_users (username) VALUES (?)", (username,))
            row = db.execute(
                "SELECT id FROM central_users WHERE username = ?", (username,)
            ).fetchone()
        return int(row[0])

    # --- OAuth 1.0a -----------------------------------------------------------

    def save_request_token(self, key: str, secret: str, consumer: str, callback: str) -> None:
        """Remember a new request token and where its callback goes."""
        with self._db() as db:
            db.execute(
                "INSERT INTO request_tokens (key, secret, consumer, callback, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, secret, consumer, callback, time.time()),
            )

    def request_token(self, key: str) -> dict[str, str | None] | None:
        """A live (unused, unexpired) request token's fields, or None."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT secret, consumer, callback, username, verifier FROM request_tokens "
                "WHERE key = ? AND used = 0 AND created > ?",
                (key, time.time() - REQUEST_TOKEN_TTL),
            ).fetchone()
        if row is None:
            return None
        names = ("secret", "consumer", "callback", "username", "verifier")
        return dict(zip(names, row, strict=True))

    def approve_request_token(self, key: str, username: str) -> None:
        """Record that ``username`` approved the consumer for this request token."""
        with self._db() as db:
            db.execute("UPDATE request_tokens SET username = ? WHERE key = ?", (username, key))

    def save_verifier(self, key: str, verifier: str) -> None:
        """Store the verifier handed to the consumer's callback."""
        with self._db() as db:
            db.execute("UPDATE request_tokens SET verifier = ? WHERE key = ?", (verifier, key))

    def use_request_token(self, key: str) -> None:
        """A request token is good for one exchange only."""
        with self._db() as db:
            db.execute("UPDATE request_tokens SET used = 1 WHERE key = ?", (key,))

    def save_access_token(self, key: str, secret: str, consumer: str, username: str) -> None:
        """Store a new OAuth 1.0a access token for ``username``."""
        with self._db() as db:
            db.execute(
                "INSERT INTO access_tokens (key, secret, consumer, username, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, secret, consumer, username, time.time()),
            )

    def access_token(self, key: str) -> tuple[str, AccessGrant] | None:
        """(secret, grant) of a live OAuth 1.0a access token, or None if unknown or revoked."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT secret, consumer, username FROM access_tokens "
                "WHERE key = ? AND revoked = 0",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return row[0], AccessGrant(username=row[2], consumer=row[1])

    def use_nonce(self, consumer: str, nonce: str, timestamp: int, token: str) -> bool:
        """Record a nonce; False if it was already used (a replay)."""
        with self._db() as db:
            # Timestamps older than the accepted window cannot come back.
            db.execute("DELETE FROM nonces WHERE timestamp < ?", (int(time.time()) - 3600,))
            cursor = db.execute(
                "INSERT OR IGNORE INTO nonces VALUES (?, ?, ?, ?)",
                (consumer, nonce, timestamp, token),
            )
            return cursor.rowcount == 1

    # --- OAuth 2 --------------------------------------------------------------

    def save_auth_code(
        self,
        code: str,
        client_id: str,
        username: str,
        redirect_uri: str,
        scopes: list[str],
        challenge: str | None,
        challenge_method: str | None,
    ) -> None:
        """Store an authorization code with its PKCE challenge."""
        with self._db() as db:
            db.execute(
                "INSERT INTO auth_codes (code, client_id, username, redirect_uri, scopes, "
                "challenge, challenge_method, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    client_id,
                    username,
                    redirect_uri,
                    " ".join(scopes),
                    challenge,
                    challenge_method,
                    time.time(),
                ),
            )

    def auth_code(self, code: str) -> dict[str, str | None] | None:
        """A live (unused, unexpired) authorization code's fields, or None."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT client_id, username, redirect_uri, scopes, challenge, challenge_method "
                "FROM auth_codes WHERE code = ? AND used = 0 AND created > ?",
                (code, time.time() - AUTH_CODE_TTL),
            ).fetchone()
        if row is None:
            return None
        names = ("client_id", "username", "redirect_uri", "scopes", "challenge", "method")
        return dict(zip(names, row, strict=True))

    def use_auth_code(self, code: str) -> None:
        """An authorization code is good for one exchange only."""
        with self._db() as db:
            db.execute("UPDATE auth_codes SET used = 1 WHERE code = ?", (code,))

    def save_bearer_token(
        self,
        access_token: str,
        refresh_token: str | None,
        client_id: str,
        username: str,
        scopes: list[str],
        expires_in: int,
        replaces_refresh_token: str | None = None,
    ) -> None:
        """Store an OAuth 2 token pair; a refresh retires the pair it replaces."""
        with self._db() as db:
            if replaces_refresh_token:
                db.execute(
                    "UPDATE bearer_tokens SET revoked = 1, refresh_token = NULL "
                    "WHERE refresh_token = ?",
                    (replaces_refresh_token,),
                )
            db.execute(
                "INSERT INTO bearer_tokens VALUES (?, ?, ?, ?, ?, ?, 0)",
                (
                    access_token,
                    refresh_token,
                    client_id,
                    username,
                    " ".join(scopes),
                    time.time() + expires_in,
                ),
            )

    def bearer_token(self, access_token: str) -> AccessGrant | None:
        """Who a live OAuth 2 access token acts for, or None."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT client_id, username, scopes FROM bearer_tokens "
                "WHERE access_token = ? AND revoked = 0 AND expires > ?",
                (access_token, time.time()),
            ).fetchone()
        if row is None:
            return None
        return AccessGrant(username=row[1], consumer=row[0], scopes=tuple(row[2].split()))

    def refresh_grant(self, refresh_token: str) -> AccessGrant | None:
        """Who a live refresh token belongs to, or None."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT client_id, username, scopes FROM bearer_tokens "
                "WHERE refresh_token = ? AND revoked = 0",
                (refresh_token,),
            ).fetchone()
        if row is None:
            return None
        return AccessGrant(username=row[1], consumer=row[0], scopes=tuple(row[2].split()))

    # --- administration ---------------------------------------------------------

    def revoke(self, username: str) -> int:
        """Revoke every token of ``username``; return how many were live."""
        with self._db() as db:
            count = db.execute(
                "UPDATE access_tokens SET revoked = 1 WHERE username = ? AND revoked = 0",
                (username,),
            ).rowcount
            count += db.execute(
                "UPDATE bearer_tokens SET revoked = 1 WHERE username = ? AND revoked = 0",
                (username,),
            ).rowcount
            # A handshake in progress must not produce a fresh token afterwards.
            db.execute("UPDATE request_tokens SET used = 1 WHERE username = ?", (username,))
            db.execute("UPDATE auth_codes SET used = 1 WHERE username = ?", (username,))
        return count

    def expire(self, username: str) -> int:
        """Make every live OAuth 2 access token of ``username`` expire now; return how many.

        Their refresh tokens stay good: this is what an hour's wait does to a
        token, without the wait (tests).
        """
        now = time.time()
        with self._db() as db:
            return int(
                db.execute(
                    "UPDATE bearer_tokens SET expires = ? "
                    "WHERE username = ? AND revoked = 0 AND expires > ?",
                    (now - 1, username, now),
                ).rowcount
            )

    def counts(self) -> dict[str, int]:
        """Numbers of live tokens, for status lines."""
        with self._db(write=False) as db:
            oauth1 = db.execute("SELECT COUNT(*) FROM access_tokens WHERE revoked = 0")
            n1 = int(oauth1.fetchone()[0])
            oauth2 = db.execute(
                "SELECT COUNT(*) FROM bearer_tokens WHERE revoked = 0 AND expires > ?",
                (time.time(),),
            )
            n2 = int(oauth2.fetchone()[0])
        return {"oauth1": n1, "oauth2": n2}
