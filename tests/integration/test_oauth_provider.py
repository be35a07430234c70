"""The sandbox OAuth provider speaks MediaWiki's OAuth, and edits land as the volunteer.

Everything here goes over real HTTP: the ``oauth/`` client against the
provider, the provider against the real sandbox wikis, and pywikibot and
mwclient through the provider's ``api.php``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import mwclient
import pytest
import requests
from requests_oauthlib import OAuth1Session

from oauth import (
    BlockedUserError,
    CallbackMismatchError,
    HandshakeError,
    IdentifyError,
    check_oauth2_state,
    ensure_not_blocked,
    oauth1_verifier,
)
from oauth import mediawiki2 as mw2
from oauth.mediawiki1 import AccessToken, api_auth, complete, identify, initiate
from tests.oauth_fixtures import OAuthProvider, callback_query
from wikibridge_sandbox import oauth_provider as provider_process
from wikibridge_sandbox.family import write_family_file
from wikibridge_sandbox.wikis import SandboxWiki, Volunteer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CALLBACK = "http://127.0.0.1:9/oauth/callback"  # never called: we read the redirect


def handshake(provider: OAuthProvider, volunteer: Volunteer, wiki: str = "meta") -> AccessToken:
    """A full OAuth 1.0a handshake for ``volunteer``; the access token."""
    consumer = provider.oauth1_consumer(wiki)
    url, request_token = initiate(consumer, callback=CALLBACK)
    location = provider.approve(url, volunteer.username, volunteer.password)
    assert location.startswith(CALLBACK + "?")
    verifier = oauth1_verifier(request_token.key, callback_query(location))
    return complete(consumer, request_token, verifier)


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests-oauthlib's OAuth 2 refuses http:// unless told it is a sandbox.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def api_get(url: str, auth: Any = None, **params: str) -> dict[str, Any]:
    params.setdefault("format", "json")
    response = requests.get(url, params=params, auth=auth, timeout=60)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def author_of(wiki: SandboxWiki, revid: int) -> str:
    """The user of a revision, asked of the real wiki directly (not the provider)."""
    data = api_get(
        wiki.api_url,
        action="query",
        prop="revisions",
        revids=str(revid),
        rvprop="user",
        formatversion="2",
    )
    return str(data["query"]["pages"][0]["revisions"][0]["user"])


# --- OAuth 1.0a ---------------------------------------------------------------------


def test_oauth1_handshake_and_identify(oauth_provider: OAuthProvider) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    token = handshake(oauth_provider, carol)
    identity = identify(oauth_provider.oauth1_consumer(), token)
    assert identity.username == "Carol Example"
    assert identity.in_group("vrt-permissions")
    assert identity.blocked is False
    assert "editpage" in identity.grants
    assert identity.registered is not None
    # The central id is stable across logins (and across the wikis).
    again = identify(oauth_provider.oauth1_consumer("commons"), handshake(oauth_provider, carol))
    assert again.sub == identity.sub


def test_signed_api_request_runs_as_the_volunteer(oauth_provider: OAuthProvider) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    auth = api_auth(oauth_provider.oauth1_consumer(), handshake(oauth_provider, alice))
    data = api_get(oauth_provider.api_url("commons"), auth, action="query", meta="userinfo")
    assert data["query"]["userinfo"]["name"] == "Alice"
    anonymous = api_get(oauth_provider.api_url("commons"), action="query", meta="userinfo")
    assert "anon" in anonymous["query"]["userinfo"]


def test_plain_requests_oauthlib_client_works(oauth_provider: OAuthProvider) -> None:
    """The textbook OAuth1Session flow: raw answers, callback in the header, path form."""
    alice = oauth_provider.sandbox.volunteer("Alice")
    consumers = oauth_provider.consumers
    index = oauth_provider.index_url("commons")
    client = OAuth1Session(
        consumers.oauth1_key, client_secret=consumers.oauth1_secret, callback_uri=CALLBACK
    )
    request_token = client.fetch_request_token(f"{index}/Special:OAuth/initiate")
    assert request_token["oauth_callback_confirmed"] == "true"
    authorize = f"{index}?title=Special:OAuth/authorize&" + urlencode(
        {"oauth_token": request_token["oauth_token"], "oauth_consumer_key": consumers.oauth1_key}
    )
    location = oauth_provider.approve(authorize, alice.username, alice.password)
    client.parse_authorization_response(location)
    access = client.fetch_access_token(f"{index}?title=Special:OAuth/token")
    answer = client.get(
        oauth_provider.api_url("commons"),
        params={"action": "query", "meta": "userinfo", "format": "json"},
    )
    assert answer.json()["query"]["userinfo"]["name"] == "Alice"
    assert set(access) >= {"oauth_token", "oauth_token_secret"}


def test_oob_callback_shows_the_verifier(oauth_provider: OAuthProvider) -> None:
    """With a callback *prefix* registered, "oob" has no URL to go to: a page shows the code."""
    bob = oauth_provider.sandbox.volunteer("Bob")
    consumer = oauth_provider.oauth1_consumer()
    url, request_token = initiate(consumer)
    browser = requests.Session()
    page = browser.get(url, timeout=30)
    fields = dict(re.findall(r'name="(wpLoginToken)" value="([^"]*)"', page.text))
    page = browser.post(
        page.url, data={**fields, "wpName": bob.username, "wpPassword": bob.password}, timeout=30
    )
    fields = dict(re.findall(r'name="(wpEditToken)" value="([^"]*)"', page.text))
    page = browser.post(page.url, data={**fields, "accept": "1"}, timeout=30)
    verifier = re.findall(r"oauth_verifier: <code>([0-9a-f]+)</code>", page.text)
    assert verifier, page.text
    token = complete(consumer, request_token, verifier[0])
    assert identify(consumer, token).username == "Bob"


def test_callback_outside_the_registered_prefix_is_refused(oauth_provider: OAuthProvider) -> None:
    with pytest.raises(HandshakeError) as info:
        initiate(oauth_provider.oauth1_consumer(), callback="https://evil.example.org/cb")
    assert info.value.code == "mwoauth-oauth-exception"


def test_forged_consumer_secret_is_refused(oauth_provider: OAuthProvider) -> None:
    consumer = oauth_provider.oauth1_consumer()
    forged = type(consumer)(consumer.index_url, consumer.issuer, consumer.key, "f" * 40)
    with pytest.raises(HandshakeError):
        initiate(forged, callback=CALLBACK)


def test_foreign_callback_is_refused(oauth_provider: OAuthProvider) -> None:
    bob = oauth_provider.sandbox.volunteer("Bob")
    consumer = oauth_provider.oauth1_consumer()
    _, mine = initiate(consumer, callback=CALLBACK)
    other_url, _ = initiate(consumer, callback=CALLBACK)
    # Someone else's approved callback, replayed into our login, is refused.
    foreign = callback_query(oauth_provider.approve(other_url, bob.username, bob.password))
    with pytest.raises(CallbackMismatchError):
        oauth1_verifier(mine.key, foreign)


def test_wrong_password_keeps_the_login_form(oauth_provider: OAuthProvider) -> None:
    url, _ = initiate(oauth_provider.oauth1_consumer(), callback=CALLBACK)
    browser = requests.Session()
    page = browser.get(url, timeout=30)
    token = page.text.split('name="wpLoginToken" value="')[1].split('"')[0]
    page = browser.post(
        page.url,
        data={"wpLoginToken": token, "wpName": "Alice", "wpPassword": "not-her-password"},
        timeout=30,
    )
    assert "Incorrect username or password" in page.text
    assert ">Allow<" not in page.text


@pytest.mark.usefixtures("insecure_transport")
def test_browser_goes_through_the_wikis_login_then_allow(oauth_provider: OAuthProvider) -> None:
    """Extension:OAuth's pages: Special:UserLogin, then Special:OAuth/authorize or /approve."""
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    browser = requests.Session()
    url, _ = initiate(oauth_provider.oauth1_consumer(), callback=CALLBACK)
    page = browser.get(url, timeout=30)
    assert "title=Special%3AUserLogin" in page.url and "returnto=Special" in page.url
    assert 'name="wpName"' in page.text and 'name="wpPassword"' in page.text
    token = page.text.split('name="wpLoginToken" value="')[1].split('"')[0]
    page = browser.post(
        page.url,
        data={"wpLoginToken": token, "wpName": carol.username, "wpPassword": carol.password},
        timeout=30,
    )
    assert "title=Special%3AOAuth%2Fauthorize" in page.url
    assert '<button type="submit" name="accept" value="1">Allow</button>' in page.text
    # OAuth 2: rest.php/oauth2/authorize sends a logged-in browser to Special:OAuth/approve.
    url2, _, _ = mw2.authorization_url(
        oauth_provider.rest_url(), oauth_provider.consumers.oauth2_client_id, CALLBACK
    )
    page = browser.get(url2, timeout=30)
    assert "title=Special%3AOAuth%2Fapprove" in page.url
    assert 'name="accept"' in page.text and ">Allow<" in page.text


def test_revoked_token_is_refused(oauth_provider: OAuthProvider) -> None:
    bob = oauth_provider.sandbox.volunteer("Bob")
    consumer = oauth_provider.oauth1_consumer()
    token = handshake(oauth_provider, bob)
    url = oauth_provider.api_url("commons")
    assert (
        api_get(url, api_auth(consumer, token), action="query", meta="userinfo")["query"][
            "userinfo"
        ]["name"]
        == "Bob"
    )

    assert oauth_provider.revoke("Bob") >= 1

    refused = api_get(url, api_auth(consumer, token), action="query", meta="userinfo")
    assert refused["error"]["code"] == "mwoauth-invalid-authorization"
    with pytest.raises(IdentifyError) as info:
        identify(consumer, token)
    assert info.value.reason == "provider_error"


def test_blocked_volunteer_is_identified_as_blocked(oauth_provider: OAuthProvider) -> None:
    mallory = oauth_provider.sandbox.volunteer("Mallory")
    identity = identify(oauth_provider.oauth1_consumer(), handshake(oauth_provider, mallory))
    assert identity.username == "Mallory"
    assert identity.blocked is True
    with pytest.raises(BlockedUserError):
        ensure_not_blocked(identity)


def test_replayed_signed_request_is_refused(oauth_provider: OAuthProvider) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    auth = api_auth(oauth_provider.oauth1_consumer(), handshake(oauth_provider, alice))
    prepared = requests.Request(
        "GET",
        oauth_provider.api_url("commons"),
        params={"action": "query", "meta": "userinfo", "format": "json"},
        auth=auth,
    ).prepare()
    with requests.Session() as http:
        first = http.send(prepared, timeout=60).json()
        second = http.send(prepared, timeout=60).json()
    assert first["query"]["userinfo"]["name"] == "Alice"
    assert second["error"]["code"] == "mwoauth-invalid-authorization"
    assert "Nonce already used" in second["error"]["info"]


def test_sessions_of_volunteers_do_not_mix(oauth_provider: OAuthProvider) -> None:
    consumer = oauth_provider.oauth1_consumer()
    people = {name: oauth_provider.sandbox.volunteer(name) for name in ("Alice", "Carol Example")}
    auths = {name: api_auth(consumer, handshake(oauth_provider, v)) for name, v in people.items()}
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def ask(name: str) -> None:
        for _ in range(6):
            data = api_get(
                oauth_provider.api_url("commons"),
                auths[name],
                action="query",
                meta="userinfo|tokens",
            )
            with lock:
                seen.append((name, data["query"]["userinfo"]["name"]))

    threads = [threading.Thread(target=ask, args=(name,)) for name in auths for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 24
    assert all(asked == answered for asked, answered in seen)


def test_login_through_the_proxy_is_refused(oauth_provider: OAuthProvider) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    auth = api_auth(oauth_provider.oauth1_consumer(), handshake(oauth_provider, alice))
    response = requests.post(
        oauth_provider.api_url("commons"),
        data={"action": "logout", "format": "json", "token": "+\\"},
        auth=auth,
        timeout=60,
    ).json()
    assert response["error"]["code"] == "cannotlogout"
    # ...and the proxy session still works.
    data = api_get(oauth_provider.api_url("commons"), auth, action="query", meta="userinfo")
    assert data["query"]["userinfo"]["name"] == "Alice"


def test_tokens_survive_a_provider_restart(oauth_provider: OAuthProvider) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    consumer = oauth_provider.oauth1_consumer()
    token = handshake(oauth_provider, carol)
    state_dir = oauth_provider.sandbox.dir
    port = int(oauth_provider.url.rsplit(":", 1)[1])

    provider_process.stop(state_dir)
    assert provider_process.status(state_dir)[0] == "oauth provider: stopped"
    assert provider_process.ensure_running(state_dir, port) == oauth_provider.url

    assert identify(consumer, token).username == "Carol Example"
    lines = provider_process.status(state_dir)
    assert "running" in lines[0]
    assert not any(consumer.secret in line or token.secret in line for line in lines)


# --- OAuth 2.0 ------------------------------------------------------------------------


def oauth2_login(
    provider: OAuthProvider, volunteer: Volunteer, wiki: str = "meta"
) -> tuple[str, str, str]:
    """Authorize as ``volunteer``; (code, returned state, code_verifier)."""
    url, state, verifier = mw2.authorization_url(
        provider.rest_url(wiki), provider.consumers.oauth2_client_id, CALLBACK
    )
    location = provider.approve(url, volunteer.username, volunteer.password)
    query = callback_query(location)
    check_oauth2_state(state, query.get("state"))
    return query["code"], query["state"], verifier


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_with_pkce(oauth_provider: OAuthProvider) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    consumers = oauth_provider.consumers
    code, _, verifier = oauth2_login(oauth_provider, alice)
    token = mw2.fetch_token(
        oauth_provider.rest_url(),
        consumers.oauth2_client_id,
        CALLBACK,
        code,
        verifier,
        client_secret=consumers.oauth2_client_secret,
    )
    identity = mw2.profile(oauth_provider.rest_url(), token.access_token)
    assert identity.username == "Alice" and identity.blocked is False
    # The bearer token works on api.php like an OAuth 1.0a signature.
    answer = requests.get(
        oauth_provider.api_url("commons"),
        params={"action": "query", "meta": "userinfo", "format": "json"},
        headers=token.bearer_header(),
        timeout=60,
    ).json()
    assert answer["query"]["userinfo"]["name"] == "Alice"
    # A code is good once.
    with pytest.raises(HandshakeError):
        mw2.fetch_token(
            oauth_provider.rest_url(),
            consumers.oauth2_client_id,
            CALLBACK,
            code,
            verifier,
            client_secret=consumers.oauth2_client_secret,
        )
    # A refresh gives a new access token; the old pair is retired.
    assert token.refresh_token is not None
    fresh = mw2.refresh(
        oauth_provider.rest_url(),
        consumers.oauth2_client_id,
        token.refresh_token,
        client_secret=consumers.oauth2_client_secret,
    )
    assert mw2.profile(oauth_provider.rest_url(), fresh.access_token).username == "Alice"
    with pytest.raises(IdentifyError):
        mw2.profile(oauth_provider.rest_url(), token.access_token)


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_wrong_pkce_verifier_is_refused(oauth_provider: OAuthProvider) -> None:
    bob = oauth_provider.sandbox.volunteer("Bob")
    consumers = oauth_provider.consumers
    code, _, verifier = oauth2_login(oauth_provider, bob)
    wrong = secrets.token_urlsafe(48)
    with pytest.raises(HandshakeError) as info:
        mw2.fetch_token(
            oauth_provider.rest_url(),
            consumers.oauth2_client_id,
            CALLBACK,
            code,
            wrong,
            client_secret=consumers.oauth2_client_secret,
        )
    assert info.value.code == "invalid_grant"
    with pytest.raises(HandshakeError) as info:
        mw2.fetch_token(
            oauth_provider.rest_url(),
            consumers.oauth2_client_id,
            CALLBACK,
            code,
            verifier,
            client_secret="0" * 40,
        )
    assert info.value.code == "invalid_client"


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_cancel_and_state_mismatch(oauth_provider: OAuthProvider) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    url, state, _ = mw2.authorization_url(
        oauth_provider.rest_url(), oauth_provider.consumers.oauth2_client_id, CALLBACK
    )
    query = callback_query(oauth_provider.approve(url, carol.username, carol.password, allow=False))
    assert query == {"error": "access_denied", "state": state}
    with pytest.raises(CallbackMismatchError):
        check_oauth2_state(state, "forged-state")


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_revoked_token_is_refused(oauth_provider: OAuthProvider) -> None:
    mallory = oauth_provider.sandbox.volunteer("Mallory")
    consumers = oauth_provider.consumers
    code, _, verifier = oauth2_login(oauth_provider, mallory)
    token = mw2.fetch_token(
        oauth_provider.rest_url(),
        consumers.oauth2_client_id,
        CALLBACK,
        code,
        verifier,
        client_secret=consumers.oauth2_client_secret,
    )
    assert mw2.profile(oauth_provider.rest_url(), token.access_token).blocked is True
    oauth_provider.revoke("Mallory")
    with pytest.raises(IdentifyError):
        mw2.profile(oauth_provider.rest_url(), token.access_token)


# --- editing clients ----------------------------------------------------------------------


@pytest.fixture
def pywikibot_dir(tmp_path: Path, oauth_provider: OAuthProvider) -> Iterator[Path]:
    """A PYWIKIBOT_DIR whose family ``sandboxoauth`` points at the provider."""
    directory = tmp_path / "pywikibot"
    directory.mkdir()
    write_family_file(
        directory / "families" / "sandboxoauth_family.py",
        "sandboxoauth",
        {"commons": (oauth_provider.netloc, "/commons"), "meta": (oauth_provider.netloc, "/meta")},
    )
    yield directory


def run_pywikibot(directory: Path, script: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter with pywikibot configured in ``directory``.

    pywikibot's configuration is global to a process; a subprocess keeps it
    away from the test process.
    """
    env = {**os.environ, "PYWIKIBOT_DIR": str(directory), "PYWIKIBOT_NO_USER_CONFIG": "0"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_pywikibot_edits_commons_as_the_volunteer(
    oauth_provider: OAuthProvider, pywikibot_dir: Path
) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    token = handshake(oauth_provider, carol, "commons")
    consumers = oauth_provider.consumers
    (pywikibot_dir / "user-config.py").write_text(
        textwrap.dedent(
            f"""\
            family = "sandboxoauth"
            mylang = "commons"
            user_families_paths = [{str(pywikibot_dir / "families")!r}]
            usernames["sandboxoauth"]["commons"] = {carol.username!r}
            usernames["sandboxoauth"]["meta"] = {carol.username!r}
            authenticate[{oauth_provider.netloc!r}] = (
                {consumers.oauth1_key!r}, {consumers.oauth1_secret!r},
                {token.key!r}, {token.secret!r},
            )
            put_throttle = 0
            max_retries = 1
            retry_wait = 1
            noisysleep = 600.0
            """
        ),
        encoding="utf-8",
    )
    title = f"OAuth sandbox test {secrets.token_hex(4)}"
    script = textwrap.dedent(
        f"""\
        import json
        import pywikibot
        site = pywikibot.Site("commons", "sandboxoauth")
        site.login()
        page = pywikibot.Page(site, {title!r})
        page.text = "Edited by pywikibot over OAuth 1.0a."
        page.save(summary="pywikibot over the sandbox OAuth provider")
        print(json.dumps({{"user": site.user(), "revid": page.latest_revision_id}}))
        """
    )
    result = run_pywikibot(pywikibot_dir, script)
    assert result["user"] == "Carol Example"
    assert author_of(oauth_provider.sandbox.commons, int(result["revid"])) == "Carol Example"


def mwclient_site(provider: OAuthProvider, token: AccessToken, wiki: str) -> mwclient.Site:
    return mwclient.Site(
        provider.netloc,
        path=f"/{wiki}/",
        scheme="http",
        consumer_token=provider.consumers.oauth1_key,
        consumer_secret=provider.consumers.oauth1_secret,
        access_token=token.key,
        access_secret=token.secret,
        clients_useragent="wikibridge-tests",
    )


def test_mwclient_edits_and_uploads_as_the_volunteer(
    oauth_provider: OAuthProvider, tmp_path: Path
) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    site = mwclient_site(oauth_provider, handshake(oauth_provider, alice, "commons"), "commons")
    assert site.username == "Alice"

    page = site.pages[f"OAuth mwclient test {secrets.token_hex(4)}"]
    result = page.edit("Edited by mwclient over OAuth 1.0a.", summary="mwclient over OAuth")
    assert result["result"] == "Success"
    assert author_of(oauth_provider.sandbox.commons, int(result["newrevid"])) == "Alice"

    # An upload is a multipart body: it must pass through byte for byte.
    from wikibridge_sandbox.seed import png_bytes

    name = f"OAuth upload {secrets.token_hex(4)}.png"
    image = tmp_path / "upload.png"
    # Random colour: the wiki refuses a second upload of the same bytes.
    colour = (secrets.randbelow(256), secrets.randbelow(256), secrets.randbelow(256))
    image.write_bytes(png_bytes(colour, 9))
    with image.open("rb") as stream:
        uploaded = site.upload(stream, filename=name, description="Uploaded over OAuth")
    assert uploaded["result"] == "Success", uploaded
    info = api_get(
        oauth_provider.sandbox.commons.api_url,
        action="query",
        titles=f"File:{name}",
        prop="imageinfo",
        iiprop="user",
        formatversion="2",
    )
    assert info["query"]["pages"][0]["imageinfo"][0]["user"] == "Alice"


# --- closer to the real extension (REL1_39) -------------------------------------------------


def test_identify_states_sub_as_a_string(oauth_provider: OAuthProvider) -> None:
    import jwt as pyjwt

    bob = oauth_provider.sandbox.volunteer("Bob")
    consumer = oauth_provider.oauth1_consumer()
    token = handshake(oauth_provider, bob)
    raw = requests.get(
        consumer.index_url,
        params={"title": "Special:OAuth/identify"},
        auth=api_auth(consumer, token),
        timeout=60,
    ).text
    claims = pyjwt.decode(raw, options={"verify_signature": False})
    assert isinstance(claims["sub"], str) and claims["sub"].isdigit()
    # ...and the desk's client takes it as the central id.
    assert identify(consumer, handshake(oauth_provider, bob)).sub == int(claims["sub"])


def oauth2_token(provider: OAuthProvider, volunteer: Volunteer) -> dict[str, Any]:
    """The provider's raw token answer for a fresh OAuth 2 login of ``volunteer``."""
    code, _, verifier = oauth2_login(provider, volunteer)
    consumers = provider.consumers
    answer = requests.post(
        f"{provider.rest_url()}/oauth2/access_token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": consumers.oauth2_client_id,
            "client_secret": consumers.oauth2_client_secret,
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_token_answer_and_profile_as_the_extension_gives_them(
    oauth_provider: OAuthProvider,
) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    token = oauth2_token(oauth_provider, carol)
    assert "scope" not in token
    assert token["expires_in"] == 3600  # OAuth2GrantExpirationInterval PT1H
    assert token["refresh_token"]
    profile = requests.get(
        f"{oauth_provider.rest_url()}/oauth2/resource/profile",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=60,
    ).json()
    assert isinstance(profile["sub"], str) and profile["sub"].isdigit()
    assert mw2.profile(oauth_provider.rest_url(), token["access_token"]).sub == int(profile["sub"])


@pytest.mark.usefixtures("insecure_transport")
def test_expired_access_token_is_refused_and_its_refresh_token_still_works(
    oauth_provider: OAuthProvider,
) -> None:
    carol = oauth_provider.sandbox.volunteer("Carol Example")
    consumers = oauth_provider.consumers
    token = oauth2_token(oauth_provider, carol)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    userinfo = {"action": "query", "meta": "userinfo", "format": "json"}
    api = oauth_provider.api_url("commons")
    assert requests.get(api, params=userinfo, headers=bearer, timeout=60).json()["query"]

    assert oauth_provider.expire("Carol Example") >= 1

    refused = requests.get(api, params=userinfo, headers=bearer, timeout=60).json()
    assert refused["error"]["code"] == "mwoauth-invalid-authorization"
    fresh = mw2.refresh(
        oauth_provider.rest_url(),
        consumers.oauth2_client_id,
        token["refresh_token"],
        client_secret=consumers.oauth2_client_secret,
    )
    assert fresh.refresh_token and fresh.refresh_token != token["refresh_token"]
    answer = requests.get(api, params=userinfo, headers=fresh.bearer_header(), timeout=60).json()
    assert answer["query"]["userinfo"]["name"] == "Carol Example"
    # A refresh token is good once (rotated).
    with pytest.raises(HandshakeError):
        mw2.refresh(
            oauth_provider.rest_url(),
            consumers.oauth2_client_id,
            token["refresh_token"],
            client_secret=consumers.oauth2_client_secret,
        )


def recent_tags(wiki: SandboxWiki, revid: int) -> list[str]:
    """The change tags of a revision in the wiki's recent changes (asked of the wiki directly)."""
    data = api_get(
        wiki.api_url,
        action="query",
        list="recentchanges",
        rcprop="ids|tags",
        rclimit="100",
        formatversion="2",
    )
    for change in data["query"]["recentchanges"]:
        if change.get("revid") == revid:
            return list(change["tags"])
    raise AssertionError(f"revision {revid} is not in the recent changes")


def test_edits_through_the_provider_carry_the_consumer_tag(oauth_provider: OAuthProvider) -> None:
    alice = oauth_provider.sandbox.volunteer("Alice")
    site = mwclient_site(oauth_provider, handshake(oauth_provider, alice, "commons"), "commons")
    result = site.pages[f"OAuth tag test {secrets.token_hex(4)}"].edit(
        "Tagged by the provider.", summary="tag test"
    )
    assert result["result"] == "Success", result
    assert "OAuth CID: 1" in recent_tags(oauth_provider.sandbox.commons, int(result["newrevid"]))


@pytest.mark.usefixtures("insecure_transport")
def test_oauth2_edit_is_tagged_and_grants_are_enforced(oauth_provider: OAuthProvider) -> None:
    bob = oauth_provider.sandbox.volunteer("Bob")
    consumers = oauth_provider.consumers
    api = oauth_provider.api_url("commons")
    title = f"OAuth grants test {secrets.token_hex(4)}"

    def edit_with(token: mw2.OAuth2Token) -> dict[str, Any]:
        headers = token.bearer_header()
        csrf = requests.get(
            api,
            params={"action": "query", "meta": "tokens", "format": "json"},
            headers=headers,
            timeout=60,
        ).json()["query"]["tokens"]["csrftoken"]
        answer: dict[str, Any] = requests.post(
            api,
            data={
                "action": "edit",
                "title": title,
                "text": "Edited over OAuth 2.",
                "token": csrf,
                "format": "json",
            },
            headers=headers,
            timeout=60,
        ).json()
        return answer

    def login(scope: list[str] | None) -> mw2.OAuth2Token:
        url, _, verifier = mw2.authorization_url(
            oauth_provider.rest_url(), consumers.oauth2_client_id, CALLBACK, scope=scope
        )
        code = callback_query(oauth_provider.approve(url, bob.username, bob.password))["code"]
        return mw2.fetch_token(
            oauth_provider.rest_url(),
            consumers.oauth2_client_id,
            CALLBACK,
            code,
            verifier,
            client_secret=consumers.oauth2_client_secret,
        )

    # Allowed "basic" only: reading works, editing does not.
    refused = edit_with(login(["basic"]))
    assert refused["error"]["code"] == "permissiondenied", refused
    missing = api_get(
        oauth_provider.sandbox.commons.api_url, action="query", titles=title, formatversion="2"
    )
    assert missing["query"]["pages"][0].get("missing") is True

    done = edit_with(login(None))  # every grant of the client
    assert done["edit"]["result"] == "Success", done
    assert "OAuth CID: 2" in recent_tags(oauth_provider.sandbox.commons, done["edit"]["newrevid"])
