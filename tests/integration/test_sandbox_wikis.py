"""The sandbox wikis: two real MediaWiki sites, seeded, served by php -S."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import mwclient
import pytest
import requests
from click.testing import CliRunner

from oauth import oauth1_verifier
from oauth.mediawiki1 import api_auth, complete, initiate
from tests.live import free_port
from tests.oauth_fixtures import OAuthProvider, callback_query
from wikibridge_sandbox import seed, wikis
from wikibridge_sandbox.cli import sandbox as sandbox_cli
from wikibridge_sandbox.family import write_family_file
from wikibridge_sandbox.servers import server_pid
from wikibridge_sandbox.wikis import SandboxState, SandboxWiki

pytestmark = pytest.mark.integration


class Api:
    """A minimal API client, one session (cookies) per instance."""

    def __init__(self, wiki: SandboxWiki) -> None:
        self.url = wiki.api_url
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy for 127.0.0.1

    def get(self, **params: Any) -> dict[str, Any]:
        params.update(format="json", formatversion="2")
        response = self.http.get(self.url, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, **params: Any) -> dict[str, Any]:
        params.update(format="json", formatversion="2")
        response = self.http.post(self.url, data=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def token(self, kind: str) -> str:
        return self.get(action="query", meta="tokens", type=kind)["query"]["tokens"][f"{kind}token"]

    def login(self, name: str, password: str) -> dict[str, Any]:
        """``action=login``, the way bot passwords log in."""
        return self.post(
            action="login", lgname=name, lgpassword=password, lgtoken=self.token("login")
        )["login"]

    def whoami(self) -> dict[str, Any]:
        return self.get(action="query", meta="userinfo", uiprop="groups|blockinfo")["query"][
            "userinfo"
        ]

    def page_text(self, title: str) -> str | None:
        page = self.get(
            action="query", prop="revisions", rvprop="content", rvslots="main", titles=title
        )["query"]["pages"][0]
        if page.get("missing"):
            return None
        return page["revisions"][0]["slots"]["main"]["content"]

    def render(self, wikitext: str) -> str:
        return self.post(
            action="parse",
            text=wikitext,
            contentmodel="wikitext",
            prop="text",
            disablelimitreport="1",
        )["parse"]["text"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def commons(sandbox: SandboxState):
    api = Api(sandbox.commons)
    yield api
    api.close()


@pytest.fixture
def meta(sandbox: SandboxState):
    api = Api(sandbox.meta)
    yield api
    api.close()


@pytest.mark.parametrize("name", ["commons", "meta"])
def test_wiki_answers_with_its_settings(sandbox: SandboxState, name: str) -> None:
    wiki = sandbox.wikis[name]
    api = Api(wiki)
    info = api.get(action="query", meta="siteinfo", siprop="general|extensions")["query"]
    api.close()
    general = info["general"]
    assert general["wikiid"] == name
    assert general["server"] == wiki.url == f"http://127.0.0.1:{wiki.port}"
    assert general["articlepath"] == "/wiki/$1"
    assert general["scriptpath"] == ""
    assert wiki.api_url == wiki.url + "/api.php"
    assert wiki.index_url == wiki.url + "/index.php"
    extensions = {extension["name"] for extension in info["extensions"]}
    assert {"ParserFunctions", "Abuse Filter"} <= extensions
    # Pretty URLs go through the router to index.php.
    page = requests.get(f"{wiki.url}/wiki/Main_Page", timeout=30)
    assert page.status_code == 200
    assert 'id="firstHeading"' in page.text


def test_wikis_are_separate_databases(sandbox: SandboxState, commons: Api, meta: Api) -> None:
    assert sandbox.commons.db_dir != sandbox.meta.db_dir
    assert commons.login(sandbox.bot.login_name, sandbox.bot.botpassword)["result"] == "Success"
    title = f"Sandbox separation test {uuid.uuid4().hex[:8]}"
    result = commons.post(
        action="edit",
        title=title,
        text="only on commons",
        summary="test",
        token=commons.token("csrf"),
        **{"assert": "user"},
    )
    assert result["edit"]["result"] == "Success"
    assert commons.page_text(title) == "only on commons"
    assert meta.page_text(title) is None


def test_seeded_files_exist_with_their_tags(sandbox: SandboxState, commons: Api) -> None:
    assert sandbox.files == [sample.title for sample in seed.SAMPLE_FILES]
    assert len(sandbox.files) >= 6
    tags = {sample.tag for sample in seed.SAMPLE_FILES}
    assert {"no-permission", "pending", None} <= tags
    for sample in seed.SAMPLE_FILES:
        text = commons.page_text(sample.title)
        assert text is not None, sample.title
        if sample.tag is None:
            assert not any(title.split(":", 1)[1] in text for title in seed.TEMPLATES)
        else:
            assert sample.tag_wikitext in text
        page = commons.get(
            action="query", prop="imageinfo", iiprop="url|mime|size", titles=sample.title
        )["query"]["pages"][0]
        info = page["imageinfo"][0]
        assert info["mime"] in ("image/png", "image/jpeg")
        assert (info["width"], info["height"]) == (16, 16)
        # The router serves the wiki's own upload folder under /images/.
        assert info["url"].startswith(sandbox.commons.url + "/images/")
        data = requests.get(info["url"], timeout=30).content
        assert data == sample.render()
    members = commons.get(
        action="query",
        list="categorymembers",
        cmtitle="Category:Media missing permission",
        cmlimit="max",
    )
    titles = {member["title"] for member in members["query"]["categorymembers"]}
    # Other tests upload files of their own into a kept sandbox, so only ask
    # that every seeded file is there and no seeded file is there by mistake.
    seeded = {s.title for s in seed.SAMPLE_FILES}
    assert titles & seeded == {s.title for s in seed.SAMPLE_FILES if s.tag == "no-permission"}


def test_router_refuses_paths_outside_uploads(sandbox: SandboxState) -> None:
    for path in (
        "/images/../../sandbox.json",
        "/images/%2e%2e/LocalSettings.php",
        "/includes/Setup.php",
        "/maintenance/install.php",
    ):
        response = requests.get(sandbox.commons.url + path, timeout=30)
        assert response.status_code == 404, path


def test_templates_render_with_parser_functions(commons: Api, meta: Api) -> None:
    number = "2016060210016939"
    for api in (commons, meta):
        for name in ("PermissionTicket", "VRT permission", "OTRS permission"):
            html = api.render(f"{{{{{name}|id={number}}}}}")
            assert "#if" not in html
            assert f"TicketNumber={number}" in html
            assert "vrt-permission" in html
        html = api.render("{{PermissionTicket}}")
        assert "TicketNumber" not in html
        html = api.render("{{No permission since|day=3|month=November|year=2026}}")
        assert "No permission since 3 November 2026" in html
        html = api.render(f"{{{{Permission pending|id={number}|day=1|month=May|year=2026}}}}")
        assert "on 1 May 2026" in html and number in html
        html = api.render(
            f"{{{{Permission received|id={number}|reason=Wrong licence|user=Alice|day=2"
            "|month=May|year=2026}}"
        )
        assert "Wrong licence" in html and "User:Alice" in html


def test_seeded_ticket_numbers_have_valid_check_digits() -> None:
    assert seed.ticket_number("20160602", 1693) == "2016060210016939"
    for sample in seed.SAMPLE_FILES:
        for number in re.findall(r"id=(\d+)", sample.tag_wikitext):
            assert len(number) == 16
            assert seed.ticket_number(number[:8], int(number[10:15]), number[8:10]) == number


def test_bot_password_login(sandbox: SandboxState) -> None:
    bot = sandbox.bot
    assert bot.username == "WikibridgeBot"
    assert bot.login_name == "WikibridgeBot@wikibridge"
    assert re.fullmatch(r"[0-9a-w]{32,}", bot.botpassword)
    for wiki in sandbox.wikis.values():
        site = mwclient.Site(f"127.0.0.1:{wiki.port}", scheme="http", path="/")
        site.login(bot.login_name, bot.botpassword)
        assert site.logged_in
        info = site.api("query", meta="userinfo", uiprop="groups")["query"]["userinfo"]
        assert info["name"] == "WikibridgeBot"
        assert {"bot", "sysop"} <= set(info["groups"])


def test_volunteers_groups_blocks_and_proxy_logins(sandbox: SandboxState) -> None:
    names = [volunteer.username for volunteer in sandbox.volunteers]
    assert names == ["Alice", "Bob", "Carol Example", "Mallory", "Dana Uploader"]
    assert sandbox.volunteer("Alice").groups == ["vrt-permissions"]
    assert sandbox.volunteer("Carol Example").groups == ["vrt-permissions"]
    assert sandbox.volunteer("Bob").groups == []
    assert sandbox.volunteer("Mallory").blocked
    for wiki in sandbox.wikis.values():
        api = Api(wiki)
        users = api.get(
            action="query", list="users", ususers="|".join(names), usprop="groups|blockinfo"
        )["query"]["users"]
        for user, volunteer in zip(users, sandbox.volunteers, strict=True):
            assert user["name"] == volunteer.username
            assert ("vrt-permissions" in user["groups"]) == ("vrt-permissions" in volunteer.groups)
            assert ("blockid" in user) == volunteer.blocked
            assert user.get("blockexpiry", "infinite") == "infinite"
        api.close()
        # The OAuth provider acts for a volunteer through this bot password.
        for volunteer in sandbox.volunteers:
            api = Api(wiki)
            assert re.fullmatch(r"[0-9a-w]{32,}", volunteer.proxy_botpassword)
            assert volunteer.proxy_login_name == f"{volunteer.username}@oauthproxy"
            login = api.login(volunteer.proxy_login_name, volunteer.proxy_botpassword)
            assert login["result"] == "Success", login
            assert api.whoami()["name"] == volunteer.username
            api.close()


def test_same_main_password_on_both_wikis(sandbox: SandboxState) -> None:
    carol = sandbox.volunteer("Carol Example")
    for wiki in sandbox.wikis.values():
        api = Api(wiki)
        result = api.post(
            action="clientlogin",
            username=carol.username,
            password=carol.password,
            loginreturnurl=wiki.url + "/",
            logintoken=api.token("login"),
        )["clientlogin"]
        assert result["status"] == "PASS", result
        assert api.whoami()["name"] == "Carol Example"
        api.close()


def test_meta_has_the_volunteers_page(meta: Api) -> None:
    text = meta.page_text("VRT/Volunteers")
    assert text is not None
    assert "[[User:Alice|Alice]]" in text


def test_state_file_is_private_and_round_trips(sandbox: SandboxState) -> None:
    path = sandbox.dir / "sandbox.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert wikis.load_state(sandbox.dir) == sandbox
    data = json.loads(path.read_text())
    assert data["bot"]["login_name"] == "WikibridgeBot@wikibridge"
    assert sandbox.admin.username == "Admin"


def test_extra_settings_hook(sandbox: SandboxState, meta: Api) -> None:
    extra = sandbox.meta.extra_settings
    original = extra.read_text() if extra.exists() else None
    marker = f"extra-{uuid.uuid4().hex[:8]}"
    base = original if original is not None else "<?php\n"
    extra.write_text(base + f"\n$wgRightsText = '{marker}';\n")
    try:
        info = meta.get(action="query", meta="siteinfo", siprop="rightsinfo")["query"]
        rights = info["rightsinfo"]
        assert rights["text"] == marker
    finally:
        if original is None:
            extra.unlink()
        else:
            extra.write_text(original)


def test_pywikibot_reads_through_the_family_file(sandbox: SandboxState, tmp_path: Path) -> None:
    assert sandbox.family_file.name == "sandbox_family.py"
    (tmp_path / "user-config.py").write_text(
        f"family_files['sandbox'] = {str(sandbox.family_file)!r}\n"
        "family = 'sandbox'\nmylang = 'commons'\n"
    )
    script = (
        "import pywikibot\n"
        "commons = pywikibot.Site()\n"
        "print(pywikibot.Page(commons, 'File:Museum postcard.jpg').text)\n"
        "meta = pywikibot.Site('meta', 'sandbox')\n"
        "print(pywikibot.Page(meta, 'VRT/Volunteers').text)\n"
    )
    env = {**os.environ, "PYWIKIBOT_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:__main__", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "{{PermissionTicket|id=2016060210016939|user=Alice}}" in result.stdout
    assert "[[User:Alice|Alice]]" in result.stdout


def test_write_family_file_checks_its_input(tmp_path: Path) -> None:
    path = write_family_file(
        tmp_path / "proxy_family.py",
        "proxy",
        {"commons": ("127.0.0.1:9000", "/commons"), "meta": ("127.0.0.1:9000", "/meta")},
    )
    text = path.read_text()
    assert "'commons': '/commons'" in text
    compile(text, str(path), "exec")
    with pytest.raises(ValueError):
        write_family_file(tmp_path / "x_family.py", "bad name", {"a": ("h", "")})
    with pytest.raises(ValueError):
        write_family_file(tmp_path / "x_family.py", "x", {"a": ("h", "/trailing/")})
    with pytest.raises(ValueError):
        write_family_file(tmp_path / "x_family.py", "x", {"Upper": ("h", "")})


def test_up_again_is_idempotent(sandbox: SandboxState) -> None:
    # How long it takes is bench/sandbox.py's concern; here: nothing restarts.
    servers = {name: server_pid(w.pid_file) for name, w in sandbox.wikis.items()}
    ready = (sandbox.dir / "ready").stat().st_mtime_ns
    again = wikis.up(sandbox.dir, commons_port=sandbox.commons.port, meta_port=sandbox.meta.port)
    assert again == sandbox
    assert {name: server_pid(w.pid_file) for name, w in again.wikis.items()} == servers
    assert None not in servers.values()
    assert (sandbox.dir / "ready").stat().st_mtime_ns == ready, "up() rebuilt the sandbox"


def test_cli_up_and_status(sandbox: SandboxState) -> None:
    runner = CliRunner()
    # Never the default port: `make run`'s sandbox may be using it.
    port = os.environ.get("WIKIBRIDGE_TEST_OAUTH_PORT") or str(free_port())
    result = runner.invoke(
        sandbox_cli,
        ["up", "--dir", str(sandbox.dir), "--no-install", "--oauth-port", port],
    )
    assert result.exit_code == 0, result.output
    assert f"{sandbox.commons.url}/wiki/" in result.stdout
    assert "sandbox-only" in result.stdout
    assert sandbox.volunteer("Alice").password in result.stdout
    assert sandbox.admin.password not in result.stdout
    assert sandbox.bot.botpassword not in result.stdout
    result = runner.invoke(sandbox_cli, ["status", "--dir", str(sandbox.dir)])
    assert result.exit_code == 0, result.output
    assert f"meta: {sandbox.meta.url} running (pid" in result.stdout


def test_down_then_up_restarts(sandbox: SandboxState) -> None:
    wikis.down(sandbox.dir)
    lines = wikis.status(sandbox.dir)
    assert any(line.startswith("commons:") and "stopped" in line for line in lines), lines
    assert not sandbox.commons.pid_file.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.commons.api_url, timeout=5)
    again = wikis.up(sandbox.dir, commons_port=sandbox.commons.port, meta_port=sandbox.meta.port)
    # How long a restart takes is measured by bench/sandbox.py, not asserted here.
    assert again == sandbox
    lines = wikis.status(sandbox.dir)
    assert all("running (pid" in line for line in lines[1:]), lines
    api = Api(sandbox.commons)
    assert api.page_text("Template:PermissionTicket") is not None
    api.close()


# --- faults on demand, content for bulk work ------------------------------------


@pytest.fixture
def switches(sandbox: SandboxState):
    """The commons wiki, with every fault switch off again after the test."""
    sandbox.commons.clear_switches()
    yield sandbox.commons
    sandbox.commons.clear_switches()


def volunteer_api(sandbox: SandboxState, username: str) -> Api:
    """An API session on commons as *username*, through their proxy bot password."""
    volunteer = sandbox.volunteer(username)
    api = Api(sandbox.commons)
    login = api.login(volunteer.proxy_login_name, volunteer.proxy_botpassword)
    assert login["result"] == "Success", login
    return api


def edit(api: Api, username: str, title: str, **params: str) -> dict[str, Any]:
    return api.post(
        action="edit",
        title=title,
        summary="test",
        token=api.token("csrf"),
        assertuser=username,
        **params,
    )


def oauth1_signing(provider: OAuthProvider, username: str) -> Any:
    """A requests auth that signs as *username* (a full OAuth 1.0a handshake)."""
    volunteer = provider.sandbox.volunteer(username)
    consumer = provider.oauth1_consumer("commons")
    callback = "http://127.0.0.1:9/oauth/callback"
    url, request_token = initiate(consumer, callback=callback)
    location = provider.approve(url, volunteer.username, volunteer.password)
    verifier = oauth1_verifier(request_token.key, callback_query(location))
    return api_auth(consumer, complete(consumer, request_token, verifier))


def maxlag_query(url: str, auth: Any = None) -> requests.Response:
    return requests.get(
        url,
        params={"action": "query", "meta": "siteinfo", "format": "json", "maxlag": "5"},
        auth=auth,
        timeout=30,
    )


def test_simulated_lag_gives_the_real_maxlag_error(switches: SandboxWiki) -> None:
    switches.simulate_lag(12, requests=2)
    switch = switches.switches_dir / "maxlag"
    # Requests without maxlag neither see the lag nor use up the count.
    plain = requests.get(
        switches.api_url,
        params={"action": "query", "meta": "siteinfo", "format": "json"},
        timeout=30,
    )
    assert "error" not in plain.json()
    assert switch.read_text().split() == ["12", "2"]
    for _ in range(2):
        answer = maxlag_query(switches.api_url)
        assert answer.json()["error"]["code"] == "maxlag"
        assert answer.json()["error"]["lag"] == 12
        assert answer.headers["MediaWiki-API-Error"] == "maxlag"
        assert answer.headers["Retry-After"] == "5"
        assert answer.headers["X-Database-Lag"] == "12"
    assert not switch.exists()
    answer = maxlag_query(switches.api_url)
    assert "error" not in answer.json()
    assert "X-Database-Lag" not in answer.headers


def test_provider_passes_maxlag_errors_on_unchanged(
    switches: SandboxWiki, oauth_provider: OAuthProvider
) -> None:
    auth = oauth1_signing(oauth_provider, "Alice")
    switches.simulate_lag(7, requests=3)
    direct = maxlag_query(switches.api_url)
    for proxied in (
        maxlag_query(oauth_provider.api_url("commons"), auth),
        maxlag_query(oauth_provider.api_url("commons")),  # anonymous
    ):
        assert proxied.status_code == direct.status_code
        assert proxied.json() == direct.json()
        assert proxied.json()["error"]["code"] == "maxlag"
        for header in ("Retry-After", "X-Database-Lag", "MediaWiki-API-Error"):
            assert proxied.headers[header] == direct.headers[header], header
    assert not (switches.switches_dir / "maxlag").exists()


def test_anonymous_get_through_the_provider_reads_anonymously(
    sandbox: SandboxState, oauth_provider: OAuthProvider
) -> None:
    answer = requests.get(
        oauth_provider.api_url("commons"),
        params={
            "action": "query",
            "meta": "userinfo",
            "list": "categorymembers",
            "cmtitle": seed.MUSEUM_CATEGORY,
            "format": "json",
            "formatversion": "2",
        },
        timeout=30,
    )
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    query = answer.json()["query"]
    assert query["userinfo"]["anon"] is True
    titles = {member["title"] for member in query["categorymembers"]}
    assert {sample.title for sample in seed.MUSEUM_FILES} <= titles


def test_rate_limit_switch(sandbox: SandboxState, switches: SandboxWiki) -> None:
    bob = volunteer_api(sandbox, "Bob")
    prefix = f"Rate limit test {uuid.uuid4().hex[:8]}"
    # Only "user": bots and admins of concurrent test runs keep editing freely.
    switches.rate_limit(2, 60, groups=("user",))
    rights = bob.get(action="query", meta="userinfo", uiprop="rights")["query"]["userinfo"]
    assert "noratelimit" not in rights["rights"]
    results = [edit(bob, "Bob", f"{prefix} {n}", text="quick") for n in range(3)]
    assert [r.get("edit", {}).get("result") for r in results[:2]] == ["Success", "Success"]
    assert results[2]["error"]["code"] == "ratelimited", results[2]
    cache = switches.db_dir / "wikicache.sqlite"
    with sqlite3.connect(cache) as db:
        counted = db.execute(
            "SELECT COUNT(*) FROM objectcache WHERE keyname LIKE '%limiter%'"
        ).fetchone()[0]
    assert counted > 0
    switches.clear_switches()
    with sqlite3.connect(cache) as db:
        left = db.execute(
            "SELECT COUNT(*) FROM objectcache WHERE keyname LIKE '%limiter%'"
        ).fetchone()[0]
    assert left == 0
    assert edit(bob, "Bob", f"{prefix} 3", text="again")["edit"]["result"] == "Success"
    bob.close()


def test_permission_filter_refuses_non_vrt_users(sandbox: SandboxState) -> None:
    title = f"File:Filter test {uuid.uuid4().hex[:8]}.png"
    bot = Api(sandbox.commons)
    bot.login(sandbox.bot.login_name, sandbox.bot.botpassword)
    assert edit(bot, "WikibridgeBot", title, text="A test page.\n")["edit"]["result"] == "Success"
    bob = volunteer_api(sandbox, "Bob")
    for tag in (
        "{{PermissionTicket|id=2026112510000017}}",
        "{{ vrt_permission |id=2026112510000017}}",
        "{{OTRS Permission}}",
        "{{Template:permissionticket|id=2026112510000017}}",
    ):
        refused = edit(bob, "Bob", title, appendtext="\n" + tag)
        assert refused["error"]["code"] == "abusefilter-disallowed", (tag, refused)
        assert seed.PERMISSION_FILTER_DESCRIPTION in refused["error"]["info"]
        assert refused["error"]["abusefilter"]["description"] == (
            seed.PERMISSION_FILTER_DESCRIPTION
        )
    # Other edits by Bob, and the template's name in prose, are fine.
    ok = edit(bob, "Bob", title, appendtext="\nThe PermissionTicket template is missing.")
    assert ok["edit"]["result"] == "Success"
    alice = volunteer_api(sandbox, "Alice")
    tagged = edit(alice, "Alice", title, appendtext="\n{{PermissionTicket|id=2026112510000017}}")
    assert tagged["edit"]["result"] == "Success", tagged
    # Editing a page that already has the tag is not adding one.
    ok = edit(bob, "Bob", title, appendtext="\n[[Category:Tests]]")
    assert ok["edit"]["result"] == "Success", ok
    tagged = edit(
        bot, "WikibridgeBot", title, appendtext="\n{{VRT permission|id=2016060210016939}}"
    )
    assert tagged["edit"]["result"] == "Success", tagged
    for api in (bot, bob, alice):
        api.close()


def test_abuse_filters_are_seeded_once(sandbox: SandboxState) -> None:
    database = sandbox.commons.db_dir / "commons.sqlite"
    first = seed.install_abuse_filters(database)
    assert seed.install_abuse_filters(database) == first
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT af_id, af_actions, af_enabled FROM abuse_filter WHERE af_public_comments = ?",
            (seed.PERMISSION_FILTER_DESCRIPTION,),
        ).fetchall()
    assert rows == [(first[0], "disallow", 1)]


def test_museum_category_and_uploader(sandbox: SandboxState, commons: Api) -> None:
    titles = {sample.title for sample in seed.MUSEUM_FILES}
    assert len(titles) == 3
    members = commons.get(
        action="query", list="categorymembers", cmtitle=seed.MUSEUM_CATEGORY, cmlimit="max"
    )["query"]["categorymembers"]
    assert titles <= {member["title"] for member in members}
    assert commons.page_text(seed.MUSEUM_CATEGORY) is not None
    images = commons.get(action="query", list="allimages", aiuser=seed.UPLOADER, aisort="timestamp")
    assert titles <= {image["title"] for image in images["query"]["allimages"]}
    uploads = commons.get(
        action="query", list="logevents", letype="upload", leuser=seed.UPLOADER, lelimit="max"
    )["query"]["logevents"]
    assert titles <= {event["title"] for event in uploads}
    dana = sandbox.volunteer(seed.UPLOADER)
    assert dana.groups == [] and not dana.blocked
    for sample in seed.MUSEUM_FILES:
        assert commons.page_text(sample.title) == sample.description().rstrip()
    result = CliRunner().invoke(sandbox_cli, ["accounts", "--dir", str(sandbox.dir)])
    assert result.exit_code == 0, result.output
    assert "Dana Uploader" in result.stdout and dana.password in result.stdout


def test_upload_many_is_quick_and_idempotent(sandbox: SandboxState, commons: Api) -> None:
    prefix = f"Many test {uuid.uuid4().hex[:8]}"
    category = f"Category:Bulk files {prefix}"
    with seed.AdminSession(sandbox.commons.api_url) as admin:
        admin.login(sandbox.admin.username, sandbox.admin.password)
        titles = seed.upload_many(admin, prefix, 6)
        assert titles == [f"File:{prefix} {n:04d}.png" for n in range(1, 7)]
        members = commons.get(action="query", list="categorymembers", cmtitle=category)
        assert {m["title"] for m in members["query"]["categorymembers"]} == set(titles)
        text = commons.page_text(titles[0])
        assert text is not None and "{{No permission since|day=25" in text
        infos = commons.get(
            action="query", prop="imageinfo", iiprop="sha1|timestamp", titles="|".join(titles)
        )["query"]["pages"]
        assert len({page["imageinfo"][0]["sha1"] for page in infos}) == 6
        # Again: nothing uploaded anew; a changed text is put on every page.
        assert seed.upload_many(admin, prefix, 6, text="Changed.") == titles
        again = commons.get(
            action="query", prop="imageinfo", iiprop="sha1|timestamp", titles="|".join(titles)
        )["query"]["pages"]
        assert again == infos
        assert all(commons.page_text(title) == "Changed." for title in titles)
