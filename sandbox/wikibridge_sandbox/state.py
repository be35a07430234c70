"""What a sandbox is made of: its wikis and accounts, as the state file keeps them.

The data classes and constants shared by :mod:`wikibridge_sandbox.wikis` and the
modules it builds and serves the wikis with, which import them from here (and
not from each other).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIKI_TITLES = {"commons": "Sandbox Commons", "meta": "Sandbox Meta"}

BOT_APP_ID = "wikibridge"
PROXY_APP_ID = "oauthproxy"
# The bot does maintenance a sysop would do; the proxy acts for a volunteer and
# gets ordinary editing, never protection or deletion.
BOT_GRANTS = (
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "uploadfile",
    "uploadeditmovefile",
    "editprotected",
    "protect",
    "delete",
    "patrol",
    "rollback",
    "blockusers",
    "editmywatchlist",
    "viewmywatchlist",
)
PROXY_GRANTS = (
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "uploadfile",
    "uploadeditmovefile",
    "editmywatchlist",
    "viewmywatchlist",
)
# Groups that lose ``noratelimit`` while the ratelimit switch is on: the sandbox
# grants it to ``user``, MediaWiki to ``bot`` and ``sysop``.
RATE_LIMITED_GROUPS = ("user", "bot", "sysop")
_SWITCHES = "switches"


class SandboxError(RuntimeError):
    """The sandbox cannot be set up, started or read; the message says what to do."""


@dataclass(frozen=True)
class SandboxWiki:
    """One sandbox wiki and where its files are."""

    name: str
    port: int
    url: str
    api_url: str
    index_url: str
    config_file: Path
    db_dir: Path
    upload_dir: Path
    #: PHP file included at the end of the settings if it exists: tests write
    #: settings there (rate limits, abuse filters, maxlag hooks).
    extra_settings: Path

    @property
    def dir(self) -> Path:
        """The wiki's directory."""
        return self.config_file.parent

    @property
    def log_file(self) -> Path:
        """Output of the wiki's web server."""
        return self.dir / "server.log"

    @property
    def pid_file(self) -> Path:
        """Process id of the wiki's web server while it runs."""
        return self.dir / "server.pid"

    @property
    def switches_dir(self) -> Path:
        """Files here turn faults on; the generated settings read them per request."""
        return self.dir / _SWITCHES

    def simulate_lag(self, seconds: float, requests: int = 1) -> None:
        """Report *seconds* of replication lag to the next *requests* maxlag API requests.

        Only API requests carrying ``maxlag`` count (and see the lag); with
        ``maxlag`` below *seconds* they get MediaWiki's own ``maxlag`` error,
        with ``Retry-After`` and ``X-Database-Lag``. The switch file
        ``switches/maxlag`` ("LAG COUNT") goes away when the count is used up.
        """
        if seconds < 0 or requests < 1:
            raise ValueError("lag needs seconds >= 0 and requests >= 1")
        self._write_switch("maxlag", f"{seconds:g} {int(requests)}")

    def rate_limit(
        self, edits: int, seconds: int, groups: Sequence[str] = RATE_LIMITED_GROUPS
    ) -> None:
        """Allow each user *edits* edits per *seconds*; more answer ``ratelimited``.

        *groups* lose ``noratelimit`` meanwhile (by default everyone, bots and
        admins too). Counters of earlier limits are reset. The switch file
        ``switches/ratelimit`` ("EDITS SECONDS GROUP,...") stays until
        :meth:`clear_switches`.
        """
        if edits < 1 or seconds < 1:
            raise ValueError("a rate limit needs edits >= 1 and seconds >= 1")
        if not groups or not all(re.fullmatch(r"[a-z0-9_-]+", group) for group in groups):
            raise ValueError(f"bad group names {groups!r}")
        self.reset_rate_limit_counters()
        self._write_switch("ratelimit", f"{int(edits)} {int(seconds)} {','.join(groups)}")

    def clear_switches(self) -> None:
        """Turn every fault switch off (lag, rate limits) and forget rate counters."""
        directory = self.switches_dir
        if directory.is_dir():
            for path in directory.iterdir():
                if not path.name.startswith("."):
                    path.unlink(missing_ok=True)
        self.reset_rate_limit_counters()

    def reset_rate_limit_counters(self) -> None:
        """Forget what the rate limiter counted (kept in the SQLite object cache)."""
        cache = self.db_dir / "wikicache.sqlite"
        if not cache.is_file():
            return
        with contextlib.closing(sqlite3.connect(cache, timeout=30)) as db, db:
            db.execute("DELETE FROM objectcache WHERE keyname LIKE '%limiter%'")

    def _write_switch(self, name: str, content: str) -> None:
        self.switches_dir.mkdir(exist_ok=True)
        path = self.switches_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(content + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def at(cls, state_dir: Path, name: str, port: int) -> SandboxWiki:
        """Describe wiki *name* served on *port* from *state_dir*."""
        url = f"http://127.0.0.1:{port}"
        directory = state_dir / name
        return cls(
            name=name,
            port=port,
            url=url,
            api_url=f"{url}/api.php",
            index_url=f"{url}/index.php",
            config_file=directory / "LocalSettings.php",
            db_dir=directory / "db",
            upload_dir=directory / "images",
            extra_settings=directory / "Extra.php",
        )


@dataclass(frozen=True)
class Account:
    """A user account with the same password on every sandbox wiki."""

    username: str
    password: str


@dataclass(frozen=True)
class BotAccount:
    """The wikibridge bot user and its bot password."""

    username: str
    password: str
    groups: list[str]
    botpassword_name: str
    botpassword: str
    grants: list[str]

    @property
    def login_name(self) -> str:
        """User name for ``action=login`` with the bot password."""
        return f"{self.username}@{self.botpassword_name}"


@dataclass(frozen=True)
class Volunteer:
    """A sample VRT volunteer (or would-be volunteer) on both wikis.

    ``proxy_botpassword`` lets the sandbox OAuth provider act as this user on the
    real wiki: log in as :attr:`proxy_login_name` with it.
    """

    username: str
    password: str
    groups: list[str]
    blocked: bool
    proxy_botpassword: str
    proxy_botpassword_name: str = PROXY_APP_ID
    proxy_grants: list[str] = field(default_factory=lambda: list(PROXY_GRANTS))

    @property
    def proxy_login_name(self) -> str:
        """User name for ``action=login`` with the proxy bot password."""
        return f"{self.username}@{self.proxy_botpassword_name}"


@dataclass(frozen=True)
class SandboxState:
    """Everything a client of the sandbox needs, as stored in ``sandbox.json``."""

    dir: Path
    wikis: dict[str, SandboxWiki]
    admin: Account
    bot: BotAccount
    volunteers: list[Volunteer]
    files: list[str]
    family_file: Path

    @property
    def commons(self) -> SandboxWiki:
        """The sandbox Commons."""
        return self.wikis["commons"]

    @property
    def meta(self) -> SandboxWiki:
        """The sandbox Meta."""
        return self.wikis["meta"]

    def volunteer(self, username: str) -> Volunteer:
        """The sample volunteer called *username*."""
        for volunteer in self.volunteers:
            if volunteer.username == username:
                return volunteer
        raise KeyError(username)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, login names spelt out)."""
        return {
            "dir": str(self.dir),
            "wikis": {
                name: {
                    key: str(value) if isinstance(value, Path) else value
                    for key, value in vars(wiki).items()
                }
                for name, wiki in self.wikis.items()
            },
            "admin": vars(self.admin),
            "bot": {**vars(self.bot), "login_name": self.bot.login_name},
            "volunteers": [
                {**vars(v), "proxy_login_name": v.proxy_login_name} for v in self.volunteers
            ],
            "files": list(self.files),
            "family_file": str(self.family_file),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxState:
        """Rebuild a state from :meth:`to_json` output."""
        path_keys = {"config_file", "db_dir", "upload_dir", "extra_settings"}
        wikis = {}
        for name, wiki in data["wikis"].items():
            fields: dict[str, Any] = {
                key: Path(value) if key in path_keys else value for key, value in wiki.items()
            }
            wikis[name] = SandboxWiki(**fields)
        bot = {key: value for key, value in data["bot"].items() if key != "login_name"}
        volunteers = [
            Volunteer(**{key: value for key, value in v.items() if key != "proxy_login_name"})
            for v in data["volunteers"]
        ]
        return cls(
            dir=Path(data["dir"]),
            wikis=wikis,
            admin=Account(**data["admin"]),
            bot=BotAccount(**bot),
            volunteers=volunteers,
            files=list(data["files"]),
            family_file=Path(data["family_file"]),
        )
