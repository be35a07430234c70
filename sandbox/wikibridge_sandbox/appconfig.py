"""Settings that point the desk at the sandbox wikis through the sandbox OAuth provider.

The provider fronts both wikis on one port (``/commons/…``, ``/meta/…``), so
pywikibot gets a family whose codes live there, and login goes through meta,
as a Wikimedia consumer registered on Meta works on every wiki.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wikibridge_sandbox.family import write_family_file
from wikibridge_sandbox.oauth_provider_store import SandboxConsumers
from wikibridge_sandbox.state import SandboxState

OAUTH_FAMILY = "sandboxoauth"
#: The bot logs in with its bot password straight at the wikis, not through the provider.
DIRECT_FAMILY = "sandboxdirect"
#: Who runs the sandbox desk; `wikibridge demo load --grant-sample-volunteers`
#: grants the others their queues.
SANDBOX_HEADS = ("Alice",)


def app_settings(
    state: SandboxState,
    provider_url: str,
    consumers: SandboxConsumers,
    oauth_version: str = "1",
) -> dict[str, Any]:
    """The settings that make the desk use the sandbox (secrets included: sandbox only)."""
    netloc = urlsplit(provider_url).netloc
    family = write_family_file(
        state.dir / "families" / f"{OAUTH_FAMILY}_family.py",
        OAUTH_FAMILY,
        {name: (netloc, f"/{name}") for name in state.wikis},
    )
    direct = write_family_file(
        state.dir / "families" / f"{DIRECT_FAMILY}_family.py",
        DIRECT_FAMILY,
        {name: (urlsplit(wiki.url).netloc, "") for name, wiki in state.wikis.items()},
    )
    if oauth_version == "2":
        key, secret = consumers.oauth2_client_id, consumers.oauth2_client_secret
    else:
        key, secret = consumers.oauth1_key, consumers.oauth1_secret
    return {
        "OAUTH_VERSION": oauth_version,
        "OAUTH_INDEX_URL": f"{provider_url}/meta/index.php",
        "OAUTH_REST_URL": f"{provider_url}/meta/rest.php",
        "OAUTH_ISSUER": provider_url,
        "OAUTH_CONSUMER_KEY": key,
        "OAUTH_CONSUMER_SECRET": secret,
        # The sandbox consumer is registered with a callback prefix, so the
        # desk may name its own callback (any port on 127.0.0.1).
        "OAUTH_SEND_CALLBACK": True,
        "OAUTH_ALLOW_HTTP": True,
        "WIKIS": {
            name: {
                "family": OAUTH_FAMILY,
                "code": name,
                "api_url": f"{provider_url}/{name}/api.php",
                "article_url": f"{wiki.url}/wiki/",
                "direct_api_url": wiki.api_url,
                "bot_family": DIRECT_FAMILY,
                "bot_api_url": wiki.api_url,
            }
            for name, wiki in state.wikis.items()
        },
        "PYWIKIBOT_FAMILY_FILES": {OAUTH_FAMILY: str(family), DIRECT_FAMILY: str(direct)},
        "BOT_USERNAME": state.bot.login_name,
        "BOT_PASSWORD": state.bot.botpassword,
        "HEADS": list(SANDBOX_HEADS),
    }


def write_config(path: Path, settings: dict[str, Any]) -> None:
    """Write ``settings`` as an instance config file (mode 0600: it holds a secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by `wikibridge sandbox configure`: points the desk at the sandbox",
        "# wikis and the sandbox OAuth provider. Sandbox-only values; safe to delete.",
    ]
    lines += [f"{key} = {value!r}" for key, value in sorted(settings.items())]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
