"""Building one sandbox wiki: install, settings, accounts, seed pages and files.

Each step leaves a marker in ``done/`` holding a fingerprint of what it did, so
a later :func:`build_wiki` redoes only the steps that are missing or out of date.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from wikibridge_sandbox import reference_samples, seed
from wikibridge_sandbox.packages import MW_ROOT, php_binary, run_command
from wikibridge_sandbox.servers import ensure_server, stop_server
from wikibridge_sandbox.state import WIKI_TITLES, SandboxError, SandboxState, SandboxWiki

log = logging.getLogger(__name__)

EXTENSIONS = ("ParserFunctions", "AbuseFilter")
_MARKER = ".wikibridge-sandbox"


def build_wiki(state: SandboxState, wiki: SandboxWiki) -> None:
    """Create, configure, start and seed one wiki, skipping steps already done."""
    check_ours(wiki)
    for directory in (
        wiki.dir,
        wiki.db_dir,
        wiki.upload_dir,
        wiki.dir / "cache",
        wiki.dir / "done",
    ):
        directory.mkdir(parents=True, exist_ok=True)
    (wiki.dir / _MARKER).touch()
    _step(wiki, "install", "1", lambda: _install(state, wiki))
    _write_if_changed(wiki.dir / "Sandbox.php", settings_php(wiki))
    _step(wiki, "update", ",".join(EXTENSIONS), lambda: _php(wiki, "update.php", "--quick"))
    ensure_server(wiki)
    _step(
        wiki,
        "accounts",
        _digest(state.bot, state.volunteers),
        lambda: _create_accounts(state, wiki),
    )
    # Interwiki prefixes before the pages, so [[ticket:N]] links count as such.
    _step(
        wiki,
        "interwiki",
        _digest(reference_samples.INTERWIKI),
        lambda: reference_samples.install_interwiki(wiki.db_dir / f"{wiki.name}.sqlite"),
    )
    # Templates before the files, so file pages render with them from the start.
    pages = seed.COMMONS_PAGES if wiki.name == "commons" else seed.META_PAGES
    _step(wiki, "pages", _digest(pages), lambda: _seed_pages(state, wiki, pages))
    if wiki.name == "commons":
        _step(
            wiki,
            "files",
            _digest([s.description() for s in seed.SAMPLE_FILES]),
            lambda: _upload_files(state, wiki),
        )
        _step(
            wiki,
            "museum",
            _digest([s.description() for s in seed.MUSEUM_FILES]),
            lambda: _upload_museum_files(state, wiki),
        )
        _step(
            wiki,
            "abusefilters",
            _digest(seed.ABUSE_FILTERS),
            lambda: seed.install_abuse_filters(wiki.db_dir / f"{wiki.name}.sqlite"),
        )
    # Edits queue jobs (links, caches) that web requests would run one at a time;
    # run them now so pages render with the current templates.
    _php(wiki, "runJobs.php", "--quiet")


def _digest(*values: object) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def _step(wiki: SandboxWiki, name: str, fingerprint: str, action: Callable[[], object]) -> None:
    """Run *action* unless the step's marker holds *fingerprint* (done before)."""
    marker = wiki.dir / "done" / name
    with contextlib.suppress(FileNotFoundError):
        if marker.read_text(encoding="utf-8") == fingerprint:
            return
    log.info("%s: %s", wiki.name, name)
    action()
    marker.write_text(fingerprint, encoding="utf-8")


def _write_if_changed(path: Path, text: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == text:
            return
    path.write_text(text, encoding="utf-8")


_INCLUDE_BLOCK = """
# --- wikibridge sandbox: generated settings, then the hook file for tests ---
require __DIR__ . '/Sandbox.php';
if ( is_file( __DIR__ . '/Extra.php' ) ) {
\trequire __DIR__ . '/Extra.php';
}
"""


def _install(state: SandboxState, wiki: SandboxWiki) -> None:
    """Run MediaWiki's installer; a half-done earlier attempt is wiped first."""
    stop_server(wiki.pid_file)
    wiki.config_file.unlink(missing_ok=True)
    shutil.rmtree(wiki.db_dir, ignore_errors=True)
    wiki.db_dir.mkdir()
    run_command(
        [
            php_binary(),
            str(MW_ROOT / "maintenance" / "install.php"),
            "--dbtype",
            "sqlite",
            "--dbpath",
            str(wiki.db_dir),
            "--dbname",
            wiki.name,
            "--server",
            wiki.url,
            "--scriptpath",
            "",
            "--confpath",
            str(wiki.dir),
            "--lang",
            "en",
            "--pass",
            state.admin.password,
            WIKI_TITLES[wiki.name],
            state.admin.username,
        ],
        cwd=wiki.dir,
    )
    with wiki.config_file.open("a", encoding="utf-8") as settings:
        settings.write(_INCLUDE_BLOCK)
    # It holds $wgSecretKey.
    wiki.config_file.chmod(0o600)


def _php_string(value: str | Path) -> str:
    """A PHP single-quoted string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


_SWITCHES_PHP = r"""
// --- fault switches: files in switches/ that tests write (SandboxWiki methods) ---
$wikibridgeSwitches = __DIR__ . '/switches';

// switches/maxlag "LAG COUNT": the next COUNT API requests with a maxlag
// parameter see LAG seconds of lag (a single SQLite database never lags).
$wgHooks['ApiMaxLagInfo'][] = static function ( &$lagInfo ) use ( $wikibridgeSwitches ) {
	$file = $wikibridgeSwitches . '/maxlag';
	if ( !is_file( $file ) ) {
		return;
	}
	$handle = @fopen( $file, 'r+' );
	if ( $handle === false ) {
		return;
	}
	flock( $handle, LOCK_EX );
	// Another request may have used up the count and removed it while we waited.
	if ( fstat( $handle )['nlink'] > 0 ) {
		$parts = preg_split( '/\s+/', trim( (string)stream_get_contents( $handle ) ) );
		$lag = (float)( $parts[0] ?? 0 );
		$count = (int)( $parts[1] ?? 0 );
		if ( $count > 0 && $lag > $lagInfo['lag'] ) {
			$lagInfo = [ 'host' => 'sandbox-replica', 'lag' => $lag, 'type' => 'db' ];
		}
		if ( --$count > 0 ) {
			ftruncate( $handle, 0 );
			rewind( $handle );
			fwrite( $handle, "$lag $count\n" );
		} else {
			unlink( $file );
		}
	}
	flock( $handle, LOCK_UN );
	fclose( $handle );
};

// switches/ratelimit "EDITS SECONDS GROUP,...": those groups lose noratelimit and
// every user may edit EDITS times per SECONDS; counters live in the SQLite
// object cache (CACHE_DB), checked only while the switch is on.
if ( is_file( $wikibridgeSwitches . '/ratelimit' ) ) {
	$wikibridgeLimit = preg_split(
		'/\s+/', trim( (string)@file_get_contents( $wikibridgeSwitches . '/ratelimit' ) )
	);
	if ( count( $wikibridgeLimit ) >= 2 ) {
		$wikibridgeGroups = isset( $wikibridgeLimit[2] )
			? explode( ',', $wikibridgeLimit[2] ) : [ 'user', 'bot', 'sysop' ];
		foreach ( $wikibridgeGroups as $wikibridgeGroup ) {
			$wgGroupPermissions[$wikibridgeGroup]['noratelimit'] = false;
		}
		$wgRateLimits['edit']['user'] = [ (int)$wikibridgeLimit[0], (int)$wikibridgeLimit[1] ];
		$wgRateLimits['edit']['newbie'] = $wgRateLimits['edit']['user'];
		$wgStatsCacheType = CACHE_DB;
	}
}
"""


def settings_php(wiki: SandboxWiki) -> str:
    """The generated part of the wiki's settings (rewritten by every slow up())."""
    extensions = "\n".join(f"wfLoadExtension( {_php_string(e)} );" for e in EXTENSIONS)
    return (
        f"""<?php
// Generated by wikibridge_sandbox.wikis on `up`; put your own settings in Extra.php.
$wgServer = {_php_string(wiki.url)};
$wgCanonicalServer = $wgServer;
$wgScriptPath = '';
$wgArticlePath = '/wiki/$1';
$wgCacheDirectory = {_php_string(wiki.dir / "cache")};
$wgShowExceptionDetails = true;

$wgEnableUploads = true;
$wgUploadDirectory = {_php_string(wiki.upload_dir)};
$wgUploadPath = '/images';
$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'webp', 'svg', 'pdf' ];
// The installer found a `convert` that may not be ImageMagick; without a renderer
// thumbnails fail only when asked for, not on every page view.
$wgUseImageMagick = false;
$wgGenerateThumbnailOnParse = false;
$wgUseInstantCommons = false;

{extensions}

$wgEnableBotPasswords = true;
// Wiki users load gadgets and user scripts from their common.js, as on Commons
// (the desk's ticket-references user script is tested that way).
$wgAllowUserJs = true;
$wgGroupPermissions['vrt-permissions']['read'] = true;
$wgAddGroups['sysop'][] = 'vrt-permissions';
$wgRemoveGroups['sysop'][] = 'vrt-permissions';

// Seeding and tests edit fast: no rate limit and no login throttle for now.
// A test that needs them turns them back on in Extra.php, e.g.
// $wgGroupPermissions['user']['noratelimit'] = false; $wgRateLimits['edit']['user'] = [ 3, 60 ];
$wgGroupPermissions['user']['noratelimit'] = true;
$wgPasswordAttemptThrottle = [];

"""
        + _SWITCHES_PHP
    )


def _php(wiki: SandboxWiki, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a MediaWiki maintenance script against *wiki*."""
    env = {**os.environ, "MW_CONFIG_FILE": str(wiki.config_file)}
    return run_command(
        [php_binary(), str(MW_ROOT / "maintenance" / script), *args], env=env, cwd=wiki.dir
    )


def _create_accounts(state: SandboxState, wiki: SandboxWiki) -> None:
    """The bot and the volunteers, with their bot passwords (same on every wiki)."""
    bot = state.bot
    roles = [f"--{group}" for group in bot.groups]
    _php(wiki, "createAndPromote.php", "--force", *roles, bot.username, bot.password)
    _bot_password(wiki, bot.username, bot.botpassword_name, bot.botpassword, bot.grants)
    for volunteer in state.volunteers:
        groups = ["--custom-groups", ",".join(volunteer.groups)] if volunteer.groups else []
        _php(
            wiki, "createAndPromote.php", "--force", *groups, volunteer.username, volunteer.password
        )
        _bot_password(
            wiki,
            volunteer.username,
            volunteer.proxy_botpassword_name,
            volunteer.proxy_botpassword,
            volunteer.proxy_grants,
        )


def _bot_password(
    wiki: SandboxWiki, username: str, app_id: str, password: str, grants: list[str]
) -> None:
    # createAndPromote --force sets the main password again, which invalidates
    # the user's bot passwords ("must be reset"): make this one afresh.
    database = wiki.db_dir / f"{wiki.name}.sqlite"
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as db, db:
        db.execute(
            "DELETE FROM bot_passwords WHERE bp_app_id = ? AND bp_user ="
            " (SELECT user_id FROM user WHERE user_name = ?)",
            (app_id, username),
        )
    try:
        _php(
            wiki,
            "createBotPassword.php",
            "--appid",
            app_id,
            "--grants",
            ",".join(grants),
            username,
            password,
        )
    except SandboxError as exc:
        # A resumed run finds the bot password of the first attempt, made from the
        # same saved state.
        if "already exist" not in str(exc):
            raise


def _upload_files(state: SandboxState, wiki: SandboxWiki) -> None:
    """Sample files through the API, which sets their description pages exactly."""
    with seed.AdminSession(wiki.api_url) as api:
        api.login(state.admin.username, state.admin.password)
        for sample in seed.SAMPLE_FILES:
            api.upload(sample, comment="Sample file of the wikibridge sandbox")


def _upload_museum_files(state: SandboxState, wiki: SandboxWiki) -> None:
    """The Example Museum photos, uploaded by their own user (listable by uploader)."""
    uploader = state.volunteer(seed.UPLOADER)
    with seed.AdminSession(wiki.api_url) as api:
        api.login(uploader.username, uploader.password)
        for sample in seed.MUSEUM_FILES:
            api.upload(sample, comment="Photo from the Example Museum")


def _seed_pages(state: SandboxState, wiki: SandboxWiki, pages: dict[str, str]) -> None:
    """Pages and blocks through the API as Admin (no maintenance script blocks)."""
    with seed.AdminSession(wiki.api_url) as api:
        api.login(state.admin.username, state.admin.password)
        for title, text in pages.items():
            api.edit(title, text, summary="Seed the wikibridge sandbox")
        for volunteer in state.volunteers:
            if volunteer.blocked:
                api.block(volunteer.username, reason="Sample blocked user of the sandbox")


def check_ours(wiki: SandboxWiki) -> None:
    """Refuse to touch a non-empty *wiki* directory that wikibridge did not make."""
    if wiki.dir.exists() and any(wiki.dir.iterdir()) and not (wiki.dir / _MARKER).exists():
        raise SandboxError(
            f"{wiki.dir} exists but was not made by wikibridge; choose another --dir"
        )
