"""Fixtures for the sandbox OAuth provider (owned by the OAuth work).

``oauth_provider`` runs the provider (see ``wikibridge_sandbox.oauth_provider``)
in front of the ``sandbox`` wikis, once per test session. A provider of a kept
sandbox that already runs is reused on its port; otherwise it starts on
``WIKIBRIDGE_TEST_OAUTH_PORT``, else on a free port. Like the wikis, it is stopped at the end
unless ``WIKIBRIDGE_TEST_SANDBOX_DIR`` keeps the sandbox between runs.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from oauth.mediawiki1 import OAuth1Consumer
from wikibridge_sandbox import oauth_provider as provider_process
from wikibridge_sandbox.oauth_provider_store import SandboxConsumers
from wikibridge_sandbox.wikis import SandboxState

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass(frozen=True)
class OAuthProvider:
    """The running sandbox OAuth provider, its consumers and the wikis behind it.

    Its wikis are at ``{url}/commons/…`` and ``{url}/meta/…``; the identify
    issuer is ``url`` itself.
    """

    url: str
    consumers: SandboxConsumers
    sandbox: SandboxState

    @property
    def issuer(self) -> str:
        """The ``iss`` of its identify statements (MediaWiki's canonical server)."""
        return self.url

    @property
    def netloc(self) -> str:
        """``127.0.0.1:PORT``: the key of pywikibot's ``config.authenticate``."""
        return urlsplit(self.url).netloc

    def index_url(self, wiki: str = "meta") -> str:
        """``index.php`` of ``wiki`` through the provider (Special:OAuth lives here)."""
        return f"{self.url}/{wiki}/index.php"

    def rest_url(self, wiki: str = "meta") -> str:
        """``rest.php`` of ``wiki`` through the provider (OAuth 2 lives here)."""
        return f"{self.url}/{wiki}/rest.php"

    def api_url(self, wiki: str = "commons") -> str:
        """``api.php`` of ``wiki`` through the provider: signed requests run as the user."""
        return f"{self.url}/{wiki}/api.php"

    def oauth1_consumer(self, wiki: str = "meta") -> OAuth1Consumer:
        """The sandbox OAuth 1.0a consumer, as :mod:`oauth.mediawiki1` wants it."""
        return OAuth1Consumer(
            index_url=self.index_url(wiki),
            issuer=self.issuer,
            key=self.consumers.oauth1_key,
            secret=self.consumers.oauth1_secret,
        )

    def revoke(self, username: str) -> int:
        """Revoke every token of ``username``; return how many were live."""
        return provider_process.revoke(self.sandbox.dir, username)

    def expire(self, username: str) -> int:
        """Let every OAuth 2 access token of ``username`` expire now (refresh tokens stay)."""
        return provider_process.expire(self.sandbox.dir, username)

    def approve(
        self,
        authorize_url: str,
        username: str,
        password: str,
        *,
        allow: bool = True,
        browser: requests.Session | None = None,
    ) -> str:
        """Log in on the wiki and allow (or cancel) on the provider's page; return the redirect.

        Plays the volunteer's browser with ``requests``, the extension's way:
        the authorize URL leads to ``Special:UserLogin`` (form ``wpName``,
        ``wpPassword``) unless this browser is logged in already, which leads
        to ``Special:OAuth/authorize`` or ``Special:OAuth/approve``, where the
        ``accept`` ("Allow") or ``cancel`` button is pressed. Returns the
        ``Location`` the provider redirects to (the consumer's callback with
        ``oauth_verifier`` or ``code``), without following it.

        :raises AssertionError: if a page is not what a volunteer would see.
        """
        session = browser or requests.Session()
        page = session.get(authorize_url, timeout=30)
        assert page.status_code == 200, page.text
        if 'name="wpPassword"' in page.text:
            assert "Special%3AUserLogin" in page.url or "Special:UserLogin" in page.url, page.url
            form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
            page = session.post(
                page.url,
                data={**form, "wpName": username, "wpPassword": password},
                timeout=30,
            )
            assert page.status_code == 200, page.text
            assert ">Allow<" in page.text, f"login as {username} failed"
        form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
        button = {"accept": "1"} if allow else {"cancel": "1"}
        answer = session.post(page.url, data={**form, **button}, allow_redirects=False, timeout=30)
        assert answer.status_code in (302, 303), answer.text
        return urljoin(page.url, answer.headers["Location"])


def callback_query(location: str) -> dict[str, str]:
    """The query parameters of a callback URL, one value each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def oauth_provider(sandbox: SandboxState) -> Iterator[OAuthProvider]:
    """The sandbox OAuth provider in front of the ``sandbox`` wikis."""
    state_dir = Path(sandbox.dir)
    configured = os.environ.get("WIKIBRIDGE_TEST_OAUTH_PORT")
    # A provider of this sandbox that already runs is reused, on its port.
    url = provider_process.ensure_running(
        state_dir, int(configured) if configured else _free_port()
    )
    yield OAuthProvider(
        url=url, consumers=provider_process.ensure_consumers(state_dir), sandbox=sandbox
    )
    if not os.environ.get("WIKIBRIDGE_TEST_SANDBOX_DIR"):
        provider_process.stop(state_dir)
