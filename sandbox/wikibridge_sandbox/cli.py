"""``wikibridge sandbox up|down|status``: the local sandbox wikis from the shell.

The group joins the ``wikibridge`` command through the ``wikibridge.commands``
entry point of this development distribution (``sandbox/setup.cfg``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import click
from flask.cli import with_appcontext

from wikibridge_sandbox import oauth_provider, wikis

__all__ = ["default_dir", "sandbox"]

DEFAULT_PORTS = {"commons": 8181, "meta": 8182}
DEFAULT_OAUTH_PORT = 8180


def default_dir() -> Path:
    """``$WIKIBRIDGE_SANDBOX_DIR``, else ``~/.local/state/wikibridge/sandbox``."""
    configured = os.environ.get("WIKIBRIDGE_SANDBOX_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "state" / "wikibridge" / "sandbox"


_dir_option = click.option(
    "--dir",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_dir,
    show_default="$WIKIBRIDGE_SANDBOX_DIR or ~/.local/state/wikibridge/sandbox",
    help="Where the wikis, their databases and the account file live.",
)


class _EchoHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"  {record.getMessage()}", err=True)


@contextlib.contextmanager
def _progress() -> Iterator[None]:
    """Show the sandbox's progress messages (a cold start takes a while)."""
    logger = logging.getLogger("wikibridge_sandbox")
    handler = _EchoHandler(logging.INFO)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@click.group("sandbox")
def sandbox() -> None:
    """Local MediaWiki wikis (commons, meta) to develop and test against."""


@sandbox.command("up")
@_dir_option
@click.option(
    "--commons-port",
    type=int,
    default=None,
    help="Port of commons on 127.0.0.1 [default: as before, else 8181].",
)
@click.option(
    "--meta-port",
    type=int,
    default=None,
    help="Port of meta on 127.0.0.1 [default: as before, else 8182].",
)
@click.option(
    "--oauth-port",
    type=int,
    default=None,
    help="Port of the sandbox OAuth provider on 127.0.0.1 [default: as before, else 8180].",
)
@click.option("--no-install", is_flag=True, help="Never run apt-get; fail if packages lack.")
def up_command(
    state_dir: Path,
    commons_port: int | None,
    meta_port: int | None,
    oauth_port: int | None,
    no_install: bool,
) -> None:
    """Create, seed and start the sandbox wikis and OAuth provider (fast when running)."""
    ports = dict(DEFAULT_PORTS)
    with contextlib.suppress(wikis.SandboxError):
        # Keep the ports of an existing sandbox unless told otherwise.
        ports.update({n: w.port for n, w in wikis.load_state(state_dir).wikis.items()})
    if commons_port is not None:
        ports["commons"] = commons_port
    if meta_port is not None:
        ports["meta"] = meta_port
    try:
        with _progress():
            state = wikis.up(
                state_dir,
                commons_port=ports["commons"],
                meta_port=ports["meta"],
                install=not no_install,
            )
        # Like the wikis, the provider keeps its port: another sandbox (the
        # tests', `make run`'s) may hold the default one.
        if oauth_port is None:
            oauth_port = oauth_provider.last_port(state_dir) or DEFAULT_OAUTH_PORT
        provider_url = oauth_provider.ensure_running(state_dir, oauth_port)
    except (wikis.SandboxError, oauth_provider.ProviderError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'oauth:':9}{provider_url} (sandbox OAuth provider in front of both wikis)")
    for wiki in state.wikis.values():
        click.echo(f"{wiki.name + ':':9}{wiki.url}/wiki/  (API {wiki.api_url})")
    click.echo(f"{'bot:':9}{state.bot.login_name} (bot password in {state.dir / 'sandbox.json'})")
    click.echo(f"{'admin:':9}{state.admin.username} (password in {state.dir / 'sandbox.json'})")
    click.echo(f"{'family:':9}{state.family_file} (pywikibot family 'sandbox')")
    click.echo("Sample volunteers, same password on both wikis (sandbox-only passwords):")
    width = max(len(v.username) for v in state.volunteers)
    for volunteer in state.volunteers:
        notes = []
        if volunteer.groups:
            notes.append("groups: " + ", ".join(volunteer.groups))
        if volunteer.blocked:
            notes.append("blocked")
        line = f"  {volunteer.username:{width}}  {volunteer.password}  {'; '.join(notes)}"
        click.echo(line.rstrip())


@sandbox.command("down")
@_dir_option
def down_command(state_dir: Path) -> None:
    """Stop the sandbox wiki servers (data and accounts are kept)."""
    oauth_provider.stop(state_dir)
    wikis.down(state_dir)
    click.echo(f"sandbox wikis and OAuth provider in {state_dir} stopped")


@sandbox.command("status")
@_dir_option
def status_command(state_dir: Path) -> None:
    """Show where the sandbox wikis are and whether they run."""
    for line in [*wikis.status(state_dir), *oauth_provider.status(state_dir)]:
        click.echo(line)


@sandbox.command("configure")
@_dir_option
@click.option(
    "--oauth-version",
    type=click.Choice(["1", "2"]),
    default="1",
    show_default=True,
    help="Which OAuth protocol volunteers log in with.",
)
@with_appcontext
def configure_command(state_dir: Path, oauth_version: str) -> None:
    """Point this desk's instance config at the running sandbox (after `sandbox up`)."""
    from flask import current_app

    from wikibridge_sandbox.appconfig import app_settings, write_config

    provider_url = oauth_provider.running_url(state_dir)
    if provider_url is None:
        raise click.ClickException(
            "the sandbox OAuth provider is not running: run `wikibridge sandbox up` first"
        )
    state = wikis.load_state(state_dir)
    settings = app_settings(
        state, provider_url, oauth_provider.ensure_consumers(state_dir), oauth_version
    )
    path = Path(
        os.environ.get("WIKIBRIDGE_CONFIG") or Path(current_app.instance_path) / "wikibridge.cfg"
    )
    write_config(path, settings)
    click.echo(
        f"wrote {path}: the desk now logs in through {provider_url} "
        f"(OAuth {oauth_version}) and edits the sandbox wikis"
    )


@sandbox.command("accounts")
@_dir_option
def accounts_command(state_dir: Path) -> None:
    """Say which sample volunteer to log in as (sandbox-only passwords)."""
    from wikibridge_sandbox.appconfig import SANDBOX_HEADS
    from wikibridge_sandbox.demo import DEMO_GRANTS, DEMO_TRAINEE

    state = wikis.load_state(state_dir)
    click.echo("Log in as a sample volunteer (sandbox-only passwords):")
    for volunteer in state.volunteers:
        if volunteer.blocked:
            desk = "blocked on the wiki: login refused"
        elif volunteer.username in SANDBOX_HEADS:
            desk = "the desk's head: every queue, administration"
        elif volunteer.username in DEMO_GRANTS:
            desk = "queues " + ", ".join(DEMO_GRANTS[volunteer.username])
            if volunteer.username == DEMO_TRAINEE[0]:
                desk += (
                    ", Training (the trainee: "
                    + ", ".join(DEMO_TRAINEE[1])
                    + " opens after reviewed practice answers)"
                )
        else:
            desk = "not on the team: may apply at /volunteer"
        click.echo(f"  {volunteer.username:14} password {volunteer.password}  {desk}")
